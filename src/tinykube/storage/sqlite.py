"""The SQLite store: a revision log on disk (kine's model), latest state and watches in memory.

Layout: one table `log`, one row per change; the row id is the revision. A key's latest row
is its current value (or a tombstone). Reading an old revision picks, per key, the newest row
at or below it. Compaction deletes rows superseded at or below the compacted revision.

Writes: one writer thread owns the write connection. It takes queued operations in batches,
assigns revisions in-process, checks create-if-absent and compare-and-swap against its own
index, and commits the batch in one transaction (WAL, synchronous=FULL: an acknowledged write
is on disk and survives kill -9). Only after the commit does the event loop learn about the
changes: it updates the in-memory latest state, fans the events out to watchers, then
acknowledges each caller — so a reader never sees what is not durable.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from tinykube.storage.watchers import Broadcaster, Watcher

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    value BLOB
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

MAX_BATCH = 512
COMPACT_CHUNK = 5_000


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`."""
    if not prefix:
        return "\U0010ffff"
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass
class _Op:
    kind: str  # create | update | delete | compact
    key: str
    value: bytes | None
    expected: int
    future: asyncio.Future[Any]
    result: Any = None
    error: Exception | None = None
    event: Event | None = field(default=None)


class SqliteStore:
    """`Store` on an SQLite file. Create with `await SqliteStore.open(path)`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._read: sqlite3.Connection | None = None
        self._ops: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()  # C-level: cheaper per write than Queue
        self._writer: threading.Thread | None = None
        self._closed = False
        # event-loop side: what readers and watchers see
        self._live: dict[str, KeyValue] = {}
        self._sorted_keys: list[str] = []
        self._revision = 0
        self._compacted = 0
        self._broadcaster = Broadcaster()
        # writer side: what the writer thread checks operations against
        self._w_index: dict[str, tuple[int, int]] = {}  # key -> (create_rev, mod_rev)
        self._w_revision = 0

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        store = cls(path)
        store._open()
        return store

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # effective only on a new file
        conn.executescript(SCHEMA)
        self._read = conn
        self._load()
        self._writer = threading.Thread(target=self._writer_main, name="sqlite-writer", daemon=True)
        self._writer.start()

    def _load(self) -> None:
        assert self._read is not None
        rows = self._read.execute(
            "SELECT l.key, l.value, l.create_rev, l.rev FROM log l "
            "JOIN (SELECT key, MAX(rev) AS mrev FROM log GROUP BY key) m ON l.rev = m.mrev "
            "WHERE l.deleted = 0").fetchall()
        for key, value, create_rev, rev in rows:
            self._live[key] = KeyValue(key, value, create_rev, rev)
            self._w_index[key] = (create_rev, rev)
        self._sorted_keys = sorted(self._live)
        max_rev = self._read.execute("SELECT COALESCE(MAX(rev), 0) FROM log").fetchone()[0]
        meta = dict(self._read.execute("SELECT name, value FROM meta").fetchall())
        self._compacted = meta.get("compact_rev", 0)
        self._revision = max(max_rev, meta.get("rev_floor", 0), self._compacted)
        self._w_revision = self._revision

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._ops.put(None)
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._writer.join)
        self._broadcaster.close_all()
        if self._read is not None:
            self._read.close()

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

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        if revision == 0 or revision == self._revision:
            return self._live.get(key)
        self._check_revision(revision)
        assert self._read is not None
        row = self._read.execute(
            "SELECT value, create_rev, rev, deleted FROM log WHERE key = ? AND rev <= ? "
            "ORDER BY rev DESC LIMIT 1", (key, revision)).fetchone()
        if row is None or row[3]:
            return None
        return KeyValue(key, row[0], row[1], row[2])

    def _key_range(self, prefix: str, start_after: str) -> tuple[int, int]:
        lo = bisect.bisect_left(self._sorted_keys, prefix)
        if start_after and start_after >= prefix:
            lo = max(lo, bisect.bisect_right(self._sorted_keys, start_after))
        hi = bisect.bisect_left(self._sorted_keys, prefix_end(prefix))
        return lo, hi

    async def list(self, prefix: str, revision: int = 0, start_after: str = "", limit: int = 0) -> ListResult:
        if revision == 0 or revision == self._revision:
            lo, hi = self._key_range(prefix, start_after)
            end = hi if limit <= 0 else min(hi, lo + limit)
            kvs = [self._live[k] for k in self._sorted_keys[lo:end]]
            return ListResult(kvs, self._revision, hi - end)
        self._check_revision(revision)
        return self._list_at(prefix, revision, start_after, limit)

    def _list_at(self, prefix: str, revision: int, start_after: str, limit: int) -> ListResult:
        assert self._read is not None
        lower = max(prefix, start_after + "\x00") if start_after else prefix
        rows = self._read.execute(
            "SELECT l.key, l.value, l.create_rev, l.rev FROM log l "
            "JOIN (SELECT key, MAX(rev) AS mrev FROM log WHERE key >= ? AND key < ? AND rev <= ? "
            "GROUP BY key) m ON l.rev = m.mrev WHERE l.deleted = 0 ORDER BY l.key",
            (lower, prefix_end(prefix), revision)).fetchall()
        kvs = [KeyValue(k, v, c, r) for k, v, c, r in rows]
        if limit > 0 and len(kvs) > limit:
            return ListResult(kvs[:limit], revision, len(kvs) - limit)
        return ListResult(kvs, revision, 0)

    async def count(self, prefix: str) -> int:
        lo, hi = self._key_range(prefix, "")
        return hi - lo

    # ----------------------------------------------------------------- writes

    def _submit(self, kind: str, key: str, value: bytes | None, expected: int) -> asyncio.Future[Any]:
        if self._closed:
            raise StoreClosedError("store is closed")
        assert self._loop is not None
        future: asyncio.Future[Any] = self._loop.create_future()
        self._ops.put(_Op(kind, key, value, expected, future))
        return future

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._submit("create", key, value, 0)

    async def update(self, key: str, value: bytes, expected_revision: int = 0) -> KeyValue:
        return await self._submit("update", key, value, expected_revision)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        return await self._submit("delete", key, None, expected_revision)

    async def compact(self, revision: int) -> None:
        """Forget history at or below `revision`; older reads and watches then get CompactedError."""
        revision = min(revision, self._revision)
        if revision <= self._compacted:
            return
        # Refuse old reads from now on, before the writer starts deleting rows they would need.
        self._compacted = revision
        await self._submit("compact", "", None, revision)

    # ----------------------------------------------------------------- writer thread

    def _writer_main(self) -> None:
        conn = self._connect()
        try:
            while True:
                first = self._ops.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        op = self._ops.get_nowait()
                    except queue.Empty:
                        break
                    if op is None:
                        self._ops.put(None)  # stop after this batch
                        break
                    batch.append(op)
                self._run_batch(conn, batch)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        # compactions queued behind writes run in their own transaction afterwards
        writes = [op for op in batch if op.kind != "compact"]
        compactions = [op for op in batch if op.kind == "compact"]
        saved_revision = self._w_revision
        undo: list[tuple[str, tuple[int, int] | None]] = []
        if not writes:
            self._run_compaction(conn, compactions)
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in writes:
                try:
                    self._apply(conn, op, undo)
                except StoreError as exc:
                    op.error = exc
            conn.execute("COMMIT")
        except Exception as exc:  # disk full, I/O error: nothing in this batch happened
            log.exception("sqlite commit failed")
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._w_revision = saved_revision
            for key, previous in reversed(undo):
                if previous is None:
                    self._w_index.pop(key, None)
                else:
                    self._w_index[key] = previous
            for op in writes:
                op.error = StoreError(f"storage write failed: {exc}")
                op.event = None
        if writes:
            self._deliver(writes)
        if compactions:
            self._run_compaction(conn, compactions)

    def _apply(self, conn: sqlite3.Connection, op: _Op, undo: list[tuple[str, tuple[int, int] | None]]) -> None:
        current = self._w_index.get(op.key)
        if op.kind == "create":
            if current is not None:
                raise KeyExistsError(op.key)
            rev = self._w_revision + 1
            conn.execute("INSERT INTO log(rev, key, created, deleted, create_rev, prev_rev, value) "
                         "VALUES (?, ?, 1, 0, ?, 0, ?)", (rev, op.key, rev, op.value))
            kv = KeyValue(op.key, op.value or b"", rev, rev)
            op.event = Event("PUT", kv, None)
        else:
            if current is None:
                raise KeyNotFoundError(op.key)
            create_rev, mod_rev = current
            if op.expected and op.expected != mod_rev:
                raise RevisionMismatchError(op.key, op.expected, mod_rev)
            rev = self._w_revision + 1
            if op.kind == "update":
                conn.execute("INSERT INTO log(rev, key, created, deleted, create_rev, prev_rev, value) "
                             "VALUES (?, ?, 0, 0, ?, ?, ?)", (rev, op.key, create_rev, mod_rev, op.value))
                kv = KeyValue(op.key, op.value or b"", create_rev, rev)
                op.event = Event("PUT", kv, None)
            else:
                conn.execute("INSERT INTO log(rev, key, created, deleted, create_rev, prev_rev, value) "
                             "SELECT ?, key, 0, 1, create_rev, rev, value FROM log WHERE rev = ?",
                             (rev, mod_rev))
                kv = KeyValue(op.key, b"", create_rev, rev)  # value filled from memory on delivery
                op.event = Event("DELETE", kv, None)
        undo.append((op.key, current))
        self._w_revision = rev
        if op.kind == "delete":
            del self._w_index[op.key]
        else:
            self._w_index[op.key] = (op.event.kv.create_revision, rev)

    def _deliver(self, ops: list[_Op]) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._on_committed, ops)
        except RuntimeError:  # loop closed during shutdown
            pass

    def _on_committed(self, ops: list[_Op]) -> None:
        """Runs on the event loop: publish committed changes in revision order, then acknowledge."""
        for op in ops:
            if op.error is not None or op.event is None:
                continue
            event = op.event
            key = event.kv.key
            prev = self._live.get(key)
            if event.type == "PUT":
                if prev is None:
                    bisect.insort(self._sorted_keys, key)
                self._live[key] = event.kv
                event = Event("PUT", event.kv, prev)
            else:
                assert prev is not None
                del self._live[key]
                i = bisect.bisect_left(self._sorted_keys, key)
                del self._sorted_keys[i]
                kv = KeyValue(key, prev.value, prev.create_revision, event.kv.mod_revision)
                event = Event("DELETE", kv, prev)
            op.result = event.kv
            self._revision = event.kv.mod_revision
            self._broadcaster.publish(event)
        for op in ops:
            if op.future.done():
                continue
            if op.error is not None:
                op.future.set_exception(op.error)
            else:
                op.future.set_result(op.result)

    # ----------------------------------------------------------------- compaction

    def _run_compaction(self, conn: sqlite3.Connection, ops: list[_Op]) -> None:
        target = min(max(op.expected for op in ops), self._w_revision)
        error: Exception | None = None
        try:
            row = conn.execute("SELECT value FROM meta WHERE name = 'compact_rev'").fetchone()
            start = row[0] if row else 0
            while start < target:
                end = min(target, start + COMPACT_CHUNK)
                conn.execute("BEGIN IMMEDIATE")
                # A row at or below the target is dead when a newer row at or below the target
                # replaces it, or when it is a tombstone (the rows it replaced are dead too).
                conn.execute(
                    "DELETE FROM log WHERE rev > ? AND rev <= ? AND (deleted = 1 OR EXISTS "
                    "(SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= ?))",
                    (start, end, target))
                conn.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('compact_rev', ?)", (target,))
                conn.execute("INSERT OR REPLACE INTO meta(name, value) VALUES ('rev_floor', ?)",
                             (self._w_revision,))
                conn.execute("COMMIT")
                start = end
            conn.execute("PRAGMA incremental_vacuum(2000)")
        except Exception as exc:
            log.exception("compaction failed")
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            error = StoreError(f"compaction failed: {exc}")
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._on_compacted, ops, error)

    def _on_compacted(self, ops: list[_Op], error: Exception | None) -> None:
        for op in ops:
            if op.future.done():
                continue
            if error is None:
                op.future.set_result(None)
            else:
                op.future.set_exception(error)

    # ----------------------------------------------------------------- watch

    def watch(self, prefix: str, after_revision: int) -> Watcher:
        if self._closed:
            raise StoreClosedError("store is closed")
        if after_revision and after_revision < self._compacted:
            raise CompactedError(after_revision, self._compacted)
        if after_revision > self._revision:
            raise FutureRevisionError(after_revision, self._revision)
        watcher = self._broadcaster.add(prefix)
        if after_revision and after_revision < self._revision:
            # Registered first, then backfilled up to the published revision: events after it
            # arrive live, so nothing is missed and nothing is repeated.
            watcher.push_many(self._history(prefix, after_revision, self._revision))
        return watcher

    def _history(self, prefix: str, after: int, upto: int) -> list[Event]:
        assert self._read is not None
        rows = self._read.execute(
            "SELECT l.rev, l.key, l.deleted, l.create_rev, l.prev_rev, l.value, p.value, p.create_rev "
            "FROM log l LEFT JOIN log p ON p.rev = l.prev_rev "
            "WHERE l.rev > ? AND l.rev <= ? AND l.key >= ? AND l.key < ? ORDER BY l.rev",
            (after, upto, prefix, prefix_end(prefix))).fetchall()
        events = []
        for rev, key, deleted, create_rev, prev_rev, value, prev_value, prev_create in rows:
            prev = KeyValue(key, prev_value, prev_create, prev_rev) if prev_value is not None else None
            events.append(Event("DELETE" if deleted else "PUT", KeyValue(key, value, create_rev, rev), prev))
        return events

    def watcher_count(self) -> int:
        return len(self._broadcaster)

    def file_size(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total
