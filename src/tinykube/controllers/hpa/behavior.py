"""From the metrics' recommendation to the size to set: stabilization windows, scaling
policies and min/max (upstream horizontal.go normalizeDesiredReplicas*), as pure functions
over the controller's in-memory history of recommendations and scale events.

Without `spec.behavior`, upstream's legacy rules hold: scale-down is stabilized over the
last 5 minutes of recommendations and a scale-up is at most max(2 × current, 4). With it, each
direction has its own stabilization window and Pods/Percent policies over periodSeconds,
combined by selectPolicy (Max, Min or Disabled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
DOWNSCALE_STABILIZATION = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization
SCALE_UP_FACTOR = 2.0
SCALE_UP_MINIMUM = 4.0

WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
UP_STABILIZED = ("ScaleUpStabilized",
                 "recent recommendations were lower than current one, applying the lowest recent recommendation")
DOWN_STABILIZED = ("ScaleDownStabilized",
                   "recent recommendations were higher than current one, applying the highest recent recommendation")


@dataclass
class Recommendation:
    replicas: int
    at: float


@dataclass
class ScaleEvent:
    change: int
    at: float
    outdated: bool = False


@dataclass
class History:
    """What one HPA's controller remembers between syncs (lost on restart, as upstream's)."""

    recommendations: list[Recommendation] = field(default_factory=list)
    up_events: list[ScaleEvent] = field(default_factory=list)
    down_events: list[ScaleEvent] = field(default_factory=list)


def _remember(recs: list[Recommendation], replicas: int, now: float, obsolete_before: float) -> None:
    """Replace the last recommendation older than the cut-off, or append (upstream's reuse)."""
    old = [i for i, r in enumerate(recs) if r.at < obsolete_before]
    if old:
        recs[old[-1]] = Recommendation(replicas, now)
    else:
        recs.append(Recommendation(replicas, now))


def stabilize(history: History, desired: int, now: float, window: float = DOWNSCALE_STABILIZATION) -> int:
    """Legacy rule: the highest recommendation of the window (no scale-down on a dip)."""
    best = max([desired] + [r.replicas for r in history.recommendations if r.at >= now - window])
    _remember(history.recommendations, desired, now, now - window)
    return best


def stabilize_with_behavior(history: History, desired: int, current: int, up_window: float, down_window: float,
                            now: float) -> tuple[int, tuple[str, str]]:
    """Scaling up takes the lowest recommendation of the up window, down the highest of the
    down window."""
    upward = desired >= current
    window = up_window if upward else down_window
    pick = min if upward else max
    best = desired
    for rec in history.recommendations:
        if rec.at > now - window:
            best = pick(best, rec.replicas)
    _remember(history.recommendations, desired, now, now - max(up_window, down_window))
    return best, (UP_STABILIZED if upward else DOWN_STABILIZED)


def convert_with_rules(current: int, desired: int, min_replicas: int, max_replicas: int) -> tuple[int, tuple[str, str]]:
    """Legacy min/max with the 2×/4 scale-up cap."""
    up_limit = int(max(SCALE_UP_FACTOR * current, SCALE_UP_MINIMUM))
    ceiling, ceiling_reason = (up_limit, UP_LIMIT) if max_replicas > up_limit else (max_replicas, TOO_MANY)
    if desired < min_replicas:
        return min_replicas, TOO_FEW
    if desired > ceiling:
        return ceiling, ceiling_reason
    return desired, WITHIN_RANGE


def _changed_within(period: float, events: list[ScaleEvent], now: float) -> int:
    return sum(e.change for e in events if e.at > now - period)


def scale_up_limit(current: int, events: list[ScaleEvent], rules: Obj, now: float) -> int:
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    pick = min if select == "Min" else max
    result: int | None = None
    for policy in rules.get("policies") or []:
        start = current - _changed_within(float(policy.get("periodSeconds", 15)), events, now)
        if policy.get("type") == "Pods":
            proposed = start + int(policy.get("value", 0))
        else:
            proposed = math.ceil(start * (1 + int(policy.get("value", 0)) / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, events: list[ScaleEvent], rules: Obj, now: float) -> int:
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    pick = max if select == "Min" else min
    result: int | None = None
    for policy in rules.get("policies") or []:
        start = current + _changed_within(float(policy.get("periodSeconds", 15)), events, now)
        if policy.get("type") == "Pods":
            proposed = start - int(policy.get("value", 0))
        else:
            proposed = int(start * (1 - int(policy.get("value", 0)) / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def convert_with_behavior(history: History, current: int, desired: int, min_replicas: int, max_replicas: int,
                          behavior: Obj, now: float) -> tuple[int, tuple[str, str]]:
    """min/max and the policies' rate limits over the recent scale events."""
    if desired > current:
        limit = max(current, scale_up_limit(current, history.up_events, behavior.get("scaleUp") or {}, now))
        ceiling, reason = (limit, UP_LIMIT) if max_replicas > limit else (max_replicas, TOO_MANY)
        if desired > ceiling:
            return ceiling, reason
    elif desired < current:
        limit = min(current, scale_down_limit(current, history.down_events, behavior.get("scaleDown") or {}, now))
        floor, reason = (limit, DOWN_LIMIT) if min_replicas < limit else (min_replicas, TOO_FEW)
        if desired < floor:
            return floor, reason
    return desired, WITHIN_RANGE


def _longest_period(rules: Obj) -> float:
    return float(max((int(p.get("periodSeconds", 0)) for p in rules.get("policies") or []), default=0))


def record_scale(history: History, behavior: Obj | None, previous: int, new: int, now: float) -> None:
    """Remember a rescale for the policies' periods (only when a behavior uses them)."""
    if behavior is None:
        return
    upward = new > previous
    events = history.up_events if upward else history.down_events
    rules = behavior.get("scaleUp" if upward else "scaleDown") or {}
    cutoff = now - _longest_period(rules)
    for event in events:
        if event.at < cutoff:
            event.outdated = True
    fresh = ScaleEvent(abs(new - previous), now)
    reusable = [i for i, e in enumerate(events) if e.outdated]
    if reusable:
        events[reusable[-1]] = fresh
    else:
        events.append(fresh)
