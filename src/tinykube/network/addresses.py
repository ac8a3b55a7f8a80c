"""Service addresses on the loopback interface (`ip addr add IP/32 dev lo`), so that sockets can
bind a ClusterIP; only as root. Each address this server adds is recorded in a file in the data
dir: at shutdown those go, and at the next start any left by a crash go first. An address that
was already there (another server on this host holds it) is never ours to remove."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def can_manage() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


class LoopbackAddresses:
    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        self.enabled = can_manage()
        self.owned: set[str] = set()
        self.reserved: set[str] = set()  # held for the DNS server: the proxy never removes these

    def cleanup_stale(self) -> None:
        """Remove what a previous run of this data dir added and did not remove (a crash)."""
        if not self.enabled or not self.state_file.exists():
            return
        for ip in self.state_file.read_text().split():
            _ip("addr", "del", f"{ip}/32", "dev", "lo")
        self.state_file.unlink(missing_ok=True)

    def add(self, ip: str) -> bool:
        """Make `ip` local; True when it is (added now or already present)."""
        if not self.enabled:
            return False
        if ip in self.owned:
            return True
        result = _ip("addr", "add", f"{ip}/32", "dev", "lo")
        if result.returncode == 0:
            self.owned.add(ip)
            self._save()
            return True
        if "File exists" in result.stderr or "already assigned" in result.stderr:
            return True  # already local (another server's, or left by one killed with SIGKILL)
        log.warning("cannot add %s to lo: %s", ip, result.stderr.strip())
        return False

    def remove(self, ip: str) -> None:
        if ip in self.owned:
            _ip("addr", "del", f"{ip}/32", "dev", "lo")
            self.owned.discard(ip)
            self._save()

    def remove_all(self) -> None:
        for ip in sorted(self.owned):
            _ip("addr", "del", f"{ip}/32", "dev", "lo")
        self.owned.clear()
        self.state_file.unlink(missing_ok=True)

    def _save(self) -> None:
        self.state_file.write_text("".join(f"{ip}\n" for ip in sorted(self.owned)))
