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
    server.add_argument("--datastore", default="", metavar="URL",
                        help="etcd://HOST:PORT[,HOST:PORT...][/PREFIX]: keep the cluster's state in etcd "
                             "(default: SQLite in DATA_DIR/state.db)")
    server.add_argument("--token", default="", metavar="TOKEN",
                        help="the cluster's join token: found a new cluster with it, or join the "
                             "cluster already in --datastore (default: made at first start)")
    server.add_argument("--port", type=int, default=6443, help="API server port (default: 6443)")
    server.add_argument("--bind-address", default="127.0.0.1", metavar="ADDRESS",
                        help="address to listen on (default: 127.0.0.1); always TLS with authentication, the "
                             "serving certificate names it")
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
    server.add_argument("--node-name", default="", metavar="NAME",
                        help="name of this server's own node (default: the host name)")
    server.add_argument("--disable-agent", action="store_true",
                        help="run no node of this server's own (its simulated nodes still run)")
    server.add_argument("--pod-sandbox", choices=("auto", "off"), default="auto",
                        help="auto (default): as root on Linux, give each pod its own namespaces, pod "
                             "network, volume mounts and cgroups; off: run pods on the host")
    server.add_argument("--max-pods", type=int, default=110, metavar="N",
                        help="pod capacity of the local node when it is registered (default: 110)")
    server.add_argument("--service-cluster-ip-range", default="10.96.0.0/12", metavar="CIDR",
                        help="the IPv4 range Service ClusterIPs come from (default: 10.96.0.0/12)")
    server.add_argument("--service-node-port-range", default="30000-32767", metavar="LOW-HIGH",
                        help="the ports NodePort Services get (default: 30000-32767)")
    server.add_argument("--cluster-dns-port", type=int, default=0, metavar="PORT",
                        help="loopback UDP/TCP port of the cluster DNS server, printed at start "
                             "(default: any free port; as root it also answers on kube-dns's ClusterIP:53)")
    agent = commands.add_parser("agent", help="join a node on this host to a cluster (the server prints the token)")
    agent.add_argument("--server", required=True, metavar="URL",
                       help="the API server, e.g. https://10.0.0.1:6443 (several, comma-separated, for fail-over)")
    agent.add_argument("--token", required=True, help="the join token the server printed (DATA_DIR/node-token)")
    agent.add_argument("--node-name", required=True, metavar="NAME", help="name of the node to register")
    agent.add_argument("--runtime", choices=("process", "sim"), default="process",
                       help="run pods as local processes (default) or simulate them")
    agent.add_argument("--data-dir", type=Path, default=Path.home() / ".tinykube-agent",
                       help="where the agent keeps pod logs (default: ~/.tinykube-agent)")
    agent.add_argument("--ca-file", type=Path, default=None,
                       help="the cluster CA, for a token without a CA hash")
    agent.add_argument("--node-ip", default="", help="the node's InternalIP (default: the address that "
                                                     "reaches the server)")
    agent.add_argument("--time-scale", type=float, default=1.0,
                       help="cluster time speed; must match the server's (default: 1)")
    agent.add_argument("--image-table", type=Path, default=None, metavar="FILE",
                       help="YAML image table merged over the built-in one")
    agent.add_argument("--max-pods", type=int, default=110, metavar="N", help="pod capacity (default: 110)")
    return parser


def run_agent_command(args: argparse.Namespace) -> int:
    from tinykube.joinagent import AgentConfig, run
    from tinykube.jointoken import parse_token

    if args.time_scale <= 0 or args.max_pods < 1:
        print("error: --time-scale and --max-pods must be positive", file=sys.stderr)
        return 2
    try:
        parse_token(args.token)
    except ValueError as exc:
        print(f"error: --token: {exc}", file=sys.stderr)
        return 2
    servers = [s.strip().rstrip("/") for s in args.server.split(",") if s.strip()]
    return run(AgentConfig(servers=servers, token=args.token, node_name=args.node_name, runtime=args.runtime,
                           data_dir=args.data_dir, ca_file=args.ca_file, node_ip=args.node_ip,
                           time_scale=args.time_scale, image_table=args.image_table, max_pods=args.max_pods))


def yaml_error() -> type[Exception]:
    import yaml
    return yaml.YAMLError


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "agent":
        return run_agent_command(args)
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
        from tinykube.registry.serviceips import parse_cidr, parse_port_range
        try:
            parse_cidr(args.service_cluster_ip_range)
        except ValueError as exc:
            print(f"error: --service-cluster-ip-range {args.service_cluster_ip_range}: {exc}", file=sys.stderr)
            return 2
        try:
            parse_port_range(args.service_node_port_range)
        except ValueError as exc:
            print(f"error: --service-node-port-range {args.service_node_port_range}: {exc}", file=sys.stderr)
            return 2
        if not 0 <= args.cluster_dns_port <= 65535:
            print("error: --cluster-dns-port must be a port number", file=sys.stderr)
            return 2
        options = ComponentOptions(sim_nodes=args.sim_nodes, stages=stages,
                                   node_grace_period=args.node_monitor_grace_period,
                                   local_runtime=args.local_runtime, image_table=args.image_table,
                                   max_pods=args.max_pods, node_name=args.node_name,
                                   local_node=not args.disable_agent,
                                   pod_sandbox=args.pod_sandbox != "off")
        import ipaddress
        try:
            ipaddress.ip_address(args.bind_address)
        except ValueError:
            print(f"error: --bind-address {args.bind_address}: not an IP address", file=sys.stderr)
            return 2
        if args.datastore:
            from tinykube.storage.etcd import EtcdEndpoints
            try:
                EtcdEndpoints.parse(args.datastore)
            except ValueError as exc:
                print(f"error: --datastore: {exc}", file=sys.stderr)
                return 2
        return run(ServerConfig(data_dir=args.data_dir, port=args.port, kubeconfig=args.kubeconfig,
                                bind_address=args.bind_address, datastore=args.datastore, token=args.token,
                                time_scale=args.time_scale, service_cidr=args.service_cluster_ip_range,
                                node_port_range=args.service_node_port_range,
                                cluster_dns_port=args.cluster_dns_port, components=options))
    return 2


if __name__ == "__main__":
    sys.exit(main())
