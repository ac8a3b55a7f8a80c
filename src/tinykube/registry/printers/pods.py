"""The pods table: READY, STATUS and RESTARTS as upstream printPod computes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tinykube.registry.printers._common import (
    NONE, Cells, ColumnSpec, Obj, age, age_col, as_dict, as_int, as_list, dig, name_col,
    name_of, parse_timestamp, since, wide,
)

NODE_LOST = "NodeLost"  # node.NodeUnreachablePodReason

COLUMNS = (
    name_col(),
    ColumnSpec("Ready", text="The aggregate readiness state of this pod for accepting traffic."),
    ColumnSpec("Status", text="The aggregate status of the containers in this pod."),
    ColumnSpec("Restarts", text="The number of times the containers in this pod have been restarted "
                                "and when the last container in this pod has restarted."),
    age_col(),
    wide("IP", doc="core.v1.PodStatus.podIP"),
    wide("Node", doc="core.v1.PodSpec.nodeName"),
    wide("Nominated Node", doc="core.v1.PodStatus.nominatedNodeName"),
    wide("Readiness Gates", doc="core.v1.PodSpec.readinessGates"),
)


@dataclass
class _Restarts:
    """A restart count and the latest lastState.terminated.finishedAt seen with it."""

    count: int = 0
    last: datetime | None = None
    last_raw: str = ""

    def add(self, status: Obj) -> None:
        self.count += as_int(status.get("restartCount"))
        finished = dig(status, "lastState", "terminated", "finishedAt")
        moment = parse_timestamp(finished)
        if moment is not None and (self.last is None or moment > self.last):
            self.last, self.last_raw = moment, finished


@dataclass
class _PodView:
    """What printPod accumulates while walking the container statuses."""

    reason: str
    ready: int = 0
    total: int = 0
    restarts: _Restarts = field(default_factory=_Restarts)


def _condition_status(pod: Obj, kind: str) -> str | None:
    for cond in as_list(dig(pod, "status", "conditions")):
        if as_dict(cond).get("type") == kind:
            return str(as_dict(cond).get("status", ""))
    return None


def _has_ready_condition(pod: Obj) -> bool:
    return any(as_dict(c).get("type") == "Ready" and as_dict(c).get("status") == "True"
               for c in as_list(dig(pod, "status", "conditions")))


def _is_sidecar(container: Obj | None) -> bool:
    """A restartable init container (restartPolicy: Always)."""
    return container is not None and container.get("restartPolicy") == "Always"


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if as_int(terminated.get("signal")) != 0:
        return f"{prefix}Signal:{as_int(terminated.get('signal'))}"
    return f"{prefix}ExitCode:{as_int(terminated.get('exitCode'))}"


def _initial_reason(pod: Obj) -> str:
    reason = str(dig(pod, "status", "reason", default="") or dig(pod, "status", "phase", default=""))
    for cond in as_list(dig(pod, "status", "conditions")):
        cond = as_dict(cond)
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    return reason


def _walk_init_containers(pod: Obj, view: _PodView, sidecar_restarts: _Restarts) -> bool:
    """Count init restarts and set an "Init:..." reason; True while the pod is initializing."""
    specs = {as_dict(c).get("name"): as_dict(c) for c in as_list(dig(pod, "spec", "initContainers"))}
    view.total += sum(1 for c in specs.values() if _is_sidecar(c))
    for index, status in enumerate(as_list(dig(pod, "status", "initContainerStatuses"))):
        status = as_dict(status)
        view.restarts.add(status)
        sidecar = _is_sidecar(specs.get(status.get("name")))
        if sidecar:
            sidecar_restarts.add(status)
        terminated = dig(status, "state", "terminated")
        waiting = dig(status, "state", "waiting")
        if terminated is not None and as_int(as_dict(terminated).get("exitCode")) == 0:
            continue
        if sidecar and status.get("started") is True:
            view.ready += 1 if status.get("ready") else 0
            continue
        if terminated is not None:
            view.reason = _terminated_reason(as_dict(terminated), "Init:")
        elif waiting is not None and as_dict(waiting).get("reason") not in (None, "", "PodInitializing"):
            view.reason = "Init:" + str(as_dict(waiting)["reason"])
        else:
            view.reason = f"Init:{index}/{len(specs)}"
        return True
    return False


def _walk_containers(pod: Obj, view: _PodView) -> None:
    """Main containers, last to first so the first container's reason wins."""
    has_running = False
    for status in reversed(as_list(dig(pod, "status", "containerStatuses"))):
        status = as_dict(status)
        view.restarts.add(status)
        waiting = dig(status, "state", "waiting")
        terminated = dig(status, "state", "terminated")
        if waiting is not None and as_dict(waiting).get("reason"):
            view.reason = str(as_dict(waiting)["reason"])
        elif terminated is not None:
            view.reason = _terminated_reason(as_dict(terminated))
        elif status.get("ready") and dig(status, "state", "running") is not None:
            has_running = True
            view.ready += 1
    if view.reason == "Completed" and has_running:
        view.reason = "Running" if _has_ready_condition(pod) else "NotReady"


def _final_reason(pod: Obj, reason: str) -> str:
    if dig(pod, "metadata", "deletionTimestamp") is None:
        return reason
    if dig(pod, "status", "reason") == NODE_LOST:
        return "Unknown"
    if dig(pod, "status", "phase") not in ("Succeeded", "Failed"):
        return "Terminating"
    return reason


def _restarts_cell(restarts: _Restarts, now: datetime) -> str:
    if restarts.count != 0 and restarts.last is not None:
        return f"{restarts.count} ({since(restarts.last_raw, now)} ago)"
    return str(restarts.count)


def _pod_ip(pod: Obj) -> str:
    ips = as_list(dig(pod, "status", "podIPs"))
    ip = as_dict(ips[0]).get("ip") if ips else dig(pod, "status", "podIP")
    return str(ip) if ip else NONE


def _readiness_gates(pod: Obj) -> str:
    gates = as_list(dig(pod, "spec", "readinessGates"))
    if not gates:
        return NONE
    passed = sum(1 for g in gates if _condition_status(pod, as_dict(g).get("conditionType", "")) == "True")
    return f"{passed}/{len(gates)}"


def summarize(pod: Obj) -> tuple[str, str, _Restarts]:
    """(READY, STATUS, restarts) of a pod, as upstream printPod derives them."""
    view = _PodView(reason=_initial_reason(pod), total=len(as_list(dig(pod, "spec", "containers"))))
    sidecar_restarts = _Restarts()
    initializing = _walk_init_containers(pod, view, sidecar_restarts)
    if not initializing or _condition_status(pod, "Initialized") == "True":
        view.restarts = sidecar_restarts
        _walk_containers(pod, view)
    return f"{view.ready}/{view.total}", _final_reason(pod, view.reason), view.restarts


def pod_cells(pod: Obj, now: datetime) -> Cells:
    ready, status, restarts = summarize(pod)
    cells: list[Any] = [name_of(pod), ready, status, _restarts_cell(restarts, now), age(pod, now)]
    cells += [
        _pod_ip(pod),
        str(dig(pod, "spec", "nodeName", default="")) or NONE,
        str(dig(pod, "status", "nominatedNodeName", default="")) or NONE,
        _readiness_gates(pod),
    ]
    return cells


PRINTERS = {("", "pods"): (COLUMNS, pod_cells)}
