"""Pure questions controllers ask about pods: active? ready? available? which to delete first?

Upstream's answers (pkg/controller/controller_utils.go, pkg/api/v1/pod): a pod counts while it
is neither finished nor being deleted; it is available once Ready for minReadySeconds; on
scale-down the least valuable pods go first, ranked as ActivePodsWithRanks ranks them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tinykube.clock import timestamp_of

Obj = dict[str, Any]
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def is_active(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and \
        not pod["metadata"].get("deletionTimestamp")


def ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return None


def is_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"



def ready_since(pod: Obj) -> float | None:
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return timestamp_of(cond.get("lastTransitionTime"))


def is_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready, and for at least minReadySeconds (upstream IsPodAvailable)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


def available_in(pod: Obj, min_ready_seconds: int, now: float) -> float | None:
    """Seconds until a ready pod becomes available (None when not ready or already available)."""
    since = ready_since(pod)
    if since is None or min_ready_seconds <= 0:
        return None
    left = since + min_ready_seconds - now
    return left if left > 0 else None


@dataclass(frozen=True, slots=True)
class PodFacts:
    """The answers a controller needs about one version of a pod."""

    active: bool
    ready: bool
    ready_since: float | None
    controller_uid: str | None

    def available(self, min_ready_seconds: int, now: float) -> bool:
        if not self.ready:
            return False
        if min_ready_seconds <= 0:
            return True
        return self.ready_since is not None and self.ready_since + min_ready_seconds <= now


class PodFactsMemo:
    """PodFacts per pod version: a pod is examined again only when it changed, so counting the
    pods of a 10,000-replica owner on every sync is dictionary lookups, not condition parsing."""

    def __init__(self) -> None:
        self._by_uid: dict[str, tuple[str, PodFacts]] = {}

    def of(self, pod: Obj) -> PodFacts:
        meta = pod["metadata"]
        uid, version = meta.get("uid", ""), meta.get("resourceVersion", "")
        hit = self._by_uid.get(uid)
        if hit is not None and hit[0] == version:
            return hit[1]
        ref = next((r for r in meta.get("ownerReferences") or () if r.get("controller")), None)
        facts = PodFacts(is_active(pod), is_ready(pod), ready_since(pod), ref.get("uid") if ref else None)
        self._by_uid[uid] = (version, facts)
        return facts

    def forget(self, pod: Obj) -> None:
        self._by_uid.pop(pod["metadata"].get("uid", ""), None)


def restarts(pod: Obj) -> int:
    return max((int(s.get("restartCount") or 0) for s in (pod.get("status") or {}).get("containerStatuses") or []),
               default=0)


def _deletion_cost(pod: Obj) -> int:
    try:
        return int(((pod["metadata"].get("annotations") or {}).get(DELETION_COST)) or 0)
    except ValueError:
        return 0


def _log_bucket(seconds_ago: float) -> int:
    """LogarithmicScaleDown: compare ages by powers of two, so similar ages count as equal."""
    return int(math.log2(seconds_ago)) if seconds_ago >= 1 else 0


def deletion_rank_key(pod: Obj, related_on_node: int, now: float) -> tuple:
    """Sort key: pods that sort first are deleted first (upstream ActivePodsWithRanks.Less)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    assigned = 1 if spec.get("nodeName") else 0
    phase = PHASE_ORDER.get(status.get("phase", ""), 3)
    ready = 1 if is_ready(pod) else 0
    since = ready_since(pod)
    ready_age = _log_bucket(now - since) if since is not None else 0
    created = timestamp_of(pod["metadata"].get("creationTimestamp")) or now
    return (assigned, phase, ready, _deletion_cost(pod), -related_on_node,
            ready_age if ready else 0, -restarts(pod), _log_bucket(now - created), pod["metadata"].get("uid", ""))


def pods_to_delete(pods: list[Obj], related: list[Obj], count: int, now: float) -> list[Obj]:
    """The `count` pods to remove on scale-down; `related` are all active pods of the owner's
    family (to rank pods on crowded nodes first)."""
    per_node: dict[str, int] = {}
    for pod in related:
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            per_node[node] = per_node.get(node, 0) + 1
    ranked = sorted(pods, key=lambda p: deletion_rank_key(
        p, per_node.get((p.get("spec") or {}).get("nodeName") or "", 0), now))
    return ranked[:count]


def slow_start_batches(total: int, initial: int = 1) -> list[int]:
    """Create sizes 1, 2, 4, … (upstream slowStartBatch): a failing create stops the rest early."""
    batches, size, left = [], min(initial, total), total
    while left > 0:
        size = min(size, left)
        batches.append(size)
        left -= size
        size *= 2
    return batches
