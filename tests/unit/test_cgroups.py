"""A container's cgroup directories and limit files (on a plain directory standing in for the
cgroup file systems: what is made and written is what the kernel would be asked for)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykube.kubelet.sandbox.cgroups import ContainerCgroup, Hierarchies
from tinykube.kubelet.sandbox.limits import Limits


def files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def dirs(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*")) if p.is_dir()]


@pytest.mark.parametrize("limits, written, made, joined", [
    (Limits(), {}, ["mem/uid", "mem/uid/c"], ["mem/uid/c/cgroup.procs"]),
    (Limits(memory_bytes=64 << 20), {"mem/uid/c/memory.limit_in_bytes": str(64 << 20)},
     ["mem/uid", "mem/uid/c"], ["mem/uid/c/cgroup.procs"]),
    (Limits(cpu_quota_us=25_000), {"cpu/uid/c/cpu.cfs_period_us": "100000", "cpu/uid/c/cpu.cfs_quota_us": "25000"},
     ["cpu/uid", "cpu/uid/c", "mem/uid", "mem/uid/c"], ["mem/uid/c/cgroup.procs", "cpu/uid/c/cgroup.procs"]),
])
def test_v1_makes_and_writes_only_what_the_limits_need(tmp_path: Path, limits, written, made, joined):
    (tmp_path / "mem").mkdir()
    (tmp_path / "cpu").mkdir()
    group = ContainerCgroup(Hierarchies(1, tmp_path / "mem", tmp_path / "cpu"), "uid", "c")
    procs = group.create(limits)
    assert files(tmp_path) == written
    assert dirs(tmp_path) == sorted(["cpu", "mem", *made])
    assert procs == [str(tmp_path / p) for p in joined]


@pytest.mark.parametrize("limits, written", [
    (Limits(), {}),
    (Limits(memory_bytes=1 << 20), {"memory.max": str(1 << 20), "memory.swap.max": "0"}),
    (Limits(cpu_quota_us=50_000), {"cpu.max": "50000 100000"}),
])
def test_v2_writes_only_the_limits_set(tmp_path: Path, limits, written):
    base = tmp_path / "tinykube"
    (base / "uid" / "c").mkdir(parents=True)
    (base / "uid" / "cgroup.subtree_control").write_text("+memory +cpu")
    (base / "uid" / "c" / "cpu.max").write_text("max 100000")  # the kernel's file, present when cpu is on
    before = files(base / "uid" / "c")
    group = ContainerCgroup(Hierarchies(2, base, base), "uid", "c")
    assert group.create(limits) == [str(base / "uid" / "c" / "cgroup.procs")]
    assert files(base / "uid" / "c") == {**before, **written}


def test_a_restart_counts_oom_kills_from_what_earlier_runs_left(tmp_path: Path):
    """A cgroup just made has no OOM kills to read; one a restart finds made keeps its count."""
    (tmp_path / "mem").mkdir()
    first = ContainerCgroup(Hierarchies(1, tmp_path / "mem", None), "uid", "c")
    first.create(Limits(memory_bytes=1 << 20))
    assert first.new and first.oom_kills_before_start() == 0
    (tmp_path / "mem" / "uid" / "c" / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert first.oom_kills() == 2  # what the run's end compares against
    again = ContainerCgroup(Hierarchies(1, tmp_path / "mem", None), "uid", "c")
    again.create(Limits(memory_bytes=1 << 20))
    assert not again.new and again.oom_kills_before_start() == 2
