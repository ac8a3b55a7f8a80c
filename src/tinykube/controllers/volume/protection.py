"""Storage object in-use protection (upstream's pvc-protection and pv-protection controllers).

Claims and volumes carry the kubernetes.io/pvc-protection and kubernetes.io/pv-protection
finalizers (added on create by the admission in registry/storageadmission.py, and here for older
objects). Once one is being deleted, its finalizer goes only when nothing uses it: a claim
while no scheduled, unfinished pod names it; a volume while it is not Bound. Until then
`kubectl get` shows it Terminating.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tinykube.client.api import PODS, Client, Obj, resource
from tinykube.client.informer import EventHandler, InformerFactory, by_namespace
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.controllers.volume import util
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

PVS = resource("v1", "persistentvolumes")
PVCS = resource("v1", "persistentvolumeclaims")


def _finalizers(obj: Obj) -> list[str]:
    return list(obj["metadata"].get("finalizers") or [])


def finalizer_change(obj: Obj, finalizer: str, in_use: bool) -> list[str] | None:
    """The finalizers the object should have (None: as they are): added while it lives, removed
    once it is being deleted and no longer in use."""
    current = _finalizers(obj)
    deleting = bool(obj["metadata"].get("deletionTimestamp"))
    if not deleting and finalizer not in current:
        return current + [finalizer]
    if deleting and finalizer in current and not in_use:
        return [f for f in current if f != finalizer]
    return None


class ProtectionController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.claims = informers.informer(PVCS, {"namespace": by_namespace})
        self.volumes = informers.informer(PVS)
        self.pods = informers.informer(PODS, {"namespace": by_namespace})
        self.claim_queue: WorkQueue[str] = WorkQueue(clock, name="pvcprotection")
        self.volume_queue: WorkQueue[str] = WorkQueue(clock, name="pvprotection")
        self.claims.add_handler(EventHandler(self._claim, lambda old, new: self._claim(new), None))
        self.volumes.add_handler(EventHandler(self._volume, lambda old, new: self._volume(new), None))
        self.pods.add_handler(EventHandler(self._pod, lambda old, new: self._pod(new), self._pod))

    def _claim(self, claim: Obj) -> None:
        if finalizer_change(claim, util.PVC_PROTECTION, True) is not None or claim["metadata"].get("deletionTimestamp"):
            self.claim_queue.add(util.claim_key(claim))

    def _volume(self, volume: Obj) -> None:
        if finalizer_change(volume, util.PV_PROTECTION, True) is not None or volume["metadata"].get("deletionTimestamp"):
            self.volume_queue.add(volume["metadata"]["name"])

    def _pod(self, pod: Obj) -> None:
        namespace = pod["metadata"].get("namespace", "")
        for name in util.pod_claim_names(pod):
            claim = self.claims.cache.get(f"{namespace}/{name}")
            if claim is not None and claim["metadata"].get("deletionTimestamp"):
                self.claim_queue.add(f"{namespace}/{name}")

    async def run(self) -> None:
        self.claim_queue = WorkQueue(self.clock, name="pvcprotection")
        self.volume_queue = WorkQueue(self.clock, name="pvprotection")
        informers = (self.claims, self.volumes, self.pods)
        await asyncio.gather(
            run_term(self.claim_queue, self.sync_claim, 2, log, informers=informers,
                     keys=lambda: [util.claim_key(c) for c in self.claims.cache.list()]),
            run_term(self.volume_queue, self.sync_volume, 1, log, informers=informers,
                     keys=lambda: [v["metadata"]["name"] for v in self.volumes.cache.list()]))

    def claim_in_use(self, claim: Obj) -> bool:
        namespace = claim["metadata"].get("namespace", "")
        return any(util.pod_uses_claim(pod, claim["metadata"]["name"])
                   for pod in self.pods.cache.by_index("namespace", namespace))

    async def sync_claim(self, key: str) -> None:
        claim = self.claims.cache.get(key)
        if claim is None:
            return
        wanted = finalizer_change(claim, util.PVC_PROTECTION, self.claim_in_use(claim))
        if wanted is not None:
            await self._write(PVCS, self.claim_queue, key, claim, wanted)

    async def sync_volume(self, name: str) -> None:
        volume = self.volumes.cache.get(name)
        if volume is None:
            return
        wanted = finalizer_change(volume, util.PV_PROTECTION, util.phase(volume) == "Bound")
        if wanted is not None:
            await self._write(PVS, self.volume_queue, name, volume, wanted)

    async def _write(self, res: Any, queue: WorkQueue[str], key: str, obj: Obj, finalizers: list[str]) -> None:
        try:
            await self.client.update(res, dict(obj, metadata=dict(obj["metadata"], finalizers=finalizers)))
        except StatusError as exc:
            retry_stale(queue, key, exc)
