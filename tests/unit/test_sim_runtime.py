"""The simulated runtime's life of a pod and the pod status built from it, as tables."""

from __future__ import annotations

import random

import pytest

from tinykube.kubelet.behaviour import behaviour_of
from tinykube.kubelet.podstatus import (
    ContainerState, TerminatedInfo, build_pod_status, containers_will_restart, crash_loop_backoff,
)
from tinykube.kubelet.sim import CREATING, RUNNING, SimPod, advance, container_states, stamp
from tinykube.kubelet.stages import Stage

T0 = 1_800_000_000.0
STAGES = (Stage("create", 0.0), Stage("start", 1.0), Stage("ready", 0.0), Stage("terminate", 0.0))


def make_pod(restart_policy: str = "Always", annotations: dict | None = None, readiness_delay: int | None = None,
             containers: int = 1) -> dict:
    ctrs = [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]
    if readiness_delay is not None:
        ctrs[0]["readinessProbe"] = {"initialDelaySeconds": readiness_delay, "periodSeconds": 10}
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1",
                         "annotations": {"sim.tinykube.io/" + k: v for k, v in (annotations or {}).items()}},
            "spec": {"restartPolicy": restart_policy, "containers": ctrs},
            "status": {"phase": "Pending", "qosClass": "BestEffort",
                       "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                       "lastTransitionTime": stamp(T0)}]}}


def run_until(pod: dict, until: float) -> tuple[SimPod, list[ContainerState], float | None]:
    """Advance a fresh record in one-second steps (as the agent would wake) up to `until`."""
    record = SimPod.for_pod(pod, T0)
    behaviour = behaviour_of(pod)
    rng = random.Random(0)
    now, wake = T0, None
    while now <= until:
        wake = advance(record, pod, behaviour, STAGES, now, rng)
        now += 0.5
    return record, container_states(record, pod, behaviour, until), wake


def status_at(pod: dict, until: float) -> dict:
    record, states, _ = run_until(pod, until)
    return build_pod_status(pod, init_containers=[], containers=states, host_ip="172.18.0.3",
                            pod_ip="10.244.1.2" if record.step in (CREATING, RUNNING) else None,
                            start_time=stamp(T0), now=stamp(until))


def summary(status: dict) -> tuple:
    ctr = status["containerStatuses"][0]
    conds = {c["type"]: c["status"] for c in status["conditions"]}
    return (status["phase"], next(iter(ctr["state"])), ctr["state"][next(iter(ctr["state"]))].get("reason"),
            ctr["ready"], ctr["restartCount"], conds["Ready"])


@pytest.mark.parametrize("case, pod, at, expect", [
    ("creating", make_pod(), T0 + 0.5, ("Pending", "waiting", "ContainerCreating", False, 0, "False")),
    ("running", make_pod(), T0 + 1.5, ("Running", "running", None, True, 0, "True")),
    ("probe delays ready", make_pod(readiness_delay=5), T0 + 3, ("Running", "running", None, False, 0, "False")),
    ("probe passed", make_pod(readiness_delay=5), T0 + 6.5, ("Running", "running", None, True, 0, "True")),
    ("completes", make_pod("Never", {"exit-after": "2s"}), T0 + 4,
     ("Succeeded", "terminated", "Completed", False, 0, "False")),
    ("fails", make_pod("Never", {"exit-after": "2s", "exit-code": "3"}), T0 + 4,
     ("Failed", "terminated", "Error", False, 0, "False")),
    ("first restart is immediate", make_pod("Always", {"exit-after": "2s", "exit-code": "1"}), T0 + 3.5,
     ("Running", "running", None, True, 1, "True")),
    ("then back-off", make_pod("Always", {"exit-after": "2s", "exit-code": "1"}), T0 + 6,
     ("Running", "waiting", "CrashLoopBackOff", False, 1, "False")),
    ("restart after 10 s", make_pod("Always", {"exit-after": "2s", "exit-code": "1"}), T0 + 16,
     ("Running", "running", None, True, 2, "True")),
    ("OnFailure success ends", make_pod("OnFailure", {"exit-after": "1s"}), T0 + 3,
     ("Succeeded", "terminated", "Completed", False, 0, "False")),
    ("fail-times then run", make_pod("Always", {"fail-times": "1"}), T0 + 3,
     ("Running", "running", None, True, 1, "True")),
])
def test_life_of_a_simulated_pod(case, pod, at, expect):
    assert summary(status_at(pod, at)) == expect


def test_crashloop_keeps_last_state_and_wakes_at_restart():
    pod = make_pod("Always", {"exit-after": "2s", "exit-code": "1"})
    record, states, wake = run_until(pod, T0 + 6)
    assert states[0].last_terminated is not None and states[0].last_terminated.exit_code == 1
    assert wake == pytest.approx(T0 + 5 + 10)  # second exit at T0+5, then 10 s back-off


def test_ready_flap_toggles_each_period():
    pod = make_pod("Always", {"ready-flap": "10s"})
    ready = [summary(status_at(pod, T0 + t))[3] for t in (2, 12, 22)]
    assert ready == [True, False, True]


def test_jobs_pods_exit_zero_by_default():
    pod = make_pod("Never")
    pod["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "j", "uid": "x", "controller": True}]
    assert summary(status_at(pod, T0 + 3))[0] == "Succeeded"


def test_record_rebuilt_from_reported_status_keeps_running():
    pod = make_pod()
    first = status_at(pod, T0 + 2)
    restarted = dict(pod, status=first)
    record = SimPod.for_pod(restarted, T0 + 100)
    assert record.step == RUNNING and record.ip == "10.244.1.2"
    states = container_states(record, restarted, behaviour_of(restarted), T0 + 100)
    assert states[0].kind == "running" and states[0].ready


def test_status_keeps_transition_times_and_foreign_fields():
    pod = make_pod()
    first = status_at(pod, T0 + 1.5)
    again = build_pod_status(dict(pod, status=dict(first, nominatedNodeName="n")), init_containers=[],
                             containers=run_until(pod, T0 + 30)[1], host_ip="172.18.0.3", pod_ip="10.244.1.2",
                             start_time=stamp(T0), now=stamp(T0 + 30))
    ready_then = next(c for c in first["conditions"] if c["type"] == "Ready")
    ready_now = next(c for c in again["conditions"] if c["type"] == "Ready")
    assert ready_now["lastTransitionTime"] == ready_then["lastTransitionTime"]
    assert again["nominatedNodeName"] == "n" and again["qosClass"] == "BestEffort"
    assert [c["type"] for c in again["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]


def test_unready_message_lists_containers():
    pod = make_pod(containers=2)
    states = [ContainerState("c0", "running", started_at=stamp(T0), ready=True, started=True),
              ContainerState("c1", "waiting", reason="ContainerCreating")]
    status = build_pod_status(pod, init_containers=[], containers=states, host_ip="h", pod_ip=None,
                              start_time=None, now=stamp(T0))
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ContainersNotReady" and ready["message"] == "containers with unready status: [c1]"
    assert status["phase"] == "Pending" and "podIP" not in status


@pytest.mark.parametrize("policy, states, phase", [
    ("Always", [("running", 0)], "Running"),
    ("Never", [("terminated", 0), ("terminated", 0)], "Succeeded"),
    ("Never", [("terminated", 0), ("terminated", 1)], "Failed"),
    ("Never", [("terminated", 0), ("running", 0)], "Running"),
    ("OnFailure", [("terminated", 1)], "Running"),
    ("Always", [("terminated", 0)], "Running"),
    ("Always", [("waiting", 0)], "Pending"),
])
def test_pod_phase(policy, states, phase):
    containers = [ContainerState(f"c{i}", kind, exit_code=code, reason="Completed" if code == 0 else "Error",
                                 started_at=stamp(T0), finished_at=stamp(T0)) for i, (kind, code) in enumerate(states)]
    assert phase_of(policy, [], containers) == phase


def phase_of(policy: str, init: list[ContainerState], containers: list[ContainerState]) -> str:
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u"},
           "spec": {"restartPolicy": policy, "containers": [{"name": c.name, "image": "x"} for c in containers],
                    "initContainers": [{"name": c.name, "image": "x"} for c in init]}}
    return build_pod_status(pod, init_containers=init, containers=containers, host_ip="h", pod_ip=None,
                            start_time=None, now=stamp(T0))["phase"]


def test_pending_init_container_keeps_pod_pending():
    init = [ContainerState("init", "running", started_at=stamp(T0))]
    assert phase_of("Always", init, [ContainerState("c", "waiting", reason="PodInitializing")]) == "Pending"
    failed = [ContainerState("init", "terminated", exit_code=1, reason="Error", started_at=stamp(T0),
                             finished_at=stamp(T0))]
    assert phase_of("Never", failed, [ContainerState("c", "waiting", reason="PodInitializing")]) == "Failed"


@pytest.mark.parametrize("n, seconds", [(0, 10), (1, 20), (2, 40), (4, 160), (5, 300), (9, 300)])
def test_crash_loop_backoff(n, seconds):
    assert crash_loop_backoff(n) == seconds


@pytest.mark.parametrize("policy, code, restarts", [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True), ("Never", 1, False),
])
def test_containers_will_restart(policy, code, restarts):
    assert containers_will_restart(policy, code) is restarts


def test_terminated_info_shape():
    info = TerminatedInfo(137, "Error", stamp(T0), stamp(T0 + 1), "tinykube://x")
    assert info.to_api() == {"exitCode": 137, "reason": "Error", "startedAt": stamp(T0), "finishedAt": stamp(T0 + 1),
                             "containerID": "tinykube://x"}
