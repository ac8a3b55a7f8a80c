"""The controller work queue, with client-go's guarantees, for asyncio.

Controllers follow client-go's model: informer event handlers only enqueue a key
(`namespace/name`); workers take keys off the queue and *sync* them, re-reading the
current object from the informer cache. Because a sync acts on the latest state rather
than on the event that triggered it, the queue may coalesce events freely:

* de-duplication: a key added while it is already queued is queued once;
* per-key serialization: a key being synced is never handed to a second worker; if it
  is added again meanwhile, it is queued again when the first worker calls `done`, so
  the change is not lost;
* otherwise first in, first out.

Failed syncs are retried with `add_rate_limited`, which asks a rate limiter for a delay
(per-key exponential backoff and an overall token bucket by default) and uses
`add_after`. Delayed keys are kept in one heap and released by a single internal task
that sleeps on the component's clock until the next deadline, so cluster time (and a
test's `ManualClock`) governs retries.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from tinykube.client.ratelimit import RateLimiter, default_controller_rate_limiter
from tinykube.clock import AnyClock
from tinykube.machinery.errors import StatusError

T = TypeVar("T", bound=Hashable)


class QueueShutDown(Exception):
    """Raised by `WorkQueue.get` once the queue is shut down: the worker should exit."""


class WorkQueue(Generic[T]):
    """A de-duplicating, per-item serializing FIFO with delayed and rate-limited adds.

    Every item handed out by `get` must be passed to `done` when its processing ends.
    Methods other than `get` are synchronous; `add_after` and `add_rate_limited` with a
    positive delay must be called with the event loop running (they may start the
    queue's timer task).

    After `shut_down`, adds are ignored, pending delayed items are dropped and `get`
    raises `QueueShutDown` right away, also in workers already waiting (client-go's
    ShutDown: workers are told to exit immediately).
    """

    def __init__(self, clock: AnyClock, rate_limiter: RateLimiter | None = None,
                 name: str = "") -> None:
        self.name = name
        self._clock = clock
        self.rate_limiter: RateLimiter = (
            rate_limiter if rate_limiter is not None else default_controller_rate_limiter(clock))
        # The order of work; every queued item is dirty and not processing.
        self._queue: deque[T] = deque()
        # Items that need processing: queued, or to be queued again when done.
        self._dirty: set[T] = set()
        # Items handed out by `get` and not yet `done`.
        self._processing: set[T] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        # Delayed items: a heap of (ready_at, sequence, item) in clock.monotonic() seconds,
        # and each item's live entry. An earlier add_after pushes a new entry; the
        # superseded one stays in the heap and is skipped when popped.
        self._waiting: list[tuple[float, int, T]] = []
        self._waiting_entry: dict[T, tuple[float, int]] = {}
        self._sequence = itertools.count()
        self._timer_task: asyncio.Task[None] | None = None
        self._timer: asyncio.Future[None] | None = None  # what the timer task waits on
        self._timer_deadline: float | None = None  # when `_timer` ends by itself

    def __len__(self) -> int:
        """Items ready to be handed out (not those processing or still delayed)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, item: T) -> None:
        """Mark `item` as needing processing."""
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        if item in self._processing:
            return  # `done` will queue it again
        self._queue.append(item)
        self._wake_getter()

    async def get(self) -> T:
        """Wait for the next item and mark it processing; raises `QueueShutDown` once shut down."""
        while not self._queue:
            if self._shutting_down:
                raise QueueShutDown(self.name)
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # We were woken for an item we will not take: pass the wake-up on.
                    self._wake_getter()
                elif waiter in self._getters:
                    self._getters.remove(waiter)
                raise
        if self._shutting_down:
            raise QueueShutDown(self.name)
        item = self._queue.popleft()
        self._dirty.discard(item)
        self._processing.add(item)
        return item

    def done(self, item: T) -> None:
        """End processing of `item`; if it was added meanwhile, queue it again."""
        if item not in self._processing:
            return  # not handed out: queueing it here would duplicate it
        self._processing.discard(item)
        if item in self._dirty and not self._shutting_down:
            self._queue.append(item)
            self._wake_getter()

    def shut_down(self) -> None:
        """Ignore further adds, drop delayed items and make every `get` raise `QueueShutDown`."""
        if self._shutting_down:
            return
        self._shutting_down = True
        self._waiting.clear()
        self._waiting_entry.clear()
        if self._timer_task is not None:
            self._timer_task.cancel()
            self._timer_task = None
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def add_after(self, item: T, delay: float) -> None:
        """Add `item` once `delay` cluster seconds have passed; the earliest deadline wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self._clock.monotonic() + delay
        current = self._waiting_entry.get(item)
        if current is not None and current[0] <= ready_at:
            return
        sequence = next(self._sequence)
        self._waiting_entry[item] = (ready_at, sequence)
        heapq.heappush(self._waiting, (ready_at, sequence, item))
        self._ensure_timer(ready_at)

    def add_rate_limited(self, item: T) -> None:
        """Add `item` after the delay the rate limiter gives it (a retry after a failure)."""
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Reset `item`'s backoff (after a successful sync)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)

    def _wake_getter(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _ensure_timer(self, ready_at: float) -> None:
        """Make sure the timer task will wake by `ready_at`."""
        if self._timer_task is None or self._timer_task.done():
            self._timer_task = asyncio.get_running_loop().create_task(
                self._release_delayed(), name=f"workqueue-timer {self.name}".rstrip())
            return
        if self._timer is not None and (self._timer_deadline is None
                                        or ready_at < self._timer_deadline):
            # The timer task is sleeping past the new deadline (or parked): wake it to re-plan.
            self._timer.cancel()

    async def _release_delayed(self) -> None:
        """The one task behind `add_after`: add due items, then sleep until the next deadline."""
        loop = asyncio.get_running_loop()
        try:
            while not self._shutting_down:
                self._add_due(self._clock.monotonic())
                if self._waiting:
                    ready_at = self._waiting[0][0]
                    self._timer_deadline = ready_at
                    self._timer = loop.create_task(
                        self._clock.sleep(ready_at - self._clock.monotonic()))
                else:
                    self._timer_deadline = None
                    self._timer = loop.create_future()  # until an add_after cancels it
                # asyncio.wait (unlike await) does not raise when `_timer` is cancelled to
                # wake us early; it raises only if this task itself is cancelled.
                await asyncio.wait({self._timer})
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
            self._timer_deadline = None

    def _add_due(self, now: float) -> None:
        while self._waiting and self._waiting[0][0] <= now:
            ready_at, sequence, item = heapq.heappop(self._waiting)
            if self._waiting_entry.get(item) != (ready_at, sequence):
                continue  # superseded by an earlier deadline, already released
            del self._waiting_entry[item]
            self.add(item)


async def run_workers(queue: WorkQueue[T], sync: Callable[[T], Awaitable[None]], workers: int,
                      log: logging.Logger | logging.LoggerAdapter) -> None:
    """Run `workers` concurrent loops of get -> sync -> done until the queue shuts down.

    `sync(key)` reconciles one key from the current cache state. On success the key's
    backoff is forgotten; on an exception the failure is logged once, with the key, and
    the key is retried through the rate limiter. Cancelling `run_workers` cancels the
    workers; an item being synced is still marked done. Shutting the queue down is the
    caller's job.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")

    async def worker() -> None:
        while True:
            try:
                item = await queue.get()
            except QueueShutDown:
                return
            try:
                await sync(item)
            except Exception as exc:
                # One record per failure; the traceback only when debugging, since
                # conflicts and other expected errors are routine and retried.
                log.error("%serror syncing %r (failure %d, will retry): %s: %s",
                          f"{queue.name}: " if queue.name else "", item,
                          queue.num_requeues(item) + 1, type(exc).__name__, exc,
                          exc_info=log.isEnabledFor(logging.DEBUG))
                queue.add_rate_limited(item)
            else:
                queue.forget(item)
            finally:
                queue.done(item)

    async with asyncio.TaskGroup() as group:
        for index in range(workers):
            group.create_task(worker(), name=f"{queue.name or 'workqueue'} worker {index}")


async def run_term(queue: WorkQueue[T], sync: Callable[[T], Awaitable[None]], workers: int,
                   log: logging.Logger | logging.LoggerAdapter, *, informers: Iterable[Any],
                   keys: Callable[[], Iterable[T]], companions: Iterable[Awaitable[Any]] = ()) -> None:
    """One leadership term of a controller: once its caches are synced, queue every key it owns
    (so nothing missed while another server led is left unsynced), run the workers and the
    companion tasks (its event recorder, …) until cancelled, then shut the queue down."""
    for informer in informers:
        await informer.wait_synced()
    for key in keys():
        queue.add(key)
    tasks = [asyncio.ensure_future(c) for c in companions]
    try:
        await run_workers(queue, sync, workers, log)
    finally:
        queue.shut_down()
        for task in tasks:
            task.cancel()


def retry_stale(queue: WorkQueue[T], key: T, exc: StatusError) -> None:
    """A sync's write failed: 404 (the object went meanwhile) ends the sync, 409 (it was decided on
    a stale view) retries the key through the rate limiter; any other error is raised."""
    if exc.code == 409:
        queue.add_rate_limited(key)
    elif exc.code != 404:
        raise exc
