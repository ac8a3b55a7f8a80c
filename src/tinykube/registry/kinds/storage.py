"""storage.k8s.io/v1 StorageClass: defaults and validation as upstream's storage validation."""

from __future__ import annotations

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import Obj, as_dict, default_zero, semantic_equal, supported

RECLAIM_POLICIES = ["Delete", "Retain"]
BINDING_MODES = ["Immediate", "WaitForFirstConsumer"]
MAX_PARAMETERS = 512
MAX_PARAMETERS_SIZE = 256 * 1024


def default_storage_class(sc: Obj) -> None:
    """SetDefaults_StorageClass: Delete and Immediate when unset."""
    default_zero(sc, "reclaimPolicy", "Delete")
    default_zero(sc, "volumeBindingMode", "Immediate")


def validate_storage_class(sc: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    provisioner = sc.get("provisioner")
    if not provisioner:
        errs.required("provisioner")
    else:
        for msg in checks.qualified_name_messages(str(provisioner)):
            errs.invalid("provisioner", provisioner, msg)
    params = as_dict(sc.get("parameters"))
    if len(params) > MAX_PARAMETERS:
        errs.invalid("parameters", len(params), f"must have at most {MAX_PARAMETERS} parameters")
    for name in params:
        if not name:
            errs.invalid("parameters", name, "field can not be empty.")
    size = sum(len(k) + len(str(v)) for k, v in params.items())
    if size > MAX_PARAMETERS_SIZE:
        errs.invalid("parameters", "", f"must not exceed {MAX_PARAMETERS_SIZE} bytes")
    supported(errs, sc.get("reclaimPolicy"), "reclaimPolicy", RECLAIM_POLICIES, required=False)
    supported(errs, sc.get("volumeBindingMode"), "volumeBindingMode", BINDING_MODES)
    if old is not None:
        for field in ("parameters", "provisioner", "reclaimPolicy"):
            if not semantic_equal(sc.get(field), old.get(field)):
                errs.forbidden(field, f"updates to {field} are forbidden.")
        if sc.get("volumeBindingMode") != old.get("volumeBindingMode"):
            errs.invalid("volumeBindingMode", sc.get("volumeBindingMode"), "field is immutable")
    return errs
