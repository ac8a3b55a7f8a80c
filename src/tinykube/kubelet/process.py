"""The process runtime: the local node's pods as real processes on this machine.

No images: a container is a process (a session and process group of its own) started from its
command, or from the image table's entrypoint (`images.py`), with the environment the kubelet
would give it (`envvars.py`). Output goes to CRI log files under DATA_DIR/pods (`logfiles.py`),
which `kubectl logs` reads.

As root on Linux each pod gets a sandbox (`sandbox/`): its own network namespace with an
address from the node's podCIDR on the bridge tinykube0, UTS (hostname), IPC, mount and PID
namespaces, its volumes bind-mounted at their mountPaths, and a cgroup per container with its
memory (and CPU) limit. The decision is made once, when the runtime is built (`sandbox.decide`).
Without it, pods share the host's network, but each gets an address of its own on loopback
(127.1.0.0/16: Linux answers on all of 127/8 without any setup), which is its pod IP, where
probes go and where the built-in nginx listens — so several nginx replicas serve port 80 side
by side; a program that listens on all addresses still takes the port for everyone.

No process outlives the agent: `shutdown` (the server stopping) kills every container's
process group, and `start` kills what an agent that died without cleaning up left behind
(pid files) before any pod is synced. Containers are not adopted across restarts (their
output pipes died with the old agent and their exit status cannot be collected), so a
container that was running is reported as terminated (137, ContainerStatusUnknown) and
restarted as its pod's restart policy says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
from pathlib import Path
from typing import Any, Callable

from tinykube.client.api import Client
from tinykube.client.events import EventRecorder
from tinykube.kubelet import logfiles, procutil, statedir
from tinykube.kubelet.images import ImageTable, build_table
from tinykube.kubelet.podstatus import build_pod_status
from tinykube.kubelet.podworker import PodWorker
from tinykube.kubelet.attach import Attachment
from tinykube.kubelet.execproc import ExecProcess, start_in_container
from tinykube.kubelet.runtime import ContainerNotFound, NodeView, PodReport
from tinykube.kubelet.sandbox import ipam, network
from tinykube.kubelet.sandbox import sandbox as sandboxes
from tinykube.kubelet.sandbox.launcher import Launcher
from tinykube.kubelet.sandbox.pod import PodIsolation, ResolvConf
from tinykube.kubelet.sandbox.volumes import TokenSource, VolumeSetup
from tinykube.kubelet.sim import stamp

log = logging.getLogger(__name__)

Obj = dict[str, Any]

PROCESS_RUNTIME = "tinykube-process://0.1.0"
SHUTDOWN_GRACE = 2.0  # wall seconds the server's shutdown gives containers after SIGTERM


class LoopbackAddresses:
    """One loopback address per pod, from 127.1.0.1 on; a restarted server gives a pod back the
    address its status already reports."""

    def __init__(self) -> None:
        self._by_key: dict[str, str] = {}
        self._next = 1

    def claim(self, key: str, reported: str | None = None) -> str:
        if key in self._by_key:
            return self._by_key[key]
        taken = set(self._by_key.values())
        if reported and reported.startswith("127.1.") and reported not in taken:
            address = reported
        else:
            while (address := loopback_address(self._next)) in taken:
                self._next += 1
            self._next += 1
        self._by_key[key] = address
        return address

    def release(self, key: str) -> None:
        self._by_key.pop(key, None)


def loopback_address(n: int) -> str:
    """The n-th pod address (n >= 1), wrapping within 127.1.0.0/16 and skipping .0 and .255."""
    n = (n - 1) % (256 * 254)
    return f"127.1.{n // 254}.{n % 254 + 1}"


class ProcessRuntime:
    version = PROCESS_RUNTIME

    def __init__(self, client: Client, clock: Any, root: Path, notify: Callable[[str], None], *,
                 images: ImageTable | None = None, recorder: EventRecorder | None = None,
                 allocatable: Callable[[], dict[str, str]] = dict, sandbox: bool = True,
                 pod_address: Callable[[Any, str], str] | None = None, token_source: TokenSource | None = None,
                 resolv_conf_for: ResolvConf | None = None) -> None:
        self.client = client
        self.clock = clock
        self.root = root
        self.state = statedir.state_root(root)  # pid files, sandboxes, written volumes: in memory
        self.notify = notify
        self.images = images or build_table()
        self.recorder = recorder
        self.allocatable = allocatable
        self.workers: dict[str, PodWorker] = {}
        self.finished: dict[str, Path] = {}  # pods that ended (key -> their directory, kept for logs)
        self.live_logs: set[Path] = set()  # log files a running container still writes
        self._cleanups: set[asyncio.Task[None]] = set()
        self.addresses = LoopbackAddresses()
        self.decision = sandboxes.decide(sandbox and pod_address is not None)
        self.launcher = Launcher()  # the fork server, started with the first sandbox
        self.pod_address = pod_address
        self.volumes = VolumeSetup(client, token_source)
        self.resolv_conf_for = resolv_conf_for
        self._gateway: str | None = None  # on the bridge once the first sandbox needs it
        log.info("process runtime: %s", self.decision.describe())

    @property
    def host_network(self) -> bool:
        """Pods use loopback addresses on the host's network (no sandboxes)."""
        return not self.decision.sandboxed

    def node_note(self) -> tuple[str, str, str]:
        """(type, reason, message) of the node event that says how pods are isolated."""
        if self.decision.sandboxed:
            return "Normal", "PodSandboxes", self.decision.describe()
        return "Warning", "NoPodIsolation", self.decision.describe()

    def taken_ranges(self) -> set[str]:
        """Pod ranges the host already routes on the bridge (other servers'): not for our node."""
        return network.routed_networks() if self.decision.sandboxed else set()

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        procutil.kill_stale(self.state)
        sandboxes.clean_stale(self.state, self.decision.cgroups)

    def uid_of(self, key: str) -> str | None:
        worker = self.workers.get(key)
        if worker is None and key in self.finished:
            return self.finished[key].name.rsplit("_", 1)[-1]
        return worker.uid if worker is not None else None

    def _worker(self, key: str, pod: Obj, node: NodeView) -> PodWorker:
        worker = self.workers.get(key)
        if worker is None:
            isolation = None
            meta = pod["metadata"]
            state_dir = logfiles.pod_dir(self.state, meta.get("namespace", ""), meta.get("name", ""),
                                         meta.get("uid", ""))
            if self.decision.sandboxed and self.pod_address is not None:
                address = self.pod_address(node, key)
                pod_dir = logfiles.pod_dir(self.root, meta.get("namespace", ""), meta.get("name", ""),
                                           meta.get("uid", ""))
                isolation = PodIsolation(self.decision, self.launcher, self.volumes, pod_dir, state_dir, address,
                                         self._bridge(node), self.resolv_conf_for)
            else:
                address = self.addresses.claim(key, (pod.get("status") or {}).get("podIP"))
            worker = self.workers[key] = PodWorker(
                key=key, pod=pod, address=address,
                root=self.root, state_dir=state_dir, client=self.client, clock=self.clock,
                images=self.images, recorder=self.recorder, notify=lambda: self.notify(key),
                node_allocatable=self.allocatable(), live_logs=self.live_logs, host_ip=node.address,
                isolation=isolation)
            stale = self.finished.pop(key, None)  # an earlier pod of the same name, since deleted
            if stale is not None and stale != worker.dir:
                shutil.rmtree(stale, ignore_errors=True)
        return worker

    def _bridge(self, node: NodeView) -> str:
        """The node's gateway on the bridge (set up when the first sandbox needs it)."""
        gateway = ipam.gateway(getattr(node, "cidr"))
        if gateway != self._gateway:
            network.ensure_bridge(gateway)
            self._gateway = gateway
        return gateway

    def container_pids(self, key: str) -> dict[str, int]:
        """The running app containers of a pod by name, with their main process's pid."""
        worker = self.workers.get(key)
        if worker is None:
            return {}
        return {ctr.name: ctr.process.pid for ctr in worker.apps
                if ctr.process is not None and ctr.process.returncode is None and ctr.kind == "running"}

    async def exec_stream(self, key: str, container: str, argv: list[str], *, tty: bool,
                          stdin: bool) -> ExecProcess:
        """Run `argv` in a running container, as `kubectl exec` does: with its environment and
        working directory, and in its namespaces and cgroup when the pod has a sandbox."""
        worker = self.workers.get(key)
        for ctr in (worker.inits + worker.apps) if worker is not None else []:
            if ctr.name == container and ctr.kind == "running" and ctr.process is not None \
                    and ctr.process.returncode is None:
                isolation = worker.isolation  # type: ignore[union-attr]
                if isolation is None:
                    return await start_in_container(ctr, argv, tty=tty, stdin=stdin)
                start = isolation.enter_running(ctr.process.pid, ctr.cgroup_procs)
                if start is None:
                    break
                return await start_in_container(ctr, argv, tty=tty, stdin=stdin, start=start)
        raise ContainerNotFound(container)

    def attach_stream(self, key: str, container: str) -> Attachment:
        """Follow the output of a running container's current run."""
        worker = self.workers.get(key)
        for ctr in (worker.inits + worker.apps) if worker is not None else []:
            if ctr.name == container and ctr.kind == "running" and ctr.process is not None:
                path = worker.dir / ctr.name / f"{ctr.restart_count}.log"  # type: ignore[union-attr]
                return Attachment(self.clock, path, lambda: path in self.live_logs)
        raise ContainerNotFound(container)

    async def sync(self, key: str, pod: Obj, node: NodeView, now: float) -> PodReport:
        worker = self._worker(key, pod, node)
        worker.pod = pod  # labels and annotations may change; the spec of a pod does not (much)
        if worker.task is None:
            worker.start()
        inits, containers = worker.states()
        return PodReport(init_containers=inits, containers=containers, pod_ip=worker.address,
                         start_time=stamp(worker.started_time))

    async def terminate(self, key: str, pod: Obj, node: NodeView, now: float) -> float | None:
        worker = self.workers.get(key)
        if worker is None or worker.task is None:
            return None
        if worker.stopper is None:
            grace = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
            worker.pod = pod
            worker.stopper = asyncio.create_task(worker.stop(grace))
            worker.stopper.add_done_callback(lambda _: self.notify(key))
        if not worker.stopper.done():
            return float(pod["metadata"].get("deletionGracePeriodSeconds") or 0) + 5.0
        return None

    def final_status(self, key: str, pod: Obj, node: NodeView, now: str) -> Obj:
        worker = self.workers.get(key)
        inits, containers = worker.states() if worker is not None else ([], [])
        return build_pod_status(pod, init_containers=inits, containers=containers, host_ip=node.address,
                                pod_ip=worker.address if worker is not None else None, start_time=None, now=now,
                                terminal=True)

    def forget(self, key: str, *, deleted: bool = False) -> None:
        self.addresses.release(key)
        worker = self.workers.pop(key, None)
        if worker is None:
            directory = self.finished.pop(key, None) if deleted else None
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)
            return
        if not deleted:
            self.finished[key] = worker.dir
        task = asyncio.ensure_future(self._clean_up(worker, deleted))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    async def _clean_up(self, worker: PodWorker, deleted: bool) -> None:
        procs = worker.kill_now()
        await worker.cancel()
        for process in procs:
            with contextlib.suppress(ProcessLookupError):
                await process.wait()
        await worker.release()
        shutil.rmtree(worker.state_dir, ignore_errors=True)
        if deleted:
            shutil.rmtree(worker.dir, ignore_errors=True)

    async def shutdown(self) -> None:
        """SIGTERM to every container, SIGKILL to what still runs after SHUTDOWN_GRACE."""
        workers = list(self.workers.values())
        procs = [p for w in workers for p in w.kill_now(signal.SIGTERM)]
        if procs:
            await asyncio.wait([asyncio.ensure_future(p.wait()) for p in procs], timeout=SHUTDOWN_GRACE)
        for worker in workers:
            worker.kill_now(signal.SIGKILL)
        for process in procs:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await asyncio.gather(*(w.cancel() for w in workers), return_exceptions=True)
        for process in procs:
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(process.wait(), 1.0)
        await asyncio.gather(*(w.release() for w in workers), return_exceptions=True)
        if self._cleanups:
            await asyncio.wait(list(self._cleanups), timeout=SHUTDOWN_GRACE)
        if self._gateway is not None:
            network.release_gateway(self._gateway)
        await self.launcher.close()
        shutil.rmtree(self.state, ignore_errors=True)  # every pod was stopped: nothing to find again
