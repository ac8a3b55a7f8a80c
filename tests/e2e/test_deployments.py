"""Deployments as the seeds' sessions drive them: create, set image, history, undo, pause, scale, strategies."""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers import Cluster, WatchRecorder, create_namespace, is_ready, running_cluster, wait_until


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("deploy"), "--sim-nodes", "3") as c:
        yield c


@pytest.fixture
def dns(dc: Cluster) -> str:
    return create_namespace(dc)


def history(c: Cluster, ns: str, name: str) -> list[str]:
    out = c.kubectl("rollout", "history", "deployment", name, "-n", ns).stdout.splitlines()
    return [line.split()[0] for line in out if line[:1].isdigit()]


def rollout(c: Cluster, ns: str, name: str) -> str:
    return c.kubectl("rollout", "status", f"deployment/{name}", "-n", ns, "--timeout=60s", timeout=90).stdout


def deployment_yaml(name: str, replicas: int, strategy: str = "", annotations: str = "", **spec) -> str:
    """A one-container nginx Deployment; `strategy` is YAML for spec.strategy (RollingUpdate
    fenceposts or Recreate), `annotations` flow-style YAML for the pod template."""
    extra = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n"
            + (f"  strategy: {strategy}\n" if strategy else "") + extra
            + f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
            + f"    metadata: {{labels: {{app: {name}}}" + (f", annotations: {annotations}" if annotations else "") + "}\n"
            + "    spec:\n      containers: [{name: c, image: \"nginx:1.17\"}]\n")


def test_seed_session_history_undo_and_scale(dc: Cluster, dns: str):
    c = dc
    c.kubectl("create", "deployment", "msa-web", "--image=nginx:1.17", "--port=80", "--replicas=2", "-n", dns)
    assert 'deployment "msa-web" successfully rolled out' in rollout(c, dns, "msa-web")
    rows = c.kubectl("get", "deploy,rs,po", "-n", dns).stdout
    assert "deployment.apps/msa-web   2/2     2            2" in rows
    c.kubectl("set", "image", "deployment", "msa-web", "nginx=nginx:1.18", "-n", dns)
    rollout(c, dns, "msa-web")
    c.kubectl("annotate", "deployment", "msa-web", "kubernetes.io/change-cause=image 1.19", "-n", dns)
    c.kubectl("set", "image", "deployment", "msa-web", "nginx=nginx:1.19", "-n", dns)
    rollout(c, dns, "msa-web")
    assert history(c, dns, "msa-web") == ["1", "2", "3"]
    assert "image 1.19" in c.kubectl("rollout", "history", "deployment", "msa-web", "-n", dns).stdout
    one = c.kubectl("rollout", "history", "deployment", "msa-web", "--revision=1", "-n", dns).stdout
    assert "nginx:1.17" in one
    c.kubectl("rollout", "undo", "deployment", "msa-web", "--to-revision=2", "-n", dns)
    rollout(c, dns, "msa-web")
    assert history(c, dns, "msa-web") == ["1", "3", "4"]
    image = c.kubectl("get", "deploy", "msa-web", "-n", dns, "-o=jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "nginx:1.18"
    rs_rows = [r.split() for r in c.kubectl("get", "rs", "-n", dns, "--no-headers").stdout.splitlines()]
    assert sorted(r[1:4] for r in rs_rows) == [["0", "0", "0"], ["0", "0", "0"], ["2", "2", "2"]]
    c.kubectl("scale", "deployment", "msa-web", "--replicas=6", "-n", dns)
    wait_until(lambda: "6/6" in c.kubectl("get", "deploy", "msa-web", "-n", dns).stdout, 30, 0.3)
    events = c.kubectl("describe", "deploy", "msa-web", "-n", dns).stdout
    assert "ScalingReplicaSet" in events and "Scaled up replica set msa-web-" in events


def test_paused_deployment_does_not_roll_and_undo_is_refused(dc: Cluster, dns: str):
    c = dc
    c.kubectl("create", "deployment", "web", "--image=nginx:1.17", "--replicas=2", "-n", dns)
    rollout(c, dns, "web")
    c.kubectl("set", "image", "deployment", "web", "nginx=nginx:1.18", "-n", dns)
    rollout(c, dns, "web")
    c.kubectl("rollout", "pause", "deployment", "web", "-n", dns)
    c.kubectl("set", "image", "deployment", "web", "nginx=nginx:1.20", "-n", dns)
    time.sleep(1.5)
    assert history(c, dns, "web") == ["1", "2"]
    assert len(c.kubectl("get", "rs", "-n", dns, "--no-headers").stdout.splitlines()) == 2
    # as in the seeds: the paused template has no ReplicaSet yet, so nothing is up to date
    row = c.kubectl("get", "deploy", "web", "-n", dns, "--no-headers").stdout.split()
    assert row[1:4] == ["2/2", "0", "2"]
    undo = c.kubectl("rollout", "undo", "deployment", "web", "-n", dns, check=False)
    assert undo.returncode != 0 and "cannot rollback a paused deployment" in undo.stderr
    c.kubectl("rollout", "resume", "deployment", "web", "-n", dns)
    rollout(c, dns, "web")
    assert history(c, dns, "web") == ["1", "2", "3"]


def test_rolling_update_stays_within_surge_and_unavailable(dc: Cluster, dns: str):
    c = dc
    c.kubectl("apply", "-n", dns, "-f", "-", input=deployment_yaml(
        "roller", 10, strategy="{rollingUpdate: {maxSurge: 3, maxUnavailable: 1}}"))
    rollout(c, dns, "roller")
    worst = {"pods": 0, "available": 10}

    def check(kind, pod, pods):
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        worst["pods"] = max(worst["pods"], len(live))
        worst["available"] = min(worst["available"], sum(1 for p in live if is_ready(p)))

    with WatchRecorder(c, f"/api/v1/namespaces/{dns}/pods", check) as watch:
        c.kubectl("set", "image", "deployment", "roller", "c=nginx:1.18", "-n", dns)
        rollout(c, dns, "roller")
        wait_until(lambda: len(watch.state) == 10, 30, 0.1)
    assert watch.events >= 20  # ten pods created and ten removed, each seen
    assert worst["pods"] <= 13 and worst["available"] >= 9, worst
    images = {p["spec"]["containers"][0]["image"] for p in watch.state.values()}
    assert images == {"nginx:1.18"}


def test_rollout_status_prints_upstream_progress_lines(dc: Cluster, dns: str):
    c = dc
    manifest = deployment_yaml("slow", 3, strategy="{rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}",
                               annotations="{sim.tinykube.io/ready-after: 1s}")
    c.kubectl("apply", "-n", dns, "-f", "-", input=manifest)
    first = rollout(c, dns, "slow")
    assert 'Waiting for deployment "slow" rollout to finish: 0 of 3 updated replicas are available...' in first
    c.kubectl("set", "image", "deployment", "slow", "c=nginx:1.18", "-n", dns)
    second = rollout(c, dns, "slow")
    assert 'Waiting for deployment "slow" rollout to finish: 1 out of 3 new replicas have been updated...' in second
    assert 'Waiting for deployment "slow" rollout to finish: 1 old replicas are pending termination...' in second
    assert second.rstrip().endswith('deployment "slow" successfully rolled out')
    d = json.loads(c.kubectl("get", "deploy", "slow", "-n", dns, "-o", "json").stdout)
    conditions = {x["type"]: x for x in d["status"]["conditions"]}
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert conditions["Progressing"]["message"].startswith('ReplicaSet "slow-') and \
        conditions["Progressing"]["message"].endswith('" has successfully progressed.')


def test_rollout_restart_makes_a_new_revision(dc: Cluster, dns: str):
    c = dc
    c.kubectl("create", "deployment", "again", "--image=nginx:1.17", "--replicas=2", "-n", dns)
    rollout(c, dns, "again")
    before = {p["metadata"]["name"] for p in
              json.loads(c.kubectl("get", "pods", "-n", dns, "-o", "json").stdout)["items"]}
    c.kubectl("rollout", "restart", "deployment/again", "-n", dns)
    rollout(c, dns, "again")
    assert history(c, dns, "again") == ["1", "2"]
    def current():
        return json.loads(c.kubectl("get", "pods", "-n", dns, "-o", "json").stdout)["items"]
    wait_until(lambda: not before & {p["metadata"]["name"] for p in current()}, 30, 0.2)
    pods = current()
    assert len(pods) == 2
    assert all("kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"] for p in pods)


def test_scaling_mid_rollout_is_proportional(dc: Cluster, dns: str):
    c = dc
    c.kubectl("apply", "-n", dns, "-f", "-", input=deployment_yaml(
        "prop", 10, strategy="{rollingUpdate: {maxSurge: 3, maxUnavailable: 2}}"))
    rollout(c, dns, "prop")
    # the new template never becomes ready: the rollout stops at old 8 / new 5 (13 = 10 + surge)
    c.kubectl("patch", "deployment", "prop", "-n", dns, "-p",
              '{"spec":{"template":{"metadata":{"annotations":{"sim.tinykube.io/ready-after":"1h"}}}}}')

    def sizes():
        items = json.loads(c.kubectl("get", "rs", "-n", dns, "-o", "json").stdout)["items"]
        return sorted((int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]), rs["spec"]["replicas"])
                      for rs in items)
    wait_until(lambda: sizes() == [(1, 8), (2, 5)], 30, 0.3)
    c.kubectl("scale", "deployment", "prop", "--replicas=15", "-n", dns)
    # 13 → 18 pods: each set grows in proportion (8·18/13 ≈ 11, then the new one takes the rest)
    wait_until(lambda: sizes() == [(1, 11), (2, 7)], 30, 0.3)
    time.sleep(1)
    assert sizes() == [(1, 11), (2, 7)]  # and it stays there: no availability to roll further


def test_recreate_never_mixes_versions(dc: Cluster, dns: str):
    c = dc
    c.kubectl("apply", "-n", dns, "-f", "-", input=deployment_yaml("recreator", 3, strategy="{type: Recreate}"))
    rollout(c, dns, "recreator")
    mixed = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            items = json.loads(c.kubectl("get", "pods", "-n", dns, "-o", "json").stdout)["items"]
            images = {p["spec"]["containers"][0]["image"] for p in items}
            if len(images) > 1:
                mixed.append(images)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        c.kubectl("set", "image", "deployment", "recreator", "c=nginx:1.18", "-n", dns)
        rollout(c, dns, "recreator")
    finally:
        stop.set()
        thread.join(10)
    assert not mixed


def test_progress_deadline_exceeded_then_undo_recovers(dc: Cluster, dns: str):
    c = dc
    c.kubectl("apply", "-n", dns, "-f", "-", input=deployment_yaml("stuck", 2, progressDeadlineSeconds=3))
    rollout(c, dns, "stuck")
    c.kubectl("patch", "deployment", "stuck", "-n", dns, "-p",
              '{"spec":{"template":{"metadata":{"annotations":{"sim.tinykube.io/ready-after":"1h"}}}}}')
    status = c.kubectl("rollout", "status", "deployment/stuck", "-n", dns, "--timeout=60s", check=False, timeout=90)
    assert status.returncode != 0 and 'deployment "stuck" exceeded its progress deadline' in status.stderr
    cond = json.loads(c.kubectl("get", "deploy", "stuck", "-n", dns, "-o", "json").stdout)["status"]["conditions"]
    progressing = next(x for x in cond if x["type"] == "Progressing")
    assert progressing["status"] == "False" and progressing["reason"] == "ProgressDeadlineExceeded"
    c.kubectl("rollout", "undo", "deployment", "stuck", "-n", dns)
    assert 'successfully rolled out' in rollout(c, dns, "stuck")
