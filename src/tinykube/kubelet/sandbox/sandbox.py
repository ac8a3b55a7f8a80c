"""The pod sandbox: the namespaces a pod's containers share, held by one process per pod.

`decide` runs once when the agent starts: as root on Linux with iproute2 and util-linux, and
when a trial `unshare` of every namespace kind works, pods get sandboxes; otherwise they run
on the host (the reason is logged and posted as a node event). A `PodSandbox` is a network
namespace on the bridge (`network.py`) plus `pause.py`'s process as PID 1 of new UTS, IPC,
mount and PID namespaces; containers join it with `enter.py`'s code. Both are forked by the
agent's fork server (`launcher.py`), not started as interpreters of their own.

What a sandbox made is recorded in `<pod dir>/_sandbox/state.json` (a container name cannot
contain "_"), so an agent that died without cleaning up has it removed when it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil

from tinykube.kubelet import procutil, spawn
from tinykube.kubelet.sandbox import cgroups, network
from tinykube.kubelet.sandbox.cgroups import Hierarchies
from tinykube.kubelet.sandbox.launcher import Launcher

log = logging.getLogger(__name__)

STATE_DIR = "_sandbox"
START_TIMEOUT = 20.0  # wall seconds for the sandbox process to say "ready"
TOOLS = ("ip", "unshare")  # unshare: only for the trial in `decide`


@dataclass(frozen=True)
class Decision:
    """What the agent gives pods: sandboxes (with cgroups when available) or the host."""

    sandboxed: bool
    reason: str
    cgroups: Hierarchies | None = None

    def describe(self) -> str:
        if not self.sandboxed:
            return f"pods run on the host network without namespaces ({self.reason}); " \
                   "volumes are not mounted at their mountPath (that needs root)"
        limits = f"memory limits via {self.cgroups.describe()}" if self.cgroups else "no cgroups: limits not enforced"
        return f"pods run in sandboxes: network, UTS, IPC, mount and PID namespaces, bridge {network.BRIDGE}; {limits}"


def decide(enabled: bool = True) -> Decision:
    """Whether this agent can give pods their own namespaces (checked once, at agent start)."""
    if not enabled:
        return Decision(False, "disabled")
    if platform.system() != "Linux":
        return Decision(False, f"{platform.system()} has no Linux namespaces")
    if os.geteuid() != 0:
        return Decision(False, "the node agent does not run as root")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return Decision(False, f"missing {', '.join(missing)}")
    trial = subprocess.run(["unshare", "--net", "--uts", "--ipc", "--mount", "--pid", "--fork", "true"],
                           capture_output=True, text=True, timeout=10)
    if trial.returncode != 0:
        return Decision(False, f"unshare failed: {trial.stderr.strip()}")
    return Decision(True, "", cgroups.detect())


def veth_name(uid: str) -> str:
    """The host-side veth name of a pod (at most 15 bytes, as the kernel allows)."""
    return "tkv" + hashlib.sha256(uid.encode()).hexdigest()[:10]


class PodSandbox:
    def __init__(self, launcher: Launcher, pod_dir: Path, uid: str, hostname: str, address: str, gateway: str,
                 hierarchies: Hierarchies | None) -> None:
        self.launcher = launcher
        self.dir = pod_dir / STATE_DIR
        self.uid = uid
        self.hostname = hostname
        self.address = address
        self.gateway = gateway
        self.cgroups = hierarchies
        self.veth = veth_name(uid)
        self.pid: int | None = None  # the sandbox process (PID 1 of the pod), as the host sees it
        self._process: spawn.ChildProcess | None = None

    async def create(self, tmpfs_dirs: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save()  # first: a crash from here on leaves enough to clean up
        with open(self.dir / "stderr", "wb") as err:
            try:
                self._process = await self.launcher.start(
                    "sandbox", [self.veth, network.BRIDGE, self.hostname,
                                f"{self.address}/{self.gateway.split('/')[1]}", self.gateway.split("/")[0],
                                *tmpfs_dirs], stdout=spawn.PIPE, stderr=err)
            except OSError as exc:
                await self.destroy()
                raise RuntimeError(f"pod sandbox did not start: {exc}") from None
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), START_TIMEOUT)
        except asyncio.TimeoutError:
            line = b""
        if line.strip() != b"ready":
            message = (self.dir / "stderr").read_text(errors="replace").strip() or "no ready line"
            await self.destroy()
            raise RuntimeError(f"pod sandbox did not start: {message}")
        self.pid = self._process.pid
        self._save()


    def _save(self) -> None:
        started = procutil.start_time(self.pid) if self.pid is not None else None
        (self.dir / "state.json").write_text(json.dumps({"uid": self.uid, "veth": self.veth,
                                                         "pid": self.pid, "started": started}))

    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def destroy(self) -> None:
        """Kill the sandbox, and so every process left in the pod and with them its network
        namespace and veth pair; remove its cgroups."""
        if self._process is not None:  # the pod's PID 1: the kernel kills the rest of its namespace
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except asyncio.TimeoutError:
                log.warning("pod sandbox %s: PID 1 (%d) did not exit after SIGKILL", self.uid, self._process.pid)
        if self.cgroups is not None:
            cgroups.remove_pod(self.cgroups, self.uid)
        with contextlib.suppress(OSError):
            (self.dir / "state.json").unlink()
        self.pid = None


def clean_stale(root: Path, hierarchies: Hierarchies | None) -> int:
    """Remove what sandboxes of an earlier run of the agent left under `root` (agent start)."""
    removed = 0
    for path in root.glob(f"*/{STATE_DIR}/state.json"):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        pid, started = state.get("pid"), state.get("started")
        if pid and started:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(int(pid))
                if abs(proc.create_time() - float(started)) < 0.01:
                    proc.kill()
        network.remove_leftovers(state.get("netns", ""), state.get("veth", ""))
        if hierarchies is not None and state.get("uid"):
            cgroups.remove_pod(hierarchies, state["uid"])
        with contextlib.suppress(OSError):
            path.unlink()
        removed += 1
    if removed:
        log.warning("removed %d pod sandbox(es) left by an earlier run of the node agent", removed)
    return removed
