"""What a pod's status is, given what the runtime knows about its containers.

The kubelet's status generation (phase, conditions, container statuses) as pure functions,
shared by every runtime: the simulated one now, real processes later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

BACKOFF_INITIAL = 10.0  # seconds before the second restart of a crashing container
BACKOFF_MAX = 300.0  # upstream's MaxContainerBackOff


@dataclass
class TerminatedInfo:
    exit_code: int
    reason: str
    started_at: str | None
    finished_at: str | None
    container_id: str = ""

    def to_api(self) -> Obj:
        out: Obj = {"exitCode": self.exit_code, "reason": self.reason, "startedAt": self.started_at,
                    "finishedAt": self.finished_at}
        if self.container_id:
            out["containerID"] = self.container_id
        return out


@dataclass
class ContainerState:
    name: str
    kind: str = "waiting"  # waiting | running | terminated
    reason: str = ""
    message: str = ""
    exit_code: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool | None = None
    last_terminated: TerminatedInfo | None = None
    container_id: str = ""
    image: str = ""
    image_id: str = ""

    def state_api(self) -> Obj:
        if self.kind == "running":
            return {"running": {"startedAt": self.started_at}}
        if self.kind == "terminated":
            return {"terminated": TerminatedInfo(self.exit_code, self.reason or exit_reason(self.exit_code),
                                                 self.started_at, self.finished_at, self.container_id).to_api()}
        waiting: Obj = {}
        if self.reason:
            waiting["reason"] = self.reason
        if self.message:
            waiting["message"] = self.message
        return {"waiting": waiting}

    def to_api(self) -> Obj:
        out: Obj = {"name": self.name, "state": self.state_api(),
                    "lastState": {"terminated": self.last_terminated.to_api()} if self.last_terminated else {},
                    "ready": self.ready, "restartCount": self.restart_count, "image": self.image,
                    "imageID": self.image_id}
        if self.container_id:
            out["containerID"] = self.container_id
        out["started"] = bool(self.started)
        return out


def exit_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


def crash_loop_backoff(restart_count: int) -> float:
    """Seconds to wait before the next restart after `restart_count` earlier back-offs: 10 s doubling to 5 min."""
    return min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** max(0, restart_count))


def crash_loop_message(container_name: str, pod: Obj, delay: float) -> str:
    meta = pod.get("metadata") or {}
    return (f"back-off {int(delay)}s restarting failed container={container_name} "
            f"pod={meta.get('name')}_{meta.get('namespace')}({meta.get('uid', '')})")


def containers_will_restart(restart_policy: str, exit_code: int) -> bool:
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True


def pod_is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_phase(pod: Obj, init: list[ContainerState], containers: list[ContainerState]) -> str:
    """Upstream's getPhase, for regular containers after init containers."""
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    if not all(c.kind == "terminated" and c.exit_code == 0 for c in init):
        failed_init = policy == "Never" and any(c.kind == "terminated" and c.exit_code != 0 for c in init)
        return "Failed" if failed_init else "Pending"
    running = sum(1 for c in containers if c.kind == "running")
    waiting = sum(1 for c in containers if c.kind == "waiting" and not c.last_terminated)
    restarting = sum(1 for c in containers if c.kind == "waiting" and c.last_terminated)
    stopped = [c for c in containers if c.kind == "terminated"]
    succeeded = sum(1 for c in stopped if c.exit_code == 0)
    failed = len(stopped) - succeeded
    if waiting:
        return "Pending"
    if running or restarting:
        return "Running"
    if stopped and len(stopped) == len(containers):
        if policy == "Always":
            return "Running"
        if failed and policy == "Never":
            return "Failed"
        if failed and policy == "OnFailure":
            return "Running"
        return "Succeeded"
    return "Pending"


def _condition(kind: str, status: bool, now: str, previous: dict[str, Obj], reason: str = "",
               message: str = "") -> Obj:
    value = "True" if status else "False"
    old = previous.get(kind) or {}
    cond: Obj = {"type": kind, "status": value, "lastProbeTime": None,
                 "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == value
                 and old.get("lastTransitionTime") else now}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def build_pod_status(pod: Obj, *, init_containers: list[ContainerState], containers: list[ContainerState],
                     host_ip: str, pod_ip: str | None, start_time: str | None, now: str,
                     sandbox_ready: bool = True) -> Obj:
    """The complete status a kubelet would report now (other writers' fields preserved)."""
    old = pod.get("status") or {}
    previous = {c.get("type"): c for c in old.get("conditions") or []}
    phase = pod_phase(pod, init_containers, containers)
    terminal = phase in ("Succeeded", "Failed")
    init_done = all(c.kind == "terminated" and c.exit_code == 0 for c in init_containers)
    unready = [c.name for c in containers if not c.ready]
    gates = [g.get("conditionType") for g in (pod.get("spec") or {}).get("readinessGates") or []]
    gates_missing = [g for g in gates if (previous.get(g) or {}).get("status") != "True"]

    conditions = [_condition("PodReadyToStartContainers", sandbox_ready and not terminal, now, previous)]
    if init_done:
        conditions.append(_condition("Initialized", True, now, previous))
    else:
        pending = [c.name for c in init_containers if not (c.kind == "terminated" and c.exit_code == 0)]
        conditions.append(_condition("Initialized", False, now, previous, "ContainersNotInitialized",
                                     f"containers with incomplete status: [{' '.join(pending)}]"))
    if terminal:
        ready = _condition("Ready", False, now, previous, "PodCompleted")
        containers_ready = _condition("ContainersReady", False, now, previous, "PodCompleted")
    elif unready:
        message = f"containers with unready status: [{' '.join(unready)}]"
        ready = _condition("Ready", False, now, previous, "ContainersNotReady", message)
        containers_ready = _condition("ContainersReady", False, now, previous, "ContainersNotReady", message)
    elif gates_missing:
        ready = _condition("Ready", False, now, previous, "ReadinessGatesNotReady",
                           f"corresponding condition of pod readiness gate \"{gates_missing[0]}\" does not exist.")
        containers_ready = _condition("ContainersReady", True, now, previous)
    else:
        ready = _condition("Ready", True, now, previous)
        containers_ready = _condition("ContainersReady", True, now, previous)
    conditions += [ready, containers_ready]
    owned = {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"}
    conditions += [c for c in old.get("conditions") or [] if c.get("type") not in owned]

    status = {k: v for k, v in old.items() if k not in ("phase", "conditions", "containerStatuses",
                                                         "initContainerStatuses", "hostIP", "hostIPs", "podIP",
                                                         "podIPs", "startTime")}
    status["phase"] = phase
    status["conditions"] = conditions
    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    if start_time:
        status["startTime"] = start_time
    if init_containers:
        status["initContainerStatuses"] = [c.to_api() for c in init_containers]
    status["containerStatuses"] = [c.to_api() for c in containers]
    return status
