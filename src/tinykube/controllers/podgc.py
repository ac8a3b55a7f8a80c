"""Pod garbage collection: pods bound to a node that no longer exists are removed.

As upstream's PodGC: a pod whose spec.nodeName names a missing node is given a grace
(quarantine) period in case the node is only being re-created, then marked with a
DisruptionTarget condition and deleted at once (no kubelet is left to confirm it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tinykube.client.api import NODES, PODS, Client, Obj, object_key
from tinykube.client.informer import InformerFactory
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

QUARANTINE = 40.0  # seconds a pod's node must stay missing (upstream's quarantineTime)
PERIOD = 20.0  # upstream gcCheckPeriod


class PodGarbageCollector:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, quarantine: float = QUARANTINE,
                 period: float = PERIOD) -> None:
        self.client = client
        self.clock = clock
        self.quarantine = quarantine
        self.period = period
        self.nodes = informers.informer(NODES)
        self.pods = informers.informer(PODS)
        self.missing_since: dict[str, float] = {}

    async def run(self) -> None:
        await self.nodes.wait_synced()
        await self.pods.wait_synced()
        while True:
            try:
                await self.collect_orphans()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pod GC pass failed")
            await self.clock.sleep(self.period)

    async def collect_orphans(self) -> None:
        now = self.clock.monotonic()
        seen = set()
        for pod in self.pods.cache.list():
            node = (pod.get("spec") or {}).get("nodeName")
            if not node or self.nodes.cache.get(node) is not None:
                continue
            key = object_key(pod)
            seen.add(key)
            since = self.missing_since.setdefault(key, now)
            if now - since >= self.quarantine:
                await self._delete(pod, node)
        for key in set(self.missing_since) - seen:
            del self.missing_since[key]

    async def _delete(self, pod: Obj, node: str) -> None:
        meta = pod["metadata"]
        conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": self.clock.rfc3339(), "reason": "DeletionByPodGC",
                           "message": "PodGC: node no longer exists"})
        try:
            await self.client.update_status(PODS, dict(pod, status=dict(pod.get("status") or {}, conditions=conditions)))
        except StatusError as exc:
            if exc.code != 409:
                log.debug("pod GC status of %s: %s", meta["name"], exc.message)
        try:
            await self.client.delete(PODS, meta["name"], meta["namespace"], grace_period_seconds=0,
                                     uid=meta.get("uid", ""))
            log.info("deleted orphaned pod %s/%s (node %s is gone)", meta["namespace"], meta["name"], node)
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise
