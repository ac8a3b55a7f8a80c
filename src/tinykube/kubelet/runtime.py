"""What the node agent asks of a container runtime.

The agent owns the nodes (registration, leases, pod addresses, the API writes); a runtime owns
what runs on them. Two implement it: `simruntime.SimRuntime` (containers that run no process,
every simulated node and, with `--local-runtime sim`, the local node) and
`process.ProcessRuntime` (real processes on this machine, the local node by default). The
agent turns a runtime's `PodReport` into the pod's status with `podstatus.build_pod_status`,
so both report the same shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from tinykube.kubelet.podstatus import ContainerState

if TYPE_CHECKING:
    from tinykube.kubelet.attach import Attachment
    from tinykube.kubelet.execproc import ExecProcess

Obj = dict[str, Any]


class ContainerNotFound(Exception):
    """exec/attach into a container that does not run now (the kubelet's words)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"container not found ({json.dumps(name)})")


class NodeView(Protocol):
    """The node a pod runs on, as the runtime sees it."""

    name: str
    address: str


@dataclass
class PodReport:
    """What the runtime knows about one pod now."""

    init_containers: list[ContainerState] = field(default_factory=list)
    containers: list[ContainerState] = field(default_factory=list)
    pod_ip: str | None = None
    start_time: str | None = None
    write: bool = True  # False: nothing to report yet (the status stays as it is)
    wake: float | None = None  # cluster time at which the agent should sync the pod again
    after_write: Callable[[], None] | None = None  # e.g. events for a transition just reported


class Runtime(Protocol):
    version: str  # the node's status.nodeInfo.containerRuntimeVersion
    host_network: bool  # pods get the node's address instead of one from its podCIDR

    async def start(self) -> None:
        """Before the first pod: clean up after an earlier run of the agent."""

    def uid_of(self, key: str) -> str | None:
        """The UID of the pod the runtime runs under `key` (None: it runs none)."""

    async def sync(self, key: str, pod: Obj, node: NodeView, now: float) -> PodReport:
        """Bring the pod's containers to what its spec asks and report them."""

    async def terminate(self, key: str, pod: Obj, node: NodeView, now: float) -> float | None:
        """Stop a deleted pod within its grace period; seconds until to look again, None once stopped."""

    def final_status(self, key: str, pod: Obj, node: NodeView, now: str) -> Obj:
        """The terminal status of a stopped pod that outlives its deletion (finalizers)."""

    def forget(self, key: str, *, deleted: bool = False) -> None:
        """Drop the pod (kill what still runs); `deleted`: also remove what it left on disk."""

    async def shutdown(self) -> None:
        """The agent stops: stop everything that runs."""

    async def exec_stream(self, key: str, container: str, argv: list[str], *, tty: bool,
                          stdin: bool) -> "ExecProcess":
        """Start `argv` inside a running container of the pod (ContainerNotFound if none runs;
        execproc.ExecError if it cannot start)."""

    def attach_stream(self, key: str, container: str) -> "Attachment":
        """Follow a running container's output from now on (ContainerNotFound if none runs)."""
