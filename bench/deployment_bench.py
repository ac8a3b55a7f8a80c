"""Deployment benchmark: scale 0 -> N replicas on simulated nodes, then roll to a new image.

Run:  .venv/bin/python bench/deployment_bench.py [--nodes 1000] [--replicas 10000]
Starts `tinykube server --sim-nodes N` with zero-delay simulated stages, creates a Deployment with
0 replicas, scales it to N (time until all available), then changes the image with maxSurge and
maxUnavailable 25% (time until the rollout completes). Prints pods/s for both phases and the raw
SQLite single-commit rate measured in the same run. Target (issue "Workload controllers I"):
>= 500 pods/s through the whole chain.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import raw_sqlite_rate  # noqa: E402
from simcluster import sim_cluster  # noqa: E402

PATH = "/apis/apps/v1/namespaces/default/deployments"


def deployment(image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "bench"}},
                     "template": {"metadata": {"labels": {"app": "bench"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def wait_rolled_out(c: httpx.Client, replicas: int, generation: int, timeout: float = 1800) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        d = c.get(f"{PATH}/bench").json()
        s = d.get("status", {})
        if s.get("observedGeneration", 0) >= generation and s.get("updatedReplicas", 0) == replicas and \
                s.get("replicas", 0) == replicas and s.get("availableReplicas", 0) == replicas:
            return time.perf_counter() - start
        time.sleep(0.5)
    raise SystemExit(f"rollout did not finish: {s}")


def scale_up(c: httpx.Client, replicas: int) -> float:
    """Create the Deployment with 0 replicas, scale it to `replicas`: seconds until all available."""
    c.post(PATH, json=deployment("nginx:1.25")).raise_for_status()
    c.patch(f"{PATH}/bench/scale", json={"spec": {"replicas": replicas}},
            headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
    return wait_rolled_out(c, replicas, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite_rate(Path(tmp) / "raw.db")
        with sim_cluster(Path(tmp), args.nodes) as sim, sim.client() as c:
            scale_s = scale_up(c, args.replicas)
            print(f"scaled to {args.replicas} in {scale_s:.1f} s; rolling to a new image", flush=True)
            r = c.patch(f"{PATH}/bench", json={"spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "nginx:1.26"}]}}}},
                headers={"Content-Type": "application/strategic-merge-patch+json"})
            r.raise_for_status()
            roll_s = wait_rolled_out(c, args.replicas, r.json()["metadata"]["generation"])
            not_ready = sim.nodes_gone_not_ready()
    print(f"scale 0 -> {args.replicas} on {args.nodes} simulated nodes: all available in {scale_s:.1f} s "
          f"({args.replicas / scale_s:.0f} pods/s)")
    print(f"rolling update (25%/25%) of {args.replicas} replicas: {roll_s:.1f} s "
          f"({args.replicas / roll_s:.0f} new pods/s, each also removing an old one)")
    print(f"nodes marked NotReady during the run (missed Lease renewals): {not_ready}")
    print(f"raw SQLite single-commit writes/s: {raw:.0f} (target >= 500 pods/s through the chain)")


if __name__ == "__main__":
    main()
