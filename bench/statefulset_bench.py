"""StatefulSet benchmark: a Parallel StatefulSet of N replicas on N simulated nodes, and an
OrderedReady one of M replicas for comparison (each pod waits for its predecessor).

Run:  .venv/bin/python bench/statefulset_bench.py [--nodes 100] [--parallel 100] [--ordered 20]
Starts `tinykube server --sim-nodes N` with zero-delay simulated stages, creates each StatefulSet
(with a volumeClaimTemplate, so every pod also gets a claim) and measures the time from create
until status.readyReplicas == replicas; prints pods/s for both, and for the Parallel set the time
until all its claims are Bound (local-path, WaitForFirstConsumer: each provisioned on its pod's node).
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

PATH = "/apis/apps/v1/namespaces/default/statefulsets"


def statefulset(name: str, replicas: int, policy: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "podManagementPolicy": policy, "serviceName": name,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                                                           "volumeMounts": [{"name": "data", "mountPath": "/d"}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}


def bound_claims(c: httpx.Client, name: str) -> int:
    items = c.get("/api/v1/namespaces/default/persistentvolumeclaims").json()["items"]
    return sum(1 for pvc in items if pvc["metadata"]["name"].startswith(f"data-{name}-")
               and pvc.get("status", {}).get("phase") == "Bound")


def time_to_ready(c: httpx.Client, name: str, replicas: int, policy: str, timeout: float = 1800) -> tuple[float, float]:
    """(seconds until every replica is ready, seconds until every claim is Bound)."""
    start = time.perf_counter()
    c.post(PATH, json=statefulset(name, replicas, policy)).raise_for_status()
    status: dict = {}
    bound_at = ready_at = 0.0
    while time.perf_counter() - start < timeout:
        if not bound_at and bound_claims(c, name) == replicas:
            bound_at = time.perf_counter() - start
        if not ready_at:
            status = c.get(f"{PATH}/{name}").json().get("status", {})
            if status.get("readyReplicas", 0) == replicas:
                ready_at = time.perf_counter() - start
        if bound_at and ready_at:
            return ready_at, bound_at
        time.sleep(0.05)
    raise SystemExit(f"{name} did not become ready: {status}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=100)
    parser.add_argument("--ordered", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stages = Path(tmp) / "stages.yaml"
        stages.write_text(ZERO_STAGES)
        cluster = new_cluster(Path(tmp))
        cluster.start(("--sim-nodes", str(args.nodes), "--sim-stages", str(stages)))
        ca = ssl.create_default_context(cafile=cluster.ca_file)
        headers = {"Authorization": f"Bearer {cluster.token}"}
        try:
            wait_nodes_ready(cluster.url, headers, ca, args.nodes + 1)
            with httpx.Client(base_url=cluster.url, headers=headers, verify=ca, timeout=60) as c:
                parallel_s, bound_s = time_to_ready(c, "par", args.parallel, "Parallel")
                print(f"Parallel: {args.parallel} replicas ready in {parallel_s:.2f} s", flush=True)
                ordered_s, _ = time_to_ready(c, "ord", args.ordered, "OrderedReady")
        finally:
            cluster.stop()
    print(f"Parallel StatefulSet, {args.parallel} replicas on {args.nodes} simulated nodes: all ready in "
          f"{parallel_s:.2f} s ({args.parallel / parallel_s:.0f} pods/s, with {args.parallel} claims)")
    print(f"  its {args.parallel} claims all Bound (provisioned on the pods' nodes) in {bound_s:.2f} s")
    print(f"OrderedReady StatefulSet, {args.ordered} replicas: all ready in {ordered_s:.2f} s "
          f"({args.ordered / ordered_s:.1f} pods/s, {1000 * ordered_s / args.ordered:.0f} ms per pod)")


if __name__ == "__main__":
    main()
