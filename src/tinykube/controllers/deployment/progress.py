"""Progress: the Progressing condition, the progress deadline and paused conditions.

Upstream: pkg/controller/deployment/progress.go. `kubectl rollout status` prints from these
fields, so the reasons and messages are upstream's. The decisions are pure functions; the
controller writes the status they produce and requeues a deployment at the moment its
deadline would pass, instead of polling.
"""

from __future__ import annotations

from tinykube.clock import parse_time
from tinykube.controllers.deployment import util
from tinykube.controllers.deployment.util import Obj
from tinykube.machinery.jsoncopy import json_copy

MAX_INT32 = 2**31 - 1


def progress_deadline(d: Obj) -> int | None:
    """spec.progressDeadlineSeconds, or None when it is unset or MaxInt32 (no deadline)."""
    value = (d.get("spec") or {}).get("progressDeadlineSeconds")
    if value is None or int(value) == MAX_INT32:
        return None
    return int(value)


def timed_out(d: Obj, status: Obj, now: float) -> bool:
    """No progress recorded for progressDeadlineSeconds (upstream DeploymentTimedOut)."""
    deadline = progress_deadline(d)
    cond = util.get_condition(status, "Progressing")
    if deadline is None or cond is None or cond.get("reason") == util.NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == util.TIMED_OUT:
        return True
    return parse_time(cond["lastUpdateTime"]).timestamp() + deadline < now


def rollout_status(d: Obj, status: Obj, new_rs: Obj | None, all_rs: list[Obj], now: float, stamp: str) -> None:
    """Move the Progressing condition of a freshly calculated status (upstream syncRolloutStatus):
    complete → NewReplicaSetAvailable, any progress → ReplicaSetUpdated (a fresh lastUpdateTime,
    which restarts the deadline), no progress past the deadline → ProgressDeadlineExceeded;
    then mirror a ReplicaFailure of the ReplicaSets."""
    if progress_deadline(d) is None:
        util.remove_condition(status, "Progressing")
    current = util.get_condition(d.get("status") or {}, "Progressing")
    complete_already = status.get("replicas", 0) == status.get("updatedReplicas", 0) and \
        current is not None and current.get("reason") == util.NEW_RS_AVAILABLE
    subject = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs else f'Deployment "{d["metadata"]["name"]}"'
    if progress_deadline(d) is not None and not complete_already:
        if util.deployment_complete(d, status):
            util.set_condition(status, "Progressing", "True", util.NEW_RS_AVAILABLE,
                               f"{subject} has successfully progressed.", stamp)
        elif util.deployment_progressing(d, status):
            # progress always refreshes lastUpdateTime, even with an unchanged reason
            transition = current["lastTransitionTime"] if current and current.get("status") == "True" else stamp
            util.remove_condition(status, "Progressing")
            status["conditions"] = status.get("conditions", []) + [
                {"type": "Progressing", "status": "True", "lastUpdateTime": stamp, "lastTransitionTime": transition,
                 "reason": util.RS_UPDATED, "message": f"{subject} is progressing."}]
        elif timed_out(d, status, now):
            util.set_condition(status, "Progressing", "False", util.TIMED_OUT,
                               f"{subject} has timed out progressing.", stamp)
    failure = replica_failure(new_rs, all_rs)
    if failure is None:
        util.remove_condition(status, "ReplicaFailure")
    else:
        util.set_condition(status, "ReplicaFailure", failure["status"], failure.get("reason", ""),
                           failure.get("message", ""), failure.get("lastTransitionTime") or stamp)


def replica_failure(new_rs: Obj | None, all_rs: list[Obj]) -> Obj | None:
    """A ReplicaFailure condition of the new ReplicaSet, else of any other one."""
    for candidates in ([new_rs] if new_rs else [], all_rs):
        for rs in candidates:
            for cond in (rs.get("status") or {}).get("conditions") or []:
                if cond.get("type") == "ReplicaFailure":
                    return cond
    return None


def requeue_after(d: Obj, status: Obj, now: float) -> float | None:
    """Seconds until the deadline would pass for a rollout making no progress (None: nothing
    to wait for). Upstream requeueStackedDeployment."""
    deadline = progress_deadline(d)
    cond = util.get_condition(d.get("status") or {}, "Progressing")
    if deadline is None or cond is None or util.deployment_complete(d, status) or \
            cond.get("reason") == util.TIMED_OUT:
        return None
    return parse_time(cond["lastUpdateTime"]).timestamp() + deadline - now


def paused_status(d: Obj, stamp: str) -> Obj | None:
    """The status with Progressing=Unknown DeploymentPaused/DeploymentResumed when the paused
    flag changed since it was recorded (None: nothing to write). A reported timeout stays."""
    if progress_deadline(d) is None:
        return None
    status = json_copy(d.get("status") or {})
    cond = util.get_condition(status, "Progressing")
    if cond is not None and cond.get("reason") == util.TIMED_OUT:
        return None
    paused_recorded = cond is not None and cond.get("reason") == util.PAUSED
    paused = bool((d.get("spec") or {}).get("paused"))
    if paused and not paused_recorded:
        util.set_condition(status, "Progressing", "Unknown", util.PAUSED, "Deployment is paused", stamp)
    elif not paused and paused_recorded:
        util.set_condition(status, "Progressing", "Unknown", util.RESUMED, "Deployment is resumed", stamp)
    else:
        return None
    return status
