"""The horizontalpodautoscalers table, for autoscaling/v1 and autoscaling/v2 objects alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tinykube.registry.conversion import hpa_v1_to_v2
from tinykube.registry.printers._common import (
    NONE, UNSET, Cells, ColumnSpec, Obj, age, age_col, as_dict, as_int, as_list, dig, name_col, name_of,
)

COLUMNS = (
    name_col(),
    ColumnSpec("Reference", doc="autoscaling.v2.HorizontalPodAutoscalerSpec.scaleTargetRef"),
    ColumnSpec("Targets", doc="autoscaling.v2.HorizontalPodAutoscalerSpec.metrics"),
    ColumnSpec("MinPods", doc="autoscaling.v2.HorizontalPodAutoscalerSpec.minReplicas"),
    ColumnSpec("MaxPods", doc="autoscaling.v2.HorizontalPodAutoscalerSpec.maxReplicas"),
    ColumnSpec("Replicas", doc="autoscaling.v2.HorizontalPodAutoscalerStatus.currentReplicas"),
    age_col(),
)

_MAX_METRICS = 2
UNKNOWN_VALUE = "<unknown>"

# metric type -> the key of its source in a v2 MetricSpec / MetricStatus
_SOURCE_KEYS = {"External": "external", "Pods": "pods", "Object": "object",
                "Resource": "resource", "ContainerResource": "containerResource"}


def _qty(value: Any) -> str:
    """Quantity.String() of an optional quantity ("<nil>" when unset)."""
    return "<nil>" if value is None else str(value)


def _current(statuses: list[Any], index: int, key: str) -> Obj | None:
    """The status's `current` block for metric `index` when it reports this source."""
    if index >= len(statuses):
        return None
    source = as_dict(statuses[index]).get(key)
    return as_dict(as_dict(source).get("current")) if source is not None else None


def _value_metric(target: Obj, current: Obj | None) -> str:
    """External and Object metrics: an average value "(avg)" or a plain value."""
    if target.get("averageValue") is not None:
        now = _qty(current.get("averageValue")) if current and current.get("averageValue") is not None \
            else UNKNOWN_VALUE
        return f"{now}/{_qty(target['averageValue'])} (avg)"
    now = _qty(current.get("value")) if current is not None else UNKNOWN_VALUE
    return f"{now}/{_qty(target.get('value'))}"


def _resource_metric(source: Obj, current: Obj | None) -> str:
    """Resource and ContainerResource metrics: "cpu: 75%/50%" or "memory: 1Gi/2Gi"."""
    target = as_dict(source.get("target"))
    name = source.get("name", "")
    if target.get("averageValue") is not None:
        now = _qty(current.get("averageValue")) if current is not None else UNKNOWN_VALUE
        return f"{name}: {now}/{_qty(target['averageValue'])}"
    utilization = current.get("averageUtilization") if current is not None else None
    now = f"{as_int(utilization)}%" if utilization is not None else UNKNOWN_VALUE
    wanted = target.get("averageUtilization")
    return f"{name}: {now}/{as_int(wanted)}%" if wanted is not None else f"{name}: {now}/<auto>"


def _format_metric(spec: Obj, statuses: list[Any], index: int) -> str:
    kind = spec.get("type")
    key = _SOURCE_KEYS.get(str(kind))
    if key is None:
        return "<unknown type>"
    source = as_dict(spec.get(key))
    current = _current(statuses, index, key)
    if kind in ("External", "Object"):
        return _value_metric(as_dict(source.get("target")), current)
    if kind == "Pods":
        now = _qty(current.get("averageValue")) if current is not None else UNKNOWN_VALUE
        return f"{now}/{_qty(dig(source, 'target', 'averageValue'))}"
    return _resource_metric(source, current)


def format_metrics(hpa: Obj) -> str:
    """formatHPAMetrics: the first two "current/target" pairs, then "+ N more..."."""
    specs = as_list(dig(hpa, "spec", "metrics"))
    if not specs:
        return NONE
    statuses = as_list(dig(hpa, "status", "currentMetrics"))
    shown = [_format_metric(as_dict(spec), statuses, i) for i, spec in enumerate(specs)]
    text = ", ".join(shown[:_MAX_METRICS])
    if len(shown) > _MAX_METRICS:
        return f"{text} + {len(shown) - _MAX_METRICS} more..."
    return text


def as_v2(hpa: Obj) -> Obj:
    """A v2-shaped HPA: autoscaling/v1 objects are converted (targetCPUUtilizationPercentage)."""
    if hpa.get("apiVersion") == "autoscaling/v1" or "targetCPUUtilizationPercentage" in as_dict(hpa.get("spec")) \
            or "currentCPUUtilizationPercentage" in as_dict(hpa.get("status")):
        return hpa_v1_to_v2(dict(hpa))
    return hpa


def hpa_cells(hpa: Obj, now: datetime) -> Cells:
    hpa = as_v2(hpa)
    ref = as_dict(dig(hpa, "spec", "scaleTargetRef"))
    min_replicas = dig(hpa, "spec", "minReplicas")
    return [
        name_of(hpa), f"{ref.get('kind', '')}/{ref.get('name', '')}", format_metrics(hpa),
        UNSET if min_replicas is None else str(as_int(min_replicas)),
        as_int(dig(hpa, "spec", "maxReplicas")), as_int(dig(hpa, "status", "currentReplicas")), age(hpa, now),
    ]


PRINTERS = {("autoscaling", "horizontalpodautoscalers"): (COLUMNS, hpa_cells)}
