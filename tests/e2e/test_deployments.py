"""Deployments as the seeds' sessions drive them: create, set image, history, undo, pause, scale, strategies."""

from __future__ import annotations

import json
import textwrap
import threading
import time

import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until


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
    undo = c.kubectl("rollout", "undo", "deployment", "web", "-n", dns, check=False)
    assert undo.returncode != 0 and "cannot rollback a paused deployment" in undo.stderr
    c.kubectl("rollout", "resume", "deployment", "web", "-n", dns)
    rollout(c, dns, "web")
    assert history(c, dns, "web") == ["1", "2", "3"]


def test_rolling_update_stays_within_surge_and_unavailable(dc: Cluster, dns: str):
    c = dc
    c.kubectl("apply", "-n", dns, "-f", "-", input=textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: roller}
        spec:
          replicas: 10
          strategy:
            rollingUpdate: {maxSurge: 3, maxUnavailable: 1}
          selector: {matchLabels: {app: roller}}
          template:
            metadata: {labels: {app: roller}}
            spec:
              containers: [{name: c, image: nginx:1.17}]
        """))
    rollout(c, dns, "roller")
    worst = {"pods": 0, "available": 10}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            items = json.loads(c.kubectl("get", "pods", "-n", dns, "-o", "json").stdout)["items"]
            live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
            ready = [p for p in live if any(cond["type"] == "Ready" and cond["status"] == "True"
                                             for cond in p.get("status", {}).get("conditions", []))]
            worst["pods"] = max(worst["pods"], len(live))
            worst["available"] = min(worst["available"], len(ready))
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        c.kubectl("set", "image", "deployment", "roller", "c=nginx:1.18", "-n", dns)
        rollout(c, dns, "roller")
    finally:
        stop.set()
        thread.join(10)
    assert worst["pods"] <= 13 and worst["available"] >= 9, worst


def test_recreate_never_mixes_versions(dc: Cluster, dns: str):
    c = dc
    c.kubectl("apply", "-n", dns, "-f", "-", input=textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: recreator}
        spec:
          replicas: 3
          strategy: {type: Recreate}
          selector: {matchLabels: {app: recreator}}
          template:
            metadata: {labels: {app: recreator}}
            spec:
              containers: [{name: c, image: nginx:1.17}]
        """))
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
    c.kubectl("apply", "-n", dns, "-f", "-", input=textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: stuck}
        spec:
          replicas: 2
          progressDeadlineSeconds: 3
          selector: {matchLabels: {app: stuck}}
          template:
            metadata: {labels: {app: stuck}}
            spec:
              containers: [{name: c, image: nginx:1.17}]
        """))
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
