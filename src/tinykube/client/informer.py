"""Shared informers: a local cache of one resource kept current by list + watch.

The client-go model: an informer lists once, then watches from the list's resourceVersion,
resuming after a dropped watch from the last version it saw and re-listing when the server
answers 410 Gone. Handlers are told what changed; they should only enqueue keys, because
the cached objects are shared and must never be mutated (copy before changing).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from tinykube.client.api import Client, Obj, object_key
from tinykube.machinery.errors import StatusError
from tinykube.registry.resources import Resource

log = logging.getLogger(__name__)

IndexFunc = Callable[[Obj], Iterable[str]]
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)  # cluster seconds between failed list/watch attempts


def by_namespace(obj: Obj) -> list[str]:
    return [obj["metadata"].get("namespace", "")]


def by_controller_uid(obj: Obj) -> list[str]:
    """The uid of the object's controller ownerReference, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return [ref.get("uid", "")]
    return []


def by_node_name(obj: Obj) -> list[str]:
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


class Cache:
    """Objects by key, plus secondary indexes computed by named functions."""

    def __init__(self, indexers: dict[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indexes: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}

    def add_indexers(self, indexers: dict[str, IndexFunc]) -> None:
        for name, func in indexers.items():
            if name in self._indexers:
                continue
            self._indexers[name] = func
            index: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for value in func(obj):
                    index.setdefault(value, set()).add(key)
            self._indexes[name] = index

    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def keys(self) -> list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def by_index(self, index: str, value: str) -> list[Obj]:
        return [self._items[key] for key in self._indexes[index].get(value, ())]

    def index_keys(self, index: str, value: str) -> set[str]:
        return set(self._indexes[index].get(value, ()))

    def index_size(self, index: str, value: str) -> int:
        """How many objects the index holds under `value` (without copying their keys)."""
        return len(self._indexes[index].get(value, ()))

    def put(self, key: str, obj: Obj) -> Obj | None:
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        for name, func in self._indexers.items():
            index = self._indexes[name]
            for value in func(obj):
                index.setdefault(value, set()).add(key)
        return old

    def remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, func in self._indexers.items():
            index = self._indexes[name]
            for value in func(obj):
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]


@dataclass
class EventHandler:
    """Callbacks for cache changes; any may be None. They run in the informer's task."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


@dataclass
class Informer:
    client: Client
    res: Resource
    clock: Any
    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""
    indexers: dict[str, IndexFunc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cache = Cache(self.indexers)
        self.handlers: list[EventHandler] = []
        self.resource_version = ""
        self._synced = asyncio.Event()
        self.relists = 0

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def add_handler(self, handler: EventHandler) -> None:
        """Register callbacks; a handler added after the first sync is told of every cached object."""
        self.handlers.append(handler)
        if self.has_synced and handler.on_add:
            for obj in self.cache.list():
                handler.on_add(obj)

    async def run(self) -> None:
        """List and watch until cancelled."""
        failures = 0
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                await self._watch()
                failures = 0
            except asyncio.CancelledError:
                raise
            except StatusError as exc:
                if exc.code == 410:
                    need_list = True  # our resourceVersion was compacted away: start over
                    self.relists += 1
                    continue
                log.warning("%s informer: %s", self.res.plural, exc.message)
                failures += 1
            except Exception as exc:  # a dropped connection or a bug in a handler
                log.warning("%s informer: %s", self.res.plural, exc)
                failures += 1
            if failures:
                await self.clock.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1])

    async def _list(self) -> None:
        listed = await self.client.list(self.res, self.namespace, label_selector=self.label_selector,
                                        field_selector=self.field_selector)
        fresh = {object_key(obj): obj for obj in listed["items"]}
        for key in self.cache.keys():
            if key not in fresh:
                self._dispatch("DELETED", self.cache.remove(key), None)
        for key, obj in fresh.items():
            old = self.cache.put(key, obj)
            self._dispatch("MODIFIED" if old is not None else "ADDED", obj, old)
        self.resource_version = listed["metadata"].get("resourceVersion", "")
        self._synced.set()

    async def _watch(self) -> None:
        events = await self.client.watch(self.res, self.namespace, resource_version=self.resource_version,
                                         label_selector=self.label_selector, field_selector=self.field_selector,
                                         timeout_seconds=300)
        try:
            async for kind, obj in events:
                rv = obj.get("metadata", {}).get("resourceVersion")
                if kind == "BOOKMARK":
                    if rv:
                        self.resource_version = rv
                    continue
                key = object_key(obj)
                if kind == "DELETED":
                    old = self.cache.remove(key)
                    self._dispatch("DELETED", old if old is not None else obj, None)
                else:
                    old = self.cache.put(key, obj)
                    self._dispatch("MODIFIED" if old is not None else "ADDED", obj, old)
                if rv:
                    self.resource_version = rv
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    def _dispatch(self, kind: str, obj: Obj | None, old: Obj | None) -> None:
        if obj is None:
            return
        for handler in self.handlers:
            try:
                if kind == "ADDED" and handler.on_add:
                    handler.on_add(obj)
                elif kind == "MODIFIED" and handler.on_update:
                    handler.on_update(old if old is not None else obj, obj)
                elif kind == "DELETED" and handler.on_delete:
                    handler.on_delete(obj)
            except Exception:
                log.exception("%s informer handler failed", self.res.plural)


class InformerFactory:
    """One shared informer per resource for all components of a process."""

    def __init__(self, client: Client, clock: Any) -> None:
        self.client = client
        self.clock = clock
        self._informers: dict[tuple[str, str, str], Informer] = {}
        self._tasks: dict[tuple[str, str, str], asyncio.Task[None]] = {}

    def informer(self, res: Resource, indexers: dict[str, IndexFunc] | None = None) -> Informer:
        key = (res.group, res.version, res.plural)
        informer = self._informers.get(key)
        if informer is None:
            informer = self._informers[key] = Informer(self.client, res, self.clock)
        if indexers:
            informer.cache.add_indexers(indexers)
        if key not in self._tasks and self._started:
            self._tasks[key] = asyncio.create_task(informer.run(), name=f"informer-{res.plural}")
        return informer

    _started = False

    def start(self) -> None:
        """Start every informer asked for so far (and any asked for later)."""
        self._started = True
        for key, informer in self._informers.items():
            if key not in self._tasks:
                self._tasks[key] = asyncio.create_task(informer.run(), name=f"informer-{informer.res.plural}")

    async def wait_synced(self) -> None:
        await asyncio.gather(*(inf.wait_synced() for inf in self._informers.values()))

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        self._started = False
