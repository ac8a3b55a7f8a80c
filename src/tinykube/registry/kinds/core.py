"""The smaller core/v1 kinds: Namespace, Node, Endpoints, Event, LimitRange, ResourceQuota."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import checks, gotypes
from tinykube.registry.kinds.common import (
    Obj,
    as_dict,
    as_list,
    child,
    default_zero,
    dicts,
    ensure_dict,
    index,
    int_or,
    is_create,
    key,
)
from tinykube.registry.kinds.quantities import round_resource_list
from tinykube.registry.kinds.resources import validate_quantity_value

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
STANDARD_FINALIZERS = ("kubernetes",)
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


# ----------------------------------------------------------------------------- Namespace


def default_namespace(ns: Obj) -> None:
    """The kubernetes.io/metadata.name label; on create the `kubernetes` finalizer and phase Active."""
    meta = ensure_dict(ns, "metadata")
    if meta.get("name"):
        ensure_dict(meta, "labels")[NAMESPACE_NAME_LABEL] = meta["name"]
    if is_create(ns):
        spec = ensure_dict(ns, "spec")
        finalizers = spec.get("finalizers") if isinstance(spec.get("finalizers"), list) else []
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers
    if isinstance(ns.get("status"), dict) or is_create(ns):
        default_zero(ensure_dict(ns, "status"), "phase", "Active")


def validate_namespace(ns: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    for name in as_list(as_dict(ns.get("spec")).get("finalizers")):
        validate_finalizer_name(errs, str(name), "spec.finalizers")
    return errs


def validate_finalizer_name(errs: FieldErrors, name: str, path: str) -> None:
    """A qualified name, and either fully qualified or one of the standard finalizers."""
    checks.qualified_name(errs, name, path)
    if "/" not in name and name not in STANDARD_FINALIZERS:
        errs.invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified")


def validate_namespace_status(ns: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    phase = as_dict(ns.get("status")).get("phase") or ""
    if not as_dict(ns.get("metadata")).get("deletionTimestamp"):
        if phase != "Active":
            errs.invalid("status.Phase", phase, "may only be 'Active' if `deletionTimestamp` is empty")
    elif phase != "Terminating":
        errs.invalid("status.Phase", phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")
    return errs


# ----------------------------------------------------------------------------- Node


def default_node(node: Obj) -> None:
    """SetDefaults_NodeStatus: allocatable defaults to capacity."""
    status = node.get("status")
    if not isinstance(status, dict):
        return
    for name in ("capacity", "allocatable"):
        if isinstance(status.get(name), dict):
            round_resource_list(status[name])
    if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = json_copy(status["capacity"])


def validate_node(node: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(node.get("spec"))
    validate_taints(errs, spec.get("taints"), "metadata.taints")
    status = as_dict(node.get("status"))
    for name in ("capacity", "allocatable"):
        for resource, value in as_dict(status.get(name)).items():
            validate_quantity_value(errs, resource, value, f"status.{name}.{resource}")
    cidrs = [str(c) for c in as_list(spec.get("podCIDRs"))]
    for i, cidr in enumerate(cidrs):
        checks.cidr(errs, cidr, index("spec.podCIDRs", i))
    if old is not None:
        _validate_node_update(errs, node, old)
    return errs


def validate_taints(errs: FieldErrors, taints: Any, path: str) -> None:
    """validateNodeTaints: key, value, effect, and one taint per (key, effect)."""
    seen: set[tuple[str, str]] = set()
    for i, taint in dicts(taints):
        at = index(path, i)
        taint_key, effect = taint.get("key") or "", taint.get("effect") or ""
        checks.label_name(errs, taint_key, child(at, "key"))
        messages = checks.label_value_messages(taint.get("value") or "")
        if messages:
            errs.invalid(child(at, "value"), taint.get("value") or "", ";".join(messages))
        if not effect:
            errs.required(child(at, "effect"))
        elif effect not in TAINT_EFFECTS:
            errs.unsupported(child(at, "effect"), effect, TAINT_EFFECTS)
        if (taint_key, effect) in seen:
            errs.add("FieldValueDuplicate", at, f"Duplicate value: {gotypes.taint(taint)}: "
                                                 "taints must be unique by key and effect pair")
            continue
        seen.add((taint_key, effect))


def _validate_node_update(errs: FieldErrors, node: Obj, old: Obj) -> None:
    spec, old_spec = as_dict(node.get("spec")), as_dict(old.get("spec"))
    old_cidrs = as_list(old_spec.get("podCIDRs"))
    if old_cidrs and old_cidrs != as_list(spec.get("podCIDRs")):
        errs.forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid')
    if old_spec.get("providerID") and old_spec.get("providerID") != spec.get("providerID"):
        errs.forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid')
    if spec.get("externalID") != old_spec.get("externalID"):
        errs.forbidden("spec.externalID", "may not be updated")


# ----------------------------------------------------------------------------- Endpoints


def default_endpoints(endpoints: Obj) -> None:
    for _, subset in dicts(endpoints.get("subsets")):
        for _, port in dicts(subset.get("ports")):
            default_zero(port, "protocol", "TCP")


def validate_endpoints(endpoints: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    for i, subset in dicts(endpoints.get("subsets")):
        at = index("subsets", i)
        if not as_list(subset.get("addresses")) and not as_list(subset.get("notReadyAddresses")):
            errs.required(at, "must specify `addresses` or `notReadyAddresses`")
        for list_name in ("addresses", "notReadyAddresses"):
            for j, address in dicts(subset.get(list_name)):
                _validate_endpoint_address(errs, address, index(child(at, list_name), j))
        ports = [p for _, p in dicts(subset.get("ports"))]
        for j, port in enumerate(ports):
            _validate_endpoint_port(errs, port, len(ports) > 1, index(child(at, "ports"), j))
    return errs


def _validate_endpoint_address(errs: FieldErrors, address: Obj, path: str) -> None:
    checks.ip_address(errs, address.get("ip") or "", child(path, "ip"))
    if address.get("hostname"):
        checks.dns1123_label(errs, address["hostname"], child(path, "hostname"))
    node_name = address.get("nodeName")
    if node_name is not None:
        for msg in checks.dns1123_subdomain_messages(node_name):
            errs.invalid(child(path, "nodeName"), node_name, msg)


def _validate_endpoint_port(errs: FieldErrors, port: Obj, require_name: bool, path: str) -> None:
    name = port.get("name") or ""
    if require_name and not name:
        errs.required(child(path, "name"))
    elif name:
        checks.dns1123_label(errs, name, child(path, "name"))
    checks.port_number(errs, int_or(port.get("port")), child(path, "port"))
    protocol = port.get("protocol") or ""
    if not protocol:
        errs.required(child(path, "protocol"))
    elif protocol not in ("SCTP", "TCP", "UDP"):
        errs.unsupported(child(path, "protocol"), protocol, ["SCTP", "TCP", "UDP"])


# ----------------------------------------------------------------------------- Event


def validate_event(event: Obj, old: Obj | None) -> FieldErrors:
    """legacyValidateEvent for core/v1 Events (no eventTime: namespaces must agree)."""
    errs = FieldErrors()
    namespace = as_dict(event.get("metadata")).get("namespace") or ""
    involved = as_dict(event.get("involvedObject")).get("namespace") or ""
    if event.get("eventTime"):
        _validate_new_event(errs, event, "reportingComponent")
        if not involved and namespace not in ("default", "kube-system"):
            errs.invalid("involvedObject.namespace", involved, "does not match event.namespace")
    elif involved and involved != namespace or not involved and namespace not in ("", "default"):
        errs.invalid("involvedObject.namespace", involved, "does not match event.namespace")
    return errs


# events.k8s.io fields that must stay unset, by the internal name upstream reports
DEPRECATED_EVENT_FIELDS = {"deprecatedFirstTimestamp": "firstTimestamp", "deprecatedLastTimestamp": "lastTimestamp",
                           "deprecatedCount": "count", "deprecatedSource": "source"}


def validate_events_api_event(event: Obj, old: Obj | None) -> FieldErrors:
    """events.k8s.io/v1 Events: who reported them, and on create the strict rules of that API."""
    errs = FieldErrors()
    namespace = as_dict(event.get("metadata")).get("namespace") or ""
    regarding = as_dict(event.get("regarding")).get("namespace") or ""
    if not regarding and namespace not in ("default", "kube-system"):
        errs.invalid("involvedObject.namespace", regarding, "does not match event.namespace")
    _validate_new_event(errs, event, "reportingController")
    if old is None:
        if not event.get("eventTime"):
            errs.required("eventTime")
        kind = event.get("type") or ""
        if kind not in ("Normal", "Warning"):
            errs.invalid("type", "", f"has invalid value: {kind}")
        for name, internal in DEPRECATED_EVENT_FIELDS.items():
            if event.get(name):
                errs.invalid(internal, "", "needs to be unset")
    return errs


def _validate_new_event(errs: FieldErrors, event: Obj, controller_field: str) -> None:
    controller = event.get("reportingController") or event.get("reportingComponent") or ""
    if not controller:
        errs.required(controller_field)
    checks.qualified_name(errs, controller, controller_field)
    for name, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
        value = event.get(name) or ""
        if not value:
            errs.required(name)
        if len(value) > limit:
            errs.invalid(name, "", f"can have at most {limit} characters")
    note = event.get("note") if "note" in event else event.get("message")
    if isinstance(note, str) and len(note) > 1024:
        errs.invalid("message", "", "can have at most 1024 characters")


# ----------------------------------------------------------------------------- LimitRange, ResourceQuota


def default_limit_range(limit_range: Obj) -> None:
    """SetDefaults_LimitRangeItem: a Container limit's default comes from max, its default request
    from default, then from min."""
    for _, item in dicts(as_dict(limit_range.get("spec")).get("limits")):
        for name in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            if isinstance(item.get(name), dict):
                round_resource_list(item[name])
        if item.get("type") != "Container":
            continue
        defaults = ensure_dict(item, "default")
        requests = ensure_dict(item, "defaultRequest")
        for resource, value in as_dict(item.get("max")).items():
            defaults.setdefault(resource, value)
        for resource, value in defaults.items():
            requests.setdefault(resource, value)
        for resource, value in as_dict(item.get("min")).items():
            requests.setdefault(resource, value)
        if not defaults:
            item.pop("default")
        if not requests:
            item.pop("defaultRequest")


def validate_limit_range(limit_range: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    seen: set[str] = set()
    for i, item in dicts(as_dict(limit_range.get("spec")).get("limits")):
        at = index("spec.limits", i)
        kind = item.get("type") or ""
        checks.qualified_name(errs, kind, child(at, "type"))
        if kind in seen:
            errs.duplicate(child(at, "type"), kind)
        seen.add(kind)
        for name in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            for resource, value in as_dict(item.get(name)).items():
                validate_quantity_value(errs, resource, value, key(child(at, name), resource))
        if kind == "Pod":
            for name in ("default", "defaultRequest"):
                if as_dict(item.get(name)):
                    errs.forbidden(child(at, name), "may not be specified when `type` is 'Pod'")
    return errs


def validate_resource_quota(quota: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    for resource, value in as_dict(as_dict(quota.get("spec")).get("hard")).items():
        validate_quantity_value(errs, resource, value, key("spec.hard", resource))
    if old is not None:
        scopes = sorted(as_list(as_dict(quota.get("spec")).get("scopes")))
        if scopes != sorted(as_list(as_dict(old.get("spec")).get("scopes"))):
            errs.invalid("spec.scopes", as_list(as_dict(quota.get("spec")).get("scopes")), "field is immutable")
    return errs
