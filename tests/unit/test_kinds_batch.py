"""batch/v1 Jobs and CronJobs: defaults, the generated selector, schedules, validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.registry import kinds
from tinykube.registry.kinds.cron import check_schedule

UID = "8f3a4c2e-1b7d-4e9a-9c55-0d6e2b1a7f44"

# `kubectl create job pi --image=perl:5.34 -- perl -Mbignum=bpi -wle 'print bpi(20)'`
JOB: dict[str, Any] = {
    "apiVersion": "batch/v1", "kind": "Job",
    "metadata": {"name": "pi", "namespace": "default", "uid": UID},
    "spec": {"template": {"metadata": {}, "spec": {
        "containers": [{"name": "pi", "image": "perl:5.34", "resources": {},
                        "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(20)"]}],
        "restartPolicy": "Never"}}},
}

GENERATED_LABELS = {"batch.kubernetes.io/controller-uid": UID, "batch.kubernetes.io/job-name": "pi",
                    "controller-uid": UID, "job-name": "pi"}

# `kubectl create cronjob hello --image=busybox --schedule="*/1 * * * *" -- echo hi`
CRONJOB: dict[str, Any] = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "hello", "namespace": "default", "uid": UID},
    "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"metadata": {"name": "hello"}, "spec": {"template": {
        "metadata": {}, "spec": {"containers": [{"name": "hello", "image": "busybox", "resources": {},
                                                 "command": ["echo", "hi"]}],
                                 "restartPolicy": "OnFailure"}}}}},
}


def defaulted(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    kinds.apply_defaults("batch", kind, out)
    return out


def causes(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in kinds.validate("batch", kind, obj, old)]


def changed(obj: dict[str, Any], spec: dict[str, Any] | None = None, pod: dict[str, Any] | None = None,
            meta: dict[str, Any] | None = None) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["spec"].update(spec or {})
    out["metadata"].update(meta or {})
    template = out["spec"]["jobTemplate"]["spec"]["template"] if out["kind"] == "CronJob" else out["spec"]["template"]
    template["spec"].update(pod or {})
    return out


def test_job_defaults_and_generated_selector() -> None:
    job = defaulted("Job", JOB)
    assert job["metadata"]["labels"] == GENERATED_LABELS
    spec = {k: v for k, v in job["spec"].items() if k != "template"}
    assert spec == {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1, "manualSelector": False,
                    "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed", "suspend": False,
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}}
    assert job["spec"]["template"]["metadata"] == {"labels": GENERATED_LABELS}
    assert job["spec"]["template"]["spec"] == {
        "containers": [{"name": "pi", "image": "perl:5.34", "imagePullPolicy": "IfNotPresent", "resources": {},
                        "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(20)"],
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Never", "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30}
    assert defaulted("Job", job) == job
    assert causes("Job", job) == []


@pytest.mark.parametrize("spec, expected", [
    ({"parallelism": 5}, {"parallelism": 5, "completions": None}),
    ({"completions": 3}, {"parallelism": 1, "completions": 3}),
    ({"podFailurePolicy": {"rules": [{"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget"}]}]}},
     {"podReplacementPolicy": "Failed",
      "podFailurePolicy": {"rules": [{"action": "FailJob",
                                      "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]}}),
    ({"completionMode": "Indexed", "completions": 4, "backoffLimitPerIndex": 1},
     {"backoffLimit": 2147483647}),
])
def test_job_spec_defaults(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    job = defaulted("Job", changed(JOB, spec))
    for name, value in expected.items():
        assert job["spec"].get(name) == value, name


def test_manual_selector_keeps_the_users_selector_and_labels() -> None:
    job = defaulted("Job", changed(JOB, {"manualSelector": True, "selector": {"matchLabels": {"app": "pi"}},
                                         "template": {"metadata": {"labels": {"app": "pi"}},
                                                      "spec": JOB["spec"]["template"]["spec"]}}))
    assert job["spec"]["selector"] == {"matchLabels": {"app": "pi"}}
    assert job["metadata"]["labels"] == {"app": "pi"}
    assert causes("Job", job) == []


def test_job_labels_given_by_the_user_stay() -> None:
    job = defaulted("Job", changed(JOB, meta={"labels": {"team": "a"}}))
    assert job["metadata"]["labels"] == {"team": "a"}


VALID_JOB = defaulted("Job", JOB)


@pytest.mark.parametrize("job, expected", [
    (changed(VALID_JOB, pod={"restartPolicy": "Always"}),
     [("spec.template.spec.restartPolicy", 'Required value: valid values: "OnFailure", "Never"')]),
    # like upstream: once as a pod's restart policy, once as a Job's
    (changed(VALID_JOB, pod={"restartPolicy": "Sometimes"}),
     [("spec.template.spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "Always", '
                                           '"OnFailure", "Never"'),
      ("spec.template.spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "OnFailure", '
                                           '"Never"')]),
    (changed(VALID_JOB, {"parallelism": -1, "backoffLimit": -2}),
     [("spec.parallelism", "Invalid value: -1: must be greater than or equal to 0"),
      ("spec.backoffLimit", "Invalid value: -2: must be greater than or equal to 0")]),
    (changed(VALID_JOB, {"completionMode": "Sometimes"}),
     [("spec.completionMode", 'Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"')]),
    (changed(VALID_JOB, {"podReplacementPolicy": "Never"}),
     [("spec.podReplacementPolicy", 'Unsupported value: "Never": supported values: "Failed", '
                                    '"TerminatingOrFailed"')]),
])
def test_job_validation(job: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("Job", job) == expected


def test_job_with_conflicting_generated_label() -> None:
    job = copy.deepcopy(JOB)
    job["spec"]["template"]["metadata"] = {"labels": {"controller-uid": "someone-else"}}
    job = defaulted("Job", job)
    labels = job["spec"]["template"]["metadata"]["labels"]
    rendered = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
    assert causes("Job", job) == [
        ("spec.template.metadata.labels[controller-uid]", f"Invalid value: {rendered}: must be '{UID}'")]


def test_manual_selector_without_selector() -> None:
    job = defaulted("Job", changed(JOB, {"manualSelector": True}))
    assert causes("Job", job) == [
        ("spec.selector", "Required value"),
        ("spec.template.metadata.labels",
         "Invalid value: map[string]string(nil): `selector` does not match template `labels`")]


@pytest.mark.parametrize("new, expected_fields", [
    (changed(VALID_JOB, {"parallelism": 3}), []),
    (changed(VALID_JOB, {"completions": 2}), ["spec.completions"]),
    (changed(VALID_JOB, pod={"containers": [{**VALID_JOB["spec"]["template"]["spec"]["containers"][0],
                                             "image": "perl:5.36"}]}), ["spec.template"]),
    (changed(VALID_JOB, {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": UID, "x": "y"}}}),
     ["spec.selector", "spec.template.metadata.labels", "spec.selector"]),
])
def test_job_immutable_fields(new: dict[str, Any], expected_fields: list[str]) -> None:
    found = causes("Job", new, VALID_JOB)
    assert [f for f, _ in found] == expected_fields
    assert all(m.endswith(("field is immutable", "`selector` not auto-generated",
                           "`selector` does not match template `labels`")) for _, m in found)


def test_suspended_job_may_change_scheduling_directives() -> None:
    old = changed(VALID_JOB, {"suspend": True})
    new = changed(old, pod={"nodeSelector": {"disk": "ssd"}})
    assert causes("Job", new, old) == []
    running = changed(VALID_JOB, {"suspend": False})
    assert [f for f, _ in causes("Job", changed(running, pod={"nodeSelector": {"disk": "ssd"}}), running)] == \
        ["spec.template"]


def test_cronjob_defaults() -> None:
    cron = defaulted("CronJob", CRONJOB)
    assert {k: v for k, v in cron["spec"].items() if k != "jobTemplate"} == {
        "schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}
    job_spec = cron["spec"]["jobTemplate"]["spec"]
    assert set(job_spec) == {"template"}  # SetDefaults_Job does not apply to a template
    assert job_spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert job_spec["template"]["spec"]["schedulerName"] == "default-scheduler"
    assert defaulted("CronJob", cron) == cron
    assert causes("CronJob", cron) == []


VALID_CRON = defaulted("CronJob", CRONJOB)


@pytest.mark.parametrize("cron, expected", [
    (changed(VALID_CRON, {"schedule": "x"}),
     [("spec.schedule", 'Invalid value: "x": expected exactly 5 fields, found 1: [x]')]),
    (changed(VALID_CRON, {"schedule": "61 * * * *"}),
     [("spec.schedule", 'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61')]),
    (changed(VALID_CRON, {"schedule": "@fortnightly"}),
     [("spec.schedule", 'Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly')]),
    (changed(VALID_CRON, {"schedule": ""}), [("spec.schedule", "Required value")]),
    (changed(VALID_CRON, {"schedule": "TZ=UTC 0 * * * *"}),
     [("spec.schedule", 'Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone '
                        'field instead')]),
    (changed(VALID_CRON, {"timeZone": "Mars/Olympus_Mons"}),
     [("spec.timeZone", 'Invalid value: "Mars/Olympus_Mons": unknown time zone Mars/Olympus_Mons')]),
    (changed(VALID_CRON, {"timeZone": ""}),
     [("spec.timeZone", 'Invalid value: "": timeZone must be nil or non-empty string')]),
    (changed(VALID_CRON, {"timeZone": "Local"}),
     [("spec.timeZone", 'Invalid value: "Local": timeZone must be an explicit time zone as defined in '
                        'https://www.iana.org/time-zones')]),
    (changed(VALID_CRON, {"timeZone": "Europe/Paris", "schedule": "@hourly"}), []),
    (changed(VALID_CRON, {"concurrencyPolicy": "Sometimes"}),
     [("spec.concurrencyPolicy", 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"')]),
    (changed(VALID_CRON, pod={"restartPolicy": "Always"}),
     [("spec.jobTemplate.spec.template.spec.restartPolicy", 'Required value: valid values: "OnFailure", "Never"')]),
    (changed(VALID_CRON, meta={"name": "c" * 53}),
     [("metadata.name", f'Invalid value: "{"c" * 53}": must be no more than 52 characters')]),
])
def test_cronjob_validation(cron: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("CronJob", cron) == expected


def test_cronjob_template_selector_is_generated_later() -> None:
    cron = copy.deepcopy(VALID_CRON)
    cron["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"a": "b"}}
    assert causes("CronJob", cron) == [(
        "spec.jobTemplate.spec.selector",
        'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated")]


@pytest.mark.parametrize("schedule, problem", [
    ("*/5 * * * *", None), ("0 0 * * MON-FRI", None), ("0 12 1 jan,jul *", None), ("@yearly", None),
    ("@every 1h30m", None), ("0 0 ? * *", None),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
    ("0 24 * * *", "end of range (24) above maximum (23): 24"),
    ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("*/2/3 * * * *", "too many slashes: */2/3"),
    ("a * * * *", 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'),
    ("0 0 * foo *", 'failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax'),
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("@every 5y", 'failed to parse duration @every 5y: time: unknown unit "y" in duration "5y"'),
])
def test_cron_schedules(schedule: str, problem: str | None) -> None:
    assert check_schedule(schedule) == problem
