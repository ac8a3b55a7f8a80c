"""The persistent-volume binder (upstream's persistentvolume controller): claims are bound to
volumes, volumes follow their claims through Available, Bound, Released and Failed.

Claims and volumes have a queue each; handlers only enqueue. A claim's sync chooses a volume
with `util.find_matching_volume` and writes the binding in upstream's order (volume claimRef,
volume phase, claim volumeName and annotations, claim phase), each write idempotent, so a
conflict just retries the key. A claim of a WaitForFirstConsumer class waits for the scheduler's
selected-node annotation; then, with no volume to match, it is handed to its class's external
provisioner (the storage-provisioner annotation), as upstream does for every non-in-tree
provisioner. Pending claims are looked at again every 15 s, as upstream's periodic resync.
"""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import NODES, Client, Obj, resource, split_key
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_namespace
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.controllers.volume import util
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

PVS = resource("v1", "persistentvolumes")
PVCS = resource("v1", "persistentvolumeclaims")
STORAGE_CLASSES = resource("storage.k8s.io/v1", "storageclasses")
RESYNC = 15.0
COMPONENT = "persistentvolume-controller"
CLAIM_WORKERS = 10  # concurrent syncs: their writes share group commits
VOLUME_WORKERS = 5


class PersistentVolumeController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, COMPONENT)
        self.volumes = informers.informer(PVS)
        self.claims = informers.informer(PVCS, {"namespace": by_namespace})
        self.classes = informers.informer(STORAGE_CLASSES)
        self.nodes = informers.informer(NODES)
        self.claim_queue: WorkQueue[str] = WorkQueue(clock, name="claims")
        self.volume_queue: WorkQueue[str] = WorkQueue(clock, name="volumes")
        self.volumes.add_handler(EventHandler(self._volume_changed, lambda old, new: self._volume_changed(new),
                                              self._volume_changed))
        self.claims.add_handler(EventHandler(self._claim_changed, lambda old, new: self._claim_changed(new),
                                             self._claim_deleted))

    # ------------------------------------------------------------------ handlers

    def _volume_changed(self, volume: Obj) -> None:
        self.volume_queue.add(volume["metadata"]["name"])
        key = util.claim_ref_key(volume)
        if key:
            self.claim_queue.add(key)

    def _claim_changed(self, claim: Obj) -> None:
        self.claim_queue.add(util.claim_key(claim))

    def _claim_deleted(self, claim: Obj) -> None:
        name = util.spec(claim).get("volumeName")
        if name:
            self.volume_queue.add(name)

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        import asyncio

        self.claim_queue = WorkQueue(self.clock, name="claims")
        self.volume_queue = WorkQueue(self.clock, name="volumes")
        informers = (self.volumes, self.claims, self.classes, self.nodes)
        await asyncio.gather(
            run_term(self.volume_queue, self.sync_volume, VOLUME_WORKERS, log, informers=informers,
                     keys=lambda: [v["metadata"]["name"] for v in self.volumes.cache.list()],
                     companions=[self.recorder.run()]),
            run_term(self.claim_queue, self.sync_claim, CLAIM_WORKERS, log, informers=informers,
                     keys=lambda: [util.claim_key(c) for c in self.claims.cache.list()]))

    # ------------------------------------------------------------------ claims

    async def sync_claim(self, key: str) -> None:
        claim = self.claims.cache.get(key)
        if claim is None:
            return
        try:
            if util.spec(claim).get("volumeName"):
                await self._sync_bound_claim(key, claim)
            else:
                await self._sync_unbound_claim(key, claim)
        except StatusError as exc:
            retry_stale(self.claim_queue, key, exc)

    async def _sync_unbound_claim(self, key: str, claim: Obj) -> None:
        class_name = util.claim_class(claim)
        sc = self.classes.cache.get(class_name) if class_name else None
        delay = util.delays_binding(sc)
        node_name = util.annotations(claim).get(util.SELECTED_NODE)
        node = self.nodes.cache.get(node_name) if node_name else None
        volume = util.find_matching_volume(claim, self.volumes.cache.list(), node, delay)
        if volume is not None:
            await self._bind(claim, volume)
            return
        await self._set_claim_phase(claim, "Pending")
        self.claim_queue.add_after(key, RESYNC)
        if delay and not node_name:
            self.recorder.event(claim, "Normal", "WaitForFirstConsumer", util.WAITING_FOR_CONSUMER)
        elif sc is not None:
            await self._provision(claim, sc)
        elif class_name:
            self.recorder.event(claim, "Warning", "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{class_name}" not found')
        else:
            self.recorder.event(claim, "Normal", "FailedBinding", util.NO_VOLUMES_NO_CLASS)

    async def _provision(self, claim: Obj, sc: Obj) -> None:
        """provisionClaimOperationExternal: name the class's provisioner on the claim and wait."""
        provisioner = sc.get("provisioner") or ""
        if provisioner == util.NO_PROVISIONER:
            return
        ann = util.annotations(claim)
        if ann.get(util.STORAGE_PROVISIONER) != provisioner or ann.get(util.BETA_STORAGE_PROVISIONER) != provisioner:
            meta = dict(claim["metadata"], annotations={**ann, util.STORAGE_PROVISIONER: provisioner,
                                                        util.BETA_STORAGE_PROVISIONER: provisioner})
            claim = await self.client.update(PVCS, dict(claim, metadata=meta))
        self.recorder.event(claim, "Normal", "ExternalProvisioning", util.external_provisioning_message(provisioner))

    async def _sync_bound_claim(self, key: str, claim: Obj) -> None:
        name = util.spec(claim).get("volumeName")
        volume = self.volumes.cache.get(name)
        completed = util.annotations(claim).get(util.BIND_COMPLETED) == "yes"
        if volume is None:
            if completed:
                if await self._set_claim_phase(claim, "Lost"):
                    self.recorder.event(claim, "Warning", "ClaimLost", util.CLAIM_LOST)
            else:
                await self._set_claim_phase(claim, "Pending")
                self.claim_queue.add_after(key, RESYNC)
            return
        ref = util.spec(volume).get("claimRef")
        if not ref or util.is_bound_to_claim(volume, claim):
            if not completed:
                reason = util.claim_fits_volume(claim, volume)
                if reason:
                    self.recorder.event(claim, "Warning", "VolumeMismatch",
                                        f'Cannot bind to requested volume "{name}": {reason}')
                    await self._set_claim_phase(claim, "Pending")
                    self.claim_queue.add_after(key, RESYNC)
                    return
            await self._bind(claim, volume)
            return
        if completed:
            if await self._set_claim_phase(claim, "Lost"):
                self.recorder.event(claim, "Warning", "ClaimMisbound",
                                    "Two claims are bound to the same volume, this one is bound incorrectly")
        else:
            await self._set_claim_phase(claim, "Pending")  # the volume is another claim's for now
            self.claim_queue.add_after(key, RESYNC)

    async def _bind(self, claim: Obj, volume: Obj) -> None:
        """bind(): each step written only when it is not done yet."""
        now = self.clock.rfc3339()
        updated = util.bound_volume(volume, claim)
        if updated is not None:
            volume = await self.client.update(PVS, updated)
        status = util.volume_status(volume, "Bound", now)
        if status is not None:
            volume = await self.client.update_status(PVS, status)
        updated = util.bound_claim(claim, volume)
        if updated is not None:
            claim = await self.client.update(PVCS, updated)
        status = util.claim_status(claim, "Bound", volume, now)
        if status is not None:
            await self.client.update_status(PVCS, status)

    async def _set_claim_phase(self, claim: Obj, phase: str) -> bool:
        status = util.claim_status(claim, phase, None, self.clock.rfc3339())
        if status is None:
            return False
        await self.client.update_status(PVCS, status)
        return True

    # ------------------------------------------------------------------ volumes

    async def sync_volume(self, name: str) -> None:
        volume = self.volumes.cache.get(name)
        if volume is None:
            return
        try:
            await self._sync_volume(volume)
        except StatusError as exc:
            retry_stale(self.volume_queue, name, exc)

    async def _sync_volume(self, volume: Obj) -> None:
        now = self.clock.rfc3339()
        ref = util.spec(volume).get("claimRef")
        if not ref or not ref.get("uid"):
            await self._write_volume_status(util.volume_status(volume, "Available", now))
            return
        key = util.claim_ref_key(volume) or ""
        claim = self.claims.cache.get(key)
        if claim is None or claim["metadata"].get("uid") != ref.get("uid"):
            claim = await self._live_claim(key, ref.get("uid", ""))
        if claim is None:
            if util.phase(volume) not in ("Released", "Failed"):
                volume = await self._write_volume_status(util.volume_status(volume, "Released", now)) or volume
            await self._reclaim(volume)
            return
        bound_name = util.spec(claim).get("volumeName")
        if not bound_name or bound_name == volume["metadata"]["name"]:
            await self._write_volume_status(util.volume_status(volume, "Bound", now))
            if not bound_name:
                self.claim_queue.add(key)
            return
        # the claim is bound to another volume: undo our binding
        volume = await self.client.update(PVS, util.unbound_volume(volume))
        await self._write_volume_status(util.volume_status(volume, "Available", now))

    async def _live_claim(self, key: str, uid: str) -> Obj | None:
        """The cache may lag: ask the server before calling a claim gone (upstream does too)."""
        namespace, name = split_key(key)
        try:
            claim = await self.client.get(PVCS, name, namespace)
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise
        return claim if claim["metadata"].get("uid") == uid else None

    async def _reclaim(self, volume: Obj) -> None:
        """reclaimVolume: Retain keeps a Released volume; Delete is left to the external provisioner
        that made it, and fails for volumes nobody provisioned (no in-tree deleter here)."""
        policy = util.spec(volume).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain" or util.phase(volume) == "Failed":
            return
        if policy == "Delete" and util.annotations(volume).get(util.PROVISIONED_BY):
            return
        if policy == "Delete":
            message = util.no_deleter_message(volume["metadata"]["name"])
            reason = "VolumeFailedDelete"
        else:
            message = "No recycler plugin found for the volume!"
            reason = "VolumeFailedRecycle"
        if await self._write_volume_status(util.volume_status(volume, "Failed", self.clock.rfc3339(), message)):
            self.recorder.event(volume, "Warning", reason, message)

    async def _write_volume_status(self, volume: Obj | None) -> Obj | None:
        if volume is None:
            return None
        return await self.client.update_status(PVS, volume)
