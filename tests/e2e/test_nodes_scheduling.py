"""Issue 3 as a user meets it: nodes, the scheduler, simulated pods, node lifecycle, cordon/drain.

One server with the local node and three simulated nodes, cluster time 10x faster than wall
time so node grace periods (50 s) and tolerations pass in seconds.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from helpers import Cluster, create_namespace, new_cluster, running_cluster, wait_until, apply_manifest as apply

TIME_SCALE = 10


SLOW_STAGES = "stages:\n- {step: start, selector: app=slow, delay: 1h}\n"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("sim")
    (tmp / "stages.yaml").write_text(SLOW_STAGES)
    with running_cluster(tmp, "--sim-nodes", "3", "--time-scale", str(TIME_SCALE),
                         "--sim-stages", str(tmp / "stages.yaml")) as c:
        yield c


@pytest.fixture
def sns(sim: Cluster) -> str:
    return create_namespace(sim)


def get_json(c: Cluster, *args: str) -> dict:
    return json.loads(c.kubectl("get", *args, "-o", "json").stdout)


def pod(c: Cluster, ns: str, name: str) -> dict:
    return get_json(c, "pod", name, "-n", ns)


def wait_running(c: Cluster, ns: str, name: str, timeout: float = 20) -> dict:
    def ready():
        p = pod(c, ns, name)
        conds = {x["type"]: x["status"] for x in p.get("status", {}).get("conditions", [])}
        return p if p["status"].get("phase") == "Running" and conds.get("Ready") == "True" else None
    return wait_until(ready, timeout, 0.2)


def wait_condition_message(c: Cluster, ns: str, name: str, timeout: float = 15) -> str:
    def message():
        for cond in pod(c, ns, name).get("status", {}).get("conditions", []):
            if cond["type"] == "PodScheduled" and cond["status"] == "False":
                return cond["message"]
        return None
    return wait_until(message, timeout, 0.2)



def test_nodes_are_listed_ready(sim: Cluster):
    def all_ready():
        out = sim.kubectl("get", "nodes").stdout.splitlines()
        return out if len(out) == 5 and all(" Ready " in line for line in out[1:]) else None
    lines = wait_until(all_ready, 20, 0.2)
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    names = {line.split()[0] for line in lines[1:]}
    assert {"sim-1", "sim-2", "sim-3"} <= names
    wide = sim.kubectl("get", "node", "sim-1", "-o", "wide").stdout
    assert "INTERNAL-IP" in wide and "172.18.0." in wide
    node = get_json(sim, "node", "sim-1")
    assert node["spec"]["podCIDR"].startswith("10.24")
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "sim-1"
    assert node["status"]["allocatable"]["pods"] == "110"
    lease = get_json(sim, "lease", "sim-1", "-n", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "sim-1"
    assert sim.kubectl("get", "lease", "-n", "kube-system").stdout.count("kube-scheduler") == 1


def test_kubectl_run_pod_becomes_running_with_ip_and_node(sim: Cluster, sns: str):
    sim.kubectl("run", "nginx", "--image=nginx", "-n", sns)
    p = wait_running(sim, sns, "nginx")
    status = p["status"]
    assert status["podIP"].startswith("10.24") and status["hostIP"]
    assert status["qosClass"] == "BestEffort"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    ctr = status["containerStatuses"][0]
    assert ctr["ready"] and ctr["started"] and "running" in ctr["state"] and ctr["restartCount"] == 0
    wide = sim.kubectl("get", "pods", "-o", "wide", "-n", sns).stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    cells = wide[1].split()
    assert cells[:3] == ["nginx", "1/1", "Running"] and cells[5] == status["podIP"] and cells[6] == p["spec"]["nodeName"]
    describe = sim.kubectl("describe", "pod", "nginx", "-n", sns).stdout
    assert "Successfully assigned " + sns + "/nginx to " + p["spec"]["nodeName"] in describe
    assert "Started container nginx" in wait_until(
        lambda: (d := sim.kubectl("describe", "pod", "nginx", "-n", sns).stdout) and "Started" in d and d, 10, 0.2)


def test_graceful_delete_waits_for_the_node_agent(sim: Cluster, sns: str):
    sim.kubectl("run", "bye", "--image=nginx", "-n", sns)
    wait_running(sim, sns, "bye")
    out = sim.kubectl("delete", "pod", "bye", "-n", sns).stdout
    assert 'pod "bye" deleted' in out
    assert sim.kubectl("get", "pod", "bye", "-n", sns, check=False).returncode != 0


def test_node_selector_and_affinity_place_pods(sim: Cluster, sns: str):
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: pinned}
        spec:
          nodeSelector: {kubernetes.io/hostname: sim-2}
          containers: [{name: c, image: nginx}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: affine}
        spec:
          affinity:
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms:
                - matchExpressions:
                  - {key: sim.tinykube.io/node, operator: Exists}
                  - {key: kubernetes.io/hostname, operator: NotIn, values: [sim-1, sim-2]}
          containers: [{name: c, image: nginx}]
        """)
    assert wait_running(sim, sns, "pinned")["spec"]["nodeName"] == "sim-2"
    assert wait_running(sim, sns, "affine")["spec"]["nodeName"] == "sim-3"


def test_unschedulable_pod_reports_upstream_message_then_schedules_when_a_node_matches(sim: Cluster, sns: str):
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: wants-ssd}
        spec:
          nodeSelector: {disk: ssd}
          containers: [{name: c, image: nginx}]
        """)
    message = wait_condition_message(sim, sns, "wants-ssd")
    assert message.startswith("0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector.")
    assert "preemption: 0/4 nodes are available" in message
    get = sim.kubectl("get", "pod", "wants-ssd", "-n", sns).stdout
    assert "Pending" in get
    events = wait_until(lambda: "FailedScheduling" in (d := sim.kubectl("describe", "pod", "wants-ssd", "-n", sns).stdout) and d)
    assert "default-scheduler" in events and "didn't match Pod's node affinity/selector" in events
    sim.kubectl("label", "node", "sim-3", "disk=ssd")
    try:
        assert wait_running(sim, sns, "wants-ssd", 30)["spec"]["nodeName"] == "sim-3"
    finally:
        sim.kubectl("label", "node", "sim-3", "disk-")


def test_taints_and_tolerations(sim: Cluster, sns: str):
    sim.kubectl("taint", "nodes", "sim-1", "dedicated=db:NoSchedule")
    try:
        apply(sim, sns, """\
            apiVersion: v1
            kind: Pod
            metadata: {name: intolerant}
            spec:
              nodeSelector: {kubernetes.io/hostname: sim-1}
              containers: [{name: c, image: nginx}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: tolerant}
            spec:
              nodeSelector: {kubernetes.io/hostname: sim-1}
              tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}]
              containers: [{name: c, image: nginx}]
            """)
        assert wait_running(sim, sns, "tolerant")["spec"]["nodeName"] == "sim-1"
        message = wait_condition_message(sim, sns, "intolerant")
        assert message.startswith("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, "
                                  "3 node(s) didn't match Pod's node affinity/selector."), message
    finally:
        sim.kubectl("taint", "nodes", "sim-1", "dedicated=db:NoSchedule-")


def test_resource_requests_must_fit(sim: Cluster, sns: str):
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: huge}
        spec:
          containers:
          - name: c
            image: nginx
            resources: {requests: {cpu: "500", memory: 1Gi}}
        """)
    message = wait_condition_message(sim, sns, "huge")
    assert message.startswith("0/4 nodes are available: 4 Insufficient cpu."), message
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: fits}
        spec:
          nodeSelector: {sim.tinykube.io/node: "true"}
          containers:
          - name: c
            image: nginx
            resources: {requests: {cpu: "7", memory: 1Gi}}
        """)
    node = wait_running(sim, sns, "fits")["spec"]["nodeName"]
    describe = sim.kubectl("describe", "node", node).stdout
    assert "7 (87%)" in describe  # the node's allocated cpu, as kubectl describe sums it


def test_container_exits_crashloop_and_completion(sim: Cluster, sns: str):
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata:
          name: crasher
          annotations: {sim.tinykube.io/exit-after: 2s, sim.tinykube.io/exit-code: "1"}
        spec:
          containers: [{name: c, image: busybox}]
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: oneshot
          annotations: {sim.tinykube.io/exit-after: 1s}
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox}]
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: failing
          annotations: {sim.tinykube.io/exit-after: 1s, sim.tinykube.io/exit-code: "3"}
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox}]
        """)

    def row(name: str) -> list[str]:
        return sim.kubectl("get", "pod", name, "-n", sns, "--no-headers").stdout.split()

    wait_until(lambda: row("oneshot")[2] == "Completed", 20, 0.2)
    wait_until(lambda: row("failing")[2] == "Error", 20, 0.2)
    assert pod(sim, sns, "failing")["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    crashing = wait_until(lambda: (r := row("crasher"))[2] == "CrashLoopBackOff" and r, 30, 0.2)
    assert int(crashing[3]) >= 1
    last = pod(sim, sns, "crasher")["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 1 and last["reason"] == "Error"


def test_cordon_uncordon_and_drain(sim: Cluster, sns: str):
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: on-two}
        spec:
          nodeSelector: {kubernetes.io/hostname: sim-2}
          containers: [{name: c, image: nginx}]
        """)
    wait_running(sim, sns, "on-two")
    sim.kubectl("cordon", "sim-2")
    try:
        assert "Ready,SchedulingDisabled" in sim.kubectl("get", "node", "sim-2").stdout
        taints = wait_until(lambda: get_json(sim, "node", "sim-2")["spec"].get("taints"), 15, 0.2)
        assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"} in [
            {k: t[k] for k in ("key", "effect")} for t in taints]
        out = sim.kubectl("drain", "sim-2", "--force", "--ignore-daemonsets", "--timeout=60s", timeout=90)
        assert "evicting pod " + sns + "/on-two" in out.stderr + out.stdout
        assert "node/sim-2 drained" in out.stdout
        assert sim.kubectl("get", "pod", "on-two", "-n", sns, check=False).returncode != 0
        apply(sim, sns, """\
            apiVersion: v1
            kind: Pod
            metadata: {name: blocked}
            spec:
              nodeSelector: {kubernetes.io/hostname: sim-2}
              containers: [{name: c, image: nginx}]
            """)
        message = wait_condition_message(sim, sns, "blocked")
        assert "1 node(s) were unschedulable" in message, message
    finally:
        sim.kubectl("uncordon", "sim-2")
    assert wait_running(sim, sns, "blocked", 30)["spec"]["nodeName"] == "sim-2"


def test_silent_node_goes_not_ready_its_pods_are_evicted_and_it_recovers(sim: Cluster, sns: str):
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: short-tolerance}
        spec:
          nodeSelector: {kubernetes.io/hostname: sim-3}
          tolerations:
          - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 20}
          containers: [{name: c, image: nginx}]
        """)
    wait_running(sim, sns, "short-tolerance")
    sim.kubectl("annotate", "node", "sim-3", "sim.tinykube.io/kubelet=stopped")
    try:
        # 50 s grace at 10x: NotReady within ~5-10 s of wall time
        wait_until(lambda: " NotReady " in sim.kubectl("get", "node", "sim-3").stdout, 30, 0.3)
        node = get_json(sim, "node", "sim-3")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown" and ready["message"] == "Kubelet stopped posting node status."
        keys = {(t["key"], t["effect"]) for t in node["spec"]["taints"]}
        assert {("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/unreachable", "NoSchedule")} <= keys
        # tolerationSeconds 20 at 10x: marked for deletion within seconds; the dead agent cannot confirm it
        p = wait_until(lambda: (x := pod(sim, sns, "short-tolerance"))["metadata"].get("deletionTimestamp") and x, 20, 0.3)
        assert any(c["type"] == "DisruptionTarget" and c["reason"] == "DeletionByTaintManager"
                   for c in p["status"]["conditions"])
        assert "Terminating" in sim.kubectl("get", "pod", "short-tolerance", "-n", sns).stdout
    finally:
        sim.kubectl("annotate", "node", "sim-3", "sim.tinykube.io/kubelet-")
    wait_until(lambda: " Ready " in sim.kubectl("get", "node", "sim-3").stdout, 30, 0.3)
    wait_until(lambda: not get_json(sim, "node", "sim-3")["spec"].get("taints"), 30, 0.3)
    # the agent is back: it finishes the pending graceful deletion
    wait_until(lambda: sim.kubectl("get", "pod", "short-tolerance", "-n", sns, check=False).returncode != 0, 20, 0.3)


def test_simulated_nodes_added_and_removed_with_kubectl(sim: Cluster, sns: str):
    sim.kubectl("apply", "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: Node
        metadata:
          name: extra-1
          labels: {sim.tinykube.io/node: "true", zone: z9}
        """))
    node = wait_until(lambda: (n := get_json(sim, "node", "extra-1")).get("spec", {}).get("podCIDR") and
                      any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
                      and n, 20, 0.2)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "extra-1"
    apply(sim, sns, """\
        apiVersion: v1
        kind: Pod
        metadata: {name: in-z9}
        spec:
          nodeSelector: {zone: z9}
          containers: [{name: c, image: nginx}]
        """)
    p = wait_running(sim, sns, "in-z9")
    assert p["spec"]["nodeName"] == "extra-1"
    assert p["status"]["podIP"].startswith(node["spec"]["podCIDR"].rsplit(".", 2)[0])
    sim.kubectl("delete", "node", "extra-1")
    # PodGC removes pods of a deleted node after its 40 s quarantine (4 s at 10x)
    wait_until(lambda: sim.kubectl("get", "pod", "in-z9", "-n", sns, check=False).returncode != 0, 30, 0.3)


def test_stages_file_holds_a_pod_in_container_creating(sim: Cluster, sns: str):
    sim.kubectl("run", "slow", "--image=nginx", "-l", "app=slow", "-n", sns)
    row = wait_until(lambda: (r := sim.kubectl("get", "pod", "slow", "-n", sns, "--no-headers").stdout.split())
                     and r[2] == "ContainerCreating" and r, 15, 0.2)
    assert row[1] == "0/1"
    waiting = pod(sim, sns, "slow")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating"


def test_bad_stages_file_is_refused_at_start(tmp_path):
    bad = tmp_path / "stages.yaml"
    bad.write_text("stages:\n- {step: boot}\n")
    c = new_cluster(tmp_path)
    with pytest.raises(RuntimeError) as exc:
        c.start(("--sim-stages", str(bad)))
    assert "stages[0].step: must be one of create, start, ready, terminate" in str(exc.value)
