"""The local-path provisioner (k3s' rancher.io/local-path), run beside the node agent because
a volume's directory must be made on the node that will use it.

For a claim the binder handed to this provisioner (the storage-provisioner annotation) whose
selected node is one of ours, it makes `<data dir>/volumes/pvc-<claim uid>` and creates the
PersistentVolume pre-bound to the claim: a hostPath (DirectoryOrCreate) with required node
affinity to that node, the claim's size and access modes, the class's reclaim policy. A
Released volume it made with reclaim policy Delete loses its directory, then its object.
Events are worded as the external provisioner library words them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any, Callable

from tinykube.client.api import Client, Obj, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.client.workqueue import WorkQueue, retry_stale, run_workers
from tinykube.controllers.volume import util
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

PROVISIONER = "rancher.io/local-path"
NODE_ANNOTATION = "local.path.provisioner/selected-node"
PVS = resource("v1", "persistentvolumes")
PVCS = resource("v1", "persistentvolumeclaims")
STORAGE_CLASSES = resource("storage.k8s.io/v1", "storageclasses")


def volume_name(claim: Obj) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def wants_volume(claim: Obj) -> bool:
    ann = util.annotations(claim)
    return (ann.get(util.STORAGE_PROVISIONER) == PROVISIONER and bool(ann.get(util.SELECTED_NODE))
            and not util.spec(claim).get("volumeName") and not claim["metadata"].get("deletionTimestamp"))


def to_delete(volume: Obj) -> bool:
    return (util.annotations(volume).get(util.PROVISIONED_BY) == PROVISIONER and util.phase(volume) == "Released"
            and util.spec(volume).get("persistentVolumeReclaimPolicy") == "Delete")


def new_volume(claim: Obj, sc: Obj, node: str, path: Path) -> Obj:
    """The PersistentVolume for a claim on `node`, its directory at `path`."""
    claim_spec = util.spec(claim)
    storage = ((claim_spec.get("resources") or {}).get("requests") or {}).get("storage")
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": volume_name(claim),
                     "annotations": {util.PROVISIONED_BY: PROVISIONER, NODE_ANNOTATION: node}},
        "spec": {
            "capacity": {"storage": storage},
            "accessModes": list(claim_spec.get("accessModes") or []),
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "storageClassName": util.claim_class(claim),
            "volumeMode": claim_spec.get("volumeMode") or "Filesystem",
            "claimRef": util.claim_reference(claim),
            "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
        },
    }


class LocalPathProvisioner:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, root: Path,
                 owns: Callable[[str], bool]) -> None:
        self.client = client
        self.clock = clock
        self.root = root
        self.owns = owns
        self.recorder = EventRecorder(client, clock, f"{PROVISIONER}_tinykube")
        self.claims = informers.informer(PVCS)
        self.volumes = informers.informer(PVS)
        self.classes = informers.informer(STORAGE_CLASSES)
        self.queue: WorkQueue[tuple[str, str]] = WorkQueue(clock, name="local-path")
        self.claims.add_handler(EventHandler(self._claim, lambda old, new: self._claim(new), None))
        self.volumes.add_handler(EventHandler(self._volume, lambda old, new: self._volume(new), None))

    def _claim(self, claim: Obj) -> None:
        if wants_volume(claim) and self.owns(util.annotations(claim)[util.SELECTED_NODE]):
            self.queue.add(("claim", util.claim_key(claim)))

    def _volume(self, volume: Obj) -> None:
        if to_delete(volume) and self.owns(util.annotations(volume).get(NODE_ANNOTATION, "")):
            self.queue.add(("volume", volume["metadata"]["name"]))

    async def run(self) -> None:
        for informer in (self.claims, self.volumes, self.classes):
            await informer.wait_synced()
        for claim in self.claims.cache.list():
            self._claim(claim)
        for volume in self.volumes.cache.list():
            self._volume(volume)
        events = asyncio.create_task(self.recorder.run())
        try:
            await run_workers(self.queue, self.sync, 8, log)
        finally:
            self.queue.shut_down()
            events.cancel()

    async def sync(self, item: tuple[str, str]) -> None:
        kind, key = item
        try:
            if kind == "claim":
                await self._provision(key)
            else:
                await self._delete(key)
        except StatusError as exc:
            retry_stale(self.queue, item, exc)

    async def _provision(self, key: str) -> None:
        claim = self.claims.cache.get(key)
        if claim is None or not wants_volume(claim):
            return
        name = volume_name(claim)
        if self.volumes.cache.get(name) is not None:
            return
        sc = self.classes.cache.get(util.claim_class(claim))
        if sc is None or sc.get("provisioner") != PROVISIONER:
            return
        node = util.annotations(claim)[util.SELECTED_NODE]
        self.recorder.event(claim, "Normal", "Provisioning",
                            f'External provisioner is provisioning volume for claim "{key}"')
        path = self.root / name
        try:
            await asyncio.to_thread(path.mkdir, 0o777, True, True)
        except OSError as exc:
            self.recorder.event(claim, "Warning", "ProvisioningFailed", f"failed to provision volume with "
                                f'StorageClass "{sc["metadata"]["name"]}": {exc}')
            raise
        try:
            await self.client.create(PVS, new_volume(claim, sc, node, path))
        except StatusError as exc:
            if exc.code != 409:
                raise
            return
        self.recorder.event(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}")

    async def _delete(self, name: str) -> None:
        volume = self.volumes.cache.get(name)
        if volume is None or not to_delete(volume):
            return
        path = Path(((util.spec(volume).get("hostPath") or {}).get("path")) or "")
        if path.parent == self.root and path.name == name:  # never remove what we did not make
            await asyncio.to_thread(shutil.rmtree, path, True)
        await self.client.delete(PVS, name, uid=volume["metadata"].get("uid", ""))
