"""Process runtime benchmark: pods of real processes to Running, next to the raw spawn rate.

Run:  .venv/bin/python bench/process_bench.py [--pods 200]
Starts its own `tinykube server` (local node on the process runtime, no simulated nodes) in a
temp dir, creates N single-container `sleep 3600` pods as fast as the API takes them, and
follows a watch until every pod is Running with Ready=True. Prints pods/s to Running and the
start latency (create request sent → Running seen on the watch) p50/p99, and the raw rate of
spawning N `sleep` processes with asyncio directly (same session/pipe setup) in the same run.
Targets (issue 6): p99 start latency < 1 s; pods/s >= 25% of the raw spawn rate.
`--pod-sandbox off` measures pods on the host (as without root) to compare with sandboxed pods.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers import create_namespace, new_cluster  # noqa: E402
from leanhttp import LeanConnection  # noqa: E402

CONCURRENT_CREATES = 20


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def raw_spawn_rate(n: int) -> float:
    """Processes/s: spawn N `sleep 3600` in their own sessions with piped output, then kill them."""
    start = time.perf_counter()
    procs = [await asyncio.create_subprocess_exec("sleep", "3600", stdin=asyncio.subprocess.DEVNULL,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                  start_new_session=True) for _ in range(n)]
    rate = n / (time.perf_counter() - start)
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
    for proc in procs:
        await proc.wait()
    return rate


def agent_cpu(server: psutil.Process) -> dict[str, float]:
    """CPU seconds so far of the server process, apart of its direct child processes (the sandbox
    fork server, and the processes pods run when there is no sandbox), and of this bench client."""
    spent = {"server": sum(server.cpu_times()[:2]), "its child processes": 0.0,
             "this client": sum(psutil.Process().cpu_times()[:2])}
    for child in server.children():
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        spent["its child processes"] += times.user + times.system
    return spent


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}


def running_and_ready(obj: dict) -> bool:
    status = obj.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


async def run(n: int, runtime: str = "process", extra: tuple[str, ...] = ()) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = new_cluster(Path(tmp))
        cluster.start(("--local-runtime", runtime, "--max-pods", str(max(110, n + 10)), *extra))
        try:
            ns = create_namespace(cluster)
            ca = ssl.create_default_context(cafile=cluster.ca_file)
            headers = {"Authorization": f"Bearer {cluster.token}"}
            async with httpx.AsyncClient(base_url=cluster.url, verify=ca, headers=headers, timeout=60,
                                         limits=httpx.Limits(max_connections=20)) as client:
                listing = (await client.get(f"/api/v1/namespaces/{ns}/pods")).json()
                rv = listing["metadata"]["resourceVersion"]
                sent: dict[str, float] = {}
                running: dict[str, float] = {}
                done = asyncio.Event()

                def seen(obj: dict) -> None:
                    name = obj["metadata"]["name"]
                    if name not in running and running_and_ready(obj):
                        running[name] = time.perf_counter()
                        if len(running) == n:
                            done.set()

                async def follow(rv: str) -> None:
                    """Watch; a watch the server drops (a slow reader) resumes from a fresh list."""
                    while not done.is_set():
                        try:
                            async with client.stream("GET", f"/api/v1/namespaces/{ns}/pods",
                                                     params={"watch": "1", "resourceVersion": rv},
                                                     timeout=None) as stream:
                                async for line in stream.aiter_lines():
                                    if line:
                                        seen(orjson.loads(line)["object"])
                                    if done.is_set():
                                        return
                        except httpx.HTTPError:
                            pass
                        listing = (await client.get(f"/api/v1/namespaces/{ns}/pods")).json()
                        for item in listing["items"]:
                            seen(item)
                        rv = listing["metadata"]["resourceVersion"]

                watcher = asyncio.create_task(follow(rv))
                # the creates go on lean connections (httpx costs ~1 ms of CPU per request, which on
                # a 2-core machine is taken from the server under test), opened before the clock starts
                connections = [LeanConnection(cluster.url, cluster.token, cluster.ca_file)
                               for _ in range(CONCURRENT_CREATES)]
                for connection in connections:
                    await connection.__aenter__()
                await asyncio.sleep(0.2)
                server = psutil.Process(cluster.process.pid)
                cpu_before = agent_cpu(server)
                began = time.perf_counter()
                numbers = iter(range(n))

                async def create_on(connection: LeanConnection) -> None:
                    for i in numbers:
                        name = f"sleep-{i}"
                        sent[name] = time.perf_counter()
                        status, body = await connection.post(f"/api/v1/namespaces/{ns}/pods", pod(name))
                        if status != 201:
                            raise RuntimeError(f"create {name}: {status} {body[:300]!r}")

                await asyncio.gather(*(create_on(connection) for connection in connections))
                created = time.perf_counter()
                await asyncio.wait_for(done.wait(), 300)
                finished = time.perf_counter()
                cpu = {part: spent - cpu_before.get(part, 0.0) for part, spent in agent_cpu(server).items()}
                watcher.cancel()
                for connection in connections:
                    await connection.__aexit__()
            latencies = [running[name] - sent[name] for name in sent]
            pods_per_s = n / (finished - began)
            raw = await raw_spawn_rate(n)
            print(f"pods: {n} single-container `sleep 3600` pods on the local node ({runtime} runtime)")
            print(f"created in {created - began:.2f}s; all Running+Ready after {finished - began:.2f}s")
            print(f"pods/s to Running: {pods_per_s:.1f}")
            print(f"start latency: p50 {pct(latencies, 50) * 1000:.0f} ms, p99 {pct(latencies, 99) * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms  (target p99 < 1000 ms)")
            print("CPU per pod: " + ", ".join(f"{part} {spent * 1000 / n:.2f} ms" for part, spent in cpu.items()))
            print(f"raw asyncio spawn rate: {raw:.1f} processes/s; pods/s is {pods_per_s / raw * 100:.1f}% of it "
                  f"(target >= 25%)")
        except BaseException:
            print("".join(cluster.output[-40:]), file=sys.stderr)
            raise
        finally:
            open("/tmp/bench-out.txt", "w").write("".join(cluster.output))
            cluster.stop(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--local-runtime", choices=("process", "sim"), default="process",
                        help="sim: the same run with simulated containers, to see the control plane's own share")
    parser.add_argument("--pod-sandbox", choices=("auto", "off"), default="auto",
                        help="the server's --pod-sandbox: off measures pods on the host (no namespaces)")
    args = parser.parse_args()
    asyncio.run(run(args.pods, args.local_runtime, ("--pod-sandbox", args.pod_sandbox)))


if __name__ == "__main__":
    main()
