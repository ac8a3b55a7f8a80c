"""Rollout arithmetic, revisions and progress of the Deployment controller, as tables."""

from __future__ import annotations

import pytest

from tinykube.controllers.deployment import progress, rollback, util


def rs(replicas: int, available: int = 0, revision: int | None = None, name: str = "", created: str = "",
       desired: int | None = None, max_replicas: int | None = None, status_replicas: int | None = None) -> dict:
    annotations = {}
    if revision is not None:
        annotations[util.REVISION] = str(revision)
    if desired is not None:
        annotations[util.DESIRED_REPLICAS] = str(desired)
    if max_replicas is not None:
        annotations[util.MAX_REPLICAS] = str(max_replicas)
    return {"metadata": {"name": name or f"rs-{replicas}-{revision}", "uid": name or f"u-{replicas}-{revision}",
                         "creationTimestamp": created, "annotations": annotations, "generation": 1},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas if status_replicas is None else status_replicas,
                       "availableReplicas": available, "observedGeneration": 1}}


def deploy(replicas: int, surge="25%", unavailable="25%", strategy="RollingUpdate", status: dict | None = None,
           generation: int = 1, **spec) -> dict:
    strat: dict = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "namespace": "ns", "generation": generation, "annotations": {}},
            "spec": {"replicas": replicas, "strategy": strat, **spec}, "status": status or {}}


def sizes(plan):
    return [(r["metadata"]["name"], n) for r, n in plan]


# ----------------------------------------------------------------------------- fenceposts

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


@pytest.mark.parametrize("d, surge, unavailable", [
    (deploy(10), 3, 2),
    (deploy(10, strategy="Recreate"), 0, 0),   # Recreate has no fenceposts
    (deploy(0), 0, 0),                        # nothing to be unavailable
    (deploy(2, 0, 5), 0, 2),                  # never more unavailable than desired
    (deploy(4, 0, 0), 0, 1),                  # both zero: one may be unavailable
])
def test_max_surge_and_unavailable(d, surge, unavailable):
    assert (util.max_surge(d), util.max_unavailable(d)) == (surge, unavailable)


# ----------------------------------------------------------------------------- growing the new set

@pytest.mark.parametrize("d, new, others, expect", [
    (deploy(10, 3, 1), rs(0), [rs(10, 10)], 3),       # start: surge room only
    (deploy(10, 3, 1), rs(3), [rs(10, 10)], 3),       # at the ceiling: wait
    (deploy(10, 3, 1), rs(3), [rs(7, 7)], 6),         # old shrank: grow into the room
    (deploy(10, 3, 1), rs(8), [rs(0)], 10),           # never beyond desired
    (deploy(2, 1, 0), rs(0), [], 2),                  # a first rollout jumps to desired
    (deploy(5, strategy="Recreate"), rs(0), [rs(5)], 5),  # Recreate: all at once
])
def test_new_rs_new_replicas(d, new, others, expect):
    assert util.new_rs_new_replicas(d, [new, *others], new) == expect


@pytest.mark.parametrize("d, new, others, expect", [
    (deploy(10, 3, 1), rs(3, 0), [rs(10, 10)], 1),    # 13 pods, 3 new unavailable: 13 - 9 - 3
    (deploy(10, 3, 1), rs(3, 3), [rs(10, 10)], 4),    # new pods available: 13 - 9 - 0
    (deploy(10, 0, 2), rs(0), [rs(10, 10)], 2),
    (deploy(10, 3, 1), rs(3, 0), [rs(6, 6)], -3),     # already at the floor
])
def test_old_scale_down_budget(d, new, others, expect):
    assert util.old_scale_down_budget(d, new, [new, *others]) == expect


@pytest.mark.parametrize("old, budget, expect", [
    ([rs(5, 3, name="a", created="1"), rs(4, 4, name="b", created="2")], 5, [("a", 3)]),
    ([rs(5, 3, name="a", created="1"), rs(4, 1, name="b", created="2")], 3, [("a", 3), ("b", 3)]),
    ([rs(5, 0, name="b", created="2"), rs(4, 0, name="a", created="1")], 2, [("a", 2)]),  # oldest first
    ([rs(0, name="a"), rs(3, 3, name="b")], 4, []),
])
def test_cleanup_unhealthy_plan(old, budget, expect):
    assert sizes(util.cleanup_unhealthy_plan(old, budget)) == expect


@pytest.mark.parametrize("d, new, old, expect", [
    # 10 desired, 1 unavailable: 12 available → 3 may go, from the oldest set first
    (deploy(10, 3, 1), rs(3, 3, name="new", created="3"),
     [rs(2, 2, name="b", created="2"), rs(7, 7, name="a", created="1")], [("a", 4)]),
    (deploy(10, 3, 1), rs(3, 3, name="new", created="3"),
     [rs(1, 1, name="a", created="1"), rs(8, 8, name="b", created="2")], [("a", 0), ("b", 6)]),
    (deploy(10, 3, 1), rs(3, 0, name="new"), [rs(9, 9, name="a")], []),  # at the floor already
    # "a" was just scaled 7 → 6 and still reports 7 available: only 6 of them count, 9 stay
    (deploy(10, 3, 1), rs(3, 3, name="new", created="3"), [rs(6, 7, name="a", created="1")], []),
])
def test_scale_down_old_plan(d, new, old, expect):
    assert sizes(util.scale_down_old_plan(d, [*old, new], old)) == expect


# ----------------------------------------------------------------------------- proportional scaling

@pytest.mark.parametrize("d, new, old, expect", [
    # one active set takes the whole size
    (deploy(6), rs(2, name="new", desired=2), [rs(0, name="old")], [("new", 6)]),
    (deploy(2), rs(2, name="new", desired=2), [], []),
    # nothing active: the new one (or the newest old one) takes it
    (deploy(3), None, [rs(0, name="a", created="1"), rs(0, name="b", created="2")], [("b", 3)]),
    # a saturated new set: the old ones go to zero
    (deploy(10), rs(10, 10, name="new", desired=10), [rs(2, name="old", desired=10)], [("old", 0)]),
    # 10 → 12 mid-rollout (maxSurge 3): 13 → 15 pods; the larger old set takes the two
    (deploy(12, 3, 1), rs(3, name="new", created="2", max_replicas=13),
     [rs(10, name="old", created="1", max_replicas=13)], [("old", 12), ("new", 3)]),
    # 10 → 5 mid-rollout: 13 → 8 pods, in proportion
    (deploy(5, 3, 1), rs(3, name="new", created="2", max_replicas=13),
     [rs(10, name="old", created="1", max_replicas=13)], [("old", 6), ("new", 2)]),
    # to zero
    (deploy(0, 3, 1), rs(3, name="new", created="2", max_replicas=13),
     [rs(10, name="old", created="1", max_replicas=13)], [("old", 0), ("new", 0)]),
    # Recreate never has two active sets to scale proportionally
    (deploy(5, strategy="Recreate"), rs(3, name="new"), [rs(2, name="old")], []),
])
def test_proportional_sizes(d, new, old, expect):
    assert sizes(util.proportional_sizes(d, new, old)) == expect


@pytest.mark.parametrize("x, expect", [(2.5, 3), (1.5, 2), (-2.5, -3), (2.4, 2), (0.0, 0), (-0.4, 0)])
def test_round_half_away(x, expect):
    assert util.round_half_away(x) == expect


@pytest.mark.parametrize("d, new, old, expect", [
    (deploy(6), rs(2, desired=2), [], True),
    (deploy(2), rs(2, desired=2), [rs(0, desired=5)], False),   # inactive sets do not count
    (deploy(2), rs(2), [], False),                               # no annotation: not a scaling event
    (deploy(3), None, [rs(3, desired=3)], False),                # a template change, not scaling
])
def test_is_scaling_event(d, new, old, expect):
    assert util.is_scaling_event(d, new, old) is expect


@pytest.mark.parametrize("new, old, expect", [
    (None, [], None),
    (rs(0, name="new"), [rs(0, name="a", created="1")], "new"),
    (rs(0, name="new"), [rs(2, name="a")], "a"),
    (rs(2, name="new"), [rs(2, name="a")], None),
])
def test_find_active_or_latest(new, old, expect):
    found = util.find_active_or_latest(new, old)
    assert (found["metadata"]["name"] if found else None) == expect


# ----------------------------------------------------------------------------- history

@pytest.mark.parametrize("limit, old, expect", [
    (1, [rs(0, revision=1, name="r1"), rs(0, revision=2, name="r2"), rs(0, revision=3, name="r3")], ["r1", "r2"]),
    (1, [rs(0, revision=1, name="r1"), rs(2, revision=2, name="r2")], ["r1"]),     # sets with pods count too
    (0, [rs(0, revision=2, name="r2"), rs(1, revision=1, name="r1")], ["r2"]),     # r1 still has a replica
    (10, [rs(0, revision=1)], []),
    (None, [rs(0, revision=1), rs(0, revision=2)], []),                             # no limit: keep all
    (0, [rs(0, revision=1, name="r1", status_replicas=1)], []),                     # a pod still terminating
])
def test_cleanup_candidates(limit, old, expect):
    d = deploy(1)
    if limit is not None:
        d["spec"]["revisionHistoryLimit"] = limit
    assert [r["metadata"]["name"] for r in util.cleanup_candidates(d, old)] == expect


@pytest.mark.parametrize("old, expect", [([], 1), ([rs(0, revision=3), rs(0, revision=1)], 4), ([rs(0)], 1)])
def test_next_revision(old, expect):
    assert rollback.next_revision(old) == expect


@pytest.mark.parametrize("history, previous, limit, expect", [
    ("", "2", 2000, "2"),
    ("1", "3", 2000, "1,3"),
    ("1,2,3", "4", 5, "2,3,4"),      # oldest entries make room
    ("1", "123456", 5, None),         # does not fit at all
])
def test_appended_history(history, previous, limit, expect):
    assert rollback.appended_history(history, previous, limit) == expect


def test_new_rs_annotations_on_create_copy_the_change_cause_and_the_sizes():
    d = deploy(4, 1, 0)
    d["metadata"]["annotations"] = {util.CHANGE_CAUSE: "set image", util.LAST_APPLIED: "{}", util.REVISION: "2"}
    assert rollback.new_rs_annotations(d, {}, 3, exists=False) == {
        util.CHANGE_CAUSE: "set image", util.REVISION: "3", util.DESIRED_REPLICAS: "4", util.MAX_REPLICAS: "5"}


@pytest.mark.parametrize("current, revision, expect", [
    # a rollback: revision 2 re-enters as 4 and remembers 2
    ({util.REVISION: "2"}, 4, {util.REVISION: "4", util.REVISION_HISTORY: "2"}),
    ({util.REVISION: "2", util.REVISION_HISTORY: "1"}, 5, {util.REVISION: "5", util.REVISION_HISTORY: "1,2"}),
    # the revision never goes down (old sets deleted meanwhile)
    ({util.REVISION: "7"}, 3, {util.REVISION: "7"}),
    ({util.REVISION: "x"}, 3, {util.REVISION: "x"}),   # unparsable: left alone
])
def test_new_rs_annotations_for_an_existing_set(current, revision, expect):
    assert rollback.new_rs_annotations(deploy(1), current, revision, exists=True) == expect


# ----------------------------------------------------------------------------- status and progress

def test_set_condition_moves_transition_time_only_on_flips_and_ignores_same_reason():
    status: dict = {}
    util.set_condition(status, "Progressing", "True", "NewReplicaSetCreated", "m1", "T1")
    util.set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "m2", "T2")
    assert status["conditions"] == [{"type": "Progressing", "status": "True", "lastUpdateTime": "T2",
                                     "lastTransitionTime": "T1", "reason": "ReplicaSetUpdated", "message": "m2"}]
    util.set_condition(status, "Progressing", "True", "ReplicaSetUpdated", "m3", "T3")
    assert status["conditions"][0]["message"] == "m2"  # same status and reason: unchanged
    util.set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded", "m4", "T4")
    assert status["conditions"][0]["lastTransitionTime"] == "T4"


@pytest.mark.parametrize("d, all_rs, new_index, expect", [
    (deploy(3), [rs(3, 3)], 0, {"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                                "unavailableReplicas": 0, "available": "True"}),
    # unavailable counts what the sets are asked to run, not what the deployment wants
    (deploy(10, 3, 1), [rs(3, 0), rs(10, 10)], 0, {"replicas": 13, "updatedReplicas": 3, "availableReplicas": 10,
                                                    "unavailableReplicas": 3, "available": "True"}),
    (deploy(10, 3, 1), [rs(10, 8)], 0, {"replicas": 10, "updatedReplicas": 10, "availableReplicas": 8,
                                        "unavailableReplicas": 2, "available": "False"}),
    (deploy(2, strategy="Recreate"), [rs(2, 1)], None, {"replicas": 2, "updatedReplicas": 0, "availableReplicas": 1,
                                                        "unavailableReplicas": 1, "available": "False"}),
])
def test_calculate_status(d, all_rs, new_index, expect):
    status = util.calculate_status(d, all_rs, all_rs[new_index] if new_index is not None else None, "T")
    got = {k: status[k] for k in ("replicas", "updatedReplicas", "availableReplicas", "unavailableReplicas")}
    got["available"] = util.get_condition(status, "Available")["status"]
    assert got == expect


def progressing(reason: str, updated: str = "2026-01-01T00:00:00Z", state: str = "True") -> dict:
    return {"type": "Progressing", "status": state, "reason": reason, "message": "",
            "lastUpdateTime": updated, "lastTransitionTime": updated}


T0 = 1767225600.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize("old_status, new_counts, now, expect_reason", [
    # all updated and available: done
    ({"conditions": [progressing("ReplicaSetUpdated")]},
     {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}, T0 + 5, "NewReplicaSetAvailable"),
    # more available than before: progressing (and the deadline restarts)
    ({"availableReplicas": 1, "replicas": 2, "updatedReplicas": 2, "conditions": [progressing("NewReplicaSetCreated")]},
     {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1, "readyReplicas": 2}, T0 + 5, "ReplicaSetUpdated"),
    # no progress, deadline (10 s) not passed
    ({"replicas": 2, "updatedReplicas": 2, "conditions": [progressing("ReplicaSetUpdated")]},
     {"replicas": 2, "updatedReplicas": 2}, T0 + 9, "ReplicaSetUpdated"),
    # no progress past the deadline
    ({"replicas": 2, "updatedReplicas": 2, "conditions": [progressing("ReplicaSetUpdated")]},
     {"replicas": 2, "updatedReplicas": 2}, T0 + 11, "ProgressDeadlineExceeded"),
])
def test_rollout_status(old_status, new_counts, now, expect_reason):
    d = deploy(2, progressDeadlineSeconds=10, status=old_status)
    status = {"observedGeneration": 1, **new_counts, "conditions": list(old_status["conditions"])}
    new_rs = rs(2, name="web-abc")
    progress.rollout_status(d, status, new_rs, [new_rs], now, "2026-01-01T00:00:09Z")
    cond = util.get_condition(status, "Progressing")
    assert cond["reason"] == expect_reason
    if expect_reason == "ProgressDeadlineExceeded":
        assert cond["status"] == "False" and cond["message"] == 'ReplicaSet "web-abc" has timed out progressing.'


def test_rollout_status_mirrors_a_replica_failure_and_drops_progress_without_deadline():
    failing = rs(2, name="web-abc")
    failing["status"]["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                        "message": "pods \"x\" is forbidden: exceeded quota", "lastTransitionTime": "T"}]
    d = deploy(2, status={"conditions": [progressing("ReplicaSetUpdated")]})
    status = {"observedGeneration": 1, "conditions": [progressing("ReplicaSetUpdated")]}
    progress.rollout_status(d, status, failing, [failing], T0, "T1")
    assert [c["type"] for c in status["conditions"]] == ["ReplicaFailure"]
    assert status["conditions"][0]["reason"] == "FailedCreate"


@pytest.mark.parametrize("cond, counts, expect", [
    (progressing("ReplicaSetUpdated"), {}, 10.0 - 4),
    (progressing("ProgressDeadlineExceeded", state="False"), {}, None),
    (progressing("ReplicaSetUpdated"), {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}, None),
    (None, {}, None),
])
def test_requeue_after(cond, counts, expect):
    d = deploy(2, progressDeadlineSeconds=10, status={"conditions": [cond] if cond else []})
    assert progress.requeue_after(d, {"observedGeneration": 1, **counts}, T0 + 4) == expect


@pytest.mark.parametrize("paused, cond, expect", [
    (True, progressing("ReplicaSetUpdated"), "DeploymentPaused"),
    (True, progressing("DeploymentPaused", state="Unknown"), None),
    (False, progressing("DeploymentPaused", state="Unknown"), "DeploymentResumed"),
    (True, progressing("ProgressDeadlineExceeded", state="False"), None),   # a timeout stays visible
])
def test_paused_status(paused, cond, expect):
    d = deploy(2, progressDeadlineSeconds=600, paused=paused, status={"conditions": [cond]})
    status = progress.paused_status(d, "T")
    assert (util.get_condition(status, "Progressing")["reason"] if status else None) == expect


# ----------------------------------------------------------------------------- templates

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
