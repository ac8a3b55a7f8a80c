"""The Job controller's pure rules: indexes, backoff, failure policies, counts and conditions."""

from __future__ import annotations

import pytest

from tinykube.clock import timestamp_of
from tinykube.controllers import jobutil as ju


@pytest.mark.parametrize("indexes, text", [
    (set(), ""),
    ({0}, "0"),
    ({0, 1, 2}, "0-2"),
    ({0, 1, 2, 5}, "0-2,5"),
    ({1, 3, 4, 5, 7, 9, 10}, "1,3-5,7,9-10"),
    ([3, 1, 2, 2], "1-3"),
])
def test_format_indexes(indexes, text):
    assert ju.format_indexes(indexes) == text


@pytest.mark.parametrize("text, completions, indexes", [
    ("", 5, set()),
    (None, 5, set()),
    ("0-2,5", 10, {0, 1, 2, 5}),
    ("0-2,5", 4, {0, 1, 2}),  # scaled down: indexes past completions are dropped
    ("3-9", 5, {3, 4}),
    ("1,x,4", 5, {1, 4}),  # an unreadable part is skipped
    ("5-3", 9, set()),
])
def test_parse_indexes(text, completions, indexes):
    assert ju.parse_indexes(text, completions) == indexes


@pytest.mark.parametrize("text", ["0", "0-2,5", "1,3-5,7,9-10"])
def test_indexes_round_trip(text):
    assert ju.format_indexes(ju.parse_indexes(text, 100)) == text


@pytest.mark.parametrize("succeeded, active, count, completions, want", [
    (set(), [], 3, 5, [0, 1, 2]),
    ({0, 2}, [1], 2, 5, [3, 4]),
    ({0, 1}, [], 5, 3, [2]),
    (set(), [0, 1, 2], 1, 3, []),
])
def test_first_pending_indexes(succeeded, active, count, completions, want):
    assert ju.first_pending_indexes(succeeded, active, count, completions) == want


@pytest.mark.parametrize("name, index, want", [
    ("pi", 3, "pi-3-"),
    ("x" * 70, 12, "x" * 59 + "-12-"),
])
def test_indexed_generate_name(name, index, want):
    assert ju.indexed_generate_name(name, index) == want


def test_index_env_added_once():
    spec = {"containers": [{"name": "a"}, {"name": "b", "env": [{"name": "JOB_COMPLETION_INDEX", "value": "x"}]}],
            "initContainers": [{"name": "i"}]}
    ju.add_index_env(spec)
    ju.add_index_env(spec)
    assert [e["name"] for e in spec["containers"][0]["env"]] == ["JOB_COMPLETION_INDEX"]
    assert spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    assert spec["containers"][1]["env"] == [{"name": "JOB_COMPLETION_INDEX", "value": "x"}]
    assert len(spec["initContainers"][0]["env"]) == 1


@pytest.mark.parametrize("failures, delay", [
    (0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (6, 320), (7, 600), (8, 600), (100, 600),
])
def test_backoff_delay(failures, delay):
    assert ju.backoff_delay(failures) == delay


@pytest.mark.parametrize("record, now, remaining", [
    (ju.BackoffRecord(0, None), 100, 0),
    (ju.BackoffRecord(1, 100), 100, 10),
    (ju.BackoffRecord(1, 100), 104, 6),
    (ju.BackoffRecord(1, 100), 111, 0),
    (ju.BackoffRecord(3, 100), 110, 30),
    (ju.BackoffRecord(20, 100), 100, 600),
])
def test_backoff_remaining(record, now, remaining):
    assert ju.backoff_remaining(record, now) == remaining


@pytest.mark.parametrize("old, succeeded, failed, want", [
    (ju.BackoffRecord(), [], [], ju.BackoffRecord()),
    (ju.BackoffRecord(), [], [5, 3], ju.BackoffRecord(2, 5)),
    (ju.BackoffRecord(2, 5), [], [9], ju.BackoffRecord(3, 9)),
    (ju.BackoffRecord(2, 5), [10], [], ju.BackoffRecord(0, None)),
    (ju.BackoffRecord(2, 5), [10], [8, 12, 11], ju.BackoffRecord(2, 12)),  # only failures after the success
    (ju.BackoffRecord(2, 5), [10], [10], ju.BackoffRecord(0, None)),
])
def test_next_backoff_record(old, succeeded, failed, want):
    assert ju.next_backoff_record(old, succeeded, failed) == want


def _pod(phase="Failed", containers=(), conditions=(), deleting=False, init=(), **meta):
    pod = {"metadata": {"name": "p", "namespace": "ns", **meta},
           "status": {"phase": phase, "conditions": list(conditions),
                      "containerStatuses": [{"name": n, "state": {"terminated": {"exitCode": c}} if c is not None
                                             else {"running": {}}} for n, c in containers],
                      "initContainerStatuses": [{"name": n, "state": {"terminated": {"exitCode": c}}}
                                                for n, c in init]}}
    if deleting:
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:10Z"
    return pod


def _rule(action, codes=None, operator="In", container=None, conditions=None):
    rule = {"action": action}
    if codes is not None:
        rule["onExitCodes"] = {"operator": operator, "values": codes}
        if container:
            rule["onExitCodes"]["containerName"] = container
    if conditions is not None:
        rule["onPodConditions"] = [{"type": t, "status": "True"} for t in conditions]
    return rule


FAILJOB_42 = "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 0"


@pytest.mark.parametrize("rules, pod, want", [
    (None, _pod(containers=[("main", 1)]), (None, True, None)),
    ([_rule("FailJob", [42])], _pod(containers=[("main", 42)]), (FAILJOB_42, True, "FailJob")),
    ([_rule("FailJob", [42])], _pod(containers=[("main", 1)]), (None, True, None)),
    ([_rule("FailJob", [42], container="other")], _pod(containers=[("main", 42)]), (None, True, None)),
    ([_rule("FailJob", [42], container="main")], _pod(containers=[("side", 0), ("main", 42)]),
     (FAILJOB_42, True, "FailJob")),
    ([_rule("Ignore", [1, 2]), _rule("FailJob", [42])], _pod(containers=[("main", 2)]), (None, False, "Ignore")),
    ([_rule("Count", [5], "NotIn")], _pod(containers=[("main", 3)]), (None, True, "Count")),
    ([_rule("Ignore", [3], "NotIn")], _pod(containers=[("main", 3)]), (None, True, None)),
    ([_rule("Ignore", [0], "NotIn")], _pod(containers=[("main", 0)]), (None, True, None)),  # 0 never matches
    ([_rule("Ignore", [1])], _pod(containers=[("main", None)]), (None, True, None)),  # still running
    ([_rule("FailJob", [7])], _pod(containers=[("main", None)], init=[("setup", 7)]),
     ("Container setup for pod ns/p failed with exit code 7 matching FailJob rule at index 0", True, "FailJob")),
    ([_rule("Count", [9]), _rule("Ignore", conditions=["DisruptionTarget"])],
     _pod(containers=[("main", 137)], conditions=[{"type": "DisruptionTarget", "status": "True"}]),
     (None, False, "Ignore")),
    ([_rule("FailJob", conditions=["DisruptionTarget"])],
     _pod(conditions=[{"type": "DisruptionTarget", "status": "True"}]),
     ("Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0", True, "FailJob")),
    ([_rule("Ignore", conditions=["DisruptionTarget"])],
     _pod(conditions=[{"type": "DisruptionTarget", "status": "False"}]), (None, True, None)),
    ([_rule("FailIndex", [3])], _pod(containers=[("main", 3)]), (None, True, "FailIndex")),
])
def test_match_pod_failure_policy(rules, pod, want):
    policy = {"rules": rules} if rules is not None else None
    assert ju.match_pod_failure_policy(policy, pod) == want


@pytest.mark.parametrize("pod, only_failed, want", [
    (_pod("Failed"), False, True),
    (_pod("Failed"), True, True),
    (_pod("Running", deleting=True), False, True),  # deleted before finishing counts as failed
    (_pod("Running", deleting=True), True, False),  # ... unless only failed pods are replaced
    (_pod("Succeeded", deleting=True), False, False),
    (_pod("Running"), False, False),
])
def test_is_pod_failed(pod, only_failed, want):
    assert ju.is_pod_failed(pod, only_failed) is want


def test_finish_time_order():
    t = "2026-01-01T00:00:{:02d}Z"
    finished = {"metadata": {"creationTimestamp": t.format(1)}, "status": {"containerStatuses": [
        {"state": {"terminated": {"finishedAt": t.format(5)}}}, {"state": {"terminated": {"finishedAt": t.format(7)}}}],
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": t.format(9)}]}}
    assert ju.finish_time(finished) == timestamp_of(t.format(7))
    finished["status"]["containerStatuses"][1]["state"] = {"running": {}}
    assert ju.finish_time(finished) == timestamp_of(t.format(9))
    finished["status"]["conditions"] = []
    finished["metadata"].update(deletionTimestamp=t.format(30), deletionGracePeriodSeconds=10)
    assert ju.finish_time(finished) == timestamp_of(t.format(20))
    del finished["metadata"]["deletionTimestamp"]
    assert ju.finish_time(finished) == timestamp_of(t.format(1))


@pytest.mark.parametrize("completions, parallelism, succeeded, active, want", [
    (10, 1, 0, 0, 1),
    (10, 5, 7, 2, 3),
    (10, 5, 10, 0, 0),
    (3, 5, 0, 0, 3),
    (None, 4, 0, 1, 4),  # work queue: parallelism until the first success
    (None, 4, 1, 3, 3),  # ... then only those still running
    (2, 0, 0, 0, 0),
])
def test_wanted_active(completions, parallelism, succeeded, active, want):
    assert ju.wanted_active(completions, parallelism, succeeded, active) == want


@pytest.mark.parametrize("completions, succeeded, active, want", [
    (3, 3, 0, True), (3, 3, 1, False), (3, 2, 0, False), (3, 4, 0, True),
    (None, 1, 0, True), (None, 1, 2, False), (None, 0, 0, False),
])
def test_is_complete(completions, succeeded, active, want):
    assert ju.is_complete(completions, succeeded, active) is want


@pytest.mark.parametrize("failed, limit, restarts, deadline, start, suspended, now, want", [
    (0, 6, False, None, 0, False, 100, None),
    (6, 6, False, None, 0, False, 100, None),
    (7, 6, False, None, 0, False, 100, (ju.REASON_BACKOFF, ju.MESSAGE_BACKOFF)),
    (0, 6, True, None, 0, False, 100, (ju.REASON_BACKOFF, ju.MESSAGE_BACKOFF)),
    (0, 6, False, 50, 0, False, 49, None),
    (0, 6, False, 50, 0, False, 50, (ju.REASON_DEADLINE, ju.MESSAGE_DEADLINE)),
    (0, 6, False, 50, 0, True, 500, None),  # a suspended Job's deadline does not run
    (0, 6, False, 50, None, False, 500, None),
    (9, 6, False, 50, 0, False, 500, (ju.REASON_BACKOFF, ju.MESSAGE_BACKOFF)),  # backoff is checked first
])
def test_failure_verdict(failed, limit, restarts, deadline, start, suspended, now, want):
    assert ju.failure_verdict(failed, limit, restarts, deadline, start, suspended, now) == want


def _running(restarts):
    return {"metadata": {}, "status": {"phase": "Running", "containerStatuses": [{"restartCount": r} for r in restarts]}}


@pytest.mark.parametrize("policy, limit, pods, want", [
    ("Never", 0, [_running([3])], False),
    ("OnFailure", 0, [_running([0])], False),
    ("OnFailure", 0, [_running([1])], True),
    ("OnFailure", 3, [_running([1]), _running([1])], False),
    ("OnFailure", 3, [_running([1, 1]), _running([1])], True),
    ("OnFailure", 1, [{"metadata": {}, "status": {"phase": "Failed", "containerStatuses": [{"restartCount": 5}]}}],
     False),
])
def test_past_backoff_limit_on_failure(policy, limit, pods, want):
    assert ju.past_backoff_limit_on_failure(policy, limit, pods) is want


@pytest.mark.parametrize("conditions, kind, status, reason, changed, count", [
    ([], "Suspended", "False", "JobResumed", False, 0),  # a new False condition is not added
    ([], "Suspended", "True", "JobSuspended", True, 1),
    ([{"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"}],
     "Suspended", "True", "JobSuspended", False, 1),
    ([{"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"}],
     "Suspended", "False", "JobResumed", True, 1),
])
def test_ensure_condition(conditions, kind, status, reason, changed, count):
    message = "Job suspended" if reason == "JobSuspended" else "Job resumed"
    out, did = ju.ensure_condition(conditions, kind, status, reason, message, 0)
    assert did is changed and len(out) == count
    if count:
        assert out[0]["status"] == status and out[0]["reason"] == reason


def test_finished_and_finish_time():
    job = {"status": {"conditions": [
        {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": "2026-01-01T00:00:01Z"},
        {"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T00:00:02Z"}]}}
    assert ju.is_finished(job) and ju.finished_at(job) == timestamp_of("2026-01-01T00:00:02Z")
    assert not ju.is_finished({"status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}})
