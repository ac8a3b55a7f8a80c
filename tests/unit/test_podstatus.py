"""Pod status generation: phase, conditions and container statuses as a 1.33 kubelet reports them."""

from __future__ import annotations

import copy

import pytest

from tinykube.kubelet.podstatus import (
    BACKOFF_MAX, ContainerState, TerminatedInfo, backoff_expired, build_pod_status, container_will_restart,
    containers_will_restart, crash_loop_backoff, crash_loop_event_message, crash_loop_message, exit_reason,
    go_duration, pod_is_terminal, pod_phase,
)

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:00:05Z"
T2 = "2026-01-01T00:00:09Z"
NOW = "2026-01-01T00:01:00Z"
HOST = "172.18.0.2"
IP = "10.244.0.7"
CID = "tinykube://" + "ab" * 32
CID2 = "tinykube://" + "cd" * 32


def make_pod(containers=("app",), init=(), policy=None, gates=(), status=None, sidecars=()):
    spec = {"containers": [{"name": n, "image": f"registry.example/{n}:1"} for n in containers]}
    if init or sidecars:
        spec["initContainers"] = [{"name": n, "image": f"registry.example/{n}:1"} for n in init]
        spec["initContainers"] += [{"name": n, "image": f"registry.example/{n}:1", "restartPolicy": "Always"}
                                   for n in sidecars]
    if policy:
        spec["restartPolicy"] = policy
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    base_status = {"phase": "Pending", "qosClass": "BestEffort",
                   "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                   "lastTransitionTime": T0}]}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-1"},
            "spec": spec, "status": base_status if status is None else status}


def creating(name):
    return ContainerState(name, kind="waiting", reason="ContainerCreating")


def running(name, ready=True, restarts=0, last=None, started=None):
    return ContainerState(name, kind="running", started_at=T1, ready=ready, started=started, restart_count=restarts,
                          last_terminated=last, container_id=CID, image=f"registry.example/{name}:1",
                          image_id=f"registry.example/{name}@sha256:00")


def exited(name, code, restarts=0, reason=""):
    return ContainerState(name, kind="terminated", exit_code=code, reason=reason, started_at=T1, finished_at=T2,
                          restart_count=restarts, container_id=CID, image=f"registry.example/{name}:1",
                          image_id=f"registry.example/{name}@sha256:00")


def crash_looping(name, restarts, code=1):
    return ContainerState(name, kind="waiting", reason="CrashLoopBackOff", restart_count=restarts,
                          last_terminated=TerminatedInfo(code, exit_reason(code), T1, T2, CID2), container_id=CID2,
                          image=f"registry.example/{name}:1", image_id=f"registry.example/{name}@sha256:00")


def build(pod, containers, init=(), **kw):
    kw.setdefault("pod_ip", IP)
    kw.setdefault("start_time", T0)
    return build_pod_status(pod, init_containers=list(init), containers=list(containers), host_ip=HOST, now=NOW,
                            **kw)


def cond(status, kind):
    found = [c for c in status["conditions"] if c["type"] == kind]
    assert len(found) == 1, status["conditions"]
    return {k: v for k, v in found[0].items() if k in ("status", "reason", "message")}


def condition_types(status):
    return [c["type"] for c in status["conditions"]]


KUBELET_ORDER = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
READY = {"status": "True"}


# --- single-container lifecycles -------------------------------------------------------------

@pytest.mark.parametrize("case, pod_kw, states, sandbox, phase, ready, containers_ready, initialized, sandbox_cond", [
    ("creating, no sandbox yet", {}, [creating("app")], False, "Pending",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     READY, {"status": "False"}),
    ("creating in a ready sandbox", {}, [creating("app")], True, "Pending",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     READY, READY),
    ("running, readiness probe not passed", {}, [running("app", ready=False)], True, "Running",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     READY, READY),
    ("running and ready", {}, [running("app")], True, "Running", READY, READY, READY, READY),
    ("two containers, both unready", {"containers": ("a", "b")}, [running("a", ready=False), creating("b")], True,
     "Pending",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [a b]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [a b]"},
     READY, READY),
    ("two containers, second unready", {"containers": ("a", "b")}, [running("a"), running("b", ready=False)], True,
     "Running",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [b]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [b]"},
     READY, READY),
    ("Never, exited 0", {"policy": "Never"}, [exited("app", 0)], True, "Succeeded",
     {"status": "False", "reason": "PodCompleted"}, {"status": "False", "reason": "PodCompleted"},
     {"status": "True", "reason": "PodCompleted"}, {"status": "False"}),
    ("Never, exited 1", {"policy": "Never"}, [exited("app", 1)], True, "Failed",
     {"status": "False", "reason": "PodFailed"}, {"status": "False", "reason": "PodFailed"},
     READY, {"status": "False"}),
    ("OnFailure, exited 0", {"policy": "OnFailure"}, [exited("app", 0)], True, "Succeeded",
     {"status": "False", "reason": "PodCompleted"}, {"status": "False", "reason": "PodCompleted"},
     {"status": "True", "reason": "PodCompleted"}, {"status": "False"}),
    ("OnFailure, exited 1: restarts", {"policy": "OnFailure"}, [exited("app", 1)], True, "Running",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     READY, READY),
    ("Always, exited 0: restarts", {}, [exited("app", 0)], True, "Running",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     READY, READY),
    ("Always, crash looping", {}, [crash_looping("app", 3)], True, "Running",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [app]"},
     READY, READY),
    ("Never, one of two failed", {"policy": "Never", "containers": ("a", "b")}, [exited("a", 0), exited("b", 2)],
     True, "Failed", {"status": "False", "reason": "PodFailed"}, {"status": "False", "reason": "PodFailed"},
     READY, {"status": "False"}),
    ("Never, one done one running", {"policy": "Never", "containers": ("a", "b")}, [exited("a", 0), running("b")],
     True, "Running",
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [a]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [a]"},
     READY, READY),
])
def test_single_pod_lifecycle(case, pod_kw, states, sandbox, phase, ready, containers_ready, initialized,
                              sandbox_cond):
    status = build(make_pod(**pod_kw), states, sandbox_ready=sandbox)
    assert status["phase"] == phase
    assert cond(status, "Ready") == ready
    assert cond(status, "ContainersReady") == containers_ready
    assert cond(status, "Initialized") == initialized
    assert cond(status, "PodReadyToStartContainers") == sandbox_cond
    assert condition_types(status) == KUBELET_ORDER
    assert all(c["lastProbeTime"] is None for c in status["conditions"])


def test_first_status_of_a_running_pod_in_full():
    status = build(make_pod(), [running("app")])
    assert status == {
        "phase": "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW},
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW},
            {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW},
            {"type": "ContainersReady", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": T0},
        ],
        "hostIP": HOST, "hostIPs": [{"ip": HOST}], "podIP": IP, "podIPs": [{"ip": IP}], "startTime": T0,
        "containerStatuses": [{
            "name": "app", "state": {"running": {"startedAt": T1}}, "lastState": {}, "ready": True,
            "restartCount": 0, "image": "registry.example/app:1", "imageID": "registry.example/app@sha256:00",
            "containerID": CID, "started": True, "resources": {},
        }],
        "qosClass": "BestEffort",
    }


def test_container_never_started_has_no_container_id_and_spec_image():
    status = build(make_pod(), [creating("app")], pod_ip=None)
    assert status["containerStatuses"] == [{
        "name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}, "ready": False,
        "restartCount": 0, "image": "registry.example/app:1", "imageID": "", "started": False,
    }]
    assert "podIP" not in status and "podIPs" not in status


def test_terminated_container_shape():
    status = build(make_pod(policy="Never"), [exited("app", 1)])
    assert status["containerStatuses"][0]["state"] == {"terminated": {
        "exitCode": 1, "reason": "Error", "startedAt": T1, "finishedAt": T2, "containerID": CID}}
    assert status["containerStatuses"][0]["ready"] is False
    assert status["containerStatuses"][0]["started"] is False


@pytest.mark.parametrize("code, reason, expected", [
    (0, "", "Completed"), (1, "", "Error"), (137, "OOMKilled", "OOMKilled"),
])
def test_terminated_reason_defaults_from_exit_code(code, reason, expected):
    status = build(make_pod(policy="Never"), [exited("app", code, reason=reason)])
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == expected


# --- restarts and CrashLoopBackOff -----------------------------------------------------------

@pytest.mark.parametrize("restarts, shown", [(1, "10s"), (2, "20s"), (3, "40s"), (4, "1m20s"), (5, "2m40s"),
                                             (6, "5m0s"), (12, "5m0s")])
def test_crash_loop_waiting_state_and_last_state(restarts, shown):
    status = build(make_pod(), [crash_looping("app", restarts)])
    cs = status["containerStatuses"][0]
    assert cs["state"] == {"waiting": {
        "reason": "CrashLoopBackOff",
        "message": f"back-off {shown} restarting failed container=app pod=web_default(uid-1)"}}
    assert cs["lastState"] == {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": T1, "finishedAt": T2,
                                              "containerID": CID2}}
    assert cs["restartCount"] == restarts
    assert (cs["ready"], cs["started"], cs["containerID"]) == (False, False, CID2)
    assert status["phase"] == "Running"


def test_crash_loop_message_given_by_the_runtime_is_kept():
    state = crash_looping("app", 2)
    state.message = "custom"
    assert build(make_pod(), [state])["containerStatuses"][0]["state"]["waiting"]["message"] == "custom"


def test_running_again_after_restart_keeps_last_state():
    last = TerminatedInfo(137, "OOMKilled", T0, T1, CID2)
    cs = build(make_pod(), [running("app", restarts=4, last=last)])["containerStatuses"][0]
    assert cs["lastState"] == {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": T0,
                                              "finishedAt": T1, "containerID": CID2}}
    assert (cs["restartCount"], cs["ready"], cs["started"]) == (4, True, True)


def test_startup_probe_not_passed_means_not_started_and_not_ready():
    status = build(make_pod(), [running("app", ready=True, started=False)])
    cs = status["containerStatuses"][0]
    assert (cs["started"], cs["ready"]) == (False, False)
    assert status["phase"] == "Running"
    assert cond(status, "Ready")["status"] == "False"


# --- init containers and sidecars ------------------------------------------------------------

def init_running(name):
    return ContainerState(name, kind="running", started_at=T1, container_id=CID, image=f"registry.example/{name}:1",
                          image_id="x@sha256:00")


def init_waiting(name):
    return ContainerState(name, kind="waiting", reason="PodInitializing")


def init_done(name):
    return exited(name, 0)


@pytest.mark.parametrize("case, policy, init_states, states, phase, initialized", [
    ("first init running", None, [init_running("init1"), init_waiting("init2")], [], "Pending",
     {"status": "False", "reason": "ContainersNotInitialized",
      "message": "containers with incomplete status: [init1 init2]"}),
    ("first done, second running", None, [init_done("init1"), init_running("init2")], [], "Pending",
     {"status": "False", "reason": "ContainersNotInitialized",
      "message": "containers with incomplete status: [init2]"}),
    ("all done, app creating", None, [init_done("init1"), init_done("init2")], [creating("app")], "Pending", READY),
    ("all done, app running", None, [init_done("init1"), init_done("init2")], [running("app")], "Running", READY),
    ("init failed, Never", "Never", [exited("init1", 1), init_waiting("init2")], [], "Failed",
     {"status": "False", "reason": "ContainersNotInitialized",
      "message": "containers with incomplete status: [init1 init2]"}),
    ("init crash looping, Always", None, [crash_looping("init1", 2), init_waiting("init2")], [], "Pending",
     {"status": "False", "reason": "ContainersNotInitialized",
      "message": "containers with incomplete status: [init1 init2]"}),
    ("init failed, OnFailure: retried", "OnFailure", [exited("init1", 1), init_waiting("init2")], [], "Pending",
     {"status": "False", "reason": "ContainersNotInitialized",
      "message": "containers with incomplete status: [init1 init2]"}),
])
def test_init_containers(case, policy, init_states, states, phase, initialized):
    pod = make_pod(init=("init1", "init2"), policy=policy)
    status = build(pod, states, init=init_states)
    assert status["phase"] == phase
    assert cond(status, "Initialized") == initialized
    assert [s["name"] for s in status["initContainerStatuses"]] == ["init1", "init2"]
    app = status["containerStatuses"][0]
    if not states:  # the runtime has not created it: the kubelet's default for pods with init containers
        assert app["state"] == {"waiting": {"reason": "PodInitializing"}}
        assert (app["ready"], app["started"], app["image"]) == (False, False, "registry.example/app:1")


def test_completed_init_container_is_ready_not_started():
    status = build(make_pod(init=("init1",)), [running("app")], init=[init_done("init1")])
    init = status["initContainerStatuses"][0]
    assert (init["ready"], init["started"]) == (True, False)
    assert init["state"]["terminated"]["reason"] == "Completed"


def test_running_init_container_is_started_not_ready():
    status = build(make_pod(init=("init1",)), [], init=[init_running("init1")])
    init = status["initContainerStatuses"][0]
    assert (init["ready"], init["started"]) == (False, True)


def test_succeeded_pod_with_init_containers():
    status = build(make_pod(init=("init1",), policy="Never"), [exited("app", 0)], init=[init_done("init1")])
    assert status["phase"] == "Succeeded"
    assert cond(status, "Initialized") == {"status": "True", "reason": "PodCompleted"}


@pytest.mark.parametrize("case, sidecar, app, phase, initialized, ready", [
    ("sidecar starting", ContainerState("proxy", kind="waiting", reason="ContainerCreating"), None, "Pending",
     {"status": "False", "reason": "ContainersNotInitialized", "message": "containers with incomplete status: [proxy]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [proxy app]"}),
    ("sidecar running, startup probe pending", running("proxy", started=False), None, "Pending",
     {"status": "False", "reason": "ContainersNotInitialized", "message": "containers with incomplete status: [proxy]"},
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [proxy app]"}),
    ("sidecar started, app running", running("proxy"), running("app"), "Running", READY, READY),
    ("sidecar unready, app running", running("proxy", ready=False), running("app"), "Running", READY,
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [proxy]"}),
    ("sidecar restarting after the app ran", crash_looping("proxy", 1), running("app"), "Running", READY,
     {"status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [proxy]"}),
])
def test_sidecars(case, sidecar, app, phase, initialized, ready):
    pod = make_pod(sidecars=("proxy",))
    status = build(pod, [app] if app else [], init=[sidecar])
    assert status["phase"] == phase
    assert cond(status, "Initialized") == initialized
    assert cond(status, "Ready") == ready


def test_job_with_sidecar_succeeds_when_app_exits():
    pod = make_pod(sidecars=("proxy",), policy="Never")
    stopped_sidecar = exited("proxy", 137)
    status = build(pod, [exited("app", 0)], init=[stopped_sidecar])
    assert status["phase"] == "Succeeded"


# --- readiness gates -------------------------------------------------------------------------

@pytest.mark.parametrize("gate_conditions, ready", [
    ([], {"status": "False", "reason": "ReadinessGatesNotReady",
          "message": 'corresponding condition of pod readiness gate "example.com/lb" does not exist.'}),
    ([{"type": "example.com/lb", "status": "False"}],
     {"status": "False", "reason": "ReadinessGatesNotReady",
      "message": 'the status of pod readiness gate "example.com/lb" is not "True", but False'}),
    ([{"type": "example.com/lb", "status": "True"}], READY),
])
def test_readiness_gates(gate_conditions, ready):
    pod = make_pod(gates=("example.com/lb",))
    pod["status"]["conditions"] = gate_conditions + pod["status"]["conditions"]
    status = build(pod, [running("app")])
    assert cond(status, "Ready") == ready
    assert cond(status, "ContainersReady") == READY
    # The gate's own condition is someone else's: kept, first, unchanged.
    assert status["conditions"][:len(gate_conditions)] == gate_conditions
    assert condition_types(status)[len(gate_conditions):] == KUBELET_ORDER


def test_two_gates_both_reported():
    pod = make_pod(gates=("a.io/x", "b.io/y"))
    pod["status"]["conditions"].append({"type": "b.io/y", "status": "Unknown"})
    assert cond(build(pod, [running("app")]), "Ready")["message"] == (
        'corresponding condition of pod readiness gate "a.io/x" does not exist., '
        'the status of pod readiness gate "b.io/y" is not "True", but Unknown')


def test_unready_containers_win_over_gates():
    pod = make_pod(gates=("example.com/lb",))
    assert cond(build(pod, [running("app", ready=False)]), "Ready")["reason"] == "ContainersNotReady"


# --- lastTransitionTime ----------------------------------------------------------------------

def test_transition_time_kept_while_status_unchanged_and_moved_on_change():
    first = build(make_pod(), [running("app", ready=False)])
    pod = make_pod(status=first)
    # Same statuses later: nothing moves (the agent writes only when the status changed).
    again = build_pod_status(pod, init_containers=[], containers=[running("app", ready=False)], host_ip=HOST,
                             pod_ip=IP, start_time=T0, now="2026-01-01T00:05:00Z")
    assert again == first
    # Readiness flips: Ready and ContainersReady move, the others keep their time.
    later = "2026-01-01T00:09:00Z"
    flipped = build_pod_status(pod, init_containers=[], containers=[running("app")], host_ip=HOST, pod_ip=IP,
                               start_time=T0, now=later)
    times = {c["type"]: c["lastTransitionTime"] for c in flipped["conditions"]}
    assert times == {"PodReadyToStartContainers": NOW, "Initialized": NOW, "Ready": later, "ContainersReady": later,
                     "PodScheduled": T0}


def test_transition_time_kept_when_only_reason_changes():
    pod = make_pod(gates=("example.com/lb",))
    pod["status"]["conditions"].append({"type": "Ready", "status": "False", "lastProbeTime": None,
                                        "lastTransitionTime": T0, "reason": "ContainersNotReady",
                                        "message": "containers with unready status: [app]"})
    ready = [c for c in build(pod, [running("app")])["conditions"] if c["type"] == "Ready"][0]
    assert ready["reason"] == "ReadinessGatesNotReady"
    assert ready["lastTransitionTime"] == T0


def test_output_is_a_fixed_point():
    pod = make_pod(init=("init1",), sidecars=("proxy",), gates=("g",))
    states = dict(init_containers=[init_done("init1"), running("proxy")], containers=[crash_looping("app", 2)])
    first = build_pod_status(pod, host_ip=HOST, pod_ip=IP, start_time=T0, now=NOW, **states)
    second = build_pod_status(make_pod(init=("init1",), sidecars=("proxy",), gates=("g",), status=first),
                              host_ip=HOST, pod_ip=IP, start_time=T1, now="2026-01-02T00:00:00Z", **states)
    assert second == first


# --- what the status keeps -------------------------------------------------------------------

def test_fields_of_other_writers_are_kept():
    status = {"phase": "Running", "qosClass": "Guaranteed", "nominatedNodeName": "n2",
              "resourceClaimStatuses": [{"name": "gpu"}], "startTime": T0,
              "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                              "lastProbeTime": None, "lastTransitionTime": T1},
                             {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                              "lastTransitionTime": T0}]}
    pod = make_pod(status=copy.deepcopy(status))
    out = build(pod, [running("app")], start_time=T2)
    assert out["qosClass"] == "Guaranteed"
    assert out["nominatedNodeName"] == "n2"
    assert out["resourceClaimStatuses"] == [{"name": "gpu"}]
    assert out["startTime"] == T0  # set once
    assert out["conditions"][0] == status["conditions"][0]
    assert condition_types(out) == ["DisruptionTarget"] + KUBELET_ORDER
    assert pod["status"] == status  # input not modified


def test_pod_scheduled_added_when_missing():
    pod = make_pod(status={})
    out = build(pod, [running("app")])
    assert out["conditions"][-1] == {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                     "lastTransitionTime": NOW}
    assert "qosClass" not in out


def test_ip_and_start_time_kept_when_not_given():
    pod = make_pod(policy="Never", status={"phase": "Running", "podIP": IP, "podIPs": [{"ip": IP}], "startTime": T0})
    out = build(pod, [exited("app", 0)], pod_ip=None, start_time=None, sandbox_ready=False)
    assert (out["podIP"], out["podIPs"], out["startTime"]) == (IP, [{"ip": IP}], T0)


def test_terminal_phase_is_sticky_and_keeps_its_reason():
    pod = make_pod(status={"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory.",
                           "conditions": []})
    out = build(pod, [creating("app")])
    assert (out["phase"], out["reason"]) == ("Failed", "Evicted")
    assert out["message"] == "The node was low on resource: memory."


def test_reason_dropped_when_phase_changes():
    pod = make_pod(status={"phase": "Pending", "reason": "SomethingPending", "conditions": []})
    out = build(pod, [running("app")])
    assert out["phase"] == "Running"
    assert "reason" not in out


@pytest.mark.parametrize("states, phase", [
    ([exited("app", 137)], "Failed"),
    ([exited("app", 0)], "Succeeded"),
    ([running("app")], "Running"),
])
def test_terminal_pod_ignores_restart_policy(states, phase):
    assert build(make_pod(), states, terminal=True)["phase"] == phase


def test_container_the_runtime_lost_after_running():
    old = build(make_pod(), [running("app")])
    out = build(make_pod(status=old), [])
    cs = out["containerStatuses"][0]
    assert cs["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert cs["lastState"] == {"terminated": {
        "exitCode": 137, "reason": "ContainerStatusUnknown",
        "message": "The container could not be located when the pod was deleted.  The container used to be Running",
        "startedAt": None, "finishedAt": None}}
    assert cs["restartCount"] == 1
    assert out["phase"] == "Running"  # stopped and restarting under Always, not Pending


def test_container_the_runtime_forgot_after_it_finished_keeps_its_status():
    old = build(make_pod(policy="Never", containers=("a", "b")), [exited("a", 0), running("b")])
    out = build(make_pod(policy="Never", containers=("a", "b"), status=old), [running("b")])
    assert out["containerStatuses"][0] == old["containerStatuses"][0]


def test_statuses_follow_spec_order():
    out = build(make_pod(containers=("a", "b", "c")), [running("c"), running("a"), running("b")])
    assert [s["name"] for s in out["containerStatuses"]] == ["a", "b", "c"]
    assert "initContainerStatuses" not in out


# --- pure helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize("n, seconds", [(0, 10), (1, 20), (2, 40), (3, 80), (4, 160), (5, 300), (6, 300), (50, 300),
                                        (-1, 10)])
def test_crash_loop_backoff(n, seconds):
    assert crash_loop_backoff(n) == seconds
    assert crash_loop_backoff(n) <= BACKOFF_MAX


@pytest.mark.parametrize("elapsed, expired", [(599, False), (600, False), (601, True)])
def test_backoff_reset_after_ten_minutes(elapsed, expired):
    assert backoff_expired(elapsed) is expired


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (10, "10s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"),
                                           (300, "5m0s"), (3600, "1h0m0s"), (3725, "1h2m5s"), (1.5, "1.5s"),
                                           (0.5, "500ms"), (0.0015, "1.5ms")])
def test_go_duration(seconds, text):
    assert go_duration(seconds) == text


def test_crash_loop_messages():
    pod = make_pod()
    assert crash_loop_message("app", pod, 10) == "back-off 10s restarting failed container=app pod=web_default(uid-1)"
    assert crash_loop_message("app", pod, 300) == (
        "back-off 5m0s restarting failed container=app pod=web_default(uid-1)")
    pod["status"]["containerStatuses"] = [{"name": "app", "restartCount": 3}]
    assert crash_loop_message("app", pod) == "back-off 40s restarting failed container=app pod=web_default(uid-1)"
    assert crash_loop_event_message("app", pod) == "Back-off restarting failed container app in pod web_default(uid-1)"


@pytest.mark.parametrize("policy, code, restarts", [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True),
    ("Never", 0, False), ("Never", 1, False),
])
def test_containers_will_restart(policy, code, restarts):
    assert containers_will_restart(policy, code) is restarts


@pytest.mark.parametrize("name, policy, code, restarts", [
    ("app", "Always", 0, True), ("init1", "Always", 0, False), ("init1", "Always", 1, True),
    ("init1", "Never", 1, False), ("proxy", "Never", 0, True), ("app", None, 0, True),
])
def test_container_will_restart_by_kind(name, policy, code, restarts):
    pod = make_pod(init=("init1",), sidecars=("proxy",), policy=policy)
    assert container_will_restart(pod, name, code) is restarts


@pytest.mark.parametrize("code, oom, reason", [(0, False, "Completed"), (1, False, "Error"), (137, True, "OOMKilled")])
def test_exit_reason(code, oom, reason):
    assert exit_reason(code, oom) == reason


@pytest.mark.parametrize("phase, terminal", [("Pending", False), ("Running", False), ("Succeeded", True),
                                             ("Failed", True), (None, False)])
def test_pod_is_terminal(phase, terminal):
    assert pod_is_terminal({"status": {"phase": phase}} if phase else {}) is terminal


def test_pod_phase_on_api_statuses():
    pod = make_pod(policy="OnFailure")
    waiting_after_failure = {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                             "lastState": {"terminated": {"exitCode": 1}}}
    assert pod_phase(pod, [], [waiting_after_failure]) == "Running"
    assert pod_phase(pod, [], []) == "Pending"  # status unknown


def test_killed_status_ends_running_containers():
    from tinykube.kubelet.podstatus import killed_status

    pod = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"},
                                                        {"type": "PodScheduled", "status": "True"}],
                      "containerStatuses": [
                          {"name": "a", "ready": True, "started": True, "containerID": "sim://1",
                           "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}},
                          {"name": "b", "ready": False, "state": {"terminated": {"exitCode": 0}}}]}}
    status = killed_status(pod, "2026-01-01T00:01:00Z")
    assert status["phase"] == "Failed"
    a, b = status["containerStatuses"]
    assert a["state"]["terminated"] == {"exitCode": 137, "reason": "Error", "startedAt": "2026-01-01T00:00:00Z",
                                        "finishedAt": "2026-01-01T00:01:00Z", "containerID": "sim://1"}
    assert a["ready"] is False and b["state"] == {"terminated": {"exitCode": 0}}
    ready = status["conditions"][0]
    assert ready["status"] == "False" and ready["reason"] == "PodFailed"
    assert status["conditions"][1]["status"] == "True"
    assert pod["status"]["phase"] == "Running", "the cached pod is not changed"
    done = killed_status({"status": {"phase": "Running", "containerStatuses": [
        {"name": "a", "state": {"terminated": {"exitCode": 0}}}]}}, "2026-01-01T00:01:00Z")
    assert done["phase"] == "Succeeded"
