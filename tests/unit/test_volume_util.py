"""The binder's pure rules: which volume a claim gets, and what binding writes."""

from __future__ import annotations

import pytest

from tinykube.controllers.volume import util
from tinykube.controllers.volume.protection import finalizer_change
from tinykube.registry.kinds.storage import default_storage_class, validate_storage_class
from tinykube.registry.printers.storage import storage_class_cells


def pv(name: str, size: str = "1Gi", modes=("ReadWriteOnce",), cls: str = "manual", phase: str = "Available",
       labels=None, claim_ref=None, node: str | None = None, mode: str | None = None, deleting: bool = False) -> dict:
    spec: dict = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls}
    if claim_ref:
        spec["claimRef"] = claim_ref
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    if mode:
        spec["volumeMode"] = mode
    meta: dict = {"name": name, "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


def pvc(size: str = "1Gi", modes=("ReadWriteOnce",), cls: str | None = "manual", selector=None,
        name: str = "c", uid: str = "u1") -> dict:
    spec: dict = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid}, "spec": spec}


def node(name: str) -> dict:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}


VOLUMES = [pv("big", "10Gi"), pv("small", "1Gi"), pv("mid", "5Gi"), pv("rwx", "3Gi", ("ReadWriteMany",)),
           pv("fast", "2Gi", cls="fast"), pv("labelled", "8Gi", labels={"tier": "gold"}),
           pv("taken", "2Gi", phase="Bound", claim_ref={"name": "other", "namespace": "ns", "uid": "u9"})]


@pytest.mark.parametrize("claim,expected", [
    (pvc("1Gi"), "small"),                                         # exact fit
    (pvc("2Gi"), "mid"),                                           # smallest that fits, not the taken one
    (pvc("6Gi"), "labelled"),
    (pvc("11Gi"), None),                                           # nothing large enough
    (pvc("1Gi", ("ReadWriteMany",)), "rwx"),                       # access modes must be offered
    (pvc("1Gi", ("ReadWriteOnce", "ReadOnlyMany")), None),
    (pvc("1Gi", cls="fast"), "fast"),                              # class must match
    (pvc("1Gi", cls=""), None),
    (pvc("1Gi", selector={"matchLabels": {"tier": "gold"}}), "labelled"),
    (pvc("1Gi", selector={"matchLabels": {"tier": "tin"}}), None),
])
def test_find_matching_volume(claim: dict, expected: str | None) -> None:
    found = util.find_matching_volume(claim, VOLUMES)
    assert (found or {}).get("metadata", {}).get("name") == expected


def test_prebound_volume_wins_and_respects_node() -> None:
    claim = pvc("1Gi")
    mine = pv("mine", "4Gi", phase="Pending", claim_ref={"name": "c", "namespace": "ns", "uid": "u1"}, node="a")
    volumes = VOLUMES + [mine]
    assert util.find_matching_volume(claim, volumes)["metadata"]["name"] == "mine"
    assert util.find_matching_volume(claim, volumes, node("a"))["metadata"]["name"] == "mine"
    assert util.find_matching_volume(claim, volumes, node("b")) is None  # affinity conflict: no match at all
    other_uid = pv("stale", "4Gi", claim_ref={"name": "c", "namespace": "ns", "uid": "old"})
    assert util.find_matching_volume(claim, [other_uid]) is None


@pytest.mark.parametrize("volumes,node_name,delay,expected", [
    ([pv("a1", node="a"), pv("b1", node="b")], "b", True, "b1"),    # the scheduler's path: on that node
    ([pv("a1", node="a")], "b", True, None),
    ([pv("a1", node="a")], None, True, None),                        # delayed binding: not the binder's choice
    ([pv("a1", node="a")], None, False, "a1"),
    ([pv("x", deleting=True)], None, False, None),                   # a volume being deleted
    ([pv("block", mode="Block")], None, False, None),                # volume modes must agree
])
def test_node_and_delay(volumes, node_name, delay, expected) -> None:
    found = util.find_matching_volume(pvc("1Gi"), volumes, node(node_name) if node_name else None, delay)
    assert (found or {}).get("metadata", {}).get("name") == expected


def test_excluded_volumes_are_skipped() -> None:
    found = util.find_matching_volume(pvc("1Gi"), [pv("one"), pv("two", "2Gi")], excluded=frozenset({"one"}))
    assert found["metadata"]["name"] == "two"


def test_binding_writes_are_idempotent() -> None:
    claim = pvc("1Gi")
    claim["metadata"]["resourceVersion"] = "7"
    volume = pv("v")
    bound = util.bound_volume(volume, claim)
    assert bound["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "ns", "name": "c",
                                         "uid": "u1", "apiVersion": "v1", "resourceVersion": "7"}
    assert bound["metadata"]["annotations"][util.BOUND_BY_CONTROLLER] == "yes"
    assert util.bound_volume(bound, claim) is None
    claimed = util.bound_claim(claim, bound)
    assert claimed["spec"]["volumeName"] == "v"
    assert claimed["metadata"]["annotations"] == {util.BIND_COMPLETED: "yes", util.BOUND_BY_CONTROLLER: "yes"}
    assert util.bound_claim(claimed, bound) is None
    status = util.claim_status(claimed, "Bound", bound, "now")["status"]
    assert status == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    released = util.volume_status(bound, "Released", "t1")["status"]
    assert released == {"phase": "Released", "lastPhaseTransitionTime": "t1"}
    assert util.volume_status(dict(bound, status=released), "Released", "t2") is None


def test_unbinding_keeps_a_users_prebinding() -> None:
    by_controller = util.bound_volume(pv("v"), pvc())
    assert "claimRef" not in util.unbound_volume(by_controller)["spec"]
    by_user = pv("v", claim_ref={"name": "c", "namespace": "ns", "uid": "u1"})
    assert util.unbound_volume(by_user)["spec"]["claimRef"] == {"name": "c", "namespace": "ns"}


@pytest.mark.parametrize("claim,volume,reason", [
    (pvc("2Gi"), pv("v", "1Gi"), "requested PV is too small"),
    (pvc("1Gi", cls="fast"), pv("v"), "storageClassName does not match"),
    (pvc("1Gi", ("ReadWriteMany",)), pv("v"), "incompatible accessMode"),
    (pvc("1Gi"), pv("v"), ""),
])
def test_claim_fits_volume(claim, volume, reason) -> None:
    assert util.claim_fits_volume(claim, volume) == reason


@pytest.mark.parametrize("classes,expected", [
    ([], None),
    ([{"metadata": {"name": "a"}}], None),
    ([{"metadata": {"name": "a", "annotations": {util.DEFAULT_CLASS_ANNOTATION: "true"}}}], "a"),
    ([{"metadata": {"name": "a", "creationTimestamp": "2026-01-02T00:00:00Z",
                    "annotations": {util.BETA_DEFAULT_CLASS_ANNOTATION: "true"}}},
      {"metadata": {"name": "b", "creationTimestamp": "2026-01-01T00:00:00Z",
                    "annotations": {util.DEFAULT_CLASS_ANNOTATION: "true"}}}], "a"),  # the newest default
    ([{"metadata": {"name": "a", "annotations": {util.DEFAULT_CLASS_ANNOTATION: "false"}}}], None),
])
def test_default_class(classes, expected) -> None:
    found = util.default_class(classes)
    assert (found or {}).get("metadata", {}).get("name") == expected


@pytest.mark.parametrize("pod_phase,node_name,uses", [
    ("Running", "n", True), ("Pending", "n", True), ("Pending", "", False), ("Succeeded", "n", False),
])
def test_pod_uses_claim(pod_phase, node_name, uses) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"nodeName": node_name, "volumes": [
        {"name": "d", "persistentVolumeClaim": {"claimName": "c"}}]}, "status": {"phase": pod_phase}}
    assert util.pod_uses_claim(pod, "c") is uses


@pytest.mark.parametrize("finalizers,deleting,in_use,expected", [
    ([], False, False, ["f"]),
    (["f"], False, False, None),
    (["f", "g"], True, True, None),
    (["f", "g"], True, False, ["g"]),
    ([], True, False, None),
])
def test_finalizer_change(finalizers, deleting, in_use, expected) -> None:
    meta: dict = {"name": "x", "finalizers": finalizers}
    if deleting:
        meta["deletionTimestamp"] = "t"
    assert finalizer_change({"metadata": meta}, "f", in_use) == expected


def test_storage_class_rules() -> None:
    sc = {"metadata": {"name": "s"}, "provisioner": "example.com/p"}
    default_storage_class(sc)
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
    assert not validate_storage_class(sc, None)
    changed = dict(sc, provisioner="example.com/q", volumeBindingMode="WaitForFirstConsumer")
    messages = [c.message for c in validate_storage_class(changed, sc).causes]
    assert "Forbidden: updates to provisioner are forbidden." in messages
    assert 'Invalid value: "WaitForFirstConsumer": field is immutable' in messages
    assert [c.field for c in validate_storage_class({"metadata": {}}, None).causes] == ["provisioner",
                                                                                          "volumeBindingMode"]


def test_storage_class_row() -> None:
    sc = {"metadata": {"name": "s", "annotations": {util.DEFAULT_CLASS_ANNOTATION: "true"}}, "provisioner": "p"}
    from datetime import datetime, timezone
    cells = storage_class_cells(sc, datetime.now(timezone.utc))
    assert cells[:5] == ["s (default)", "p", "Delete", "Immediate", False]
