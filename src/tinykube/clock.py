"""The one clock every component uses for timestamps, timers and sleeps.

Nothing in tinykube reads the wall clock or sleeps directly: it asks a `Clock`. The real
clock can run faster than wall time (`--time-scale`), so a CronJob's minute or a
Deployment's progress deadline can be watched without waiting, and tests stay short.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone


class Clock:
    """Cluster time: wall time at start, then advancing `scale` times faster than wall time."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._wall_start = time.time()
        self._mono_start = time.monotonic()

    def time(self) -> float:
        """Seconds since the epoch in cluster time."""
        return self._wall_start + (time.monotonic() - self._mono_start) * self.scale

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=timezone.utc)

    def monotonic(self) -> float:
        """Cluster seconds for measuring intervals (never goes back)."""
        return (time.monotonic() - self._mono_start) * self.scale

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of cluster time."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def rfc3339(self) -> str:
        """Now as Kubernetes writes metav1.Time: second precision, UTC, `Z` suffix."""
        return format_time(self.now())

    def rfc3339_micro(self) -> str:
        """Now as metav1.MicroTime (Leases, events.k8s.io)."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse metav1.Time / MicroTime strings (`...Z` or with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
