"""OwnerSpread: spread the pods of one controller (ReplicaSet, StatefulSet, Job...) across nodes.

This stands in for upstream's default PodTopologySpread constraints (the system defaults
that spread pods of the same Service/ReplicaSet/StatefulSet over hostnames and zones):
pods are grouped by their controller ownerReference, and a node already running fewer pods
of the same controller scores higher, normalized to 0..100. Pods without a controller owner
are not scored by it.
"""

from __future__ import annotations

from typing import Any, Sequence

from tinykube.scheduler.framework import SKIP, SUCCESS, CycleState, Status, default_normalize
from tinykube.scheduler.nodeinfo import NodeInfo, controller_uid

NAME = "OwnerSpread"


class OwnerSpread:
    name = NAME

    def __init__(self, weight: int = 2) -> None:
        self.weight = weight

    def pre_score(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo]) -> Status:
        owner = controller_uid(pod)
        if owner is None:
            return SKIP
        state[NAME] = owner
        return SUCCESS

    def score(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> int:
        """How many pods of the same controller the node already runs (normalized later)."""
        return node_info.owner_counts.get(state[NAME], 0)

    def normalize(self, state: CycleState, pod: dict[str, Any], scores: list[int]) -> None:
        default_normalize(scores, reverse=True)
