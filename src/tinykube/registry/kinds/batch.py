"""batch/v1: Job and CronJob (batch/v1 defaults.go, batch/validation and the Job strategy's
generated selector)."""

from __future__ import annotations

import re
from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import checks, gotypes
from tinykube.registry.kinds.common import (
    Obj,
    as_dict,
    as_list,
    child,
    default,
    dicts,
    ensure_dict,
    immutable,
    invalid_rendered,
    is_create,
    is_int,
    key,
    nonnegative,
    semantic_equal,
    unsupported_rendered,
)
from tinykube.registry.kinds.controllers import check_template_labels, template_labels
from tinykube.registry.kinds.cron import check_schedule
from tinykube.registry.kinds.pod_defaults import default_pod_template
from tinykube.registry.kinds.podspec import validate_pod_template

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
MAX_INT32 = 2**31 - 1
COMPLETION_MODES = ["NonIndexed", "Indexed"]
REPLACEMENT_POLICIES = ["Failed", "TerminatingOrFailed"]
CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"]
MAX_PARALLELISM_INDEXED = 100000
CRONJOB_NAME_MAX = 52
_TIME_ZONE_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


# ----------------------------------------------------------------------------- defaults


def default_job(obj: Obj) -> None:
    spec = ensure_dict(obj, "spec")
    _default_job_spec(spec)
    if spec.get("manualSelector") is not True and is_create(obj):
        generate_selector(obj)
    labels = template_labels(spec.get("template"))
    meta = ensure_dict(obj, "metadata")
    if isinstance(labels, dict) and not meta.get("labels"):
        meta["labels"] = json_copy(labels)


def _default_job_spec(spec: Obj) -> None:
    """SetDefaults_Job, whose fields a CronJob's jobTemplate does not get."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    default(spec, "parallelism", 1)
    default(spec, "backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    default(spec, "completionMode", "NonIndexed")
    default(spec, "suspend", False)
    default(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") is not None
            else "TerminatingOrFailed")
    default(spec, "manualSelector", False)
    _default_template_and_policy(spec)


def _default_template_and_policy(spec: Obj) -> None:
    """What the generated defaulters do inside any JobSpec."""
    default_pod_template(spec.get("template"))
    for _, rule in dicts(as_dict(spec.get("podFailurePolicy")).get("rules")):
        for _, pattern in dicts(rule.get("onPodConditions")):
            if not pattern.get("status"):
                pattern["status"] = "True"


def generate_selector(job: Obj) -> None:
    """The Job strategy on create: label the template with the job's name and uid, and select the uid."""
    meta = as_dict(job.get("metadata"))
    spec = ensure_dict(job, "spec")
    template = ensure_dict(spec, "template")
    labels = ensure_dict(ensure_dict(template, "metadata"), "labels")
    for label in (LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL):
        labels.setdefault(label, meta.get("name") or "")
    for label in (LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL):
        labels.setdefault(label, meta.get("uid") or "")
    selector = ensure_dict(spec, "selector")
    ensure_dict(selector, "matchLabels").setdefault(CONTROLLER_UID_LABEL, meta.get("uid") or "")


def default_cron_job(obj: Obj) -> None:
    spec = ensure_dict(obj, "spec")
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    default(spec, "suspend", False)
    default(spec, "successfulJobsHistoryLimit", 3)
    default(spec, "failedJobsHistoryLimit", 1)
    job_spec = as_dict(spec.get("jobTemplate")).get("spec")
    if isinstance(job_spec, dict):
        _default_template_and_policy(job_spec)


# ----------------------------------------------------------------------------- Job


def validate_job(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(obj.get("spec"))
    prefixed = old is None or _has_prefixed_labels(as_dict(old.get("spec")))
    _validate_generated_selector(errs, obj, prefixed)
    validate_job_spec(errs, spec, "spec")
    selector = spec.get("selector")
    if selector is None:
        errs.required("spec.selector")
    else:
        errs.extend(checks.label_selector(selector, "spec.selector"))
    if checks.selector_matches(selector, {}) is not None:
        check_template_labels(errs, selector, spec.get("template"), "spec.template")
    _validate_indexed_hostnames(errs, obj, spec)
    if old is not None:
        _validate_job_update(errs, spec, as_dict(old.get("spec")), as_dict(old.get("status")))
    return errs


def _has_prefixed_labels(spec: Obj) -> bool:
    labels = as_dict(template_labels(spec.get("template")))
    return JOB_NAME_LABEL in labels and CONTROLLER_UID_LABEL in labels


def _validate_generated_selector(errs: FieldErrors, job: Obj, prefixed: bool) -> None:
    """A generated selector must select the uid, and the template must carry the generated labels."""
    spec = as_dict(job.get("spec"))
    if spec.get("manualSelector") is True or spec.get("selector") is None:
        return
    meta = as_dict(job.get("metadata"))
    uid, name = meta.get("uid") or "", meta.get("name") or ""
    if not uid:
        errs.required("metadata.uid")
    labels = template_labels(spec.get("template"))
    expected = {LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: name}
    if prefixed:
        expected.update({CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name})
    for label, value in ((LEGACY_CONTROLLER_UID_LABEL, uid), (LEGACY_JOB_NAME_LABEL, name),
                         (CONTROLLER_UID_LABEL, uid), (JOB_NAME_LABEL, name)):
        if label in expected:
            _has_label(errs, labels, label, value)
    if checks.selector_matches(spec.get("selector"), expected) is False:
        invalid_rendered(errs, "spec.selector", gotypes.label_selector(spec.get("selector")),
                         "`selector` not auto-generated")


def _has_label(errs: FieldErrors, labels: Any, label: str, expected: str) -> None:
    path = key("spec.template.metadata.labels", label)
    labels = as_dict(labels)
    if label not in labels:
        errs.required(path, f"must be '{expected}'")
    elif labels[label] != expected:
        invalid_rendered(errs, path, gotypes.string_map(labels), f"must be '{expected}'")


def validate_job_spec(errs: FieldErrors, spec: Obj, path: str) -> None:
    """validateJobSpec: counts, completion mode, policies, and a template that does not restart Always."""
    for name in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                 "ttlSecondsAfterFinished", "backoffLimitPerIndex"):
        nonnegative(errs, spec.get(name), child(path, name))
    _validate_per_index(errs, spec, path)
    _validate_completion_mode(errs, spec, path)
    _validate_replacement_policy(errs, spec, path)
    validate_pod_template(errs, spec.get("template"), child(path, "template"))
    _validate_job_restart_policy(errs, spec, path)


def _validate_per_index(errs: FieldErrors, spec: Obj, path: str) -> None:
    max_failed = spec.get("maxFailedIndexes")
    if max_failed is not None:
        nonnegative(errs, max_failed, child(path, "maxFailedIndexes"))
        if spec.get("backoffLimitPerIndex") is None:
            errs.required(child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified")
    if spec.get("completionMode") in (None, "NonIndexed"):
        for name in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(name) is not None:
                errs.invalid(child(path, name), spec[name], "requires indexed completion mode")


def _validate_completion_mode(errs: FieldErrors, spec: Obj, path: str) -> None:
    mode = spec.get("completionMode")
    if mode is None:
        return
    if mode not in COMPLETION_MODES:
        errs.unsupported(child(path, "completionMode"), mode, COMPLETION_MODES)
    if mode != "Indexed":
        return
    if spec.get("completions") is None:
        errs.required(child(path, "completions"), "when completion mode is Indexed")
    parallelism = spec.get("parallelism")
    if is_int(parallelism) and parallelism > MAX_PARALLELISM_INDEXED:
        errs.invalid(child(path, "parallelism"), parallelism,
                     f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed")


def _validate_replacement_policy(errs: FieldErrors, spec: Obj, path: str) -> None:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return
    if spec.get("podFailurePolicy") is not None:
        if policy != "Failed":
            errs.unsupported(child(path, "podReplacementPolicy"), policy, ["Failed"])
    elif policy not in REPLACEMENT_POLICIES:
        errs.unsupported(child(path, "podReplacementPolicy"), policy, REPLACEMENT_POLICIES)


def _validate_job_restart_policy(errs: FieldErrors, spec: Obj, path: str) -> None:
    policy = as_dict(as_dict(spec.get("template")).get("spec")).get("restartPolicy") or ""
    at = child(path, "template", "spec", "restartPolicy")
    if policy in ("", "Always"):
        errs.required(at, 'valid values: "OnFailure", "Never"')
    elif policy not in ("OnFailure", "Never"):
        errs.unsupported(at, policy, ["OnFailure", "Never"])
    elif spec.get("podFailurePolicy") is not None and policy != "Never":
        errs.invalid(at, policy, 'only "Never" is supported when podFailurePolicy is specified')


def _validate_indexed_hostnames(errs: FieldErrors, job: Obj, spec: Obj) -> None:
    completions = spec.get("completions")
    if spec.get("completionMode") != "Indexed" or not is_int(completions) or completions <= 0:
        return
    name = as_dict(job.get("metadata")).get("name") or ""
    hostname = f"{name}-{completions - 1}"
    if checks.dns1123_label_messages(hostname):
        errs.invalid("metadata.name", name, f"will not able to create pod with invalid DNS label: {hostname}")


def _validate_job_update(errs: FieldErrors, new: Obj, old: Obj, old_status: Obj) -> None:
    """ValidateJobSpecUpdate: what a Job may not change once created."""
    _validate_completions_update(errs, new, old)
    immutable(errs, new.get("selector"), old.get("selector"), "spec.selector", gotypes.label_selector)
    _validate_template_update(errs, new, old, old_status.get("startTime") is None)
    for name in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
        immutable(errs, new.get(name), old.get(name), child("spec", name))


def _validate_completions_update(errs: FieldErrors, new: Obj, old: Obj) -> None:
    """Completions are immutable, except that an Indexed Job may scale them with parallelism."""
    if new.get("completionMode") != "Indexed":
        immutable(errs, new.get("completions"), old.get("completions"), "spec.completions")
        return
    completions = new.get("completions")
    if completions == old.get("completions") or completions is None:
        return
    if completions != new.get("parallelism"):
        errs.invalid("spec.completions", completions, "can only be modified in tandem with spec.parallelism")


def _validate_template_update(errs: FieldErrors, new: Obj, old: Obj, never_started: bool) -> None:
    """The template is immutable, but a suspended Job that never ran may change scheduling directives."""
    template, old_template = as_dict(new.get("template")), json_copy(as_dict(old.get("template")))
    if old.get("suspend") is True and never_started:
        old_meta, new_meta = ensure_dict(old_template, "metadata"), as_dict(template.get("metadata"))
        for name in ("labels", "annotations"):
            _take(old_meta, new_meta, name)
        old_spec, new_spec = ensure_dict(old_template, "spec"), as_dict(template.get("spec"))
        for name in ("nodeSelector", "tolerations", "schedulingGates"):
            _take(old_spec, new_spec, name)
        _take_node_affinity(old_spec, new_spec)
    if not semantic_equal(template, old_template):
        invalid_rendered(errs, "spec.template", checks.render_struct("core.PodTemplateSpec", template),
                         "field is immutable")


def _take(target: Obj, source: Obj, name: str) -> None:
    if name in source:
        target[name] = json_copy(source[name])
    else:
        target.pop(name, None)


def _take_node_affinity(old_spec: Obj, new_spec: Obj) -> None:
    new_affinity = as_dict(new_spec.get("affinity"))
    old_affinity = ensure_dict(old_spec, "affinity")
    _take(old_affinity, new_affinity, "nodeAffinity")
    if not old_affinity:
        if "affinity" in new_spec:
            old_spec["affinity"] = json_copy(new_spec["affinity"])
        else:
            old_spec.pop("affinity")


def validate_job_status(obj: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    status = as_dict(obj.get("status"))
    for name in ("active", "succeeded", "failed", "ready", "terminating"):
        nonnegative(errs, status.get(name), child("status", name))
    seen: set[str] = set()
    uncounted = as_dict(status.get("uncountedTerminatedPods"))
    for bucket in ("succeeded", "failed"):
        for i, uid in enumerate(as_list(uncounted.get(bucket))):
            at = f"status.uncountedTerminatedPods.{bucket}[{i}]"
            if not uid:
                errs.invalid(at, uid or "", "must not be empty")
            elif uid in seen:
                errs.duplicate(at, uid)
            seen.add(uid)
    ready = status.get("ready")
    if is_int(ready) and ready > (status.get("active") if is_int(status.get("active")) else 0):
        errs.invalid("status.ready", ready, "cannot set more ready pods than active")
    return errs


# ----------------------------------------------------------------------------- CronJob


def validate_cron_job(obj: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(obj.get("spec"))
    old_spec = as_dict(old.get("spec")) if old is not None else None
    _validate_schedule(errs, spec, old_spec)
    nonnegative(errs, spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds")
    if old_spec is None or old_spec.get("timeZone") != spec.get("timeZone"):
        validate_time_zone(errs, spec.get("timeZone"), "spec.timeZone")
    policy = spec.get("concurrencyPolicy") or ""
    if not policy:
        errs.required("spec.concurrencyPolicy")
    elif policy not in CONCURRENCY_POLICIES:
        errs.unsupported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES)
    _validate_job_template(errs, as_dict(spec.get("jobTemplate")), "spec.jobTemplate")
    nonnegative(errs, spec.get("successfulJobsHistoryLimit"), "spec.successfulJobsHistoryLimit")
    nonnegative(errs, spec.get("failedJobsHistoryLimit"), "spec.failedJobsHistoryLimit")
    name = as_dict(obj.get("metadata")).get("name") or ""
    if old is None and len(name) > CRONJOB_NAME_MAX:
        errs.invalid("metadata.name", name, f"must be no more than {CRONJOB_NAME_MAX} characters")
    return errs


def _validate_schedule(errs: FieldErrors, spec: Obj, old_spec: Obj | None) -> None:
    schedule = spec.get("schedule") or ""
    if not schedule:
        errs.required("spec.schedule")
        return
    problem = check_schedule(schedule)
    if problem is not None:
        errs.invalid("spec.schedule", schedule, problem)
    allow_tz = old_spec is not None and "TZ" in (old_spec.get("schedule") or "")
    if allow_tz and "TZ" in schedule and spec.get("timeZone") is not None:
        errs.invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule")
    elif not allow_tz and "TZ" in schedule:
        errs.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")


def validate_time_zone(errs: FieldErrors, zone: Any, path: str) -> None:
    """validateTimeZone: an explicit IANA zone name that this machine's tz database knows."""
    if zone is None:
        return
    if zone == "":
        errs.invalid(path, zone, "timeZone must be nil or non-empty string")
        return
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART.fullmatch(part):
            errs.invalid(path, zone, f"unknown time zone {zone}")
            return
    if zone.lower() == "local":
        errs.invalid(path, zone, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
    if zone != "Local" and not _known_zone(zone):
        errs.invalid(path, zone, f"unknown time zone {zone}")


def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo
    if name == "UTC":
        return True
    try:
        ZoneInfo(name)
    except Exception:
        return False
    return True


def _validate_job_template(errs: FieldErrors, template: Obj, path: str) -> None:
    """ValidateJobTemplateSpec: a valid job spec whose selector the controller will generate."""
    spec = as_dict(template.get("spec"))
    spec_path = child(path, "spec")
    validate_job_spec(errs, spec, spec_path)
    if spec.get("selector") is not None:
        invalid_rendered(errs, child(spec_path, "selector"), gotypes.label_selector(spec["selector"]),
                         "`selector` will be auto-generated")
    if spec.get("manualSelector") is True:
        unsupported_rendered(errs, child(spec_path, "manualSelector"), "true", ["nil", "false"])
