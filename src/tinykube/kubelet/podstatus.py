"""What a pod's status is, given what the runtime knows about its containers.

The node agent's status generation as pure functions, shared by every runtime (the simulated
one now, real processes later). A runtime describes each container it knows with a
`ContainerState`; `build_pod_status` turns those into the complete `status` a 1.33 kubelet
would report: phase, conditions, container statuses, IPs and start time.

Behaviour follows the kubelet (generateAPIPodStatus, getPhase, convertToAPIContainerStatuses,
the probe manager's ready/started rules, the status manager's lastTransitionTime rule and the
status generators for the pod conditions), with feature gates at their 1.33 defaults.
Simplifications, all deliberate:

* `PodReadyToStartContainers` is `sandbox_ready` while the pod runs and False once the phase is
  terminal (the kubelet tears the sandbox down right after the pod finishes and reports False
  a moment later; we report the settled state at once).
* Terminal phases are sticky: a pod that reported Succeeded/Failed keeps that phase.
* `volumeMounts`, `user`, `allocatedResources` and pod/condition `observedGeneration` are not
  reported; `resources` of a container the runtime knows is the spec's (no cgroup read-back).
* The crash-loop back-off is the 1.33 default curve (10 s doubling to 5 min, reset after
  10 min without a crash); the alpha gates that shorten it are not modelled.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from tinykube.machinery.gorepr import go_duration_string

Obj = dict[str, Any]

BACKOFF_INITIAL = 10.0  # seconds: the kubelet's initial container restart back-off
BACKOFF_MAX = 300.0  # seconds: MaxContainerBackOff
BACKOFF_RESET = 600.0  # seconds without a crash after which the back-off starts over

# Container waiting / terminated reasons.
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
CONTAINER_STATUS_UNKNOWN = "ContainerStatusUnknown"
COMPLETED = "Completed"
ERROR = "Error"
OOM_KILLED = "OOMKilled"

# Pod condition types and reasons.
POD_READY_TO_START_CONTAINERS = "PodReadyToStartContainers"
INITIALIZED = "Initialized"
READY = "Ready"
CONTAINERS_READY = "ContainersReady"
POD_SCHEDULED = "PodScheduled"
KUBELET_CONDITIONS = (POD_READY_TO_START_CONTAINERS, INITIALIZED, READY, CONTAINERS_READY, POD_SCHEDULED)
POD_COMPLETED = "PodCompleted"
POD_FAILED = "PodFailed"
CONTAINERS_NOT_READY = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
READINESS_GATES_NOT_READY = "ReadinessGatesNotReady"

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
TERMINAL_PHASES = (SUCCEEDED, FAILED)

_UNLOCATED_MESSAGE = "The container could not be located when the pod was deleted.  The container used to be Running"
_UNLOCATED_EXIT_CODE = 137

# Status fields this module computes; every other field of an existing status is kept as it is.
_OWNED = ("phase", "conditions", "message", "reason", "hostIP", "hostIPs", "podIP", "podIPs", "startTime",
          "initContainerStatuses", "containerStatuses")


@dataclass
class TerminatedInfo:
    """One finished run of a container (its current state or, after a restart, its lastState)."""

    exit_code: int
    reason: str
    started_at: str | None
    finished_at: str | None
    container_id: str = ""
    message: str = ""

    def to_api(self) -> Obj:
        out: Obj = {"exitCode": self.exit_code, "reason": self.reason or exit_reason(self.exit_code)}
        if self.message:
            out["message"] = self.message
        out["startedAt"] = self.started_at
        out["finishedAt"] = self.finished_at
        if self.container_id:
            out["containerID"] = self.container_id
        return out


@dataclass
class ContainerState:
    """What the runtime knows about one container.

    `kind` is "waiting" (with `reason` such as ContainerCreating, PodInitializing or
    CrashLoopBackOff), "running" or "terminated" (with `exit_code` and `reason` Completed, Error,
    OOMKilled...). `ready` is the readiness probe's verdict and only counts while running;
    `started` is the startup probe's (None: started as soon as it runs). `container_id` and
    `image_id` stay empty until the container has been created.
    """

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
        """The `state` object: exactly one of waiting, running, terminated."""
        if self.kind == "running":
            return {"running": {"startedAt": self.started_at}}
        if self.kind == "terminated":
            return {"terminated": TerminatedInfo(self.exit_code, self.reason, self.started_at, self.finished_at,
                                                 self.container_id, self.message).to_api()}
        waiting: Obj = {}
        if self.reason:
            waiting["reason"] = self.reason
        if self.message:
            waiting["message"] = self.message
        return {"waiting": waiting}

    def to_api(self) -> Obj:
        """The container status as reported, with `ready`/`started` taken as given."""
        out: Obj = {"name": self.name, "state": self.state_api(),
                    "lastState": {"terminated": self.last_terminated.to_api()} if self.last_terminated else {},
                    "ready": bool(self.ready), "restartCount": self.restart_count, "image": self.image,
                    "imageID": self.image_id}
        if self.container_id:
            out["containerID"] = self.container_id
        out["started"] = bool(self.kind == "running" if self.started is None else self.started)
        return out


# ---------------------------------------------------------------------------------------------
# Small helpers


def exit_reason(exit_code: int, oom_killed: bool = False) -> str:
    """The reason a runtime gives a container that exited: Completed (0), Error, or OOMKilled."""
    if oom_killed:
        return OOM_KILLED
    return COMPLETED if exit_code == 0 else ERROR


def is_sidecar(container: Obj | None) -> bool:
    """A restartable init container (an init container with restartPolicy Always)."""
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def restart_policy(pod: Obj) -> str:
    return (pod.get("spec") or {}).get("restartPolicy") or "Always"


def containers_will_restart(restart_policy: str, exit_code: int) -> bool:
    """Whether a regular container that exited with `exit_code` is started again."""
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True


def container_will_restart(pod: Obj, name: str, exit_code: int) -> bool:
    """Like `containers_will_restart`, for any container of the pod by name.

    Sidecars always restart; a regular init container restarts after a failure unless the pod's
    policy is Never, and never after succeeding.
    """
    spec = pod.get("spec") or {}
    policy = restart_policy(pod)
    for init in spec.get("initContainers") or []:
        if init.get("name") == name:
            if is_sidecar(init):
                return True
            return exit_code != 0 and policy != "Never"
    return containers_will_restart(policy, exit_code)


def pod_is_terminal(pod: Obj) -> bool:
    """The pod reached Succeeded or Failed; nothing in it will run again."""
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def killed_status(pod: Obj, now: str) -> Obj:
    """The terminal status the kubelet writes for a deleted pod once its containers are stopped:
    containers still running end with 137 (killed), the phase becomes Failed (Succeeded when
    every container had already exited 0), Ready and ContainersReady turn False."""
    status = copy.deepcopy(pod.get("status") or {})
    codes = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            if "terminated" not in state:
                started = (state.get("running") or {}).get("startedAt")
                term = {"exitCode": _UNLOCATED_EXIT_CODE, "reason": ERROR, "startedAt": started, "finishedAt": now}
                if cs.get("containerID"):
                    term["containerID"] = cs["containerID"]
                cs["state"] = {"terminated": term}
            cs["ready"] = False
            if key == "containerStatuses":
                cs["started"] = False
                codes.append(int(cs["state"]["terminated"].get("exitCode") or 0))
    status["phase"] = SUCCEEDED if codes and all(code == 0 for code in codes) else FAILED
    reason = POD_COMPLETED if status["phase"] == SUCCEEDED else POD_FAILED
    for cond in status.get("conditions") or []:
        if cond.get("type") in (READY, CONTAINERS_READY) and cond.get("status") != "False":
            cond.update(status="False", reason=reason, lastTransitionTime=now)
    return status


def crash_loop_backoff(restart_count: int) -> float:
    """Seconds of back-off after `restart_count` earlier back-offs: 10, 20, 40, ... capped at 300.

    A container's first crash restarts at once; the crash after restart number n (n >= 1)
    waits `crash_loop_backoff(n - 1)`, which is what its CrashLoopBackOff message shows.
    """
    return min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** min(max(0, restart_count), 16))


def backoff_expired(seconds_since_last_backoff: float) -> bool:
    """Whether a container ran without crashing long enough for its back-off to start over."""
    return seconds_since_last_backoff > BACKOFF_RESET


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration prints it: 10s, 1m20s, 5m0s, 1h0m0s, 1.5s, 500ms."""
    return go_duration_string(round(seconds * 1e9))


def format_pod(pod: Obj) -> str:
    """A pod as the kubelet names it in messages: name_namespace(uid)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def crash_loop_message(container_name: str, pod: Obj, delay: float | None = None) -> str:
    """The CrashLoopBackOff waiting message: `back-off 10s restarting failed container=app pod=...`.

    Without `delay`, the back-off in effect for the container's restartCount in the pod's status.
    """
    if delay is None:
        delay = crash_loop_backoff(max(0, _reported_restarts(pod, container_name) - 1))
    return f"back-off {go_duration(delay)} restarting failed container={container_name} pod={format_pod(pod)}"


def crash_loop_event_message(container_name: str, pod: Obj) -> str:
    """The message of the Warning event (reason BackOff) recorded while a container backs off."""
    return f"Back-off restarting failed container {container_name} in pod {format_pod(pod)}"


def _reported_restarts(pod: Obj, name: str) -> int:
    status = pod.get("status") or {}
    for item in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if item.get("name") == name:
            return int(item.get("restartCount") or 0)
    return 0


# ---------------------------------------------------------------------------------------------
# Container statuses


def _container_statuses(pod: Obj, specs: list[Obj], states: list[ContainerState], previous: list[Obj], *,
                        init: bool) -> list[Obj]:
    """API statuses in spec order: the runtime's state where it has one, else a default."""
    by_name = {s.name: s for s in states}
    old = {s.get("name"): s for s in previous or []}
    has_init = bool((pod.get("spec") or {}).get("initContainers"))
    if specs:
        entries = [(c.get("name", ""), c) for c in specs]
    else:  # a pod without a usable spec: trust the runtime's list
        entries = [(s.name, {}) for s in states]
    out = []
    for name, spec in entries:
        state = by_name.get(name)
        if state is not None:
            status = _runtime_status(pod, state, spec)
        else:
            status = _default_status(pod, name, spec, old.get(name), has_init)
        _apply_probe_rules(status, spec, init=init)
        out.append(status)
    return out


def _runtime_status(pod: Obj, state: ContainerState, spec: Obj) -> Obj:
    status = state.to_api()
    if not status["image"]:
        status["image"] = spec.get("image", "")
    waiting = status["state"].get("waiting")
    if waiting is not None and waiting.get("reason") == CRASH_LOOP_BACK_OFF and not waiting.get("message"):
        delay = crash_loop_backoff(max(0, state.restart_count - 1))
        waiting["message"] = crash_loop_message(state.name, pod, delay)
    # The runtime knows this container (it was created): report its resources as allocated.
    if spec and (state.container_id or state.kind != "waiting" or state.last_terminated):
        status["resources"] = copy.deepcopy(spec.get("resources") or {})
    # What the probe manager decides (see _apply_probe_rules) needs the runtime's wish.
    status["_ready"] = bool(state.ready)
    status["_started"] = state.started
    return status


def _default_status(pod: Obj, name: str, spec: Obj, old: Obj | None, has_init: bool) -> Obj:
    """A container the runtime does not know (yet, or any more)."""
    if old is not None and "terminated" in (old.get("state") or {}):
        return copy.deepcopy(old)  # it finished; what it reported stays true
    status: Obj = {"name": name,
                   "state": {"waiting": {"reason": POD_INITIALIZING if has_init else CONTAINER_CREATING}},
                   "lastState": copy.deepcopy((old or {}).get("lastState") or {}), "ready": False,
                   "restartCount": int((old or {}).get("restartCount") or 0), "image": spec.get("image", ""),
                   "imageID": ""}
    if old is not None and "running" in (old.get("state") or {}) and "terminated" not in status["lastState"]:
        # It used to run and vanished: it stopped, we only do not know how.
        status["lastState"] = {"terminated": {"exitCode": _UNLOCATED_EXIT_CODE, "reason": CONTAINER_STATUS_UNKNOWN,
                                              "message": _UNLOCATED_MESSAGE, "startedAt": None, "finishedAt": None}}
        if not (pod.get("metadata") or {}).get("deletionTimestamp"):
            status["restartCount"] += 1
    return status


def _apply_probe_rules(status: Obj, spec: Obj, *, init: bool) -> None:
    """`ready` and `started` as the kubelet's probe manager sets them."""
    wants_ready = status.pop("_ready", False)
    wants_started = status.pop("_started", None)
    state = status.get("state") or {}
    running = "running" in state
    started = running and (wants_started is None or bool(wants_started))
    if init and not is_sidecar(spec):
        terminated = state.get("terminated")
        ready = terminated is not None and int(terminated.get("exitCode") or 0) == 0
    else:
        ready = running and started and wants_ready
    status["ready"] = ready
    status["started"] = started


# ---------------------------------------------------------------------------------------------
# Phase


def _has_last_termination(status: Obj) -> bool:
    return "terminated" in (status.get("lastState") or {})


def _exit_code(status: Obj) -> int:
    return int(((status.get("state") or {}).get("terminated") or {}).get("exitCode") or 0)


def pod_phase(pod: Obj, init_container_statuses: list[Obj], container_statuses: list[Obj], *,
              terminal: bool = False, initialized: bool | None = None) -> str:
    """The kubelet's getPhase over API container statuses.

    `terminal`: the pod's containers will not be started again (deleted, evicted, deadline), so
    stopped containers make it Succeeded/Failed whatever its restart policy. `initialized`:
    whether regular containers have run in this sandbox (default: derived from the statuses),
    which keeps a pod whose sidecars restart from going back to Pending.
    """
    spec = pod.get("spec") or {}
    policy = restart_policy(pod)
    init_by_name = {s.get("name"): s for s in init_container_statuses}
    by_name = {s.get("name"): s for s in container_statuses}
    if initialized is None:
        initialized = any(_has_run(s) for s in container_statuses)

    pending_init = failed_init = pending_sidecars = 0
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.get("initContainers") or []:
        status = init_by_name.get(container.get("name"))
        state = (status or {}).get("state") or {}
        if is_sidecar(container):
            if status is None:
                unknown += 1
            elif "running" in state:
                running += 1
                if not status.get("started"):
                    pending_sidecars += 1
            elif "terminated" in state or _has_last_termination(status):
                pass  # a stopped sidecar does not count for the phase
            elif "waiting" in state:
                pending_sidecars += 1
                waiting += 1
            else:
                pending_sidecars += 1
                unknown += 1
            continue
        if status is None or "running" in state:
            pending_init += 1
        elif "terminated" in state:
            failed_init += _exit_code(status) != 0
        elif "waiting" in state and _has_last_termination(status):
            failed_init += int(status["lastState"]["terminated"].get("exitCode") or 0) != 0
        else:
            pending_init += 1
    for container in spec.get("containers") or []:
        status = by_name.get(container.get("name"))
        state = (status or {}).get("state") or {}
        if status is None:
            unknown += 1
        elif "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += _exit_code(status) == 0
        elif "waiting" in state:
            if _has_last_termination(status):
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1

    if failed_init and policy == "Never":
        return FAILED
    if pending_init or (pending_sidecars and not initialized) or waiting:
        return PENDING
    if running and not unknown:
        return RUNNING
    if not running and stopped and not unknown:
        if terminal:
            return SUCCEEDED if stopped == succeeded else FAILED
        if policy == "Always":
            return RUNNING  # every container is on its way back
        if stopped == succeeded:
            return SUCCEEDED
        if policy == "Never":
            return FAILED
        return RUNNING  # OnFailure: the failed ones restart
    return PENDING


def _has_run(status: Obj) -> bool:
    state = status.get("state") or {}
    return "running" in state or "terminated" in state or _has_last_termination(status)


# ---------------------------------------------------------------------------------------------
# Conditions


def _names(names: list[str]) -> str:
    """A list of names as Go's %s prints a []string: [a b]."""
    return "[" + " ".join(names) + "]"


def _initialized(pod: Obj, init_statuses: list[Obj], statuses: list[Obj], phase: str) -> tuple[bool, str, str]:
    incomplete = []
    by_name = {s.get("name"): s for s in init_statuses}
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        status = by_name.get(container.get("name")) or {}
        done = bool(status.get("started")) if is_sidecar(container) else bool(status.get("ready"))
        if not done:
            incomplete.append(container.get("name", ""))
    if phase == SUCCEEDED:
        return True, POD_COMPLETED, ""
    if any("running" in (s.get("state") or {}) or "terminated" in (s.get("state") or {}) for s in statuses):
        return True, "", ""  # regular containers ran, so init containers finished once
    if incomplete:
        return False, CONTAINERS_NOT_INITIALIZED, f"containers with incomplete status: {_names(incomplete)}"
    return True, "", ""


def _containers_ready(pod: Obj, init_statuses: list[Obj], statuses: list[Obj], phase: str) -> tuple[bool, str, str]:
    if phase == SUCCEEDED:
        return False, POD_COMPLETED, ""
    if phase == FAILED:
        return False, POD_FAILED, ""
    spec = pod.get("spec") or {}
    init_by_name = {s.get("name"): s for s in init_statuses}
    by_name = {s.get("name"): s for s in statuses}
    unready = [c.get("name", "") for c in spec.get("initContainers") or []
               if is_sidecar(c) and not (init_by_name.get(c.get("name")) or {}).get("ready")]
    unready += [c.get("name", "") for c in spec.get("containers") or []
                if not (by_name.get(c.get("name")) or {}).get("ready")]
    if unready:
        return False, CONTAINERS_NOT_READY, f"containers with unready status: {_names(unready)}"
    return True, "", ""


def _readiness_gates(pod: Obj, conditions: list[Obj]) -> str:
    """Why the readiness gates hold the pod back ("" when they do not)."""
    by_type = {c.get("type"): c for c in conditions}
    problems = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        kind = gate.get("conditionType", "")
        cond = by_type.get(kind)
        if cond is None:
            problems.append(f"corresponding condition of pod readiness gate {json.dumps(kind)} does not exist.")
        elif cond.get("status") != "True":
            problems.append(f"the status of pod readiness gate {json.dumps(kind)} is not \"True\", "
                            f"but {cond.get('status', '')}")
    return ", ".join(problems)


def _condition(kind: str, status: bool, now: str, previous: dict[str, Obj], reason: str = "",
               message: str = "") -> Obj:
    """A kubelet condition; lastTransitionTime moves only when the status changes."""
    value = "True" if status else "False"
    old = previous.get(kind) or {}
    since = old.get("lastTransitionTime") if old.get("status") == value and old.get("lastTransitionTime") else now
    cond: Obj = {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": since}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _conditions(pod: Obj, old_conditions: list[Obj], init_statuses: list[Obj], statuses: list[Obj], phase: str,
                sandbox_ready: bool, now: str) -> list[Obj]:
    previous = {c.get("type"): c for c in old_conditions}
    # Others' conditions first (DisruptionTarget, readiness-gate conditions...), unchanged.
    conditions = [copy.deepcopy(c) for c in old_conditions if c.get("type") not in KUBELET_CONDITIONS]
    conditions.append(_condition(POD_READY_TO_START_CONTAINERS, sandbox_ready and phase not in TERMINAL_PHASES,
                                 now, previous))
    done, reason, message = _initialized(pod, init_statuses, statuses, phase)
    conditions.append(_condition(INITIALIZED, done, now, previous, reason, message))
    ok, reason, message = _containers_ready(pod, init_statuses, statuses, phase)
    if ok:
        gates = _readiness_gates(pod, conditions)
        ready = _condition(READY, False, now, previous, READINESS_GATES_NOT_READY, gates) if gates else \
            _condition(READY, True, now, previous)
    else:
        ready = _condition(READY, False, now, previous, reason, message)
    conditions.append(ready)
    conditions.append(_condition(CONTAINERS_READY, ok, now, previous, reason, message))
    scheduled = previous.get(POD_SCHEDULED)
    if scheduled is not None and scheduled.get("status") == "True":
        conditions.append(copy.deepcopy(scheduled))
    else:
        conditions.append(_condition(POD_SCHEDULED, True, now, previous))
    return conditions


# ---------------------------------------------------------------------------------------------
# The pod status


def build_pod_status(pod: Obj, *, init_containers: list[ContainerState], containers: list[ContainerState],
                     host_ip: str, pod_ip: str | None, start_time: str | None, now: str,
                     sandbox_ready: bool = True, terminal: bool = False) -> Obj:
    """The complete status the node agent reports for `pod` now.

    `init_containers` / `containers`: what the runtime knows (any order; containers it does not
    know get the kubelet's default status). `pod_ip` / `start_time` None keep what the status
    already says. `sandbox_ready`: the pod's sandbox (network) exists. `terminal`: the agent is
    stopping the pod for good, so it ends Succeeded/Failed once its containers have stopped.
    Fields owned by others (qosClass, nominatedNodeName, resourceClaimStatuses...) are kept.
    """
    old = pod.get("status") or {}
    spec = pod.get("spec") or {}
    init_statuses = _container_statuses(pod, spec.get("initContainers") or [], init_containers,
                                        old.get("initContainerStatuses") or [], init=True)
    statuses = _container_statuses(pod, spec.get("containers") or [], containers,
                                   old.get("containerStatuses") or [], init=False)

    initialized = any(_has_run(s) for s in statuses)
    phase = pod_phase(pod, init_statuses, statuses, terminal=terminal, initialized=initialized)
    old_phase = old.get("phase")
    if phase not in TERMINAL_PHASES and old_phase in TERMINAL_PHASES:
        phase = old_phase  # no way back from a terminal phase

    status: Obj = {"phase": phase,
                   "conditions": _conditions(pod, old.get("conditions") or [], init_statuses, statuses, phase,
                                             sandbox_ready, now)}
    if phase == old_phase:  # reason and message belong to the phase they were given with
        for key in ("message", "reason"):
            if old.get(key):
                status[key] = old[key]
    if "nominatedNodeName" in old:
        status["nominatedNodeName"] = old["nominatedNodeName"]
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    else:
        _keep(status, old, "hostIP", "hostIPs")
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    else:  # a finished pod keeps showing the address it had
        _keep(status, old, "podIP", "podIPs")
    if start_time:
        status["startTime"] = old.get("startTime") or start_time
    else:
        _keep(status, old, "startTime")
    if spec.get("initContainers") or init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    for key, value in old.items():  # other writers' fields, untouched
        if key not in _OWNED and key not in status:
            status[key] = copy.deepcopy(value)
    return status


def _keep(status: Obj, old: Obj, *keys: str) -> None:
    for key in keys:
        if key in old:
            status[key] = copy.deepcopy(old[key])


class RestartBackoff:
    """The crash-loop back-off of one container, as the kubelet keeps it.

    The first restart happens at once; each later one waits 10 s, 20 s, 40 s ... up to 5 min;
    a container that ran 10 minutes since its last restart starts over at no wait.
    """

    def __init__(self) -> None:
        self.count = 0  # restarts decided so far in this streak
        self.last: float | None = None  # when the last restart was decided

    def next_delay(self, now: float) -> float:
        if self.last is not None and backoff_expired(now - self.last):
            self.count = 0
        delay = 0.0 if self.count == 0 else crash_loop_backoff(self.count - 1)
        self.count += 1
        self.last = now + delay
        return delay
