"""The `tinykube` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinykube", description="A Kubernetes-compatible control plane in Python.")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="run the all-in-one cluster (API server, store, controllers)")
    server.add_argument("--data-dir", type=Path, default=Path.home() / ".tinykube",
                        help="where the cluster keeps its state (default: ~/.tinykube)")
    server.add_argument("--port", type=int, default=6443, help="API server port (default: 6443)")
    server.add_argument("--kubeconfig", type=Path, default=None,
                        help="where to write the admin kubeconfig (default: DATA_DIR/kubeconfig.yaml)")
    server.add_argument("--time-scale", type=float, default=1.0,
                        help="run cluster time this many times faster than wall time (default: 1)")
    server.add_argument("--sim-nodes", type=int, default=0, metavar="N",
                        help="add N simulated nodes sim-1..sim-N (default: 0)")
    server.add_argument("--sim-stages", type=Path, default=None, metavar="FILE",
                        help="YAML file of simulated pod lifecycle stages (see README)")
    server.add_argument("--node-monitor-grace-period", type=float, default=50.0, metavar="SECONDS",
                        help="how long a node may be silent before it is marked NotReady (default: 50)")
    server.add_argument("--local-runtime", choices=("process", "sim"), default="process",
                        help="how the local node runs pods: real local processes (default) or simulated")
    server.add_argument("--image-table", type=Path, default=None, metavar="FILE",
                        help="YAML image table merged over the built-in one: what a container without "
                             "command runs (see README)")
    server.add_argument("--pod-sandbox", choices=("auto", "off"), default="auto",
                        help="auto (default): as root on Linux, give each pod its own namespaces, pod "
                             "network, volume mounts and cgroups; off: run pods on the host")
    server.add_argument("--max-pods", type=int, default=110, metavar="N",
                        help="pod capacity of the local node when it is registered (default: 110)")
    return parser


def yaml_error() -> type[Exception]:
    import yaml
    return yaml.YAMLError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "server":
        from tinykube.server import ServerConfig, run

        if args.time_scale <= 0:
            print("error: --time-scale must be positive", file=sys.stderr)
            return 2
        from tinykube.components import ComponentOptions
        from tinykube.kubelet.stages import DEFAULT_STAGES, load_stages

        if args.max_pods < 1:
            print("error: --max-pods must be positive", file=sys.stderr)
            return 2
        if args.sim_nodes < 0:
            print("error: --sim-nodes must not be negative", file=sys.stderr)
            return 2
        stages = DEFAULT_STAGES
        if args.sim_stages is not None:
            try:
                stages = load_stages(args.sim_stages)
            except (OSError, ValueError) as exc:
                print(f"error: --sim-stages {args.sim_stages}: {exc}", file=sys.stderr)
                return 2
        if args.image_table is not None:
            from tinykube.kubelet.images import load_table
            try:
                load_table(args.image_table)
            except (OSError, ValueError, yaml_error()) as exc:
                print(f"error: --image-table {args.image_table}: {exc}", file=sys.stderr)
                return 2
        options = ComponentOptions(sim_nodes=args.sim_nodes, stages=stages,
                                   node_grace_period=args.node_monitor_grace_period,
                                   local_runtime=args.local_runtime, image_table=args.image_table,
                                   max_pods=args.max_pods, pod_sandbox=args.pod_sandbox != "off")
        return run(ServerConfig(data_dir=args.data_dir, port=args.port, kubeconfig=args.kubeconfig,
                                time_scale=args.time_scale, components=options))
    return 2


if __name__ == "__main__":
    sys.exit(main())
