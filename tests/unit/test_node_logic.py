"""Pure logic of nodes: pod ranges, kubelet conditions, stages, simulated behaviour, taints by condition."""

from __future__ import annotations

import pytest

from tinykube.controllers.nodelifecycle import desired_taints, reconcile_taints, unknown_conditions
from tinykube.kubelet import node as nodes
from tinykube.kubelet.behaviour import JOB_DEFAULT_RUN, behaviour_of
from tinykube.kubelet.stages import DEFAULT_STAGES, parse_duration, stage_delay, stages_from_data

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:01:00Z"


@pytest.mark.parametrize("index, cidr", [
    (0, "10.244.0.0/24"), (1, "10.244.1.0/24"), (255, "10.244.255.0/24"), (256, "10.245.0.0/24"),
    (1023, "10.247.255.0/24"), (1024, "10.244.0.0/24"),
])
def test_pod_cidr(index, cidr):
    assert nodes.pod_cidr(index) == cidr


@pytest.mark.parametrize("cidr, offset, ip", [("10.244.3.0/24", 1, "10.244.3.2"), ("10.245.0.0/24", 9, "10.245.0.10")])
def test_pod_ip(cidr, offset, ip):
    assert nodes.pod_ip(cidr, offset) == ip


def _node(labels: dict[str, str], annotations: dict[str, str]) -> dict:
    return {"metadata": {"name": "n", "labels": labels, "annotations": annotations}}


SIM = {nodes.SIMULATED_LABEL: "true"}


@pytest.mark.parametrize("labels, annotations, identity, runs", [
    (SIM, {}, "srv-a", True),  # nobody's yet: may adopt
    (SIM, {nodes.SIMULATED_BY_ANNOTATION: "srv-a"}, "srv-a", True),
    (SIM, {nodes.SIMULATED_BY_ANNOTATION: "srv-b"}, "srv-a", False),  # another server's
    ({}, {}, "srv-a", False),  # a real node
    ({nodes.SIMULATED_LABEL: "false"}, {}, "srv-a", False),
])
def test_a_simulated_node_is_run_by_one_server(labels, annotations, identity, runs):
    assert nodes.simulated_for(_node(labels, annotations), identity) is runs


def test_healthy_conditions_keep_transition_time_when_unchanged():
    first = nodes.conditions_healthy(NOW)
    assert [c["type"] for c in first] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert first[3] == {"type": "Ready", "status": "True", "lastHeartbeatTime": NOW, "lastTransitionTime": NOW,
                        "reason": "KubeletReady", "message": "kubelet is posting ready status"}
    again = nodes.conditions_healthy(LATER, first)
    assert again[3]["lastTransitionTime"] == NOW and again[3]["lastHeartbeatTime"] == LATER
    recovered = nodes.conditions_healthy(LATER, unknown_conditions({"status": {"conditions": first}}, NOW))
    assert recovered[3]["lastTransitionTime"] == LATER


@pytest.mark.parametrize("text, seconds", [
    ("500ms", 0.5), ("2s", 2.0), ("1m30s", 90.0), ("1h", 3600.0), ("3", 3.0), (1.5, 1.5), ("0", 0.0),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "1x", "5 s", "-1s", "1s2", -3])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("data, error", [
    ({}, "a stages file holds a mapping with a `stages` list"),
    ({"stages": [{"step": "boot"}]}, "stages[0].step: must be one of create, start, ready, terminate"),
    ({"stages": [{"step": "start", "delay": "soon"}]}, "stages[0]: invalid duration 'soon'"),
    ({"stages": [{"step": "start", "colour": "red"}]}, "stages[0]: unknown field(s) colour"),
])
def test_stages_file_errors(data, error):
    with pytest.raises(ValueError) as exc:
        stages_from_data(data)
    assert str(exc.value).startswith(error)


def test_first_matching_stage_wins_and_defaults_fill_in():
    import random

    stages = stages_from_data({"stages": [{"step": "start", "selector": "app=slow", "delay": "10s"},
                                          {"step": "start", "delay": "1s"}]})
    rng = random.Random(1)
    slow = {"metadata": {"labels": {"app": "slow"}}}
    other = {"metadata": {"labels": {"app": "web"}}}
    assert stage_delay(stages, "start", slow, rng) == 10.0
    assert stage_delay(stages, "start", other, rng) == 1.0
    assert stage_delay(stages, "terminate", other, rng) == stage_delay(DEFAULT_STAGES, "terminate", other, rng)


@pytest.mark.parametrize("annotations, owner, expect", [
    ({}, None, dict(exit_after=None, exit_code=0, fail_times=0)),
    ({}, "Job", dict(exit_after=JOB_DEFAULT_RUN, exit_code=0)),
    ({}, "ReplicaSet", dict(exit_after=None)),
    ({"exit-after": "30s", "exit-code": "2"}, None, dict(exit_after=30.0, exit_code=2)),
    ({"fail-times": "2"}, None, dict(fail_times=2, exit_after=None)),
    ({"ready-after": "5s", "ready-flap": "10s"}, None, dict(ready_after=5.0, ready_flap=10.0)),
    ({"cpu": "250m", "memory": "64Mi"}, None, dict(cpu_millis=250, memory_bytes=64 * 1024 * 1024)),
    ({"exit-code": "x"}, None, dict(exit_code=0, problems=("sim.tinykube.io/exit-code: invalid literal for int() with base 10: 'x'",))),
])
def test_behaviour_from_annotations(annotations, owner, expect):
    meta = {"annotations": {"sim.tinykube.io/" + k: v for k, v in annotations.items()}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "o", "uid": "u", "controller": True}]
    behaviour = behaviour_of({"metadata": meta})
    for field, value in expect.items():
        assert getattr(behaviour, field) == value, field


def test_fail_times_then_normal_runs():
    b = behaviour_of({"metadata": {"annotations": {"sim.tinykube.io/fail-times": "2"}}})
    assert [b.run_length(i) for i in range(3)] == [1.0, 1.0, None]
    assert [b.exit_code_of(i) for i in range(3)] == [1, 1, 0]


def node_with(ready: str | None, unschedulable: bool = False, taints=None, pressure: str = "") -> dict:
    conditions = [{"type": "Ready", "status": ready}] if ready else []
    if pressure:
        conditions.append({"type": pressure, "status": "True"})
    spec = {"unschedulable": True} if unschedulable else {}
    if taints:
        spec["taints"] = taints
    return {"metadata": {"name": "n"}, "spec": spec, "status": {"conditions": conditions}}


@pytest.mark.parametrize("node, wanted", [
    (node_with("True"), []),
    (node_with("False"), [("node.kubernetes.io/not-ready", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute")]),
    (node_with("Unknown"), [("node.kubernetes.io/unreachable", "NoSchedule"),
                            ("node.kubernetes.io/unreachable", "NoExecute")]),
    (node_with("True", unschedulable=True), [("node.kubernetes.io/unschedulable", "NoSchedule")]),
    (node_with("True", pressure="DiskPressure"), [("node.kubernetes.io/disk-pressure", "NoSchedule")]),
])
def test_desired_taints(node, wanted):
    assert desired_taints(node) == wanted


def test_reconcile_taints_keeps_foreign_taints_and_stamps_no_execute():
    user = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    node = node_with("Unknown", taints=[user, {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}])
    assert reconcile_taints(node, NOW) == [
        user,
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": NOW},
    ]
    settled = node_with("Unknown", taints=reconcile_taints(node, NOW))
    assert reconcile_taints(settled, LATER) is None
    assert reconcile_taints(node_with("True", taints=[user]), NOW) is None
    assert reconcile_taints(node_with("True", taints=settled["spec"]["taints"]), NOW) == [user]


def test_unknown_conditions_for_silent_and_never_reporting_nodes():
    silent = {"status": {"conditions": nodes.conditions_healthy(NOW)}}
    marked = unknown_conditions(silent, LATER)
    ready = next(c for c in marked if c["type"] == "Ready")
    assert ready == {"type": "Ready", "status": "Unknown", "lastHeartbeatTime": NOW, "lastTransitionTime": LATER,
                     "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."}
    never = unknown_conditions({"status": {}}, LATER)
    assert {c["type"] for c in never} == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    assert all(c["message"] == "Kubelet never posted node status." for c in never)
