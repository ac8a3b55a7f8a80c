"""Compute resource names and ResourceRequirements (requests <= limits) validation."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks, quantities
from tinykube.registry.kinds.common import Obj, child, key

STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
STANDARD_RESOURCES = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services",
    "replicationcontrollers", "resourcequotas", "secrets", "persistentvolumeclaims", "configmaps",
    "services.nodeports", "services.loadbalancers", "storage", "requests.storage",
})
QOS_RESOURCES = ("cpu", "memory")


def is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    if is_native(name) or name.startswith("requests."):
        return False
    return not checks.qualified_name_messages("requests." + name)


def overcommit_allowed(name: str) -> bool:
    return is_native(name) and not is_hugepages(name)


def is_standard(name: str) -> bool:
    return name in STANDARD_RESOURCES or is_hugepages(name) or name.startswith("requests.hugepages-")


def validate_container_resource_name(errs: FieldErrors, name: str, path: str) -> None:
    """validateContainerResourceName: qualified, and standard for containers or extended."""
    messages = checks.qualified_name_messages(name)
    for msg in messages:
        errs.invalid(path, name, msg)
    if not messages and "/" not in name and not is_standard(name):
        errs.invalid(path, name, "must be a standard resource type or fully qualified")
    if "/" not in name:
        if name not in STANDARD_CONTAINER_RESOURCES and not is_hugepages(name):
            errs.invalid(path, name, "must be a standard resource for containers")
    elif not is_native(name) and not is_extended(name):
        errs.invalid(path, name, "doesn't follow extended resource name standard")


def validate_quantity_value(errs: FieldErrors, name: str, value: Any, path: str) -> None:
    """ValidateResourceQuantityValue: non-negative; whole for integer (extended) resources."""
    amount = quantities.parse(value)
    if amount is None:
        errs.invalid(path, value, quantities.PARSE_ERROR)
        return
    if amount < 0:
        errs.invalid(path, quantities.canonical(value), "must be greater than or equal to 0")
    if is_extended(name) and amount != int(amount):
        errs.invalid(path, quantities.canonical(value), "must be an integer")


def validate_resource_requirements(errs: FieldErrors, requirements: Obj, path: str) -> None:
    limits = requirements.get("limits") if isinstance(requirements.get("limits"), dict) else {}
    requests = requirements.get("requests") if isinstance(requirements.get("requests"), dict) else {}
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    for name, value in limits.items():
        validate_container_resource_name(errs, name, key(lim_path, name))
        validate_quantity_value(errs, name, value, key(lim_path, name))
    for name, value in requests.items():
        validate_container_resource_name(errs, name, key(req_path, name))
        validate_quantity_value(errs, name, value, key(req_path, name))
        _check_request_against_limit(errs, name, value, limits, lim_path, req_path)
    used = set(limits) | set(requests)
    if any(is_hugepages(n) for n in used) and not any(n in QOS_RESOURCES for n in used):
        errs.forbidden(path, "HugePages require cpu or memory")


def _check_request_against_limit(errs: FieldErrors, name: str, request: Any, limits: Obj,
                                 lim_path: str, req_path: str) -> None:
    if name not in limits:
        if not overcommit_allowed(name):
            errs.required(lim_path, "Limit must be set for non overcommitable resources")
        return
    wanted, cap = quantities.parse(request), quantities.parse(limits[name])
    if wanted is None or cap is None:
        return
    shown, cap_shown = quantities.canonical(request), quantities.canonical(limits[name])
    if wanted != cap and not overcommit_allowed(name):
        errs.invalid(req_path, shown, f"must be equal to {name} limit of {cap_shown}")
    elif wanted > cap:
        errs.invalid(req_path, shown, f"must be less than or equal to {name} limit of {cap_shown}")
