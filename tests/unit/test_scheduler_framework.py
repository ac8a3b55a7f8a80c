"""The scheduling cycle: sampling, rotation, scoring, tie-breaking and FitError messages."""

from __future__ import annotations

import random

import pytest

from tinykube.scheduler.framework import (
    SUCCESS,
    Code,
    Framework,
    Status,
    VerdictCache,
    default_framework,
    default_normalize,
    error,
    fit_error_message,
    num_feasible_nodes_to_find,
    unresolvable,
    unschedulable,
)
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.plugins.node_unschedulable import NodeUnschedulable

NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}


def make_node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None, unschedulable=False):
    spec = {"taints": taints} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec,
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def make_pod(name="p", cpu=None, memory=None, owner=None, priority=None, **spec):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    meta = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": True}]
    body = {"containers": [{"name": "c", "resources": {"requests": requests}}], **spec}
    if priority is not None:
        body["priority"] = priority
    return {"metadata": meta, "spec": body}


def infos(*nodes, pods=None):
    pods = pods or {}
    return [NodeInfo.of(n, pods.get(n["metadata"]["name"], [])) for n in nodes]


def pinned_to(*names):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": list(names)}]}]}}}


# -- sampling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("num_nodes,percentage,expected", [
    (0, None, 0),
    (1, None, 1),
    (50, None, 50),
    (99, None, 99),
    (100, None, 100),  # 50% of 100 is 50, raised to the minimum of 100
    (200, None, 100),  # 49% -> 98 -> 100
    (250, None, 120),  # 48%
    (1000, None, 420),  # 42%
    (5000, None, 500),  # 10%
    (6000, None, 300),  # 50 - 48 = 2%, raised to 5%
    (10000, None, 500),
    (1000, 0, 420),  # 0 means adaptive
    (1000, 100, 1000),
    (1000, 5, 100),
    (500, 30, 150),
    (50, 10, 50),  # below 100 nodes every node is checked
])
def test_num_feasible_nodes_to_find(num_nodes, percentage, expected):
    assert num_feasible_nodes_to_find(num_nodes, percentage) == expected


# -- FitError text -----------------------------------------------------------------------------


@pytest.mark.parametrize("nodes,pod,expected", [
    # the example: selector mismatch plus unreachable nodes
    (infos(make_node("a", labels={"zone": "x"}), *(make_node(f"u{i}", labels={"zone": "y"}, taints=[UNREACHABLE])
                                                   for i in range(3))),
     make_pod(nodeSelector={"zone": "y"}),
     "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 3 node(s) had untolerated "
     "taint {node.kubernetes.io/unreachable: }. preemption: 0/4 nodes are available: 4 Preemption is not "
     "helpful for scheduling."),
    # Unschedulable (resources) vs UnschedulableAndUnresolvable (cordoned) differ in the preemption part
    (infos(make_node("a", unschedulable=True), make_node("b"), make_node("c")), make_pod(cpu="5"),
     "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/3 nodes are "
     "available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."),
    # one node can report several reasons, each counted
    (infos(make_node("a")), make_pod(cpu="5", memory="9Gi"),
     "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: "
     "1 No preemption victims found for incoming pod."),
    # the histogram is sorted as strings: "10 ..." before "2 ..."
    (infos(*(make_node(f"n{i}", cpu="1") for i in range(10)), make_node("x", unschedulable=True),
           make_node("y", unschedulable=True)), make_pod(cpu="2"),
     "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable. preemption: 0/12 nodes are "
     "available: 10 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."),
    # the first failing filter wins: cordoned and tainted reports cordoned (NodeUnschedulable runs first)
    (infos(make_node("a", unschedulable=True, taints=[UNREACHABLE]), make_node("b", taints=[UNREACHABLE])),
     make_pod(),
     "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) "
     "were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."),
    # a pod that may not preempt says so
    (infos(make_node("a"), make_node("b")), make_pod(cpu="5", preemptionPolicy="Never"),
     "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."),
    # lower-priority pods exist but evicting them would not help
    (infos(make_node("a"), pods={"a": [make_pod("low", cpu="1", priority=0)]}), make_pod(cpu="5", priority=100),
     "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu."),
    # only equal-priority pods: no victims
    (infos(make_node("a"), pods={"a": [make_pod("same", cpu="4", priority=5)]}), make_pod(cpu="1", priority=5),
     "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims "
     "found for incoming pod."),
    (infos(make_node("a", pods="1"), pods={"a": [make_pod("x")]}), make_pod(),
     "0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 No preemption victims "
     "found for incoming pod."),
])
def test_fit_error_messages(nodes, pod, expected):
    result = default_framework(rng=random.Random(1)).schedule(pod, nodes)
    assert (result.node_name, result.code, result.message) == (None, Code.UNSCHEDULABLE, expected)
    assert result.evaluated_nodes == len(nodes)


def test_no_nodes():
    result = default_framework().schedule(make_pod(), [])
    assert (result.node_name, result.code, result.message) == (
        None, Code.UNSCHEDULABLE_AND_UNRESOLVABLE, "no nodes available to schedule pods")


def test_preemption_candidates_are_reported_not_acted_on():
    nodes = infos(make_node("a"), make_node("b"), pods={"a": [make_pod("low", cpu="4", priority=1)],
                                                        "b": [make_pod("peer", cpu="4", priority=10)]})
    result = default_framework().schedule(make_pod(cpu="1", priority=10), nodes)
    assert result.node_name is None
    assert result.preemption_candidates == ("a",)
    # upstream's PostFilter succeeds in this case, so no "preemption:" part is added
    assert result.message == "0/2 nodes are available: 2 Insufficient cpu."
    assert nodes[0].pod_count == 1  # nothing was evicted


def test_unschedulable_plugins_and_statuses():
    nodes = infos(make_node("a", unschedulable=True), make_node("b", cpu="1"))
    result = default_framework().schedule(make_pod(cpu="2"), nodes)
    assert result.unschedulable_plugins == {"NodeUnschedulable", "NodeResourcesFit"}
    assert result.statuses["a"] == unresolvable("node(s) were unschedulable", plugin="NodeUnschedulable")
    assert result.statuses["b"] == unschedulable("Insufficient cpu", plugin="NodeResourcesFit")


@pytest.mark.parametrize("statuses,absent,pre_msg,post_msg,expected", [
    ({}, None, "", "", "0/0 nodes are available:"),
    ({"a": unschedulable("x")}, unresolvable("gone"), "", "", "0/3 nodes are available: 1 x, 2 gone."),
    ({}, unresolvable("gone"), "pod affinity terms conflict", "preemption: P",
     "0/3 nodes are available: pod affinity terms conflict. preemption: P"),
])
def test_fit_error_message_format(statuses, absent, pre_msg, post_msg, expected):
    total = 0 if expected.startswith("0/0") else 3
    assert fit_error_message(total, statuses, absent, pre_msg, post_msg) == expected


# -- PreFilter narrowing (DaemonSet-style pods) ---------------------------------------------------


@pytest.mark.parametrize("affinity,cordon_n2,node_name,evaluated,message", [
    (pinned_to("n2"), False, "n2", 1, ""),
    (pinned_to("n2"), True, None, 1,
     "0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't satisfy plugin(s) [NodeAffinity]. "
     "preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."),
    (pinned_to("n1", "n2"), True, None, 2,
     "0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were "
     "unschedulable, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/4 nodes are available: "
     "4 Preemption is not helpful for scheduling."),
    (pinned_to("missing"), False, None, 0,
     "0/4 nodes are available: 4 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/4 nodes are "
     "available: 4 Preemption is not helpful for scheduling."),
    ({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]},
                         {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}}, False, None, 0,
     "0/4 nodes are available: pod affinity terms conflict. preemption: 0/4 nodes are available: 4 Preemption is "
     "not helpful for scheduling."),
])
def test_prefilter_node_names(affinity, cordon_n2, node_name, evaluated, message):
    """A pod pinned by `metadata.name` (as DaemonSet pods are) is only checked against its nodes."""
    nodes = infos(make_node("n0"), make_node("n1", taints=[UNREACHABLE]), make_node("n2", unschedulable=cordon_n2),
                  make_node("n3", unschedulable=True))
    result = default_framework().schedule(make_pod(affinity=affinity), nodes, start_index=3)
    assert (result.node_name, result.evaluated_nodes, result.message) == (node_name, evaluated, message)


# -- rotation and sampling -----------------------------------------------------------------------


def test_rotation_without_scoring_takes_first_feasible_from_start():
    nodes = infos(make_node("n0"), make_node("n1"), make_node("n2", unschedulable=True), make_node("n3"))
    fw = Framework(filters=[NodeUnschedulable()], scorers=[])
    expectations = [  # start -> (chosen, evaluated, next start)
        (0, "n0", 1, 1),
        (1, "n1", 1, 2),
        (2, "n3", 2, 0),
        (3, "n3", 1, 0),
        (5, "n1", 1, 2),  # start beyond the end wraps
    ]
    for start, chosen, evaluated, next_start in expectations:
        r = fw.schedule(make_pod(), nodes, start_index=start)
        assert (r.node_name, r.evaluated_nodes, r.next_start_index) == (chosen, evaluated, next_start), start


def test_large_cluster_is_sampled_and_rotated():
    nodes = infos(*(make_node(f"n{i:03}", unschedulable=(i % 4 == 3)) for i in range(200)))
    fw = default_framework(rng=random.Random(0))
    r = fw.schedule(make_pod(cpu="100m"), nodes, start_index=150)
    # 100 feasible nodes wanted: n150..n199 give 37, n000..n082 the other 63; every 4th is cordoned
    assert r.feasible_nodes == 100
    assert r.evaluated_nodes == 50 + 83 and len(r.statuses) == 13 + 20
    assert r.next_start_index == 83
    assert set(r.scores) == {f"n{i:03}" for i in list(range(150, 200)) + list(range(0, 83)) if i % 4 != 3}
    assert r.node_name in r.scores

    # the next pod starts where this one stopped
    r2 = fw.schedule(make_pod(cpu="100m"), nodes, start_index=r.next_start_index)
    assert min(r2.scores) == "n000" and "n084" in r2.scores and "n082" not in r2.scores
    assert r2.evaluated_nodes == 117 + 17 and r2.next_start_index == 17


def test_percentage_of_nodes_to_score():
    nodes = infos(*(make_node(f"n{i:03}") for i in range(300)))
    r = default_framework(percentage_of_nodes_to_score=100).schedule(make_pod(), nodes)
    assert (r.feasible_nodes, r.evaluated_nodes, r.next_start_index) == (300, 300, 0)


# -- scoring and tie-breaking ---------------------------------------------------------------------


def test_single_feasible_node_is_chosen_without_scoring():
    nodes = infos(make_node("a", cpu="1"), make_node("b"))
    r = default_framework().schedule(make_pod(cpu="2"), nodes)
    assert (r.node_name, r.feasible_nodes, r.evaluated_nodes, r.scores) == ("b", 1, 2, {})


def test_highest_weighted_score_wins():
    nodes = infos(make_node("busy"), make_node("idle"), make_node("soft", taints=[
        {"key": "k", "effect": "PreferNoSchedule"}]), pods={"busy": [make_pod("x", cpu="2", memory="4Gi")]})
    r = default_framework(rng=random.Random(3)).schedule(make_pod(cpu="1", memory="2Gi"), nodes)
    # taint 3*100 + least-allocated + balanced; the soft-tainted node loses 300
    assert r.scores == {"busy": 300 + 25 + 100, "idle": 300 + 75 + 100, "soft": 0 + 75 + 100}
    assert r.node_name == "idle"


def test_ties_are_broken_randomly_but_reproducibly():
    nodes = infos(*(make_node(f"n{i}") for i in range(5)))
    pod = make_pod(cpu="1")
    picks = [default_framework(rng=random.Random(seed)).schedule(pod, nodes).node_name for seed in range(60)]
    again = [default_framework(rng=random.Random(seed)).schedule(pod, nodes).node_name for seed in range(60)]
    assert picks == again
    assert set(picks) == {f"n{i}" for i in range(5)}


def test_owner_spread_and_accounting_across_a_sequence():
    nodes = infos(make_node("a"), make_node("b"), make_node("c"))
    by_name = {ni.name: ni for ni in nodes}
    fw = default_framework(rng=random.Random(5))
    placed = []
    for i in range(6):
        pod = make_pod(f"web-{i}", cpu="500m", memory="512Mi", owner="rs-web")
        r = fw.schedule(pod, nodes)
        by_name[r.node_name].add_pod(pod)
        placed.append((pod, r.node_name))
    assert sorted(ni.pod_count for ni in nodes) == [2, 2, 2]
    assert all(ni.requested.milli_cpu == 1000 for ni in nodes)

    # emptying a node makes it the clear favourite again
    for pod, node in placed:
        if node == "b":
            by_name["b"].remove_pod(pod)
    assert by_name["b"].pod_count == 0 and by_name["b"].requested.milli_cpu == 0
    r = fw.schedule(make_pod("web-6", cpu="500m", memory="512Mi", owner="rs-web"), nodes)
    assert r.node_name == "b"


def test_filling_a_node_until_it_is_full():
    nodes = infos(make_node("only", cpu="2", pods="3"))
    fw = default_framework()
    for i in range(3):
        pod = make_pod(f"p{i}", cpu="500m")
        r = fw.schedule(pod, nodes)
        assert r.node_name == "only"
        nodes[0].add_pod(pod)
    r = fw.schedule(make_pod("p3", cpu="1"), nodes)
    assert r.message == ("0/1 nodes are available: 1 Insufficient cpu, 1 Too many pods. preemption: 0/1 nodes are "
                         "available: 1 No preemption victims found for incoming pod.")


# -- plugin errors -------------------------------------------------------------------------------


class _Fixed:
    """A test plugin with canned answers."""

    def __init__(self, name, filter_status=SUCCESS, score=0, weight=1):
        self.name, self.filter_status, self.fixed_score, self.weight = name, filter_status, score, weight

    def pre_filter(self, state, pod):
        return SUCCESS

    def filter(self, state, pod, node_info):
        return self.filter_status

    def pre_score(self, state, pod, node_infos):
        return SUCCESS

    def score(self, state, pod, node_info):
        return self.fixed_score


@pytest.mark.parametrize("filters,scorers,message", [
    ([_Fixed("Broken", error("boom"))], [], 'running "Broken" filter plugin: boom'),
    ([], [_Fixed("Wild", score=101)],
     'plugin "Wild" returns an invalid score 101, it should in the range of [0, 100] after normalizing'),
])
def test_plugin_errors(filters, scorers, message):
    r = Framework(filters, scorers).schedule(make_pod(), infos(make_node("a"), make_node("b")))
    assert (r.node_name, r.code, r.message) == (None, Code.ERROR, message)


def test_status_helpers():
    st = unschedulable("a", "b")
    assert st.message == "a, b" and st.is_rejected() and not st.is_success()
    assert st.with_plugin("X") == Status(Code.UNSCHEDULABLE, ("a", "b"), "X")
    assert SUCCESS.is_success() and not SUCCESS.is_rejected()


def _token_volume(suffix: str) -> tuple[dict, dict]:
    name = f"kube-api-access-{suffix}"
    return ({"name": name, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
            {"name": name, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True})


def _pod_with_volumes(suffix: str, claim: str | None = None) -> dict:
    volume, mount = _token_volume(suffix)
    volumes = [volume] + ([{"name": "data", "persistentVolumeClaim": {"claimName": claim}}] if claim else [])
    return {"metadata": {"name": f"p-{suffix}", "labels": {"app": "web"}},
            "spec": {"volumes": volumes, "containers": [{"name": "c", "image": "nginx", "volumeMounts": [mount],
                                                         "resources": {"requests": {"cpu": "10m"}}}]}}


@pytest.mark.parametrize("a, b, same", [
    (_pod_with_volumes("abcde"), _pod_with_volumes("fghij"), True),  # only the token volume's random name differs
    (_pod_with_volumes("abcde", "c1"), _pod_with_volumes("fghij", "c1"), True),
    (_pod_with_volumes("abcde", "c1"), _pod_with_volumes("abcde", "c2"), False),  # claims are read (VolumeBinding)
    (_pod_with_volumes("abcde"), dict(_pod_with_volumes("abcde"), metadata={"name": "x", "labels": {"app": "db"}}),
     False),
])
def test_pods_of_one_template_share_a_verdict_shape(a, b, same):
    assert (VerdictCache.shape(a) == VerdictCache.shape(b)) is same


@pytest.mark.parametrize("raw,reverse,expected", [
    ([0, 5, 10], False, [0, 50, 100]),
    ([0, 5, 10], True, [100, 50, 0]),
    ([3, 7], False, [42, 100]),  # integer division, as upstream
    ([3, 7], True, [58, 0]),
    ([0, 0], False, [0, 0]),
    ([0, 0], True, [100, 100]),  # nothing to prefer: every node gets the most
    ([], False, []),
])
def test_default_normalize_rescales_in_place(raw: list[int], reverse: bool, expected: list[int]) -> None:
    scores = list(raw)
    default_normalize(scores, reverse=reverse)
    assert scores == expected
