"""DaemonSet benchmark: one daemon pod on each of N simulated nodes, then a rolling update.

Run:  .venv/bin/python bench/daemonset_bench.py [--nodes 1000] [--max-unavailable 10%]
Starts `tinykube server --sim-nodes N` with zero-delay simulated stages, creates a DaemonSet
(time until every node runs an available daemon pod), then changes the image with the given
maxUnavailable (time until the rollout completes). Prints both times and pods/s.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import new_cluster  # noqa: E402
from simcluster import ZERO_STAGES, wait_nodes_ready  # noqa: E402

PATH = "/apis/apps/v1/namespaces/default/daemonsets"


def daemonset(image: str, max_unavailable: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "bench"},
            "spec": {"selector": {"matchLabels": {"app": "bench"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}},
                     "template": {"metadata": {"labels": {"app": "bench"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def wait_rolled_out(c: httpx.Client, nodes: int, generation: int, timeout: float = 1800) -> float:
    """Seconds until status says every node runs an updated, available pod (what kubectl
    rollout status waits for)."""
    start = time.perf_counter()
    s: dict = {}
    while time.perf_counter() - start < timeout:
        s = c.get(f"{PATH}/bench").json().get("status", {})
        if s.get("observedGeneration", 0) >= generation and s.get("desiredNumberScheduled") == nodes and \
                s.get("updatedNumberScheduled") == nodes and s.get("numberAvailable") == nodes:
            return time.perf_counter() - start
        time.sleep(0.25)
    raise SystemExit(f"rollout did not finish: {s}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--max-unavailable", default="10%")
    args = parser.parse_args()
    nodes = args.nodes + 1  # the simulated ones and the server's own
    with tempfile.TemporaryDirectory() as tmp:
        stages = Path(tmp) / "stages.yaml"
        stages.write_text(ZERO_STAGES)
        cluster = new_cluster(Path(tmp))
        cluster.start(("--sim-nodes", str(args.nodes), "--sim-stages", str(stages)))
        ca = ssl.create_default_context(cafile=cluster.ca_file)
        headers = {"Authorization": f"Bearer {cluster.token}"}
        try:
            wait_nodes_ready(cluster.url, headers, ca, nodes)
            with httpx.Client(base_url=cluster.url, headers=headers, verify=ca, timeout=60) as c:
                c.post(PATH, json=daemonset("nginx:1.25", args.max_unavailable)).raise_for_status()
                create_s = wait_rolled_out(c, nodes, 1)
                print(f"{nodes} daemon pods available in {create_s:.1f} s; rolling to a new image", flush=True)
                r = c.patch(f"{PATH}/bench", json={"spec": {"template": {"spec": {"containers": [
                    {"name": "c", "image": "nginx:1.26"}]}}}},
                    headers={"Content-Type": "application/strategic-merge-patch+json"})
                r.raise_for_status()
                roll_s = wait_rolled_out(c, nodes, r.json()["metadata"]["generation"])
        finally:
            cluster.stop()
    print(f"DaemonSet on {nodes} nodes ({args.nodes} simulated): all available in {create_s:.1f} s "
          f"({nodes / create_s:.0f} pods/s)")
    print(f"rolling update (maxUnavailable {args.max_unavailable}): {roll_s:.1f} s "
          f"({nodes / roll_s:.0f} pods/s replaced)")


if __name__ == "__main__":
    main()
