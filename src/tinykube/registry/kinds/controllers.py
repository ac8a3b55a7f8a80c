"""What every pod controller shares: a selector that picks its template's pods, and a template
whose pods restart Always (ValidatePodTemplateSpecForReplicaSet and friends)."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks, gotypes
from tinykube.registry.kinds.common import (
    Obj, as_dict, child, immutable, invalid_rendered, is_int, nonnegative,
)
from tinykube.registry.kinds.podspec import validate_pod_template

MISMATCH = "`selector` does not match template `labels`"


def template_labels(template: Any) -> Any:
    return as_dict(as_dict(template).get("metadata")).get("labels")


def validate_selector(errs: FieldErrors, selector: Any, path: str, kind_word: str,
                      required: bool = True) -> None:
    """A required, valid, non-empty label selector (`empty selector is invalid for <kind>`)."""
    if selector is None:
        if required:
            errs.required(path)
        return
    errs.extend(checks.label_selector(selector, path))
    sel = as_dict(selector)
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        invalid_rendered(errs, path, gotypes.label_selector(selector), f"empty selector is invalid for {kind_word}")


def check_template_labels(errs: FieldErrors, selector: Any, template: Any, path: str) -> None:
    """The template's labels must be selected (a missing selector selects nothing; an empty one
    selects everything)."""
    labels = template_labels(template)
    if checks.selector_matches(selector, labels) is False:
        invalid_rendered(errs, child(path, "metadata", "labels"), gotypes.string_map(labels), MISMATCH)


def validate_controller_template(errs: FieldErrors, selector: Any, template: Any, path: str,
                                 kind: str) -> None:
    """ValidatePodTemplateSpecForReplicaSet: selected labels, a valid template, restart Always."""
    check_template_labels(errs, selector, template, path)
    validate_pod_template(errs, template, path)
    validate_restart_always(errs, template, path, kind)


def validate_restart_always(errs: FieldErrors, template: Any, path: str, kind: str) -> None:
    spec = as_dict(as_dict(template).get("spec"))
    policy = spec.get("restartPolicy") or ""
    if policy != "Always":
        errs.unsupported(child(path, "spec", "restartPolicy"), policy, ["Always"])
    if spec.get("activeDeadlineSeconds") is not None:
        errs.forbidden(child(path, "spec", "activeDeadlineSeconds"), f"activeDeadlineSeconds in {kind} is not Supported")


def selector_immutable(errs: FieldErrors, new: Obj, old: Obj) -> None:
    """apps/v1 forbids changing a controller's selector."""
    new_sel, old_sel = as_dict(new.get("spec")).get("selector"), as_dict(old.get("spec")).get("selector")
    immutable(errs, new_sel, old_sel, "spec.selector", gotypes.label_selector)


# ----------------------------------------------------------------------------- status


def validate_replica_counts(errs: FieldErrors, status: Obj, names: tuple[str, ...],
                            ready_name: str = "readyReplicas", total_message: str = "cannot be greater than status.replicas",
                            ready_message: str = "cannot be greater than readyReplicas") -> None:
    """Non-negative counters, none above status.replicas, available not above ready."""
    for name in ("replicas",) + names:
        nonnegative(errs, status.get(name), child("status", name))
    replicas = status.get("replicas") if is_int(status.get("replicas")) else 0
    for name in names:
        value = status.get(name)
        if name in ("observedGeneration", "collisionCount", "unavailableReplicas") or not is_int(value):
            continue
        if value > replicas:
            errs.invalid(child("status", name), value, total_message)
    available, ready = status.get("availableReplicas"), status.get(ready_name)
    if is_int(available) and available > (ready if is_int(ready) else 0) and "availableReplicas" in names:
        errs.invalid("status.availableReplicas", available, ready_message)


def collision_count_kept(errs: FieldErrors, status: Obj, old_status: Obj) -> None:
    old_count, new_count = old_status.get("collisionCount"), status.get("collisionCount")
    if is_int(old_count) and (not is_int(new_count) or new_count < old_count):
        errs.invalid("status.collisionCount", new_count if is_int(new_count) else 0, "cannot be decremented")
