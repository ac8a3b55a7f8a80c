"""DaemonSets as the seeds' sessions drive them: node selectors and labels, taints and
tolerations, nodes coming and going, rolling updates (every watch event checked), OnDelete,
`kubectl rollout status/history/undo ds`, `kubectl get/describe ds`, failed daemon pods.

The cluster has the local node and sim-1..sim-3. Tests change nodes (labels, taints, extra
nodes) only with keys and names of their own and undo the change before they end, so the next
test sees four plain nodes again.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from typing import Iterator

import pytest

from helpers import Cluster, WatchRecorder, create_namespace, is_ready, running_cluster, wait_until

SIM_NODES = ["sim-1", "sim-2", "sim-3"]


@pytest.fixture(scope="module")
def dsc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("ds"), "--sim-nodes", "3", "--time-scale", "10") as c:
        yield c


@pytest.fixture
def ns(dsc: Cluster) -> str:
    return create_namespace(dsc)


@pytest.fixture(scope="module")
def all_nodes(dsc: Cluster) -> list[str]:
    wait_until(lambda: len(node_names(dsc)) == 4, 30, 0.2)
    return node_names(dsc)


def node_names(c: Cluster) -> list[str]:
    return sorted(c.kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").stdout.split())


def ds_yaml(name: str, image: str = "nginx:1.17", strategy: str = "", node_selector: str = "",
            tolerations: str = "", annotations: str = "", min_ready: int = 0) -> str:
    """A one-container DaemonSet; `strategy`, `node_selector`, `tolerations` and `annotations`
    are flow-style YAML for updateStrategy, the pod's nodeSelector and tolerations, and the
    template's annotations."""
    return (f"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: {name}}}\nspec:\n"
            + f"  selector: {{matchLabels: {{name: {name}}}}}\n"
            + (f"  updateStrategy: {strategy}\n" if strategy else "")
            + (f"  minReadySeconds: {min_ready}\n" if min_ready else "")
            + f"  template:\n    metadata: {{labels: {{name: {name}}}"
            + (f", annotations: {annotations}" if annotations else "") + "}\n    spec:\n"
            + (f"      nodeSelector: {node_selector}\n" if node_selector else "")
            + (f"      tolerations: {tolerations}\n" if tolerations else "")
            + f"      containers: [{{name: c, image: \"{image}\"}}]\n")


def pods(c: Cluster, ns: str) -> list[dict]:
    return json.loads(c.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]


def live_by_node(c: Cluster, ns: str) -> dict[str, list[dict]]:
    """Pods not being deleted, by the node they are bound to."""
    out: dict[str, list[dict]] = {}
    for p in pods(c, ns):
        if not p["metadata"].get("deletionTimestamp") and p["spec"].get("nodeName"):
            out.setdefault(p["spec"]["nodeName"], []).append(p)
    return out


def ready_nodes(c: Cluster, ns: str) -> list[str]:
    """Nodes with a Ready daemon pod and nothing else of ours."""
    return sorted(n for n, ps in live_by_node(c, ns).items() if any(is_ready(p) for p in ps))


def status(c: Cluster, ns: str, name: str) -> dict:
    return json.loads(c.kubectl("get", "ds", name, "-n", ns, "-o", "json").stdout).get("status") or {}


def row(c: Cluster, ns: str, name: str) -> list[str]:
    return c.kubectl("get", "ds", name, "-n", ns, "--no-headers").stdout.split()


def rollout(c: Cluster, ns: str, name: str) -> str:
    return c.kubectl("rollout", "status", f"ds/{name}", "-n", ns, "--timeout=90s", timeout=120).stdout


def history(c: Cluster, ns: str, name: str) -> list[str]:
    out = c.kubectl("rollout", "history", f"ds/{name}", "-n", ns).stdout.splitlines()
    return [line.split()[0] for line in out if line[:1].isdigit()]


def wait_nodes(c: Cluster, ns: str, expected: list[str], timeout: float = 40) -> None:
    """Until exactly `expected` nodes run one Ready daemon pod each (and no others run any)."""
    def done() -> bool:
        by_node = live_by_node(c, ns)
        return sorted(by_node) == sorted(expected) and all(len(v) == 1 and is_ready(v[0]) for v in by_node.values())
    try:
        wait_until(done, timeout, 0.2)
    except AssertionError:
        raise AssertionError(f"wanted pods on {expected}, have {c.kubectl('get', 'pods', '-n', ns, '-o', 'wide').stdout}")


@contextmanager
def node_label(c: Cluster, nodes: list[str], label: str) -> Iterator[None]:
    for n in nodes:
        c.kubectl("label", "node", n, label, "--overwrite")
    try:
        yield
    finally:
        key = label.split("=")[0]
        for n in nodes:
            c.kubectl("label", "node", n, f"{key}-", check=False)


@contextmanager
def node_taint(c: Cluster, node: str, taint: str) -> Iterator[None]:
    c.kubectl("taint", "node", node, taint)
    try:
        yield
    finally:
        c.kubectl("taint", "node", node, taint + "-", check=False)


# ----------------------------------------------------------------------------- the seeds' sessions

SEED_FLUENTD = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      - key: node-role.kubernetes.io/master
        operator: Exists
        effect: NoSchedule
      NODE_SELECTOR
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
"""


def test_seed_fluentd_runs_on_every_node_then_only_on_labelled_ones(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=SEED_FLUENTD.replace("NODE_SELECTOR", ""))
    wait_nodes(c, ns, all_nodes)
    assert 'daemon set "fluentd-elasticsearch" successfully rolled out' in rollout(c, ns, "fluentd-elasticsearch")
    rows = c.kubectl("get", "ds,po", "-n", ns, "-o", "wide").stdout
    assert "daemonset.apps/fluentd-elasticsearch   4         4         4       4            4           <none>" in rows
    assert "quay.io/fluentd_elasticsearch/fluentd:v2.5.2   name=fluentd-elasticsearch" in rows
    assert sum(1 for line in rows.splitlines() if line.startswith("pod/fluentd-elasticsearch-")) == 4
    # the seed labels two worker nodes and adds the nodeSelector: pods only there
    with node_label(c, ["sim-1", "sim-3"], "az=ap-northeast-2"):
        manifest = SEED_FLUENTD.replace("NODE_SELECTOR", "nodeSelector:\n        az: ap-northeast-2")
        c.kubectl("apply", "-n", ns, "-f", "-", input=manifest)
        wait_nodes(c, ns, ["sim-1", "sim-3"])
        wait_until(lambda: row(c, ns, "fluentd-elasticsearch")[1:7] == ["2", "2", "2", "2", "2", "az=ap-northeast-2"],
                   30, 0.2)
        header = c.kubectl("get", "ds", "-n", ns).stdout.splitlines()[0].split()
        assert header == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR", "AGE"]
        # a newly labelled node gets a pod; a node whose label goes loses it
        c.kubectl("label", "node", "sim-2", "az=ap-northeast-2")
        wait_nodes(c, ns, SIM_NODES)
        c.kubectl("label", "node", "sim-3", "az-")
        wait_nodes(c, ns, ["sim-1", "sim-2"])
        c.kubectl("label", "node", "sim-2", "az=us-east-1", "--overwrite")
        wait_nodes(c, ns, ["sim-1"])
        wait_until(lambda: row(c, ns, "fluentd-elasticsearch")[1:6] == ["1", "1", "1", "1", "1"], 30, 0.2)
    described = c.kubectl("describe", "ds", "fluentd-elasticsearch", "-n", ns).stdout
    assert "Node-Selector:  az=ap-northeast-2" in described
    assert "SuccessfulCreate" in described and "Created pod: fluentd-elasticsearch-" in described
    assert "SuccessfulDelete" in described and "Deleted pod: fluentd-elasticsearch-" in described


def test_ssd_monitor_label_added_after_the_daemonset(dsc: Cluster, ns: str):
    """The second seed: the DaemonSet exists first, `kubectl label node ... disk=ssd` follows."""
    c = dsc
    label = f"disk-{ns}"
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("ssd-monitor", node_selector=f"{{{label}: ssd}}"))
    wait_until(lambda: status(c, ns, "ssd-monitor").get("observedGeneration") == 1, 30, 0.2)
    assert row(c, ns, "ssd-monitor")[1:7] == ["0", "0", "0", "0", "0", f"{label}=ssd"]
    assert pods(c, ns) == []
    with node_label(c, ["sim-2"], f"{label}=ssd"):
        wait_nodes(c, ns, ["sim-2"])
        wait_until(lambda: row(c, ns, "ssd-monitor")[1:6] == ["1", "1", "1", "1", "1"], 30, 0.2)
        names = [p["metadata"]["name"] for p in pods(c, ns)]
        assert len(names) == 1 and names[0].startswith("ssd-monitor-") and len(names[0]) == len("ssd-monitor-") + 5
    wait_nodes(c, ns, [])  # label removed: the pod is terminated


# ----------------------------------------------------------------------------- the daemon pods

def test_daemon_pod_shape(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("shape"))
    wait_nodes(c, ns, all_nodes)
    ds = json.loads(c.kubectl("get", "ds", "shape", "-n", ns, "-o", "json").stdout)
    revisions = json.loads(c.kubectl("get", "controllerrevisions", "-n", ns, "-o", "json").stdout)["items"]
    assert len(revisions) == 1
    rev = revisions[0]
    hash_ = rev["metadata"]["labels"]["controller-revision-hash"]
    assert rev["metadata"]["name"] == f"shape-{hash_}" and rev["revision"] == 1
    assert rev["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    for p in pods(c, ns):
        labels = p["metadata"]["labels"]
        assert labels == {"name": "shape", "controller-revision-hash": hash_, "pod-template-generation": "1"}
        ref = p["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["controller"]) == ("DaemonSet", "shape", True)
        terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [p["spec"]["nodeName"]]}]}]
        tolerations = {(t["key"], t["effect"]): t for t in p["spec"]["tolerations"]}
        assert "tolerationSeconds" not in tolerations[("node.kubernetes.io/not-ready", "NoExecute")]
        assert "tolerationSeconds" not in tolerations[("node.kubernetes.io/unreachable", "NoExecute")]
        for key in ("disk-pressure", "memory-pressure", "pid-pressure", "unschedulable"):
            assert (f"node.kubernetes.io/{key}", "NoSchedule") in tolerations
    # the scheduler placed them (events from default-scheduler), one per node
    events = c.kubectl("get", "events", "-n", ns, "--field-selector", "reason=Scheduled", "-o", "json").stdout
    assert len(json.loads(events)["items"]) == 4
    # a deleted daemon pod is replaced on its node
    victim = next(p for p in pods(c, ns) if p["spec"]["nodeName"] == "sim-2")
    c.kubectl("delete", "pod", victim["metadata"]["name"], "-n", ns, "--wait=false")
    wait_until(lambda: any(p["metadata"]["name"] != victim["metadata"]["name"] and is_ready(p)
                           for p in live_by_node(c, ns).get("sim-2", [])), 30, 0.2)
    wait_nodes(c, ns, all_nodes)


def test_taints_and_tolerations(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    key = f"dedicated-{ns}"
    with node_taint(c, "sim-2", f"{key}=db:NoSchedule"):
        c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("tol"))
        others = [n for n in all_nodes if n != "sim-2"]
        wait_nodes(c, ns, others)
        assert row(c, ns, "tol")[1] == "3"
        # the toleration lets a pod onto the tainted node
        toleration = f"[{{key: {key}, operator: Equal, value: db, effect: NoSchedule}}]"
        c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("tol", tolerations=toleration))
        rollout(c, ns, "tol")
        wait_nodes(c, ns, all_nodes)
        assert row(c, ns, "tol")[1:6] == ["4", "4", "4", "4", "4"]
    # a NoExecute taint the pod does not tolerate removes it; a NoSchedule one that comes after
    # the pod lets it stay
    with node_taint(c, "sim-1", f"{key}-late=x:NoSchedule"):
        with node_taint(c, "sim-3", f"{key}-evict=x:NoExecute"):
            wait_nodes(c, ns, [n for n in all_nodes if n != "sim-3"])
            # sim-1 keeps its pod but is no longer desired: the pod counts as misscheduled
            wait_until(lambda: row(c, ns, "tol")[1:3] == ["2", "2"], 30, 0.2)
            assert "sim-1" in live_by_node(c, ns)
            assert status(c, ns, "tol").get("numberMisscheduled") == 1
        wait_nodes(c, ns, all_nodes)  # taint gone: the pod comes back
        wait_until(lambda: row(c, ns, "tol")[1:3] == ["3", "3"], 30, 0.2)
    wait_until(lambda: row(c, ns, "tol")[1:3] == ["4", "4"] and status(c, ns, "tol").get("numberMisscheduled") == 0,
               30, 0.2)


def test_nodes_added_and_removed(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("everywhere"))
    wait_nodes(c, ns, all_nodes)
    extra = f"extra-{ns}"
    node = (f"apiVersion: v1\nkind: Node\nmetadata:\n  name: {extra}\n  labels: {{sim.tinykube.io/node: \"true\"}}\n")
    c.kubectl("apply", "-f", "-", input=node)
    try:
        wait_nodes(c, ns, all_nodes + [extra])
        wait_until(lambda: row(c, ns, "everywhere")[1:6] == ["5", "5", "5", "5", "5"], 30, 0.2)
    finally:
        c.kubectl("delete", "node", extra, "--wait=false")
    wait_until(lambda: row(c, ns, "everywhere")[1:6] == ["4", "4", "4", "4", "4"], 30, 0.2)
    wait_nodes(c, ns, all_nodes, timeout=60)  # PodGC removes the pod of the deleted node


# ----------------------------------------------------------------------------- updates

def lacking(state: dict[str, dict], nodes: list[str]) -> int:
    """Nodes without a live Ready daemon pod."""
    have = {p["spec"].get("nodeName") for p in state.values() if not p["metadata"].get("deletionTimestamp")
            and is_ready(p)}
    return sum(1 for n in nodes if n not in have)


def live(state: dict[str, dict]) -> int:
    return sum(1 for p in state.values() if not p["metadata"].get("deletionTimestamp"))


def test_rolling_update_one_node_at_a_time(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("roller"))
    wait_nodes(c, ns, all_nodes)
    worst = {"lacking": 0, "live": 0}

    def check(kind: str, obj: dict, state: dict) -> None:
        worst["lacking"] = max(worst["lacking"], lacking(state, all_nodes))
        worst["live"] = max(worst["live"], live(state))
        assert lacking(state, all_nodes) <= 1, f"{kind} {obj['metadata']['name']}: two nodes without a daemon"
        assert live(state) <= 4

    with WatchRecorder(c, f"/api/v1/namespaces/{ns}/pods", check) as watch:
        c.kubectl("set", "image", "ds/roller", "c=nginx:1.18", "-n", ns)
        out = rollout(c, ns, "roller")
        wait_nodes(c, ns, all_nodes)
    assert watch.events >= 16  # four pods replaced, each deleted, created, bound, started
    assert worst == {"lacking": 1, "live": 4}  # one node at a time, really
    # kubectl computes these lines from status; how many it sees depends on when it starts
    assert re.search(r'Waiting for daemon set "roller" rollout to finish: [0-3] out of 4 new pods have been '
                     r'updated\.\.\.\n', out), out
    assert out.rstrip().endswith('daemon set "roller" successfully rolled out')
    assert {p["spec"]["containers"][0]["image"] for p in pods(c, ns)} == {"nginx:1.18"}
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods(c, ns)} == {"2"}
    annotations = json.loads(c.kubectl("get", "ds", "roller", "-n", ns, "-o", "json").stdout)["metadata"]["annotations"]
    assert annotations["deprecated.daemonset.template.generation"] == "2"


def test_rolling_update_with_surge(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    strategy = "{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}"
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("surger", strategy=strategy))
    wait_nodes(c, ns, all_nodes)
    worst = {"lacking": 0, "live": 0}

    def check(kind: str, obj: dict, state: dict) -> None:
        worst["lacking"] = max(worst["lacking"], lacking(state, all_nodes))
        worst["live"] = max(worst["live"], live(state))
        assert lacking(state, all_nodes) == 0, f"{kind} {obj['metadata']['name']}: a node without a daemon"
        assert live(state) <= 5, "more than one surge pod"

    with WatchRecorder(c, f"/api/v1/namespaces/{ns}/pods", check):
        c.kubectl("set", "image", "ds/surger", "c=nginx:1.18", "-n", ns)
        rollout(c, ns, "surger")
        wait_nodes(c, ns, all_nodes)
    assert worst == {"lacking": 0, "live": 5}
    assert {p["spec"]["containers"][0]["image"] for p in pods(c, ns)} == {"nginx:1.18"}


def test_on_delete_replaces_only_deleted_pods(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("lazy", strategy="{type: OnDelete}"))
    wait_nodes(c, ns, all_nodes)
    c.kubectl("set", "image", "ds/lazy", "c=nginx:1.18", "-n", ns)
    wait_until(lambda: status(c, ns, "lazy").get("observedGeneration") == 2, 30, 0.2)
    assert status(c, ns, "lazy").get("updatedNumberScheduled", 0) == 0
    assert row(c, ns, "lazy")[1:6] == ["4", "4", "4", "0", "4"]
    assert {p["spec"]["containers"][0]["image"] for p in pods(c, ns)} == {"nginx:1.17"}
    refused = c.kubectl("rollout", "status", "ds/lazy", "-n", ns, check=False)
    assert refused.returncode != 0 and "rollout status is only available for RollingUpdate strategy type" in refused.stderr
    victim = live_by_node(c, ns)["sim-1"][0]["metadata"]["name"]
    c.kubectl("delete", "pod", victim, "-n", ns)
    wait_nodes(c, ns, all_nodes)
    images = {p["spec"]["nodeName"]: p["spec"]["containers"][0]["image"] for p in pods(c, ns)}
    assert images.pop("sim-1") == "nginx:1.18" and set(images.values()) == {"nginx:1.17"}
    wait_until(lambda: row(c, ns, "lazy")[1:6] == ["4", "4", "4", "1", "4"], 30, 0.2)


def test_rollout_history_and_undo(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("hist"))
    rollout(c, ns, "hist")
    c.kubectl("set", "image", "ds/hist", "c=nginx:1.18", "-n", ns)
    rollout(c, ns, "hist")
    c.kubectl("annotate", "ds", "hist", "kubernetes.io/change-cause=image 1.19", "-n", ns)
    c.kubectl("set", "image", "ds/hist", "c=nginx:1.19", "-n", ns)
    rollout(c, ns, "hist")
    assert history(c, ns, "hist") == ["1", "2", "3"]
    listing = c.kubectl("rollout", "history", "ds/hist", "-n", ns).stdout
    assert "REVISION  CHANGE-CAUSE" in listing and "image 1.19" in listing
    one = c.kubectl("rollout", "history", "ds/hist", "--revision=1", "-n", ns).stdout
    assert "with revision #1" in one and "nginx:1.17" in one
    missing = c.kubectl("rollout", "history", "ds/hist", "--revision=9", "-n", ns, check=False)
    assert missing.returncode != 0 and "unable to find the specified revision" in missing.stderr
    undone = c.kubectl("rollout", "undo", "ds/hist", "--to-revision=1", "-n", ns).stdout
    assert "daemonset.apps/hist rolled back" in undone
    rollout(c, ns, "hist")
    wait_nodes(c, ns, all_nodes)
    assert history(c, ns, "hist") == ["2", "3", "4"]  # revision 1 became the newest
    assert {p["spec"]["containers"][0]["image"] for p in pods(c, ns)} == {"nginx:1.17"}
    c.kubectl("rollout", "undo", "ds/hist", "-n", ns)  # back to the previous one: 1.19
    rollout(c, ns, "hist")
    wait_nodes(c, ns, all_nodes)
    assert history(c, ns, "hist") == ["2", "4", "5"]
    assert {p["spec"]["containers"][0]["image"] for p in pods(c, ns)} == {"nginx:1.19"}
    revisions = c.kubectl("get", "controllerrevisions", "-n", ns, "--no-headers").stdout
    assert revisions.count("daemonset.apps/hist") == 3


def test_revision_history_limit(dsc: Cluster, ns: str):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("short", strategy="{type: OnDelete}"))
    c.kubectl("patch", "ds", "short", "-n", ns, "--type=merge", "-p", '{"spec":{"revisionHistoryLimit":1}}')
    for tag in ("1.18", "1.19", "1.20"):
        c.kubectl("set", "image", "ds/short", f"c=nginx:{tag}", "-n", ns)
    # OnDelete keeps the first pods (revision 1) alive, so that revision stays with the current one
    wait_until(lambda: history(c, ns, "short") == ["1", "4"], 30, 0.3)


def test_failed_daemon_pod_is_replaced(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("flaky"))
    wait_nodes(c, ns, all_nodes)
    victim = live_by_node(c, ns)["sim-3"][0]["metadata"]["name"]
    c.kubectl("patch", "pod", victim, "-n", ns, "--subresource=status", "--type=merge",
              "-p", '{"status":{"phase":"Failed","reason":"Evicted"}}')
    wait_until(lambda: any(p["metadata"]["name"] != victim and is_ready(p)
                           for p in live_by_node(c, ns).get("sim-3", [])), 30, 0.2)
    wait_nodes(c, ns, all_nodes)
    described = c.kubectl("describe", "ds", "flaky", "-n", ns).stdout
    assert f"Found failed daemon pod {ns}/{victim} on node sim-3, will try to kill it" in described
    assert "FailedDaemonPod" in described


def test_min_ready_seconds_gates_availability(dsc: Cluster, ns: str, all_nodes: list[str]):
    c = dsc
    c.kubectl("apply", "-n", ns, "-f", "-", input=ds_yaml("patient", min_ready=20))
    wait_nodes(c, ns, all_nodes)
    first = status(c, ns, "patient")
    assert first.get("numberReady") == 4 and first.get("numberAvailable", 0) < 4
    assert first.get("numberUnavailable", 0) > 0
    wait_until(lambda: status(c, ns, "patient").get("numberAvailable") == 4, 30, 0.2)
    assert status(c, ns, "patient").get("numberUnavailable", 0) == 0
