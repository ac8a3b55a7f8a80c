"""Pod networking with iproute2: a bridge `tinykube0` on the host and per pod a network
namespace joined to it by a veth pair, as the bridge CNI plugin sets it up.

The bridge holds the node's gateway address (the first of its podCIDR), so the host reaches
every pod address directly; each pod has `eth0` with its address and a default route via the
gateway, and `lo` up (set from inside by the sandbox process). Host-side commands of pods that
start together go to one `ip -batch` process (`Batcher`). Several tinykube servers on one machine share the bridge, each with its
own /24 (the agent skips ranges the host already routes when it picks the local node's).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import subprocess
from pathlib import Path

from tinykube.kubelet import spawn

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


class Batcher:
    """Runs the host-side `ip` commands of pods that start (or stop) together in one `ip -batch`
    process: one process and one pass through the kernel's lock for a burst of pods instead of
    one each. A request waits at most for the batch before it; its failure is its own."""

    def __init__(self) -> None:
        self._pending: list[tuple[list[str], asyncio.Future[str | None]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, lines: list[str]) -> str | None:
        """Run the lines; None when all worked, else the error of the first that failed."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending.append((lines, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            script, owner = [], []
            for index, (lines, _) in enumerate(batch):
                script += lines
                owner += [index] * len(lines)
            try:
                proc = await spawn.create_subprocess_exec("ip", "-force", "-batch", "-",
                                                            stdin=asyncio.subprocess.PIPE,
                                                            stdout=asyncio.subprocess.DEVNULL,
                                                            stderr=asyncio.subprocess.PIPE)
                _, err = await proc.communicate("\n".join(script).encode() + b"\n")
                errors = failed_lines(err.decode(errors="replace"))
            except OSError as exc:
                errors = {n: str(exc) for n in range(1, len(script) + 1)}
            for index, (lines, future) in enumerate(batch):
                mine = [errors[n] for n, who in enumerate(owner, 1) if who == index and n in errors]
                if not future.done():
                    future.set_result(mine[0] if mine else None)


def failed_lines(stderr: str) -> dict[int, str]:
    """Line number → error of each failed line in `ip -force -batch -` output (pure)."""
    failed: dict[int, str] = {}
    message = ""
    for line in stderr.splitlines():
        if line.startswith("Command failed -:"):
            with contextlib.suppress(ValueError):
                failed[int(line.rsplit(":", 1)[1])] = message or line
            message = ""
        else:
            message = line.strip()
    return failed


def create_lines(netns: str, veth: str) -> list[str]:
    """Host side of a pod's network: the namespace, the veth pair (eth0 inside), on the bridge.
    The inside (addresses, lo, route) is configured by the sandbox process (`pause.py`)."""
    return [f"netns add {netns}", f"link add {veth} type veth peer name eth0 netns {netns}",
            f"link set {veth} master {BRIDGE} up"]


def delete_lines(netns: str) -> list[str]:
    """Deleting the namespace deletes eth0, and a veth pair goes with either end."""
    return [f"netns del {netns}"]


BATCHER = Batcher()


async def create_pod_network(netns: str, veth: str) -> None:
    error = await BATCHER.run(create_lines(netns, veth))
    if error is not None:
        await delete_pod_network(netns, veth)
        raise NetworkError(f"pod network {netns}: {error}")


async def delete_pod_network(netns: str, veth: str) -> None:
    if (NETNS_DIR / netns).exists():
        await BATCHER.run(delete_lines(netns))
    if Path(f"/sys/class/net/{veth}").exists():
        await BATCHER.run([f"link del {veth}"])


def delete_pod_network_sync(netns: str, veth: str) -> None:
    if netns and (NETNS_DIR / netns).exists():
        _ip_sync("netns", "del", netns)
    if veth and Path(f"/sys/class/net/{veth}").exists():
        _ip_sync("link", "del", veth)


def netns_path(netns: str) -> str:
    return str(NETNS_DIR / netns)
