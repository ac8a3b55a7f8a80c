"""DaemonSet arithmetic as tables: node eligibility, daemon tolerations, placement
affinity, per-node plans, fenceposts, rolling plans, status counts, backoff."""

from __future__ import annotations

import pytest

from tinykube.controllers.daemonset import util
from tinykube.controllers.podutil import PodFactsMemo

NOW = 1_700_000_000.0
T0 = "2023-11-14T22:13:20Z"  # == NOW


def ds(selector: dict | None = None, tolerations: list | None = None, affinity: dict | None = None,
       strategy: str = "RollingUpdate", surge=0, unavailable=1, host_network: bool = False, node_name: str = "",
       generation: str | None = "1") -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "nginx"}]}
    if selector:
        spec["nodeSelector"] = selector
    if tolerations:
        spec["tolerations"] = tolerations
    if affinity:
        spec["affinity"] = affinity
    if host_network:
        spec["hostNetwork"] = True
    if node_name:
        spec["nodeName"] = node_name
    update: dict = {"type": strategy}
    if strategy == "RollingUpdate":
        update["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    annotations = {util.TEMPLATE_GENERATION: generation} if generation is not None else {}
    return {"metadata": {"name": "d", "namespace": "ns", "uid": "ds-uid", "annotations": annotations},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "updateStrategy": update,
                     "template": {"metadata": {"labels": {"app": "d"}}, "spec": spec}},
            "status": {"observedGeneration": 2}}


def node(name: str = "n1", labels: dict | None = None, taints: list | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def taint(key: str, effect: str, value: str = "") -> dict:
    return {"key": key, "value": value, "effect": effect}


def pod(name: str, hash_: str = "new", ready: bool = True, phase: str = "Running", node_name: str = "n1",
        created: str = T0, deleting: bool = False, ready_since: str = T0) -> dict:
    meta: dict = {"name": name, "uid": name, "resourceVersion": "1", "creationTimestamp": created,
                  "labels": {util.HASH_LABEL: hash_}}
    if deleting:
        meta["deletionTimestamp"] = T0
    conditions = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": ready_since}]
    return {"metadata": meta, "spec": {"nodeName": node_name}, "status": {"phase": phase, "conditions": conditions}}




def FACTS(p: dict):
    """Fresh facts every time: the table's pods reuse names (and so memo keys)."""
    return PodFactsMemo().of(p)


def names(pods) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


# ----------------------------------------------------------------------------- eligibility

@pytest.mark.parametrize("daemon, n, expect", [
    (ds(), node(), util.RUN),
    (ds(selector={"az": "ap-northeast-2"}), node(labels={"az": "ap-northeast-2"}), util.RUN),
    (ds(selector={"az": "ap-northeast-2"}), node(labels={"az": "us-east-1"}), util.NOT_HERE),
    (ds(selector={"az": "ap-northeast-2"}), node(), util.NOT_HERE),
    # required node affinity, as the scheduler reads it
    (ds(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}),
     node(labels={"disk": "ssd"}), util.RUN),
    (ds(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}),
     node(labels={"disk": "hdd"}), util.NOT_HERE),
    # taints: NoSchedule keeps new pods off but lets a running one stay; NoExecute evicts
    (ds(), node(taints=[taint("dedicated", "NoSchedule", "db")]), util.STAY_ONLY),
    (ds(), node(taints=[taint("dedicated", "NoExecute", "db")]), util.NOT_HERE),
    (ds(), node(taints=[taint("dedicated", "PreferNoSchedule")]), util.RUN),
    (ds(tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}]),
     node(taints=[taint("dedicated", "NoSchedule", "db")]), util.RUN),
    (ds(tolerations=[{"key": "dedicated", "operator": "Exists"}]),
     node(taints=[taint("dedicated", "NoExecute", "db")]), util.RUN),
    # the control-plane taint of the seeds' manifest
    (ds(), node(taints=[taint("node-role.kubernetes.io/control-plane", "NoSchedule")]), util.STAY_ONLY),
    (ds(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]),
     node(taints=[taint("node-role.kubernetes.io/control-plane", "NoSchedule")]), util.RUN),
    # daemon tolerations: node problems and cordons do not keep daemons off
    (ds(), node(taints=[taint("node.kubernetes.io/unschedulable", "NoSchedule")]), util.RUN),
    (ds(), node(taints=[taint("node.kubernetes.io/not-ready", "NoExecute")]), util.RUN),
    (ds(), node(taints=[taint("node.kubernetes.io/unreachable", "NoExecute")]), util.RUN),
    (ds(), node(taints=[taint("node.kubernetes.io/disk-pressure", "NoSchedule")]), util.RUN),
    (ds(), node(taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), util.STAY_ONLY),
    (ds(host_network=True), node(taints=[taint("node.kubernetes.io/network-unavailable", "NoSchedule")]), util.RUN),
    # a template pinned to a node by name
    (ds(node_name="n2"), node("n1"), util.NOT_HERE),
    (ds(node_name="n1"), node("n1"), util.RUN),
])
def test_node_verdict(daemon, n, expect):
    assert util.Placement.of(daemon).verdict(n) == expect


def _tols(spec: dict) -> list[tuple]:
    return [(t["key"], t["operator"], t.get("effect"), t.get("tolerationSeconds")) for t in spec["tolerations"]]


@pytest.mark.parametrize("spec, expect", [
    ({}, [("node.kubernetes.io/not-ready", "Exists", "NoExecute", None),
          ("node.kubernetes.io/unreachable", "Exists", "NoExecute", None),
          ("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule", None),
          ("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule", None),
          ("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule", None),
          ("node.kubernetes.io/unschedulable", "Exists", "NoSchedule", None)]),
    # a matching toleration with tolerationSeconds is replaced in place (no eviction after 300 s)
    ({"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                       "tolerationSeconds": 300}, {"key": "x", "operator": "Exists"}]},
     [("node.kubernetes.io/not-ready", "Exists", "NoExecute", None), ("x", "Exists", None, None),
      ("node.kubernetes.io/unreachable", "Exists", "NoExecute", None),
      ("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule", None),
      ("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule", None),
      ("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule", None),
      ("node.kubernetes.io/unschedulable", "Exists", "NoSchedule", None)]),
    ({"hostNetwork": True}, [
        ("node.kubernetes.io/not-ready", "Exists", "NoExecute", None),
        ("node.kubernetes.io/unreachable", "Exists", "NoExecute", None),
        ("node.kubernetes.io/disk-pressure", "Exists", "NoSchedule", None),
        ("node.kubernetes.io/memory-pressure", "Exists", "NoSchedule", None),
        ("node.kubernetes.io/pid-pressure", "Exists", "NoSchedule", None),
        ("node.kubernetes.io/unschedulable", "Exists", "NoSchedule", None),
        ("node.kubernetes.io/network-unavailable", "Exists", "NoSchedule", None)]),
])
def test_daemon_tolerations(spec, expect):
    spec = dict(spec)
    util.add_daemon_tolerations(spec)
    assert _tols(spec) == expect


def test_add_daemon_tolerations_is_idempotent():
    spec: dict = {}
    util.add_daemon_tolerations(spec)
    once = list(spec["tolerations"])
    util.add_daemon_tolerations(spec)
    assert spec["tolerations"] == once


def test_daemon_pod_template_labels_and_tolerations():
    template = util.daemon_pod_template(ds(generation="3"), "abc")
    assert template["metadata"]["labels"] == {"app": "d", util.GENERATION_LABEL: "3", util.HASH_LABEL: "abc"}
    assert len(template["spec"]["tolerations"]) == 6
    assert "pod-template-generation" not in util.daemon_pod_template(ds(generation=None), "abc")["metadata"]["labels"]


NAME_TERM = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n7"]}]}


@pytest.mark.parametrize("affinity, expect", [
    (None, {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [NAME_TERM]}}}),
    # existing required terms (also an older name term) are replaced; preferred terms and pod affinity stay
    ({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["old"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]},
      "podAffinity": {"x": 1}},
     {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [NAME_TERM]},
                       "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]},
      "podAffinity": {"x": 1}}),
])
def test_node_name_affinity(affinity, expect):
    assert util.node_name_affinity(affinity, "n7") == expect


@pytest.mark.parametrize("spec, expect", [
    ({"nodeName": "n1"}, "n1"),
    ({"affinity": util.node_name_affinity(None, "n7")}, "n7"),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a", "b"]}]}]}}}}, None),
    ({}, None),
])
def test_target_node_name(spec, expect):
    assert util.target_node_name({"metadata": {}, "spec": spec}) == expect


# ----------------------------------------------------------------------------- per-node plans

LATER = "2023-11-14T22:13:30Z"


@pytest.mark.parametrize("verdict, pods, surge, expect", [
    # (create, delete, failed, succeeded)
    (util.RUN, None, False, (True, [], [], [])),
    (util.RUN, [pod("a")], False, (False, [], [], [])),
    (util.STAY_ONLY, None, False, (False, [], [], [])),        # tainted later: nothing new
    (util.STAY_ONLY, [pod("a")], False, (False, [], [], [])),  # ... the running one stays
    (util.NOT_HERE, [pod("a"), pod("b", deleting=True)], False, (False, ["a"], [], [])),
    # two live pods without surge: the oldest stays
    (util.RUN, [pod("b", created=LATER), pod("a")], False, (False, ["b"], [], [])),
    # finished pods go (failed ones through the caller's backoff); the node waits for them
    (util.RUN, [pod("a", phase="Failed")], False, (False, [], ["a"], [])),
    (util.RUN, [pod("a", phase="Succeeded")], False, (False, [], [], ["a"])),
    # only a terminating pod: wait for it to be gone before starting the next
    (util.RUN, [pod("a", deleting=True)], False, (False, [], [], [])),
    (util.RUN, [pod("a", deleting=True)], True, (True, [], [], [])),
    # surging: a ready old pod stays while the new one is not available yet ...
    (util.RUN, [pod("old", hash_="old"), pod("new", ready=False, created=LATER)], True, (False, [], [], [])),
    # ... and goes once it is
    (util.RUN, [pod("old", hash_="old"), pod("new", created=LATER)], True, (False, ["old"], [], [])),
    # an unready old pod goes at once
    (util.RUN, [pod("old", hash_="old", ready=False), pod("new", ready=False, created=LATER)], True,
     (False, ["old"], [], [])),
    # surplus of one kind: only the oldest of each kind survives
    (util.RUN, [pod("new1"), pod("new2", created=LATER)], True, (False, ["new2"], [], [])),
])
def test_plan_node(verdict, pods, surge, expect):
    plan = util.plan_node(verdict, pods, surge, "new", FACTS, 0, NOW + 100)
    assert (plan.create, names(plan.delete), names(plan.failed), names(plan.succeeded)) == \
        (expect[0], expect[1], expect[2], expect[3])


def test_unscheduled_pods_of_missing_nodes():
    unbound = pod("u", node_name="")
    nodes_to_pods = {"gone": [unbound, pod("bound", node_name="gone")], "n1": [pod("x")]}
    assert names(util.unscheduled_without_node(nodes_to_pods, {"n1"})) == ["u"]


# ----------------------------------------------------------------------------- fenceposts

@pytest.mark.parametrize("surge, unavailable, desired, expect", [
    (0, 1, 3, (0, 1)),
    (1, 0, 3, (1, 0)),
    ("50%", 0, 3, (2, 0)),      # surge rounds up
    (0, "50%", 3, (0, 2)),      # so does unavailable, for DaemonSets (upstream UnavailableCount)
    (0, "10%", 5, (0, 1)),
    (0, "10%", 0, (0, 0)),      # nothing desired: no fallback
    (0, 0, 4, (0, 1)),          # impossible 0/0: one may be unavailable
    ("100%", 0, 1000, (1000, 0)),
])
def test_fenceposts(surge, unavailable, desired, expect):
    assert util.fenceposts(ds(surge=surge, unavailable=unavailable), desired) == expect


def test_on_delete_has_no_fenceposts():
    assert util.fenceposts(ds(strategy="OnDelete"), 3) == (0, 1)
    assert not util.allows_surge(ds(strategy="OnDelete"))
    assert util.allows_surge(ds(surge="10%", unavailable=0))


# ----------------------------------------------------------------------------- rolling plans

def avail(p) -> bool:
    return FACTS(p).available(0, NOW + 100)


def rolling(nodes_to_pods, desired, surge, unavailable, should_run=lambda n: True):
    plan = util.plan_rolling_update(nodes_to_pods, desired, "new", surge, unavailable, should_run, avail)
    return names(plan.delete), plan.create


@pytest.mark.parametrize("nodes_to_pods, desired, unavailable, expect", [
    # all old and available: delete maxUnavailable of them (by node name)
    ({"a": [pod("a", "old")], "b": [pod("b", "old")], "c": [pod("c", "old")]}, "abc", 1, ["a"]),
    ({"a": [pod("a", "old")], "b": [pod("b", "old")], "c": [pod("c", "old")]}, "abc", 2, ["a", "b"]),
    # a node being replaced (no live pod) uses up the budget
    ({"a": [pod("a", "old", deleting=True)], "b": [pod("b", "old")]}, "ab", 1, []),
    ({"b": [pod("b", "old")]}, "ab", 1, []),
    # a new pod not yet available counts against the budget
    ({"a": [pod("a", ready=False)], "b": [pod("b", "old")]}, "ab", 1, []),
    ({"a": [pod("a")], "b": [pod("b", "old")]}, "ab", 1, ["b"]),
    # an unavailable old pod is replaced regardless of the budget
    ({"a": [pod("a", ready=False)], "b": [pod("b", "old", ready=False)], "c": [pod("c", "old")]}, "abc", 1, ["b"]),
    # done
    ({"a": [pod("a")], "b": [pod("b")]}, "ab", 1, []),
])
def test_rolling_without_surge(nodes_to_pods, desired, unavailable, expect):
    assert rolling(nodes_to_pods, desired, 0, unavailable) == (expect, [])


@pytest.mark.parametrize("nodes_to_pods, desired, surge, should_run, expect", [
    # surge onto maxSurge nodes with available old pods
    ({"a": [pod("a", "old")], "b": [pod("b", "old")]}, "ab", 1, None, ([], ["a"])),
    ({"a": [pod("a", "old")], "b": [pod("b", "old")]}, "ab", 2, None, ([], ["a", "b"])),
    # a new pod still starting holds the surge slot
    ({"a": [pod("a", "old"), pod("an", ready=False)], "b": [pod("b", "old")]}, "ab", 1, None, ([], [])),
    # once available, its old pod goes and the next node surges
    ({"a": [pod("a", "old"), pod("an")], "b": [pod("b", "old")]}, "ab", 1, None, (["a"], ["b"])),
    # an unavailable old pod gets its replacement without waiting for a slot
    ({"a": [pod("a", "old"), pod("an", ready=False)], "b": [pod("b", "old", ready=False)]}, "ab", 1, None,
     ([], ["b"])),
    # ... unless its node should no longer run the daemon: then it just goes
    ({"a": [pod("a", "old", ready=False)]}, "", 1, lambda n: False, (["a"], [])),
    # an available old pod on a leaving node goes only while more are available than desired
    ({"a": [pod("a", "old")], "b": [pod("b")]}, "b", 1, lambda n: n == "b", (["a"], [])),
    ({"a": [pod("a", "old")], "b": [pod("b", ready=False)]}, "b", 1, lambda n: n == "b", ([], [])),
])
def test_rolling_with_surge(nodes_to_pods, desired, surge, should_run, expect):
    assert rolling(nodes_to_pods, desired, surge, 0, should_run or (lambda n: True)) == expect


# ----------------------------------------------------------------------------- status

def test_count_status():
    verdicts = {"a": util.RUN, "b": util.RUN, "c": util.RUN, "d": util.NOT_HERE, "e": util.STAY_ONLY, "f": util.RUN}
    nodes_to_pods = {
        "a": [pod("a")],                                         # ready, available, updated
        "b": [pod("b", "old", created=T0), pod("b2", created=LATER)],  # the oldest (old) decides
        "c": [pod("c", ready=False)],                            # current, not ready, updated
        "d": [pod("d")],                                         # misscheduled
        "e": [pod("e")],                                         # tainted later: not desired, misscheduled
        "gone": [pod("g")],                                      # nodes that are gone do not count
    }
    counts = util.count_status(verdicts, nodes_to_pods, "new", FACTS, 0, NOW + 100)
    assert counts.status_fields() == {
        "desiredNumberScheduled": 4, "currentNumberScheduled": 3, "numberMisscheduled": 2, "numberReady": 2,
        "updatedNumberScheduled": 2, "numberAvailable": 2, "numberUnavailable": 2}


@pytest.mark.parametrize("min_ready, now, available", [(0, NOW, 1), (10, NOW + 5, 0), (10, NOW + 10, 1)])
def test_count_status_min_ready(min_ready, now, available):
    counts = util.count_status({"a": util.RUN}, {"a": [pod("a")]}, "new", FACTS, min_ready, now)
    assert (counts.ready, counts.available) == (1, available)


# ----------------------------------------------------------------------------- backoff

def test_failed_pod_backoff_doubles_and_expires():
    b = util.FailedPodBackoff(initial=1, cap=8)
    assert not b.in_backoff("k", 0)
    b.next("k", 0)
    assert b.in_backoff("k", 0.5) and not b.in_backoff("k", 1.0)
    delays = []
    for t in (1, 3, 7, 15, 23):
        b.next("k", t)
        delays.append(b.delay("k"))
    assert delays == [2, 4, 8, 8, 8]
    b.next("k", 23 + 17)  # silent for more than twice the cap: starts over
    assert b.delay("k") == 1
    b.gc(23 + 17 + 17)
    assert b.entries == {}
