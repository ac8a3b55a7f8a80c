"""`tinykube agent`: a node joined from outside the server process with the printed join token.

The agent runs real processes for its pods. The server is restarted under it: the agent keeps
its pod's process (same container start, no restart), resumes its watches, and goes on renewing
its node Lease against the restarted server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent_helpers import Agent, get_json
from helpers import Cluster, create_namespace, is_ready, new_cluster, wait_until

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeSelector: {{kubernetes.io/hostname: {node}}}
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo joined; sleep 3600"]
"""


@pytest.fixture
def server(tmp_path: Path):
    c = new_cluster(tmp_path / "server")
    c.start(("--disable-agent", "--time-scale", "5"))
    yield c
    if c.process is not None and c.process.poll() is None:
        c.stop()


def test_agent_joins_runs_pods_and_rides_out_a_server_restart(server: Cluster, tmp_path: Path) -> None:
    c = server
    token = (c.data_dir / "node-token").read_text().strip()
    agent = Agent([c.url], token, "worker-1", tmp_path / "agent", "--time-scale", "5")
    try:
        def node_ready() -> bool:
            node = get_json(c, "node", "worker-1")
            return any(cond["type"] == "Ready" and cond["status"] == "True"
                       for cond in (node.get("status") or {}).get("conditions") or [])
        wait_until(node_ready, timeout=60)
        node = get_json(c, "node", "worker-1")
        assert "node-role.kubernetes.io/control-plane" not in node["metadata"]["labels"]
        ns = create_namespace(c)
        c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(name="p", node="worker-1"))
        wait_until(lambda: is_ready(get_json(c, "pod", "p", "-n", ns)), timeout=60)
        before = get_json(c, "pod", "p", "-n", ns)["status"]["containerStatuses"][0]
        assert before["state"]["running"]

        c.stop()
        c.start(("--disable-agent", "--time-scale", "5"))
        lease_before = get_json(c, "lease", "worker-1", "-n", "kube-node-lease")["spec"]["renewTime"]
        wait_until(lambda: get_json(c, "lease", "worker-1", "-n", "kube-node-lease")["spec"]["renewTime"]
                   != lease_before, timeout=30)
        # the agent resumed its watches: a new pod after the restart runs too
        c.kubectl("apply", "-n", ns, "-f", "-", input=POD.format(name="q", node="worker-1"))
        wait_until(lambda: is_ready(get_json(c, "pod", "q", "-n", ns)), timeout=60)
        after = get_json(c, "pod", "p", "-n", ns)["status"]["containerStatuses"][0]
        assert after["restartCount"] == 0
        assert after["state"]["running"]["startedAt"] == before["state"]["running"]["startedAt"]
        assert agent.process.poll() is None, "".join(agent.output)
    finally:
        agent.stop()


def test_agent_refuses_a_token_for_another_ca(server: Cluster, tmp_path: Path) -> None:
    token = (server.data_dir / "node-token").read_text().strip()
    forged = "K10" + "0" * 64 + token[token.index("::"):]
    out = subprocess.run([sys.executable, "-m", "tinykube.cli", "agent", "--server", server.url, "--token", forged,
                          "--node-name", "intruder", "--runtime", "sim", "--data-dir", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "does not match the join token's hash" in out.stderr
