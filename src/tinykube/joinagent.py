"""`tinykube agent`: one node on another host, joined to a server with its join token (k3s's way).

The same node agent the server runs in-process (kubelet/agent.py), here over the HTTP client.
The token's CA hash pins the cluster CA fetched from `/cacerts`, so the agent needs no file
copied from the server. The agent's informers ride out server restarts and fail-over: a dropped
watch resumes from the last resourceVersion (or re-lists after 410), failed writes are retried
by the work queue, and the pods keep running meanwhile. `--server` may name several servers:
the agent moves to the next one when the current one stops answering.

The token's secret is the cluster's admin token for now (the node has admin rights); node
credentials with node-only rights come with RBAC.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tinykube import gctuning
from tinykube.client.api import PODS
from tinykube.client.failover import FailoverClient
from tinykube.client.http import HttpClient
from tinykube.client.informer import InformerFactory
from tinykube.clock import Clock
from tinykube.jointoken import ca_hash, parse_token
from tinykube.kubelet.agent import NodeAgent

log = logging.getLogger("tinykube.agent")


@dataclass
class AgentConfig:
    servers: list[str]
    token: str
    node_name: str
    runtime: str = "process"  # process | sim
    data_dir: Path = Path.home() / ".tinykube-agent"
    ca_file: Path | None = None
    node_ip: str = ""
    time_scale: float = 1.0
    image_table: Path | None = None
    max_pods: int = 110


class JoinError(Exception):
    pass


async def fetch_ca(server: str, expected_hash: str) -> bytes:
    """The cluster CA from `/cacerts`, trusted only if its hash is the one in the join token."""
    async with httpx.AsyncClient(verify=False, timeout=10) as http:  # noqa: S501 - checked by hash below
        response = await http.get(f"{server.rstrip('/')}/cacerts")
    if response.status_code != 200:
        raise JoinError(f"{server}/cacerts answered {response.status_code}")
    if ca_hash(response.content) != expected_hash:
        raise JoinError(f"the CA of {server} does not match the join token's hash")
    return response.content


def outbound_address(server: str) -> str:
    """The local address this host uses to reach the server: the node's InternalIP."""
    host = urlsplit(server).hostname or "127.0.0.1"
    port = urlsplit(server).port or 443
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        return s.getsockname()[0]


async def trusted_ca(config: AgentConfig) -> bytes:
    token = parse_token(config.token)
    if config.ca_file is not None:
        return config.ca_file.read_bytes()
    if not token.ca_hash:
        raise JoinError("the token carries no CA hash (K10...): give --ca-file")
    last: Exception | None = None
    for _ in range(60):  # the server may still be starting
        for server in config.servers:
            try:
                return await fetch_ca(server, token.ca_hash)
            except JoinError:
                raise
            except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
                last = exc
        await asyncio.sleep(1)
    raise JoinError(f"no server answered: {last}")


async def run_agent(config: AgentConfig) -> int:
    clock = Clock(config.time_scale)
    try:
        ca = await trusted_ca(config)
    except (JoinError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    secret = parse_token(config.token).secret
    client = FailoverClient([HttpClient(url, secret, ca, field_manager="kubelet") for url in config.servers])
    informers = InformerFactory(client, clock)
    # only this node's pods: the server filters them, as it does for every kubelet
    informers.informer(PODS).field_selector = f"spec.nodeName={config.node_name}"
    data_dir = config.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = None
    if config.runtime == "process":
        runtime = _process_runtime(client, clock, data_dir, config.image_table)
    agent = NodeAgent(client, clock, informers, local_node=config.node_name, max_pods=config.max_pods,
                      local_runtime=runtime, own_simulated=False,
                      local_address=config.node_ip or outbound_address(config.servers[0]), local_labels={})
    informers.start()
    task = asyncio.create_task(agent.run(), name="node-agent")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    print(f"tinykube agent: node {config.node_name} joining {', '.join(config.servers)}", flush=True)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await informers.stop()
        await client.close()
    return 0


def _process_runtime(client, clock, data_dir: Path, image_table: Path | None):  # type: ignore[no-untyped-def]
    from tinykube.kubelet.images import load_table
    from tinykube.kubelet.process import ProcessRuntime

    images = load_table(image_table)

    def build(agent: NodeAgent) -> ProcessRuntime:
        return ProcessRuntime(client, clock, data_dir / "pods", agent.queue.add, images=images,
                              recorder=agent.recorder, allocatable=agent.local_allocatable)
    return build


def run(config: AgentConfig) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    gctuning.tune()
    return asyncio.run(run_agent(config))
