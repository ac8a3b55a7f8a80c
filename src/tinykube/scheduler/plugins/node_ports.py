"""NodePorts: a pod's host ports must be free on the node (hostIP 0.0.0.0 clashes with any IP)."""

from __future__ import annotations

from typing import Any

from tinykube.scheduler.framework import SKIP, SUCCESS, CycleState, Status, unschedulable
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.resources import host_ports

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts:
    name = NAME
    _reject = unschedulable(ERR_REASON, plugin=NAME)

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        ports = host_ports(pod)
        if not ports:
            return SKIP
        state[NAME] = ports
        return SUCCESS

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        if not node_info.used_ports:
            return SUCCESS
        for ip, protocol, port in state[NAME]:
            if node_info.port_conflicts(ip, protocol, port):
                return self._reject
        return SUCCESS
