"""StatefulSet arithmetic as tables: ordinals, the next write under each policy and strategy,
status and claim retention (the ControllerRevision history: test_history.py)."""

from __future__ import annotations

import pytest

from tinykube.controllers.statefulset import util

NOW = 1_000_000.0
CUR = util.Revision("web-cur", {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v1"}]}})
UPD = util.Revision("web-upd", {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v2"}]}})


def stamp(t: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sts(replicas: int = 3, policy: str = "OrderedReady", strategy: str = "RollingUpdate", partition: int | None = 0,
        start: int | None = None, min_ready: int = 0, deleting: bool = False, claims: bool = False,
        when_deleted: str = "Retain", when_scaled: str = "Retain") -> dict:
    update: dict = {"type": strategy}
    if strategy == "RollingUpdate" and partition is not None:
        update["rollingUpdate"] = {"partition": partition}
    spec: dict = {"replicas": replicas, "podManagementPolicy": policy, "updateStrategy": update,
                  "selector": {"matchLabels": {"app": "web"}}, "serviceName": "nginx", "minReadySeconds": min_ready,
                  "persistentVolumeClaimRetentionPolicy": {"whenDeleted": when_deleted, "whenScaled": when_scaled}}
    if start is not None:
        spec["ordinals"] = {"start": start}
    if claims:
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]
    meta = {"name": "web", "namespace": "ns", "uid": "set-uid", "generation": 4}
    if deleting:
        meta["deletionTimestamp"] = stamp(NOW)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec, "status": {}}


def pod(ordinal: int, phase: str = "Running", ready: bool = True, rev: str = "web-upd", terminating: bool = False,
        ready_for: float = 1000.0, labels: bool = True) -> dict:
    name = f"web-{ordinal}"
    meta: dict = {"name": name, "namespace": "ns", "uid": f"uid-{ordinal}", "resourceVersion": "1",
                  "labels": {"app": "web", util.REVISION_LABEL: rev}}
    if labels:
        meta["labels"].update({util.POD_NAME_LABEL: name, util.POD_INDEX_LABEL: str(ordinal)})
    if terminating:
        meta["deletionTimestamp"] = stamp(NOW)
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": stamp(NOW - ready_for)}]
    return {"metadata": meta, "spec": {}, "status": {"phase": phase, "conditions": conditions}}


def actions(set_: dict, pods: list[dict], claims: dict | None = None) -> list[str]:
    out = util.plan(set_, pods, CUR, UPD, claims or {}, NOW)
    return [" ".join(filter(None, (a.kind, a.pod["metadata"]["name"], a.reason))) for a in out.actions]


def old(*ordinals: int) -> list[dict]:
    return [pod(i, rev="web-cur") for i in ordinals]


def healthy(*ordinals: int, rev: str = "web-upd") -> list[dict]:
    return [pod(i, rev=rev) for i in ordinals]


# ----------------------------------------------------------------------------- ordinals

@pytest.mark.parametrize("name, expected", [
    ("web-0", ("web", 0)),
    ("web-12", ("web", 12)),
    ("my-web-3", ("my-web", 3)),
    ("web", ("", -1)),
    ("web-", ("", -1)),
    ("web-x1", ("", -1)),
    ("web-2147483647", ("web", 2147483647)),
    ("web-2147483648", ("web", -1)),  # beyond int32: no ordinal
    ("web-abc12", ("", -1)),
])
def test_parent_and_ordinal(name, expected):
    assert util.parent_and_ordinal(name) == expected


@pytest.mark.parametrize("start, replicas, ordinal, inside", [
    (None, 3, 0, True), (None, 3, 2, True), (None, 3, 3, False), (None, 0, 0, False),
    (5, 2, 4, False), (5, 2, 5, True), (5, 2, 6, True), (5, 2, 7, False),
])
def test_ordinal_range(start, replicas, ordinal, inside):
    assert util.in_range(ordinal, sts(replicas, start=start)) is inside


def test_new_pod_identity_and_claim_volume():
    set_ = sts(claims=True)
    template = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                "spec": {"containers": [{"name": "c"}], "volumes": [{"name": "www", "emptyDir": {}},
                                                                    {"name": "tmp", "emptyDir": {}}]}}
    p = util.new_pod(set_, template, "web-cur", 2)
    assert p["metadata"]["name"] == "web-2"
    assert p["metadata"]["labels"] == {"app": "web", util.POD_NAME_LABEL: "web-2", util.POD_INDEX_LABEL: "2",
                                       util.REVISION_LABEL: "web-cur"}
    assert p["metadata"]["annotations"] == {"a": "b"}
    assert p["metadata"]["ownerReferences"][0]["uid"] == "set-uid"
    assert (p["spec"]["hostname"], p["spec"]["subdomain"]) == ("web-2", "nginx")
    assert p["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}},
                                    {"name": "tmp", "emptyDir": {}}]


def test_claims_carry_selector_labels():
    claim = util.claims_for(sts(claims=True), 4)["www"]
    assert claim["metadata"] == {"name": "www-web-4", "namespace": "ns", "labels": {"app": "web"}}


# ----------------------------------------------------------------------------- what to do next

@pytest.mark.parametrize("case, set_, pods, expected", [
    ("ordered: first pod", sts(), [], ["create web-0"]),
    ("ordered: waits for pending web-0", sts(), [pod(0, "Pending", False)], []),
    ("ordered: waits for running but unready web-0", sts(), [pod(0, ready=False)], []),
    ("ordered: next once web-0 is ready", sts(), healthy(0), ["create web-1"]),
    ("ordered: a gap is filled first", sts(), healthy(0, 2), ["create web-1"]),
    ("ordered: terminating web-0 blocks", sts(), [pod(0, terminating=True)], []),
    ("parallel: all at once", sts(policy="Parallel"), [], ["create web-0", "create web-1", "create web-2"]),
    ("parallel: does not wait for unready", sts(policy="Parallel"), [pod(0, "Pending", False)],
     ["create web-1", "create web-2"]),
    ("start ordinal", sts(2, start=5), [], ["create web-5"]),
    ("ordered scale-down: highest first", sts(2), healthy(0, 1, 2, 3), ["delete web-3 condemned"]),
    ("ordered scale-down waits for the terminating one", sts(2), healthy(0, 1, 2) + [pod(3, terminating=True)], []),
    ("ordered scale-down waits for unhealthy replicas", sts(2), [pod(0), pod(1, ready=False), pod(2)], []),
    ("ordered scale-down: an unready condemned pod goes first", sts(2),
     healthy(0, 1) + [pod(2), pod(3, ready=False)], ["delete web-3 condemned"]),
    ("ordered scale-down: highest first even when a lower one is unready", sts(2),
     healthy(0, 1) + [pod(2, ready=False), pod(3)], ["delete web-3 condemned"]),
    ("parallel scale-down: all condemned", sts(2, policy="Parallel"), healthy(0, 1, 2, 3),
     ["delete web-3 condemned", "delete web-2 condemned"]),
    ("rolling: highest first", sts(), old(0, 1, 2), ["delete web-2 update"]),
    ("rolling: then the next", sts(), old(0, 1) + healthy(2), ["delete web-1 update"]),
    ("rolling: waits for the updated pod", sts(), old(0, 1) + [pod(2, ready=False)], []),
    ("rolling: recreates the deleted pod", sts(), old(0, 1), ["create web-2"]),
    ("rolling: partition 2 stops at web-2", sts(partition=2), old(0, 1) + healthy(2), []),
    ("rolling: partition 2 updates web-2", sts(partition=2), old(0, 1, 2), ["delete web-2 update"]),
    ("rolling: one at a time under Parallel", sts(policy="Parallel"), old(0, 1, 2), ["delete web-2 update"]),
    ("on delete: nothing replaced", sts(strategy="OnDelete", partition=None), old(0, 1, 2), []),
    ("failed pod is recreated", sts(), [pod(0), pod(1, "Failed", False), pod(2)], ["delete web-1 Failed"]),
    ("succeeded pod is recreated", sts(), [pod(0, "Succeeded", False)], ["delete web-0 Succeeded"]),
    ("deleting set: nothing", sts(deleting=True), [], []),
    ("identity labels restored", sts(1), [pod(0, labels=False)], ["identity web-0"]),
    ("scale-down before rolling", sts(2), old(0, 1, 2), ["delete web-2 condemned"]),
])
def test_next_writes(case, set_, pods, expected):
    assert actions(set_, pods) == expected, case


@pytest.mark.parametrize("set_, ordinal, revision", [
    (sts(partition=0), 1, "web-upd"),
    (sts(partition=2), 1, "web-cur"),
    (sts(partition=2), 2, "web-upd"),
    (sts(strategy="OnDelete", partition=None), 0, "web-upd"),
    (sts(start=10, partition=1), 10, "web-cur"),
    (sts(start=10, partition=1), 11, "web-upd"),
])
def test_recreated_pod_revision(set_, ordinal, revision):
    assert util.placeholder(set_, ordinal, CUR, UPD)["metadata"]["labels"][util.REVISION_LABEL] == revision


def test_min_ready_seconds_blocks_and_rechecks():
    set_ = sts(min_ready=10)
    out = util.plan(set_, [pod(0, ready_for=4)], CUR, UPD, {}, NOW)
    assert out.actions == [] and out.recheck_in == pytest.approx(6)
    assert [a.pod["metadata"]["name"] for a in util.plan(set_, [pod(0, ready_for=11)], CUR, UPD, {}, NOW).actions] == ["web-1"]


def test_pending_pod_gets_missing_claims_and_new_pods_wait_on_stale_claims():
    set_ = sts(1, claims=True, when_scaled="Delete")
    assert actions(set_, [pod(0, "Pending", False)]) == ["claims web-0"]
    stale = {"www-web-0": {"metadata": {"name": "www-web-0", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "old-pod", "controller": True}]}}}
    assert actions(set_, [], stale) == []
    assert actions(set_, [], {}) == ["create web-0"]


# ----------------------------------------------------------------------------- status

@pytest.mark.parametrize("set_, pods, expected", [
    (sts(), [], dict(replicas=0, readyReplicas=0, availableReplicas=0, currentReplicas=0, updatedReplicas=0,
                     currentRevision="web-upd")),
    (sts(), healthy(0, 1, 2, rev="web-upd"), dict(replicas=3, readyReplicas=3, availableReplicas=3,
                                                  currentReplicas=3, updatedReplicas=3, currentRevision="web-upd")),
    (sts(partition=2), old(0, 1) + healthy(2),
     dict(replicas=3, readyReplicas=3, availableReplicas=3, currentReplicas=2, updatedReplicas=1,
          currentRevision="web-cur")),
    (sts(min_ready=30), [pod(0), pod(1, ready_for=5), pod(2, "Pending", False)],
     dict(replicas=3, readyReplicas=2, availableReplicas=1, currentReplicas=0, updatedReplicas=3,
          currentRevision="web-cur")),
    (sts(), [pod(0, terminating=True, rev="web-upd")], dict(replicas=1, readyReplicas=1, availableReplicas=1,
                                                            currentReplicas=0, updatedReplicas=0,
                                                            currentRevision="web-cur")),
])
def test_status(set_, pods, expected):
    status = util.plan(set_, pods, CUR, UPD, {}, NOW, collision_count=2).status
    counts = {k: status[k] for k in expected}
    assert counts == expected
    assert status["updateRevision"] == "web-upd" and status["observedGeneration"] == 4 and status["collisionCount"] == 2


def test_update_delete_counts_one_less_current():
    status = util.plan(sts(), old(0, 1, 2), CUR, UPD, {}, NOW).status
    assert status["currentReplicas"] == 2 and status["updatedReplicas"] == 0


def test_wire_status_omits_zero_counts_like_upstream():
    status = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0,
              "observedGeneration": 1, "currentRevision": "a", "updateRevision": "a", "collisionCount": 0}
    assert util.wire_status(status, {"conditions": []}) == {
        "conditions": [], "replicas": 0, "availableReplicas": 0, "observedGeneration": 1, "currentRevision": "a",
        "updateRevision": "a", "collisionCount": 0}


# ----------------------------------------------------------------------------- claim retention

@pytest.mark.parametrize("when_deleted, when_scaled, ordinal, owners", [
    ("Retain", "Retain", 0, (False, False)),
    ("Retain", "Retain", 5, (False, False)),
    ("Delete", "Retain", 0, (True, False)),
    ("Delete", "Retain", 5, (True, False)),
    ("Retain", "Delete", 0, (False, False)),
    ("Retain", "Delete", 5, (False, True)),
    ("Delete", "Delete", 0, (True, False)),
    ("Delete", "Delete", 5, (False, True)),
])
def test_claim_owners_by_policy(when_deleted, when_scaled, ordinal, owners):
    set_ = sts(3, claims=True, when_deleted=when_deleted, when_scaled=when_scaled)
    p = pod(ordinal)
    assert util.wanted_owners(set_, p) == owners
    claim = util.claims_for(set_, ordinal)["www"]
    claim["metadata"]["ownerReferences"] = util.claim_owner_refs(claim, set_, p)
    assert [r["kind"] for r in claim["metadata"]["ownerReferences"]] == \
        [k for k, wanted in zip(("StatefulSet", "Pod"), owners) if wanted]
    assert util.claim_owners_up_to_date(claim, set_, p)


def test_claims_of_another_controller_are_left_alone():
    set_ = sts(3, claims=True, when_deleted="Delete")
    claim = {"metadata": {"name": "www-web-0", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Foo", "name": "x", "uid": "foo", "controller": True}]}}
    assert util.claim_owners_up_to_date(claim, set_, pod(0))
