"""Conversion between a resource's served versions and the one version kept in storage.

Two resources are served in two shapes over the same objects, as upstream does:
horizontalpodautoscalers (stored as autoscaling/v2, served also as autoscaling/v1) and
events (stored as core/v1 Event, served also as events.k8s.io/v1 Event).
"""

from __future__ import annotations

from typing import Any

from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.resources import Resource

HPA_V1_ANNOTATIONS = "autoscaling.alpha.kubernetes.io/"


def is_stored_as_served(res: Resource) -> bool:
    """Whether this resource's objects are stored in the shape they are served in."""
    return not (res.group == "autoscaling" and res.version == "v1") and res.group != "events.k8s.io"


def to_storage(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    if res.group == "autoscaling" and res.version == "v1":
        return hpa_v1_to_v2(obj)
    if res.group == "events.k8s.io":
        return event_v1_from_events_api(obj)
    return obj


def from_storage(res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
    if res.group == "autoscaling" and res.version == "v1":
        obj = hpa_v2_to_v1(obj)
    elif res.group == "events.k8s.io":
        obj = events_api_from_event_v1(obj)
    obj["apiVersion"] = res.api_version
    obj["kind"] = res.kind
    return obj


# ----------------------------------------------------------------------------- HPA


def hpa_v1_to_v2(obj: dict[str, Any]) -> dict[str, Any]:
    out = json_copy(obj)
    out["apiVersion"] = "autoscaling/v2"
    spec = out.get("spec") or {}
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentCPUUtilizationPercentage", None)
        if current is not None:
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": current}}}]
    return out


def hpa_v2_to_v1(obj: dict[str, Any]) -> dict[str, Any]:
    out = json_copy(obj)
    out["apiVersion"] = "autoscaling/v1"
    spec = out.get("spec") or {}
    metrics = spec.pop("metrics", None) or []
    spec.pop("behavior", None)
    for metric in metrics:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu" and \
                target.get("type") == "Utilization":
            spec["targetCPUUtilizationPercentage"] = target.get("averageUtilization")
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        status.pop("conditions", None)
        for metric in current:
            resource = metric.get("resource") or {}
            if metric.get("type") == "Resource" and resource.get("name") == "cpu":
                value = (resource.get("current") or {}).get("averageUtilization")
                if value is not None:
                    status["currentCPUUtilizationPercentage"] = value
    return out


# ----------------------------------------------------------------------------- events

_RENAMES = (  # (core/v1 field, events.k8s.io/v1 field)
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("count", "deprecatedCount"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("source", "deprecatedSource"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("action", "action"),
    ("reason", "reason"),
    ("type", "type"),
)


def events_api_from_event_v1(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"metadata": obj.get("metadata", {})}
    for core, new in _RENAMES:
        if core in obj:
            out[new] = obj[core]
    return out


def event_v1_from_events_api(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Event", "metadata": obj.get("metadata", {})}
    for core, new in _RENAMES:
        if new in obj:
            out[core] = obj[new]
    return out
