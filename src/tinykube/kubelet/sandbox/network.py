"""Pod networking with iproute2: a bridge `tinykube0` on the host and per pod a network
namespace joined to it by a veth pair, as the bridge CNI plugin sets it up.

The bridge holds the node's gateway address (the first of its podCIDR), so the host reaches
every pod address directly; each pod has `eth0` with its address and a default route via the
gateway, and `lo` up. Several tinykube servers on one machine share the bridge, each with its
own /24 (the agent skips ranges the host already routes when it picks the local node's).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

BRIDGE = "tinykube0"
NETNS_DIR = Path("/run/netns")


class NetworkError(RuntimeError):
    pass


async def _ip(*args: str, batch: str | None = None) -> None:
    proc = await asyncio.create_subprocess_exec("ip", *args, stdin=asyncio.subprocess.PIPE if batch else
                                                asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate(batch.encode() if batch else None)
    if proc.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {err.decode(errors='replace').strip()}")


def _ip_sync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


def routed_networks() -> set[str]:
    """The IPv4 networks the host routes on the bridge already (other tinykube servers' ranges)."""
    out = _ip_sync("-4", "-o", "addr", "show", "dev", BRIDGE)
    nets = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.add(str(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network))
    return nets


def ensure_bridge(gateway: str) -> None:
    """The bridge, up, with `gateway` ("10.244.0.1/24") on it; forwarding on, so pods of
    different servers' ranges reach each other through the host."""
    if _ip_sync("link", "show", BRIDGE).returncode != 0:
        created = _ip_sync("link", "add", BRIDGE, "type", "bridge")
        if created.returncode != 0 and "exists" not in created.stderr:
            raise NetworkError(f"bridge {BRIDGE}: {created.stderr.strip()}")
    _ip_sync("link", "set", BRIDGE, "up")
    added = _ip_sync("addr", "add", gateway, "dev", BRIDGE)
    if added.returncode != 0 and not any(word in added.stderr for word in ("exists", "already assigned")):
        raise NetworkError(f"address {gateway} on {BRIDGE}: {added.stderr.strip()}")
    with contextlib.suppress(OSError):
        Path("/proc/sys/net/ipv4/ip_forward").write_text("1")


def release_gateway(gateway: str) -> None:
    """The server stops: its range leaves the bridge (the bridge stays for others)."""
    _ip_sync("addr", "del", gateway, "dev", BRIDGE)


async def create_pod_network(netns: str, veth: str, address: str, gateway: str) -> None:
    """A named network namespace with eth0 = `address` on the bridge, lo up, default route."""
    prefix = gateway.split("/")[1]
    await _ip("netns", "add", netns)
    try:
        await _ip("-batch", "-", batch=f"link add {veth} type veth peer name eth0 netns {netns}\n"
                                       f"link set {veth} master {BRIDGE} up\n")
        await _ip("-n", netns, "-batch", "-", batch=f"addr add {address}/{prefix} dev eth0\n"
                                                    "link set eth0 up\nlink set lo up\n"
                                                    f"route add default via {gateway.split('/')[0]}\n")
    except NetworkError:
        await delete_pod_network(netns, veth)
        raise


async def delete_pod_network(netns: str, veth: str) -> None:
    """Remove the namespace (its eth0 goes with it, and the host end of the pair with that)."""
    with contextlib.suppress(NetworkError):
        await _ip("link", "del", veth)
    with contextlib.suppress(NetworkError):
        await _ip("netns", "del", netns)


def delete_pod_network_sync(netns: str, veth: str) -> None:
    _ip_sync("link", "del", veth)
    _ip_sync("netns", "del", netns)


def netns_path(netns: str) -> str:
    return str(NETNS_DIR / netns)
