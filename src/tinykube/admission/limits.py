"""LimitRange rules, pure: container defaults and the min/max/ratio checks with upstream's texts."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable

from tinykube.admission import resourcelist as rl
from tinykube.admission.quota.usage import pod_requests_limits
from tinykube.admission.resourcelist import ResourceList

Obj = dict[str, Any]
ANNOTATION = "kubernetes.io/limit-ranger"


def _items(limit_range: Obj, kind: str) -> list[Obj]:
    spec = limit_range.get("spec") if isinstance(limit_range.get("spec"), dict) else {}
    limits = spec.get("limits") if isinstance(spec.get("limits"), list) else []
    return [i for i in limits if isinstance(i, dict) and i.get("type") == kind]


def _list(item: Obj, field: str) -> ResourceList:
    value = item.get(field)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def container_defaults(limit_range: Obj) -> tuple[ResourceList, ResourceList]:
    """(default requests, default limits) of the range's Container items."""
    requests: ResourceList = {}
    limits: ResourceList = {}
    for item in _items(limit_range, "Container"):
        requests.update(_list(item, "defaultRequest"))
        limits.update(_list(item, "default"))
    return requests, limits


def _merge_container(container: Obj, requests: ResourceList, limits: ResourceList, label: str) -> list[str]:
    resources = container.setdefault("resources", {})
    if not isinstance(resources, dict):
        return []
    notes = []
    for field, defaults, word in (("requests", requests, "request"), ("limits", limits, "limit")):
        if not defaults:
            continue
        current = resources.get(field)
        if not isinstance(current, dict):
            current = {}
        added = sorted(name for name in defaults if name not in current)
        for name in added:
            current[name] = defaults[name]
        if current:
            resources[field] = current
        if added:
            notes.append(f"{', '.join(added)} {word} for {label} {container.get('name', '')}")
    return notes


def apply_defaults(pod: Obj, limit_range: Obj) -> None:
    """Fill containers' missing requests/limits from the range and note it in the pod's
    `kubernetes.io/limit-ranger` annotation, as upstream's LimitRanger does."""
    requests, limits = container_defaults(limit_range)
    if not requests and not limits:
        return
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    notes: list[str] = []
    for field, label in (("containers", "container"), ("initContainers", "init container")):
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                notes += _merge_container(container, requests, limits, label)
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
        meta["annotations"] = annotations


def _value(q: str) -> Fraction:
    return rl.amount(q).value


def _text(q: str) -> str:
    return str(rl.amount(q))


def min_check(kind: str, name: str, enforced: str, requests: ResourceList, limits: ResourceList) -> str | None:
    if name not in requests:
        return f"minimum {name} usage per {kind} is {_text(enforced)}.  No request is specified"
    if _value(requests[name]) < _value(enforced):
        return f"minimum {name} usage per {kind} is {_text(enforced)}, but request is {_text(requests[name])}"
    if name in limits and _value(limits[name]) < _value(enforced):
        return f"minimum {name} usage per {kind} is {_text(enforced)}, but limit is {_text(limits[name])}"
    return None


def max_check(kind: str, name: str, enforced: str, requests: ResourceList, limits: ResourceList) -> str | None:
    if name not in limits:
        return f"maximum {name} usage per {kind} is {_text(enforced)}.  No limit is specified"
    if _value(limits[name]) > _value(enforced):
        return f"maximum {name} usage per {kind} is {_text(enforced)}, but limit is {_text(limits[name])}"
    if name in requests and _value(requests[name]) > _value(enforced):
        return f"maximum {name} usage per {kind} is {_text(enforced)}, but request is {_text(requests[name])}"
    return None


def max_request_check(kind: str, name: str, enforced: str, requests: ResourceList) -> str | None:
    """A PersistentVolumeClaim's max: only its request exists."""
    if name not in requests:
        return f"maximum {name} usage per {kind} is {_text(enforced)}.  No request is specified"
    if _value(requests[name]) > _value(enforced):
        return f"maximum {name} usage per {kind} is {_text(enforced)}, but request is {_text(requests[name])}"
    return None


def ratio_check(kind: str, name: str, enforced: str, requests: ResourceList, limits: ResourceList) -> str | None:
    request = _value(requests[name]) if name in requests else Fraction(0)
    limit = _value(limits[name]) if name in limits else Fraction(0)
    if request == 0:
        return (f"{name} max limit to request ratio per {kind} is {_text(enforced)}, "
                "but no request is specified or request is 0")
    if limit == 0:
        return (f"{name} max limit to request ratio per {kind} is {_text(enforced)}, "
                "but no limit is specified or limit is 0")
    ratio = limit / request
    if ratio > _value(enforced):
        return f"{name} max limit to request ratio per {kind} is {_text(enforced)}, but provided ratio is {float(ratio):f}"
    return None


def _check_item(item: Obj, kind: str, requests: ResourceList, limits: ResourceList) -> list[str]:
    out: list[str | None] = []
    for name, value in sorted(_list(item, "min").items()):
        out.append(min_check(kind, name, value, requests, limits))
    for name, value in sorted(_list(item, "max").items()):
        out.append(max_check(kind, name, value, requests, limits))
    for name, value in sorted(_list(item, "maxLimitRequestRatio").items()):
        out.append(ratio_check(kind, name, value, requests, limits))
    return [m for m in out if m]


def _container_lists(container: Obj) -> tuple[ResourceList, ResourceList]:
    resources = container.get("resources") if isinstance(container.get("resources"), dict) else {}
    return _list(resources, "requests"), _list(resources, "limits")


def pod_violations(pod: Obj, limit_range: Obj) -> list[str]:
    """Container items per container (init containers too), Pod items on the pod's totals."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    out: list[str] = []
    for item in _items(limit_range, "Container"):
        for field in ("containers", "initContainers"):
            for container in spec.get(field) or []:
                if isinstance(container, dict):
                    out += _check_item(item, "Container", *_container_lists(container))
    for item in _items(limit_range, "Pod"):
        out += _check_item(item, "Pod", *pod_requests_limits(pod))
    return out


def claim_violations(claim: Obj, limit_range: Obj) -> list[str]:
    spec = claim.get("spec") if isinstance(claim.get("spec"), dict) else {}
    resources = spec.get("resources") if isinstance(spec.get("resources"), dict) else {}
    requests = _list(resources, "requests")
    out: list[str | None] = []
    for item in _items(limit_range, "PersistentVolumeClaim"):
        for name, value in sorted(_list(item, "min").items()):
            out.append(min_check("PersistentVolumeClaim", name, value, requests, {}))
        for name, value in sorted(_list(item, "max").items()):
            out.append(max_request_check("PersistentVolumeClaim", name, value, requests))
    return [m for m in out if m]


def aggregate(messages: Iterable[str]) -> str:
    """utilerrors.NewAggregate: one message as is, several as `[a, b]` (duplicates once)."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"
