"""NodeResourcesFit: the node must have room for the pod's requests; among fitting nodes the
least allocated (by cpu and memory, weights 1/1, counting default requests for containers
that state none) scores highest."""

from __future__ import annotations

from typing import Any, Sequence

from tinykube.scheduler.framework import MAX_NODE_SCORE, SUCCESS, CycleState, Status, unschedulable
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.resources import pod_requests

NAME = "NodeResourcesFit"
_SCORE_KEY = NAME + "/score"
TOO_MANY_PODS = "Too many pods"


def insufficient_resources(request: Any, node_info: NodeInfo) -> list[str]:
    """Every reason the pod (with `request`, a Resources) does not fit, in upstream's order:
    pods, cpu, memory, ephemeral-storage, then the other resources by name."""
    reasons = []
    if node_info.pod_count + 1 > node_info.allocatable.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    if request.is_zero():
        return reasons
    alloc, used = node_info.allocatable, node_info.requested
    if request.milli_cpu > 0 and request.milli_cpu > alloc.milli_cpu - used.milli_cpu:
        reasons.append("Insufficient cpu")
    if request.memory > 0 and request.memory > alloc.memory - used.memory:
        reasons.append("Insufficient memory")
    if request.ephemeral_storage > 0 and request.ephemeral_storage > alloc.ephemeral_storage - used.ephemeral_storage:
        reasons.append("Insufficient ephemeral-storage")
    for name in sorted(request.scalars):
        amount = request.scalars[name]
        if amount and amount > alloc.scalars.get(name, 0) - used.scalars.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def least_requested_score(requested: int, capacity: int) -> int:
    """0..100, higher the more of `capacity` stays free."""
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


class NodeResourcesFit:
    name = NAME

    def __init__(self, weight: int = 1) -> None:
        self.weight = weight

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        state[NAME] = pod_requests(pod)
        return SUCCESS

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        reasons = insufficient_resources(state[NAME], node_info)
        if reasons:
            return unschedulable(*reasons, plugin=NAME)
        return SUCCESS

    def pre_score(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo]) -> Status:
        non_zero = pod_requests(pod, non_zero=True)
        state[_SCORE_KEY] = (non_zero.milli_cpu, non_zero.memory)
        return SUCCESS

    def score(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> int:
        cpu, memory = state[_SCORE_KEY]
        alloc, used = node_info.allocatable, node_info.non_zero_requested
        total = weights = 0
        if alloc.milli_cpu:
            total += least_requested_score(used.milli_cpu + cpu, alloc.milli_cpu)
            weights += 1
        if alloc.memory:
            total += least_requested_score(used.memory + memory, alloc.memory)
            weights += 1
        return total // weights if weights else 0
