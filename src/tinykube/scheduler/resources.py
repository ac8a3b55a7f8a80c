"""Pod requests and node allocatable in the integer units the scheduler compares.

cpu is in millicores, memory and ephemeral-storage in bytes (rounded up, like Quantity.Value),
and "scalar" resources (extended resources such as `example.com/gpu`, `hugepages-*`,
`kubernetes.io/*`-prefixed and `attachable-volumes-*`) as integer counts. Anything else a pod
asks for (e.g. an unprefixed unknown name) is ignored, as upstream.

A pod's request is what it needs at its peak: the sum of its containers, or the largest
init container if that is bigger (an init container runs alongside the sidecars started
before it; sidecars, i.e. init containers with restartPolicy Always, keep running and so
count like regular containers), plus spec.overhead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable

from tinykube.machinery.quantity import parse_quantity

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"

# used for scoring when a container states no request, so empty pods still spread
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


def is_scalar_resource_name(name: str) -> bool:
    """Resources the scheduler tracks besides cpu/memory/ephemeral-storage/pods."""
    if name.startswith("hugepages-") or name.startswith("attachable-volumes-"):
        return True
    if "/" not in name:
        return False
    if "kubernetes.io/" in name:
        return True  # prefixed native resource
    return not name.startswith("requests.")  # extended resource


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


_SIMPLE = re.compile(r"^([0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_MULTIPLIER = {None: 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
               "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def quantity_units(name: str, text: Any) -> int:
    """One quantity in the scheduler's unit for resource `name` (0 if it does not parse)."""
    text = str(text)
    simple = _SIMPLE.match(text)
    if simple:  # the common "500m" / "2" / "1Gi" forms, without Fraction arithmetic
        number, suffix = int(simple.group(1)), simple.group(2)
        if suffix == "m":
            return number if name == CPU else -(-number // 1000)
        whole = number * _MULTIPLIER[suffix]
        return whole * 1000 if name == CPU else whole
    try:
        q = parse_quantity(text)
    except ValueError:
        return 0
    return q.milli() if name == CPU else _ceil(q.value)


@dataclass(slots=True)
class Resources:
    """An amount of compute resources; `allowed_pods` is only meaningful for allocatable."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    scalars: dict[str, int] = field(default_factory=dict)
    allowed_pods: int = 0

    @classmethod
    def from_list(cls, resource_list: dict[str, Any] | None) -> Resources:
        out = cls()
        out.add_list(resource_list)
        return out

    def add_list(self, resource_list: dict[str, Any] | None) -> None:
        for name, text in (resource_list or {}).items():
            if name == CPU:
                self.milli_cpu += quantity_units(name, text)
            elif name == MEMORY:
                self.memory += quantity_units(name, text)
            elif name == EPHEMERAL_STORAGE:
                self.ephemeral_storage += quantity_units(name, text)
            elif name == PODS:
                self.allowed_pods += quantity_units(name, text)
            elif is_scalar_resource_name(name):
                self.scalars[name] = self.scalars.get(name, 0) + quantity_units(name, text)

    def add(self, other: Resources, sign: int = 1) -> None:
        """In place: self += sign * other (scalars that drop to zero are kept at 0)."""
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        for name, amount in other.scalars.items():
            self.scalars[name] = self.scalars.get(name, 0) + sign * amount

    def maximize(self, other: Resources) -> None:
        """In place: each dimension becomes the larger of self and other."""
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for name, amount in other.scalars.items():
            self.scalars[name] = max(self.scalars.get(name, 0), amount)

    def copy(self) -> Resources:
        return Resources(self.milli_cpu, self.memory, self.ephemeral_storage, dict(self.scalars),
                         self.allowed_pods)

    def is_zero(self) -> bool:
        return not (self.milli_cpu or self.memory or self.ephemeral_storage
                    or any(self.scalars.values()))

    def get(self, name: str) -> int:
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        if name == PODS:
            return self.allowed_pods
        return self.scalars.get(name, 0)


def _is_sidecar(container: dict[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def _with_defaults(requests: dict[str, Any], res: Resources) -> Resources:
    """`res` plus the scoring defaults for cpu/memory when `requests` lacks the key
    (an explicit "0" is kept as 0)."""
    out = res.copy()
    if CPU not in requests:
        out.milli_cpu += DEFAULT_MILLI_CPU_REQUEST
    if MEMORY not in requests:
        out.memory += DEFAULT_MEMORY_REQUEST
    return out


def _peak(own_requests: list[tuple[Resources, bool]], containers: list[Resources],
          overhead: Resources | None) -> Resources:
    """max(sum of containers and sidecars, each init container plus the sidecars started
    before it) + overhead; `own_requests` are the init containers as (requests, is_sidecar)."""
    total = Resources()
    for res in containers:
        total.add(res)
    init_peak = Resources()
    sidecars = Resources()
    for own, sidecar in own_requests:
        if sidecar:
            total.add(own)
            sidecars.add(own)
            init_peak.maximize(sidecars)
        else:
            running = own.copy()
            running.add(sidecars)
            init_peak.maximize(running)
    total.maximize(init_peak)
    if overhead is not None:
        total.add(overhead)
    return total


def _requests_both(pod: dict[str, Any], want_plain: bool, want_non_zero: bool) -> tuple[Resources, Resources]:
    spec = pod.get("spec") or {}
    plain_c, non_zero_c = [], []
    for container in spec.get("containers") or ():
        requests = ((container.get("resources") or {}).get("requests")) or {}
        res = Resources.from_list(requests)
        plain_c.append(res)
        if want_non_zero:
            non_zero_c.append(_with_defaults(requests, res))
    plain_i, non_zero_i = [], []
    for container in spec.get("initContainers") or ():
        requests = ((container.get("resources") or {}).get("requests")) or {}
        res = Resources.from_list(requests)
        sidecar = _is_sidecar(container)
        plain_i.append((res, sidecar))
        if want_non_zero:
            non_zero_i.append((_with_defaults(requests, res), sidecar))
    overhead = Resources.from_list(spec["overhead"]) if spec.get("overhead") else None
    plain = _peak(plain_i, plain_c, overhead) if want_plain else Resources()
    non_zero = _peak(non_zero_i, non_zero_c, overhead) if want_non_zero else Resources()
    return plain, non_zero


def pod_requests(pod: dict[str, Any], non_zero: bool = False) -> Resources:
    """The pod's effective request (see the module docstring).

    With `non_zero`, each container (and init container) lacking a cpu or memory request
    counts 100m / 200Mi, which is what the scheduler's spreading scores use.
    """
    plain, with_defaults = _requests_both(pod, not non_zero, non_zero)
    return with_defaults if non_zero else plain


@dataclass(frozen=True, slots=True)
class PodResources:
    """What a pod adds to a node: its requests and its non-zero cpu/memory for scoring."""

    requests: Resources
    non_zero_milli_cpu: int
    non_zero_memory: int


def pod_resources(pod: dict[str, Any]) -> PodResources:
    plain, non_zero = _requests_both(pod, True, True)
    return PodResources(plain, non_zero.milli_cpu, non_zero.memory)


def node_allocatable(node: dict[str, Any]) -> Resources:
    """status.allocatable (falling back to status.capacity when unset), including "pods"."""
    status = node.get("status") or {}
    return Resources.from_list(status.get("allocatable") or status.get("capacity") or {})


def host_ports(pod: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) for every container port with a hostPort, including
    sidecars; an empty hostIP means 0.0.0.0 and an empty protocol TCP."""
    spec = pod.get("spec") or {}
    containers: Iterable[dict[str, Any]] = [
        *(c for c in spec.get("initContainers") or () if _is_sidecar(c)),
        *(spec.get("containers") or ()),
    ]
    out = []
    for container in containers:
        for port in container.get("ports") or ():
            number = int(port.get("hostPort") or 0)
            if number > 0:
                out.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", number))
    return out
