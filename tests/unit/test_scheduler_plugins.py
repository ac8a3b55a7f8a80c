"""Scheduler plugins, resource arithmetic and NodeInfo accounting, table by table."""

from __future__ import annotations

import pytest

from tinykube.scheduler.framework import Code, CycleState
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.plugins.balanced_allocation import BalancedAllocation
from tinykube.scheduler.plugins.node_affinity import NodeAffinity
from tinykube.scheduler.plugins.node_name import NodeName
from tinykube.scheduler.plugins.node_ports import NodePorts
from tinykube.scheduler.plugins.node_resources_fit import NodeResourcesFit
from tinykube.scheduler.plugins.node_unschedulable import NodeUnschedulable
from tinykube.scheduler.plugins.owner_spread import OwnerSpread
from tinykube.scheduler.plugins.taint_toleration import TaintToleration
from tinykube.scheduler.resources import Resources, host_ports, node_allocatable, pod_requests, quantity_units

Mi = 1024 * 1024
Gi = 1024 * Mi
U, UU, OK, SKIPPED = "Unschedulable", "UnschedulableAndUnresolvable", "Success", "Skip"


def make_node(name="n1", cpu="4", memory="8Gi", pods="110", labels=None, taints=None,
              unschedulable=False, allocatable=None, capacity=None):
    alloc = {"cpu": cpu, "memory": memory, "pods": pods} if allocatable is None else allocatable
    status = {"allocatable": alloc}
    if capacity is not None:
        status["capacity"] = capacity
    spec = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec, "status": status}


def container(cpu=None, memory=None, ports=None, restart_policy=None, **extra):
    requests = dict(extra)
    if cpu is not None:
        requests["cpu"] = cpu
    if memory is not None:
        requests["memory"] = memory
    out = {"name": "c", "image": "x"}
    if requests:
        out["resources"] = {"requests": requests}
    if ports:
        out["ports"] = ports
    if restart_policy:
        out["restartPolicy"] = restart_policy
    return out


def make_pod(name="p", cpu=None, memory=None, containers=None, init=None, uid=None, owner=None,
             phase=None, **spec):
    meta = {"name": name, "namespace": "default", "uid": uid or f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": owner, "controller": True}]
    body = {"containers": containers if containers is not None else [container(cpu, memory)], **spec}
    if init:
        body["initContainers"] = init
    out = {"metadata": meta, "spec": body}
    if phase:
        out["status"] = {"phase": phase}
    return out


def run_filter(plugin, pod, node_info):
    """(code, reasons) after PreFilter and Filter; a skipped plugin reports Skip."""
    state = CycleState()
    pre = plugin.pre_filter(state, pod)
    if pre.code is Code.SKIP:
        return SKIPPED, ()
    if pre.code is not Code.SUCCESS:
        return pre.code.value, pre.reasons
    st = plugin.filter(state, pod, node_info)
    return st.code.value, st.reasons


def run_scores(plugin, pod, node_infos):
    """{node: score} after PreScore, Score and Normalize; None when the plugin skips the pod."""
    state = CycleState()
    if plugin.pre_score(state, pod, node_infos).code is Code.SKIP:
        return None
    scores = [plugin.score(state, pod, ni) for ni in node_infos]
    normalize = getattr(plugin, "normalize", None)
    if normalize:
        normalize(state, pod, scores)
    return {ni.name: score for ni, score in zip(node_infos, scores)}


# -- resources -------------------------------------------------------------------------


@pytest.mark.parametrize("name,text,expected", [
    ("cpu", "100m", 100),
    ("cpu", "2", 2000),
    ("cpu", "0.5", 500),
    ("cpu", "1.0001", 1001),  # rounded up to the next millicore
    ("cpu", "1k", 1_000_000),
    ("memory", "1Gi", Gi),
    ("memory", "1G", 10 ** 9),
    ("memory", "128974848", 128974848),
    ("memory", "129e6", 129 * 10 ** 6),
    ("memory", "500m", 1),  # rounded up to a whole byte
    ("memory", "1.5Ki", 1536),
    ("memory", "bogus", 0),
    ("example.com/gpu", "2", 2),
    ("pods", "110", 110),
])
def test_quantity_units(name, text, expected):
    assert quantity_units(name, text) == expected


@pytest.mark.parametrize("pod,cpu,memory,scalars", [
    (make_pod(), 0, 0, {}),
    (make_pod(cpu="500m", memory="1Gi"), 500, Gi, {}),
    (make_pod(containers=[container("1", "1Gi"), container("250m", "512Mi")]), 1250, Gi + 512 * Mi, {}),
    # cpu rounds up to whole millicores, memory to whole bytes
    (make_pod(cpu="0.0001", memory="1.5"), 1, 2, {}),
    # an init container bigger than the sum wins per dimension
    (make_pod(containers=[container("1", "1Gi")], init=[container("2", "512Mi")]), 2000, Gi, {}),
    (make_pod(containers=[container("1", "1Gi")], init=[container("500m", "2Gi"), container("3", "1Mi")]),
     3000, 2 * Gi, {}),
    # a sidecar counts like a container, and runs alongside later init containers
    (make_pod(containers=[container("1", "1Gi")], init=[container("1", "1Gi", restart_policy="Always")]),
     2000, 2 * Gi, {}),
    (make_pod(containers=[container("100m")],
              init=[container("1", restart_policy="Always"), container("2")]), 3000, 0, {}),
    # overhead is added on top
    (make_pod(cpu="1", memory="1Gi", overhead={"cpu": "250m", "memory": "10Mi"}), 1250, Gi + 10 * Mi, {}),
    # extended resources are integer counts; unknown unprefixed names are ignored
    (make_pod(containers=[container("1", **{"example.com/gpu": "2", "hugepages-2Mi": "4Mi", "bogus": "3"})]),
     1000, 0, {"example.com/gpu": 2, "hugepages-2Mi": 4 * Mi}),
])
def test_pod_requests(pod, cpu, memory, scalars):
    req = pod_requests(pod)
    assert (req.milli_cpu, req.memory, req.scalars) == (cpu, memory, scalars)


@pytest.mark.parametrize("pod,cpu,memory", [
    (make_pod(), 100, 200 * Mi),
    (make_pod(cpu="1"), 1000, 200 * Mi),
    (make_pod(memory="1Gi"), 100, Gi),
    (make_pod(cpu="0", memory="0"), 0, 0),  # explicit zero is not "missing"
    (make_pod(containers=[container(), container("1")]), 1100, 400 * Mi),
    (make_pod(containers=[container()], init=[container("1", "1Gi")]), 1000, Gi),
])
def test_non_zero_requests(pod, cpu, memory):
    req = pod_requests(pod, non_zero=True)
    assert (req.milli_cpu, req.memory) == (cpu, memory)


@pytest.mark.parametrize("node,expected", [
    (make_node(cpu="3500m", memory="7Gi", pods="30"), (3500, 7 * Gi, 30)),
    (make_node(allocatable={}, capacity={"cpu": "2", "memory": "1Gi", "pods": "10"}), (2000, Gi, 10)),
    (make_node(allocatable={"cpu": "1", "ephemeral-storage": "10Gi", "example.com/gpu": "4"}), (1000, 0, 0)),
])
def test_node_allocatable(node, expected):
    alloc = node_allocatable(node)
    assert (alloc.milli_cpu, alloc.memory, alloc.allowed_pods) == expected


def test_node_allocatable_scalars_and_storage():
    alloc = node_allocatable(make_node(allocatable={"ephemeral-storage": "10Gi", "example.com/gpu": "4"}))
    assert (alloc.ephemeral_storage, alloc.scalars) == (10 * Gi, {"example.com/gpu": 4})


@pytest.mark.parametrize("pod,expected", [
    (make_pod(), []),
    (make_pod(containers=[container(ports=[{"containerPort": 80}])]), []),
    (make_pod(containers=[container(ports=[{"containerPort": 80, "hostPort": 8080}])]), [("0.0.0.0", "TCP", 8080)]),
    (make_pod(containers=[container(ports=[{"containerPort": 53, "hostPort": 53, "protocol": "UDP",
                                            "hostIP": "10.0.0.1"}])]), [("10.0.0.1", "UDP", 53)]),
    (make_pod(init=[container(ports=[{"containerPort": 1, "hostPort": 9000}], restart_policy="Always"),
                    container(ports=[{"containerPort": 1, "hostPort": 9001}])]), [("0.0.0.0", "TCP", 9000)]),
])
def test_host_ports(pod, expected):
    assert host_ports(pod) == expected


# -- NodeInfo accounting -----------------------------------------------------------------


def test_node_info_add_and_remove_keep_aggregates():
    ni = NodeInfo(make_node())
    a = make_pod("a", cpu="1", memory="1Gi", owner="rs1",
                 containers=[container("1", "1Gi", ports=[{"containerPort": 80, "hostPort": 80}])])
    b = make_pod("b", owner="rs1")  # no requests: counts as 100m/200Mi only in non-zero
    c = make_pod("c", cpu="500m", owner="rs2")
    for p in (a, b, c):
        ni.add_pod(p)
    assert ni.pod_count == 3
    assert (ni.requested.milli_cpu, ni.requested.memory) == (1500, Gi)
    assert (ni.non_zero_requested.milli_cpu, ni.non_zero_requested.memory) == (1600, Gi + 400 * Mi)
    assert dict(ni.owner_counts) == {"rs1": 2, "rs2": 1}
    assert ni.port_conflicts("0.0.0.0", "TCP", 80)

    ni.remove_pod(a)
    assert ni.pod_count == 2
    assert (ni.requested.milli_cpu, ni.requested.memory) == (500, 0)
    assert (ni.non_zero_requested.milli_cpu, ni.non_zero_requested.memory) == (600, 400 * Mi)
    assert dict(ni.owner_counts) == {"rs1": 1, "rs2": 1}
    assert not ni.port_conflicts("0.0.0.0", "TCP", 80)

    ni.remove_pod(a)  # unknown now: no-op
    ni.remove_pod(make_pod("never-added", cpu="4"))
    assert ni.pod_count == 2 and ni.requested.milli_cpu == 500

    for p in (b, c):
        ni.remove_pod(p)
    assert ni.pod_count == 0 and ni.requested == Resources() and not ni.owner_counts


def test_node_info_readding_replaces_and_terminal_pods_do_not_count():
    ni = NodeInfo(make_node())
    ni.add_pod(make_pod("a", cpu="1"))
    ni.add_pod(make_pod("a", cpu="2"))  # same uid: updated
    assert (ni.pod_count, ni.requested.milli_cpu) == (1, 2000)
    ni.add_pod(make_pod("a", cpu="2", phase="Succeeded"))  # finished: gone
    assert (ni.pod_count, ni.requested.milli_cpu) == (0, 0)
    ni.add_pod(make_pod("b", cpu="1", phase="Failed"))
    ni.add_pod(make_pod("c", cpu="1", phase="Pending"))
    ni.add_pod(make_pod("d", cpu="1", phase="Running"))
    assert (ni.pod_count, ni.requested.milli_cpu) == (2, 2000)


def test_node_info_clone_is_independent():
    ni = NodeInfo.of(make_node(), [make_pod("a", cpu="1")])
    twin = ni.clone()
    twin.remove_pod(make_pod("a"))
    assert (ni.pod_count, ni.requested.milli_cpu) == (1, 1000)
    assert (twin.pod_count, twin.requested.milli_cpu) == (0, 0)


# -- NodeName / NodeUnschedulable ------------------------------------------------------------


@pytest.mark.parametrize("pod,expected", [
    (make_pod(), (SKIPPED, ())),
    (make_pod(nodeName="n1"), (OK, ())),
    (make_pod(nodeName="n2"), (UU, ("node(s) didn't match the requested node name",))),
])
def test_node_name(pod, expected):
    assert run_filter(NodeName(), pod, NodeInfo(make_node("n1"))) == expected


TOLERATE_UNSCHEDULABLE = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]


@pytest.mark.parametrize("pod,node,expected", [
    (make_pod(), make_node(), (OK, ())),
    (make_pod(), make_node(unschedulable=True), (UU, ("node(s) were unschedulable",))),
    (make_pod(tolerations=TOLERATE_UNSCHEDULABLE), make_node(unschedulable=True), (SKIPPED, ())),
    (make_pod(tolerations=[{"operator": "Exists"}]), make_node(unschedulable=True), (SKIPPED, ())),
    (make_pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}]),
     make_node(unschedulable=True), (UU, ("node(s) were unschedulable",))),
])
def test_node_unschedulable(pod, node, expected):
    assert run_filter(NodeUnschedulable(), pod, NodeInfo(node)) == expected


# -- TaintToleration ---------------------------------------------------------------------------

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}
DEDICATED = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
SOFT = {"key": "soft", "value": "1", "effect": "PreferNoSchedule"}


@pytest.mark.parametrize("pod,taints,expected", [
    (make_pod(), [], (OK, ())),
    (make_pod(), [UNREACHABLE], (UU, ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",))),
    (make_pod(), [DEDICATED], (UU, ("node(s) had untolerated taint {dedicated: gpu}",))),
    (make_pod(), [SOFT], (OK, ())),  # PreferNoSchedule never filters
    (make_pod(), [SOFT, DEDICATED, UNREACHABLE], (UU, ("node(s) had untolerated taint {dedicated: gpu}",))),
    (make_pod(tolerations=[{"key": "dedicated", "value": "gpu"}]), [DEDICATED, UNREACHABLE],
     (UU, ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",))),
    (make_pod(tolerations=[{"key": "dedicated", "operator": "Exists"}, {"key": "node.kubernetes.io/unreachable",
                                                                        "operator": "Exists"}]),
     [DEDICATED, UNREACHABLE], (OK, ())),
    (make_pod(tolerations=[{"operator": "Exists"}]), [DEDICATED], (SKIPPED, ())),
])
def test_taint_toleration_filter(pod, taints, expected):
    assert run_filter(TaintToleration(), pod, NodeInfo(make_node(taints=taints))) == expected


@pytest.mark.parametrize("tolerations,expected", [
    # fewer untolerated PreferNoSchedule taints is better: 0, 1 and 2 such taints
    (None, {"clean": 100, "one": 50, "two": 0}),
    # normalized against the worst node: one untolerated taint left on "two" is the maximum
    ([{"key": "soft", "operator": "Exists", "effect": "PreferNoSchedule"}], {"clean": 100, "one": 100, "two": 0}),
    ([{"operator": "Exists"}], {"clean": 100, "one": 100, "two": 100}),
    # a NoSchedule toleration does not help with PreferNoSchedule
    ([{"key": "soft", "operator": "Exists", "effect": "NoSchedule"}], {"clean": 100, "one": 50, "two": 0}),
])
def test_taint_toleration_score(tolerations, expected):
    nodes = [
        NodeInfo(make_node("clean", taints=[DEDICATED])),
        NodeInfo(make_node("one", taints=[SOFT])),
        NodeInfo(make_node("two", taints=[SOFT, {"key": "other", "effect": "PreferNoSchedule"}])),
    ]
    pod = make_pod(tolerations=tolerations) if tolerations else make_pod()
    assert run_scores(TaintToleration(), pod, nodes) == expected


# -- NodeAffinity -----------------------------------------------------------------------------


def affinity(required=None, preferred=None):
    na = {}
    if required is not None:
        na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": required}
    if preferred is not None:
        na["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return {"nodeAffinity": na}


def zone_term(*zones):
    return {"matchExpressions": [{"key": "zone", "operator": "In", "values": list(zones)}]}


def name_term(*names):
    return {"matchFields": [{"key": "metadata.name", "operator": "In", "values": list(names)}]}


AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector"


@pytest.mark.parametrize("pod,expected", [
    (make_pod(), (SKIPPED, ())),
    (make_pod(nodeSelector={"zone": "a"}), (OK, ())),
    (make_pod(nodeSelector={"zone": "b"}), (UU, (AFFINITY_REASON,))),
    (make_pod(affinity=affinity(required=[zone_term("a", "c")])), (OK, ())),
    (make_pod(affinity=affinity(required=[zone_term("b")])), (UU, (AFFINITY_REASON,))),
    (make_pod(affinity=affinity(preferred=[{"weight": 1, "preference": zone_term("b")}])), (SKIPPED, ())),
    (make_pod(affinity=affinity(required=[name_term("n1")])), (OK, ())),
    (make_pod(affinity=affinity(required=[name_term("n2")])), (UU, (AFFINITY_REASON,))),
    # name terms whose intersection is empty in every term: conflict at PreFilter
    (make_pod(affinity=affinity(required=[{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": ["n1"]},
        {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}])),
     (UU, ("pod affinity terms conflict",))),
])
def test_node_affinity_filter(pod, expected):
    assert run_filter(NodeAffinity(), pod, NodeInfo(make_node("n1", labels={"zone": "a"}))) == expected


@pytest.mark.parametrize("required,names", [
    ([zone_term("a")], None),
    ([name_term("n1", "n2")], {"n1", "n2"}),
    ([name_term("n1"), name_term("n3")], {"n1", "n3"}),
    ([name_term("n1"), zone_term("a")], None),  # the zone term allows every node
])
def test_node_affinity_pre_filter_narrows_nodes(required, names):
    st = NodeAffinity().pre_filter(CycleState(), make_pod(affinity=affinity(required=required)))
    assert st.code is Code.SUCCESS
    assert st.node_names == (None if names is None else frozenset(names))


@pytest.mark.parametrize("preferred,expected", [
    (None, None),
    ([{"weight": 10, "preference": zone_term("a")}], {"a1": 100, "a2": 100, "b": 0}),
    ([{"weight": 10, "preference": zone_term("a")}, {"weight": 30, "preference": zone_term("b")}],
     {"a1": 33, "a2": 33, "b": 100}),
    ([{"weight": 5, "preference": zone_term("c")}], {"a1": 0, "a2": 0, "b": 0}),
])
def test_node_affinity_score(preferred, expected):
    nodes = [NodeInfo(make_node("a1", labels={"zone": "a"})), NodeInfo(make_node("a2", labels={"zone": "a"})),
             NodeInfo(make_node("b", labels={"zone": "b"}))]
    pod = make_pod(affinity=affinity(preferred=preferred)) if preferred else make_pod()
    assert run_scores(NodeAffinity(), pod, nodes) == expected


# -- NodePorts ---------------------------------------------------------------------------------


def port_pod(name, host_port, host_ip="", protocol=""):
    port = {"containerPort": 1, "hostPort": host_port}
    if host_ip:
        port["hostIP"] = host_ip
    if protocol:
        port["protocol"] = protocol
    return make_pod(name, containers=[container(ports=[port])])


PORTS_REASON = "node(s) didn't have free ports for the requested pod ports"


@pytest.mark.parametrize("existing,wanted,expected", [
    ([], port_pod("new", 80), (OK, ())),
    ([port_pod("old", 80)], make_pod("new"), (SKIPPED, ())),
    ([port_pod("old", 80)], port_pod("new", 80), (U, (PORTS_REASON,))),
    ([port_pod("old", 80)], port_pod("new", 81), (OK, ())),
    ([port_pod("old", 80)], port_pod("new", 80, protocol="UDP"), (OK, ())),
    ([port_pod("old", 80, protocol="TCP")], port_pod("new", 80), (U, (PORTS_REASON,))),  # TCP is the default
    # 0.0.0.0 clashes with every IP, in both directions
    ([port_pod("old", 80, "10.0.0.1")], port_pod("new", 80), (U, (PORTS_REASON,))),
    ([port_pod("old", 80)], port_pod("new", 80, "10.0.0.1"), (U, (PORTS_REASON,))),
    ([port_pod("old", 80, "0.0.0.0")], port_pod("new", 80, "10.0.0.1"), (U, (PORTS_REASON,))),
    # distinct specific IPs do not clash
    ([port_pod("old", 80, "10.0.0.1")], port_pod("new", 80, "10.0.0.2"), (OK, ())),
    ([port_pod("old", 80, "10.0.0.1")], port_pod("new", 80, "10.0.0.1"), (U, (PORTS_REASON,))),
])
def test_node_ports(existing, wanted, expected):
    assert run_filter(NodePorts(), wanted, NodeInfo.of(make_node(), existing)) == expected


def test_node_ports_freed_when_pod_removed_only_after_last_user():
    a, b = port_pod("a", 80, "10.0.0.1"), port_pod("b", 80, "10.0.0.1")
    ni = NodeInfo.of(make_node(), [a, b])  # e.g. bound directly by nodeName
    ni.remove_pod(a)
    assert run_filter(NodePorts(), port_pod("new", 80), ni) == (U, (PORTS_REASON,))
    ni.remove_pod(b)
    assert run_filter(NodePorts(), port_pod("new", 80), ni) == (OK, ())


# -- NodeResourcesFit ----------------------------------------------------------------------------


@pytest.mark.parametrize("node,existing,pod,expected", [
    (make_node(), [], make_pod(cpu="1", memory="1Gi"), (OK, ())),
    (make_node(), [], make_pod(cpu="4", memory="8Gi"), (OK, ())),  # exactly full is fine
    (make_node(), [], make_pod(cpu="4001m"), (U, ("Insufficient cpu",))),
    (make_node(), [make_pod("a", cpu="3")], make_pod(cpu="1001m"), (U, ("Insufficient cpu",))),
    (make_node(), [make_pod("a", memory="7Gi")], make_pod(memory="2Gi"), (U, ("Insufficient memory",))),
    (make_node(), [], make_pod(cpu="5", memory="9Gi"), (U, ("Insufficient cpu", "Insufficient memory"))),
    (make_node(pods="1"), [make_pod("a")], make_pod(), (U, ("Too many pods",))),
    (make_node(pods="1"), [make_pod("a")], make_pod(cpu="5"), (U, ("Too many pods", "Insufficient cpu"))),
    # a pod requesting nothing fits an overcommitted node (but still counts against "pods")
    (make_node(), [make_pod("a", cpu="5")], make_pod(), (OK, ())),
    # only requested dimensions are checked
    (make_node(), [make_pod("a", cpu="5")], make_pod(memory="1Gi"), (OK, ())),
    (make_node(allocatable={"cpu": "4", "memory": "8Gi", "pods": "10", "ephemeral-storage": "1Gi"}), [],
     make_pod(containers=[container("1", **{"ephemeral-storage": "2Gi"})]), (U, ("Insufficient ephemeral-storage",))),
    (make_node(), [], make_pod(containers=[container(**{"example.com/gpu": "1"})]),
     (U, ("Insufficient example.com/gpu",))),
    (make_node(allocatable={"cpu": "4", "memory": "8Gi", "pods": "10", "example.com/gpu": "2"}),
     [make_pod("a", containers=[container(**{"example.com/gpu": "1"})])],
     make_pod(containers=[container(**{"example.com/gpu": "1"})]), (OK, ())),
    (make_node(allocatable={"cpu": "4", "memory": "8Gi", "pods": "10", "example.com/gpu": "2"}),
     [make_pod("a", containers=[container(**{"example.com/gpu": "2"})])],
     make_pod(cpu="5", containers=[container("5", **{"example.com/gpu": "1", "a.io/b": "1"})]),
     (U, ("Insufficient cpu", "Insufficient a.io/b", "Insufficient example.com/gpu"))),
])
def test_node_resources_fit_filter(node, existing, pod, expected):
    assert run_filter(NodeResourcesFit(), pod, NodeInfo.of(node, existing)) == expected


@pytest.mark.parametrize("existing,pod,expected", [
    # cpu (4000-1000)/4000 -> 75, memory (8Gi-1Gi)/8Gi -> 87: mean 81
    ([], make_pod(cpu="1", memory="1Gi"), 81),
    # no requests: 100m and 200Mi count -> cpu 97, memory 97
    ([], make_pod(), 97),
    # existing pods count with their non-zero requests: 2x(100m,200Mi) + pod(1, 1Gi)
    ([make_pod("a"), make_pod("b")], make_pod(cpu="1", memory="1Gi"), (70 + 82) // 2),
    # over capacity scores 0 for that resource; memory 4Gi+200Mi of 8Gi -> 47
    ([make_pod("a", cpu="4")], make_pod(cpu="1", memory="4Gi"), (0 + 47) // 2),
])
def test_node_resources_fit_least_allocated_score(existing, pod, expected):
    ni = NodeInfo.of(make_node(), existing)
    assert run_scores(NodeResourcesFit(), pod, [ni]) == {"n1": expected}


@pytest.mark.parametrize("existing,pod,expected", [
    ([], make_pod(), None),  # best-effort pods are not scored
    ([], make_pod(cpu="0", memory="0"), None),
    # cpu 1/4, memory 2/8: perfectly balanced
    ([], make_pod(cpu="1", memory="2Gi"), 100),
    # cpu 2/4 = .5, memory 0: std .25 -> 75
    ([], make_pod(cpu="2"), 75),
    # cpu 4/4 = 1, memory 1Gi/8Gi = .125: std .4375 -> 56
    ([make_pod("a", cpu="3")], make_pod(cpu="1", memory="1Gi"), 56),
    # fractions are capped at 1: cpu 6/4 -> 1, memory 0 -> std .5
    ([make_pod("a", cpu="5")], make_pod(cpu="1"), 50),
    # uses real requests, not the non-zero defaults: existing best-effort pods add nothing
    ([make_pod("a"), make_pod("b")], make_pod(cpu="1", memory="2Gi"), 100),
])
def test_balanced_allocation_score(existing, pod, expected):
    ni = NodeInfo.of(make_node(), existing)
    scores = run_scores(BalancedAllocation(), pod, [ni])
    assert scores == (None if expected is None else {"n1": expected})


# -- OwnerSpread ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pod,expected", [
    (make_pod(), None),
    (make_pod(owner="rs1"), {"empty": 100, "one": 50, "two": 0}),
    (make_pod(owner="rs-other"), {"empty": 100, "one": 100, "two": 100}),
])
def test_owner_spread_score(pod, expected):
    nodes = [
        NodeInfo.of(make_node("empty"), [make_pod("x", owner="rs2")]),
        NodeInfo.of(make_node("one"), [make_pod("a", owner="rs1")]),
        NodeInfo.of(make_node("two"), [make_pod("b", owner="rs1"), make_pod("c", owner="rs1")]),
    ]
    assert run_scores(OwnerSpread(), pod, nodes) == expected
