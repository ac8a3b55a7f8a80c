"""Rate limiters for workqueue retries, with client-go's semantics.

A controller whose sync fails puts the key back with `WorkQueue.add_rate_limited`; the
limiter decides how long the key waits. Per-item exponential backoff keeps one broken
object from spinning; a shared token bucket keeps many failing objects from flooding the
API server. `forget` is called after a successful sync so the next failure starts over.

All delays are in cluster seconds, measured with the component's clock.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

from tinykube.clock import AnyClock


class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds `item` should wait before it is processed again (records a requeue)."""
        ...

    def forget(self, item: Hashable) -> None:
        """Stop tracking `item`: its next failure is treated as its first."""
        ...

    def num_requeues(self, item: Hashable) -> int:
        """How many times `item` has been requeued since it was last forgotten."""
        ...


class ItemExponentialRateLimiter:
    """Per-item backoff: the n-th consecutive failure waits base * 2**n, at most `cap`."""

    # 2.0 ** 1000 is still a finite float; past that every delay is the cap anyway.
    _MAX_EXPONENT = 1000

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        if base < 0 or cap < 0:
            raise ValueError("backoff delays must not be negative")
        self.base = base
        self.cap = cap
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        failures = self._failures.get(item, 0)
        self._failures[item] = failures + 1
        return min(self.cap, self.base * 2.0 ** min(failures, self._MAX_EXPONENT))

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """A token bucket shared by all items: `burst` requeues at once, then `qps` per second.

    `when` reserves a token and returns how long the caller must wait for it (zero while
    tokens remain), like golang.org/x/time/rate's Reserve().Delay(). It keeps no per-item
    state, so `forget` does nothing and `num_requeues` is always 0.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, *, clock: AnyClock) -> None:
        if qps <= 0:
            raise ValueError("qps must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)  # may go negative: tokens already promised to waiters
        self._last = clock.monotonic()

    def when(self, item: Hashable) -> float:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps)
        self._last = now
        self._tokens -= 1.0
        return -self._tokens / self.qps if self._tokens < 0 else 0.0

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """Combines limiters: the longest delay wins; every limiter records every requeue."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("MaxOfRateLimiter needs at least one limiter")
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        # Ask every limiter (not just until one says "long"): each must count the requeue.
        return max([limiter.when(item) for limiter in self.limiters])

    def forget(self, item: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: AnyClock) -> MaxOfRateLimiter:
    """client-go's default: per-item backoff from 5ms to 1000s, and 10 qps / 100 burst overall."""
    return MaxOfRateLimiter(
        ItemExponentialRateLimiter(0.005, 1000.0),
        BucketRateLimiter(10.0, 100, clock=clock),
    )
