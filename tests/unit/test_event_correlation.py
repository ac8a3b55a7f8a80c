"""Upstream's event correlation, as a table over a manual clock: similar events combined after
ten, a source's events about one object limited to a burst of 25 and one per five minutes."""

from __future__ import annotations

import pytest

from tinykube.client.eventcorrelation import COMBINED, EventCorrelator

RS = {"kind": "ReplicaSet", "namespace": "default", "name": "web-abc", "uid": "u1", "apiVersion": "apps/v1"}
POD = {"kind": "Pod", "namespace": "default", "name": "web-abc-x", "uid": "u2", "apiVersion": "v1"}
SOURCE = ("replicaset-controller", "")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def run(steps):
    """steps: (seconds to wait first, object, reason, message); returns what each became."""
    clock = Clock()
    correlator = EventCorrelator(clock)
    out = []
    for wait, ref, reason, message in steps:
        clock.t += wait
        result = correlator.correlate(SOURCE, ref, "Normal", reason, message)
        out.append(None if result is None else (result.key[-1], result.message))
    return out


def created(i: int) -> tuple[int, dict, str, str]:
    return (0, RS, "SuccessfulCreate", f"Created pod: web-abc-{i}")


@pytest.mark.parametrize("steps, expected", [
    # nine different messages stay apart; the tenth and later are one combined event
    ([created(i) for i in range(12)],
     [(f"Created pod: web-abc-{i}", f"Created pod: web-abc-{i}") for i in range(9)]
     + [("SuccessfulCreate", f"{COMBINED}Created pod: web-abc-{i}") for i in (9, 10, 11)]),
    # the same message again is the same event (counted), never combined
    ([(0, POD, "BackOff", "Back-off restarting failed container")] * 3,
     [("Back-off restarting failed container", "Back-off restarting failed container")] * 3),
    # ten minutes of quiet start the similar set afresh
    ([created(i) for i in range(9)] + [(601, RS, "SuccessfulCreate", "Created pod: web-abc-9")],
     [(f"Created pod: web-abc-{i}", f"Created pod: web-abc-{i}") for i in range(10)]),
])
def test_similar_events_are_combined_after_ten(steps, expected) -> None:
    assert run(steps) == expected


def test_a_source_may_send_25_events_about_an_object_then_one_per_five_minutes() -> None:
    steps = [created(i) for i in range(27)] + [(299, RS, "SuccessfulDelete", "Deleted pod: a"),
                                               (1, RS, "SuccessfulDelete", "Deleted pod: b"),
                                               (0, RS, "SuccessfulDelete", "Deleted pod: c")]
    out = run(steps)
    assert all(r is not None for r in out[:25]) and out[25] is None and out[26] is None
    assert out[27] is None  # 299 s refilled less than one event
    assert out[28] == ("Deleted pod: b", "Deleted pod: b")  # 300 s: one more
    assert out[29] is None


def test_the_limit_is_per_object_and_source() -> None:
    clock = Clock()
    correlator = EventCorrelator(clock)
    for i in range(25):
        assert correlator.correlate(SOURCE, RS, "Normal", "SuccessfulCreate", f"Created pod: {i}") is not None
    assert correlator.correlate(SOURCE, RS, "Normal", "SuccessfulCreate", "Created pod: more") is None
    assert correlator.correlate(SOURCE, POD, "Normal", "Scheduled", "Successfully assigned") is not None
    assert correlator.correlate(("kubelet", "node-1"), RS, "Normal", "Other", "another source") is not None
