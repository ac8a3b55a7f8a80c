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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "server":
        from tinykube.server import ServerConfig, run

        if args.time_scale <= 0:
            print("error: --time-scale must be positive", file=sys.stderr)
            return 2
        return run(ServerConfig(data_dir=args.data_dir, port=args.port, kubeconfig=args.kubeconfig,
                                time_scale=args.time_scale))
    return 2


if __name__ == "__main__":
    sys.exit(main())
