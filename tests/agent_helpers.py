"""A `tinykube agent` process for tests, optionally inside another "host" (a network namespace),
and what tests of several servers and agents read through kubectl."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from helpers import Cluster


def get_json(c: Cluster, *args: str) -> dict:
    """`kubectl get ARGS -o json`, or {} when it fails (not found, server down)."""
    out = c.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def lease_holder(c: Cluster, name: str) -> str:
    """Who holds the kube-system leader Lease `name` ("" if unknown)."""
    return (get_json(c, "lease", name, "-n", "kube-system").get("spec") or {}).get("holderIdentity", "")


def identity(c: Cluster) -> str:
    """The server's leader-election identity suffix (kept in its data dir)."""
    return (c.data_dir / "identity").read_text().strip()


class Agent:
    def __init__(self, servers: list[str], token: str, node: str, data_dir: Path, *extra: str,
                 prefix: list[str] | None = None) -> None:
        self.node = node
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [*(prefix or []), sys.executable, "-m", "tinykube.cli", "agent", "--server", ",".join(servers),
             "--token", token, "--node-name", node, "--data-dir", str(data_dir), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
