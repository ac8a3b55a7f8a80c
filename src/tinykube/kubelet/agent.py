"""The node agent for the server's own node and for every simulated node.

One agent serves many nodes (a thousand simulated nodes cost one informer, one workqueue
and one heartbeat loop, not a thousand kubelets). Per node it does what a kubelet does:
registers the Node, renews its Lease in kube-node-lease, keeps the Ready condition, and
runs the pods bound to it through a `runtime.Runtime`: simulated nodes with the simulated
runtime (`simruntime.py`), the local node with the process runtime (`process.py`) or, with
`--local-runtime sim`, the simulated one too. A simulated node annotated
`sim.tinykube.io/kubelet=stopped` goes silent, as if its kubelet died.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from tinykube.client.api import LEASES, NODES, PODS, Client, Obj, object_key
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_node_name
from tinykube.client.workqueue import WorkQueue, run_workers
from tinykube.kubelet import node as nodes
from tinykube.kubelet.podstatus import build_pod_status, pod_is_terminal
from tinykube.kubelet.runtime import Runtime
from tinykube.kubelet.sandbox import ipam
from tinykube.kubelet.simruntime import SIM_RUNTIME, SimRuntime
from tinykube.kubelet.stages import DEFAULT_STAGES, Stage
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

SIM_OS_IMAGE = "tinykube simulated node"
POD_WORKERS = 16
HEARTBEATS_AT_ONCE = 50  # node heartbeats written concurrently


@dataclass
class ManagedNode:
    name: str
    address: str
    cidr: str
    stopped: bool = False
    next_lease: float = 0.0
    next_status: float = 0.0
    ips: dict[int, str] = field(default_factory=dict)  # offset in the /24 -> pod key


def sim_node_name(index: int) -> str:
    return f"sim-{index}"


class NodeAgent:
    """Registers and heartbeats its nodes and runs their pods on the simulated runtime."""

    def __init__(self, client: Client, clock: Any, informers: InformerFactory, *, local_node: str | None,
                 sim_nodes: int = 0, stages: tuple[Stage, ...] = DEFAULT_STAGES, rng: random.Random | None = None,
                 record_events: bool = True, local_runtime: Callable[["NodeAgent"], Runtime] | None = None,
                 max_pods: int = 110, own_simulated: bool = True, local_address: str = "127.0.0.1",
                 local_labels: dict[str, str] | None = None, identity: str = "") -> None:
        self.client = client
        self.own_simulated = own_simulated  # False for `tinykube agent`: the server runs simulated nodes
        # several servers may share one store: each runs only the simulated nodes marked with its identity
        self.identity = identity
        self.local_address = local_address
        self.local_labels = {"node-role.kubernetes.io/control-plane": ""} if local_labels is None else local_labels
        self.clock = clock
        self.local_node = local_node
        self.sim_nodes = sim_nodes
        self.stages = stages
        self.max_pods = max_pods  # the local node's pod capacity (the kubelet's --max-pods)
        self.rng = rng or random.Random()
        self.recorder = EventRecorder(client, clock, "kubelet") if record_events else None
        self.nodes_informer = informers.informer(NODES)
        self.pods_informer = informers.informer(PODS, {"node": by_node_name})
        self.queue = WorkQueue(clock, name="kubelet-pods")
        self.managed: dict[str, ManagedNode] = {}
        self.sim = SimRuntime(stages, self.rng, self.recorder, self._allocate_ip, self._claim_ip, clock=clock)
        # the local node's runtime; built with the agent so it can ask for pod syncs
        self.local_runtime: Runtime = local_runtime(self) if local_runtime is not None else self.sim
        self.known: dict[str, Runtime] = {}  # pod key -> the runtime that runs it
        self._ip_of: dict[str, tuple[str, int]] = {}  # pod key -> (node, offset)
        self._reserved_cidrs: set[str] = set()  # chosen for a node whose registration is in flight
        self._unregistered: dict[str, float] = {}  # failed registration -> when to try it again
        self.nodes_informer.add_handler(EventHandler(self._node_added, self._node_updated, self._node_deleted))
        self.pods_informer.add_handler(EventHandler(self._pod_changed, lambda old, new: self._pod_changed(new),
                                                    self._pod_changed))

    # ------------------------------------------------------------------ informer handlers

    def _owns(self, node: Obj) -> bool:
        """The local node, and simulated nodes that are this agent's or nobody's yet (to adopt)."""
        if node["metadata"]["name"] == self.local_node:
            return True
        return self.own_simulated and nodes.simulated_for(node, self.identity)

    def _node_added(self, node: Obj) -> None:
        if not self._owns(node):
            return
        name = node["metadata"]["name"]
        cidr = (node.get("spec") or {}).get("podCIDR", "")
        taken = name == self.local_node or nodes.simulating_agent(node) is not None
        if name not in self.managed and cidr and taken:
            self._manage(ManagedNode(name, _internal_ip(node), cidr, nodes.kubelet_stopped(node)))
        elif name not in self.managed:
            self.queue.add(("node", name))  # adopt: mark it ours, give it a pod range and a status

    def _manage(self, managed: ManagedNode) -> ManagedNode:
        """Take a node on: keep the addresses its pods already have, and run its pods."""
        self.managed[managed.name] = managed
        self._reserved_cidrs.discard(managed.cidr)
        for pod in self.pods_informer.cache.by_index("node", managed.name):
            ip = (pod.get("status") or {}).get("podIP")
            if ip and not pod_is_terminal(pod):
                self._claim_ip(managed, object_key(pod), ip)
            self.queue.add(object_key(pod))
        return managed

    def _node_updated(self, old: Obj, node: Obj) -> None:
        name = node["metadata"]["name"]
        managed = self.managed.get(name)
        if managed is None:
            self._node_added(node)
            return
        if not self._owns(node):
            self.managed.pop(name, None)
            return
        stopped = nodes.kubelet_stopped(node)
        if managed.stopped and not stopped:
            managed.next_lease = managed.next_status = 0.0  # back to life: report at once
            for pod in self.pods_informer.cache.by_index("node", name):
                self.queue.add(object_key(pod))
        managed.stopped = stopped

    def _node_deleted(self, node: Obj) -> None:
        self.managed.pop(node["metadata"]["name"], None)

    def _pod_changed(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        key = object_key(pod)
        if node in self.managed or key in self.known:
            self.queue.add(key)

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        await self.nodes_informer.wait_synced()
        await self.pods_informer.wait_synced()
        await self.local_runtime.start()
        await self.register_nodes()
        await self._note_isolation()
        tasks = [asyncio.create_task(self._heartbeats(), name="kubelet-heartbeats"),
                 asyncio.create_task(run_workers(self.queue, self._sync, POD_WORKERS, log), name="kubelet-pods")]
        if self.recorder:
            tasks.append(asyncio.create_task(self.recorder.run(), name="kubelet-events"))
        for pod in self.pods_informer.cache.list():
            self._pod_changed(pod)
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shut_down()
            for task in tasks:
                task.cancel()
            await self.local_runtime.shutdown()  # no process outlives the agent

    async def _note_isolation(self) -> None:
        """A node event saying how the local runtime isolates pods (decided when it started)."""
        note = getattr(self.local_runtime, "node_note", None)
        if note is None or not self.local_node or self.recorder is None:
            return
        try:
            node = await self.client.get(NODES, self.local_node)
        except StatusError:
            return
        kind, reason, message = note()
        self.recorder.event(node, kind, reason, message)

    def pod_address(self, managed: ManagedNode, key: str) -> str:
        """The pod's address in its node's podCIDR: the one it holds, else a free one."""
        held = self._ip_of.get(key)
        if held is not None and held[0] == managed.name:
            return nodes.pod_ip(managed.cidr, held[1])
        return self._allocate_ip(managed, key)

    async def register_nodes(self) -> None:
        """Create the local node and sim-1..N where missing (a restart keeps existing ones)."""
        wanted = [self.local_node] if self.local_node else []
        wanted += [sim_node_name(i) for i in range(1, self.sim_nodes + 1)]
        for name in wanted:
            if self.nodes_informer.cache.get(name) is None:
                await self._try_register(name)

    async def _try_register(self, name: str) -> None:
        """Register one node; a failure is said and retried later rather than stopping the agent."""
        try:
            await self._register(name)
            self._unregistered.pop(name, None)
        except Exception as exc:  # the store may be unreachable for a while: keep every other node going
            log.warning("registering node %s failed (retrying): %s", name, exc)
            self._unregistered[name] = self.clock.monotonic() + nodes.LEASE_RENEW_INTERVAL

    def _free_cidr_index(self) -> int:
        used = {(n.get("spec") or {}).get("podCIDR") for n in self.nodes_informer.cache.list()}
        used |= {m.cidr for m in self.managed.values()} | self._reserved_cidrs
        used |= getattr(self.local_runtime, "taken_ranges", set)()  # another server's pods on this host
        index = 0
        while nodes.pod_cidr(index) in used:
            index += 1
        self._reserved_cidrs.add(nodes.pod_cidr(index))  # no concurrent registration may take it
        return index

    def _node_shape(self, name: str, index: int) -> Obj:
        if name == self.local_node:
            import psutil
            capacity = {"cpu": str(psutil.cpu_count() or 1), "memory": f"{psutil.virtual_memory().total // 1024}Ki",
                        "pods": str(self.max_pods), "ephemeral-storage": nodes.SIM_CAPACITY["ephemeral-storage"]}
            return nodes.node_object(name, address=self.local_address, cidr=nodes.pod_cidr(index), capacity=capacity,
                                     labels=dict(self.local_labels),
                                     os_image=_host_os_image(), kernel=platform.release(),
                                     runtime_version=self.local_runtime.version)
        return nodes.node_object(name, address=nodes.sim_node_address(index), cidr=nodes.pod_cidr(index),
                                 capacity=nodes.SIM_CAPACITY, labels={nodes.SIMULATED_LABEL: "true"},
                                 os_image=SIM_OS_IMAGE, kernel=platform.release(), runtime_version=SIM_RUNTIME)

    async def _register(self, name: str) -> None:
        index = self._free_cidr_index()
        shape = self._node_shape(name, index)
        shape["status"]["conditions"] = nodes.conditions_healthy(self.clock.rfc3339())
        if name != self.local_node:
            shape["metadata"].setdefault("annotations", {})[nodes.SIMULATED_BY_ANNOTATION] = self.identity
        try:
            created = await self.client.create(NODES, shape)
        except StatusError as exc:
            if exc.code != 409:
                raise
            return
        self._manage(ManagedNode(name, _internal_ip(created), created["spec"]["podCIDR"]))
        await self._renew_lease(self.managed[name], created)

    async def _adopt(self, name: str) -> None:
        """A node someone created with the simulated label: fill in what a kubelet would."""
        node = self.nodes_informer.cache.get(name)
        if node is None or name in self.managed or not self._owns(node):
            return
        index = self._free_cidr_index()
        shape = self._node_shape(name, index)
        spec = dict(node.get("spec") or {})
        spec.setdefault("podCIDR", shape["spec"]["podCIDR"])
        spec.setdefault("podCIDRs", [spec["podCIDR"]])
        labels = dict(shape["metadata"]["labels"])
        labels.update(node["metadata"].get("labels") or {})
        annotations = dict(node["metadata"].get("annotations") or {})
        if name != self.local_node:
            annotations[nodes.SIMULATED_BY_ANNOTATION] = self.identity
        try:  # on the version we read: of several servers, one takes the node on
            updated = await self.client.update(NODES, dict(node, spec=spec, metadata=dict(
                node["metadata"], labels=labels, annotations=annotations)))
        except StatusError as exc:
            if exc.code != 409:
                raise
            return  # changed meanwhile (perhaps taken by another server): the informer brings it back
        status = dict(shape["status"])
        status.update({k: v for k, v in (node.get("status") or {}).items() if k in ("capacity", "allocatable")})
        status.setdefault("allocatable", status["capacity"])
        status["conditions"] = nodes.conditions_healthy(self.clock.rfc3339())
        updated = await self.client.update_status(NODES, dict(updated, status=status))
        managed = self._manage(ManagedNode(name, _internal_ip(updated), spec["podCIDR"],
                                           nodes.kubelet_stopped(updated)))
        if not managed.stopped:
            await self._renew_lease(managed, updated)

    # ------------------------------------------------------------------ heartbeats

    async def _heartbeats(self) -> None:
        """Renew each live node's Lease every 10 s; post full status every 5 min or when recovering."""
        while True:
            now = self.clock.monotonic()
            for name in [n for n, due in sorted(self._unregistered.items()) if due <= now]:
                if self.nodes_informer.cache.get(name) is None:
                    await self._try_register(name)
                else:
                    self._unregistered.pop(name, None)
            due = [m for m in list(self.managed.values()) if not m.stopped and m.next_lease <= now]
            # concurrently, as separate kubelets would: one after another, a thousand renewals
            # on a busy server took longer than the grace period and nodes went NotReady
            for start in range(0, len(due), HEARTBEATS_AT_ONCE):
                await asyncio.gather(*(self._heartbeat(m, now) for m in due[start:start + HEARTBEATS_AT_ONCE]))
            await self.clock.sleep(0.5)

    async def _heartbeat(self, managed: ManagedNode, now: float) -> None:
        node = self.nodes_informer.cache.get(managed.name)
        if node is None:
            return
        try:
            await self._renew_lease(managed, node)
            if managed.next_status <= now or _needs_status(node):
                await self._post_status(managed, node)
        except StatusError as exc:
            log.debug("heartbeat of %s: %s", managed.name, exc.message)
        except Exception:  # one node's trouble must not stop every node's heartbeat
            log.exception("heartbeat of %s failed", managed.name)

    async def _renew_lease(self, managed: ManagedNode, node: Obj) -> None:
        now = self.clock.rfc3339_micro()
        # spread renewals so a thousand nodes do not all renew in the same instant
        managed.next_lease = self.clock.monotonic() + nodes.LEASE_RENEW_INTERVAL * self.rng.uniform(0.9, 1.1)
        try:
            await self.client.patch(LEASES, managed.name, {"spec": {"holderIdentity": managed.name, "renewTime": now,
                                                                    "leaseDurationSeconds": nodes.LEASE_DURATION_SECONDS}},
                                    nodes.LEASE_NAMESPACE)
        except StatusError as exc:
            if exc.code != 404:
                raise
            try:
                await self.client.create(LEASES, nodes.lease_object(node, now, managed.name), nodes.LEASE_NAMESPACE)
            except StatusError as created:
                if created.code != 409:  # 409: made meanwhile; the next renewal updates it
                    raise

    async def _post_status(self, managed: ManagedNode, node: Obj) -> None:
        managed.next_status = self.clock.monotonic() + nodes.STATUS_REPORT_INTERVAL
        status = dict(node.get("status") or {})
        status["conditions"] = nodes.conditions_healthy(self.clock.rfc3339(), status.get("conditions"))
        await self.client.update_status(NODES, dict(node, status=status))

    # ------------------------------------------------------------------ pods

    def local_allocatable(self) -> dict[str, str]:
        node = self.nodes_informer.cache.get(self.local_node or "") or {}
        return dict((node.get("status") or {}).get("allocatable") or {})

    def runtime_for(self, node_name: str) -> Runtime:
        return self.local_runtime if node_name == self.local_node else self.sim

    async def _sync(self, key: Any) -> None:
        if isinstance(key, tuple):
            await self._adopt(key[1])
            return
        pod = self.pods_informer.cache.get(key)
        if pod is None:
            self._forget(key, deleted=True)
            return
        managed = self.managed.get((pod.get("spec") or {}).get("nodeName") or "")
        if managed is None or managed.stopped:
            return
        runtime = self.runtime_for(managed.name)
        known = self.known.get(key)
        if known is not None and (known is not runtime or known.uid_of(key) != pod["metadata"].get("uid")):
            self._forget(key, deleted=True)
        now = self.clock.time()
        if pod["metadata"].get("deletionTimestamp"):
            await self._terminate(key, pod, managed, runtime, now)
            return
        if pod_is_terminal(pod):
            self._forget(key)  # a finished pod keeps its reported IP but no longer holds the address
            return
        self.known[key] = runtime
        report = await runtime.sync(key, pod, managed, now)
        if report.write:
            status = build_pod_status(pod, init_containers=report.init_containers, containers=report.containers,
                                      host_ip=managed.address, pod_ip=report.pod_ip,
                                      start_time=report.start_time, now=self.clock.rfc3339())
            if status != pod.get("status"):
                await self.client.update_status(PODS, dict(pod, status=status))
            if report.after_write is not None:
                report.after_write()
        if report.wake is not None:
            self.queue.add_after(key, max(0.0, report.wake - now))

    async def _terminate(self, key: str, pod: Obj, managed: ManagedNode, runtime: Runtime, now: float) -> None:
        """Graceful deletion: stop the containers (within the grace period), then remove the pod."""
        self.known[key] = runtime
        wait = await runtime.terminate(key, pod, managed, now)
        if wait is not None:
            self.queue.add_after(key, max(0.0, wait))
            return
        if pod["metadata"].get("finalizers") and not pod_is_terminal(pod):
            # the pod outlives this delete (a Job's tracking finalizer): report it terminal first,
            # as the kubelet does, so its owner can count it
            try:
                status = runtime.final_status(key, pod, managed, self.clock.rfc3339())
                await self.client.update_status(PODS, dict(pod, status=status))
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise
                if exc.code == 409:
                    self.queue.add_rate_limited(key)
                    return
        try:
            await self.client.delete(PODS, pod["metadata"]["name"], pod["metadata"]["namespace"],
                                     grace_period_seconds=0, uid=pod["metadata"].get("uid", ""))
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise
        self._forget(key, deleted=True)

    def _allocate_ip(self, managed: ManagedNode, key: str) -> str:
        offset = ipam.free_offset(managed.ips, managed.cidr)
        if offset is None:
            raise RuntimeError(f"node {managed.name}: no free pod address left in {managed.cidr}")
        managed.ips[offset] = key
        self._ip_of[key] = (managed.name, offset)
        return nodes.pod_ip(managed.cidr, offset)

    def _claim_ip(self, managed: ManagedNode, key: str, ip: str) -> None:
        """After a restart: keep the address the pod already reports."""
        if key in self._ip_of or self.runtime_for(managed.name).host_network:
            return
        offset = int(ip.rsplit(".", 1)[1]) - 1
        holder = managed.ips.get(offset)
        if holder is not None and holder != key:
            log.warning("pods %s and %s both report %s", holder, key, ip)
            return
        managed.ips[offset] = key
        self._ip_of[key] = (managed.name, offset)

    def _forget(self, key: str, *, deleted: bool = False) -> None:
        runtime = self.known.pop(key, None)
        if runtime is not None:
            runtime.forget(key, deleted=deleted)
        elif deleted and self.local_runtime is not self.sim:
            self.local_runtime.forget(key, deleted=True)  # a finished pod's files, kept until now
        held = self._ip_of.pop(key, None)
        if held is not None and held[0] in self.managed:
            self.managed[held[0]].ips.pop(held[1], None)


def _internal_ip(node: Obj) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return address.get("address", "")
    return ""


def _needs_status(node: Obj) -> bool:
    """The node lifecycle controller marked it Unknown, or it never reported: report now."""
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") != "True"
    return True


def _host_os_image() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
    except OSError:
        return "Linux"
