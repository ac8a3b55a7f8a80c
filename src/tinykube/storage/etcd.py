"""The etcd store: the `Store` protocol over an etcd v3 cluster (aetcd's asyncio gRPC client).

etcd's revision is the resourceVersion, as in Kubernetes. Writes are etcd transactions:
create-if-absent compares the key's create revision with 0, compare-and-swap its mod revision.
Reads at older revisions and watches from older revisions go to etcd, which keeps the history
until compaction.

Like the SQLite store (and kube-apiserver's watch cache) this one keeps the latest state in
memory, because the registry reads `revision` and lists synchronously and serves most reads
from the latest state: one etcd watch over the whole key space (the "mirror") applies every
change in revision order, fans it out to watchers, and a write returns only after the mirror
has seen it, so a server reads its own writes. Several servers on one etcd each keep a mirror,
so a watch on any of them sees every write.

A watch from an older revision than the mirror's gets its own etcd watch (history first, then
live), so it neither misses nor repeats events; it hands on each event only once the mirror has
applied it, so whoever acts on the event reads a state at least as new.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import aetcd
from aetcd import exceptions as etcd_errors
from aetcd import rpc

from tinykube.storage.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionMismatchError,
    StoreClosedError,
    StoreError,
)
from tinykube.storage.watchers import DEFAULT_MAX_PENDING, Broadcaster, Watcher

log = logging.getLogger(__name__)

LIST_PAGE = 1000  # keys per Range while loading the mirror
CHANNEL_OPTIONS = {"grpc.max_receive_message_length": 256 * 1024 * 1024,
                   "grpc.max_send_message_length": 64 * 1024 * 1024,
                   "grpc.lb_policy_name": "pick_first",
                   "grpc.initial_reconnect_backoff_ms": 200,
                   "grpc.max_reconnect_backoff_ms": 2000}
RETRY_PAUSE = 0.5  # seconds between attempts to re-establish the mirror's watch
RPC_ATTEMPTS = 10  # reads retried RETRY_PAUSE apart: rides out an etcd leader election
NOT_SENT = ("failed to connect to all addresses", "Connection refused")  # a write that never left
CATCH_UP_TIMEOUT = 30.0  # seconds a write waits for the mirror to apply it before failing


@dataclass(frozen=True)
class EtcdEndpoints:
    """`etcd://h1:2379,h2:2379[/prefix]`: the members to dial and the key prefix of this cluster."""

    hosts: tuple[tuple[str, int], ...]
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> EtcdEndpoints:
        parts = urlsplit(url)
        if parts.scheme not in ("etcd", "http"):
            raise ValueError(f"datastore {url!r}: expected etcd://host:port[,host:port...]")
        hosts = []
        for item in parts.netloc.split(","):
            host, _, port = item.strip().rpartition(":")
            if not host:
                host, port = item.strip(), "2379"
            if not host or not port.isdigit():
                raise ValueError(f"datastore {url!r}: bad member {item!r}")
            hosts.append((host.strip("[]"), int(port)))
        prefix = parts.path.rstrip("/")
        return cls(tuple(hosts), prefix)

    def grpc_target(self) -> str:
        """One gRPC target naming every member (resolved to addresses), so the channel fails over."""
        addresses = []
        for host, port in self.hosts:
            addresses.append(f"{_address(host)}:{port}")
        v6 = any(a.startswith("[") for a in addresses)
        return ("ipv6:" if v6 else "ipv4:") + ",".join(addresses)


def _address(host: str) -> str:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = ipaddress.ip_address(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0])
    return f"[{ip}]" if ip.version == 6 else str(ip)


def range_end(key: bytes) -> bytes:
    """etcd's range end for a prefix (b"\\0": every key from `key` on, for "" or all-0xff)."""
    end = aetcd.utils.prefix_range_end(key)
    return end if end != key else b"\0"


class _Client(aetcd.Client):
    """aetcd's client dialing a multi-address target (aetcd builds `host:port` itself)."""

    def __init__(self, target: str, timeout: float | None) -> None:
        host, _, port = target.rpartition(":")
        super().__init__(host=host, port=int(port), timeout=timeout, options=dict(CHANNEL_OPTIONS))


def _store_error(exc: Exception) -> StoreError:
    detail = exc.details() if isinstance(exc, rpc.AioRpcError) else str(exc)
    return StoreError(f"etcd: {detail}")


class _HistoryWatch(Watcher):
    """A watch from an older revision: its own etcd watch feeding a `Watcher`'s queue."""

    def __init__(self, prefix: str, on_close: Callable[[Watcher], None], max_pending: int) -> None:
        super().__init__(prefix, on_close, max_pending)
        self.task: asyncio.Task[None] | None = None
        self.gone = False  # etcd compacted the history this watch asked for

    @property
    def overflowed(self) -> bool:
        return self._overflowed or self.gone

    def close(self) -> None:
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        super().close()


class EtcdStore:
    """`Store` on etcd. Create with `await EtcdStore.open("etcd://127.0.0.1:2379")`."""

    def __init__(self, endpoints: EtcdEndpoints, timeout: float = 10.0) -> None:
        self.endpoints = endpoints
        self._root = endpoints.prefix.encode()
        self._client = _Client(endpoints.grpc_target(), timeout)
        self._live: dict[str, KeyValue] = {}
        self._sorted_keys: list[str] = []
        self._revision = 0
        self._compacted = 0
        self._broadcaster = Broadcaster()
        self._history: set[_HistoryWatch] = set()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._mirror: asyncio.Task[None] | None = None
        self._closed = False

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    async def open(cls, url: str, timeout: float = 10.0) -> EtcdStore:
        store = cls(EtcdEndpoints.parse(url), timeout)
        try:
            await store._client.connect()
            await store._load()
            store._compacted = await store._probe_compacted()
            watch = await store._start_watch()
        except (etcd_errors.ClientError, StoreError) as exc:
            with contextlib.suppress(Exception):
                await store._client.close()
            if isinstance(exc, StoreError):
                raise
            raise _store_error(exc) from exc
        store._mirror = asyncio.create_task(store._follow(watch), name="etcd-mirror")
        return store

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._mirror is not None:
            self._mirror.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mirror
        for watch in list(self._history):
            watch.close()
        self._broadcaster.close_all()
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(StoreClosedError("store is closed"))
        with contextlib.suppress(Exception):
            await self._client.close()

    # ----------------------------------------------------------------- keys

    def _k(self, key: str) -> bytes:
        return self._root + key.encode()

    def _kv(self, kv: Any) -> KeyValue:
        return KeyValue(kv.key[len(self._root):].decode(), kv.value, kv.create_revision, kv.mod_revision)

    def _range(self, prefix: str) -> tuple[bytes, bytes]:
        """etcd's key range for `prefix`. Keys start with "/", so the whole key space is "/…",
        and a cluster prefix /a never takes in another cluster's /ab."""
        start = self._k(prefix or "/")
        return start, range_end(start)

    # ----------------------------------------------------------------- the mirror

    async def _load(self) -> None:
        """Read every key at one revision into memory."""
        start, end = self._range("")
        revision = 0
        live: dict[str, KeyValue] = {}
        while True:
            request = rpc.RangeRequest(key=start, range_end=end, limit=LIST_PAGE, revision=revision)
            response = await self._call(self._client.kvstub.Range, request)
            revision = revision or response.header.revision
            for kv in response.kvs:
                item = self._kv(kv)
                live[item.key] = item
            if not response.more or not response.kvs:
                break
            start = response.kvs[-1].key + b"\0"
        self._live = live
        self._sorted_keys = sorted(live)
        self._revision = revision

    async def _probe_compacted(self) -> int:
        """etcd tells the compacted revision only to a watch from before it, so ask one when a read
        at revision 1 shows there is a compaction (on a key never written: it has no events)."""
        probe = self._root + b"\0tinykube-compaction-probe"  # outside the key space: never written
        try:
            await self._call(self._client.kvstub.Range, rpc.RangeRequest(key=probe, revision=1, count_only=True))
            return 0
        except _Compacted:
            pass
        watch = await self._client.watch(probe, start_revision=1)
        try:
            async with asyncio.timeout(self._client._timeout):
                async for _ in watch:
                    pass
        except etcd_errors.RevisionCompactedError as exc:
            return int(exc.compacted_revision)
        finally:
            with contextlib.suppress(Exception):
                await watch.cancel()
        raise StoreError("etcd did not report its compacted revision")

    async def _start_watch(self) -> Any:
        start, end = self._range("")
        return await self._client.watch(start, range_end=end, start_revision=self._revision + 1)

    async def _follow(self, watch: Any) -> None:
        """Apply etcd's events to memory for the life of the store, re-watching after failures."""
        while not self._closed:
            try:
                async for event in watch:
                    self._apply(event)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.shield(watch.cancel())
                raise
            except etcd_errors.RevisionCompactedError:
                log.warning("etcd history compacted past revision %d: re-listing", self._revision)
                await self._relist()
            except Exception as exc:
                log.warning("etcd watch interrupted at revision %d: %s", self._revision, exc)
            watch = await self._rewatch()

    async def _rewatch(self) -> Any:
        while True:
            await asyncio.sleep(RETRY_PAUSE)
            try:
                return await self._start_watch()
            except etcd_errors.RevisionCompactedError:
                await self._relist()
            except Exception as exc:
                log.debug("etcd watch not re-established: %s", exc)

    async def _relist(self) -> None:
        """The mirror fell behind a compaction: load anew; every watcher ends and resumes (410)."""
        while True:
            try:
                await self._load()
                self._compacted = max(self._compacted, await self._probe_compacted())
                break
            except Exception as exc:
                log.warning("etcd re-list failed: %s", exc)
                await asyncio.sleep(RETRY_PAUSE)
        self._broadcaster.close_all()
        self._wake(self._revision)

    def _apply(self, raw: Any) -> None:
        kv = self._kv(raw.kv)
        key = kv.key
        prev = self._live.get(key)
        if raw.kind == aetcd.rtypes.EventKind.PUT:
            if prev is None:
                bisect.insort(self._sorted_keys, key)
            self._live[key] = kv
            event = Event("PUT", kv, prev)
        else:
            if prev is None:  # a delete of a key we never saw (it came and went while we re-listed)
                self._advance(kv.mod_revision)
                return
            del self._live[key]
            del self._sorted_keys[bisect.bisect_left(self._sorted_keys, key)]
            event = Event("DELETE", KeyValue(key, prev.value, prev.create_revision, kv.mod_revision), prev)
        self._advance(kv.mod_revision)
        self._broadcaster.publish(event)

    def _advance(self, revision: int) -> None:
        if revision > self._revision:
            self._revision = revision
            self._wake(revision)

    def _wake(self, revision: int) -> None:
        while self._waiters and self._waiters[0][0] <= revision:
            _, future = self._waiters.pop(0)
            if not future.done():
                future.set_result(None)

    async def _caught_up(self, revision: int) -> None:
        """Wait until the mirror has applied `revision` (a write's own: it is in our key space)."""
        if revision <= self._revision:
            return
        if self._closed:
            raise StoreClosedError("store is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        bisect.insort(self._waiters, (revision, future), key=lambda w: w[0])
        try:
            await asyncio.wait_for(asyncio.shield(future), CATCH_UP_TIMEOUT)
        except TimeoutError:
            future.cancel()
            raise StoreError(f"etcd: revision {revision} is committed but this server's watch has not "
                             f"caught up (at {self._revision})") from None

    # ----------------------------------------------------------------- reads

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compacted_revision(self) -> int:
        return self._compacted

    def _check_revision(self, revision: int) -> None:
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        if revision > self._revision:
            raise FutureRevisionError(revision, self._revision)

    async def _call(self, method: Any, request: Any, idempotent: bool = True) -> Any:
        """One etcd RPC. Reads are retried while etcd is unreachable or electing a leader; a write
        only when it cannot have reached etcd (no connection), since its outcome is otherwise
        unknown and the caller must be told it failed."""
        for attempt in range(RPC_ATTEMPTS):
            try:
                return await method(request, timeout=self._client._timeout)
            except rpc.AioRpcError as exc:
                details = exc.details() or ""
                if exc.code() == rpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
                    raise _Compacted() from exc
                retry = exc.code() in (rpc.StatusCode.UNAVAILABLE, rpc.StatusCode.DEADLINE_EXCEEDED) and (
                    idempotent or any(m in details for m in NOT_SENT))
                if not retry or attempt == RPC_ATTEMPTS - 1 or self._closed:
                    raise _store_error(exc) from exc
                await asyncio.sleep(RETRY_PAUSE)
        raise AssertionError("unreachable")

    async def _range_at(self, request: Any, revision: int) -> Any:
        try:
            return await self._call(self._client.kvstub.Range, request)
        except _Compacted:
            self._compacted = max(self._compacted, await self._probe_compacted())
            raise CompactedError(revision, self._compacted) from None

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        if revision == 0 or revision == self._revision:
            return self._live.get(key)
        self._check_revision(revision)
        response = await self._range_at(rpc.RangeRequest(key=self._k(key), revision=revision), revision)
        return self._kv(response.kvs[0]) if response.kvs else None

    def _key_range(self, prefix: str, start_after: str) -> tuple[int, int]:
        lo = bisect.bisect_left(self._sorted_keys, prefix)
        if start_after and start_after >= prefix:
            lo = max(lo, bisect.bisect_right(self._sorted_keys, start_after))
        end = range_end(prefix.encode()).decode() if prefix else "\U0010ffff"
        hi = bisect.bisect_left(self._sorted_keys, end) if prefix else len(self._sorted_keys)
        return lo, hi

    async def list(self, prefix: str, revision: int = 0, start_after: str = "", limit: int = 0) -> ListResult:
        if revision == 0 or revision == self._revision:
            lo, hi = self._key_range(prefix, start_after)
            end = hi if limit <= 0 else min(hi, lo + limit)
            return ListResult([self._live[k] for k in self._sorted_keys[lo:end]], self._revision, hi - end)
        self._check_revision(revision)
        start, end = self._range(prefix)
        if start_after and start_after >= prefix:
            start = self._k(start_after) + b"\0"
        response = await self._range_at(rpc.RangeRequest(key=start, range_end=end, revision=revision,
                                                         limit=max(limit, 0)), revision)
        kvs = [self._kv(kv) for kv in response.kvs]
        return ListResult(kvs, revision, response.count - len(kvs))

    async def count(self, prefix: str) -> int:
        lo, hi = self._key_range(prefix, "")
        return hi - lo

    # ----------------------------------------------------------------- writes

    async def _txn(self, compare: list[Any], success: list[Any], failure: list[Any]) -> Any:
        if self._closed:
            raise StoreClosedError("store is closed")
        request = rpc.TxnRequest(compare=compare, success=success, failure=failure)
        try:
            return await self._call(self._client.kvstub.Txn, request, idempotent=False)
        except _Compacted as exc:
            raise _store_error(exc) from exc

    def _exists(self, key: bytes, expected: int) -> Any:
        if expected:
            return rpc.Compare(key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=expected)
        return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=rpc.Compare.GREATER, create_revision=0)

    async def _failed(self, key: str, response: Any, expected: int) -> StoreError:
        """Why a conditional write failed, after the mirror has caught up with the key's state."""
        kvs = response.responses[0].response_range.kvs
        if not kvs:
            return KeyNotFoundError(key)
        actual = kvs[0].mod_revision
        await self._caught_up(actual)
        if expected == 0:
            return KeyExistsError(key)
        return RevisionMismatchError(key, expected, actual)

    async def create(self, key: str, value: bytes) -> KeyValue:
        k = self._k(key)
        response = await self._txn(
            [rpc.Compare(key=k, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0)],
            [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))],
            [rpc.RequestOp(request_range=rpc.RangeRequest(key=k, keys_only=True))])
        if not response.succeeded:
            raise await self._failed(key, response, 0)
        rev = response.header.revision
        await self._caught_up(rev)
        return KeyValue(key, value, rev, rev)

    async def update(self, key: str, value: bytes, expected_revision: int = 0) -> KeyValue:
        k = self._k(key)
        response = await self._txn(
            [self._exists(k, expected_revision)],
            [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value, prev_kv=True))],
            [rpc.RequestOp(request_range=rpc.RangeRequest(key=k, keys_only=True))])
        if not response.succeeded:
            error = await self._failed(key, response, expected_revision)
            raise KeyNotFoundError(key) if isinstance(error, KeyExistsError) else error
        rev = response.header.revision
        prev = response.responses[0].response_put.prev_kv
        await self._caught_up(rev)
        return KeyValue(key, value, prev.create_revision, rev)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        k = self._k(key)
        response = await self._txn(
            [self._exists(k, expected_revision)],
            [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k, prev_kv=True))],
            [rpc.RequestOp(request_range=rpc.RangeRequest(key=k, keys_only=True))])
        if not response.succeeded:
            error = await self._failed(key, response, expected_revision)
            raise KeyNotFoundError(key) if isinstance(error, KeyExistsError) else error
        rev = response.header.revision
        prev = response.responses[0].response_delete_range.prev_kvs[0]
        await self._caught_up(rev)
        return KeyValue(key, prev.value, prev.create_revision, rev)

    async def compact(self, revision: int) -> None:
        """Forget history below `revision` in etcd (for every server sharing it)."""
        revision = min(revision, self._revision)
        if revision <= self._compacted:
            return
        self._compacted = revision
        try:
            await self._call(self._client.kvstub.Compact, rpc.CompactionRequest(revision=revision))
        except _Compacted:  # another server compacted further already
            self._compacted = max(self._compacted, await self._probe_compacted())

    # ----------------------------------------------------------------- watch

    def watch(self, prefix: str, after_revision: int) -> Watcher:
        if self._closed:
            raise StoreClosedError("store is closed")
        if after_revision and after_revision < self._compacted:
            raise CompactedError(after_revision, self._compacted)
        if after_revision > self._revision:
            raise FutureRevisionError(after_revision, self._revision)
        if not after_revision or after_revision == self._revision:
            return self._broadcaster.add(prefix)
        watch = _HistoryWatch(prefix, lambda w: self._history.discard(w), DEFAULT_MAX_PENDING)  # type: ignore[arg-type]
        self._history.add(watch)
        watch.task = asyncio.create_task(self._pump(watch, after_revision), name=f"etcd-watch {prefix}")
        return watch

    async def _pump(self, watch: _HistoryWatch, after: int) -> None:
        """History (after, now] and then live events for one watch, straight from etcd."""
        start, end = self._range(watch.prefix)
        try:
            stream = await self._client.watch(start, range_end=end, start_revision=after + 1, prev_kv=True)
            try:
                async for raw in stream:
                    if watch.closed:  # overflowed: the consumer resumes with a watch of its own
                        break
                    kv = self._kv(raw.kv)
                    # never ahead of this server's memory: a consumer acting on the event reads it
                    await self._caught_up(kv.mod_revision)
                    prev = self._kv(raw.prev_kv) if raw.prev_kv is not None and raw.prev_kv.key else None
                    if raw.kind == aetcd.rtypes.EventKind.PUT:
                        watch.push(Event("PUT", kv, prev))
                    elif prev is not None:
                        watch.push(Event("DELETE", KeyValue(kv.key, prev.value, prev.create_revision,
                                                            kv.mod_revision), prev))
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(stream.cancel())
        except asyncio.CancelledError:
            raise
        except etcd_errors.RevisionCompactedError as exc:
            self._compacted = max(self._compacted, int(exc.compacted_revision))
            watch.gone = True
        except Exception as exc:
            log.warning("etcd watch of %s ended: %s", watch.prefix, exc)
        watch.close()

    def watcher_count(self) -> int:
        return len(self._broadcaster) + len(self._history)


class _Compacted(StoreError):
    """etcd refused a read at a compacted revision."""
