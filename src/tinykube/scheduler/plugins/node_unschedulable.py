"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take no new pods, unless the pod
tolerates the node.kubernetes.io/unschedulable:NoSchedule taint (as DaemonSet pods do)."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.taints import NO_SCHEDULE, tolerations_tolerate
from tinykube.scheduler.framework import SKIP, SUCCESS, CycleState, Status, unresolvable
from tinykube.scheduler.nodeinfo import NodeInfo

NAME = "NodeUnschedulable"
ERR_REASON = "node(s) were unschedulable"
TAINT_UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "effect": NO_SCHEDULE}


class NodeUnschedulable:
    name = NAME
    _reject = unresolvable(ERR_REASON, plugin=NAME)

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        tolerations = (pod.get("spec") or {}).get("tolerations") or ()
        return SKIP if tolerations_tolerate(tolerations, TAINT_UNSCHEDULABLE) else SUCCESS

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        return self._reject if node_info.unschedulable else SUCCESS
