"""Write-path benchmark: CPU cost of each write a pod's life takes, in-process, no HTTP.

Run:  .venv/bin/python bench/write_path_bench.py [--pods 2000] [--profile]
Opens the registry on a fresh SQLite store (as `tinykube server` does) and drives the writes one
pod goes through on a simulated node — create (as a ReplicaSet would), binding, the kubelet's
two status updates, an event, graceful delete and the final delete — through the in-process
client the controllers use. Prints process CPU microseconds per write of each kind (CPU time,
so the figure holds on a busy machine), the writes/s that implies for one core, and the raw
SQLite single-commit rate measured in the same run. With --profile, prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import raw_sqlite_rate  # noqa: E402

from tinykube.client.api import PODS, resource  # noqa: E402
from tinykube.client.local import LocalClient  # noqa: E402
from tinykube.clock import Clock  # noqa: E402
from tinykube.registry.hooks import kind_hooks  # noqa: E402
from tinykube.registry.objects import ObjectRegistry  # noqa: E402
from tinykube.server import bootstrap  # noqa: E402
from tinykube.storage.sqlite import SqliteStore  # noqa: E402

EVENTS = resource("v1", "events")


def pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"web-{i}", "namespace": "default", "labels": {"app": "web"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                              "uid": "00000000-0000-0000-0000-000000000001", "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def status(obj: dict, now: str, running: bool) -> dict:
    ready = "True" if running else "False"
    conditions = [{"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": now}
                  for t, s in (("PodReadyToStartContainers", ready), ("Initialized", "True"), ("Ready", ready),
                               ("ContainersReady", ready), ("PodScheduled", "True"))]
    state = {"running": {"startedAt": now}} if running else {"waiting": {"reason": "ContainerCreating"}}
    return dict(obj, status={
        "phase": "Running" if running else "Pending", "conditions": conditions, "hostIP": "10.0.0.1",
        "hostIPs": [{"ip": "10.0.0.1"}], "podIP": "10.244.0.5" if running else None,
        "startTime": now, "qosClass": "Burstable",
        "containerStatuses": [{"name": "c", "state": state, "lastState": {}, "ready": running, "restartCount": 0,
                               "image": "nginx:1.25", "imageID": "", "started": running}]})


def event(i: int, now: str) -> dict:
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"web-{i}.{i:016x}", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": f"web-{i}", "apiVersion": "v1"},
            "reason": "Started", "message": "Started container c", "type": "Normal",
            "source": {"component": "kubelet", "host": "sim-1"}, "firstTimestamp": now, "lastTimestamp": now,
            "count": 1, "reportingComponent": "kubelet", "reportingInstance": "sim-1"}


async def run(n: int, tmp: Path) -> dict[str, float]:
    clock = Clock()
    store = await SqliteStore.open(tmp / "state.db")
    registry = ObjectRegistry(store, clock, kind_hooks(clock))
    await bootstrap(registry)
    controller, scheduler, kubelet = (LocalClient(registry, m) for m in
                                      ("kube-controller-manager", "kube-scheduler", "kubelet"))
    cost: dict[str, float] = {}

    async def phase(name: str, writes) -> None:
        start = time.process_time()
        for i in range(n):
            await writes(i)
        cost[name] = (time.process_time() - start) / n * 1e6

    pods: dict[int, dict] = {}

    async def create(i: int) -> None:
        pods[i] = await controller.create(PODS, pod(i))

    async def bind(i: int) -> None:
        await scheduler.bind(pods[i], "sim-1")
        pods[i] = await scheduler.get(PODS, f"web-{i}", "default")

    async def creating(i: int) -> None:
        pods[i] = await kubelet.update_status(PODS, status(pods[i], clock.rfc3339(), False))

    async def running(i: int) -> None:
        pods[i] = await kubelet.update_status(PODS, status(pods[i], clock.rfc3339(), True))

    async def record(i: int) -> None:
        await kubelet.create(EVENTS, event(i, clock.rfc3339()))

    async def delete(i: int) -> None:
        await controller.delete(PODS, f"web-{i}", "default")

    async def finish(i: int) -> None:
        await kubelet.delete(PODS, f"web-{i}", "default", grace_period_seconds=0)

    for name, writes in (("create", create), ("bind", bind), ("status: creating", creating),
                         ("status: running", running), ("event", record), ("delete (graceful)", delete),
                         ("delete (final)", finish)):
        await phase(name, writes)
    await store.close()
    return cost


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite_rate(Path(tmp) / "raw.db")
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        cost = asyncio.run(run(args.pods, Path(tmp)))
        if profiler:
            profiler.disable()
    total = sum(cost.values())
    for name, micros in cost.items():
        print(f"{name:20s} {micros:7.0f} µs CPU per write")
    print(f"{'one pod, all writes':20s} {total:7.0f} µs CPU → at most {1e6 / total:.0f} pods/s on one core "
          f"({len(cost) * 1e6 / total:.0f} writes/s)")
    print(f"raw SQLite single-commit writes/s: {raw:.0f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
