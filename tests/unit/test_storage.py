"""The Store contract, run against both backends: SQLite on a real file and a real etcd.

Written against the protocol only. Revisions are counted from the store's revision at open,
because the etcd members are shared by the session (each test has its own key prefix).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tinykube.storage.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionMismatchError,
)
from tinykube.storage.etcd import EtcdEndpoints, EtcdStore
from tinykube.storage.sqlite import SqliteStore, prefix_end


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(params=["sqlite", "etcd"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where `open_store` opens: an SQLite file, or a key prefix of its own on the session's etcd."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    etcd = request.getfixturevalue("etcd")
    return f"{etcd.url}/t{uuid.uuid4().hex[:12]}"


async def open_store(where: str):
    if where.startswith("etcd://"):
        return await EtcdStore.open(where)
    return await SqliteStore.open(Path(where))


async def take(watch, n: int, timeout: float = 2.0) -> list[Event]:
    out: list[Event] = []

    async def collect() -> None:
        async for ev in watch:
            out.append(ev)
            if len(out) == n:
                return

    await asyncio.wait_for(collect(), timeout)
    return out


@pytest.mark.parametrize("prefix,expected", [("/a/", "/a0"), ("/registry/pods/", "/registry/pods0"), ("", "\U0010ffff")])
def test_prefix_end(prefix: str, expected: str) -> None:
    assert prefix_end(prefix) == expected


def test_revisions_are_global_and_monotonic(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        base = s.revision
        a = await s.create("/r/a", b"1")
        b = await s.create("/r/b", b"2")
        a2 = await s.update("/r/a", b"3", a.mod_revision)
        d = await s.delete("/r/b")
        assert [a.mod_revision, b.mod_revision, a2.mod_revision, d.mod_revision] == [base + i for i in (1, 2, 3, 4)]
        assert a2.create_revision == base + 1
        assert d.value == b"2" and d.create_revision == base + 2
        assert s.revision == base + 4
        await s.close()
    run(main())


@pytest.mark.parametrize("op,error", [
    ("create-existing", KeyExistsError),
    ("update-missing", KeyNotFoundError),
    ("delete-missing", KeyNotFoundError),
    ("update-stale", RevisionMismatchError),
    ("delete-stale", RevisionMismatchError),
])
def test_conditional_writes_fail_without_change(backend: str, op: str, error: type) -> None:
    async def main() -> None:
        s = await open_store(backend)
        kv = await s.create("/r/x", b"v1")
        await s.update("/r/x", b"v2", kv.mod_revision)
        before = s.revision
        with pytest.raises(error):
            if op == "create-existing":
                await s.create("/r/x", b"again")
            elif op == "update-missing":
                await s.update("/r/missing", b"v")
            elif op == "delete-missing":
                await s.delete("/r/missing")
            elif op == "update-stale":
                await s.update("/r/x", b"v3", kv.mod_revision)
            else:
                await s.delete("/r/x", kv.mod_revision)
        assert s.revision == before
        assert (await s.get("/r/x")).value == b"v2"
        await s.close()
    run(main())


def test_list_prefix_paging_and_old_revisions(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        for name in ["c", "a", "b", "d"]:
            await s.create(f"/r/ns1/{name}", name.encode())
        await s.create("/r/ns2/a", b"other")
        await s.create("/r/ns10/z", b"not a child of ns1/")
        rev_before = s.revision
        await s.update("/r/ns1/a", b"a2")
        await s.delete("/r/ns1/b")

        res = await s.list("/r/ns1/")
        assert [kv.key for kv in res.kvs] == ["/r/ns1/a", "/r/ns1/c", "/r/ns1/d"]
        assert res.revision == s.revision and res.remaining == 0

        page1 = await s.list("/r/ns1/", limit=2)
        assert [kv.key for kv in page1.kvs] == ["/r/ns1/a", "/r/ns1/c"] and page1.remaining == 1
        page2 = await s.list("/r/ns1/", start_after=page1.kvs[-1].key, limit=2)
        assert [kv.key for kv in page2.kvs] == ["/r/ns1/d"] and page2.remaining == 0

        old = await s.list("/r/ns1/", revision=rev_before)
        assert [(kv.key, kv.value) for kv in old.kvs] == [
            ("/r/ns1/a", b"a"), ("/r/ns1/b", b"b"), ("/r/ns1/c", b"c"), ("/r/ns1/d", b"d")]
        old_page = await s.list("/r/ns1/", revision=rev_before, start_after="/r/ns1/a", limit=2)
        assert [kv.key for kv in old_page.kvs] == ["/r/ns1/b", "/r/ns1/c"] and old_page.remaining == 1
        assert (await s.get("/r/ns1/b", revision=rev_before)).value == b"b"
        assert await s.get("/r/ns1/b") is None
        with pytest.raises(FutureRevisionError):
            await s.get("/r/ns1/a", revision=s.revision + 5)
        assert await s.count("/r/") == 5
        await s.close()
    run(main())


def test_watch_live_and_from_revision(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        first = await s.create("/r/a", b"1")
        await s.update("/r/a", b"2")
        await s.create("/other/x", b"ignored")
        await s.delete("/r/a")
        # from a past revision: history, then live
        w = s.watch("/r/", first.mod_revision)
        await s.create("/r/b", b"live")
        events = await take(w, 3)
        assert [(e.type, e.kv.key, e.kv.value) for e in events] == [
            ("PUT", "/r/a", b"2"), ("DELETE", "/r/a", b"2"), ("PUT", "/r/b", b"live")]
        assert events[0].prev is not None and events[0].prev.value == b"1"
        assert [e.revision for e in events] == sorted(e.revision for e in events)
        w.close()
        # from now: no history
        w2 = s.watch("/r/", 0)
        await s.update("/r/b", b"again")
        (ev,) = await take(w2, 1)
        assert ev.kv.value == b"again" and ev.prev.value == b"live"
        w2.close()
        await s.close()
    run(main())


def test_compaction_refuses_old_reads_and_keeps_latest(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        for i in range(50):
            await s.update("/r/lease", str(i).encode()) if i else await s.create("/r/lease", b"0")
        await s.create("/r/gone", b"x")
        await s.delete("/r/gone")
        mid = s.revision
        await s.update("/r/lease", b"after")
        await s.compact(mid)
        assert s.compacted_revision == mid
        with pytest.raises(CompactedError):
            await s.list("/r/", revision=mid - 1)
        with pytest.raises(CompactedError):
            s.watch("/r/", mid - 1)
        at_mid = await s.list("/r/", revision=mid)
        assert [(kv.key, kv.value) for kv in at_mid.kvs] == [("/r/lease", b"49")]
        w = s.watch("/r/", mid)
        (ev,) = await take(w, 1)
        assert ev.kv.value == b"after"
        w.close()
        if isinstance(s, SqliteStore):
            rows = s._read.execute("SELECT COUNT(*) FROM log").fetchone()[0]
            assert rows == 2  # the lease at mid and after it
        await s.close()
        # the compacted revision and the revision counter survive a restart
        s2 = await open_store(backend)
        assert s2.compacted_revision == mid and s2.revision == mid + 1
        assert (await s2.create("/r/new", b"n")).mod_revision == mid + 2
        await s2.close()
    run(main())


def test_restart_keeps_state_and_revision_after_deleting_latest(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        base = s.revision
        await s.create("/r/a", b"1")
        await s.create("/r/b", b"2")
        await s.delete("/r/b")
        await s.compact(s.revision)
        await s.close()
        s2 = await open_store(backend)
        assert s2.revision == base + 3
        assert [kv.key for kv in (await s2.list("/r/")).kvs] == ["/r/a"]
        assert (await s2.create("/r/c", b"3")).mod_revision == base + 4
        await s2.close()
    run(main())


def test_concurrent_writers_get_distinct_revisions(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        base = s.revision
        kvs = await asyncio.gather(*(s.create(f"/r/{i:04d}", b"x") for i in range(300)))
        revs = sorted(kv.mod_revision for kv in kvs)
        assert revs == list(range(base + 1, base + 301))
        # compare-and-swap: of many racing updates from the same revision, exactly one wins
        base = await s.create("/r/cas", b"0")
        results = await asyncio.gather(*(s.update("/r/cas", str(i).encode(), base.mod_revision)
                                         for i in range(20)), return_exceptions=True)
        assert sum(not isinstance(r, Exception) for r in results) == 1
        assert all(isinstance(r, RevisionMismatchError) for r in results if isinstance(r, Exception))
        await s.close()
    run(main())


def test_slow_watcher_is_closed_not_unbounded(backend: str) -> None:
    async def main() -> None:
        s = await open_store(backend)
        w = s._broadcaster.add("/r/", max_pending=5)
        for i in range(10):
            await s.create(f"/r/{i}", b"x")
        assert w.overflowed
        got = [e async for e in w]
        assert len(got) == 5
        await s.close()
    run(main())


@pytest.mark.parametrize("url,hosts,prefix", [
    ("etcd://127.0.0.1:2379", ((("127.0.0.1", 2379),)), ""),
    ("etcd://h1:2379,h2:12379/tinykube", (("h1", 2379), ("h2", 12379)), "/tinykube"),
    ("etcd://[::1]:2379", ((("::1", 2379),)), ""),
    ("etcd://h1", ((("h1", 2379),)), ""),
])
def test_etcd_datastore_urls(url: str, hosts: tuple, prefix: str) -> None:
    parsed = EtcdEndpoints.parse(url)
    assert parsed.hosts == hosts and parsed.prefix == prefix


@pytest.mark.parametrize("url", ["sqlite:///x", "etcd://h1:port", "etcd://"])
def test_etcd_datastore_url_errors(url: str) -> None:
    with pytest.raises(ValueError):
        EtcdEndpoints.parse(url)


def test_etcd_two_stores_share_one_keyspace(etcd) -> None:
    """Two servers on one etcd: each sees the other's writes live, and compare-and-swap spans both."""
    where = f"{etcd.url}/t{uuid.uuid4().hex[:12]}"

    async def main() -> None:
        a = await open_store(where)
        b = await open_store(where)
        w = b.watch("/r/", 0)
        kv = await a.create("/r/x", b"1")
        (ev,) = await take(w, 1, timeout=5)
        assert ev.type == "PUT" and ev.kv == kv
        await b.update("/r/x", b"2", kv.mod_revision)
        with pytest.raises(RevisionMismatchError):
            await a.update("/r/x", b"3", kv.mod_revision)
        # a failed compare-and-swap leaves the loser's memory caught up with the winner
        assert (await a.get("/r/x")).value == b"2"
        with pytest.raises(KeyExistsError):
            await b.create("/r/x", b"again")
        deleted = await a.delete("/r/x")
        assert deleted.value == b"2"
        (put2, gone) = await take(w, 2, timeout=5)
        assert put2.kv.value == b"2" and gone.type == "DELETE" and gone.kv.mod_revision == deleted.mod_revision
        assert await b.get("/r/x") is None  # b's memory applied the delete before publishing it
        w.close()
        await a.close()
        await b.close()
    run(main())


def test_etcd_slow_history_watch_is_closed_and_released(etcd) -> None:
    """A watch from an old revision (its own etcd watch) that overflows ends like a live one does."""
    async def main() -> None:
        s = await open_store(f"{etcd.url}/t{uuid.uuid4().hex[:12]}")
        first = await s.create("/r/0", b"x")
        for i in range(1, 10):
            await s.create(f"/r/{i}", b"x")
        w = s.watch("/r/", first.mod_revision)
        w._max_pending = 3
        await asyncio.sleep(0)
        got = [e async for e in w]
        assert w.overflowed and len(got) == 3
        await asyncio.sleep(0.2)
        assert s.watcher_count() == 0
        await s.close()
    run(main())


def test_etcd_cluster_prefixes_do_not_overlap(etcd) -> None:
    """/tX and /tXy are two clusters: neither lists, counts or watches the other's keys."""
    base = f"t{uuid.uuid4().hex[:12]}"

    async def main() -> None:
        a = await open_store(f"{etcd.url}/{base}")
        b = await open_store(f"{etcd.url}/{base}y")
        before = a.revision
        w = a.watch("", before)
        await b.create("/r/theirs", b"b")
        mine = await a.create("/r/mine", b"a")
        assert [kv.key for kv in (await a.list("")).kvs] == ["/r/mine"]
        assert [kv.key for kv in (await a.list("", revision=mine.mod_revision)).kvs] == ["/r/mine"]
        assert await a.count("") == 1
        (ev,) = await take(w, 1, timeout=5)
        assert ev.kv.key == "/r/mine"
        w.close()
        await a.close()
        await b.close()
    run(main())


def test_a_watcher_hands_on_queued_events_at_once_and_says_when_idle():
    from tinykube.storage.interface import Event, KeyValue
    from tinykube.storage.watchers import Broadcaster

    async def main():
        broadcaster = Broadcaster()
        watcher = broadcaster.add("/a/")
        with pytest.raises(TimeoutError):  # nothing yet: idle after the given time
            await watcher.next(0.01)
        event = Event("PUT", KeyValue("/a/x", b"{}", 5, 5), None)
        broadcaster.publish(event)
        broadcaster.publish(Event("PUT", KeyValue("/b/y", b"{}", 6, 6), None))  # another prefix
        first = await watcher.next(0.01)
        watcher.close()
        return first, await watcher.next(0.01)

    first, after_close = asyncio.run(main())
    assert first.kv.key == "/a/x" and after_close is None
