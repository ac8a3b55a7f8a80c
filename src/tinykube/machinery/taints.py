"""Taints and tolerations: whether a pod's tolerations let it onto (or keep it on) a node.

Shared by the scheduler (NoSchedule/NoExecute filtering, PreferNoSchedule scoring) and the
node lifecycle controller (NoExecute eviction), so both read a taint the same way. Taints
and tolerations are the plain API dicts (`{"key", "value", "effect"}`,
`{"key", "operator", "value", "effect", "tolerationSeconds"}`).
"""

from __future__ import annotations

from typing import Any, Iterable

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """True when `toleration` tolerates `taint`.

    Follows the API's ToleratesTaint: an empty toleration effect matches every effect; an
    empty toleration key matches every key (validation only allows that with `Exists`);
    operator `Exists` matches any value, `Equal` (the default when empty) needs equal
    values; any other operator tolerates nothing.
    """
    effect = toleration.get("effect") or ""
    if effect and effect != (taint.get("effect") or ""):
        return False
    key = toleration.get("key") or ""
    if key and key != (taint.get("key") or ""):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerations_tolerate(tolerations: Iterable[dict[str, Any]], taint: dict[str, Any]) -> bool:
    """True when any of `tolerations` tolerates `taint`."""
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated_taint(
    taints: Iterable[dict[str, Any]] | None,
    tolerations: Iterable[dict[str, Any]] | None,
    effects: set[str] | frozenset[str] | None = None,
) -> dict[str, Any] | None:
    """The first taint (in node order) whose effect is in `effects` and that no toleration
    tolerates; None when every such taint is tolerated. `effects=None` considers all taints."""
    tols = list(tolerations or ())
    for taint in taints or ():
        if effects is not None and (taint.get("effect") or "") not in effects:
            continue
        if not tolerations_tolerate(tols, taint):
            return taint
    return None


def matching_tolerations(
    taints: Iterable[dict[str, Any]], tolerations: Iterable[dict[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """For each taint the first toleration that tolerates it, or None when some taint is
    not tolerated at all (the eviction logic only looks at that first match, as upstream)."""
    tols = list(tolerations or ())
    used: list[dict[str, Any]] = []
    for taint in taints:
        for tol in tols:
            if tolerates(tol, taint):
                used.append(tol)
                break
        else:
            return None
    return used


def min_toleration_seconds(
    taints: Iterable[dict[str, Any]], tolerations: Iterable[dict[str, Any]] | None
) -> int | None:
    """How long a pod may stay on a node carrying these NoExecute `taints`.

    Returns 0 when some taint is not tolerated (evict now) or a matching toleration has
    tolerationSeconds <= 0; otherwise the smallest tolerationSeconds among the matching
    tolerations; None when none of them sets tolerationSeconds (or there are no taints),
    meaning the pod may stay forever.
    """
    taints = list(taints)
    if not taints:
        return None
    used = matching_tolerations(taints, tolerations)
    if used is None:
        return 0
    smallest: int | None = None
    for tol in used:
        seconds = tol.get("tolerationSeconds")
        if seconds is None:
            continue
        seconds = int(seconds)
        if seconds <= 0:
            return 0
        if smallest is None or seconds < smallest:
            smallest = seconds
    return smallest
