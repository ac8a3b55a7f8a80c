"""API server benchmark: latency, throughput, watch delivery, big Table lists, raw SQLite rate.

Run:  .venv/bin/python bench/api_bench.py [--pods 10000]
Starts its own `tinykube server` on a free port in a temp dir and prints figures and the ratio
of API creates/s to the raw SQLite single-commit write rate measured in the same run.
Targets (issue "Foundation"): creates/s >= 5% of the raw rate; watch p99 < 50 ms;
10,000 pods listed as a Table in < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import new_cluster  # noqa: E402
from leanhttp import LeanConnection  # noqa: E402


CA: ssl.SSLContext | bool = True  # trusts the cluster CA once the server has made it


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def raw_sqlite_rate(path: Path, seconds: float = 3.0) -> float:
    """Single-row commits/s with the same durability settings as the store (WAL, synchronous=FULL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB)")
    value = b"x" * 1000
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (f"k{n}", value))
        conn.execute("COMMIT")
        n += 1
    rate = n / (time.perf_counter() - start)
    conn.close()
    return rate


def pod(name: str) -> dict:
    # schedulerName "none": no scheduler takes these, so the node agent's work does not load this API bench
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"schedulerName": "none",
                     "containers": [{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}


def single_client_latencies(base: str, headers: dict, n: int = 300) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"create": [], "get": [], "list": []}
    with httpx.Client(base_url=base, headers=headers, timeout=30, verify=CA) as c:
        for i in range(n):
            t = time.perf_counter()
            r = c.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": f"lat-{i}"}})
            out["create"].append(time.perf_counter() - t)
            assert r.status_code == 201, r.text
            t = time.perf_counter()
            c.get(f"/api/v1/namespaces/default/configmaps/lat-{i}")
            out["get"].append(time.perf_counter() - t)
        for _ in range(50):
            t = time.perf_counter()
            c.get("/api/v1/namespaces/default/configmaps", params={"limit": 100})
            out["list"].append(time.perf_counter() - t)
    return out


async def concurrent_creates(base: str, headers: dict, clients: int = 8, seconds: float = 5.0) -> float:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, verify=CA) as c:
            i = 0
            while time.perf_counter() < stop_at:
                r = await c.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": f"c{w}-{i}"}})
                assert r.status_code == 201, r.text
                done += 1
                i += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    return done / (time.perf_counter() - start)


def _watch_process(base: str, token: str, ca_file: str, sentinel: str, ready, out) -> None:
    """Watch secrets from the current revision; hand back when each name arrived (perf_counter,
    one clock for every process on the machine) once the sentinel secret has come."""
    arrived: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120, verify=ssl.create_default_context(cafile=ca_file)) as c:
        rv = c.get("/api/v1/namespaces/default/secrets").json()["metadata"]["resourceVersion"]
        with c.stream("GET", "/api/v1/namespaces/default/secrets",
                      params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "120"}) as r:
            ready.set()
            for line in r.iter_lines():
                if not line:
                    continue
                name = json.loads(line)["object"]["metadata"]["name"]
                arrived[name] = time.perf_counter()
                if name == sentinel:
                    break
    out.put(arrived)


def _write_process(base: str, token: str, ca_file: str, prefix: str, rate: float, connections: int,
                   start_at: float, seconds: float, out) -> None:
    """Create secrets at `rate`/s over `connections` keep-alive connections, each paced and waiting
    for its answer; hand back when each was sent and how long its answer took."""
    sent: dict[str, float] = {}
    answered: list[float] = []

    async def one(k: int) -> None:
        interval = connections / rate
        async with LeanConnection(base, token, ca_file) as conn:
            next_at = start_at + k * interval / connections
            i = 0
            while next_at < start_at + seconds:
                now = time.perf_counter()
                if next_at > now:
                    await asyncio.sleep(next_at - now)
                name = f"{prefix}-{k}-{i}"
                sent[name] = time.perf_counter()
                status, body = await conn.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": name}})
                assert status == 201, body
                answered.append(time.perf_counter() - sent[name])
                next_at += interval
                i += 1

    async def run() -> None:
        await asyncio.gather(*(one(k) for k in range(connections)))
    asyncio.run(run())
    out.put((sent, answered))


def watch_latency(base: str, token: str, ca_file: str, rate: int = 1000, seconds: float = 5.0,
                  processes: int = 2, connections: int = 8) -> tuple[list[float], list[float], float]:
    """Writer processes aim at `rate` events/s together; a watcher process measures the delay from
    a write being sent to its event arriving. Each side is its own process, so neither the client
    library nor one side's GIL adds to the other's figures. Returns the delays, the writes' own answer
    times and the achieved rate."""
    run = f"w{time.time_ns() % 10**9}"
    ctx = multiprocessing.get_context("fork")
    ready, results = ctx.Event(), ctx.Queue()
    watcher = ctx.Process(target=_watch_process, args=(base, token, ca_file, f"{run}-end", ready, results))
    watcher.start()
    ready.wait(30)
    time.sleep(0.5)
    start_at = time.perf_counter() + 1.0  # every writer connected before the first write
    writers = [ctx.Process(target=_write_process, args=(base, token, ca_file, f"{run}-{w}", rate / processes, connections,
                                                        start_at, seconds, results)) for w in range(processes)]
    for p in writers:
        p.start()
    sent: dict[str, float] = {}
    answered: list[float] = []
    for _ in writers:
        times, answers = results.get(timeout=seconds + 120)
        sent.update(times)
        answered += answers
    elapsed = time.perf_counter() - start_at
    for p in writers:
        p.join()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30,
                      verify=ssl.create_default_context(cafile=ca_file)) as c:
        c.post("/api/v1/namespaces/default/secrets", json={"metadata": {"name": f"{run}-end"}}).raise_for_status()
    arrived = results.get(timeout=120)
    watcher.join()
    missing = [n for n in sent if n not in arrived]
    assert not missing, f"{len(missing)} acknowledged writes never arrived on the watch, e.g. {missing[:3]}"
    return [arrived[n] - t for n, t in sent.items()], answered, len(sent) / elapsed


async def create_pods(base: str, headers: dict, n: int) -> None:
    sem = asyncio.Semaphore(16)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, verify=CA) as c:
        async def one(i: int) -> None:
            async with sem:
                r = await c.post("/api/v1/namespaces/default/pods", json=pod(f"p-{i:05d}"))
                assert r.status_code == 201, r.text
        await asyncio.gather(*(one(i) for i in range(n)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite_rate(Path(tmp) / "raw.db")
        cluster = new_cluster(Path(tmp))
        cluster.start()
        global CA
        CA = ssl.create_default_context(cafile=cluster.ca_file)
        try:
            base, headers = cluster.url, {"Authorization": f"Bearer {cluster.token}"}
            lat = single_client_latencies(base, headers)
            creates = asyncio.run(concurrent_creates(base, headers))
            delays, answered, achieved = watch_latency(base, cluster.token, cluster.ca_file)
            t = time.perf_counter()
            asyncio.run(create_pods(base, headers, args.pods))
            pod_create_s = time.perf_counter() - t
            timings = []
            for _ in range(3):
                t = time.perf_counter()
                proc = subprocess.run(["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir",
                                       str(cluster.cache_dir), "get", "pods", "-n", "default"],
                                      capture_output=True, text=True, check=True)
                timings.append(time.perf_counter() - t)
                rows = proc.stdout.count("\n") - 1
            server_side = []
            with httpx.Client(base_url=base, headers={**headers, "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
                              timeout=60, verify=CA) as c:
                for _ in range(3):
                    t = time.perf_counter()
                    c.get("/api/v1/namespaces/default/pods")
                    server_side.append(time.perf_counter() - t)
        finally:
            cluster.stop()
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731
    print(f"single client  create p50 {ms(pct(lat['create'], 50))}  p99 {ms(pct(lat['create'], 99))}")
    print(f"single client  get    p50 {ms(pct(lat['get'], 50))}  p99 {ms(pct(lat['get'], 99))}")
    print(f"single client  list   p50 {ms(pct(lat['list'], 50))}  p99 {ms(pct(lat['list'], 99))}  (limit 100)")
    print(f"creates/s with 8 concurrent clients: {creates:.0f}")
    print(f"raw SQLite single-commit writes/s (WAL, synchronous=FULL): {raw:.0f}")
    print(f"ratio creates/s : raw writes/s = {creates / raw:.1%}  (target >= 5%)")
    if delays:
        print(f"watch delivery, 2 writer processes aiming at 1000 events/s (achieved {achieved:.0f}/s): "
              f"p50 {ms(statistics.median(delays))}  p99 {ms(pct(delays, 99))}"
              f"  ({len(delays)} events, send-to-arrival; target p99 < 50 ms); the writes' own answers "
              f"p50 {ms(statistics.median(answered))}  p99 {ms(pct(answered, 99))}")
    print(f"created {args.pods} pods in {pod_create_s:.1f} s ({args.pods / pod_create_s:.0f}/s)")
    print(f"kubectl get pods over {rows} pods: best {min(timings):.2f} s (whole kubectl run); "
          f"server Table response best {min(server_side):.2f} s (target < 1 s)")


if __name__ == "__main__":
    main()
