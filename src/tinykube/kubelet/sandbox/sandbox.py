"""The pod sandbox: the namespaces a pod's containers share, held by one process per pod.

`decide` runs once when the agent starts: as root on Linux with iproute2 and util-linux, and
when a trial `unshare` of every namespace kind works, pods get sandboxes; otherwise they run
on the host (the reason is logged and posted as a node event). A `PodSandbox` is a network
namespace on the bridge (`network.py`) plus `pause.py` started by `nsenter --net` + `unshare`
as PID 1 of new UTS, IPC, mount and PID namespaces; containers join it with `enter.py`.

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
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tinykube.kubelet import spawn
from tinykube.kubelet.sandbox import cgroups, network
from tinykube.kubelet.sandbox.cgroups import Hierarchies

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PAUSE = str(HERE / "pause.py")
ENTER = str(HERE / "enter.py")
STATE_DIR = "_sandbox"
START_TIMEOUT = 20.0  # wall seconds for the sandbox process to say "ready"
TOOLS = ("ip", "unshare", "nsenter")


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


def names(uid: str) -> tuple[str, str]:
    """(network namespace, host-side veth) names for a pod; a veth name has at most 15 bytes."""
    digest = hashlib.sha256(uid.encode()).hexdigest()[:10]
    return f"tk-{digest}", f"tkv{digest}"


class PodSandbox:
    def __init__(self, pod_dir: Path, uid: str, hostname: str, address: str, gateway: str,
                 hierarchies: Hierarchies | None) -> None:
        self.dir = pod_dir / STATE_DIR
        self.uid = uid
        self.hostname = hostname
        self.address = address
        self.gateway = gateway
        self.cgroups = hierarchies
        self.netns, self.veth = names(uid)
        self.pid: int | None = None  # the sandbox process (PID 1 of the pod), as the host sees it
        self._holder: spawn.ChildProcess | None = None

    async def create(self, tmpfs_dirs: list[str]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save()  # first: a crash from here on leaves enough to clean up
        await network.delete_pod_network(self.netns, self.veth)  # a leftover of the same pod
        await network.create_pod_network(self.netns, self.veth)
        with open(self.dir / "stderr", "wb") as err:
            self._holder = await spawn.create_subprocess_exec(
                "nsenter", f"--net={network.netns_path(self.netns)}", "unshare", "--uts", "--ipc", "--mount",
                "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
                sys.executable, "-I", "-S", PAUSE, self.hostname,
                f"{self.address}/{self.gateway.split('/')[1]}", self.gateway.split("/")[0], *tmpfs_dirs,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=err,
                start_new_session=True)
        assert self._holder.stdout is not None
        try:
            line = await asyncio.wait_for(self._holder.stdout.readline(), START_TIMEOUT)
        except asyncio.TimeoutError:
            line = b""
        if line.strip() != b"ready":
            message = (self.dir / "stderr").read_text(errors="replace").strip() or "no ready line"
            await self.destroy()
            raise RuntimeError(f"pod sandbox did not start: {message}")
        self.pid = first_child(self._holder.pid) or self._holder.pid
        self._save()

    def _save(self) -> None:
        started = None
        if self.pid is not None:
            with contextlib.suppress(psutil.Error):
                started = psutil.Process(self.pid).create_time()
        (self.dir / "state.json").write_text(json.dumps({"uid": self.uid, "netns": self.netns, "veth": self.veth,
                                                         "pid": self.pid, "started": started}))

    def alive(self) -> bool:
        return self._holder is not None and self._holder.returncode is None

    async def destroy(self) -> None:
        """Kill the sandbox (and so every process left in the pod), remove network and cgroups."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        if self._holder is not None:
            # unshare exits once the pod's PID 1 (and so every process of the pod) is gone;
            # killing it first would leave that PID 1 dying on its own (--kill-child covers crashes)
            if self.pid is None:
                with contextlib.suppress(ProcessLookupError):
                    self._holder.kill()
            try:
                await asyncio.wait_for(self._holder.wait(), 5)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self._holder.kill()
        await network.delete_pod_network(self.netns, self.veth)
        if self.cgroups is not None:
            cgroups.remove_pod(self.cgroups, self.uid)
        with contextlib.suppress(OSError):
            (self.dir / "state.json").unlink()
        self.pid = None

    def enter_argv(self, plan: dict[str, Any], error_fd: int | None, target: int | None = None) -> list[str]:
        """The command line that runs a container inside this sandbox (or, with `target`, a
        command inside the running container whose process that is)."""
        return [sys.executable, "-I", "-S", ENTER, *plan_arguments(plan, target or self.pid or 0, error_fd)]


def plan_arguments(plan: dict[str, Any], sandbox_pid: int, error_fd: int | None) -> list[str]:
    """`enter.py`'s arguments for a plan, in the order its `parse_plan` reads them (pure)."""
    cgroups = list(plan.get("cgroups") or [])
    mounts = plan.get("mounts") or []
    out = ["-" if error_fd is None else str(error_fd), str(sandbox_pid), "1" if plan.get("join") else "0",
           plan.get("cwd") or "/", str(len(cgroups)), *cgroups, str(len(mounts))]
    for m in mounts:
        out += [m["source"], m["target"], "1" if m.get("readOnly") else "0"]
    return out + list(plan["argv"])


def first_child(pid: int) -> int | None:
    """A process's first child, from /proc/<pid>/task/<pid>/children (psutil's children() scans
    every process on the machine: too slow once per container start)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(text[0]) if text else None
    except (OSError, ValueError):
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(pid).children()
            return children[0].pid if children else None
    return None


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
        network.delete_pod_network_sync(state.get("netns", ""), state.get("veth", ""))
        if hierarchies is not None and state.get("uid"):
            cgroups.remove_pod(hierarchies, state["uid"])
        with contextlib.suppress(OSError):
            path.unlink()
        removed += 1
    if removed:
        log.warning("removed %d pod sandbox(es) left by an earlier run of the node agent", removed)
    return removed
