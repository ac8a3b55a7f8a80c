"""The leases table (coordination.k8s.io)."""

from __future__ import annotations

from datetime import datetime

from tinykube.registry.printers._common import Cells, ColumnSpec, Obj, age, age_col, dig, name_col, name_of

COLUMNS = (name_col(), ColumnSpec("Holder", doc="coordination.v1.LeaseSpec.holderIdentity"), age_col())


def lease_cells(lease: Obj, now: datetime) -> Cells:
    return [name_of(lease), str(dig(lease, "spec", "holderIdentity", default="")), age(lease, now)]


PRINTERS = {("coordination.k8s.io", "leases"): (COLUMNS, lease_cells)}
