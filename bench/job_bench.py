"""Job benchmark: one Job with many completions and high parallelism on simulated nodes.

Run:  .venv/bin/python bench/job_bench.py [--nodes 1000] [--completions 10000] [--parallelism 500]
Starts `tinykube server --sim-nodes N` with zero-delay simulated stages, creates one Job whose
simulated pods exit 0 after `--run` (default 1 s), and follows the Job's status until it is
Complete. Prints completions/s, the most active pods seen at once (never above parallelism),
and the raw SQLite single-commit write rate measured in the same run.
Each completion costs a pod create, a binding, the kubelet's status writes, the job-tracking
finalizer removal, the pod's deletion and the Job's status updates.
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

PATH = "/apis/batch/v1/namespaces/default/jobs"


def job(completions: int, parallelism: int, run: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bench"},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": 0,
                     "template": {"metadata": {"annotations": {"sim.tinykube.io/exit-after": run}},
                                  "spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}}


def follow(c: httpx.Client, completions: int, timeout: float) -> tuple[float, int, list[tuple[float, int]]]:
    """Poll the Job until Complete: (seconds, most active at once, (time, succeeded) samples)."""
    start = time.perf_counter()
    most_active = 0
    samples = []
    while time.perf_counter() - start < timeout:
        status = c.get(f"{PATH}/bench").json().get("status", {})
        most_active = max(most_active, status.get("active", 0))
        samples.append((time.perf_counter() - start, status.get("succeeded", 0)))
        if any(x.get("type") == "Complete" and x.get("status") == "True" for x in status.get("conditions", [])):
            return time.perf_counter() - start, most_active, samples
        if any(x.get("type") == "Failed" and x.get("status") == "True" for x in status.get("conditions", [])):
            raise SystemExit(f"the job failed: {status}")
        time.sleep(0.5)
    raise SystemExit(f"the job did not complete in {timeout} s: {status}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--completions", type=int, default=10_000)
    parser.add_argument("--parallelism", type=int, default=500)
    parser.add_argument("--run", default="1s", help="how long each simulated pod runs")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_sqlite_rate(Path(tmp) / "raw.db")
        with sim_cluster(Path(tmp), args.nodes) as sim, sim.client() as c:
            c.post(PATH, json=job(args.completions, args.parallelism, args.run)).raise_for_status()
            seconds, most_active, samples = follow(c, args.completions, args.timeout)
    half = next(t for t, n in samples if n >= args.completions // 2)
    print(f"job with {args.completions} completions, parallelism {args.parallelism}, pods running {args.run}, "
          f"on {args.nodes} simulated nodes: Complete in {seconds:.1f} s ({args.completions / seconds:.0f} completions/s; "
          f"half done at {half:.1f} s)")
    print(f"most active pods seen at once: {most_active} (parallelism {args.parallelism})")
    print(f"raw SQLite single-commit writes/s: {raw:.0f}")


if __name__ == "__main__":
    main()
