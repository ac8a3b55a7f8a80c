"""NodeName: a pod that names its node (spec.nodeName) fits only that node."""

from __future__ import annotations

from typing import Any

from tinykube.scheduler.framework import SKIP, SUCCESS, CycleState, Status, unresolvable
from tinykube.scheduler.nodeinfo import NodeInfo

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"


class NodeName:
    name = NAME
    _reject = unresolvable(ERR_REASON, plugin=NAME)

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        wanted = (pod.get("spec") or {}).get("nodeName")
        if not wanted:
            return SKIP
        state[NAME] = wanted
        return SUCCESS

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        return SUCCESS if state[NAME] == node_info.name else self._reject
