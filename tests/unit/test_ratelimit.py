"""Rate limiters behave as client-go's: per-item exponential backoff, token bucket, max-of."""

from __future__ import annotations

import pytest

from tinykube.clock import ManualClock
from tinykube.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)


@pytest.mark.parametrize("base, cap, delays", [
    (0.005, 1000.0, [0.005, 0.01, 0.02, 0.04, 0.08, 0.16]),
    (1.0, 10.0, [1, 2, 4, 8, 10, 10, 10]),
    (0.5, 0.5, [0.5, 0.5, 0.5]),
    (0.0, 1.0, [0, 0, 0]),
])
def test_exponential_backoff_grows_to_the_cap(base, cap, delays):
    limiter = ItemExponentialRateLimiter(base, cap)
    assert [limiter.when("ns/a") for _ in delays] == pytest.approx(delays)
    assert limiter.num_requeues("ns/a") == len(delays)


def test_exponential_backoff_is_per_item_and_forget_resets():
    limiter = ItemExponentialRateLimiter(1.0, 100.0)
    assert [limiter.when("a") for _ in range(3)] == [1, 2, 4]
    assert limiter.when("b") == 1
    assert (limiter.num_requeues("a"), limiter.num_requeues("b")) == (3, 1)
    limiter.forget("a")
    limiter.forget("never-seen")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 1
    assert limiter.when("b") == 2


def test_exponential_backoff_does_not_overflow():
    limiter = ItemExponentialRateLimiter(0.005, 1000.0)
    for _ in range(5000):
        delay = limiter.when("a")
    assert delay == 1000.0


def test_bucket_allows_burst_then_spaces_by_qps():
    clock = ManualClock()
    limiter = BucketRateLimiter(10, 3, clock=clock)
    assert [limiter.when(i) for i in range(5)] == pytest.approx([0, 0, 0, 0.1, 0.2])
    clock.advance(0.2)  # two tokens back, both already promised
    assert limiter.when("x") == pytest.approx(0.1)
    clock.advance(100)  # refills up to the burst only
    assert [limiter.when(i) for i in range(4)] == pytest.approx([0, 0, 0, 0.1])
    limiter.forget("x")
    assert limiter.num_requeues("x") == 0


@pytest.mark.parametrize("make", [
    lambda clock: BucketRateLimiter(0, 1, clock=clock),
    lambda clock: BucketRateLimiter(1, 0, clock=clock),
    lambda clock: ItemExponentialRateLimiter(-1, 1),
    lambda clock: MaxOfRateLimiter(),
])
def test_invalid_limiters_are_rejected(make):
    with pytest.raises(ValueError):
        make(ManualClock())


def test_max_of_takes_the_longest_and_tracks_in_all():
    fast = ItemExponentialRateLimiter(1.0, 1000.0)
    slow = ItemExponentialRateLimiter(3.0, 5.0)
    limiter = MaxOfRateLimiter(fast, slow)
    assert [limiter.when("a") for _ in range(5)] == [3, 5, 5, 8, 16]
    assert limiter.num_requeues("a") == 5
    limiter.forget("a")
    assert fast.num_requeues("a") == slow.num_requeues("a") == 0
    assert limiter.when("a") == 3


def test_default_controller_rate_limiter():
    clock = ManualClock()
    limiter = default_controller_rate_limiter(clock)
    # 100 distinct keys fit the burst: each gets the 5ms first-failure backoff...
    assert {limiter.when(f"ns/{i}") for i in range(100)} == {0.005}
    # ...the 101st waits for a token at 10 qps.
    assert limiter.when("ns/100") == pytest.approx(0.1)
    clock.advance(1000)
    # One key failing repeatedly backs off exponentially.
    assert [limiter.when("ns/0") for _ in range(3)] == pytest.approx([0.01, 0.02, 0.04])
    assert limiter.num_requeues("ns/0") == 4
