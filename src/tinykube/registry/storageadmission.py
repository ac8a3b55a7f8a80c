"""Admission for storage objects on create, as upstream's DefaultStorageClass and
StorageObjectInUseProtection plugins: a claim that names no class gets the default one, and
claims and volumes get their in-use protection finalizers. Also the default `local-path`
StorageClass every cluster starts with (k3s' local-path provisioner's class)."""

from __future__ import annotations

from typing import Any

from tinykube.controllers.volume import util
from tinykube.machinery.errors import StatusError
from tinykube.registry.objects import ListOptions, ObjectRegistry, WriteOptions
from tinykube.registry.resources import RESOURCE_INDEX, Resource

STORAGE_CLASSES = RESOURCE_INDEX.lookup("storage.k8s.io", "v1", "storageclasses")
LOCAL_PATH_PROVISIONER = "rancher.io/local-path"
DEFAULT_CLASS = {
    "metadata": {"name": "local-path", "annotations": {util.DEFAULT_CLASS_ANNOTATION: "true"}},
    "provisioner": LOCAL_PATH_PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
}


def _add_finalizer(obj: dict[str, Any], finalizer: str) -> None:
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if isinstance(finalizers, list) and finalizer not in finalizers:
        finalizers.append(finalizer)


def has_class(claim: dict[str, Any]) -> bool:
    """PersistentVolumeClaimHasClass: the beta annotation or a storageClassName, even ""."""
    spec = claim.get("spec") if isinstance(claim.get("spec"), dict) else {}
    return util.BETA_STORAGE_CLASS in util.annotations(claim) or spec.get("storageClassName") is not None


async def admit_storage(registry: ObjectRegistry, res: Resource, obj: dict[str, Any]) -> None:
    """Mutates a PersistentVolumeClaim or PersistentVolume about to be created."""
    if res.group or not isinstance(obj.get("metadata"), dict):
        return
    if res.kind == "PersistentVolume":
        _add_finalizer(obj, util.PV_PROTECTION)
    elif res.kind == "PersistentVolumeClaim":
        _add_finalizer(obj, util.PVC_PROTECTION)
        if not has_class(obj) and isinstance(obj.setdefault("spec", {}), dict):
            assert STORAGE_CLASSES is not None
            listed = await registry.list(STORAGE_CLASSES, "", ListOptions())
            default = util.default_class(listed["items"])
            if default is not None:
                obj["spec"]["storageClassName"] = default["metadata"]["name"]


async def ensure_default_storage_class(registry: ObjectRegistry) -> None:
    """Create `local-path` when it is absent, as k3s applies its manifest on every start."""
    assert STORAGE_CLASSES is not None
    try:
        await registry.create(STORAGE_CLASSES, "", DEFAULT_CLASS, WriteOptions(field_manager="kube-apiserver"))
    except StatusError as exc:
        if exc.code != 409:
            raise
