"""meta.k8s.io/v1 Table responses: what `kubectl get` prints, built on the server."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tinykube.registry.printers import columns_for, row_cells
from tinykube.registry.resources import Resource


def _row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(res: Resource, objects: list[dict[str, Any]], now: datetime, include_object: str = "Metadata",
          list_meta: dict[str, Any] | None = None, with_columns: bool = True) -> dict[str, Any]:
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": row_cells(res.group, res.plural, obj, now)}
        row_obj = _row_object(obj, include_object)
        if row_obj is not None:
            row["object"] = row_obj
        rows.append(row)
    out: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {}}
    if with_columns:
        out["columnDefinitions"] = [c.to_dict() for c in columns_for(res.group, res.plural)]
    else:
        out["columnDefinitions"] = None
    out["rows"] = rows
    return out
