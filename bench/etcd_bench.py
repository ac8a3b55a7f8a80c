"""The Deployment scale-up against etcd and against SQLite in one run, and their ratio.

Run:  .venv/bin/python bench/etcd_bench.py [--nodes 100] [--replicas 1000]
      .venv/bin/python bench/etcd_bench.py --full     (issue 10's size: 10,000 replicas on 1,000 nodes)
Starts a one-member etcd (the Debian package `etcd-server`) on free loopback ports, then the same
scale 0 -> N of bench/deployment_bench.py on a server with `--datastore etcd://...` and on one
with the default SQLite store, and prints pods/s of each and etcd's time over SQLite's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deployment_bench import scale_up  # noqa: E402
from simcluster import sim_cluster  # noqa: E402

from etcd_helpers import EtcdCluster  # noqa: E402  (tests/ is on the path through simcluster)


def run(tmp: Path, nodes: int, replicas: int, *extra: str) -> float:
    with sim_cluster(tmp, nodes, *extra) as sim, sim.client() as c:
        return scale_up(c, replicas)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--full", action="store_true", help="10,000 replicas on 1,000 nodes")
    args = parser.parse_args()
    if args.full:
        args.nodes, args.replicas = 1000, 10_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        etcd = EtcdCluster(root / "etcd", size=1)
        etcd.start()
        try:
            (root / "on-etcd").mkdir()
            etcd_s = run(root / "on-etcd", args.nodes, args.replicas, "--datastore", etcd.url)
            print(f"etcd:   scaled to {args.replicas} in {etcd_s:.1f} s", flush=True)
        finally:
            etcd.stop()
        (root / "on-sqlite").mkdir()
        sqlite_s = run(root / "on-sqlite", args.nodes, args.replicas)
        print(f"sqlite: scaled to {args.replicas} in {sqlite_s:.1f} s", flush=True)
    print(f"scale 0 -> {args.replicas} on {args.nodes} simulated nodes, all available:")
    print(f"  etcd   {etcd_s:7.1f} s  ({args.replicas / etcd_s:.0f} pods/s)")
    print(f"  sqlite {sqlite_s:7.1f} s  ({args.replicas / sqlite_s:.0f} pods/s)")
    print(f"  etcd / sqlite time ratio: {etcd_s / sqlite_s:.2f}")


if __name__ == "__main__":
    main()
