"""Pure Job arithmetic: indexes, pod-failure backoff, failure policies, counts and conditions.

Upstream's semantics (pkg/controller/job: job_controller.go, backoff_utils.go,
indexed_job_utils.go, pod_failure_policy.go) on plain JSON objects, so each rule is a
function a unit table can check without a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from tinykube.clock import format_time, timestamp_of

Obj = dict[str, Any]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
CONTROLLER_NAME = "kubernetes.io/job-controller"
DEFAULT_POD_FAILURE_BACKOFF = 10.0  # DefaultJobPodFailureBackOff
MAX_POD_FAILURE_BACKOFF = 600.0  # MaxJobPodFailureBackOff
MAX_UNCOUNTED_PODS = 500
MAX_CREATE_DELETE_PER_SYNC = 500
NAME_MAX = 63

COMPLETE, FAILED, SUSPENDED = "Complete", "Failed", "Suspended"
FAILURE_TARGET, SUCCESS_CRITERIA_MET = "FailureTarget", "SuccessCriteriaMet"
REASON_BACKOFF = "BackoffLimitExceeded"
MESSAGE_BACKOFF = "Job has reached the specified backoff limit"
REASON_DEADLINE = "DeadlineExceeded"
MESSAGE_DEADLINE = "Job was active longer than specified deadline"
REASON_POLICY = "PodFailurePolicy"
REASON_COMPLETIONS = "CompletionsReached"
MESSAGE_COMPLETIONS = "Reached expected number of succeeded pods"


# ----------------------------------------------------------------------------- indexes


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """"1,3-5" -> {1, 3, 4, 5}, keeping only indexes below `completions`; bad parts are skipped."""
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        first, sep, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if sep else lo
        except ValueError:
            continue
        if lo < 0 or hi < lo:
            continue
        out.update(range(lo, min(hi, completions - 1) + 1))
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    """{0, 1, 2, 5} -> "0-2,5" (upstream's orderedIntervals.String)."""
    parts: list[str] = []
    ordered = sorted(set(indexes))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def completion_index(pod: Obj) -> int | None:
    """The pod's index from its annotation (the label is only a convenience), or None."""
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(COMPLETION_INDEX)
    if raw is None:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 and str(value) == str(raw).strip() else None


def valid_index(pod: Obj, completions: int) -> int | None:
    ix = completion_index(pod)
    return ix if ix is not None and ix < completions else None


def first_pending_indexes(succeeded: set[int], active: Iterable[int], count: int, completions: int) -> list[int]:
    """The lowest `count` indexes neither succeeded nor held by an active pod."""
    taken = set(succeeded) | set(active)
    out: list[int] = []
    for ix in range(completions):
        if len(out) >= count:
            break
        if ix not in taken:
            out.append(ix)
    return out


def indexed_generate_name(job_name: str, index: int) -> str:
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > NAME_MAX:
        prefix = job_name[:NAME_MAX - len(suffix)] + suffix
    return prefix


def add_index_env(pod_spec: Obj) -> None:
    """JOB_COMPLETION_INDEX from the index annotation, in every container that lacks it."""
    for kind in ("initContainers", "containers"):
        for ctr in pod_spec.get(kind) or []:
            env = ctr.setdefault("env", [])
            if any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                continue
            env.append({"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
                "apiVersion": "v1", "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}})


# ----------------------------------------------------------------------------- pods



def phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def deleting(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def is_active(pod: Obj) -> bool:
    return phase(pod) not in ("Succeeded", "Failed") and not deleting(pod)


def is_terminating(pod: Obj) -> bool:
    return deleting(pod) and phase(pod) not in ("Succeeded", "Failed")


def has_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (pod["metadata"].get("finalizers") or [])


def is_pod_failed(pod: Obj, only_replace_failed: bool) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before it could succeed."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed:
        return False
    return deleting(pod) and phase(pod) != "Succeeded"


def finish_time(pod: Obj) -> float:
    """When the pod finished: its containers' last finishedAt, else Ready=False's transition,
    else deletion minus grace, else creation (upstream getFinishedTime)."""
    status = pod.get("status") or {}
    latest: float | None = None
    statuses = status.get("containerStatuses") or []
    for cs in statuses:
        at = timestamp_of(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if at is None:
            latest = None
            break
        latest = at if latest is None else max(latest, at)
    if statuses and latest is not None:
        return latest
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "False":
            at = timestamp_of(cond.get("lastTransitionTime"))
            if at is not None:
                return at
    deleted = timestamp_of(pod["metadata"].get("deletionTimestamp"))
    if deleted is not None:
        return deleted - float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
    return timestamp_of(pod["metadata"].get("creationTimestamp")) or 0.0


def restart_sum(pods: Iterable[Obj]) -> int:
    total = 0
    for pod in pods:
        if phase(pod) in ("Running", "Pending"):
            status = pod.get("status") or {}
            for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                total += int(cs.get("restartCount") or 0)
    return total


def past_backoff_limit_on_failure(restart_policy: str, backoff_limit: int, pods: Iterable[Obj]) -> bool:
    """restartPolicy OnFailure: container restarts of running pods count against backoffLimit."""
    if restart_policy != "OnFailure":
        return False
    restarts = restart_sum(pods)
    return restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit


# ----------------------------------------------------------------------------- backoff


@dataclass(frozen=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: float | None = None


def next_backoff_record(old: BackoffRecord, succeeded_finish: list[float], failed_finish: list[float]) -> BackoffRecord:
    """Fold newly finished pods (their finish times) into the consecutive-failure record."""
    failed = sorted(failed_finish)
    if not succeeded_finish:
        if not failed:
            return old
        return BackoffRecord(old.failures_after_last_success + len(failed), failed[-1])
    last_success = max(succeeded_finish)
    after = [t for t in failed if t > last_success]
    return BackoffRecord(len(after), after[-1] if after else None)


def backoff_delay(failures: int, base: float = DEFAULT_POD_FAILURE_BACKOFF,
                  cap: float = MAX_POD_FAILURE_BACKOFF) -> float:
    """10 s for the first consecutive failure, doubling, at most `cap`; 0 without failures."""
    if failures <= 0:
        return 0.0
    delay = base
    for _ in range(1, failures):
        delay *= 2
        if delay >= cap:
            return cap
    return min(delay, cap)


def backoff_remaining(record: BackoffRecord, now: float, base: float = DEFAULT_POD_FAILURE_BACKOFF,
                      cap: float = MAX_POD_FAILURE_BACKOFF) -> float:
    if record.failures_after_last_success <= 0 or record.last_failure_time is None:
        return 0.0
    delay = backoff_delay(record.failures_after_last_success, base, cap)
    elapsed = now - record.last_failure_time
    return 0.0 if delay < elapsed else delay - elapsed


# ----------------------------------------------------------------------------- pod failure policy


def _exit_code_matches(code: int, requirement: Obj) -> bool:
    values = [int(v) for v in requirement.get("values") or []]
    operator = requirement.get("operator")
    if operator == "In":
        return code in values
    if operator == "NotIn":
        return code not in values
    return False


def _matching_container(statuses: list[Obj], requirement: Obj) -> Obj | None:
    name = requirement.get("containerName")
    for cs in statuses:
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated is None:
            continue
        if name and name != cs.get("name"):
            continue
        code = int(terminated.get("exitCode") or 0)
        if code != 0 and _exit_code_matches(code, requirement):
            return cs
    return None


def _matching_condition(conditions: list[Obj], patterns: list[Obj]) -> Obj | None:
    for cond in conditions:
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status") == (pattern.get("status") or "True"):
                return cond
    return None


def match_pod_failure_policy(policy: Obj | None, pod: Obj) -> tuple[str | None, bool, str | None]:
    """(FailJob message or None, whether the failure counts toward backoffLimit, matched action)."""
    if not policy:
        return None, True, None
    status = pod.get("status") or {}
    meta = pod["metadata"]
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            cs = _matching_container(status.get("containerStatuses") or [], rule["onExitCodes"]) or \
                _matching_container(status.get("initContainerStatuses") or [], rule["onExitCodes"])
            if cs is None:
                continue
            code = int(cs["state"]["terminated"].get("exitCode") or 0)
            message = (f"Container {cs.get('name')} for pod {meta.get('namespace')}/{meta.get('name')} "
                       f"failed with exit code {code} matching {action} rule at index {index}")
        elif rule.get("onPodConditions") is not None:
            cond = _matching_condition(status.get("conditions") or [], rule["onPodConditions"])
            if cond is None:
                continue
            message = (f"Pod {meta.get('namespace')}/{meta.get('name')} has condition {cond.get('type')} "
                       f"matching {action} rule at index {index}")
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action == "Count":
            return None, True, action
        if action == "FailJob":
            return message, True, action
        if action == "FailIndex":
            return None, True, action
    return None, True, None


# ----------------------------------------------------------------------------- counts and conditions


def wanted_active(completions: int | None, parallelism: int, succeeded: int, active: int) -> int:
    """How many pods should run: parallelism, but no more than the completions left; a
    work-queue Job (no completions) starts none after its first success."""
    if completions is None:
        return active if succeeded > 0 else parallelism
    return max(0, min(completions - succeeded, parallelism))


def is_complete(completions: int | None, succeeded: int, active: int) -> bool:
    if completions is None:
        return succeeded > 0 and active == 0
    return succeeded >= completions and active == 0


def find_condition(conditions: list[Obj] | None, kind: str) -> Obj | None:
    for cond in conditions or []:
        if cond.get("type") == kind:
            return cond
    return None


def condition_true(job: Obj, kind: str) -> bool:
    cond = find_condition((job.get("status") or {}).get("conditions"), kind)
    return cond is not None and cond.get("status") == "True"


def is_finished(job: Obj) -> bool:
    return condition_true(job, COMPLETE) or condition_true(job, FAILED)


def finished_at(job: Obj) -> float | None:
    """When the Job got its Complete or Failed condition."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in (COMPLETE, FAILED) and cond.get("status") == "True":
            return timestamp_of(cond.get("lastTransitionTime"))
    return None


def new_condition(kind: str, status: str, reason: str, message: str, now: float) -> Obj:
    stamp = format_time_s(now)
    return {"type": kind, "status": status, "lastProbeTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def format_time_s(seconds: float) -> str:
    return format_time(datetime.fromtimestamp(seconds, tz=timezone.utc))


def ensure_condition(conditions: list[Obj], kind: str, status: str, reason: str, message: str,
                     now: float) -> tuple[list[Obj], bool]:
    """Set the condition of `kind` (a new False condition is not worth adding); says whether it changed."""
    out = [dict(c) for c in conditions]
    for i, cond in enumerate(out):
        if cond.get("type") == kind:
            if cond.get("status") != status or cond.get("reason") != reason or cond.get("message") != message:
                out[i] = new_condition(kind, status, reason, message, now)
                return out, True
            return out, False
    if status != "False":
        out.append(new_condition(kind, status, reason, message, now))
        return out, True
    return out, False


def failure_verdict(failed: int, backoff_limit: int, restarts_exceeded: bool, deadline: int | None,
                    start: float | None, suspended: bool, now: float) -> tuple[str, str] | None:
    """(reason, message) when the Job must fail for its counts or its deadline, else None."""
    if failed > backoff_limit or restarts_exceeded:
        return REASON_BACKOFF, MESSAGE_BACKOFF
    if deadline is not None and start is not None and not suspended and now - start >= deadline:
        return REASON_DEADLINE, MESSAGE_DEADLINE
    return None
