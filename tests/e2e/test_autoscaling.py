"""Resource metrics and the HorizontalPodAutoscaler: `kubectl top` and autoscaling on simulated usage."""

from __future__ import annotations

import json
import time

import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until

USAGE = '{"spec":{"template":{"metadata":{"annotations":{"sim.tinykube.io/cpu":"%s","sim.tinykube.io/memory":"%s"}}}}}'


@pytest.fixture(scope="module")
def ac(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("autoscaling"), "--sim-nodes", "2", "--time-scale", "10") as c:
        yield c


@pytest.fixture
def ans(ac: Cluster) -> str:
    return create_namespace(ac)


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()[1:]]


def test_kubectl_top_pods_and_nodes_show_simulated_usage(ac: Cluster, ans: str):
    c = ac
    c.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", ans)
    c.kubectl("patch", "deployment", "web", "-n", ans, "-p", USAGE % ("250m", "64Mi"))
    c.kubectl("rollout", "status", "deployment/web", "-n", ans, "--timeout=60s", timeout=90)

    def top():
        result = c.kubectl("top", "pods", "-n", ans, check=False)
        got = rows(result.stdout) if result.returncode == 0 else []
        return got if len(got) == 2 and all(r[1:] == ["250m", "64Mi"] for r in got) else None
    wait_until(top, 30, 0.3)
    containers = rows(c.kubectl("top", "pods", "-n", ans, "-l", "app=web", "--containers").stdout)
    assert [r[1:] for r in containers] == [["nginx", "250m", "64Mi"]] * 2
    nodes = {r[0]: r for r in rows(c.kubectl("top", "nodes").stdout)}
    assert {"sim-1", "sim-2"} <= set(nodes)
    missing = c.kubectl("top", "pod", "nothere", "-n", ans, check=False)
    assert missing.returncode != 0 and f'podmetrics.metrics.k8s.io "{ans}/nothere" not found' in missing.stderr
    raw = json.loads(c.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ans}/pods").stdout)
    assert raw["kind"] == "PodMetricsList" and all(i["containers"][0]["usage"]["cpu"] == "250000000n"
                                                   for i in raw["items"])
    refused = c.kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{ans}/pods?watch=true",
                        check=False)
    assert refused.returncode != 0 and "MethodNotAllowed" in refused.stderr or "not allow" in refused.stderr


def hpa_manifest(name: str, min_pods: int, max_pods: int, target: int, behavior: str = "") -> str:
    return (f"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: {name}}}\nspec:\n"
            f"  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}\n"
            f"  minReplicas: {min_pods}\n  maxReplicas: {max_pods}\n"
            f"  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, "
            f"averageUtilization: {target}}}}}}}]\n" + (f"  behavior: {behavior}\n" if behavior else ""))


def deployment_with_usage(c: Cluster, ns: str, name: str, cpu: str) -> None:
    c.kubectl("create", "deployment", name, "--image=nginx", "--replicas=1", "-n", ns)
    c.kubectl("set", "resources", "deployment", name, "--requests=cpu=100m", "-n", ns)
    c.kubectl("patch", "deployment", name, "-n", ns, "-p", USAGE % (cpu, "32Mi"))


def hpa_row(c: Cluster, ns: str, name: str) -> list[str]:
    return c.kubectl("get", "hpa", name, "-n", ns, "--no-headers").stdout.split()


def replicas(c: Cluster, ns: str, name: str) -> int:
    return json.loads(c.kubectl("get", "deploy", name, "-n", ns, "-o", "json").stdout)["spec"]["replicas"]


def test_kubectl_autoscale_scales_up_to_max_with_upstream_columns_and_events(ac: Cluster, ans: str):
    c = ac
    deployment_with_usage(c, ans, "web", "200m")
    c.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=6", "-n", ans)
    # 200m used of 100m requested is 200% against 50%: 1 → 4 (the 2×/4 step cap) → 6 (max)
    wait_until(lambda: replicas(c, ans, "web") == 6, 60, 0.3)
    # NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE, as upstream prints them
    row = wait_until(lambda: (r := hpa_row(c, ans, "web")) and r[6] == "6" and r, 30, 0.3)
    assert row[:7] == ["web", "Deployment/web", "cpu:", "200%/50%", "1", "6", "6"]
    described = c.kubectl("describe", "hpa", "web", "-n", ans).stdout
    assert "New size: 4; reason: cpu resource utilization (percentage of request) above target" in described
    assert "resource cpu on pods  (as a percentage of request):  200% (200m) / 50%" in described
    hpa = json.loads(c.kubectl("get", "hpa.v2.autoscaling", "web", "-n", ans, "-o", "json").stdout)
    conditions = {x["type"]: x for x in hpa["status"]["conditions"]}
    assert conditions["ScalingLimited"]["reason"] == "TooManyReplicas"
    assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
    assert hpa["status"]["currentMetrics"][0]["resource"]["current"] == {"averageUtilization": 200,
                                                                         "averageValue": "200m"}


def test_hpa_scales_back_down_after_the_stabilization_window(ac: Cluster, ans: str):
    c = ac
    deployment_with_usage(c, ans, "calm", "200m")
    c.kubectl("apply", "-n", ans, "-f", "-", input=hpa_manifest(
        "calm", 1, 3, 50, "{scaleDown: {stabilizationWindowSeconds: 60}}"))
    wait_until(lambda: replicas(c, ans, "calm") == 3, 60, 0.3)
    c.kubectl("patch", "deployment", "calm", "-n", ans, "-p", USAGE % ("10m", "32Mi"))
    # 10% against 50%: down to the minimum, but only once 60 s (6 s wall) of lower recommendations passed
    wait_until(lambda: replicas(c, ans, "calm") == 1, 90, 0.3)
    described = c.kubectl("describe", "hpa", "calm", "-n", ans).stdout
    assert "reason: All metrics below target" in described


def test_behavior_policies_limit_each_step(ac: Cluster, ans: str):
    c = ac
    deployment_with_usage(c, ans, "steady", "500m")
    c.kubectl("apply", "-n", ans, "-f", "-", input=hpa_manifest(
        "steady", 1, 5, 50, "{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 60}]}}"))
    wait_until(lambda: replicas(c, ans, "steady") == 2, 60, 0.2)
    # one pod per 60 s of cluster time (6 s wall): still 2 for a good while
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert replicas(c, ans, "steady") == 2
        time.sleep(0.3)
    wait_until(lambda: replicas(c, ans, "steady") == 3, 60, 0.3)
    limited = json.loads(c.kubectl("get", "hpa.v2.autoscaling", "steady", "-n", ans, "-o", "json").stdout)
    reasons = {x["type"]: x["reason"] for x in limited["status"]["conditions"]}
    assert reasons["ScalingLimited"] in ("ScaleUpLimit", "TooManyReplicas")


def test_autoscaling_v1_hpa_scales_a_replicaset(ac: Cluster, ans: str):
    c = ac
    c.kubectl("apply", "-n", ans, "-f", "-", input="""\
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: frontend}
spec:
  replicas: 1
  selector: {matchLabels: {tier: frontend}}
  template:
    metadata:
      labels: {tier: frontend}
      annotations: {sim.tinykube.io/cpu: 90m}
    spec:
      containers: [{name: php, image: nginx, resources: {requests: {cpu: 100m}}}]
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: frontend}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: ReplicaSet, name: frontend}
  minReplicas: 1
  maxReplicas: 3
  targetCPUUtilizationPercentage: 30
""")

    def scaled():
        rs = json.loads(c.kubectl("get", "rs", "frontend", "-n", ans, "-o", "json").stdout)
        return rs["spec"]["replicas"] == 3
    wait_until(scaled, 60, 0.3)   # 90% against 30%: three times the pods, capped at 3

    def v1_status():
        status = json.loads(c.kubectl("get", "--raw", f"/apis/autoscaling/v1/namespaces/{ans}/"
                                      "horizontalpodautoscalers/frontend").stdout).get("status", {})
        return status if status.get("currentReplicas") == 3 else None
    status = wait_until(v1_status, 30, 0.3)   # the status follows the rescale
    assert status["currentCPUUtilizationPercentage"] == 90


@pytest.mark.parametrize("method, path, code, reason", [
    ("GET", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%20in%20(", 400, "BadRequest"),
    ("POST", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", 405, "MethodNotAllowed"),
    ("DELETE", "/apis/metrics.k8s.io/v1beta1/nodes/sim-1", 405, "MethodNotAllowed"),
    ("GET", "/apis/metrics.k8s.io/v1beta1/nodes/no-such-node", 404, "NotFound"),
    ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/x/status", 404, "NotFound"),
])
def test_metrics_api_answers_bad_requests_with_a_status(ac: Cluster, method, path, code, reason):
    with ac.http() as client:
        response = client.request(method, path, json={} if method == "POST" else None)
    body = response.json()
    assert response.status_code == code and body["kind"] == "Status" and body["reason"] == reason, body
