"""Server-side printing for `kubectl get`: the Table columns and cells of every resource.

The columns, their order, priorities (1 = only with `-o wide`) and cell logic follow
upstream's pkg/printers/internalversion. Like upstream's TableConvertor, rows always
carry the wide cells; kubectl hides priority-1 columns unless asked for `-o wide`.
Resources without a printer get upstream's default table: Name and Created At.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from tinykube.registry.printers import (apps, autoscaling, batch, coordination, core, discovery, events, pods, rbac,
                                        storage)
from tinykube.registry.printers._common import (
    Column, ColumnSpec, CellsFn, Obj, dig, human_duration, name_col, name_of, rfc3339,
)

__all__ = ["Column", "columns_for", "row_cells", "human_duration"]

_PRINTERS: dict[tuple[str, str], tuple[tuple[ColumnSpec, ...], CellsFn]] = {
    **pods.PRINTERS, **core.PRINTERS, **events.PRINTERS, **apps.PRINTERS, **batch.PRINTERS,
    **autoscaling.PRINTERS, **coordination.PRINTERS, **discovery.PRINTERS, **rbac.PRINTERS, **storage.PRINTERS,
}

DEFAULT_COLUMNS = (name_col(), ColumnSpec("Created At", "date", doc="meta.v1.ObjectMeta.creationTimestamp"))


def _default_cells(obj: Obj, now: datetime) -> list[Any]:
    """Upstream's default table row: the name and the creation time in RFC 3339."""
    return [name_of(obj), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


@functools.cache
def _columns(group: str, resource: str) -> tuple[Column, ...]:
    specs = _PRINTERS.get((group, resource), (DEFAULT_COLUMNS, _default_cells))[0]
    return tuple(spec.build() for spec in specs)


def columns_for(group: str, resource: str) -> list[Column]:
    """The column definitions of a resource's table (`resource` is the plural)."""
    return list(_columns(group, resource))


def row_cells(group: str, resource: str, obj: dict[str, Any], now: datetime) -> list[Any]:
    """One object's cells, in `columns_for` order; `now` (aware UTC) is the clock for ages."""
    cells_fn = _PRINTERS.get((group, resource), (DEFAULT_COLUMNS, _default_cells))[1]
    return cells_fn(obj, now)
