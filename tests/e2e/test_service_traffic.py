"""Traffic through Services on the process runtime: the node's proxy forwards a ClusterIP:port
(on `lo`, as root) and 127.0.0.1:nodePort to the ready pods, round robin; containers see the
service variables. The service range is random per run so that servers on this host do not
share addresses."""

from __future__ import annotations

import json
import os
import random
import re

import httpx
import pytest

from helpers import Cluster, apply_manifest as apply, create_namespace, running_cluster, wait_until

SUBNET = f"10.{random.randint(97, 110)}.{random.randint(0, 255)}.0/24"
root = pytest.mark.skipif(os.geteuid() != 0, reason="ClusterIPs are bound on lo only as root")


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("svcproc"), "--local-runtime", "process", "--time-scale", "10",
                         "--service-cluster-ip-range", SUBNET) as c:
        yield c


@pytest.fixture
def ns(proc: Cluster) -> str:
    return create_namespace(proc)


def svc(c: Cluster, ns: str, name: str) -> dict:
    return json.loads(c.kubectl("get", "svc", name, "-n", ns, "-o", "json").stdout)


def get_text(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def lo_addresses() -> str:
    import subprocess
    return subprocess.run(["ip", "addr", "show", "lo"], capture_output=True, text=True).stdout


def deploy_nginx(c: Cluster, ns: str, replicas: int = 2) -> None:
    c.kubectl("create", "deployment", "web", "--image=nginx", f"--replicas={replicas}", "--port=80", "-n", ns)
    c.kubectl("rollout", "status", "deploy/web", "-n", ns, "--timeout=90s", timeout=120)


@root
def test_cluster_ip_reaches_a_ready_pod(proc: Cluster, ns: str) -> None:
    deploy_nginx(proc, ns)
    proc.kubectl("expose", "deployment", "web", "--port=8088", "--target-port=80", "-n", ns)
    ip = svc(proc, ns, "web")["spec"]["clusterIP"]
    body = wait_until(lambda: get_text(f"http://{ip}:8088/"), 30, 0.2)
    assert "nginx" in body.lower()
    assert f"inet {ip}/32" in lo_addresses()
    # round robin: each pod serves its own name as /id.html, and both answer in turn
    pods = json.loads(proc.kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "json").stdout)["items"]
    for pod in pods:
        html = wait_until(lambda: _html_dir(proc, ns, pod["metadata"]["name"]), 30, 0.2)
        (html / "id.html").write_text(pod["metadata"]["name"])
    wait_until(lambda: len((json.loads(proc.kubectl("get", "endpoints", "web", "-n", ns, "-o", "json").stdout)
                            .get("subsets") or [{}])[0].get("addresses") or []) == 2, 30, 0.2)
    # (a pod whose loopback address another server on this host already serves is left out)
    reachable = {get_text(f"http://{p['status']['podIP']}:80/id.html") for p in pods} - {None}
    assert reachable
    answers = {get_text(f"http://{ip}:8088/id.html") for _ in range(6)} - {None}
    assert answers == reachable
    # deleting the Service closes the port and takes the address off lo
    proc.kubectl("delete", "svc", "web", "-n", ns)
    wait_until(lambda: get_text(f"http://{ip}:8088/") is None and f"inet {ip}/32" not in lo_addresses(), 30, 0.2)


@root
def test_kubernetes_service_reaches_the_api(proc: Cluster) -> None:
    first = SUBNET.replace(".0/24", ".1")
    response = wait_until(lambda: _version(first), 30, 0.2)
    assert response["major"] == "1"


def _version(ip: str) -> dict | None:
    try:
        return httpx.get(f"https://{ip}:443/version", verify=False, timeout=3).json()
    except httpx.HTTPError:
        return None


def test_node_port_and_readiness(proc: Cluster, ns: str) -> None:
    """NodePort on 127.0.0.1; a pod whose readiness probe fails stops getting traffic."""
    apply(proc, ns, """
        apiVersion: v1
        kind: Pod
        metadata: {name: probed, labels: {app: probed}}
        spec:
          containers:
          - name: nginx
            image: nginx
            ports: [{containerPort: 80, name: http}]
            readinessProbe: {httpGet: {path: /ready.html, port: 80}, periodSeconds: 1, failureThreshold: 1}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: np}
        spec: {type: NodePort, selector: {app: probed}, ports: [{port: 80, targetPort: http}]}
        """)
    node_port = svc(proc, ns, "np")["spec"]["ports"][0]["nodePort"]
    url = f"http://127.0.0.1:{node_port}/"
    assert get_text(url) is None  # not ready (no /ready.html yet): no endpoint, nothing listens
    html = wait_until(lambda: _html_dir(proc, ns, "probed"), 30, 0.2)
    (html / "ready.html").write_text("ok")
    wait_until(lambda: get_text(url) is not None, 60, 0.2)
    (html / "ready.html").unlink()
    wait_until(lambda: get_text(url) is None, 60, 0.2)
    ep = json.loads(proc.kubectl("get", "endpoints", "np", "-n", ns, "-o", "json").stdout)
    assert ep["subsets"][0].get("notReadyAddresses") and not ep["subsets"][0].get("addresses")


def _html_dir(c: Cluster, ns: str, name: str):
    pod = json.loads(c.kubectl("get", "pod", name, "-n", ns, "-o", "json").stdout)
    found = list((c.data_dir / "pods").glob(f"*{pod['metadata']['uid']}*/html")) + \
        list((c.data_dir / "pods").glob(f"{ns}_{name}*/html"))
    return found[0] if found else None


def test_service_environment(proc: Cluster, ns: str) -> None:
    proc.kubectl("create", "service", "clusterip", "my-db", "--tcp=5432:5432", "-n", ns)
    db_ip = svc(proc, ns, "my-db")["spec"]["clusterIP"]
    apply(proc, ns, """
        apiVersion: v1
        kind: Pod
        metadata: {name: envy}
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: busybox
            command: [sh, -c, env]
            env: [{name: DB_URL, value: "postgres://$(MY_DB_SERVICE_HOST):$(MY_DB_SERVICE_PORT)"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: nolinks}
        spec:
          restartPolicy: Never
          enableServiceLinks: false
          containers: [{name: c, image: busybox, command: [sh, -c, env]}]
        """)
    for name in ("envy", "nolinks"):
        wait_until(lambda: json.loads(proc.kubectl("get", "pod", name, "-n", ns, "-o", "json").stdout)
                   ["status"].get("phase") == "Succeeded", 60, 0.2)
    env = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", proc.kubectl("logs", "envy", "-n", ns).stdout, re.M))
    first = SUBNET.replace(".0/24", ".1")
    assert env["KUBERNETES_SERVICE_HOST"] == first and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_PORT_443_TCP"] == f"tcp://{first}:443"
    assert env["MY_DB_SERVICE_HOST"] == db_ip and env["MY_DB_SERVICE_PORT_5432_5432"] == "5432"
    assert env["MY_DB_PORT"] == f"tcp://{db_ip}:5432" and env["MY_DB_PORT_5432_TCP_ADDR"] == db_ip
    assert env["DB_URL"] == f"postgres://{db_ip}:5432"
    plain = proc.kubectl("logs", "nolinks", "-n", ns).stdout
    assert "KUBERNETES_SERVICE_HOST=" in plain and "MY_DB_SERVICE_HOST" not in plain
