"""TaintToleration: a pod may not land on a node with a NoSchedule/NoExecute taint it does
not tolerate; among the rest, nodes with fewer untolerated PreferNoSchedule taints score higher."""

from __future__ import annotations

from typing import Any, Sequence

from tinykube.machinery.taints import NO_EXECUTE, NO_SCHEDULE, PREFER_NO_SCHEDULE, find_untolerated_taint, tolerates
from tinykube.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Status,
    default_normalize,
    unresolvable,
)
from tinykube.scheduler.nodeinfo import NodeInfo

NAME = "TaintToleration"
_FILTER_EFFECTS = frozenset({NO_SCHEDULE, NO_EXECUTE})
_SCORE_KEY = NAME + "/score"


def untolerated_reason(taint: dict[str, Any]) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key') or ''}: {taint.get('value') or ''}}}"


def _tolerates_everything(toleration: dict[str, Any]) -> bool:
    return (not toleration.get("key") and toleration.get("operator") == "Exists"
            and not toleration.get("effect"))


class TaintToleration:
    name = NAME

    def __init__(self, weight: int = 3) -> None:
        self.weight = weight

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        if any(_tolerates_everything(t) for t in tolerations):
            return SKIP
        state[NAME] = tolerations
        return SUCCESS

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        if not node_info.taints:
            return SUCCESS
        taint = find_untolerated_taint(node_info.taints, state[NAME], _FILTER_EFFECTS)
        if taint is None:
            return SUCCESS
        return unresolvable(untolerated_reason(taint), plugin=NAME)

    def pre_score(self, state: CycleState, pod: dict[str, Any], node_infos: Sequence[NodeInfo]) -> Status:
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        state[_SCORE_KEY] = [t for t in tolerations if (t.get("effect") or PREFER_NO_SCHEDULE) == PREFER_NO_SCHEDULE]
        return SUCCESS

    def score(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> int:
        """The number of PreferNoSchedule taints the pod does not tolerate (normalized later)."""
        if not node_info.taints:
            return 0
        tolerations = state[_SCORE_KEY]
        return sum(1 for taint in node_info.taints
                   if taint.get("effect") == PREFER_NO_SCHEDULE
                   and not any(tolerates(t, taint) for t in tolerations))

    def normalize(self, state: CycleState, pod: dict[str, Any], scores: list[int]) -> None:
        default_normalize(scores, reverse=True)
