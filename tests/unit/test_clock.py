"""The clocks: ManualClock moves only when told, wakes sleepers in deadline order."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from tinykube.clock import Clock, ManualClock, time_text, timestamp_of


def run(coro):
    return asyncio.run(coro)


async def until(predicate, steps: int = 100) -> None:
    """Yield to the loop until `predicate()` holds (no wall-clock waiting)."""
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def test_real_clock_rejects_non_positive_scale():
    with pytest.raises(ValueError):
        Clock(scale=0)


def test_manual_clock_is_a_clock():
    assert isinstance(ManualClock(), Clock)
    assert ManualClock().scale == 1.0


@pytest.mark.parametrize("start, epoch, text", [
    (None, 1767225600.0, "2026-01-01T00:00:00Z"),
    (0.0, 0.0, "1970-01-01T00:00:00Z"),
    (datetime(2030, 6, 1, 12, 30, tzinfo=timezone.utc), 1906547400.0, "2030-06-01T12:30:00Z"),
])
def test_manual_clock_start(start, epoch, text):
    clock = ManualClock() if start is None else ManualClock(start)
    assert clock.time() == epoch
    assert clock.monotonic() == 0.0
    assert clock.rfc3339() == text
    assert clock.now() == datetime.fromtimestamp(epoch, tz=timezone.utc)


def test_advance_moves_every_reading():
    clock = ManualClock()
    clock.advance(90.5)
    clock.advance(0)
    assert clock.monotonic() == 90.5
    assert clock.time() == 1767225600.0 + 90.5
    assert clock.rfc3339() == "2026-01-01T00:01:30Z"
    assert clock.rfc3339_micro() == "2026-01-01T00:01:30.500000Z"
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize("seconds", [0, -3])
def test_sleep_zero_or_less_yields_once(seconds):
    async def main():
        clock = ManualClock()
        seen = []
        other = asyncio.create_task(_append(seen))
        await clock.sleep(seconds)
        assert seen == ["ran"], "the other task ran during the yield"
        assert clock.sleepers == 0
        assert clock.monotonic() == 0
        await other

    run(main())


async def _append(seen: list) -> None:
    seen.append("ran")


def test_advance_wakes_due_sleepers_in_deadline_order():
    async def main():
        clock = ManualClock()
        woken: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woken.append(name)

        tasks = [asyncio.create_task(sleeper(name, seconds)) for name, seconds in
                 [("c", 3), ("a", 1), ("b1", 2), ("b2", 2), ("late", 10)]]
        await until(lambda: clock.sleepers == 5)
        assert clock.next_wakeup == 1

        clock.advance(0.5)
        await until(lambda: clock.sleepers == 5)
        assert woken == []
        assert clock.next_wakeup == 0.5

        clock.advance(2.5)  # now 3: everything but "late" is due
        await until(lambda: len(woken) == 4)
        assert woken == ["a", "b1", "b2", "c"]  # deadline order, ties in request order
        assert clock.sleepers == 1
        assert clock.next_wakeup == 7

        clock.advance(7)
        await asyncio.gather(*tasks)
        assert woken[-1] == "late"
        assert clock.sleepers == 0
        assert clock.next_wakeup is None

    run(main())


def test_cancelled_sleep_is_not_a_sleeper():
    async def main():
        clock = ManualClock()
        task = asyncio.create_task(clock.sleep(5))
        await until(lambda: clock.sleepers == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.sleepers == 0
        assert clock.next_wakeup is None
        clock.advance(10)  # nothing left to wake

    run(main())


def test_advancing_by_next_wakeup_reaches_the_deadline_despite_rounding():
    async def main():
        clock = ManualClock()
        clock.advance(0.1)
        deadline = clock.monotonic() + 0.2  # 0.30000000000000004
        task = asyncio.create_task(clock.sleep(0.2))
        await until(lambda: clock.sleepers == 1)
        clock.advance(clock.next_wakeup)
        await asyncio.wait_for(task, timeout=1)
        assert clock.monotonic() >= deadline

    run(main())


@pytest.mark.parametrize("text, expect", [
    ("2026-01-01T00:00:00Z", 1767225600.0), ("2026-01-01T01:00:00+01:00", 1767225600.0),
    ("", None), (None, None), ("yesterday", None), (12, None),
])
def test_timestamp_of(text, expect):
    assert timestamp_of(text) == expect


@pytest.mark.parametrize("seconds,expect", [
    (1767225600.0, "2026-01-01T00:00:00Z"),
    (1767225600.999, "2026-01-01T00:00:00Z"),  # the fraction is dropped, never rounded up
    (1767225601.0, "2026-01-01T00:00:01Z"),
    (1767225599.5, "2025-12-31T23:59:59Z"),
    (0.25, "1970-01-01T00:00:00Z"),
])
def test_time_text(seconds, expect):
    assert time_text(seconds) == expect


def test_rfc3339_follows_the_clock_across_seconds():
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert clock.rfc3339() == "2026-01-01T00:00:00Z"
    clock.advance(0.6)
    assert clock.rfc3339() == "2026-01-01T00:00:00Z"
    clock.advance(0.6)
    assert clock.rfc3339() == "2026-01-01T00:00:01Z"
