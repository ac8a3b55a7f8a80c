"""The storageclasses table (storage.k8s.io), as upstream's printStorageClass."""

from __future__ import annotations

from datetime import datetime

from tinykube.registry.printers._common import Cells, ColumnSpec, Obj, age, age_col, dig, name_col, name_of

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")

COLUMNS = (
    name_col(),
    ColumnSpec("Provisioner", doc="storage.v1.StorageClass.provisioner"),
    ColumnSpec("ReclaimPolicy", doc="storage.v1.StorageClass.reclaimPolicy"),
    ColumnSpec("VolumeBindingMode", doc="storage.v1.StorageClass.volumeBindingMode"),
    ColumnSpec("AllowVolumeExpansion", doc="storage.v1.StorageClass.allowVolumeExpansion"),
    age_col(),
)


def is_default_class(sc: Obj) -> bool:
    """storageutil.IsDefaultAnnotation: either annotation set to "true"."""
    annotations = dig(sc, "metadata", "annotations", default={}) or {}
    return any(annotations.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)


def storage_class_cells(sc: Obj, now: datetime) -> Cells:
    name = name_of(sc) + (" (default)" if is_default_class(sc) else "")
    return [name, str(sc.get("provisioner") or ""), str(sc.get("reclaimPolicy") or "Delete"),
            str(sc.get("volumeBindingMode") or "Immediate"), bool(sc.get("allowVolumeExpansion")), age(sc, now)]


PRINTERS = {("storage.k8s.io", "storageclasses"): (COLUMNS, storage_class_cells)}
