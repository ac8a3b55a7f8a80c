"""Per-container cgroups: memory (and CPU) limits and the OOM kill count.

cgroup v2 is used when its hierarchy has the memory controller; otherwise the v1 memory
controller (and the v1 cpu controller, when mounted). Each container gets a directory
`tinykube/<pod uid>/<container>` in every hierarchy used; the container's process joins it
before its exec (`enter.py` writes "0" into each `cgroup.procs`). The runtime reads the OOM
kill counter before and after a run: a SIGKILLed run whose counter went up was OOMKilled.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from tinykube.kubelet.sandbox.limits import CFS_PERIOD_US, Limits, cpu_max

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
PREFIX = "tinykube"


@dataclass(frozen=True)
class Hierarchies:
    """Where container cgroups go: `version` 2 (one directory) or 1 (memory and cpu ones)."""

    version: int
    memory: Path
    cpu: Path | None

    def describe(self) -> str:
        return f"cgroup v{self.version} ({self.memory})"


def _v2_root(root: Path) -> Path | None:
    for candidate in (root, root / "unified"):
        controllers = candidate / "cgroup.controllers"
        with contextlib.suppress(OSError):
            if "memory" in controllers.read_text().split():
                return candidate
    return None


def _own_v1_path(controller: str) -> str:
    """This process's cgroup in a v1 hierarchy (nest under it: outer limits still hold)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path.lstrip("/")
    return ""


def detect(root: Path = CGROUP_ROOT) -> Hierarchies | None:
    """The hierarchies this agent can write, v2 first; None when neither is usable."""
    v2 = _v2_root(root)
    if v2 is not None and os.access(v2, os.W_OK):
        with contextlib.suppress(OSError):
            base = v2 / PREFIX
            base.mkdir(exist_ok=True)
            _enable(v2, ("memory", "cpu"))
            _enable(base, ("memory", "cpu"))
            return Hierarchies(2, base, base)
    memory = root / "memory"
    if (memory / "memory.limit_in_bytes").exists() and os.access(memory, os.W_OK):
        base = memory / _own_v1_path("memory") / PREFIX
        cpu_root = root / "cpu"
        cpu = cpu_root / _own_v1_path("cpu") / PREFIX if (cpu_root / "cpu.cfs_quota_us").exists() else None
        with contextlib.suppress(OSError):
            base.mkdir(parents=True, exist_ok=True)
            if cpu is not None:
                cpu.mkdir(parents=True, exist_ok=True)
            return Hierarchies(1, base, cpu)
    return None


def _enable(path: Path, controllers: tuple[str, ...]) -> None:
    available = (path / "cgroup.controllers").read_text().split()
    for name in controllers:
        if name in available:
            with contextlib.suppress(OSError):
                (path / "cgroup.subtree_control").write_text(f"+{name}")


class ContainerCgroup:
    """One container's cgroup directories, created with its limits."""

    def __init__(self, hierarchies: Hierarchies, pod_uid: str, container: str) -> None:
        self.h = hierarchies
        self.memory = hierarchies.memory / pod_uid / container
        self.cpu = hierarchies.cpu / pod_uid / container if hierarchies.cpu is not None and hierarchies.version == 1 \
            else None
        self.new = False  # whether create() made the directories (a restart finds them made)

    def create(self, limits: Limits) -> list[str]:
        """Make the directories and write the limits; the `cgroup.procs` files to join.

        A limit the container does not set is not written: a new cgroup has none (and a
        container's limits never change, so a restart finds what its first run wrote). Without a
        CPU limit, v1 has no cpu cgroup to make at all: each mkdir there costs the kernel an
        allocation per CPU, and most containers set no limits."""
        try:
            self.memory.mkdir(parents=True)
            self.new = True
        except FileExistsError:
            self.new = False
        if self.h.version == 2:
            if not (self.memory.parent / "cgroup.subtree_control").read_text().strip():
                _enable(self.memory.parent, ("memory", "cpu"))
            if limits.memory_bytes:
                _write(self.memory / "memory.max", str(limits.memory_bytes))
                _write(self.memory / "memory.swap.max", "0")
            if limits.cpu_quota_us is not None and (self.memory / "cpu.max").exists():
                _write(self.memory / "cpu.max", cpu_max(limits.cpu_quota_us))
            return [str(self.memory / "cgroup.procs")]
        if limits.memory_bytes:
            _write(self.memory / "memory.limit_in_bytes", str(limits.memory_bytes))
            if (self.memory / "memory.memsw.limit_in_bytes").exists():
                _write(self.memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        procs = [str(self.memory / "cgroup.procs")]
        if self.cpu is not None and limits.cpu_quota_us is not None:
            self.cpu.mkdir(parents=True, exist_ok=True)
            _write(self.cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US))
            _write(self.cpu / "cpu.cfs_quota_us", str(limits.cpu_quota_us))
            procs.append(str(self.cpu / "cgroup.procs"))
        return procs

    def oom_kills_before_start(self) -> int:
        """The count a run starts from: none in a cgroup just made (reading the kernel's
        counter costs a container start ~0.1 ms), else what earlier runs left."""
        return 0 if self.new else self.oom_kills()

    def oom_kills(self) -> int:
        """How many processes the OOM killer has killed in this cgroup so far."""
        name = "memory.events" if self.h.version == 2 else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        return 0


def remove_pod(hierarchies: Hierarchies, pod_uid: str) -> None:
    """Remove a pod's cgroup directories (their processes must be gone)."""
    for base in {hierarchies.memory, hierarchies.cpu} - {None}:
        remove_tree(base / pod_uid)  # type: ignore[operator]


def remove_tree(path: Path) -> None:
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir():
            remove_tree(child)
    try:
        path.rmdir()
    except OSError as exc:
        log.debug("cgroup %s not removed: %s", path, exc)


def _write(path: Path, value: str) -> None:
    path.write_text(value)
