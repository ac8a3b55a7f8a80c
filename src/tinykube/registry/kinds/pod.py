"""The Pod kind: its defaults (SetDefaults_Pod, the DefaultTolerationSeconds admission plugin)
and its create, update and status validation."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import (
    Obj,
    as_dict,
    as_list,
    child,
    default,
    dicts,
    index,
    is_create,
    is_int,
    semantic_equal,
)
from tinykube.registry.kinds.pod_defaults import default_pod_spec
from tinykube.registry.kinds.podspec import (
    validate_pod_annotations,
    validate_pod_spec,
    validate_tolerations,
)

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
MAX_INT32 = 2**31 - 1

UPDATABLE_FIELDS = ",".join((
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
))


# ----------------------------------------------------------------------------- defaults


def default_pod(pod: Obj) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    default_pod_spec(spec)
    for list_name in ("containers", "initContainers"):
        for _, ctr in dicts(spec.get(list_name)):
            _requests_from_limits(ctr)
    default(spec, "enableServiceLinks", True)
    if spec.get("hostNetwork") is True:
        for list_name in ("containers", "initContainers"):
            for _, ctr in dicts(spec.get(list_name)):
                for _, port in dicts(ctr.get("ports")):
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    add_default_tolerations(pod)
    if is_create(pod):
        admit_priority(spec)


# the built-in PriorityClasses; with no priorityClassName and no global default class, 0
SYSTEM_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}


def admit_priority(spec: Obj) -> None:
    """The Priority admission plugin on create: the pod's priority and preemptionPolicy come from
    its PriorityClass (only the built-in classes are known here)."""
    class_name = spec.get("priorityClassName") or ""
    if class_name and class_name not in SYSTEM_PRIORITIES:
        return
    default(spec, "priority", SYSTEM_PRIORITIES.get(class_name, 0))
    default(spec, "preemptionPolicy", "PreemptLowerPriority")


def _requests_from_limits(ctr: Obj) -> None:
    """A limit without a request makes the request equal to the limit (Pods only, not templates)."""
    resources = as_dict(ctr.get("resources"))
    limits = resources.get("limits")
    if not isinstance(limits, dict):
        return
    requests = resources.get("requests")
    if not isinstance(requests, dict):
        requests = resources["requests"] = {}
    for name, value in limits.items():
        requests.setdefault(name, value)


def add_default_tolerations(pod: Obj) -> None:
    """DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300s unless the pod
    already tolerates them (a toleration with that key, or no key, and effect NoExecute or none)."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    tolerations = spec.get("tolerations") if isinstance(spec.get("tolerations"), list) else []
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not any(_tolerates(t, taint) for _, t in dicts(tolerations)):
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec["tolerations"] = tolerations


def _tolerates(toleration: Obj, taint: str) -> bool:
    return toleration.get("key") in (taint, "", None) and toleration.get("effect") in ("NoExecute", "", None)


# ----------------------------------------------------------------------------- validation


def validate_pod(pod: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(pod.get("spec"))
    meta = as_dict(pod.get("metadata"))
    validate_pod_annotations(errs, meta.get("annotations"), spec, child("metadata", "annotations"))
    validate_pod_spec(errs, spec, "spec", is_pod=True)
    for list_name in ("containers", "initContainers"):
        for i, ctr in dicts(spec.get(list_name)):
            image = ctr.get("image") or ""
            if image != image.strip():
                errs.invalid(child(index(child("spec", list_name), i), "image"), image,
                             "must not have leading or trailing whitespace")
    if old is None:
        _validate_create(errs, spec)
    else:
        _validate_update(errs, spec, as_dict(old.get("spec")))
    return errs


def _validate_create(errs: FieldErrors, spec: Obj) -> None:
    if as_list(spec.get("ephemeralContainers")):
        errs.forbidden("spec.ephemeralContainers", "cannot be set on create")
    if spec.get("nodeName") and as_list(spec.get("schedulingGates")):
        errs.forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared")


def _validate_update(errs: FieldErrors, new: Obj, old: Obj) -> None:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, added tolerations and removed
    scheduling gates may change."""
    for list_name in ("containers", "initContainers"):
        new_list, old_list = as_list(new.get(list_name)), as_list(old.get(list_name))
        if len(new_list) != len(old_list):
            errs.forbidden(child("spec", list_name), "pod updates may not add or remove containers")
            return
        for i, ctr in dicts(new_list):
            if not ctr.get("image"):
                errs.required(child(index(child("spec", list_name), i), "image"))
    if not _validate_deadline_update(errs, new, old):
        return
    _validate_added_tolerations(errs, new.get("tolerations"), old.get("tolerations"))
    _validate_removed_gates(errs, new.get("schedulingGates"), old.get("schedulingGates"))
    munged = _munge_updatable(new, old)
    if not semantic_equal(munged, old):
        errs.forbidden("spec", f"pod updates may not change fields other than {UPDATABLE_FIELDS}\n"
                               f"{_spec_diff(old, munged)}")


def _validate_deadline_update(errs: FieldErrors, new: Obj, old: Obj) -> bool:
    """activeDeadlineSeconds may be added, or lowered; never removed. False stops validation."""
    new_value, old_value = new.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    if is_int(new_value):
        if not 0 <= new_value <= MAX_INT32:
            errs.invalid("spec.activeDeadlineSeconds", new_value, f"must be between 0 and {MAX_INT32}, inclusive")
            return False
        if is_int(old_value) and old_value < new_value:
            errs.invalid("spec.activeDeadlineSeconds", new_value, "must be less than or equal to previous value")
            return False
    elif old_value is not None:
        errs.invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value")
    return True


def _validate_added_tolerations(errs: FieldErrors, new: Any, old: Any) -> None:
    new_list = [t for _, t in dicts(new)]
    for existing in (t for _, t in dicts(old)):
        rest = {k: v for k, v in existing.items() if k != "tolerationSeconds"}
        if not any({k: v for k, v in t.items() if k != "tolerationSeconds"} == rest for t in new_list):
            errs.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
            return
    validate_tolerations(errs, new, "spec.tolerations")


def _validate_removed_gates(errs: FieldErrors, new: Any, old: Any) -> None:
    old_names = {g.get("name") for _, g in dicts(old)}
    for i, gate in dicts(new):
        if gate.get("name") not in old_names:
            errs.forbidden(child(index("spec.schedulingGates", i), "name"),
                           f"only deletion is allowed, but found new scheduling gate '{gate.get('name')}'")


def _munge_updatable(new: Obj, old: Obj) -> Obj:
    """The new spec with every field a pod update may change taken from the old spec."""
    munged = json_copy(new)
    for list_name in ("containers", "initContainers"):
        for (_, ctr), (_, old_ctr) in zip(dicts(munged.get(list_name)), dicts(old.get(list_name))):
            ctr["image"] = old_ctr.get("image")
    for name in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        if name in old:
            munged[name] = json_copy(old[name])
        else:
            munged.pop(name, None)
    old_grace, new_grace = old.get("terminationGracePeriodSeconds"), munged.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and new_grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _spec_diff(old: Obj, new: Obj) -> str:
    """A short account of what changed, in the spirit of upstream's cmp.Diff output."""
    lines = ["  core.PodSpec{"]
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            lines.append(f"-\t{name}: {checks.render(old.get(name))},")
            lines.append(f"+\t{name}: {checks.render(new.get(name))},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def validate_pod_status(pod: Obj, old: Obj) -> FieldErrors:
    """ValidatePodStatusUpdate, the checks that matter without a node agent's specifics."""
    errs = FieldErrors()
    if as_dict(pod.get("spec")).get("nodeName") != as_dict(old.get("spec")).get("nodeName"):
        errs.forbidden("status.nodeName", "may not be changed directly")
    status = as_dict(pod.get("status"))
    nominated = status.get("nominatedNodeName")
    if nominated and nominated != as_dict(old.get("status")).get("nominatedNodeName"):
        for msg in checks.dns1123_subdomain_messages(nominated):
            errs.invalid("status.nominatedNodeName", nominated, msg)
    for i, ip in dicts(status.get("podIPs")):
        checks.ip_address(errs, ip.get("ip") or "", index("status.podIPs", i))
    for i, condition in dicts(status.get("conditions")):
        kind = condition.get("type") or ""
        if kind not in ("PodScheduled", "Ready", "Initialized"):
            checks.qualified_name(errs, kind, child(index("metadata.conditions", i), "Type"))
    return errs
