"""apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet and ControllerRevision
(apps/v1 defaults.go, apps/validation and the apps registry strategies)."""

from __future__ import annotations

import re
from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import checks, gotypes
from tinykube.registry.kinds.common import (
    Obj,
    as_dict,
    child,
    default,
    default_zero,
    dicts,
    ensure_dict,
    invalid_rendered,
    is_create,
    is_int,
    nonnegative,
    semantic_equal,
    unsupported_rendered,
)
from tinykube.registry.kinds.controllers import (
    check_template_labels,
    collision_count_kept,
    selector_immutable,
    validate_controller_template,
    validate_replica_counts,
    validate_restart_always,
    validate_selector,
)
from tinykube.registry.kinds.pod_defaults import default_claim_spec, default_pod_template
from tinykube.registry.kinds.podspec import validate_pod_template

TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"
RETENTION_POLICIES = ["Retain", "Delete"]
STS_UPDATABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                 "minReadySeconds")


# ----------------------------------------------------------------------------- defaults


def default_deployment(obj: Obj) -> None:
    spec = ensure_dict(obj, "spec")
    default(spec, "replicas", 1)
    strategy = ensure_dict(spec, "strategy")
    default_zero(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = ensure_dict(strategy, "rollingUpdate")
        default(rolling, "maxUnavailable", "25%")
        default(rolling, "maxSurge", "25%")
    default(spec, "revisionHistoryLimit", 10)
    default(spec, "progressDeadlineSeconds", 600)
    default_pod_template(spec.get("template"))


def default_replica_set(obj: Obj) -> None:
    spec = ensure_dict(obj, "spec")
    default(spec, "replicas", 1)
    default_pod_template(spec.get("template"))


def default_stateful_set(obj: Obj) -> None:
    spec = ensure_dict(obj, "spec")
    default_zero(spec, "podManagementPolicy", "OrderedReady")
    strategy = ensure_dict(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        ensure_dict(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        default(strategy["rollingUpdate"], "partition", 0)
    retention = ensure_dict(spec, "persistentVolumeClaimRetentionPolicy")
    default_zero(retention, "whenDeleted", "Retain")
    default_zero(retention, "whenScaled", "Retain")
    default(spec, "replicas", 1)
    default(spec, "revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))
    for _, claim in dicts(spec.get("volumeClaimTemplates")):
        default_claim_spec(ensure_dict(claim, "spec"))
        default_zero(ensure_dict(claim, "status"), "phase", "Pending")


def default_daemon_set(obj: Obj) -> None:
    spec = ensure_dict(obj, "spec")
    strategy = ensure_dict(spec, "updateStrategy")
    default_zero(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = ensure_dict(strategy, "rollingUpdate")
        default(rolling, "maxUnavailable", 1)
        default(rolling, "maxSurge", 0)
    default(spec, "revisionHistoryLimit", 10)
    default_pod_template(spec.get("template"))
    if is_create(obj):
        # the strategy starts templateGeneration at 1; apps/v1 shows it as this annotation
        annotations = ensure_dict(ensure_dict(obj, "metadata"), "annotations")
        annotations.setdefault(TEMPLATE_GENERATION, "1")


# ----------------------------------------------------------------------------- int-or-percent


def percent_value(value: Any) -> int | None:
    """The number in a valid percent string (`25%` -> 25), else None."""
    if isinstance(value, str) and not checks.percent_messages(value):
        return int(value[:-1])
    return None


def int_or_percent_value(value: Any) -> int:
    """getIntOrPercentValue: the percent's number, an int's value, 0 otherwise."""
    percent = percent_value(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        return int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else 0  # IntValue: strconv.Atoi
    return value if is_int(value) else 0


def validate_positive_int_or_percent(errs: FieldErrors, value: Any, path: str) -> None:
    if isinstance(value, str):
        for msg in checks.percent_messages(value):
            invalid_rendered(errs, path, gotypes.int_or_string(value), msg)
    elif is_int(value) and value < 0:
        errs.invalid(path, value, "must be greater than or equal to 0")


def not_more_than_100_percent(errs: FieldErrors, value: Any, path: str) -> None:
    percent = percent_value(value)
    if percent is not None and percent > 100:
        invalid_rendered(errs, path, gotypes.int_or_string(value), "must not be greater than 100%")


# ----------------------------------------------------------------------------- Deployment


def validate_deployment(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(obj.get("spec"))
    nonnegative(errs, spec.get("replicas"), "spec.replicas")
    _validate_selector_and_template(errs, spec, "deployment", "ReplicaSet")
    _validate_deployment_strategy(errs, as_dict(spec.get("strategy")), "spec.strategy")
    nonnegative(errs, spec.get("minReadySeconds"), "spec.minReadySeconds")
    nonnegative(errs, spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    deadline = spec.get("progressDeadlineSeconds")
    if is_int(deadline):
        nonnegative(errs, deadline, "spec.progressDeadlineSeconds")
        if deadline <= (spec.get("minReadySeconds") if is_int(spec.get("minReadySeconds")) else 0):
            errs.invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")
    if old is not None:
        selector_immutable(errs, obj, old)
    return errs


def _validate_selector_and_template(errs: FieldErrors, spec: Obj, kind_word: str, template_kind: str) -> None:
    """Deployment and ReplicaSet: the selector, then the template it must select."""
    selector = spec.get("selector")
    validate_selector(errs, selector, "spec.selector", kind_word)
    if checks.selector_matches(selector, {}) is None:
        invalid_rendered(errs, "spec.selector", gotypes.label_selector(selector), "invalid label selector")
    else:
        validate_controller_template(errs, selector, spec.get("template"), "spec.template", template_kind)


def _validate_deployment_strategy(errs: FieldErrors, strategy: Obj, path: str) -> None:
    kind = strategy.get("type") or ""
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            errs.forbidden(child(path, "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")
    elif kind == "RollingUpdate":
        if not isinstance(rolling, dict):
            errs.required(child(path, "rollingUpdate"), "this should be defaulted and never be nil")
        else:
            _validate_rolling_deployment(errs, rolling, child(path, "rollingUpdate"))
    else:
        rendered = gotypes.strategy("apps.DeploymentStrategy", "apps.RollingUpdateDeployment", strategy)
        unsupported_rendered(errs, path, rendered, ["Recreate", "RollingUpdate"])


def _validate_rolling_deployment(errs: FieldErrors, rolling: Obj, path: str) -> None:
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    validate_positive_int_or_percent(errs, unavailable, child(path, "maxUnavailable"))
    validate_positive_int_or_percent(errs, surge, child(path, "maxSurge"))
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        invalid_rendered(errs, child(path, "maxUnavailable"), gotypes.int_or_string(unavailable),
                         "may not be 0 when `maxSurge` is 0")
    not_more_than_100_percent(errs, unavailable, child(path, "maxUnavailable"))


def validate_deployment_status(obj: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    status = as_dict(obj.get("status"))
    nonnegative(errs, status.get("observedGeneration"), "status.observedGeneration")
    validate_replica_counts(errs, status, ("updatedReplicas", "readyReplicas", "availableReplicas",
                                           "unavailableReplicas", "collisionCount"))
    collision_count_kept(errs, status, as_dict(old.get("status")))
    return errs


# ----------------------------------------------------------------------------- ReplicaSet


def validate_replica_set(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(obj.get("spec"))
    nonnegative(errs, spec.get("replicas"), "spec.replicas")
    nonnegative(errs, spec.get("minReadySeconds"), "spec.minReadySeconds")
    _validate_selector_and_template(errs, spec, "deployment", "ReplicaSet")
    if old is not None:
        selector_immutable(errs, obj, old)
    return errs


def validate_replica_set_status(obj: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    status = as_dict(obj.get("status"))
    validate_replica_counts(errs, status, ("fullyLabeledReplicas", "readyReplicas", "availableReplicas",
                                           "observedGeneration"))
    return errs


# ----------------------------------------------------------------------------- StatefulSet


def validate_stateful_set(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(obj.get("spec"))
    _validate_pod_management(errs, spec.get("podManagementPolicy"))
    _validate_sts_strategy(errs, as_dict(spec.get("updateStrategy")), "spec.updateStrategy")
    retention = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(retention, dict):
        for name in ("whenDeleted", "whenScaled"):
            value = retention.get(name) or ""
            if value not in RETENTION_POLICIES:
                errs.unsupported(child("spec.persistentVolumeClaimRetentionPolicy", name), value, RETENTION_POLICIES)
    nonnegative(errs, spec.get("replicas"), "spec.replicas")
    nonnegative(errs, spec.get("minReadySeconds"), "spec.minReadySeconds")
    if isinstance(spec.get("ordinals"), dict):
        nonnegative(errs, spec["ordinals"].get("start"), "spec.ordinals.start")
    selector = spec.get("selector")
    validate_selector(errs, selector, "spec.selector", "statefulset")
    template = spec.get("template")
    if checks.selector_matches(selector, {}) is None:
        invalid_rendered(errs, "spec.selector", gotypes.label_selector(selector), "")
    else:
        _validate_sts_template(errs, selector, template)
    validate_restart_always(errs, template, "spec.template", "StatefulSet")
    if old is not None:
        _validate_sts_update(errs, spec, as_dict(old.get("spec")))
    return errs


def _validate_pod_management(errs: FieldErrors, policy: Any) -> None:
    if not policy:
        errs.required("spec.podManagementPolicy")
    elif policy not in ("OrderedReady", "Parallel"):
        errs.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")


def _validate_sts_strategy(errs: FieldErrors, strategy: Obj, path: str) -> None:
    kind = strategy.get("type") or ""
    rolling = strategy.get("rollingUpdate")
    if not kind:
        errs.required(path)
    elif kind == "OnDelete":
        if rolling is not None:
            invalid_rendered(errs, child(path, "rollingUpdate"), gotypes.sts_rolling_update(rolling),
                             "only allowed for updateStrategy 'RollingUpdate'")
    elif kind == "RollingUpdate":
        if isinstance(rolling, dict):
            _validate_rolling_sts(errs, rolling, child(path, "rollingUpdate"))
    else:
        rendered = gotypes.strategy("apps.StatefulSetUpdateStrategy", "apps.RollingUpdateStatefulSetStrategy",
                                    strategy)
        invalid_rendered(errs, path, rendered, "must be 'RollingUpdate' or 'OnDelete'")


def _validate_rolling_sts(errs: FieldErrors, rolling: Obj, path: str) -> None:
    nonnegative(errs, rolling.get("partition"), child(path, "partition"))
    unavailable = rolling.get("maxUnavailable")
    if unavailable is None:
        return
    validate_positive_int_or_percent(errs, unavailable, child(path, "maxUnavailable"))
    if int_or_percent_value(unavailable) == 0:
        invalid_rendered(errs, child(path, "maxUnavailable"), gotypes.int_or_string(unavailable), "cannot be 0")
    not_more_than_100_percent(errs, unavailable, child(path, "maxUnavailable"))


def _validate_sts_template(errs: FieldErrors, selector: Any, template: Any) -> None:
    """ValidatePodTemplateSpecForStatefulSet: the labels and annotations only, not the pod spec."""
    check_template_labels(errs, selector, template, "spec.template")
    meta = as_dict(as_dict(template).get("metadata"))
    errs.extend(checks.labels(meta.get("labels"), "spec.template.labels"))
    errs.extend(checks.annotations(meta.get("annotations"), "spec.template.annotations"))


def _validate_sts_update(errs: FieldErrors, new: Obj, old: Obj) -> None:
    changed = json_copy(new)
    for name in STS_UPDATABLE:
        if name in old:
            changed[name] = old[name]
        else:
            changed.pop(name, None)
    if not semantic_equal(changed, old):
        errs.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                               "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                               "'minReadySeconds' are forbidden")


def validate_stateful_set_status(obj: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    status = as_dict(obj.get("status"))
    validate_replica_counts(errs, status, ("readyReplicas", "currentReplicas", "updatedReplicas",
                                           "availableReplicas", "observedGeneration", "collisionCount"),
                            ready_message="cannot be greater than status.readyReplicas")
    collision_count_kept(errs, status, as_dict(old.get("status")))
    return errs


# ----------------------------------------------------------------------------- DaemonSet


def validate_daemon_set(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(obj.get("spec"))
    selector = spec.get("selector")
    if selector is not None:
        errs.extend(checks.label_selector(selector, "spec.selector"))
    if checks.selector_matches(selector, {}) is not None:
        check_template_labels(errs, selector, spec.get("template"), "spec.template")
    if selector is not None and not as_dict(selector).get("matchLabels") and \
            not as_dict(selector).get("matchExpressions"):
        invalid_rendered(errs, "spec.selector", gotypes.label_selector(selector),
                         "empty selector is invalid for daemonset")
    validate_pod_template(errs, spec.get("template"), "spec.template")
    validate_restart_always(errs, spec.get("template"), "spec.template", "DaemonSet")
    nonnegative(errs, spec.get("minReadySeconds"), "spec.minReadySeconds")
    _validate_ds_strategy(errs, as_dict(spec.get("updateStrategy")), "spec.updateStrategy")
    nonnegative(errs, spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    if old is not None:
        selector_immutable(errs, obj, old)
    return errs


def _validate_ds_strategy(errs: FieldErrors, strategy: Obj, path: str) -> None:
    kind = strategy.get("type") or ""
    if kind == "OnDelete":
        return
    if kind != "RollingUpdate":
        rendered = gotypes.strategy("apps.DaemonSetUpdateStrategy", "apps.RollingUpdateDaemonSet", strategy)
        unsupported_rendered(errs, path, rendered, ["RollingUpdate", "OnDelete"])
        return
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        errs.required(child(path, "rollingUpdate"))
        return
    rolling_path = child(path, "rollingUpdate")
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    validate_positive_int_or_percent(errs, unavailable, child(rolling_path, "maxUnavailable"))
    validate_positive_int_or_percent(errs, surge, child(rolling_path, "maxSurge"))
    not_more_than_100_percent(errs, unavailable, child(rolling_path, "maxUnavailable"))
    not_more_than_100_percent(errs, surge, child(rolling_path, "maxSurge"))
    has_unavailable, has_surge = int_or_percent_value(unavailable) != 0, int_or_percent_value(surge) != 0
    if has_unavailable and has_surge:
        invalid_rendered(errs, child(rolling_path, "maxSurge"), gotypes.int_or_string(surge),
                         "may not be set when maxUnavailable is non-zero")
    elif not has_unavailable and not has_surge:
        errs.required(child(rolling_path, "maxUnavailable"), "cannot be 0 when maxSurge is 0")


def validate_daemon_set_status(obj: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    status = as_dict(obj.get("status"))
    for name in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                 "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
                 "collisionCount"):
        nonnegative(errs, status.get(name), child("status", name))
    collision_count_kept(errs, status, as_dict(old.get("status")))
    return errs


# ----------------------------------------------------------------------------- ControllerRevision


def validate_controller_revision(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    if obj.get("data") is None:
        errs.required("data", "data is mandatory")
    nonnegative(errs, obj.get("revision"), "revision")
    if old is not None and not semantic_equal(obj.get("data"), old.get("data")):
        errs.invalid("data", obj.get("data"), "field is immutable")
    return errs
