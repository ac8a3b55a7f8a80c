"""What a simulated container does, chosen by annotations on the pod (or its template).

    sim.tinykube.io/exit-after: 30s     containers exit this long after starting
    sim.tinykube.io/exit-code: "1"      ... with this code (default 0)
    sim.tinykube.io/fail-times: "2"     the first N runs exit with code 1 (after exit-after, default 1s),
                                        later runs behave as the other annotations say
    sim.tinykube.io/ready-after: 5s     not Ready until this long after starting
    sim.tinykube.io/ready-flap: 10s     Readiness flips every period once Ready
    sim.tinykube.io/cpu: 250m           reported CPU usage (metrics)
    sim.tinykube.io/memory: 64Mi        reported memory usage (metrics)

Without annotations a container runs until deleted, except in pods a Job owns: those exit 0
after a short run (JOB_DEFAULT_RUN), so Jobs complete as they would with a real command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tinykube.kubelet.stages import parse_duration
from tinykube.machinery.quantity import parse_quantity

PREFIX = "sim.tinykube.io/"
JOB_DEFAULT_RUN = 1.0  # seconds a Job's simulated container runs before exiting 0
FAIL_DEFAULT_RUN = 1.0


@dataclass(frozen=True)
class Behaviour:
    exit_after: float | None = None
    exit_code: int = 0
    fail_times: int = 0
    ready_after: float = 0.0
    ready_flap: float | None = None
    cpu_millis: int = 0
    memory_bytes: int = 0
    problems: tuple[str, ...] = ()  # annotations we could not read (reported as an event)

    def run_length(self, run: int) -> float | None:
        """How long the `run`-th start (0-based) lasts, or None when it runs until stopped."""
        if run < self.fail_times:
            return self.exit_after if self.exit_after is not None else FAIL_DEFAULT_RUN
        return self.exit_after

    def exit_code_of(self, run: int) -> int:
        return 1 if run < self.fail_times else self.exit_code


def _owned_by_job(pod: dict[str, Any]) -> bool:
    return any(ref.get("kind") == "Job" and ref.get("controller")
               for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


def behaviour_of(pod: dict[str, Any]) -> Behaviour:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    values: dict[str, Any] = {}
    problems: list[str] = []

    def read(name: str, parse: Any) -> None:
        raw = annotations.get(PREFIX + name)
        if raw is None:
            return
        try:
            values[name] = parse(raw)
        except (ValueError, TypeError, ArithmeticError) as exc:
            problems.append(f"{PREFIX}{name}: {exc}")

    read("exit-after", parse_duration)
    read("exit-code", lambda v: int(v))
    read("fail-times", lambda v: max(0, int(v)))
    read("ready-after", parse_duration)
    read("ready-flap", parse_duration)
    read("cpu", lambda v: parse_quantity(str(v)).milli())
    read("memory", lambda v: math.ceil(parse_quantity(str(v)).value))
    exit_after = values.get("exit-after")
    if exit_after is None and _owned_by_job(pod):
        exit_after = JOB_DEFAULT_RUN
    flap = values.get("ready-flap")
    return Behaviour(exit_after=exit_after, exit_code=values.get("exit-code", 0),
                     fail_times=values.get("fail-times", 0), ready_after=values.get("ready-after", 0.0),
                     ready_flap=flap if flap else None, cpu_millis=values.get("cpu", 0),
                     memory_bytes=values.get("memory", 0), problems=tuple(problems))
