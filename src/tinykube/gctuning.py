"""Garbage-collector settings for the long-running processes (server, agent).

A server holds hundreds of thousands of long-lived objects (informer caches, schemas), and
listing 10,000 pods decodes millions of new ones. With CPython's default thresholds (700, 10,
10) those allocations set off collections over and over, which tripled the time of a 10,000-pod
list. Objects are rarely cyclic here (JSON-like dicts and lists), so collecting less often costs
little memory; what exists once the process is up is frozen out of collection altogether.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)  # allocations before a young collection; young/middle ones before older


def tune() -> None:
    """Collect less often; call at process start."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_objects() -> None:
    """Keep everything made while starting (schemas, routes, caches so far) out of later collections."""
    gc.collect()
    gc.freeze()
