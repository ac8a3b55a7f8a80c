"""The CronJob controller in process, on a ManualClock: hours pass in an instant, deterministically.

A real registry on SQLite in a temporary directory, the shared informers and the controller;
time moves only when a test advances the clock, so missed starts and deadlines are exact.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from tinykube.client.api import EVENTS, object_key
from tinykube.client.informer import InformerFactory
from tinykube.client.local import LocalClient
from tinykube.clock import ManualClock
from tinykube.controllers.cronjob import (
    CRONJOBS, JOBS, CronJobController, by_job_start, finished_condition, job_from_template,
)
from tinykube.controllers.cronschedule import job_name
from tinykube.registry.hooks import kind_hooks
from tinykube.registry.objects import ObjectRegistry
from tinykube.server import bootstrap
from tinykube.storage.sqlite import SqliteStore

UTC = timezone.utc
START = datetime(2026, 1, 1, tzinfo=UTC)
GUARD = 10.0  # wall seconds; reached only if a test is broken


class Harness:
    def __init__(self, clock: ManualClock, client: LocalClient, controller: CronJobController) -> None:
        self.clock, self.client, self.controller = clock, client, controller

    async def create(self, name: str = "hello", schedule: str = "*/1 * * * *", **spec: Any) -> dict:
        body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": "default"},
                "spec": {"schedule": schedule, **spec, "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}
        created = await self.client.create(CRONJOBS, body)
        await self.eventually(lambda: self.controller.cronjobs.cache.get(object_key(created)) is not None)
        await self.idle()
        return created

    async def jobs(self) -> list[str]:
        return sorted(j["metadata"]["name"] for j in (await self.client.list(JOBS, "default"))["items"])

    async def events(self, reason: str) -> list[dict]:
        await self.controller.recorder.flush()
        items = (await self.client.list(EVENTS, "default"))["items"]
        return [e for e in items if e["reason"] == reason]

    async def eventually(self, predicate: Callable[[], Any], timeout: float = GUARD) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError("condition not reached")
            await asyncio.sleep(0.01)

    async def idle(self) -> None:
        """Let the controller finish what it is doing (queue empty, nothing processing)."""
        queue = self.controller.queue
        await self.eventually(lambda: len(queue) == 0 and not queue._processing)
        await asyncio.sleep(0.05)
        await self.eventually(lambda: len(queue) == 0 and not queue._processing)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await asyncio.sleep(0.02)
        await self.idle()


def run(tmp_path: Path, body: Callable[[Harness], Awaitable[None]]) -> None:
    async def main() -> None:
        clock = ManualClock(START)
        store = await SqliteStore.open(tmp_path / "state.db")
        registry = ObjectRegistry(store, clock, kind_hooks(clock))
        await bootstrap(registry)
        informers = InformerFactory(LocalClient(registry, "informers"), clock)
        client = LocalClient(registry, "kube-controller-manager")
        controller = CronJobController(client, clock, informers)
        informers.start()
        task = asyncio.create_task(controller.run())
        try:
            await informers.wait_synced()
            await asyncio.wait_for(body(Harness(clock, client, controller)), GUARD * 3)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await informers.stop()
            await store.close()
    asyncio.run(main())


def minute_job(hours: int, minutes: int, name: str = "hello") -> str:
    return job_name(name, START.replace(hour=hours, minute=minutes))


def test_first_start_then_one_per_minute(tmp_path: Path):
    async def body(h: Harness) -> None:
        await h.advance(10)
        await h.create()
        assert await h.jobs() == []
        await h.advance(50.05)  # 00:01:00.05: not yet (the controller looks at 00:01:00.1)
        assert await h.jobs() == []
        await h.advance(0.1)
        assert await h.jobs() == [minute_job(0, 1)]
        await h.advance(60)
        assert await h.jobs() == [minute_job(0, 1), minute_job(0, 2)]
        cj = await h.client.get(CRONJOBS, "hello", "default")
        assert cj["status"]["lastScheduleTime"] == "2026-01-01T00:02:00Z"
        assert [r["name"] for r in cj["status"]["active"]] == [minute_job(0, 1), minute_job(0, 2)]
    run(tmp_path, body)


@pytest.mark.parametrize("deadline, too_many", [(None, True), (200, False)])
def test_hours_missed_start_only_the_latest(tmp_path: Path, deadline: int | None, too_many: bool):
    async def body(h: Harness) -> None:
        await h.advance(10)
        await h.create(**({"startingDeadlineSeconds": deadline} if deadline is not None else {}))
        # three hours in one step: the controller wakes once, at 03:00:10, as after an outage
        await h.advance(3 * 3600)
        assert await h.jobs() == [minute_job(3, 0)]
        warnings = await h.events("TooManyMissedTimes")
        assert bool(warnings) == too_many
        if too_many:
            assert warnings[0]["type"] == "Warning" and warnings[0]["message"] == (
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew")
    run(tmp_path, body)


def test_starting_deadline_passed_waits_for_the_next_start(tmp_path: Path):
    async def body(h: Harness) -> None:
        await h.advance(10)
        await h.create(startingDeadlineSeconds=20)
        await h.advance(3 * 3600 + 30)  # 03:00:40: the 03:00 start is 40 s late, beyond the deadline
        assert await h.jobs() == []
        assert h.controller.queue._waiting  # requeued for 03:01:00.1, no polling
        due = min(ready for ready, _ in h.controller.queue._waiting_entry.values()) - h.clock.monotonic()
        assert due == pytest.approx(20.1)
        await h.advance(20.1)
        assert await h.jobs() == [minute_job(3, 1)]
    run(tmp_path, body)


def test_suspend_and_resume(tmp_path: Path):
    async def body(h: Harness) -> None:
        await h.create(suspend=True)
        await h.advance(300)
        assert await h.jobs() == []
        cj = await h.client.get(CRONJOBS, "hello", "default")
        cj["spec"]["suspend"] = False
        await h.client.update(CRONJOBS, cj)
        await h.eventually(lambda: h.jobs())
        assert await h.jobs() == [minute_job(0, 5)]  # the most recent missed start only
    run(tmp_path, body)


def test_missing_active_job_is_dropped(tmp_path: Path):
    async def body(h: Harness) -> None:
        await h.create(concurrencyPolicy="Forbid")
        await h.advance(60.2)
        assert await h.jobs() == [minute_job(0, 1)]
        await h.client.delete(JOBS, minute_job(0, 1), "default")
        await h.eventually(lambda: h.events("MissingJob"))
        assert (await h.events("MissingJob"))[0]["message"] == f"Active job went missing: {minute_job(0, 1)}"
        await h.idle()
        assert not (await h.client.get(CRONJOBS, "hello", "default"))["status"].get("active")
        await h.advance(60)  # Forbid no longer blocks
        assert await h.jobs() == [minute_job(0, 2)]
    run(tmp_path, body)


def test_schedule_change_moves_the_wake_up(tmp_path: Path):
    async def body(h: Harness) -> None:
        await h.create(schedule="@hourly")
        await h.advance(120)
        assert await h.jobs() == []
        cj = await h.client.get(CRONJOBS, "hello", "default")
        cj["spec"]["schedule"] = "*/5 * * * *"
        await h.client.update(CRONJOBS, cj)
        await h.idle()
        await h.advance(180.2)  # 00:05:00.2
        assert await h.jobs() == [minute_job(0, 5)]
    run(tmp_path, body)


# ----------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("conditions, expect", [
    ([], None),
    ([{"type": "Complete", "status": "True"}], "Complete"),
    ([{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}], "Complete"),
    ([{"type": "Failed", "status": "True"}], "Failed"),
    ([{"type": "FailureTarget", "status": "True"}], None),  # not finished until Failed is True
    ([{"type": "Complete", "status": "False"}], None),
    ([{"type": "Suspended", "status": "True"}], None),
])
def test_finished_condition(conditions: list[dict], expect: str | None):
    assert finished_condition({"status": {"conditions": conditions}}) == expect


def test_history_order_oldest_start_first_unstarted_last():
    def job(name: str, start: str | None) -> dict:
        return {"metadata": {"name": name}, "status": {"startTime": start} if start else {}}
    jobs = [job("d", None), job("c", "2026-01-01T00:03:00Z"), job("b", "2026-01-01T00:01:00Z"),
            job("a", "2026-01-01T00:03:00Z"), job("e", None)]
    assert [j["metadata"]["name"] for j in sorted(jobs, key=by_job_start)] == ["b", "a", "c", "d", "e"]


def test_job_from_template():
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob",
               "metadata": {"name": "hello", "namespace": "ns", "uid": "u-1"},
               "spec": {"schedule": "30 2 * * *", "timeZone": "America/New_York", "jobTemplate": {
                   "metadata": {"labels": {"app": "x"}, "annotations": {"note": "y"}},
                   "spec": {"backoffLimit": 2, "template": {"spec": {"containers": [{"name": "c"}]}}}}}}
    scheduled = datetime(2026, 3, 9, 6, 30, tzinfo=UTC)
    job = job_from_template(cronjob, scheduled)
    assert job["metadata"] == {
        "name": "hello-29550630", "namespace": "ns", "labels": {"app": "x"},
        "annotations": {"note": "y", "batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-03-09T02:30:00-04:00"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello", "uid": "u-1",
                             "controller": True, "blockOwnerDeletion": True}]}
    assert job["spec"] == cronjob["spec"]["jobTemplate"]["spec"] and job["spec"] is not cronjob["spec"]["jobTemplate"]["spec"]
