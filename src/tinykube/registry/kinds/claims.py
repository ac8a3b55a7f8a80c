"""core/v1 PersistentVolume and PersistentVolumeClaim: defaults and the main validation rules."""

from __future__ import annotations

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import checks, quantities
from tinykube.registry.kinds.common import (
    Obj,
    as_dict,
    as_list,
    child,
    default,
    default_zero,
    ensure_dict,
    key,
    semantic_equal,
)
from tinykube.registry.kinds.pod_defaults import default_claim_spec, default_rbd, default_scale_io
from tinykube.registry.kinds.quantities import round_resource_list
from tinykube.registry.kinds.resources import validate_quantity_value

ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]
RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
PV_SOURCES = ("gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "iscsi",
              "cinder", "cephfs", "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume", "quobyte",
              "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "local", "storageos", "csi")


def default_volume(pv: Obj) -> None:
    """SetDefaults_PersistentVolume."""
    default_zero(ensure_dict(pv, "status"), "phase", "Pending")
    spec = ensure_dict(pv, "spec")
    default_zero(spec, "persistentVolumeReclaimPolicy", "Retain")
    default(spec, "volumeMode", "Filesystem")
    if isinstance(spec.get("capacity"), dict):
        round_resource_list(spec["capacity"])
    if isinstance(spec.get("hostPath"), dict):
        default(spec["hostPath"], "type", "")
    if isinstance(spec.get("rbd"), dict):
        default_rbd(spec["rbd"])
    if isinstance(spec.get("scaleIO"), dict):
        default_scale_io(spec["scaleIO"])
    if isinstance(spec.get("iscsi"), dict):
        default_zero(spec["iscsi"], "iscsiInterface", "default")


def default_claim(pvc: Obj) -> None:
    """SetDefaults_PersistentVolumeClaim and its spec's defaults."""
    default_zero(ensure_dict(pvc, "status"), "phase", "Pending")
    default_claim_spec(ensure_dict(pvc, "spec"))


def validate_volume(pv: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(pv.get("spec"))
    _validate_access_modes(errs, spec, "spec.accessModes", "must specify at least 1 access mode")
    capacity = as_dict(spec.get("capacity"))
    if not capacity:
        errs.required("spec.capacity")
    elif "storage" not in capacity or len(capacity) > 1:
        errs.unsupported("spec.capacity", sorted(capacity), ["storage"])
    for resource, value in capacity.items():
        validate_quantity_value(errs, resource, value, key("spec.capacity", resource))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in RECLAIM_POLICIES:
        errs.unsupported("spec.persistentVolumeReclaimPolicy", policy, RECLAIM_POLICIES)
    sources = [name for name in PV_SOURCES if spec.get(name) is not None]
    if not sources:
        errs.required("spec", "must specify a volume type")
    for name in sources[1:]:
        errs.forbidden(child("spec", name), "may not specify more than 1 volume type")
    if old is not None:
        new_source = {n: spec.get(n) for n in PV_SOURCES}
        old_source = {n: as_dict(old.get("spec")).get(n) for n in PV_SOURCES}
        if not semantic_equal(new_source, old_source):
            errs.forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation")
    return errs


def validate_claim(pvc: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(pvc.get("spec"))
    _validate_access_modes(errs, spec, "spec.accessModes", "at least 1 access mode is required")
    if spec.get("selector") is not None:
        errs.extend(checks.label_selector(spec["selector"], "spec.selector"))
    storage = as_dict(as_dict(spec.get("resources")).get("requests")).get("storage")
    storage_path = key("spec.resources", "storage")
    if storage is None:
        errs.required(storage_path)
    else:
        amount = quantities.parse(storage)
        if amount is not None and amount <= 0:
            errs.invalid(storage_path, quantities.canonical(storage), "must be greater than zero")
    class_name = spec.get("storageClassName")
    if class_name:
        for msg in checks.dns1123_subdomain_messages(class_name):
            errs.invalid("spec.storageClassName", class_name, msg)
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        errs.unsupported("spec.volumeMode", mode, VOLUME_MODES)
    if old is not None:
        _validate_claim_update(errs, pvc, old)
    return errs


def _validate_access_modes(errs: FieldErrors, spec: Obj, path: str, required_message: str) -> None:
    modes = as_list(spec.get("accessModes"))
    if not modes:
        errs.required(path, required_message)
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.unsupported(path, mode, ACCESS_MODES)
    if "ReadWriteOncePod" in modes and any(m != "ReadWriteOncePod" and m in ACCESS_MODES for m in modes):
        errs.forbidden(path, "may not use ReadWriteOncePod with other access modes")


def _validate_claim_update(errs: FieldErrors, pvc: Obj, old: Obj) -> None:
    """A claim's spec is immutable, except a volumeName set once and, when bound, its size."""
    new_spec = json_copy(as_dict(pvc.get("spec")))
    old_spec = json_copy(as_dict(old.get("spec")))
    if not old_spec.get("volumeName"):
        old_spec["volumeName"] = new_spec.get("volumeName")
    bound = as_dict(pvc.get("status")).get("phase") == "Bound"
    new_size = as_dict(as_dict(new_spec.get("resources")).get("requests")).get("storage")
    old_size = as_dict(as_dict(old_spec.get("resources")).get("requests")).get("storage")
    if bound and new_size is not None:
        ensure_dict(ensure_dict(new_spec, "resources"), "requests")["storage"] = old_size
    new_spec.pop("volumeAttributesClassName", None)
    old_spec.pop("volumeAttributesClassName", None)
    if not semantic_equal(new_spec, old_spec):
        errs.forbidden("spec", "spec is immutable after creation except resources.requests and "
                               "volumeAttributesClassName for bound claims")
    new_amount, old_amount = quantities.parse(new_size), quantities.parse(old_size)
    if new_amount is not None and old_amount is not None and new_amount < old_amount:
        errs.forbidden("spec.resources.requests.storage", "field can not be less than previous value")
