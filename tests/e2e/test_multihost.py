"""Several hosts on one machine: a 3-member etcd, 2 API servers, 3 agents in network namespaces.

The agents are separate hosts (each its own network namespace on a bridge) that reach the
servers only over that network. Then the leading server, one etcd member and one agent are
killed with SIGKILL at once: no acknowledged write is lost, a rollout started afterwards
completes, and the pods of the dead node are evicted and replaced on the others.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent_helpers import Agent, get_json, identity, lease_holder
from etcd_helpers import EtcdCluster
from helpers import Cluster, free_port, wait_until
from netns_helpers import Hosts

SCALE = "10"
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "nginx:1.25"}]
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 10}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 10}
"""


@dataclass
class Server(Cluster):
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


def new_server(tmp: Path, host: str) -> Server:
    return Server(data_dir=tmp / "data", port=free_port(), kubeconfig=tmp / "kubeconfig",
                  cache_dir=tmp / "kubecache", host=host)


def node_ready(node: dict) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond["type"] == "Ready":
            return cond["status"]
    return ""


class Writer(threading.Thread):
    """Creates ConfigMaps one after another through a server; remembers the acknowledged ones."""

    def __init__(self, c: Cluster, namespace: str) -> None:
        super().__init__(daemon=True)
        self.c, self.namespace = c, namespace
        self.acknowledged: list[str] = []
        self.failed = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with self.c.http(timeout=10) as h:
            i = 0
            while not self.halt.is_set():
                name = f"w-{i}"
                i += 1
                try:
                    r = h.post(f"/api/v1/namespaces/{self.namespace}/configmaps", json={"metadata": {"name": name}})
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if r.status_code == 201:
                    self.acknowledged.append(name)
                else:
                    self.failed += 1
                time.sleep(0.02)


def test_killing_a_server_an_etcd_member_and_a_node_at_once(tmp_path: Path) -> None:
    etcd = EtcdCluster(tmp_path / "etcd", size=3)
    etcd.start()
    servers: list[Server] = []
    agents: list[Agent] = []
    with Hosts(3) as hosts:
        try:
            store = f"{etcd.url}/c{uuid.uuid4().hex[:8]}"
            common = ("--datastore", store, "--disable-agent", "--bind-address", hosts.gateway,
                      "--time-scale", SCALE, "--node-monitor-grace-period", "20")
            a = new_server(tmp_path / "a", hosts.gateway)
            a.start(common)
            servers.append(a)
            wait_until(lambda: lease_holder(a, "kube-controller-manager").endswith(identity(a)), timeout=30)
            token = (a.data_dir / "node-token").read_text().strip()
            b = new_server(tmp_path / "b", hosts.gateway)
            b.start((*common, "--token", token))
            servers.append(b)
            for i in range(1, 4):
                agents.append(Agent([a.url, b.url], token, f"host-{i}", tmp_path / f"agent-{i}",
                                    "--runtime", "sim", "--time-scale", SCALE, prefix=hosts.command(i, [])))
            wait_until(lambda: sorted(n["metadata"]["name"] for n in get_json(b, "nodes").get("items", [])
                                      if node_ready(n) == "True") == ["host-1", "host-2", "host-3"], timeout=90)
            addresses = {n["metadata"]["name"]: n["status"]["addresses"][0]["address"]
                         for n in get_json(b, "nodes")["items"]}
            assert addresses == {f"host-{i}": hosts.address(i) for i in range(1, 4)}

            a.kubectl("create", "namespace", "app")
            a.kubectl("apply", "-n", "app", "-f", "-", input=DEPLOYMENT)
            a.kubectl("rollout", "status", "deployment/web", "-n", "app", "--timeout=120s", timeout=130)
            pods = get_json(a, "pods", "-n", "app")["items"]
            assert any(p["spec"]["nodeName"] == "host-3" for p in pods), "no pod on the node to kill"

            writer = Writer(b, "app")
            writer.start()
            wait_until(lambda: len(writer.acknowledged) >= 20, timeout=30)
            # the leader, the member every server dials first, and a node: all at once
            a.stop(signal.SIGKILL)
            etcd.kill(etcd.members[0])
            agents[2].kill()
            killed = time.monotonic()

            # while etcd elects a new leader a write may fail (unacknowledged); the client retries
            wait_until(lambda: b.kubectl("set", "image", "deployment/web", "-n", "app", "c=nginx:1.26",
                                         check=False, timeout=60).returncode == 0, timeout=60, interval=1)
            wait_until(lambda: lease_holder(b, "kube-controller-manager").endswith(identity(b)), timeout=60)
            print(f"fail-over after {time.monotonic() - killed:.1f}s")
            b.kubectl("rollout", "status", "deployment/web", "-n", "app", "--timeout=180s", timeout=190)
            writer.halt.set()
            writer.join(15)

            assert node_ready(get_json(b, "node", "host-3")) == "Unknown"

            def replaced() -> bool:
                live = [p for p in get_json(b, "pods", "-n", "app")["items"]
                        if not p["metadata"].get("deletionTimestamp")]
                return len(live) == 6 and all(p["spec"]["nodeName"] in ("host-1", "host-2") for p in live)
            wait_until(replaced, timeout=90)
            names = set(b.kubectl("get", "configmaps", "-n", "app", "-o", "name").stdout.split())
            lost = [n for n in writer.acknowledged if f"configmap/{n}" not in names]
            assert not lost, f"acknowledged writes lost: {lost}"
            assert len(writer.acknowledged) > 20
            for agent in agents[:2]:
                assert agent.process.poll() is None, "".join(agent.output)
        finally:
            for agent in agents:
                agent.stop()
            for s in servers:
                if s.process is not None and s.process.poll() is None:
                    s.stop()
            etcd.stop()
