"""tinykube on etcd: one server driven by kubectl, then two servers sharing one etcd.

Each cluster has its own key prefix on the session's etcd member. The two-server test checks
that the second server joins with the first one's token (one kubeconfig works on both), that a
watch on either server sees every write, and that when the leading server is killed with
SIGKILL the other takes the controllers over (a scale-up completes) without losing an
acknowledged write.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from agent_helpers import identity, lease_holder
from helpers import Cluster, WatchRecorder, create_namespace, new_cluster, wait_until

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: c, image: busybox}}]}}
"""


def datastore(etcd) -> str:
    return f"{etcd.url}/c{uuid.uuid4().hex[:10]}"


def ready_replicas(c: Cluster, ns: str, name: str) -> int:
    out = c.kubectl("get", "deployment", name, "-n", ns, "-o", "json", check=False)
    if out.returncode != 0:
        return -1
    return json.loads(out.stdout).get("status", {}).get("readyReplicas", 0)


@pytest.fixture(scope="module")
def etcd_cluster(etcd, tmp_path_factory: pytest.TempPathFactory):
    c = new_cluster(tmp_path_factory.mktemp("etcd-server"))
    c.start(("--datastore", datastore(etcd), "--sim-nodes", "2", "--time-scale", "10"))
    yield c
    c.stop()


def test_kubectl_against_an_etcd_backed_server(etcd_cluster: Cluster) -> None:
    c = etcd_cluster
    ns = create_namespace(c)
    c.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT.format(name="web", replicas=3))
    wait_until(lambda: ready_replicas(c, ns, "web") == 3, timeout=60)
    # resourceVersions are etcd revisions: a list at an older one is served from etcd's history
    with c.http() as h:
        before = h.get(f"/api/v1/namespaces/{ns}/configmaps").json()["metadata"]["resourceVersion"]
        r = h.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "one"}, "data": {"k": "v"}})
        assert r.status_code == 201, r.text
        old = h.get(f"/api/v1/namespaces/{ns}/configmaps",
                    params={"resourceVersion": before, "resourceVersionMatch": "Exact"}).json()
        # (only the namespace's published kube-root-ca.crt was there)
        assert [i["metadata"]["name"] for i in old["items"]] == ["kube-root-ca.crt"]
        assert old["metadata"]["resourceVersion"] == before
        # a watch from the older revision replays the creation
        with h.stream("GET", f"/api/v1/namespaces/{ns}/configmaps",
                      params={"watch": "1", "resourceVersion": before, "timeoutSeconds": "5"}) as stream:
            first = json.loads(next(stream.iter_lines()))
        assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "one"
    out = c.kubectl("get", "configmap", "one", "-n", ns, "-o", "jsonpath={.data.k}")
    assert out.stdout == "v"
    c.kubectl("scale", "deployment", "web", "-n", ns, "--replicas=5")
    wait_until(lambda: ready_replicas(c, ns, "web") == 5, timeout=60)


def test_a_wrong_token_cannot_join(etcd, tmp_path: Path) -> None:
    store = datastore(etcd)
    first = new_cluster(tmp_path / "a")
    first.start(("--datastore", store, "--disable-agent"))
    try:
        second = new_cluster(tmp_path / "b")
        with pytest.raises(RuntimeError, match="the token does not match the cluster"):
            second.start(("--datastore", store, "--disable-agent", "--token", "not-the-token"))
        third = new_cluster(tmp_path / "c")
        with pytest.raises(RuntimeError, match="start this server with --token"):
            third.start(("--datastore", store, "--disable-agent"))
    finally:
        first.stop()


SCALE = ("--time-scale", "5")


@dataclass
class TwoServers:
    a: Cluster  # up first, so it leads
    b: Cluster  # joined with a's token
    store: str
    token: str

    def start_a(self) -> None:
        self.a.start(("--datastore", self.store, "--disable-agent", *SCALE))

    def start_b(self, sim_nodes: int) -> None:
        self.b.start(("--datastore", self.store, "--token", self.token, "--disable-agent",
                      "--sim-nodes", str(sim_nodes), *SCALE))


@contextmanager
def two_servers(etcd, tmp_path: Path, sim_nodes: int) -> Iterator[TwoServers]:
    """Server a leading the controllers, then server b joined with a's join token and running
    `sim_nodes` simulated nodes; whichever still runs is stopped at the end."""
    servers = TwoServers(new_cluster(tmp_path / "a"), new_cluster(tmp_path / "b"), datastore(etcd), "")
    servers.start_a()
    try:
        # a leads before b exists, so killing the leader leaves b's simulated nodes running
        wait_until(lambda: lease_holder(servers.a, "kube-controller-manager").endswith(identity(servers.a)),
                   timeout=30)
        servers.token = (servers.a.data_dir / "node-token").read_text().strip()
        servers.start_b(sim_nodes)
        yield servers
    finally:
        for c in (servers.a, servers.b):
            if c.process is not None and c.process.poll() is None:
                c.stop()


def test_two_servers_share_one_etcd_and_fail_over(etcd, tmp_path: Path) -> None:
    with two_servers(etcd, tmp_path, sim_nodes=2) as servers:
        a, b = servers.a, servers.b
        assert servers.token.startswith("K10")
        # one kubeconfig, both servers: the same CA and token
        # (b's agent registers its simulated nodes just after b is ready)
        wait_until(lambda: a.kubectl("--server", b.url, "get", "nodes", "-o", "name").stdout.split() ==
                   ["node/sim-1", "node/sim-2"], timeout=45)
        # b's agent runs them, not a's
        for node in ("sim-1", "sim-2"):
            assert simulating_agent(a, node).endswith(identity(b))
        ns = create_namespace(a)
        seen_on_b: set[str] = set()
        with WatchRecorder(b, f"/api/v1/namespaces/{ns}/configmaps",
                           lambda kind, obj, state: seen_on_b.add(obj["metadata"]["name"])):
            acknowledged = []
            with a.http() as h:
                for i in range(20):
                    r = h.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": f"cm-{i}"}})
                    assert r.status_code == 201, r.text
                    acknowledged.append(f"cm-{i}")
            wait_until(lambda: seen_on_b >= set(acknowledged), timeout=20)
        a.kubectl("apply", "-n", ns, "-f", "-", input=DEPLOYMENT.format(name="web", replicas=2))
        wait_until(lambda: ready_replicas(b, ns, "web") == 2, timeout=60)

        assert lease_holder(b, "kube-controller-manager").endswith(identity(a))
        a.stop(signal.SIGKILL)
        killed = time.monotonic()
        b.kubectl("scale", "deployment", "web", "-n", ns, "--replicas=4")
        wait_until(lambda: lease_holder(b, "kube-controller-manager").endswith(identity(b)), timeout=30)
        took_over = time.monotonic() - killed
        # within 15 s of cluster time (3 s here), plus kubectl's own latency
        assert took_over * 5 < 15 + 5, f"fail-over took {took_over * 5:.1f} cluster seconds"
        wait_until(lambda: ready_replicas(b, ns, "web") == 4, timeout=60)
        names = b.kubectl("get", "configmaps", "-n", ns, "-o", "name").stdout.split()
        assert {f"configmap/{n}" for n in acknowledged} <= set(names)
        # the restarted server takes its place again beside b
        servers.start_a()
        assert a.kubectl("get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}").stdout == "4"


def simulating_agent(c: Cluster, node: str) -> str:
    return c.kubectl("get", "node", node, "-o", r"jsonpath={.metadata.annotations.sim\.tinykube\.io/agent}").stdout


def node_ready(c: Cluster, node: str) -> str:
    return c.kubectl("get", "node", node, "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}').stdout


def test_a_servers_simulated_nodes_go_unknown_when_it_dies(etcd, tmp_path: Path) -> None:
    """Each server runs only the simulated nodes it registered: when b dies, the survivor does not
    keep b's node alive, it marks it unreachable as a real cluster marks a dead kubelet's node."""
    with two_servers(etcd, tmp_path, sim_nodes=1) as servers:
        a, b = servers.a, servers.b
        wait_until(lambda: node_ready(a, "sim-1") == "True", timeout=30)
        b.stop(signal.SIGKILL)
        # the 50 s grace period is 10 s at this time scale
        wait_until(lambda: node_ready(a, "sim-1") == "Unknown", timeout=40)
        # b back with its data dir is the same agent: it takes its node on again
        servers.start_b(sim_nodes=1)
        wait_until(lambda: node_ready(a, "sim-1") == "True", timeout=40)
        assert simulating_agent(a, "sim-1").endswith(identity(b))


def test_unreachable_etcd_is_a_clear_error(tmp_path: Path) -> None:
    c = new_cluster(tmp_path)
    with pytest.raises(RuntimeError, match="cannot open the datastore etcd://127.0.0.1:1: etcd: failed to connect"):
        c.start(("--datastore", "etcd://127.0.0.1:1"))
    assert c.process is not None and c.process.wait(10) == 1
