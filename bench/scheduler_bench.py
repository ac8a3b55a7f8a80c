"""Scheduling benchmark: 10,000 pods on 1,000 simulated nodes, end to end.

Run:  .venv/bin/python bench/scheduler_bench.py [--nodes 1000] [--pods 10000]
Starts `tinykube server --sim-nodes N` with zero-delay simulated stages, creates the pods over
HTTP with 16 concurrent requests on lean keep-alive connections (bench/leanhttp.py: httpx took
~3 ms of this 2-core machine's CPU per pod from the server under test), and follows them with
a watch. Prints pods/s end to end
(first create sent -> last pod Running), bind latency (create acknowledged -> the watch shows a
node) p50/p99, and the raw SQLite single-commit write rate measured in the same run.
Target (issue "Nodes, scheduler, simulated nodes"): >= 500 pods/s end to end.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from api_bench import pct, raw_sqlite_rate  # noqa: E402
from leanhttp import LeanConnection  # noqa: E402
from simcluster import sim_cluster  # noqa: E402

def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


class PodWatch(threading.Thread):
    """Records when each pod is first seen bound and first seen Running."""

    def __init__(self, base: str, headers: dict, ca: ssl.SSLContext, namespace: str, expect: int) -> None:
        super().__init__(daemon=True)
        self.base, self.headers, self.ca, self.namespace, self.expect = base, headers, ca, namespace, expect
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.done = threading.Event()
        self.started = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, verify=self.ca, timeout=None) as c:
            rv = c.get(f"/api/v1/namespaces/{self.namespace}/pods").json()["metadata"]["resourceVersion"]
            with c.stream("GET", f"/api/v1/namespaces/{self.namespace}/pods",
                          params={"watch": "1", "resourceVersion": rv}) as r:
                self.started.set()
                for line in r.iter_lines():
                    now = time.perf_counter()
                    obj = orjson.loads(line)["object"]
                    name = obj["metadata"]["name"]
                    if obj["spec"].get("nodeName") and name not in self.bound:
                        self.bound[name] = now
                    if obj.get("status", {}).get("phase") == "Running" and name not in self.running:
                        self.running[name] = now
                        if len(self.running) >= self.expect:
                            self.done.set()
                            return


async def open_connections(base: str, token: str, ca_file: str, n: int = 16) -> list[LeanConnection]:
    """Connections for the creates, opened before the clock starts."""
    connections = [LeanConnection(base, token, ca_file) for _ in range(n)]
    for connection in connections:
        await connection.__aenter__()
    return connections


async def create_pods(connections: list[LeanConnection], namespace: str, n: int) -> dict[str, float]:
    """Create `n` pods, one request in flight per connection; when each was acknowledged."""
    acked: dict[str, float] = {}
    numbers = iter(range(n))

    async def create_on(connection: LeanConnection) -> None:
        for i in numbers:
            name = f"p-{i:05d}"
            status, body = await connection.post(f"/api/v1/namespaces/{namespace}/pods", pod(name))
            if status != 201:
                raise RuntimeError(f"create {name}: {status} {body[:300]!r}")
            acked[name] = time.perf_counter()

    await asyncio.gather(*(create_on(connection) for connection in connections))
    return acked


async def timed_creates(cluster, namespace: str, n: int) -> tuple[float, dict[str, float]]:
    """(when the first create was sent, when each was acknowledged)."""
    connections = await open_connections(cluster.url, cluster.token, cluster.ca_file)
    try:
        first_sent = time.perf_counter()
        return first_sent, await create_pods(connections, namespace, n)
    finally:
        for connection in connections:
            await connection.__aexit__()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite_rate(Path(tmp) / "raw.db")
        with sim_cluster(Path(tmp), args.nodes) as sim:
            nodes_s = sim.nodes_ready_s
            base, headers, ca = sim.cluster.url, sim.headers, sim.ca
            with httpx.Client(base_url=base, headers=headers, verify=ca) as c:
                c.post("/api/v1/namespaces", json={"metadata": {"name": "bench"}}).raise_for_status()
            watch = PodWatch(base, headers, ca, "bench", args.pods)
            watch.start()
            watch.started.wait(30)
            server, client = psutil.Process(sim.cluster.process.pid), psutil.Process()
            cpu_before = sum(server.cpu_times()[:2])
            client_before = sum(client.cpu_times()[:2])
            first_sent, acked = asyncio.run(timed_creates(sim.cluster, "bench", args.pods))
            created_s = time.perf_counter() - first_sent
            finished = watch.done.wait(600)
            server_cpu = sum(server.cpu_times()[:2]) - cpu_before
            client_cpu = sum(client.cpu_times()[:2]) - client_before
            not_ready = sim.nodes_gone_not_ready()
    last_running = max(watch.running.values()) if watch.running else first_sent
    elapsed = last_running - first_sent
    bind = [watch.bound[n] - acked[n] for n in acked if n in watch.bound]
    to_running = [watch.running[n] - acked[n] for n in acked if n in watch.running]
    ms = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
    print(f"{args.nodes} simulated nodes + the local node Ready {nodes_s:.1f} s after the server was ready")
    print(f"created {args.pods} pods in {created_s:.1f} s ({args.pods / created_s:.0f}/s over HTTP, 16 in flight)")
    print(f"{len(watch.running)}/{args.pods} Running{'' if finished else ' (timed out)'}; "
          f"end to end {elapsed:.1f} s = {len(watch.running) / elapsed:.0f} pods/s (target >= 500)")
    if bind:
        print(f"bind latency (create acknowledged -> bound seen): p50 {ms(pct(bind, 50))}  p99 {ms(pct(bind, 99))}")
    if to_running:
        print(f"create acknowledged -> Running seen: p50 {ms(pct(to_running, 50))}  p99 {ms(pct(to_running, 99))}")
    print(f"server CPU: {server_cpu:.1f} s = {server_cpu * 1000 / args.pods:.2f} ms per pod "
          f"(one core allows {args.pods / server_cpu:.0f} pods/s); this client {client_cpu * 1000 / args.pods:.2f} ms "
          f"per pod")
    print(f"nodes marked NotReady during the run (missed Lease renewals): {not_ready}")
    print(f"raw SQLite single-commit writes/s (WAL, synchronous=FULL): {raw:.0f}; "
          f"end-to-end pods/s is {len(watch.running) / elapsed / raw:.1%} of it (each pod = 3 writes + events)")


if __name__ == "__main__":
    main()
