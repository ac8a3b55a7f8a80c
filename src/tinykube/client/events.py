"""Recording events (`kubectl describe` shows them) without slowing the recorder's caller.

As upstream's recorder: calls return at once, a single task writes; a repeat of the same
event (same object, reason, message, source) within ten minutes bumps `count` and
`lastTimestamp` of the existing Event instead of creating another; when the backlog is
full, new events are dropped rather than queued without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from tinykube.client.api import EVENTS, Client, Obj
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

MAX_QUEUED = 1000  # upstream's maxQueuedEvents
AGGREGATE_WINDOW = 600.0  # seconds a repeated event is folded into the previous one
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
        self._queue: asyncio.Queue[tuple[Obj, str, str, str, str]] = asyncio.Queue(MAX_QUEUED)
        self._recent: OrderedDict[tuple[str, ...], tuple[str, str, int, float]] = OrderedDict()
        self.dropped = 0
        self._serial = 0

    def event(self, obj: Obj, event_type: str, reason: str, message: str, field_path: str = "",
              host: str = "") -> None:
        """Record `reason: message` about `obj` (type Normal or Warning); never blocks."""
        try:
            self._queue.put_nowait((obj, event_type, reason, message, field_path or "", host or self.host))
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._write(*item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("%s: dropping event: %s", self.component, exc)

    async def flush(self) -> None:
        """Wait until every queued event is written (tests)."""
        while not self._queue.empty():
            await asyncio.sleep(0.01)

    async def _write(self, obj: Obj, event_type: str, reason: str, message: str, field_path: str,
                     host: str) -> None:
        ref = involved_object(obj, field_path)
        namespace = ref.get("namespace") or "default"
        now = self.clock.rfc3339()
        key = (ref.get("uid", ""), ref.get("name", ""), field_path, event_type, reason, message, host)
        previous = self._recent.get(key)
        if previous is not None and self.clock.monotonic() - previous[3] < AGGREGATE_WINDOW:
            name, ns, count, _ = previous
            try:
                await self.client.patch(EVENTS, name, {"count": count + 1, "lastTimestamp": now}, ns)
                self._remember(key, (name, ns, count + 1, self.clock.monotonic()))
                return
            except StatusError as exc:
                if exc.code != 404:
                    raise
        source = {"component": self.component}
        if host:
            source["host"] = host
        self._serial += 1  # distinct names even when the clock stands still (a frozen test clock)
        stamp = format(int(self.clock.time() * 1e9) + self._serial, "x")
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{ref['name']}.{stamp}", "namespace": namespace},
                "involvedObject": ref, "reason": reason, "message": message, "source": source,
                "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": event_type,
                "eventTime": None, "reportingComponent": self.component, "reportingInstance": host}
        created = await self.client.create(EVENTS, body, namespace)
        self._remember(key, (created["metadata"]["name"], namespace, 1, self.clock.monotonic()))

    def _remember(self, key: tuple[str, ...], value: tuple[str, str, int, float]) -> None:
        self._recent[key] = value
        self._recent.move_to_end(key)
        while len(self._recent) > REMEMBERED:
            self._recent.popitem(last=False)
