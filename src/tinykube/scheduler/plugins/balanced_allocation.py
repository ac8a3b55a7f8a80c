"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be used in similar
proportions once the pod lands: score = (1 - std-dev of the used fractions) * 100.

It uses the real requests (no defaults), and sits out pods that request neither cpu nor
memory, so such pods do not all pile onto one node.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from tinykube.scheduler.framework import MAX_NODE_SCORE, SKIP, SUCCESS, CycleState, Status
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.resources import pod_requests

NAME = "NodeResourcesBalancedAllocation"


def balanced_score(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    """(1 - std) * 100 over the fractions requested/allocatable (each capped at 1),
    ignoring resources the node has none of."""
    fractions = [min(r / a, 1.0) for r, a in zip(requested, allocatable) if a != 0]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    name = NAME

    def __init__(self, weight: int = 1) -> None:
        self.weight = weight

    def pre_score(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo]) -> Status:
        request = pod_requests(pod)
        if request.milli_cpu == 0 and request.memory == 0:
            return SKIP
        state[NAME] = (request.milli_cpu, request.memory)
        return SUCCESS

    def score(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> int:
        cpu, memory = state[NAME]
        alloc, used = node_info.allocatable, node_info.requested
        return balanced_score((used.milli_cpu + cpu, used.memory + memory), (alloc.milli_cpu, alloc.memory))
