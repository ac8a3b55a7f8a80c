"""One lock per namespace for quota charging, shared by the admission plug-in and the
ResourceQuota controller of this process: a charge and the write it pays for happen under
it, and the controller recounts under it, so a recount never misses a charged object that
is still being written. (Several servers on one store still meet on the quota's
compare-and-swap, which keeps charges exact; only a recount could lag there.)"""

from __future__ import annotations

import asyncio

_LOCKS: dict[str, asyncio.Lock] = {}


def namespace_lock(namespace: str) -> asyncio.Lock:
    lock = _LOCKS.get(namespace)
    if lock is None:
        lock = _LOCKS[namespace] = asyncio.Lock()
    return lock
