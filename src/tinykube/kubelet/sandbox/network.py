"""Pod networking with iproute2: a bridge `tinykube0` on the host and per pod a network
namespace joined to it by a veth pair, as the bridge CNI plugin sets it up.

The bridge holds the node's gateway address (the first of its podCIDR), so the host reaches
every pod address directly; each pod has `eth0` with its address and a default route via the
gateway, and `lo` up. The pod's side is made by its sandbox process (`pause.make_namespaces`,
`pause.configure_network`), this module makes and keeps the bridge. Several tinykube servers
on one machine share the bridge, each with its own /24 (the agent skips ranges the host
already routes when it picks the local node's).
"""

from __future__ import annotations

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


def remove_leftovers(netns: str, veth: str) -> None:
    """What a sandbox of an agent that died may have left: its veth (gone with the namespace
    once the pod's processes are killed, unless the kernel is slow to free it), and the named
    network namespace earlier versions made."""
    if netns and (NETNS_DIR / netns).exists():
        _ip_sync("netns", "del", netns)
    if veth and Path(f"/sys/class/net/{veth}").exists():
        _ip_sync("link", "del", veth)
