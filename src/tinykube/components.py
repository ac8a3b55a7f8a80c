"""The cluster components that run inside `tinykube server` beside the API.

Each is a client of the API like any other (the in-process transport, so no HTTP), and
they share one set of informers, so a pod event is decoded once for all of them. The
controller manager and the scheduler run only while they hold their leader Lease in
kube-system, as upstream's do, so several servers can later share one store; the node
agent runs everywhere (it owns its nodes, not a cluster-wide role).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from tinykube.client.api import NODES, PODS, Obj, object_key
from tinykube.client.informer import InformerFactory, by_namespace, by_node_name
from tinykube.client.leaderelection import LeaderElector
from tinykube.client.local import LocalClient
from tinykube.controllers.clusterroleaggregation import ClusterRoleAggregationController
from tinykube.controllers.cronjob import CronJobController
from tinykube.controllers.daemonset.controller import DaemonSetController
from tinykube.controllers.nodelifecycle import NodeLifecycleController
from tinykube.controllers.deployment.controller import DeploymentController
from tinykube.controllers.endpoints.endpoints import EndpointsController
from tinykube.controllers.endpoints.slices import EndpointSliceController
from tinykube.controllers.garbagecollector import GarbageCollector
from tinykube.controllers.hpa.controller import HorizontalPodAutoscalerController
from tinykube.controllers.job import JobController
from tinykube.controllers.podgc import PodGarbageCollector
from tinykube.controllers.replicaset import REPLICASETS, REPLICATION_CONTROLLERS, ReplicaController
from tinykube.controllers.rootcacert import RootCACertPublisher
from tinykube.controllers.resourcequota import ResourceQuotaController
from tinykube.controllers.statefulset.controller import StatefulSetController
from tinykube.controllers.ttlafterfinished import TTLAfterFinishedController
from tinykube.controllers.volume.binder import PersistentVolumeController
from tinykube.controllers.volume.protection import ProtectionController
from tinykube.kubelet import node as kubelet_node
from tinykube.dns.resolvconf import pod_resolv_conf
from tinykube.dns.server import ClusterDNS
from tinykube.kubelet.agent import NodeAgent
from tinykube.kubelet.localpath import LocalPathProvisioner
from tinykube.kubelet.runtime import Runtime
from tinykube.kubelet.stages import DEFAULT_STAGES, Stage
from tinykube.metrics.api import ClusterMetrics
from tinykube.metrics.processes import ProcessUsage
from tinykube.metrics.usage import Usage, simulated_usage
from tinykube.network.addresses import LoopbackAddresses
from tinykube.network.proxy import ServiceProxy
from tinykube.registry.objects import ObjectRegistry
from tinykube.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)

LEADER_LEASE_SECONDS = 10.0  # fail-over of controllers and scheduler within 15 s of the leader's death


@dataclass
class ComponentOptions:
    sim_nodes: int = 0
    local_node: bool = True
    node_name: str = ""  # the local node's name (default: the host name)
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    node_grace_period: float = 50.0
    local_runtime: str = "process"  # process | sim: how the local node runs its pods
    image_table: Path | None = None  # --image-table FILE (merged over the built-in table)
    data_dir: Path | None = None  # where the process runtime keeps pod logs (DATA_DIR/pods)
    max_pods: int = 110  # the local node's pod capacity when it is registered
    pod_sandbox: bool = True  # --pod-sandbox auto: namespaces, pod network, mounts, cgroups where possible
    extra_controllers: list[Callable[..., Awaitable[None]]] = field(default_factory=list)
    ca_pem: str = ""  # the cluster CA, published as the kube-root-ca.crt ConfigMap in every namespace
    # issues a pod's ServiceAccount token: token_source(pod, audience, expiration_seconds) -> str
    # (auth.tokens.TokenSigner.token_source), for the process runtime's projected volumes
    token_source: Callable[[Obj, str, int], str] | None = None
    cluster_dns_port: int = 0  # the DNS server's loopback port (0: any free one)
    cluster_dns_ip: str = "10.96.0.10"  # kube-dns's ClusterIP, served on port 53 when root
    cluster_domain: str = "cluster.local"


def local_node_name() -> str:
    """The host name as a valid node name (DNS-1123 subdomain, lower case)."""
    name = re.sub(r"[^a-z0-9.-]", "-", socket.gethostname().lower()).strip("-.") or "tinykube"
    return name[:63]


def server_identity(data_dir: Path) -> str:
    """hostname_<id>, stable across restarts so a restarted server re-takes its own leases at once."""
    path = data_dir / "identity"
    if not path.exists():
        path.write_text(secrets.token_hex(8))
    return f"{local_node_name()}_{path.read_text().strip()}"


def report_failure(task: asyncio.Task[Any]) -> None:
    """A component's task ended by an exception: say so with its traceback (else nobody would)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped by an error", task.get_name(), exc_info=task.exception())


class Components:
    def __init__(self, registry: ObjectRegistry, clock: Any, identity: str, options: ComponentOptions) -> None:
        self.clock = clock
        self.identity = identity
        self.options = options
        self.informers = InformerFactory(LocalClient(registry, "informers"), clock)
        self.controller_client = LocalClient(registry, "kube-controller-manager")
        self.scheduler = Scheduler(LocalClient(registry, "kube-scheduler"), clock, self.informers)
        self.node_lifecycle = NodeLifecycleController(self.controller_client, clock, self.informers,
                                                      grace_period=options.node_grace_period)
        self.pod_gc = PodGarbageCollector(self.controller_client, clock, self.informers)
        self.deployments = DeploymentController(self.controller_client, clock, self.informers)
        self.garbage_collector = GarbageCollector(self.controller_client, clock, self.informers)
        self.cronjobs = CronJobController(self.controller_client, clock, self.informers)
        self.replicasets = ReplicaController(self.controller_client, clock, self.informers, REPLICASETS)
        self.replication_controllers = ReplicaController(self.controller_client, clock, self.informers,
                                                         REPLICATION_CONTROLLERS)
        self.jobs = JobController(self.controller_client, clock, self.informers)
        self.statefulsets = StatefulSetController(self.controller_client, clock, self.informers)
        self.daemonsets = DaemonSetController(self.controller_client, clock, self.informers)
        self.ttl_after_finished = TTLAfterFinishedController(self.controller_client, clock, self.informers)
        self.role_aggregation = ClusterRoleAggregationController(self.controller_client, clock, self.informers)
        self.root_ca_publisher = RootCACertPublisher(self.controller_client, clock, self.informers, options.ca_pem)
        self.volume_binder = PersistentVolumeController(self.controller_client, clock, self.informers)
        self.storage_protection = ProtectionController(self.controller_client, clock, self.informers)
        self.resource_quotas = ResourceQuotaController(self.controller_client, clock, self.informers)
        self.endpoints = EndpointsController(self.controller_client, clock, self.informers)
        self.endpoint_slices = EndpointSliceController(self.controller_client, clock, self.informers)
        pods = self.informers.informer(PODS, {"namespace": by_namespace, "node": by_node_name})
        nodes = self.informers.informer(NODES)
        self.metrics = ClusterMetrics(pods.cache, nodes.cache, clock.rfc3339, self._usage)
        self._process_usage = ProcessUsage(clock.real_time)
        self.autoscalers = HorizontalPodAutoscalerController(self.controller_client, clock, self.informers,
                                                             self.metrics)
        kubelet_client = LocalClient(registry, "kubelet")
        self.addresses = LoopbackAddresses((options.data_dir or Path.home() / ".tinykube") / "service-addresses")
        self.dns = ClusterDNS(self.informers, options.cluster_domain)
        self.dns_on_cluster_ip = False  # kube-dns's ClusterIP:53 answers (root): pods may resolve through it
        # the node's service proxy forwards to pod IPs, which are real only for process pods
        self.proxy = ServiceProxy(self.informers, self.addresses) \
            if options.local_node and options.local_runtime == "process" else None
        self.agent = NodeAgent(kubelet_client, clock, self.informers,
                               local_node=(options.node_name or local_node_name()) if options.local_node else None,
                               sim_nodes=options.sim_nodes, stages=options.stages, max_pods=options.max_pods,
                               identity=identity,
                               local_runtime=self._process_runtime(kubelet_client, clock)
                               if options.local_runtime == "process" else None)
        self.local_path = LocalPathProvisioner(
            kubelet_client, clock, self.informers,
            (options.data_dir or Path.home() / ".tinykube") / "volumes", self._owns_node)

    def _owns_node(self, name: str) -> bool:
        """Whether this server's agent runs `name` (the local-path provisioner works only there)."""
        if name == self.agent.local_node:
            return True
        node = self.agent.nodes_informer.cache.get(name)
        return node is not None and kubelet_node.is_simulated(node)

    def _process_runtime(self, client: LocalClient, clock: Any) -> Callable[[NodeAgent], Runtime]:
        from tinykube.kubelet.images import load_table
        from tinykube.kubelet.process import ProcessRuntime

        images = load_table(self.options.image_table)
        root = (self.options.data_dir or Path.home() / ".tinykube") / "pods"

        def build(agent: NodeAgent) -> Runtime:
            return ProcessRuntime(client, clock, root, agent.queue.add, images=images, recorder=agent.recorder,
                                  allocatable=lambda: agent.local_allocatable(), pod_address=agent.pod_address,
                                  sandbox=self.options.pod_sandbox, token_source=self.options.token_source,
                                  resolv_conf_for=self._resolv_conf)
        return build

    def _resolv_conf(self, pod: Obj) -> str | None:
        """A sandboxed pod's /etc/resolv.conf: cluster DNS, once it answers on kube-dns's ClusterIP
        (as root); until then (or without root) the host's."""
        if not self.dns_on_cluster_ip:
            return None
        return pod_resolv_conf(pod, self.options.cluster_dns_ip, self.options.cluster_domain)

    def _usage(self, pod: Obj) -> dict[str, Usage] | None:
        """Measured usage for the local node's processes, the annotations' for simulated pods."""
        runtime = self.process_runtime
        if runtime is None or (pod.get("spec") or {}).get("nodeName") != self.agent.local_node:
            return simulated_usage(pod)
        if (pod.get("status") or {}).get("phase") != "Running":
            return None
        pids = runtime.container_pids(object_key(pod))
        measured = {name: u for name, pid in pids.items() if (u := self._process_usage.usage(pid)) is not None}
        return measured or None

    def runtime_for(self, node_name: str) -> Runtime | None:
        """The runtime of a node this server's agent runs (exec and port-forward go to it)."""
        if node_name not in self.agent.managed:
            return None
        return self.agent.runtime_for(node_name)

    @property
    def process_runtime(self) -> Any:
        """The local node's process runtime, if it has one (the pods/log handler reads its logs)."""
        from tinykube.kubelet.process import ProcessRuntime

        runtime = self.agent.local_runtime
        return runtime if isinstance(runtime, ProcessRuntime) else None

    def elector(self, name: str) -> LeaderElector:
        """Leases of 10 s (upstream: 15 s): a survivor sees the last renewal up to one 2 s poll
        late and notices the expiry up to one poll late, so it takes over within 14 s."""
        return LeaderElector(self.controller_client, self.clock, name, self.identity,
                             lease_duration=LEADER_LEASE_SECONDS, renew_deadline=7.0, retry_period=2.0)

    async def _controller_manager(self) -> None:
        """All controllers together: if one fails, all stop (and the elector starts a new term)."""
        async with asyncio.TaskGroup() as group:
            for run in (self.node_lifecycle.run, self.pod_gc.run, self.replicasets.run,
                        self.replication_controllers.run, self.garbage_collector.run,
                        self.deployments.run, self.statefulsets.run, self.daemonsets.run, self.jobs.run,
                        self.cronjobs.run, self.autoscalers.run, self.volume_binder.run, self.storage_protection.run,
                        self.ttl_after_finished.run, self.role_aggregation.run, self.root_ca_publisher.run,
                        self.resource_quotas.run, self.endpoints.run, self.endpoint_slices.run,
                        *self.options.extra_controllers):
                group.create_task(run())

    async def start_dns(self) -> int:
        """Serve cluster DNS on 127.0.0.1 (returns the port) and, as root, on kube-dns's ClusterIP:53."""
        self.addresses.cleanup_stale()
        port = await self.dns.listen("127.0.0.1", self.options.cluster_dns_port)
        ip = self.options.cluster_dns_ip
        if self.addresses.add(ip):
            self.addresses.reserved.add(ip)
            try:
                await self.dns.listen(ip, 53)
                self.dns_on_cluster_ip = True
            except OSError as exc:
                log.warning("cluster DNS: cannot listen on %s:53 (%s); the loopback port still answers", ip, exc)
        return port

    def start(self) -> list[asyncio.Task[None]]:
        self.informers.start()
        extra = [asyncio.create_task(self.proxy.run(), name="service-proxy")] if self.proxy else []
        tasks = [*extra, asyncio.create_task(self.agent.run(), name="node-agent"),
                 asyncio.create_task(self.local_path.run(), name="local-path-provisioner"),
                 asyncio.create_task(self.elector("kube-scheduler").run(self.scheduler.run), name="scheduler"),
                 asyncio.create_task(self.elector("kube-controller-manager").run(self._controller_manager),
                                     name="controller-manager")]
        for task in tasks:
            task.add_done_callback(report_failure)
        return tasks

    async def stop(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        await self.dns.close()
        self.addresses.remove_all()
        await self.informers.stop()
