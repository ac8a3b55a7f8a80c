"""Usage of containers that are real processes, as a kubelet's cAdvisor would measure it.

CPU is a rate: CPU seconds of the container's process tree per second of wall time between
two samples (the first sample measures since the process started), in millicores. Memory is the
tree's resident set. `psutil` reads both, so this works wherever the process runtime does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import psutil

from tinykube.metrics.usage import Usage


@dataclass
class _Sample:
    cpu_seconds: float
    at: float
    millicores: float


def tree_totals(pid: int) -> tuple[float, int, float] | None:
    """(CPU seconds, resident bytes, start time) of a process and its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
        started = root.create_time()
    except psutil.Error:
        return None
    cpu, rss = 0.0, 0
    for proc in procs:
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system
            rss += proc.memory_info().rss
        except psutil.Error:
            continue
    return cpu, rss, started


def cpu_rate(previous: _Sample | None, cpu_seconds: float, now: float, started: float,
             min_interval: float = 1.0) -> float:
    """Millicores used since the previous sample (or since start); a sample taken too soon
    after the previous one repeats its rate."""
    if previous is None:
        elapsed = max(now - started, 1e-3)
        return max(0.0, cpu_seconds / elapsed * 1000)
    if now - previous.at < min_interval:
        return previous.millicores
    return max(0.0, (cpu_seconds - previous.cpu_seconds) / (now - previous.at) * 1000)


class ProcessUsage:
    """Per-container samples keyed by the container's pid; `wall` gives wall-clock seconds since
    the epoch (the time base of a process's start time)."""

    def __init__(self, wall: Callable[[], float]) -> None:
        self._wall = wall
        self._samples: dict[int, _Sample] = {}

    def usage(self, pid: int) -> Usage | None:
        totals = tree_totals(pid)
        if totals is None:
            self._samples.pop(pid, None)
            return None
        cpu, rss, started = totals
        now = self._wall()
        previous = self._samples.get(pid)
        millicores = cpu_rate(previous, cpu, now, started)
        if previous is None or now - previous.at >= 1.0:
            self._samples[pid] = _Sample(cpu, now, millicores)
        return Usage(millicores, rss)

    def forget(self, live_pids: set[int]) -> None:
        for pid in [p for p in self._samples if p not in live_pids]:
            del self._samples[pid]
