"""Recording events (`kubectl describe` shows them) without slowing the recorder's caller.

As upstream's recorder: calls return at once and the writing happens in the background; a
repeat of the same event (same object, reason, message, source) within ten minutes bumps
`count` and `lastTimestamp` of the existing Event instead of creating another; similar events
are combined and a source's events about one object are rate-limited (`eventcorrelation.py`);
when the backlog is full, new events are dropped rather than queued without bound.

Up to `MAX_IN_FLIGHT` events are written at once (repeats of one event still one after the
other, so a repeat finds the Event it bumps). One recorder serves every node this server
simulates, where upstream has one per kubelet: written one by one, waiting for each commit,
it fell behind a burst of pods and dropped most of their events; written side by side, the
store commits them together.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from typing import Any, NamedTuple

from tinykube.client.api import EVENTS, Client, Obj
from tinykube.client.eventcorrelation import AGGREGATE_INTERVAL, EventCorrelator
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

MAX_QUEUED = 1000  # upstream's maxQueuedEvents
MAX_IN_FLIGHT = 16  # events being written at once
REMEMBERED = 4096


def involved_object(obj: Obj, field_path: str = "") -> Obj:
    meta = obj["metadata"]
    ref = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace"), "name": meta["name"],
           "uid": meta.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    if field_path:
        ref["fieldPath"] = field_path
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Events from one component (`source.component`), e.g. default-scheduler or kubelet."""

    def __init__(self, client: Client, clock: Any, component: str, host: str = "") -> None:
        self.client = client
        self.clock = clock
        self.component = component
        self.host = host
        self.correlator = EventCorrelator(clock.monotonic)
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(MAX_QUEUED)
        self._writing: dict[tuple[str, ...], asyncio.Task[None]] = {}  # event identity -> its last write
        self._recent: OrderedDict[tuple[str, ...], tuple[str, str, int, float]] = OrderedDict()
        self.dropped = 0  # the backlog was full
        self.filtered = 0  # the spam filter said no
        self._serial = 0

    def event(self, obj: Obj, event_type: str, reason: str, message: str, field_path: str = "",
              host: str = "") -> None:
        """Record `reason: message` about `obj` (type Normal or Warning); never blocks."""
        host = host or self.host
        ref = involved_object(obj, field_path)
        correlated = self.correlator.correlate((self.component, host), ref, event_type, reason, message)
        if correlated is None:
            self.filtered += 1
            return
        try:
            self._queue.put_nowait(_Item(ref, event_type, reason, correlated.message, host, correlated.key))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        try:
            while True:
                item = await self._queue.get()
                await slots.acquire()
                before = self._writing.get(item.key)
                task = asyncio.create_task(self._write_after(before, item, slots))
                self._writing[item.key] = task
                task.add_done_callback(functools.partial(self._written, item.key))
        finally:
            for task in list(self._writing.values()):
                task.cancel()

    async def flush(self) -> None:
        """Wait until every queued event is written (tests)."""
        while not self._queue.empty() or self._writing:
            await asyncio.sleep(0.01)

    def _written(self, key: tuple[str, ...], task: asyncio.Task[None]) -> None:
        if self._writing.get(key) is task:  # no repeat queued behind it
            del self._writing[key]

    async def _write_after(self, before: asyncio.Task[None] | None, item: _Item, slots: asyncio.Semaphore) -> None:
        try:
            if before is not None:
                await asyncio.wait([before])  # a repeat bumps the Event its predecessor wrote
            await self._write(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("%s: dropping event: %s", self.component, exc)
        finally:
            slots.release()

    async def _write(self, item: _Item) -> None:
        ref, key = item.ref, item.key
        namespace = ref.get("namespace") or "default"
        now = self.clock.rfc3339()
        previous = self._recent.get(key)
        if previous is not None and self.clock.monotonic() - previous[3] < AGGREGATE_INTERVAL:
            name, ns, count, _ = previous
            try:
                await self.client.patch(EVENTS, name, {"count": count + 1, "lastTimestamp": now,
                                                       "message": item.message}, ns)
                self._remember(key, (name, ns, count + 1, self.clock.monotonic()))
                return
            except StatusError as exc:
                if exc.code != 404:
                    raise
        source = {"component": self.component}
        if item.host:
            source["host"] = item.host
        self._serial += 1  # distinct names even when the clock stands still (a frozen test clock)
        stamp = format(int(self.clock.time() * 1e9) + self._serial, "x")
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{ref['name']}.{stamp}", "namespace": namespace},
                "involvedObject": ref, "reason": item.reason, "message": item.message, "source": source,
                "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": item.event_type,
                "eventTime": None, "reportingComponent": self.component, "reportingInstance": item.host}
        created = await self.client.create(EVENTS, body, namespace)
        self._remember(key, (created["metadata"]["name"], namespace, 1, self.clock.monotonic()))

    def _remember(self, key: tuple[str, ...], value: tuple[str, str, int, float]) -> None:
        self._recent[key] = value
        self._recent.move_to_end(key)
        while len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)


class _Item(NamedTuple):
    """A queued event: about what, what it says, from which host, and its identity (what its
    repeats are counted under)."""

    ref: Obj
    event_type: str
    reason: str
    message: str
    host: str
    key: tuple[str, ...]
