"""The HPA's arithmetic as tables: the replica calculator and the behaviour rules."""

from __future__ import annotations

import pytest

from tinykube.controllers.hpa import behavior as b
from tinykube.controllers.hpa.replicas import (
    MetricsError, PodSample, average_value_replicas, group_pods, utilization_replicas,
)

NOW = 10_000.0
OLD = NOW - 1000  # started and ready long ago


def pod(name: str, request: int | None = 100, phase: str = "Running", ready: str | None = "True",
        start: float = OLD, ready_since: float = OLD, deleting: bool = False) -> PodSample:
    return PodSample(name, phase, deleting, ready, ready_since, start, request, "" if request is not None else "c")


THREE = [pod("a"), pod("b"), pod("c")]


@pytest.mark.parametrize("current, target, pods, usage, expect", [
    (3, 50, THREE, {"a": 50, "b": 50, "c": 50}, (3, 50, 50)),           # on target
    (3, 50, THREE, {"a": 100, "b": 100, "c": 100}, (6, 100, 100)),       # 2× the target: double
    (3, 50, THREE, {"a": 54, "b": 54, "c": 54}, (3, 54, 54)),           # within the 10% tolerance
    (3, 50, THREE, {"a": 10, "b": 10, "c": 10}, (1, 10, 10)),           # well below: down
    # a pod without metrics on a scale-down counts as using its whole request: no change
    (3, 50, THREE, {"a": 10, "b": 10}, (3, 10, 10)),
    # ... and on a scale-up as using nothing: a smaller step
    (3, 50, THREE, {"a": 100, "b": 100}, (4, 100, 100)),
    # a pending pod on a scale-up counts as using nothing
    (3, 50, [pod("a"), pod("b"), pod("c", phase="Pending")], {"a": 100, "b": 100}, (4, 100, 100)),
    # deleted and failed pods are ignored
    (3, 50, [pod("a"), pod("b", deleting=True), pod("c", phase="Failed")], {"a": 100, "b": 0, "c": 0},
     (2, 100, 100)),
])
def test_utilization_replicas(current, target, pods, usage, expect):
    assert utilization_replicas(current, target, pods, usage, "cpu", NOW, NOW) == expect


@pytest.mark.parametrize("pods, usage, message", [
    ([], {}, "no pods returned by selector while calculating replica count"),
    ([pod("a", request=None)], {"a": 10}, "missing request for cpu in container c of Pod a"),
    ([pod("a", phase="Pending")], {}, "did not receive metrics for targeted pods (pods might be unready)"),
])
def test_utilization_errors(pods, usage, message):
    with pytest.raises(MetricsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        utilization_replicas(1, 50, pods, usage, "cpu", NOW, NOW)


@pytest.mark.parametrize("pods, usage, expect", [
    ([pod("a"), pod("b")], {"a": 200, "b": 200}, (4, 200)),
    ([pod("a"), pod("b")], {"a": 100, "b": 105}, (2, 102)),
    ([pod("a"), pod("b")], {"a": 20, "b": 20}, (1, 20)),
])
def test_average_value_replicas(pods, usage, expect):
    assert average_value_replicas(2, 100, pods, usage, "memory", NOW, NOW) == expect


@pytest.mark.parametrize("sample, unready", [
    (pod("a"), False),
    (pod("a", start=NOW - 20, ready_since=NOW - 5), True),    # starting, ready for less than a window
    (pod("a", start=NOW - 60, ready_since=NOW - 30), False),  # starting, ready for a full window
    (pod("a", ready="False", start=NOW - 60, ready_since=NOW - 50), True),
    (pod("a", ready="False", start=OLD, ready_since=OLD + 10), True),   # never ready since it started
    (pod("a", ready="False", start=OLD, ready_since=OLD + 100), False),  # was ready once: its usage counts
    (pod("a", ready=None), True),
])
def test_cpu_readiness_grouping(sample, unready):
    groups = group_pods([sample], {"a": 10}, "cpu", NOW, NOW)
    assert ("a" in groups.unready) is unready
    assert "a" not in group_pods([sample], {"a": 10}, "memory", NOW, NOW).unready


# ----------------------------------------------------------------------------- behaviour

def test_legacy_stabilization_keeps_the_highest_recent_recommendation():
    history = b.History([b.Recommendation(5, NOW - 100), b.Recommendation(9, NOW - 400)])
    assert b.stabilize(history, 2, NOW) == 5
    assert [r.replicas for r in history.recommendations] == [5, 2]  # the stale one was reused


@pytest.mark.parametrize("current, desired, lo, hi, expect", [
    (2, 10, 1, 20, (4, "ScaleUpLimit")),       # at most max(2 × 2, 4)
    (10, 15, 1, 10, (10, "TooManyReplicas")),
    (3, 0, 1, 10, (1, "TooFewReplicas")),
    (3, 5, 1, 10, (5, "DesiredWithinRange")),
])
def test_convert_with_rules(current, desired, lo, hi, expect):
    value, (reason, _message) = b.convert_with_rules(current, desired, lo, hi)
    assert (value, reason) == expect


UP_DEFAULT = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                                  {"type": "Percent", "value": 100, "periodSeconds": 15}]}


@pytest.mark.parametrize("current, events, rules, expect", [
    (3, [], UP_DEFAULT, 7),                                  # max(3 + 4, 3 × 2)
    (3, [], {**UP_DEFAULT, "selectPolicy": "Min"}, 6),
    (3, [b.ScaleEvent(2, NOW - 5)], UP_DEFAULT, 5),         # the period started at 1 pod
    (3, [b.ScaleEvent(2, NOW - 30)], UP_DEFAULT, 7),        # an older step no longer counts
    (3, [], {**UP_DEFAULT, "selectPolicy": "Disabled"}, 3),
])
def test_scale_up_limit(current, events, rules, expect):
    assert b.scale_up_limit(current, events, rules, NOW) == expect


@pytest.mark.parametrize("current, events, rules, expect", [
    (5, [], {"policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}, 0),
    (5, [], {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}, 4),
    (5, [b.ScaleEvent(1, NOW - 10)], {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}, 5),
    (10, [], {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 60},
                           {"type": "Pods", "value": 2, "periodSeconds": 60}], "selectPolicy": "Min"}, 8),
])
def test_scale_down_limit(current, events, rules, expect):
    assert b.scale_down_limit(current, events, rules, NOW) == expect


def test_behavior_stabilization_and_rate_together():
    history = b.History([b.Recommendation(8, NOW - 100)])
    value, (reason, _) = b.stabilize_with_behavior(history, 2, 5, 0.0, 300.0, NOW)
    assert (value, reason) == (8, "ScaleDownStabilized")
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    value, (reason, _) = b.convert_with_behavior(b.History(), 3, 10, 1, 20, behavior, NOW)
    assert (value, reason) == (4, "ScaleUpLimit")
    value, (reason, _) = b.convert_with_behavior(b.History(), 3, 10, 1, 4, {**behavior, "scaleUp": {
        "policies": [{"type": "Pods", "value": 5, "periodSeconds": 60}]}}, NOW)
    assert (value, reason) == (4, "TooManyReplicas")


def test_record_scale_reuses_outdated_events():
    behavior = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    history = b.History(up_events=[b.ScaleEvent(1, NOW - 100)])
    b.record_scale(history, behavior, 3, 5, NOW)
    assert [(e.change, e.at) for e in history.up_events] == [(2, NOW)]
    b.record_scale(history, None, 5, 6, NOW)  # no behaviour: nothing to remember
    assert len(history.up_events) == 1
