"""Usage arithmetic: per-container usage of a pod, sums per pod and node, and the quantity
strings metrics-server writes (CPU in nanocores, memory in KiB).

Simulated pods use what their `sim.tinykube.io/cpu` and `sim.tinykube.io/memory` annotations
say, for each running container; a runtime that measures real processes supplies its own
`UsageSource`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from tinykube.kubelet.behaviour import behaviour_of

Obj = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    cpu_millis: float = 0.0
    memory_bytes: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu_millis + other.cpu_millis, self.memory_bytes + other.memory_bytes)

    def as_quantities(self) -> dict[str, str]:
        """As metrics-server writes usage: `cpu` in nanocores (`250000000n`), `memory` in KiB."""
        nanocores = int(round(self.cpu_millis * 1_000_000))
        kib = int(math.ceil(self.memory_bytes / 1024))
        return {"cpu": f"{nanocores}n" if nanocores else "0", "memory": f"{kib}Ki" if kib else "0"}


class UsageSource(Protocol):
    def __call__(self, pod: Obj) -> dict[str, Usage] | None:
        """Usage per running container of `pod`, or None when there is no measurement."""


def running_containers(pod: Obj) -> list[str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return [cs["name"] for cs in statuses if "running" in (cs.get("state") or {})]


def simulated_usage(pod: Obj) -> dict[str, Usage] | None:
    """A simulated pod's running containers each use what the pod's annotations say."""
    if (pod.get("status") or {}).get("phase") != "Running":
        return None
    names = running_containers(pod)
    if not names:
        return None
    behaviour = behaviour_of(pod)
    each = Usage(float(behaviour.cpu_millis), behaviour.memory_bytes)
    return {name: each for name in names}


def total(usages: Iterable[Usage]) -> Usage:
    out = Usage()
    for usage in usages:
        out = out + usage
    return out


def pod_total(per_container: dict[str, Usage] | None) -> Usage | None:
    return None if per_container is None else total(per_container.values())


def node_usage(pods: Iterable[Obj], source: Callable[[Obj], dict[str, Usage] | None]) -> Usage:
    """A node's usage: the sum over the pods running on it."""
    return total(t for p in pods if (t := pod_total(source(p))) is not None)
