"""One pod's isolation as its `PodWorker` uses it: volumes, the sandbox, per-container mounts
and cgroups, and the command lines that enter them.

Setup runs once before the first container: the volumes (the pod waits, with FailedMount
events, until they can be set up), /etc/hosts and /etc/resolv.conf, then the sandbox. Each
container start gets its mounts and a fresh look at its cgroup's OOM kill count.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

from tinykube.kubelet import envvars, procutil, spawn
from tinykube.kubelet.sandbox import cgroups
from tinykube.kubelet.sandbox.launcher import Launcher
from tinykube.kubelet.sandbox.limits import container_limits
from tinykube.kubelet.sandbox.mounts import Mount, container_mounts, hosts_file, pod_hostname
from tinykube.kubelet.sandbox.sandbox import Decision, PodSandbox
from tinykube.kubelet.sandbox.volumes import VolumeSetup, memory_dirs

Obj = dict[str, Any]
ResolvConf = Callable[[Obj], "str | None"]
NGINX_ROOT = "/usr/share/nginx/html"


class PodIsolation:
    def __init__(self, decision: Decision, launcher: Launcher, volumes: VolumeSetup, pod_dir: Path, state_dir: Path,
                 address: str, gateway: str, resolv_conf_for: ResolvConf | None = None) -> None:
        self.decision = decision
        self.launcher = launcher
        self.volumes = volumes
        self.pod_dir = pod_dir  # on disk: emptyDirs
        self.state_dir = state_dir  # in memory (see statedir): the sandbox, /etc files, written volumes
        self.address = address
        self.gateway = gateway
        self.resolv_conf_for = resolv_conf_for
        self.sandbox: PodSandbox | None = None
        self.volume_dirs: dict[str, str] = {}
        self.read_only: set[str] = set()
        self.extra: list[Mount] = []  # /etc/hosts, /etc/resolv.conf
        self._starting = asyncio.Lock()

    async def set_up_volumes(self, pod: Obj, facts: envvars.PodFacts) -> None:
        """Raises VolumeError (message for the FailedMount event) while a volume cannot be set up."""
        self.volume_dirs, self.read_only = await self.volumes.prepare(pod, self.pod_dir, self.state_dir, facts)
        etc = self.state_dir / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(hosts_file(pod, self.address))
        self.extra = [Mount(str(etc / "hosts"), "/etc/hosts")]
        resolv = self.resolv_conf_for(pod) if self.resolv_conf_for is not None else None
        if resolv is not None:
            (etc / "resolv.conf").write_text(resolv)
            self.extra.append(Mount(str(etc / "resolv.conf"), "/etc/resolv.conf"))

    async def start_sandbox(self, pod: Obj) -> bool:
        """The pod's sandbox, started unless it runs: True when it replaced one that died.
        Raises RuntimeError (message for FailedCreatePodSandBox) when it cannot start."""
        async with self._starting:  # the pod's containers all notice a dead sandbox
            if self.sandbox is not None and self.sandbox.alive():
                return False
            replaced = self.sandbox is not None
            if self.sandbox is not None:
                await self.sandbox.destroy()
                self.sandbox = None
            uid = pod["metadata"].get("uid", "")
            sandbox = PodSandbox(self.launcher, self.state_dir, uid, pod_hostname(pod), self.address, self.gateway,
                                 self.decision.cgroups)
            await sandbox.create(memory_dirs(pod, self.pod_dir))
            self.sandbox = sandbox
            return replaced

    def mounts(self, container: Obj) -> list[Mount]:
        return self.extra + container_mounts(container, self.volume_dirs, self.read_only)

    def nginx_root(self, container: Obj) -> str | None:
        """The container's own web root when a volume is mounted at nginx's."""
        return NGINX_ROOT if any(m.target == NGINX_ROOT for m in self.mounts(container)) else None

    def cgroup(self, pod: Obj, container: Obj) -> tuple[cgroups.ContainerCgroup | None, list[str]]:
        """The container's cgroup with its limits written, and the files its process joins."""
        if self.decision.cgroups is None:
            return None, []
        group = cgroups.ContainerCgroup(self.decision.cgroups, pod["metadata"].get("uid", ""),
                                        container.get("name", ""))
        try:
            return group, group.create(container_limits(container))
        except OSError:
            return None, []

    def enter(self, container: Obj, procs: list[str]) -> procutil.Start:
        """How to start this container's main process inside the sandbox."""
        assert self.sandbox is not None
        sandbox = self.sandbox
        mounts = [m.plan() for m in self.mounts(container)]
        return _starter(sandbox, lambda argv, cwd: {"argv": argv, "cwd": cwd, "mounts": mounts, "cgroups": procs})

    def enter_running(self, target: int, procs: list[str]) -> procutil.Start | None:
        """How to run a command in a running container (`target`: its main process)."""
        sandbox = self.sandbox
        if sandbox is None:
            return None
        return _starter(sandbox, lambda argv, cwd: {"argv": argv, "cwd": cwd, "join": True, "cgroups": procs},
                        target)

    async def tear_down(self) -> None:
        if self.sandbox is not None:
            await self.sandbox.destroy()
            self.sandbox = None


def _starter(sandbox: PodSandbox, plan: Callable[[list[str], str], Obj], target: int | None = None) -> procutil.Start:
    """A `procutil.Start` that runs the plan made for each command inside `sandbox` (or, with
    `target`, inside the running container whose process that is)."""
    async def start(argv: list[str], env: dict[str, str], cwd: str, *, stdin: Any, stdout: Any, stderr: Any,
                    tty: bool = False) -> spawn.ChildProcess:
        return await sandbox.launcher.enter(plan(argv, cwd), target or sandbox.pid or 0, env, stdin=stdin,
                                            stdout=stdout, stderr=stderr, tty=tty)
    return start
