"""The event recorder against a real registry on SQLite: a burst is written in full, side by
side, and repeats of one event still fold into one Event with a count."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tinykube.client import events as events_module
from tinykube.client.api import EVENTS
from tinykube.client.events import EventRecorder
from tinykube.client.local import LocalClient
from tinykube.clock import Clock
from tinykube.registry.hooks import kind_hooks
from tinykube.registry.objects import ObjectRegistry
from tinykube.server import bootstrap
from tinykube.storage.sqlite import SqliteStore


def pod(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"p-{i}", "namespace": "default", "uid": f"uid-{i}"}}


async def recorded(tmp_path: Path, record) -> tuple[list[dict], EventRecorder]:
    clock = Clock()
    store = await SqliteStore.open(tmp_path / "state.db")
    try:
        registry = ObjectRegistry(store, clock, kind_hooks(clock))
        await bootstrap(registry)
        client = LocalClient(registry, "kubelet")
        recorder = EventRecorder(client, clock, "kubelet", host="node-1")
        writer = asyncio.create_task(recorder.run())
        record(recorder)
        await asyncio.wait_for(recorder.flush(), 30)
        writer.cancel()
        items = (await client.list(EVENTS, "default"))["items"]
        return items, recorder
    finally:
        await store.close()


def test_a_burst_below_the_backlog_limit_is_written_in_full(tmp_path: Path) -> None:
    def burst(recorder: EventRecorder) -> None:
        for i in range(300):  # 900 events, queued before the writer runs: below its 1000
            for reason in ("Pulled", "Created", "Started"):
                recorder.event(pod(i % 150), "Normal", reason, f"{reason} container c")
    items, recorder = asyncio.run(recorded(tmp_path, burst))
    assert recorder.dropped == 0
    # 150 pods x 3 reasons, each recorded twice: one Event apiece with count 2
    assert len(items) == 450
    assert {e["count"] for e in items} == {2}
    assert {(e["involvedObject"]["name"], e["reason"]) for e in items} == \
        {(f"p-{i}", r) for i in range(150) for r in ("Pulled", "Created", "Started")}


def test_repeats_of_one_event_fold_in_order_even_with_writes_side_by_side(tmp_path: Path) -> None:
    def repeats(recorder: EventRecorder) -> None:
        for _ in range(25):
            recorder.event(pod(1), "Warning", "BackOff", "Back-off restarting failed container")
            recorder.event(pod(2), "Normal", "Killing", "Stopping container c")
    items, _ = asyncio.run(recorded(tmp_path, repeats))
    assert sorted((e["involvedObject"]["name"], e["reason"], e["count"]) for e in items) == \
        [("p-1", "BackOff", 25), ("p-2", "Killing", 25)]
    for e in items:
        assert e["source"] == {"component": "kubelet", "host": "node-1"}
        assert e["firstTimestamp"] <= e["lastTimestamp"]


@pytest.mark.parametrize("in_flight", [1, 4])
def test_no_more_writes_than_the_limit_are_in_flight(tmp_path: Path, monkeypatch, in_flight: int) -> None:
    monkeypatch.setattr(events_module, "MAX_IN_FLIGHT", in_flight)
    peak = 0
    original = EventRecorder._write

    async def counting(self, *args):
        nonlocal peak
        self.active = getattr(self, "active", 0) + 1
        peak = max(peak, self.active)
        try:
            await original(self, *args)
        finally:
            self.active -= 1

    monkeypatch.setattr(EventRecorder, "_write", counting)

    def burst(recorder: EventRecorder) -> None:
        for i in range(40):
            recorder.event(pod(i), "Normal", "Scheduled", f"Successfully assigned default/p-{i} to node-1")
    items, _ = asyncio.run(recorded(tmp_path, burst))
    assert len(items) == 40
    assert peak == in_flight


def test_a_busy_object_gets_nine_events_and_a_combined_one_and_the_rest_are_filtered(tmp_path: Path) -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-abc", "namespace": "default", "uid": "rs-uid"}}

    def scale_up(recorder: EventRecorder) -> None:
        for i in range(30):
            recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: web-abc-{i:02d}")
    items, recorder = asyncio.run(recorded(tmp_path, scale_up))
    by_message = {e["message"]: e["count"] for e in items}
    assert {m: c for m, c in by_message.items() if not m.startswith("(combined")} == \
        {f"Created pod: web-abc-{i:02d}": 1 for i in range(9)}
    # the 10th..25th fold into one event, which shows the latest message; 26th..30th are dropped
    assert by_message["(combined from similar events): Created pod: web-abc-24"] == 16
    assert len(items) == 10 and recorder.filtered == 5
