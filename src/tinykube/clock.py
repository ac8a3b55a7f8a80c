"""The one clock every component uses for timestamps, timers and sleeps.

Nothing in tinykube reads the wall clock or sleeps directly: it asks a `Clock`. The real
clock can run faster than wall time (`--time-scale`), so a CronJob's minute or a
Deployment's progress deadline can be watched without waiting, and tests stay short.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import time
from datetime import datetime, timezone
from typing import Protocol


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

    def real_time(self) -> float:
        """Seconds since the epoch in wall time, never scaled: for measuring real processes
        (a CPU rate is CPU seconds per real second, whatever the time scale)."""
        return self._wall_start + (time.monotonic() - self._mono_start)

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of cluster time."""
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def rfc3339(self) -> str:
        """Now as Kubernetes writes metav1.Time: second precision, UTC, `Z` suffix."""
        return time_text(self.time())

    def rfc3339_micro(self) -> str:
        """Now as metav1.MicroTime (Leases, events.k8s.io)."""
        return self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AnyClock(Protocol):
    """What a component may ask of a clock; both `Clock` and `ManualClock` provide it."""

    scale: float

    def time(self) -> float: ...

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def real_time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def rfc3339(self) -> str: ...

    def rfc3339_micro(self) -> str: ...


DEFAULT_MANUAL_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_ROUNDING = 1e-9  # seconds; float error tolerated when comparing deadlines


class ManualClock(Clock):
    """A clock for tests: time stands still until the test calls `advance`.

    It is a `Clock` (so every component annotated with `Clock` accepts it), but it never
    reads the wall clock: sleepers park on futures, and `advance` moves time forward and
    wakes, in deadline order, every sleeper whose deadline has passed. `advance` is
    synchronous, so a task woken by it runs only once the test yields to the loop; a task
    that sleeps again after waking measures from the advanced time. Tests that need to
    know a component has parked can poll `sleepers`.
    """

    def __init__(self, start: datetime | float = DEFAULT_MANUAL_START) -> None:
        # Deliberately not calling Clock.__init__: that would read the wall clock.
        self.scale = 1.0
        self._epoch = start.timestamp() if isinstance(start, datetime) else float(start)
        self._elapsed = 0.0
        # Pending sleeps as (deadline, sequence, future); the sequence keeps equal
        # deadlines in the order they were requested.
        self._sleeping: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()

    def time(self) -> float:
        return self._epoch + self._elapsed

    def monotonic(self) -> float:
        return self._elapsed

    def real_time(self) -> float:
        return self.time()

    async def sleep(self, seconds: float) -> None:
        """Park until `advance` passes the deadline; `sleep(0)` (or less) yields once."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._elapsed + seconds, next(self._sequence), waiter)
        heapq.heappush(self._sleeping, entry)
        try:
            await waiter
        except asyncio.CancelledError:
            # A cancelled sleep must stop counting as a sleeper straight away.
            if entry in self._sleeping:
                self._sleeping.remove(entry)
                heapq.heapify(self._sleeping)
            raise

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline is now due, earliest first."""
        if seconds < 0:
            raise ValueError("a manual clock only moves forward")
        self._elapsed += seconds
        while self._sleeping and self._sleeping[0][0] <= self._elapsed + _ROUNDING:
            deadline, _, waiter = heapq.heappop(self._sleeping)
            # `advance(clock.next_wakeup)` can land a rounding error short of the deadline;
            # snap forward so a woken sleeper never sees a time before its deadline.
            self._elapsed = max(self._elapsed, deadline)
            if not waiter.done():
                waiter.set_result(None)

    @property
    def sleepers(self) -> int:
        """How many sleeps are pending (cancelled ones are not counted)."""
        return sum(1 for _, _, waiter in self._sleeping if not waiter.done())

    @property
    def next_wakeup(self) -> float | None:
        """Seconds until the earliest pending sleeper is due, or None if nobody sleeps."""
        pending = [deadline for deadline, _, waiter in self._sleeping if not waiter.done()]
        return min(pending) - self._elapsed if pending else None


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_text(seconds: float) -> str:
    """Seconds since the epoch as metav1.Time text (the fraction dropped)."""
    return _second_text(math.floor(seconds))


@functools.lru_cache(maxsize=256)
def _second_text(second: int) -> str:
    # every status write stamps a few times; within one second they are all the same text
    return format_time(datetime.fromtimestamp(second, tz=timezone.utc))


def parse_time(text: str) -> datetime:
    """Parse metav1.Time / MicroTime strings (`...Z` or with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def timestamp_of(text: object) -> float | None:
    """Seconds since the epoch of a metav1.Time string; None when absent or malformed
    (controllers read times written by any client and must not fail on a bad one)."""
    if not text or not isinstance(text, str):
        return None
    try:
        return parse_time(text).timestamp()
    except ValueError:
        return None
