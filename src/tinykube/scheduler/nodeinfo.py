"""Per-node aggregate state the scheduler filters and scores against.

A NodeInfo keeps running totals (requests, non-zero requests, host ports, per-owner pod
counts) so a filter or score is a few lookups, not a walk over the node's pods. Pods are
counted while Pending or Running (an assumed pod counts before it starts); terminal pods
(phase Succeeded or Failed) hold nothing and are dropped.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tinykube.scheduler.resources import (
    PodResources,
    Resources,
    host_ports,
    node_allocatable,
    pod_resources,
)

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
ALL_IPS = "0.0.0.0"


_GENERATIONS = itertools.count(1)  # unique across all NodeInfos: a re-created node never matches old verdicts


def pod_key(pod: dict[str, Any]) -> str:
    """The pod's uid (namespace/name when it has none, e.g. in tests)."""
    meta = pod.get("metadata") or {}
    return meta.get("uid") or f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def controller_uid(pod: dict[str, Any]) -> str | None:
    """The uid of the ownerReference marked controller, if any."""
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("uid") or None
    return None


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


@dataclass(frozen=True, slots=True)
class _Contribution:
    """What one pod added, remembered so removal subtracts exactly that."""

    resources: PodResources
    ports: tuple[tuple[str, str, int], ...]
    owner: str | None


@dataclass(slots=True)
class NodeInfo:
    node: dict[str, Any]
    # derived from the node by set_node()
    name: str = field(default="", init=False)
    allocatable: Resources = field(default_factory=Resources, init=False)
    taints: list[dict[str, Any]] = field(default_factory=list, init=False, repr=False)
    unschedulable: bool = field(default=False, init=False)
    # aggregates over the pods on the node, keyed by pod uid
    requested: Resources = field(default_factory=Resources, init=False)
    non_zero_requested: Resources = field(default_factory=Resources, init=False)
    pods: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    # (ip, protocol, port) -> number of pods using it; (protocol, port) -> same over all IPs
    used_ports: Counter[tuple[str, str, int]] = field(default_factory=Counter, init=False)
    used_ports_any_ip: Counter[tuple[str, int]] = field(default_factory=Counter, init=False)
    # controller ownerReference uid -> number of its pods on this node
    owner_counts: Counter[str] = field(default_factory=Counter, init=False)
    _contributions: dict[str, _Contribution] = field(default_factory=dict, init=False, repr=False)
    # bumped on every change, so a cached filter verdict or score for this node can be trusted
    generation: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.set_node(self.node)

    @classmethod
    def of(cls, node: dict[str, Any], pods: list[dict[str, Any]] | tuple[dict[str, Any], ...] = ()) -> NodeInfo:
        info = cls(node)
        for pod in pods:
            info.add_pod(pod)
        return info

    def set_node(self, node: dict[str, Any]) -> None:
        """Replace the node object (labels, taints, allocatable may have changed)."""
        self.node = node
        self.generation = next(_GENERATIONS)
        spec = node.get("spec") or {}
        self.name = (node.get("metadata") or {}).get("name") or ""
        self.allocatable = node_allocatable(node)
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))

    @property
    def pod_count(self) -> int:
        return len(self.pods)

    def add_pod(self, pod: dict[str, Any]) -> None:
        """Account for `pod` on this node; re-adding a known pod replaces its old version,
        and a terminal pod is removed instead of added."""
        key = pod_key(pod)
        self.generation = next(_GENERATIONS)
        if key in self._contributions:
            self._forget(key)
        if is_terminal(pod):
            return
        contribution = _Contribution(pod_resources(pod), tuple(host_ports(pod)), controller_uid(pod))
        self._apply(contribution, 1)
        self._contributions[key] = contribution
        self.pods[key] = pod

    def remove_pod(self, pod: dict[str, Any]) -> None:
        """Stop accounting for `pod`; unknown pods are ignored."""
        key = pod_key(pod)
        if key in self._contributions:
            self._forget(key)

    def has_pod(self, pod: dict[str, Any]) -> bool:
        return pod_key(pod) in self.pods

    def _forget(self, key: str) -> None:
        self.generation = next(_GENERATIONS)
        self._apply(self._contributions.pop(key), -1)
        del self.pods[key]

    def _apply(self, c: _Contribution, sign: int) -> None:
        self.requested.add(c.resources.requests, sign)
        self.non_zero_requested.milli_cpu += sign * c.resources.non_zero_milli_cpu
        self.non_zero_requested.memory += sign * c.resources.non_zero_memory
        for ip, protocol, port in c.ports:
            _bump(self.used_ports, (ip, protocol, port), sign)
            _bump(self.used_ports_any_ip, (protocol, port), sign)
        if c.owner is not None:
            _bump(self.owner_counts, c.owner, sign)

    def port_conflicts(self, ip: str, protocol: str, port: int) -> bool:
        """Would binding (ip, protocol, port) clash with a port already used here?
        0.0.0.0 clashes with the same protocol/port on any IP, and vice versa."""
        if port <= 0:
            return False
        if ip == ALL_IPS:
            return (protocol, port) in self.used_ports_any_ip
        return (ALL_IPS, protocol, port) in self.used_ports or (ip, protocol, port) in self.used_ports

    def clone(self) -> NodeInfo:
        """An independent copy (for what-if checks such as preemption)."""
        twin = NodeInfo.__new__(NodeInfo)
        twin.node = self.node
        twin.name = self.name
        twin.allocatable = self.allocatable
        twin.taints = self.taints
        twin.unschedulable = self.unschedulable
        twin.requested = self.requested.copy()
        twin.non_zero_requested = self.non_zero_requested.copy()
        twin.pods = dict(self.pods)
        twin.used_ports = Counter(self.used_ports)
        twin.used_ports_any_ip = Counter(self.used_ports_any_ip)
        twin.owner_counts = Counter(self.owner_counts)
        twin._contributions = dict(self._contributions)
        twin.generation = -1  # a what-if copy: never matches a cached verdict
        return twin


def _bump(counter: Counter[Any], key: Any, sign: int) -> None:
    value = counter[key] + sign
    if value > 0:
        counter[key] = value
    else:
        counter.pop(key, None)
