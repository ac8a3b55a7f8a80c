"""What the cluster benchmarks share: a `tinykube server` with N simulated nodes whose pods move
through zero-delay stages, started in a temporary directory, waited on until every node is
Ready, and an HTTP client on it."""

from __future__ import annotations

import ssl
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import Cluster, new_cluster  # noqa: E402

ZERO_STAGES = "stages:\n- {step: create, delay: 0s}\n- {step: start, delay: 0s}\n"


@dataclass
class SimCluster:
    cluster: Cluster
    ca: ssl.SSLContext
    headers: dict[str, str]
    nodes_ready_s: float

    def nodes_gone_not_ready(self) -> int:
        """How many nodes the node controller marked NotReady (NodeNotReady events): a node
        agent too busy to renew its Leases within the grace period shows up here."""
        with self.client() as c:
            events = c.get("/api/v1/events", params={"fieldSelector": "reason=NodeNotReady"}).json()["items"]
        return len({e["involvedObject"]["name"] for e in events})

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.cluster.url, headers=self.headers, verify=self.ca,
                            timeout=kwargs.pop("timeout", 60), **kwargs)


def wait_nodes_ready(base: str, headers: dict, ca: ssl.SSLContext, want: int, timeout: float = 600) -> float:
    start = time.perf_counter()
    ready = 0
    with httpx.Client(base_url=base, headers=headers, verify=ca, timeout=60) as c:
        while time.perf_counter() - start < timeout:
            items = c.get("/api/v1/nodes").json()["items"]
            ready = sum(1 for n in items for cond in n.get("status", {}).get("conditions", [])
                        if cond["type"] == "Ready" and cond["status"] == "True")
            if ready >= want:
                return time.perf_counter() - start
            time.sleep(0.5)
    raise SystemExit(f"only {ready} of {want} nodes became Ready")


@contextmanager
def sim_cluster(tmp: Path, nodes: int, *extra: str) -> Iterator[SimCluster]:
    """A server with `nodes` simulated nodes (plus the local node), all Ready, stopped on exit."""
    stages = tmp / "stages.yaml"
    stages.write_text(ZERO_STAGES)
    cluster = new_cluster(tmp)
    cluster.start(("--sim-nodes", str(nodes), "--sim-stages", str(stages), *extra))
    ca = ssl.create_default_context(cafile=cluster.ca_file)
    headers = {"Authorization": f"Bearer {cluster.token}"}
    try:
        ready_s = wait_nodes_ready(cluster.url, headers, ca, nodes + 1)
        yield SimCluster(cluster, ca, headers, ready_s)
    finally:
        cluster.stop()
