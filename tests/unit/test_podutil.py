"""Pod arithmetic controllers rely on: activity, availability, deletion ranking, slow start, expectations."""

from __future__ import annotations

import pytest

from tinykube.clock import ManualClock, format_time
from tinykube.controllers.expectations import Expectations
from tinykube.controllers.podutil import (
    PodFacts, PodFactsMemo, available_in, is_active, is_available, pods_to_delete, slow_start_batches,
)
from datetime import datetime, timezone

NOW = 1_800_000_000.0


def stamp(t: float) -> str:
    return format_time(datetime.fromtimestamp(t, tz=timezone.utc))


def pod(name: str, node: str = "n1", phase: str = "Running", ready_for: float | None = 100.0, age: float = 1000.0,
        restarts: int = 0, cost: int | None = None, deleting: bool = False) -> dict:
    conds = [{"type": "Ready", "status": "True" if ready_for is not None else "False",
              "lastTransitionTime": stamp(NOW - (ready_for or 0))}]
    meta = {"name": name, "uid": name, "creationTimestamp": stamp(NOW - age)}
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if deleting:
        meta["deletionTimestamp"] = stamp(NOW)
    return {"metadata": meta, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "conditions": conds, "containerStatuses": [{"restartCount": restarts}]}}


@pytest.mark.parametrize("candidates, first", [
    ([pod("assigned"), pod("unassigned", node="")], "unassigned"),
    ([pod("running"), pod("pending", phase="Pending")], "pending"),
    ([pod("ready"), pod("unready", ready_for=None)], "unready"),
    ([pod("cheap", cost=-5), pod("dear", cost=5)], "cheap"),
    ([pod("old-ready", ready_for=5000), pod("new-ready", ready_for=10)], "new-ready"),
    ([pod("calm"), pod("crashy", restarts=4)], "crashy"),
    ([pod("older", age=5000), pod("newer", age=10)], "newer"),
])
def test_deletion_ranking(candidates, first):
    assert pods_to_delete(candidates, candidates, 1, NOW)[0]["metadata"]["name"] == first


def test_doubled_up_nodes_lose_pods_first():
    spread = [pod("a", node="n1"), pod("b", node="n2"), pod("c", node="n2")]
    assert pods_to_delete(spread, spread, 1, NOW)[0]["metadata"]["name"] in ("b", "c")


@pytest.mark.parametrize("total, batches", [(0, []), (1, [1]), (3, [1, 2]), (10, [1, 2, 4, 3]), (16, [1, 2, 4, 8, 1])])
def test_slow_start_batches(total, batches):
    assert slow_start_batches(total) == batches


@pytest.mark.parametrize("candidate, min_ready, available, wait", [
    (pod("r", ready_for=100), 0, True, None),
    (pod("r", ready_for=100), 30, True, None),
    (pod("r", ready_for=10), 30, False, 20.0),
    (pod("u", ready_for=None), 0, False, None),
])
def test_availability(candidate, min_ready, available, wait):
    assert is_available(candidate, min_ready, NOW) is available
    assert available_in(candidate, min_ready, NOW) == wait


@pytest.mark.parametrize("candidate, active", [
    (pod("r"), True), (pod("p", phase="Pending"), True), (pod("s", phase="Succeeded"), False),
    (pod("f", phase="Failed"), False), (pod("d", deleting=True), False),
])
def test_is_active(candidate, active):
    assert is_active(candidate) is active


def test_expectations_gate_until_observed_or_expired():
    clock = ManualClock()
    exp = Expectations(clock, ttl=300)
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 3)
    exp.creation_observed("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creations_skipped("ns/rs", 1)
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/a")
    exp.deletion_observed("ns/rs", "ns/a")  # the same pod seen Terminating, then gone: counts once
    assert not exp.satisfied("ns/rs")
    clock.advance(301)
    assert exp.satisfied("ns/rs")
    exp.forget("ns/rs")
    assert exp.satisfied("ns/rs")


def _pod(rv: str, ready: str | None, since: str = "2026-01-01T00:00:00Z", owner: str | None = "rs-1",
         phase: str = "Running", deleting: bool = False) -> dict:
    meta: dict = {"uid": "p1", "resourceVersion": rv}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "controller": True}, {"uid": "other"}]
    if deleting:
        meta["deletionTimestamp"] = since
    conditions = [{"type": "Ready", "status": ready, "lastTransitionTime": since}] if ready else []
    return {"metadata": meta, "status": {"phase": phase, "conditions": conditions}}


@pytest.mark.parametrize("pod, facts", [
    (_pod("1", "True"), PodFacts(True, True, 1767225600.0, "rs-1")),
    (_pod("1", "False"), PodFacts(True, False, None, "rs-1")),
    (_pod("1", None, owner=None), PodFacts(True, False, None, None)),
    (_pod("1", "True", phase="Succeeded"), PodFacts(False, True, 1767225600.0, "rs-1")),
    (_pod("1", "True", deleting=True), PodFacts(False, True, 1767225600.0, "rs-1")),
])
def test_pod_facts(pod, facts):
    assert PodFactsMemo().of(pod) == facts


def test_pod_facts_are_recomputed_only_for_a_new_version():
    memo = PodFactsMemo()
    assert memo.of(_pod("1", "False")).ready is False
    assert memo.of(_pod("1", "True")).ready is False   # same version: the memo answers
    assert memo.of(_pod("2", "True")).ready is True    # a new version is examined again
    memo.forget(_pod("2", "True"))
    assert memo.of(_pod("2", "False")).ready is False


@pytest.mark.parametrize("min_ready, now, expect", [(0, 0.0, True), (10, 1767225605.0, False),
                                                     (10, 1767225610.0, True)])
def test_pod_facts_available(min_ready, now, expect):
    assert PodFactsMemo().of(_pod("1", "True")).available(min_ready, now) is expect
