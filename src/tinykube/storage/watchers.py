"""In-memory watch fan-out: committed events go to every watcher of a matching prefix.

Watchers never poll the database. A watcher that falls too far behind is closed with
`overflowed` set, and its client resumes from the last revision it saw (as with etcd).
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable, Iterable

from tinykube.storage.interface import Event

DEFAULT_MAX_PENDING = 100_000


class Watcher:
    """One watch stream: a queue of events for keys under `prefix`."""

    def __init__(self, prefix: str, on_close: Callable[["Watcher"], None],
                 max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.prefix = prefix
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._on_close = on_close
        self._max_pending = max_pending
        self._closed = False
        self._overflowed = False

    @property
    def overflowed(self) -> bool:
        return self._overflowed

    @property
    def closed(self) -> bool:
        return self._closed

    def push(self, event: Event) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._max_pending:
            self._overflowed = True
            self.close()
            return
        self._queue.put_nowait(event)

    def push_many(self, events: Iterable[Event]) -> None:
        for event in events:
            self.push(event)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)
            self._on_close(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while (event := await self.next()) is not None:
            yield event

    async def next(self, idle: float | None = None) -> Event | None:
        """The next event (None once closed); TimeoutError after `idle` seconds without one.
        A queued event is taken at once, with no timer and no trip through the event loop."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if idle is None:
            return await self._queue.get()
        async with asyncio.timeout(idle):
            return await self._queue.get()

    def pending(self) -> int:
        return self._queue.qsize()


class Broadcaster:
    """Routes events to watchers by key prefix. Runs only on the event loop thread."""

    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()

    def add(self, prefix: str, max_pending: int = DEFAULT_MAX_PENDING) -> Watcher:
        watcher = Watcher(prefix, self._watchers.discard, max_pending)
        self._watchers.add(watcher)
        return watcher

    def publish(self, event: Event) -> None:
        key = event.kv.key
        for watcher in list(self._watchers):
            if key.startswith(watcher.prefix):
                watcher.push(event)

    def close_all(self) -> None:
        for watcher in list(self._watchers):
            watcher.close()

    def __len__(self) -> int:
        return len(self._watchers)
