"""Rollout arithmetic of the Deployment controller, as tables."""

from __future__ import annotations

import pytest

from tinykube.controllers.deployment import util


def rs(replicas: int, available: int = 0, revision: int | None = None) -> dict:
    meta = {"annotations": {util.REVISION: str(revision)}} if revision else {}
    return {"metadata": meta, "spec": {"replicas": replicas}, "status": {"availableReplicas": available}}


@pytest.mark.parametrize("value, total, up, expect", [
    ("25%", 10, True, 3), ("25%", 10, False, 2), ("25%", 4, True, 1), ("25%", 3, False, 0),
    (3, 10, True, 3), ("0%", 10, True, 0), ("100%", 7, False, 7), (None, 5, True, 0), ("2", 5, False, 2),
])
def test_scaled_value(value, total, up, expect):
    assert util.scaled_value(value, total, up) == expect


@pytest.mark.parametrize("surge, unavailable, desired, expect", [
    ("25%", "25%", 10, (3, 2)), ("25%", "25%", 1, (1, 0)), (0, 0, 5, (0, 1)), ("0%", "0%", 3, (0, 1)),
    (3, 1, 10, (3, 1)), ("50%", 0, 3, (2, 0)),
])
def test_resolve_fenceposts(surge, unavailable, desired, expect):
    assert util.resolve_fenceposts(surge, unavailable, desired) == expect


@pytest.mark.parametrize("desired, surge, new, others, expect", [
    (10, 3, rs(0), [rs(10, 10)], 3),       # start: surge room only
    (10, 3, rs(3), [rs(10, 10)], 3),       # at the ceiling: wait
    (10, 3, rs(3), [rs(7, 7)], 6),         # old shrank: grow into the room
    (10, 3, rs(8), [rs(0)], 10),           # never beyond desired
    (2, 1, rs(0), [], 2),                  # a first rollout jumps to desired (within surge room)
])
def test_new_rs_replicas(desired, surge, new, others, expect):
    assert util.new_rs_replicas(desired, surge, new, [new] + others) == expect


@pytest.mark.parametrize("desired, unavailable, new, others, expect", [
    (10, 1, rs(3, 0), [rs(10, 10)], 1),    # 13 pods, 3 new unavailable: 13 - 9 - 3
    (10, 1, rs(3, 3), [rs(10, 10)], 4),    # new pods available: 13 - 9 - 0
    (10, 2, rs(0), [rs(10, 10)], 2),
])
def test_max_old_scale_down(desired, unavailable, new, others, expect):
    assert util.max_old_scale_down(desired, unavailable, new, [new] + others) == expect


@pytest.mark.parametrize("desired, sizes, expect", [
    (6, [2, 2], [3, 3]), (7, [2, 2], [4, 3]), (10, [6, 3, 1], [6, 3, 1]), (5, [0, 0], [5, 0]), (13, [3, 7], [4, 9]),
])
def test_proportions(desired, sizes, expect):
    counts = util.proportions(desired, [rs(n) for n in sizes])
    assert counts == expect and sum(counts) == desired


def test_template_hash_is_stable_and_collision_count_changes_it():
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    reordered = {"spec": {"containers": [{"image": "nginx", "name": "c"}]}, "metadata": {"labels": {"app": "x"}}}
    first = util.template_hash(template)
    assert first == util.template_hash(reordered)
    assert first != util.template_hash(template, 1)
    assert set(first) <= set(util.SAFE_ALPHABET) and 6 <= len(first) <= 10


def test_templates_equal_ignores_the_hash_label():
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}
    hashed = {"metadata": {"labels": {"app": "x", util.HASH_LABEL: "abc"}}, "spec": template["spec"]}
    assert util.templates_equal(hashed, template)
    assert not util.templates_equal(hashed, {**template, "spec": {"containers": [{"name": "c", "image": "b"}]}})


def test_set_condition_moves_transition_time_only_on_flips():
    conds = util.set_condition([], "Progressing", "True", "NewReplicaSetCreated", "m1", "T1")
    conds = util.set_condition(conds, "Progressing", "True", "ReplicaSetUpdated", "m2", "T2")
    assert conds == [{"type": "Progressing", "status": "True", "lastUpdateTime": "T2", "lastTransitionTime": "T1",
                      "reason": "ReplicaSetUpdated", "message": "m2"}]
    same = util.set_condition(conds, "Progressing", "True", "ReplicaSetUpdated", "m2", "T3")
    assert same is conds
    flipped = util.set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded", "m3", "T4")
    assert flipped[0]["lastTransitionTime"] == "T4"


@pytest.mark.parametrize("obj, revision", [(rs(1, revision=7), 7), (rs(1), 0), ({"metadata": {"annotations": {util.REVISION: "x"}}}, 0)])
def test_revision_of(obj, revision):
    assert util.revision_of(obj) == revision
