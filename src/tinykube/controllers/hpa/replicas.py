"""The replica calculator: how many pods a resource metric asks for (upstream
pkg/controller/podautoscaler/replica_calculator.go), as pure functions.

desired = ceil(current ready pods × usage / target), unless the ratio is within the tolerance
(10%). Pods that are being deleted or failed are ignored; pending pods and (for CPU) pods not
yet ready or still starting count as unready; pods without metrics are missing. When unready
or missing pods could change the direction, upstream assumes the least favourable usage for
them (0 on a scale-up, the target on a scale-down) and stays put if the direction flips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = 300.0  # seconds after start in which a CPU sample may be unreliable
INITIAL_READINESS_DELAY = 30.0  # a pod unready this soon after start has never been ready
METRIC_WINDOW = 10.0


class MetricsError(Exception):
    """No replica count can be computed from this metric (the message is upstream's)."""


@dataclass(frozen=True)
class PodSample:
    """A pod as the calculator sees it (times in seconds since the epoch)."""

    name: str
    phase: str = "Running"
    deleting: bool = False
    ready: str | None = "True"  # the Ready condition's status, None when absent
    ready_since: float | None = None  # the Ready condition's lastTransitionTime
    start: float | None = None
    request_milli: int | None = None  # the containers' summed request; None if one has none
    missing_request_container: str = ""


@dataclass(frozen=True)
class Groups:
    ready: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


def group_pods(pods: list[PodSample], metrics: dict[str, int], resource: str, now: float,
               metric_time: float) -> Groups:
    ready = 0
    unready, missing, ignored = set(), set(), set()
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        if pod.name not in metrics:
            missing.add(pod.name)
            continue
        if resource == "cpu" and _cpu_unready(pod, now, metric_time):
            unready.add(pod.name)
            continue
        ready += 1
    return Groups(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(pod: PodSample, now: float, metric_time: float) -> bool:
    if pod.ready is None or pod.start is None:
        return True
    since = pod.ready_since if pod.ready_since is not None else pod.start
    if pod.start + CPU_INITIALIZATION_PERIOD > now:
        # still starting: an unready pod, or a sample taken before a full window of readiness
        return pod.ready == "False" or metric_time < since + METRIC_WINDOW
    # unready, and it never became ready after starting
    return pod.ready == "False" and pod.start + INITIAL_READINESS_DELAY > since


def utilization_ratio(metrics: dict[str, int], requests: dict[str, int], target: int) -> tuple[float, int, int]:
    """(usage / target, current utilization %, average usage in milli-units) over pods that
    have both a metric and a request."""
    used = requested = entries = 0
    for name, value in metrics.items():
        if name not in requests:
            continue
        used += value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = int(used * 100 // requested)
    return utilization / target, utilization, int(used // entries)


def _usable(pods: list[PodSample], metrics: dict[str, int], resource: str, now: float,
            metric_time: float) -> tuple[Groups, dict[str, int]]:
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    groups = group_pods(pods, metrics, resource, now, metric_time)
    kept = {n: v for n, v in metrics.items() if n not in groups.ignored and n not in groups.unready}
    if not kept:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return groups, kept


def _settle(current: int, ratio: float, new_ratio: float, counted: int) -> int:
    """After filling in unready/missing pods: stay when within tolerance or when the
    direction flipped; otherwise the new count, unless it moves against the ratio."""
    if abs(1.0 - new_ratio) <= TOLERANCE or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def utilization_replicas(current: int, target_utilization: int, pods: list[PodSample], metrics: dict[str, int],
                         resource: str, now: float, metric_time: float) -> tuple[int, int, int]:
    """(replicas, utilization %, average usage milli) for a target averageUtilization."""
    groups, kept = _usable(pods, metrics, resource, now, metric_time)
    requests: dict[str, int] = {}
    for pod in pods:
        if pod.request_milli is None:
            raise MetricsError(f"missing request for {resource} in container {pod.missing_request_container} "
                               f"of Pod {pod.name}")
        requests[pod.name] = pod.request_milli
    ratio, utilization, raw = utilization_ratio(kept, requests, target_utilization)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return current, utilization, raw
        return math.ceil(ratio * groups.ready), utilization, raw
    filled = dict(kept)
    if groups.missing:
        if ratio < 1.0:
            fallback = max(100, target_utilization)
            filled.update({n: requests[n] * fallback // 100 for n in groups.missing})
        elif ratio > 1.0:
            filled.update({n: 0 for n in groups.missing})
    if scale_up_with_unready:
        filled.update({n: 0 for n in groups.unready})
    new_ratio, _, _ = utilization_ratio(filled, requests, target_utilization)
    return _settle(current, ratio, new_ratio, len(filled)), utilization, raw


def average_value_replicas(current: int, target_milli: int, pods: list[PodSample], metrics: dict[str, int],
                           resource: str, now: float, metric_time: float) -> tuple[int, int]:
    """(replicas, average usage milli) for a target averageValue."""
    groups, kept = _usable(pods, metrics, resource, now, metric_time)
    usage = int(sum(kept.values()) // len(kept))
    ratio = usage / target_milli
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if abs(1.0 - ratio) <= TOLERANCE:
            return current, usage
        return math.ceil(ratio * groups.ready), usage
    filled = dict(kept)
    if groups.missing:
        filled.update({n: (target_milli if ratio < 1.0 else 0) for n in groups.missing})
    if scale_up_with_unready:
        filled.update({n: 0 for n in groups.unready})
    new_ratio = (sum(filled.values()) // len(filled)) / target_milli
    return _settle(current, ratio, new_ratio, len(filled)), usage
