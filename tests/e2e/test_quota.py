"""LimitRanges and ResourceQuotas through kubectl: defaults, limits, quota refusals, status, and a
Deployment that a quota holds back (the seeds' reason a rollout fails to progress)."""

from __future__ import annotations

import json
import threading

import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until


@pytest.fixture(scope="module")
def qc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("quota"), "--sim-nodes", "2") as c:
        yield c


@pytest.fixture
def ns(qc: Cluster) -> str:
    return create_namespace(qc)


LIMIT_RANGE = """apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    max: {cpu: 500m, memory: 512Mi}
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
"""


def pod_yaml(name: str, resources: str = "") -> str:
    res = f", resources: {resources}" if resources else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\n"
            f"spec:\n  containers: [{{name: c, image: nginx{res}}}]\n")


def test_limit_range_defaults_show_in_the_pod(qc: Cluster, ns: str):
    qc.kubectl("apply", "-n", ns, "-f", "-", input=LIMIT_RANGE)
    qc.kubectl("run", "plain", "--image=nginx", "-n", ns)
    pod = json.loads(qc.kubectl("get", "pod", "plain", "-n", ns, "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}
    assert pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == \
        "LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain"
    text = qc.kubectl("get", "pod", "plain", "-n", ns, "-o", "yaml").stdout
    assert "cpu: 100m" in text and "memory: 128Mi" in text
    # a stated limit is kept; its request then defaults to it (API defaulting runs first)
    qc.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("own", "{limits: {cpu: 300m}}"))
    own = json.loads(qc.kubectl("get", "pod", "own", "-n", ns, "-o", "json").stdout)
    assert own["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "300m", "memory": "128Mi"}, "requests": {"cpu": "300m", "memory": "64Mi"}}


def test_limit_range_max_is_refused_with_upstream_message(qc: Cluster, ns: str):
    qc.kubectl("apply", "-n", ns, "-f", "-", input=LIMIT_RANGE)
    out = qc.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("big", "{limits: {cpu: '1'}}"), check=False)
    assert out.returncode != 0
    assert 'pods "big" is forbidden: maximum cpu usage per Container is 500m, but limit is 1' in out.stderr
    two = qc.kubectl("apply", "-n", ns, "-f", "-", check=False,
                     input=pod_yaml("bigger", "{limits: {cpu: '2', memory: 1Gi}}"))
    assert ('pods "bigger" is forbidden: [maximum cpu usage per Container is 500m, but limit is 2, '
            'maximum memory usage per Container is 512Mi, but limit is 1Gi]') in two.stderr
    assert qc.kubectl("get", "pods", "-n", ns, "-o", "name").stdout == ""


def quota_used(c: Cluster, ns: str, name: str) -> dict:
    quota = json.loads(c.kubectl("get", "quota", name, "-n", ns, "-o", "json").stdout)
    return (quota.get("status") or {}).get("used") or {}


def test_quota_exceeded_and_status_used(qc: Cluster, ns: str):
    qc.kubectl("create", "quota", "q", "--hard=pods=2,configmaps=3,secrets=5,requests.cpu=2,limits.cpu=2",
               "-n", ns)
    # every namespace holds the published kube-root-ca.crt ConfigMap, which counts as upstream's does
    wait_until(lambda: quota_used(qc, ns, "q").get("configmaps") == "1", timeout=30)
    for name in ("a", "b"):
        qc.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml(name, "{limits: {cpu: 500m}}"))
    out = qc.kubectl("create", "-n", ns, "-f", "-", input=pod_yaml("c", "{limits: {cpu: 500m}}"), check=False)
    assert out.returncode != 0
    assert ('pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
            in out.stderr)
    missing = qc.kubectl("create", "-n", ns, "-f", "-", input=pod_yaml("d"), check=False)
    assert 'pods "d" is forbidden: failed quota: q: must specify limits.cpu for: c; requests.cpu for: c' \
        in missing.stderr
    qc.kubectl("create", "configmap", "one", "-n", ns)
    used = lambda: quota_used(qc, ns, "q")  # noqa: E731
    wait_until(lambda: used() == {"pods": "2", "configmaps": "2", "secrets": "0", "requests.cpu": "1",
                                  "limits.cpu": "1"}, timeout=30)
    rows = qc.kubectl("get", "quota", "-n", ns).stdout.splitlines()
    assert rows[0].split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert "configmaps: 2/3, pods: 2/2, requests.cpu: 1/2, secrets: 0/5" in rows[1]
    assert rows[1].rstrip().endswith("limits.cpu: 1/2")
    described = qc.kubectl("describe", "quota", "q", "-n", ns).stdout
    assert "pods          2     2" in described or any(
        line.split() == ["pods", "2", "2"] for line in described.splitlines())
    # freeing a slot is seen by the controller, and the next pod fits
    qc.kubectl("delete", "pod", "a", "-n", ns, "--grace-period=0", "--force")
    wait_until(lambda: used().get("pods") == "1", timeout=30)
    qc.kubectl("apply", "-n", ns, "-f", "-", input=pod_yaml("c", "{limits: {cpu: 500m}}"))


def test_concurrent_creates_never_both_take_the_last_slot(qc: Cluster, ns: str):
    qc.kubectl("create", "quota", "q", "--hard=configmaps=5", "-n", ns)  # 4 besides kube-root-ca.crt
    results: list[int] = []

    def create(i: int) -> None:
        with qc.http() as http:
            r = http.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": f"cm{i}"}})
            results.append(r.status_code)
    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with qc.http() as http:
        items = http.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"]
    assert len(items) == 5, [i["metadata"]["name"] for i in items]
    assert sorted(set(results)) == [201, 403]
    wait_until(lambda: quota_used(qc, ns, "q").get("configmaps") == "5", timeout=30)


def test_deployment_blocked_by_quota(qc: Cluster, ns: str):
    qc.kubectl("create", "quota", "q", "--hard=pods=2", "-n", ns)
    qc.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "-n", ns)

    def failure() -> dict | None:
        rs = json.loads(qc.kubectl("get", "rs", "-n", ns, "-o", "json").stdout)["items"]
        conds = [c for r in rs for c in (r.get("status") or {}).get("conditions") or []]
        return next((c for c in conds if c["type"] == "ReplicaFailure"), None)
    cond = wait_until(failure, timeout=60)
    assert cond["reason"] == "FailedCreate"
    assert "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2" in cond["message"]
    assert cond["message"].startswith('pods "web-')
    events = qc.kubectl("get", "events", "-n", ns, "--field-selector=reason=FailedCreate").stdout
    assert "Error creating: pods \"web-" in events and "exceeded quota: q" in events

    def deployment_condition() -> dict | None:
        d = json.loads(qc.kubectl("get", "deploy", "web", "-n", ns, "-o", "json").stdout)
        return next((c for c in (d.get("status") or {}).get("conditions") or []
                     if c["type"] == "ReplicaFailure"), None)
    dcond = wait_until(deployment_condition, timeout=60)
    assert dcond["reason"] == "FailedCreate" and "exceeded quota: q" in dcond["message"]
    assert len(json.loads(qc.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]) == 2
    described = qc.kubectl("describe", "deploy", "web", "-n", ns).stdout
    assert "ReplicaFailure" in described and "FailedCreate" in described
