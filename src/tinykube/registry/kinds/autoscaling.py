"""autoscaling HorizontalPodAutoscaler, in its v2 shape and its v1 shape (autoscaling/v2 and v1
defaults.go, autoscaling/validation)."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import checks, quantities
from tinykube.registry.kinds.common import (
    Obj,
    as_dict,
    child,
    default,
    dicts,
    ensure_dict,
    index,
    int_or,
    is_int,
    nonnegative,
)

DEFAULT_CPU_UTILIZATION = 80
SCALE_UP_DEFAULT = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]}
SCALE_DOWN_DEFAULT = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
METRIC_FIELDS = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
                 "ContainerResource": "containerResource"}
SELECT_POLICIES = ["Disabled", "Max", "Min"]
POLICY_TYPES = ["Percent", "Pods"]
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_SECONDS = 3600
MIN_REPLICAS_LOWER_BOUND = 1  # HPAScaleToZero is off


def is_v1(hpa: Obj) -> bool:
    return hpa.get("apiVersion") == "autoscaling/v1"


# ----------------------------------------------------------------------------- defaults


def default_hpa(hpa: Obj) -> None:
    spec = ensure_dict(hpa, "spec")
    default(spec, "minReplicas", 1)
    if is_v1(hpa):
        default(spec, "targetCPUUtilizationPercentage", DEFAULT_CPU_UTILIZATION)
        return
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), SCALE_UP_DEFAULT)
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), SCALE_DOWN_DEFAULT)


def _scaling_rules(rules: Any, defaults: Obj) -> Obj:
    """GenerateHPAScale{Up,Down}Rules: the defaults, overridden by whatever the rules set."""
    result = json_copy(defaults)
    for name, value in as_dict(rules).items():
        if value is not None:
            result[name] = value
    return result


# ----------------------------------------------------------------------------- validation


def validate_hpa(hpa: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(hpa.get("spec"))
    lower_bound = MIN_REPLICAS_LOWER_BOUND
    if old is not None and as_dict(old.get("spec")).get("minReplicas") == 0:
        lower_bound = 0
    min_replicas, max_replicas = spec.get("minReplicas"), int_or(spec.get("maxReplicas"))
    if is_int(min_replicas) and min_replicas < lower_bound:
        errs.invalid("spec.minReplicas", min_replicas, f"must be greater than or equal to {lower_bound}")
    if max_replicas < 1:
        errs.invalid("spec.maxReplicas", max_replicas, "must be greater than 0")
    if is_int(min_replicas) and max_replicas < min_replicas:
        errs.invalid("spec.maxReplicas", max_replicas, "must be greater than or equal to `minReplicas`")
    validate_object_reference(errs, as_dict(spec.get("scaleTargetRef")), "spec.scaleTargetRef")
    metrics = spec.get("metrics")
    if is_v1(hpa):
        target = spec.get("targetCPUUtilizationPercentage")
        metrics = [] if target is None else [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
    _validate_metrics(errs, metrics, "spec.metrics", min_replicas)
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for name in ("scaleUp", "scaleDown"):
            if isinstance(behavior.get(name), dict):
                _validate_scaling_rules(errs, behavior[name], child("spec.behavior", name))
    return errs


def validate_object_reference(errs: FieldErrors, ref: Obj, path: str) -> None:
    for name in ("kind", "name"):
        value = ref.get(name) or ""
        if not value:
            errs.required(child(path, name))
        else:
            for msg in checks.path_segment_messages(value):
                errs.invalid(child(path, name), value, msg)


def _validate_metrics(errs: FieldErrors, metrics: Any, path: str, min_replicas: Any) -> None:
    has_object_or_external = False
    for i, metric in dicts(metrics):
        _validate_metric(errs, metric, index(path, i))
        has_object_or_external |= metric.get("type") in ("Object", "External")
    if min_replicas == 0 and not has_object_or_external:
        errs.forbidden(path, "must specify at least one Object or External metric to support scaling to zero replicas")


def _validate_metric(errs: FieldErrors, metric: Obj, path: str) -> None:
    kind = metric.get("type") or ""
    if not kind:
        errs.required(child(path, "type"), "must specify a metric source type")
    if kind not in METRIC_TYPES:
        errs.unsupported(child(path, "type"), kind, METRIC_TYPES)
    present = [name for name in ("object", "external", "pods", "resource", "containerResource")
               if isinstance(metric.get(name), dict)]
    if len(present) >= 1:
        _validate_source(errs, present[0], metric[present[0]], child(path, present[0]))
    expected = METRIC_FIELDS.get(kind)
    if expected and expected not in present:
        errs.required(child(path, expected), "must populate information for the given metric source")
    if len(present) != 1:
        for name in present:
            if name != expected:
                errs.forbidden(child(path, name), "must populate the given metric source only")


def _validate_source(errs: FieldErrors, kind: str, source: Obj, path: str) -> None:
    target = as_dict(source.get("target"))
    target_path = child(path, "target")
    if kind in ("object", "external", "pods"):
        _validate_metric_identifier(errs, as_dict(source.get("metric")), child(path, "metric"))
    if kind == "object":
        validate_object_reference(errs, as_dict(source.get("describedObject")), child(path, "describedObject"))
    if kind in ("resource", "containerResource") and not source.get("name"):
        errs.required(child(path, "name"), "must specify a resource name")
    if kind == "containerResource":
        container = source.get("container") or ""
        if not container:
            errs.required(child(path, "container"), "must specify a container")
        else:
            checks.dns1123_label(errs, container, child(path, "container"))
    _validate_target(errs, target, target_path)
    _validate_target_fields(errs, kind, target, target_path)


def _validate_target_fields(errs: FieldErrors, kind: str, target: Obj, path: str) -> None:
    value, average, utilization = target.get("value"), target.get("averageValue"), target.get("averageUtilization")
    if kind == "object" and value is None and average is None:
        errs.required(child(path, "averageValue"), "must set either a target value or averageValue")
    elif kind == "external":
        if value is None and average is None:
            errs.required(child(path, "averageValue"), "must set either a target value for metric or a per-pod target")
        if value is not None and average is not None:
            errs.forbidden(child(path, "value"), "may not set both a target value for metric and a per-pod target")
    elif kind == "pods" and average is None:
        errs.required(child(path, "averageValue"), "must specify a positive target averageValue")
    elif kind in ("resource", "containerResource"):
        if utilization is None and average is None:
            errs.required(child(path, "averageUtilization"), "must set either a target raw value or a target utilization")
        if utilization is not None and average is not None:
            errs.forbidden(child(path, "averageValue"), "may not set both a target raw value and a target utilization")


def _validate_target(errs: FieldErrors, target: Obj, path: str) -> None:
    kind = target.get("type") or ""
    if not kind:
        errs.required(child(path, "type"), "must specify a metric target type")
    if kind not in ("Utilization", "Value", "AverageValue"):
        errs.invalid(child(path, "type"), kind, "must be either Utilization, Value, or AverageValue")
    for name in ("value", "averageValue"):
        if target.get(name) is not None:
            amount = quantities.parse(target[name])
            if amount is None or amount <= 0:
                errs.invalid(child(path, name), quantities.canonical(target[name]), "must be positive")
    utilization = target.get("averageUtilization")
    if is_int(utilization) and utilization < 1:
        errs.invalid(child(path, "averageUtilization"), utilization, "must be greater than 0")


def _validate_metric_identifier(errs: FieldErrors, metric: Obj, path: str) -> None:
    name = metric.get("name") or ""
    if not name:
        errs.required(child(path, "name"), "must specify a metric name")
    else:
        for msg in checks.path_segment_messages(name):
            errs.invalid(child(path, "name"), name, msg)


def _validate_scaling_rules(errs: FieldErrors, rules: Obj, path: str) -> None:
    window = rules.get("stabilizationWindowSeconds")
    if is_int(window) and window < 0:
        errs.invalid(child(path, "stabilizationWindowSeconds"), window, "must be greater than or equal to zero")
    if is_int(window) and window > MAX_STABILIZATION_SECONDS:
        errs.invalid(child(path, "stabilizationWindowSeconds"), window,
                     f"must be less than or equal to {MAX_STABILIZATION_SECONDS}")
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        errs.unsupported(child(path, "selectPolicy"), select, SELECT_POLICIES)
    policies = [p for _, p in dicts(rules.get("policies"))]
    if not policies:
        errs.required(child(path, "policies"), "must specify at least one Policy")
    for i, policy in enumerate(policies):
        at = index(child(path, "policies"), i)
        if policy.get("type") not in POLICY_TYPES:
            errs.unsupported(child(at, "type"), policy.get("type") or "", POLICY_TYPES)
        for name in ("value", "periodSeconds"):
            if int_or(policy.get(name)) <= 0:
                errs.invalid(child(at, name), int_or(policy.get(name)), "must be greater than zero")
        if int_or(policy.get("periodSeconds")) > MAX_PERIOD_SECONDS:
            errs.invalid(child(at, "periodSeconds"), policy["periodSeconds"],
                         f"must be less than or equal to {MAX_PERIOD_SECONDS}")


def validate_hpa_status(hpa: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    status = as_dict(hpa.get("status"))
    nonnegative(errs, status.get("currentReplicas"), "status.currentReplicas")
    nonnegative(errs, status.get("desiredReplicas"), "status.desiredReplicas")
    return errs
