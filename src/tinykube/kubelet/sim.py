"""The simulated runtime: containers that run no process but live a realistic life.

`SimPod` is the agent's private record of one pod (never the cached API object). `advance`
moves it forward to `now` — creating, starting, exiting, restarting with CrashLoopBackOff,
readiness — and returns when it next has something to do. `container_states` turns the record
into what `podstatus.build_pod_status` needs. Everything here is pure and clock-free: times
are cluster seconds passed in by the caller.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from tinykube.clock import parse_time, time_text
from tinykube.kubelet.behaviour import Behaviour
from tinykube.kubelet.podstatus import ContainerState, TerminatedInfo, crash_loop_backoff, containers_will_restart
from tinykube.kubelet.stages import Stage, stage_delay

NEW, CREATING, RUNNING = "new", "creating", "running"


def stamp(seconds: float) -> str:
    return time_text(seconds)


def image_id(image: str) -> str:
    import hashlib
    name = image.split("@")[0]
    return f"{name}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


@dataclass
class SimContainer:
    name: str
    image: str
    kind: str = "waiting"  # waiting | running | terminated
    reason: str = "ContainerCreating"
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int = 0
    restart_count: int = 0
    runs: int = 0  # starts so far; selects fail-times behaviour
    ready_at: float | None = None
    restart_at: float | None = None
    container_id: str = ""
    last: TerminatedInfo | None = None

    def start(self, now: float, ready_delay: float) -> None:
        if self.kind == "terminated":
            self.last = TerminatedInfo(exit_code=self.exit_code, reason=exit_reason(self.exit_code),
                                       started_at=stamp(self.started_at or now),
                                       finished_at=stamp(self.finished_at or now), container_id=self.container_id)
            self.restart_count += 1
        self.kind, self.reason = "running", ""
        self.started_at, self.finished_at, self.restart_at = now, None, None
        self.ready_at = now + ready_delay
        self.container_id = "tinykube://" + secrets.token_hex(32)
        self.runs += 1

    def stop(self, now: float, exit_code: int) -> None:
        self.kind, self.reason = "terminated", exit_reason(exit_code)
        self.exit_code, self.finished_at, self.ready_at = exit_code, now, None


def exit_reason(exit_code: int) -> str:
    return "Completed" if exit_code == 0 else "Error"


@dataclass
class SimPod:
    uid: str
    seen_at: float
    step: str = NEW
    create_at: float = 0.0
    start_at: float = 0.0
    ip: str | None = None
    started_time: float | None = None
    containers: list[SimContainer] = field(default_factory=list)
    terminate_at: float | None = None

    @classmethod
    def for_pod(cls, pod: dict[str, Any], now: float) -> "SimPod":
        """A fresh record, or one rebuilt from the status a previous agent run reported."""
        spec = pod.get("spec") or {}
        record = cls(uid=pod["metadata"].get("uid", ""), seen_at=now,
                     containers=[SimContainer(c.get("name", ""), c.get("image", "")) for c in spec.get("containers") or []])
        status = pod.get("status") or {}
        reported = {s.get("name"): s for s in status.get("containerStatuses") or []}
        if status.get("startTime") and reported:
            record.step = RUNNING if status.get("podIP") else CREATING
            record.ip = status.get("podIP")
            record.started_time = parse_time(status["startTime"]).timestamp()
            for ctr in record.containers:
                _restore(ctr, reported.get(ctr.name) or {}, now)
            if all(c.kind == "waiting" and c.reason == "ContainerCreating" for c in record.containers):
                record.step, record.start_at = CREATING, now
        return record


def _restore(ctr: SimContainer, reported: dict[str, Any], now: float) -> None:
    state = reported.get("state") or {}
    ctr.restart_count = int(reported.get("restartCount") or 0)
    ctr.runs = ctr.restart_count + (0 if "waiting" in state and not ctr.restart_count else 1)
    ctr.container_id = reported.get("containerID", "")
    if "running" in state:
        ctr.kind, ctr.reason = "running", ""
        ctr.started_at = parse_time(state["running"]["startedAt"]).timestamp() if state["running"].get("startedAt") else now
        ctr.ready_at = now if reported.get("ready") else ctr.started_at
    elif "terminated" in state:
        term = state["terminated"]
        ctr.kind, ctr.exit_code = "terminated", int(term.get("exitCode") or 0)
        ctr.reason = term.get("reason") or exit_reason(ctr.exit_code)
        ctr.started_at = parse_time(term["startedAt"]).timestamp() if term.get("startedAt") else now
        ctr.finished_at = parse_time(term["finishedAt"]).timestamp() if term.get("finishedAt") else now
    elif "waiting" in state:
        ctr.kind, ctr.reason = "waiting", state["waiting"].get("reason", "ContainerCreating")
        if ctr.reason == "CrashLoopBackOff":
            ctr.kind, ctr.finished_at = "terminated", now
            ctr.restart_at = now + crash_loop_backoff(max(0, ctr.restart_count - 1))


def ready_delay(pod: dict[str, Any], index: int, behaviour: Behaviour, stages: tuple[Stage, ...],
                rng: random.Random) -> float:
    """Readiness waits for the `ready` stage, ready-after and the probe's initial delay."""
    containers = (pod.get("spec") or {}).get("containers") or []
    probe = (containers[index].get("readinessProbe") if index < len(containers) else None) or {}
    probe_delay = float(probe.get("initialDelaySeconds") or 0) if probe else 0.0
    return max(stage_delay(stages, "ready", pod, rng), behaviour.ready_after, probe_delay)


def advance(record: SimPod, pod: dict[str, Any], behaviour: Behaviour, stages: tuple[Stage, ...], now: float,
            rng: random.Random) -> float | None:
    """Move the record to `now`; return the cluster time of its next change (None: nothing planned)."""
    if record.step == NEW:
        record.create_at = record.seen_at + stage_delay(stages, "create", pod, rng)
        record.step = "scheduled"
    if record.step == "scheduled":
        if now < record.create_at:
            return record.create_at
        record.step = CREATING
        record.started_time = record.create_at
        record.start_at = record.create_at + stage_delay(stages, "start", pod, rng)
    if record.step == CREATING:
        if now < record.start_at:
            return record.start_at
        record.step = RUNNING
        for i, ctr in enumerate(record.containers):
            ctr.start(record.start_at, ready_delay(pod, i, behaviour, stages, rng))
    restart_policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    wake: list[float] = []
    for i, ctr in enumerate(record.containers):
        _advance_container(ctr, i, pod, behaviour, stages, restart_policy, now, rng, wake)
    return min(wake) if wake else None


def _advance_container(ctr: SimContainer, index: int, pod: dict[str, Any], behaviour: Behaviour,
                       stages: tuple[Stage, ...], restart_policy: str, now: float, rng: random.Random,
                       wake: list[float]) -> None:
    for _ in range(1000):  # catch up on every exit and restart due by now
        if ctr.kind == "running":
            run = behaviour.run_length(ctr.runs - 1)
            if run is None or (ctr.started_at or now) + run > now:
                if run is not None:
                    wake.append((ctr.started_at or now) + run)
                _plan_readiness(ctr, behaviour, now, wake)
                return
            ctr.stop((ctr.started_at or now) + run, behaviour.exit_code_of(ctr.runs - 1))
            if containers_will_restart(restart_policy, ctr.exit_code):
                delay = 0.0 if ctr.restart_count == 0 else crash_loop_backoff(ctr.restart_count - 1)
                ctr.restart_at = (ctr.finished_at or now) + delay
            continue
        if ctr.kind == "terminated" and ctr.restart_at is not None:
            if now < ctr.restart_at:
                wake.append(ctr.restart_at)
                return
            ctr.start(ctr.restart_at, ready_delay(pod, index, behaviour, stages, rng))
            continue
        return


def _plan_readiness(ctr: SimContainer, behaviour: Behaviour, now: float, wake: list[float]) -> None:
    if ctr.ready_at is not None and ctr.ready_at > now:
        wake.append(ctr.ready_at)
    elif ctr.ready_at is not None and behaviour.ready_flap:
        elapsed = now - ctr.ready_at
        wake.append(ctr.ready_at + (int(elapsed // behaviour.ready_flap) + 1) * behaviour.ready_flap)


def is_ready(ctr: SimContainer, behaviour: Behaviour, now: float) -> bool:
    if ctr.kind != "running" or ctr.ready_at is None or now < ctr.ready_at:
        return False
    if behaviour.ready_flap:
        return int((now - ctr.ready_at) // behaviour.ready_flap) % 2 == 0
    return True


def container_states(record: SimPod, pod: dict[str, Any], behaviour: Behaviour, now: float) -> list[ContainerState]:
    out = []
    for ctr in record.containers:
        common = dict(name=ctr.name, image=ctr.image, image_id=image_id(ctr.image) if ctr.runs else "",
                      restart_count=ctr.restart_count, last_terminated=ctr.last,
                      container_id=ctr.container_id if ctr.runs else "")
        if ctr.kind == "running":
            out.append(ContainerState(kind="running", started_at=stamp(ctr.started_at or now),
                                      ready=is_ready(ctr, behaviour, now), started=True, **common))
        elif ctr.kind == "terminated" and ctr.restart_at is not None:
            last = TerminatedInfo(exit_code=ctr.exit_code, reason=ctr.reason, started_at=stamp(ctr.started_at or now),
                                  finished_at=stamp(ctr.finished_at or now), container_id=ctr.container_id)
            common["last_terminated"] = last
            out.append(ContainerState(kind="waiting", reason="CrashLoopBackOff" if ctr.restart_count else "",
                                      message="", ready=False, started=False, **common))
        elif ctr.kind == "terminated":
            out.append(ContainerState(kind="terminated", reason=ctr.reason, exit_code=ctr.exit_code,
                                      started_at=stamp(ctr.started_at or now),
                                      finished_at=stamp(ctr.finished_at or now), ready=False, started=False, **common))
        else:
            out.append(ContainerState(kind="waiting", reason=ctr.reason, ready=False, started=False, **common))
    return out
