"""Separate "hosts" on one machine: network namespaces on a bridge, joined by veth pairs.

The host side of the bridge gets .1 of a /24; host i gets .(10+i). Names carry a random tag so
parallel runs (and other users of the machine) never collide; everything is removed on exit.
Needs root and `ip` (iproute2); tests using it fail without them rather than skip.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@dataclass
class Hosts:
    count: int
    tag: str = field(default_factory=lambda: f"{random.randrange(16**4):04x}")
    subnet: int = field(default_factory=lambda: random.randrange(100, 250))

    @property
    def bridge(self) -> str:
        return f"tkb{self.tag}"

    @property
    def gateway(self) -> str:
        """The address of the machine itself on the hosts' network (where the servers listen)."""
        return f"10.77.{self.subnet}.1"

    def name(self, i: int) -> str:
        return f"tkh{self.tag}-{i}"

    def address(self, i: int) -> str:
        return f"10.77.{self.subnet}.{10 + i}"

    def __enter__(self) -> "Hosts":
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i in range(1, self.count + 1):
            ns = self.name(i)
            ip("netns", "add", ns)
            ip("link", "add", f"tkv{self.tag}{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", f"tkv{self.tag}{i}", "master", self.bridge, "up")
            ip("-n", ns, "addr", "add", f"{self.address(i)}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc: object) -> None:
        for i in range(1, self.count + 1):
            subprocess.run(["ip", "netns", "del", self.name(i)], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def command(self, i: int, argv: list[str]) -> list[str]:
        """`argv` run inside host i."""
        return ["ip", "netns", "exec", self.name(i), *argv]
