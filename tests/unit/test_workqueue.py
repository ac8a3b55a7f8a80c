"""WorkQueue keeps client-go's guarantees; delayed and rate-limited adds follow the clock.

Everything runs on a ManualClock: time moves only when a test advances it.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from tinykube.clock import Clock, ManualClock
from tinykube.client.ratelimit import ItemExponentialRateLimiter
from tinykube.client.workqueue import QueueShutDown, WorkQueue, run_workers

GUARD = 5.0  # wall seconds; only reached if a test is broken


def run(coro):
    return asyncio.run(coro)


async def until(predicate, steps: int = 200) -> None:
    """Yield to the loop until `predicate()` holds (no wall-clock waiting)."""
    for _ in range(steps):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def settle() -> None:
    """Let woken tasks run to their next wait: a few loop turns, no wall-clock time."""
    for _ in range(20):
        await asyncio.sleep(0)


async def get(queue: WorkQueue) -> str:
    return await asyncio.wait_for(queue.get(), GUARD)


async def pending(task: asyncio.Task) -> bool:
    await settle()
    return not task.done()


# Scripts of (operation, item, expected len(queue) afterwards); "get" also checks the item.
SCRIPTS = {
    "fifo": [("add", "a", 1), ("add", "b", 2), ("add", "c", 3),
             ("get", "a", 2), ("get", "b", 1), ("get", "c", 0)],
    "dedup while queued": [("add", "a", 1), ("add", "b", 2), ("add", "a", 2),
                           ("get", "a", 1), ("get", "b", 0)],
    "re-add while processing waits for done": [
        ("add", "a", 1), ("get", "a", 0), ("add", "a", 0), ("add", "a", 0),
        ("done", "a", 1), ("get", "a", 0), ("done", "a", 0)],
    "processing item is not handed to another worker": [
        ("add", "a", 1), ("get", "a", 0), ("add", "a", 0), ("add", "b", 1),
        ("get", "b", 0), ("done", "a", 1), ("get", "a", 0)],
    "done without re-add forgets the item": [
        ("add", "a", 1), ("get", "a", 0), ("done", "a", 0), ("add", "a", 1)],
    "done for an item not processing is ignored": [
        ("add", "a", 1), ("done", "a", 1), ("done", "zzz", 1), ("get", "a", 0)],
}


@pytest.mark.parametrize("script", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_queue_semantics(script):
    async def main():
        queue: WorkQueue[str] = WorkQueue(ManualClock())
        for step, (operation, item, length) in enumerate(script):
            if operation == "get":
                assert await get(queue) == item, f"step {step}"
            else:
                getattr(queue, operation)(item)
            assert len(queue) == length, f"step {step}: {operation} {item}"

    run(main())


def test_get_waits_for_an_add():
    async def main():
        queue: WorkQueue[str] = WorkQueue(ManualClock())
        getter = asyncio.create_task(queue.get())
        assert await pending(getter)
        queue.add("a")
        assert await asyncio.wait_for(getter, GUARD) == "a"

    run(main())


def test_shut_down_wakes_waiting_getters_and_ignores_adds():
    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock)
        getters = [asyncio.create_task(queue.get()) for _ in range(3)]
        assert await pending(getters[0])
        queue.add_after("later", 5)
        await until(lambda: clock.sleepers == 1)
        queue.shut_down()
        queue.shut_down()  # idempotent
        for getter in getters:
            with pytest.raises(QueueShutDown):
                await asyncio.wait_for(getter, GUARD)
        await until(lambda: clock.sleepers == 0)  # the timer task is gone
        queue.add("a")
        queue.add_after("b", 0)
        queue.add_after("c", 1)
        queue.add_rate_limited("d")
        assert len(queue) == 0
        assert queue.shutting_down
        with pytest.raises(QueueShutDown):
            await queue.get()

    run(main())


def test_get_after_shut_down_raises_even_with_items_queued():
    async def main():
        queue: WorkQueue[str] = WorkQueue(ManualClock())
        queue.add("a")
        queue.shut_down()
        with pytest.raises(QueueShutDown):
            await queue.get()

    run(main())


@pytest.mark.parametrize("cancel_after_wake", [False, True])
def test_cancelled_getter_does_not_lose_an_item(cancel_after_wake):
    async def main():
        queue: WorkQueue[str] = WorkQueue(ManualClock())
        first = asyncio.create_task(queue.get())
        assert await pending(first)
        second = asyncio.create_task(queue.get())
        assert await pending(second)
        if cancel_after_wake:
            queue.add("a")  # wakes `first`, which is cancelled before it runs
            first.cancel()
        else:
            first.cancel()
            queue.add("a")
        assert await asyncio.wait_for(second, GUARD) == "a"
        assert first.cancelled()

    run(main())


# (item, delay) added with add_after; expected release order as time passes.
DELAYED = {
    "deadline order": ([("a", 2), ("b", 1), ("c", 3)], ["b", "a", "c"]),
    "equal deadlines keep add order": ([("x", 1), ("y", 1), ("z", 1)], ["x", "y", "z"]),
    "earliest deadline wins": ([("a", 5), ("b", 3), ("a", 1)], ["a", "b"]),
    "a later deadline does not postpone": ([("a", 1), ("b", 3), ("a", 5)], ["a", "b"]),
    "zero or negative delay adds now": ([("a", 4), ("now", 0), ("neg", -1)], ["now", "neg", "a"]),
}


@pytest.mark.parametrize("adds, order", DELAYED.values(), ids=DELAYED.keys())
def test_add_after_releases_in_deadline_order(adds, order):
    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock)
        for item, delay in adds:
            queue.add_after(item, delay)
        released: list[str] = []
        while True:
            await settle()  # let the timer task release due items and plan the next sleep
            while len(queue):
                item = await get(queue)
                released.append(item)
                queue.done(item)
            if not clock.sleepers:
                break
            clock.advance(clock.next_wakeup)
        assert released == order
        # Items are released exactly once: nothing is left waiting.
        assert clock.sleepers == 0
        clock.advance(100)
        await settle()
        assert len(queue) == 0

    run(main())


def test_one_timer_for_all_delayed_items_and_an_earlier_deadline_wakes_it():
    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock)
        for i in range(50):
            queue.add_after(f"item-{i}", 10 + i)
        await until(lambda: clock.sleepers == 1)
        assert clock.next_wakeup == 10
        queue.add_after("urgent", 1)  # earlier than the timer's sleep: it re-plans
        await until(lambda: clock.next_wakeup == 1)
        assert clock.sleepers == 1
        clock.advance(1)
        assert await get(queue) == "urgent"
        await until(lambda: clock.next_wakeup == 9)
        clock.advance(20)
        await until(lambda: len(queue) == 12)
        assert [await get(queue) for _ in range(12)] == [f"item-{i}" for i in range(12)]

    run(main())


def test_add_after_for_a_queued_item_stays_deduplicated():
    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock)
        queue.add("a")
        queue.add_after("a", 1)
        await until(lambda: clock.sleepers == 1)
        clock.advance(1)
        await until(lambda: clock.sleepers == 0)
        assert len(queue) == 1

    run(main())


def test_add_after_on_the_real_clock():
    async def main():
        queue: WorkQueue[str] = WorkQueue(Clock(scale=1e6))  # one cluster second is 1µs
        queue.add_after("a", 1)
        assert await get(queue) == "a"

    run(main())


def test_rate_limited_backoff_grows_and_forget_resets():
    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock, ItemExponentialRateLimiter(1.0, 8.0), name="t")
        delays = []
        for _ in range(5):
            queue.add_rate_limited("a")
            await until(lambda: clock.sleepers == 1)
            delays.append(clock.next_wakeup)
            clock.advance(clock.next_wakeup)
            queue.done(await get(queue))
        assert delays == [1, 2, 4, 8, 8]
        assert queue.num_requeues("a") == 5
        queue.forget("a")
        assert queue.num_requeues("a") == 0
        queue.add_rate_limited("a")
        await until(lambda: clock.sleepers == 1)
        assert clock.next_wakeup == 1

    run(main())


def test_default_rate_limiter_starts_at_5ms():
    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock)
        queue.add_rate_limited("a")
        await until(lambda: clock.sleepers == 1)
        assert clock.next_wakeup == pytest.approx(0.005)

    run(main())


def test_run_workers_retries_a_failing_sync_with_growing_delays(caplog):
    log = logging.getLogger("tinykube.test.workqueue")
    caplog.set_level(logging.ERROR, logger=log.name)

    async def main():
        clock = ManualClock()
        queue: WorkQueue[str] = WorkQueue(clock, name="demo")
        calls: list[float] = []

        async def sync(key: str) -> None:
            calls.append(clock.monotonic())
            if len(calls) <= 3:
                raise RuntimeError(f"conflict #{len(calls)}")

        workers = asyncio.create_task(run_workers(queue, sync, 2, log))
        queue.add("ns/a")
        delays = []
        while len(delays) < 3:
            await until(lambda: clock.sleepers == 1)  # parked on the retry
            delays.append(clock.next_wakeup)
            clock.advance(clock.next_wakeup)
        await until(lambda: len(calls) == 4)
        await until(lambda: queue.num_requeues("ns/a") == 0)  # success forgets
        assert delays == pytest.approx([0.005, 0.01, 0.02])
        assert calls == pytest.approx([0, 0.005, 0.015, 0.035])
        assert len(queue) == 0 and clock.sleepers == 0
        queue.shut_down()
        await asyncio.wait_for(workers, GUARD)

    run(main())
    messages = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert len(messages) == 3
    for n, message in enumerate(messages, 1):
        assert "'ns/a'" in message and f"conflict #{n}" in message and "demo" in message


def test_run_workers_never_syncs_one_key_concurrently():
    async def main():
        queue: WorkQueue[str] = WorkQueue(ManualClock())
        release = asyncio.Event()
        running: dict[str, int] = {}
        most: dict[str, int] = {}
        synced: list[str] = []

        async def sync(key: str) -> None:
            running[key] = running.get(key, 0) + 1
            most[key] = max(most.get(key, 0), running[key])
            if key == "a" and not synced:
                await release.wait()
            synced.append(key)
            running[key] -= 1

        workers = asyncio.create_task(run_workers(queue, sync, 4, logging.getLogger("t")))
        queue.add("a")
        await until(lambda: running.get("a") == 1)
        queue.add("a")  # a change arrives while "a" is syncing
        queue.add("b")
        await until(lambda: synced == ["b"])  # other keys are not held up
        assert running["a"] == 1
        release.set()
        await until(lambda: synced == ["b", "a", "a"])  # the change is synced after done
        assert most == {"a": 1, "b": 1}
        queue.shut_down()
        await asyncio.wait_for(workers, GUARD)

    run(main())


def test_cancelling_run_workers_marks_the_item_done():
    async def main():
        queue: WorkQueue[str] = WorkQueue(ManualClock())
        started = asyncio.Event()

        async def sync(key: str) -> None:
            started.set()
            await asyncio.Event().wait()

        workers = asyncio.create_task(run_workers(queue, sync, 1, logging.getLogger("t")))
        queue.add("a")
        await asyncio.wait_for(started.wait(), GUARD)
        queue.add("a")
        workers.cancel()
        with pytest.raises(asyncio.CancelledError):
            await workers
        assert len(queue) == 1  # done() ran and re-queued the pending change
        assert await get(queue) == "a"

    run(main())


def test_run_workers_needs_a_worker():
    with pytest.raises(ValueError):
        run(run_workers(WorkQueue(ManualClock()), lambda key: None, 0, logging.getLogger("t")))
