"""Real etcd members for tests: on free loopback ports, data in a temp dir.

Tests that need etcd fail (never skip) when the binary is missing: `.ci/run` installs the
Debian package `etcd-server`, so a CI run can never pass without exercising etcd.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from helpers import free_port

READY_TIMEOUT = 60.0


def etcd_binary() -> str:
    path = shutil.which("etcd")
    if path is None:
        raise RuntimeError("etcd is not installed (apt-get install etcd-server; .ci/run does it)")
    return path


@dataclass
class Member:
    name: str
    data_dir: Path
    client_port: int
    peer_port: int
    process: subprocess.Popen | None = None

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


@dataclass
class EtcdCluster:
    """One or more etcd members forming a cluster on loopback."""

    root: Path
    size: int = 1
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i in range(self.size):
            self.members.append(Member(f"m{i}", self.root / f"m{i}", free_port(), free_port()))

    @property
    def url(self) -> str:
        """The `--datastore` value naming every member."""
        return "etcd://" + ",".join(f"127.0.0.1:{m.client_port}" for m in self.members)

    def start(self) -> None:
        initial = ",".join(f"{m.name}={m.peer_url}" for m in self.members)
        for m in self.members:
            self.start_member(m, initial)
        for m in self.members:
            self.wait_healthy(m)

    def start_member(self, m: Member, initial: str | None = None) -> None:
        initial = initial or ",".join(f"{x.name}={x.peer_url}" for x in self.members)
        m.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"{m.name}.log", "ab")
        m.process = subprocess.Popen(
            [etcd_binary(), "--name", m.name, "--data-dir", str(m.data_dir),
             "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
             "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
             "--initial-cluster", initial, "--initial-cluster-state", "new",
             "--initial-cluster-token", f"tinykube-test-{self.root.name}",
             "--heartbeat-interval", "100", "--election-timeout", "1000", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ETCD_UNSUPPORTED_ARCH": "1"})

    def wait_healthy(self, m: Member) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert m.process is not None
            if m.process.poll() is not None:
                raise RuntimeError(f"etcd {m.name} exited:\n" + (self.root / f"{m.name}.log").read_text())
            try:
                if httpx.get(m.client_url + "/health", timeout=2).json().get("health") == "true":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"etcd {m.name} not healthy:\n" + (self.root / f"{m.name}.log").read_text())

    def kill(self, m: Member) -> None:
        if m.process is not None and m.process.poll() is None:
            m.process.send_signal(signal.SIGKILL)
            m.process.wait()

    def stop(self) -> None:
        for m in self.members:
            if m.process is not None and m.process.poll() is None:
                m.process.terminate()
        for m in self.members:
            if m.process is not None:
                try:
                    m.process.wait(10)
                except subprocess.TimeoutExpired:
                    m.process.kill()
                    m.process.wait()
