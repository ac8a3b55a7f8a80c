"""Resource metrics and the HorizontalPodAutoscaler: `kubectl top` and autoscaling on simulated usage."""

from __future__ import annotations

import json

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
