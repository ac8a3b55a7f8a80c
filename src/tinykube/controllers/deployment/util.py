"""Pure Deployment arithmetic: template hashes, surge/unavailable fenceposts, how far to scale
which ReplicaSet, status and the conditions `kubectl rollout status` reads.

Upstream: pkg/controller/deployment/util/deployment_util.go, rolling.go, sync.go and
progress.go. Kept free of I/O so each rule is checked by a table; the controller modules
(sync, rolling, recreate, progress) only apply the plans made here.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import orjson

from tinykube.machinery.jsoncopy import json_copy

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations that are the controller's own bookkeeping, never copied to a ReplicaSet.
NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                        "deprecated.deployment.rollback.to"})
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand alphanums

# Condition reasons (upstream's deployment_util.go constants).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"


# ----------------------------------------------------------------------------- templates

def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template: Obj, collision_count: int | None = None) -> str:
    """A stable short name for a pod template (the `pod-template-hash` label and RS suffix).

    Same idea as upstream (FNV-32a over the template, plus the collision count, printed in
    decimal and mapped onto safe characters); the bytes hashed are our JSON, so the values differ
    from a real cluster's, which nothing may rely on anyway."""
    data = orjson.dumps(template, option=orjson.OPT_SORT_KEYS)
    if collision_count:
        data += str(collision_count).encode()
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in str(fnv32a(data)))


def template_without_hash(template: Obj) -> Obj:
    out = json_copy(template or {})
    labels = (out.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return out


def templates_equal(rs_template: Obj, deployment_template: Obj) -> bool:
    """Whether a ReplicaSet runs the deployment's template (ignoring the hash label)."""
    return orjson.dumps(template_without_hash(rs_template), option=orjson.OPT_SORT_KEYS) == \
        orjson.dumps(template_without_hash(deployment_template), option=orjson.OPT_SORT_KEYS)


# ----------------------------------------------------------------------------- fenceposts

def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent against `total` ("25%" of 10 → 3 rounding up, 2 rounding down)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if text.endswith("%"):
        exact = int(text[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable down; never both zero."""
    surge = scaled_value(max_surge, desired, True)
    unavailable = scaled_value(max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def desired_of(d: Obj) -> int:
    return int((d.get("spec") or {}).get("replicas", 1))


def is_rolling_update(d: Obj) -> bool:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def _fenceposts(d: Obj) -> tuple[int, int]:
    rolling = (((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate")) or {}
    return resolve_fenceposts(rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%"), desired_of(d))


def max_surge(d: Obj) -> int:
    """How many pods above desired a rollout may run (0 for Recreate)."""
    return _fenceposts(d)[0] if is_rolling_update(d) else 0


def max_unavailable(d: Obj) -> int:
    """How many of the desired pods may be unavailable (0 for Recreate or no replicas; never
    more than desired)."""
    desired = desired_of(d)
    if not is_rolling_update(d) or desired == 0:
        return 0
    return min(_fenceposts(d)[1], desired)


# ----------------------------------------------------------------------------- replica sets

def replicas_of(rs: Obj | None) -> int:
    return int(((rs or {}).get("spec") or {}).get("replicas") or 0)


def status_count(rs: Obj | None, field: str) -> int:
    return int(((rs or {}).get("status") or {}).get(field) or 0)


def available_of(rs: Obj | None) -> int:
    return status_count(rs, "availableReplicas")


def total_replicas(rss: Iterable[Obj | None]) -> int:
    return sum(replicas_of(rs) for rs in rss if rs is not None)


def total_available(rss: Iterable[Obj | None]) -> int:
    return sum(available_of(rs) for rs in rss if rs is not None)


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas_of(rs) > 0]


def annotation_int(obj: Obj | None, key: str) -> int | None:
    value = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def revision_of(obj: Obj | None) -> int:
    return annotation_int(obj, REVISION) or 0


def created(rs: Obj) -> tuple[str, str]:
    meta = rs.get("metadata") or {}
    return meta.get("creationTimestamp", ""), meta.get("name", "")


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first (upstream ReplicaSetsByCreationTimestamp; the name breaks ties)."""
    return sorted(rss, key=created)


def by_revision(rss: Iterable[Obj]) -> list[Obj]:
    """Lowest revision first (upstream ReplicaSetsByRevision)."""
    return sorted(rss, key=lambda rs: (revision_of(rs), created(rs)))


def by_size(rss: Iterable[Obj], newer_first: bool) -> list[Obj]:
    """Largest first; ties newest first (ReplicaSetsBySizeNewer) or oldest first (...Older)."""
    ordered = sorted(rss, key=created, reverse=newer_first)
    return sorted(ordered, key=lambda rs: -replicas_of(rs))


def replica_annotations(d: Obj) -> dict[str, str]:
    """The sizes a ReplicaSet was last scaled for (read back by proportional scaling)."""
    desired = desired_of(d)
    return {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(desired + max_surge(d))}


def new_rs_new_replicas(d: Obj, all_rs: list[Obj], new_rs: Obj) -> int:
    """How big the new ReplicaSet may be now (upstream NewRSNewReplicas): Recreate jumps to
    desired; RollingUpdate grows into the room under desired + maxSurge, never past desired."""
    desired = desired_of(d)
    if not is_rolling_update(d):
        return desired
    ceiling = desired + max_surge(d)
    current = total_replicas(all_rs)
    new = replicas_of(new_rs)
    if current >= ceiling:
        return new
    return new + max(0, min(ceiling - current, desired - new))


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """The new ReplicaSet runs all desired replicas, sized for this spec, all available."""
    if rs is None:
        return False
    desired = desired_of(d)
    return replicas_of(rs) == desired and annotation_int(rs, DESIRED_REPLICAS) == desired \
        and available_of(rs) == desired


def find_active_or_latest(new_rs: Obj | None, old: list[Obj]) -> Obj | None:
    """The one ReplicaSet with pods (or, with none active, the new or the newest old one);
    None when several are active — then scaling must be proportional."""
    if new_rs is None and not old:
        return None
    newest_first = sorted(old, key=created, reverse=True)
    running = active([*newest_first, new_rs])
    if not running:
        return new_rs if new_rs is not None else newest_first[0]
    return running[0] if len(running) == 1 else None


def is_scaling_event(d: Obj, new_rs: Obj | None, old: list[Obj]) -> bool:
    """spec.replicas changed since the active ReplicaSets were last sized (not a template change)."""
    desired = desired_of(d)
    for rs in active([new_rs, *old]):
        recorded = annotation_int(rs, DESIRED_REPLICAS)
        if recorded is not None and recorded != desired:
            return True
    return False


def round_half_away(x: float) -> int:
    """Go's math.Round: halves round away from zero (Python's round() rounds them to even)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def replica_set_fraction(rs: Obj, d: Obj) -> int:
    """How many replicas `rs` gains (or loses) when the deployment's size moves from what the
    ReplicaSet was annotated with to the current desired + maxSurge."""
    desired = desired_of(d)
    if desired == 0:
        return -replicas_of(rs)
    ceiling = desired + max_surge(d)
    before = annotation_int(rs, MAX_REPLICAS)
    if not before:
        before = status_count(d, "replicas")
        if before == 0:
            return 0
    return round_half_away(replicas_of(rs) * ceiling / before) - replicas_of(rs)


def proportional_sizes(d: Obj, new_rs: Obj | None, old: list[Obj]) -> list[tuple[Obj, int]]:
    """The new size of each ReplicaSet when a deployment is scaled mid-rollout (upstream
    DeploymentController.scale), as a plan: [(replica set, size)] for the sets to touch.

    One active (or no active) ReplicaSet takes the whole size; a saturated new one takes it and
    the old ones go to zero; otherwise each active set moves in proportion to its share and the
    largest absorbs the rounding leftover."""
    desired = desired_of(d)
    target = find_active_or_latest(new_rs, old)
    if target is not None:
        return [] if replicas_of(target) == desired else [(target, desired)]
    if is_saturated(d, new_rs):
        return [(rs, 0) for rs in active(old)]
    if not is_rolling_update(d):
        return []
    running = active([*old, new_rs])
    allowed = desired + max_surge(d) if desired > 0 else 0
    to_add = allowed - total_replicas(running)
    if to_add > 0:
        running = by_size(running, newer_first=True)
    elif to_add < 0:
        running = by_size(running, newer_first=False)
    sizes: list[int] = []
    added = 0
    for rs in running:
        share = 0
        if to_add != 0 and replicas_of(rs) != 0 and to_add != added:
            fraction = replica_set_fraction(rs, d)
            remaining = to_add - added
            share = min(fraction, remaining) if to_add > 0 else max(fraction, remaining)
        sizes.append(replicas_of(rs) + share)
        added += share
    if running and to_add != 0:
        sizes[0] = max(0, sizes[0] + to_add - added)
    return list(zip(running, sizes))


def cleanup_unhealthy_plan(old: list[Obj], budget: int) -> list[tuple[Obj, int]]:
    """Old replicas that are not available anyway go first (upstream cleanupUnhealthyReplicas),
    oldest ReplicaSet first, at most `budget` of them."""
    plan = []
    removed = 0
    for rs in by_creation(old):
        if removed >= budget:
            break
        unhealthy = replicas_of(rs) - available_of(rs)
        if replicas_of(rs) == 0 or unhealthy <= 0:
            continue
        cut = min(budget - removed, unhealthy)
        plan.append((rs, replicas_of(rs) - cut))
        removed += cut
    return plan


def scale_down_old_plan(d: Obj, all_rs: list[Obj], old: list[Obj]) -> list[tuple[Obj, int]]:
    """Available old replicas go while more than desired - maxUnavailable stay available
    (upstream scaleDownOldReplicaSetsForRollingUpdate), oldest ReplicaSet first."""
    min_available = desired_of(d) - max_unavailable(d)
    available = sum(surely_available(rs) for rs in all_rs)
    if available <= min_available:
        return []
    budget = available - min_available
    plan = []
    removed = 0
    for rs in by_creation(old):
        if removed >= budget:
            break
        if replicas_of(rs) == 0:
            continue
        cut = min(replicas_of(rs), budget - removed)
        plan.append((rs, replicas_of(rs) - cut))
        removed += cut
    return plan


def surely_available(rs: Obj) -> int:
    """Available replicas that stay available: a ReplicaSet scaled down a moment ago still
    reports its old count until its controller catches up, and counting those would let the
    next sync scale down again below desired - maxUnavailable."""
    return min(available_of(rs), replicas_of(rs))


def old_scale_down_budget(d: Obj, new_rs: Obj, all_rs: list[Obj]) -> int:
    """How many old replicas may go now without dropping below desired - maxUnavailable
    available (upstream reconcileOldReplicaSets' maxScaledDown)."""
    min_available = desired_of(d) - max_unavailable(d)
    new_unavailable = replicas_of(new_rs) - available_of(new_rs)
    return total_replicas(all_rs) - min_available - new_unavailable


def cleanup_candidates(d: Obj, old: list[Obj]) -> list[Obj]:
    """Old ReplicaSets beyond revisionHistoryLimit that hold no pods, lowest revision first."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old if not rs["metadata"].get("deletionTimestamp")]
    excess = len(alive) - int(limit)
    if excess <= 0:
        return []
    out = []
    for rs in by_revision(alive)[:excess]:
        meta = rs["metadata"]
        if status_count(rs, "replicas") or replicas_of(rs) or \
                meta.get("generation", 1) > status_count(rs, "observedGeneration"):
            continue
        out.append(rs)
    return out


# ----------------------------------------------------------------------------- status

def get_condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def set_condition(status: Obj, kind: str, state: str, reason: str, message: str, now: str) -> None:
    """Set a condition as upstream's SetDeploymentCondition: a condition with the same status and
    reason is left alone; lastTransitionTime survives when only the reason changes."""
    current = get_condition(status, kind)
    if current and current.get("status") == state and current.get("reason") == reason:
        return
    transition = current["lastTransitionTime"] if current and current.get("status") == state else now
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind] + [
        {"type": kind, "status": state, "lastUpdateTime": now, "lastTransitionTime": transition,
         "reason": reason, "message": message}]


def remove_condition(status: Obj, kind: str) -> None:
    if status.get("conditions"):
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != kind]


def calculate_status(d: Obj, all_rs: list[Obj], new_rs: Obj | None, now: str) -> Obj:
    """The deployment's status from its ReplicaSets (upstream calculateStatus), keeping the
    conditions it had and setting Available from the maxUnavailable floor."""
    old_status = d.get("status") or {}
    available = total_available(all_rs)
    status: Obj = {
        "observedGeneration": d["metadata"].get("generation", 1),
        "replicas": sum(status_count(rs, "replicas") for rs in all_rs),
        "updatedReplicas": status_count(new_rs, "replicas"),
        "readyReplicas": sum(status_count(rs, "readyReplicas") for rs in all_rs),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total_replicas(all_rs) - available),
        "conditions": json_copy(old_status.get("conditions") or []),
    }
    if old_status.get("collisionCount") is not None:
        status["collisionCount"] = old_status["collisionCount"]
    if available >= desired_of(d) - max_unavailable(d):
        set_condition(status, "Available", "True", MIN_AVAILABLE, "Deployment has minimum availability.", now)
    else:
        set_condition(status, "Available", "False", MIN_UNAVAILABLE,
                      "Deployment does not have minimum availability.", now)
    return status


def wire_status(status: Obj) -> Obj:
    """Status as the API stores it: zero counts and empty lists are omitted (Go's omitempty)."""
    return {k: v for k, v in status.items() if v or k in ("observedGeneration", "collisionCount")}


def deployment_complete(d: Obj, status: Obj) -> bool:
    """Every desired replica is updated and available, and this spec has been observed."""
    desired = desired_of(d)
    return status.get("updatedReplicas", 0) == desired and status.get("replicas", 0) == desired and \
        status.get("availableReplicas", 0) == desired and \
        status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)


def deployment_progressing(d: Obj, status: Obj) -> bool:
    """More updated, ready or available replicas than last time, or fewer old ones."""
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = status.get("replicas", 0) - status.get("updatedReplicas", 0)
    return status.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old or \
        status.get("readyReplicas", 0) > old.get("readyReplicas", 0) or \
        status.get("availableReplicas", 0) > old.get("availableReplicas", 0)
