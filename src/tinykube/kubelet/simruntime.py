"""The simulated runtime behind the agent's `Runtime` interface: `sim.py`'s state machine.

Pods get addresses from their node's podCIDR (the agent's allocator), live the life their
`sim.tinykube.io/*` annotations and the stage delays give them, and take the `terminate`
stage's delay (bounded by the grace period) to stop.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from tinykube.client.events import EventRecorder
from tinykube.kubelet.behaviour import behaviour_of
from tinykube.kubelet.podstatus import ContainerState, killed_status
from tinykube.kubelet.attach import Attachment
from tinykube.kubelet.execproc import ExecError, ExecProcess, exec_failure
from tinykube.kubelet.runtime import ContainerNotFound, NodeView, PodReport
from tinykube.kubelet.sim import CREATING, RUNNING, SimPod, advance, container_states, stamp
from tinykube.kubelet.stages import Stage, stage_delay

Obj = dict[str, Any]

SIM_RUNTIME = "tinykube-sim://0.1.0"


class SimRuntime:
    version = SIM_RUNTIME
    host_network = False

    def __init__(self, stages: tuple[Stage, ...], rng: random.Random, recorder: EventRecorder | None,
                 allocate_ip: Callable[[Any, str], str], claim_ip: Callable[[Any, str, str], None],
                 clock: Any = None) -> None:
        self.clock = clock  # only attach sessions wait on it
        self.stages = stages
        self.rng = rng
        self.recorder = recorder
        self.allocate_ip = allocate_ip
        self.claim_ip = claim_ip
        self.records: dict[str, SimPod] = {}

    async def start(self) -> None:
        return None

    def uid_of(self, key: str) -> str | None:
        record = self.records.get(key)
        return record.uid if record is not None else None

    async def sync(self, key: str, pod: Obj, node: NodeView, now: float) -> PodReport:
        record = self.records.get(key)
        if record is None:
            record = self.records[key] = SimPod.for_pod(pod, now)
            if record.ip:
                self.claim_ip(node, key, record.ip)
        behaviour = behaviour_of(pod)
        before = record.step
        wake = advance(record, pod, behaviour, self.stages, now, self.rng)
        if record.step in (CREATING, RUNNING) and record.ip is None:
            record.ip = self.allocate_ip(node, key)
        if record.step not in (CREATING, RUNNING):
            return PodReport(write=False, wake=wake)
        after = record.step
        return PodReport(init_containers=_init_states(pod, record),
                         containers=container_states(record, pod, behaviour, now), pod_ip=record.ip,
                         start_time=stamp(record.started_time or now), wake=wake,
                         after_write=(lambda: self._record_transition(pod, after, behaviour))
                         if before != after else None)

    def _record_transition(self, pod: Obj, after: str, behaviour: Any) -> None:
        if self.recorder is None:
            return
        if behaviour.problems:
            self.recorder.event(pod, "Warning", "InvalidSimulation", "; ".join(behaviour.problems))
        if after == RUNNING:
            for ctr in (pod.get("spec") or {}).get("containers") or []:
                path = f"spec.containers{{{ctr.get('name')}}}"
                self.recorder.event(pod, "Normal", "Pulled",
                                    f'Container image "{ctr.get("image")}" already present on machine', path)
                self.recorder.event(pod, "Normal", "Created", f"Created container: {ctr.get('name')}", path)
                self.recorder.event(pod, "Normal", "Started", f"Started container {ctr.get('name')}", path)

    async def terminate(self, key: str, pod: Obj, node: NodeView, now: float) -> float | None:
        record = self.records.get(key)
        if record is None:
            record = self.records[key] = SimPod.for_pod(pod, now)
        if record.terminate_at is None:
            grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
            record.terminate_at = now + min(grace, stage_delay(self.stages, "terminate", pod, self.rng))
            if self.recorder and record.step == RUNNING:
                for ctr in (pod.get("spec") or {}).get("containers") or []:
                    self.recorder.event(pod, "Normal", "Killing", f"Stopping container {ctr.get('name')}",
                                        f"spec.containers{{{ctr.get('name')}}}")
        if now < record.terminate_at:
            return record.terminate_at - now
        return None

    def _running(self, key: str, container: str) -> bool:
        record = self.records.get(key)
        return record is not None and record.step == RUNNING and any(
            c.name == container and c.kind == "running" for c in record.containers)

    async def exec_stream(self, key: str, container: str, argv: list[str], *, tty: bool,
                          stdin: bool) -> ExecProcess:
        """Simulated containers run no process and have no files: a running one answers every
        command as a container without that binary would."""
        if not self._running(key, container):
            raise ContainerNotFound(container)
        missing = FileNotFoundError(2, "No such file or directory")
        raise ExecError(exec_failure("tinykube://" + self.records[key].uid, argv, missing))

    def attach_stream(self, key: str, container: str) -> Attachment:
        """A simulated container prints nothing: silent until it stops running."""
        if not self._running(key, container):
            raise ContainerNotFound(container)
        return Attachment(self.clock, None, lambda: self._running(key, container))

    def final_status(self, key: str, pod: Obj, node: NodeView, now: str) -> Obj:
        return killed_status(pod, now)

    def forget(self, key: str, *, deleted: bool = False) -> None:
        self.records.pop(key, None)

    async def shutdown(self) -> None:
        return None


def _init_states(pod: Obj, record: SimPod) -> list[ContainerState]:
    """Init containers of a simulated pod finish the moment its containers start."""
    out = []
    for ctr in (pod.get("spec") or {}).get("initContainers") or []:
        if record.step == RUNNING:
            out.append(ContainerState(name=ctr.get("name", ""), kind="terminated", reason="Completed", exit_code=0,
                                      started_at=stamp(record.start_at), finished_at=stamp(record.start_at),
                                      image=ctr.get("image", ""), ready=True, started=False,
                                      container_id="tinykube://init-" + record.uid))
        else:
            out.append(ContainerState(name=ctr.get("name", ""), kind="waiting", reason="PodInitializing",
                                      image=ctr.get("image", ""), ready=False, started=False))
    return out
