"""Pure Deployment arithmetic: template hashes, surge/unavailable fenceposts, how far to scale.

Upstream: pkg/controller/deployment/util/deployment_util.go and rolling.go. Kept free of I/O so
each rule is checked by a table.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import orjson

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand alphanums


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
    out = copy.deepcopy(template or {})
    labels = (out.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return out


def templates_equal(rs_template: Obj, deployment_template: Obj) -> bool:
    """Whether a ReplicaSet runs the deployment's template (ignoring the hash label)."""
    return orjson.dumps(template_without_hash(rs_template), option=orjson.OPT_SORT_KEYS) == \
        orjson.dumps(template_without_hash(deployment_template), option=orjson.OPT_SORT_KEYS)


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


def rolling_params(deployment: Obj) -> tuple[int, int]:
    spec = deployment.get("spec") or {}
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    return resolve_fenceposts(rolling.get("maxSurge", "25%"), rolling.get("maxUnavailable", "25%"),
                              int(spec.get("replicas", 1)))


def replicas_of(rs: Obj | None) -> int:
    return int(((rs or {}).get("spec") or {}).get("replicas") or 0)


def available_of(rs: Obj | None) -> int:
    return int(((rs or {}).get("status") or {}).get("availableReplicas") or 0)


def new_rs_replicas(desired: int, surge: int, new_rs: Obj, all_rs: list[Obj]) -> int:
    """How far the new ReplicaSet may grow now (upstream NewRSNewReplicas, RollingUpdate)."""
    current = sum(replicas_of(rs) for rs in all_rs)
    new = replicas_of(new_rs)
    if current >= desired + surge:
        return new
    room = desired + surge - current
    return new + max(0, min(room, desired - new))


def max_old_scale_down(desired: int, unavailable: int, new_rs: Obj, all_rs: list[Obj]) -> int:
    """How many old replicas may go now without dropping below desired - maxUnavailable
    available (upstream reconcileOldReplicaSets' maxScaledDown)."""
    total = sum(replicas_of(rs) for rs in all_rs)
    min_available = desired - unavailable
    new_unavailable = replicas_of(new_rs) - available_of(new_rs)
    return max(0, total - min_available - new_unavailable)


def proportions(desired: int, replica_sets: list[Obj]) -> list[int]:
    """Spread `desired` over active ReplicaSets in proportion to their sizes (the largest
    remainders first, newest winning ties): proportional scaling mid-rollout."""
    sizes = [replicas_of(rs) for rs in replica_sets]
    total = sum(sizes)
    if total == 0:
        return [desired] + [0] * (len(sizes) - 1) if sizes else []
    shares = [desired * s / total for s in sizes]
    counts = [math.floor(x) for x in shares]
    leftover = desired - sum(counts)
    order = sorted(range(len(sizes)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[:leftover]:
        counts[i] += 1
    return counts


def revision_of(obj: Obj | None) -> int:
    try:
        return int((((obj or {}).get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def set_condition(conditions: list[Obj], kind: str, status: str, reason: str, message: str, now: str) -> list[Obj]:
    """Replace (or add) a condition; lastTransitionTime moves only when the status flips, and
    lastUpdateTime when anything changes, as upstream's SetDeploymentCondition."""
    old = next((c for c in conditions if c.get("type") == kind), None)
    if old and old.get("status") == status and old.get("reason") == reason and old.get("message") == message:
        return conditions
    new = {"type": kind, "status": status, "lastUpdateTime": now,
           "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == status else now,
           "reason": reason, "message": message}
    return [c for c in conditions if c.get("type") != kind] + [new]
