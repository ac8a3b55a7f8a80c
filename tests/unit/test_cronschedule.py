"""CronJob schedule arithmetic: robfig/cron's Next, time zones and DST, missed starts, job names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tinykube.controllers.cronschedule import (
    Schedule, ScheduleError, job_name, most_recent_schedule_time, next_schedule_time, requeue_after,
    rfc1123z, scheduled_timestamp,
)

UTC = timezone.utc


def at(text: str) -> datetime:
    """A UTC instant from `YYYY-MM-DD HH:MM[:SS]`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def starts(spec: str, after: str, n: int, zone: str | None = "UTC") -> list[str]:
    schedule = Schedule.parse(spec, zone)
    out, moment = [], at(after)
    for _ in range(n):
        moment = schedule.next(moment)
        out.append(moment.astimezone(schedule.zone).isoformat())
    return out


# ----------------------------------------------------------------------------- Next


@pytest.mark.parametrize("spec, after, expect", [
    # descriptors, expanded as robfig/cron does
    ("@yearly", "2026-03-01 12:00", ["2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"]),
    ("@annually", "2026-03-01 12:00", ["2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"]),
    ("@monthly", "2026-01-31 12:00", ["2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"]),
    ("@weekly", "2026-01-01 12:00", ["2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"]),  # Sundays
    ("@daily", "2026-01-01 12:00", ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]),
    ("@midnight", "2026-01-01 00:00", ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]),
    ("@hourly", "2026-01-01 12:00", ["2026-01-01T13:00:00+00:00", "2026-01-01T14:00:00+00:00"]),
    ("@every 90m", "2026-01-01 12:00:30.5", ["2026-01-01T13:30:30+00:00", "2026-01-01T15:00:30+00:00"]),
    ("@every 500ms", "2026-01-01 12:00", ["2026-01-01T12:00:01+00:00", "2026-01-01T12:00:02+00:00"]),
    # strictly after: a start exactly at `after` is not the next one
    ("*/1 * * * *", "2026-01-01 12:00", ["2026-01-01T12:01:00+00:00", "2026-01-01T12:02:00+00:00"]),
    ("*/1 * * * *", "2026-01-01 12:00:59.9", ["2026-01-01T12:01:00+00:00", "2026-01-01T12:02:00+00:00"]),
    # steps, ranges, lists, names
    ("*/15 * * * *", "2026-01-01 12:07", ["2026-01-01T12:15:00+00:00", "2026-01-01T12:30:00+00:00"]),
    ("5/20 * * * *", "2026-01-01 12:30", ["2026-01-01T12:45:00+00:00", "2026-01-01T13:05:00+00:00"]),
    ("10-12 9 * * *", "2026-01-01 09:10", ["2026-01-01T09:11:00+00:00", "2026-01-01T09:12:00+00:00"]),
    ("0 8-18/5 * * *", "2026-01-01 09:00", ["2026-01-01T13:00:00+00:00", "2026-01-01T18:00:00+00:00"]),
    ("0 0,12 * * *", "2026-01-01 06:00", ["2026-01-01T12:00:00+00:00", "2026-01-02T00:00:00+00:00"]),
    ("0 9 * jan,mar mon-wed", "2026-01-28 12:00",  # Wed 28 Jan, then March
     ["2026-03-02T09:00:00+00:00", "2026-03-03T09:00:00+00:00"]),
    ("0 0 29 2 *", "2026-01-01 00:00", ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]),
    # day of month and day of week: either matches when both are restricted ...
    ("0 0 13 * 5", "2026-02-01 00:00", ["2026-02-06T00:00:00+00:00", "2026-02-13T00:00:00+00:00"]),
    # ... both must when either is a star (robfig's star bit), also `?`
    ("0 0 * * 5", "2026-02-01 00:00", ["2026-02-06T00:00:00+00:00", "2026-02-13T00:00:00+00:00"]),
    ("0 0 ? * 1", "2026-02-01 00:00", ["2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00"]),
    ("0 0 */1 * 1", "2026-02-01 00:00", ["2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00"]),
    # a step above 1 drops the star bit: */10 (1,11,21,31) or Mondays
    ("0 0 */10 * 1", "2026-02-01 00:00", ["2026-02-02T00:00:00+00:00", "2026-02-09T00:00:00+00:00",
                                          "2026-02-11T00:00:00+00:00"]),
    # a full range written out is no star: either field, so every day
    ("0 0 1-31 * 1", "2026-02-01 00:00", ["2026-02-02T00:00:00+00:00", "2026-02-03T00:00:00+00:00"]),
])
def test_next(spec: str, after: str, expect: list[str]):
    assert starts(spec, after, len(expect)) == expect


def brute_next(schedule: Schedule, after: datetime) -> datetime:
    """Every minute, checked field by field as robfig's matcher does (the reference)."""
    minute, hour, dom, month, dow = schedule.parsed.fields
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while True:
        local = moment.astimezone(schedule.zone)
        dom_ok, dow_ok = local.day in dom, (local.weekday() + 1) % 7 in dow
        day_ok = (dom_ok and dow_ok) if schedule.parsed.dom_star or schedule.parsed.dow_star else (dom_ok or dow_ok)
        if local.minute in minute and local.hour in hour and local.month in month and day_ok:
            return moment
        moment += timedelta(minutes=1)


@pytest.mark.parametrize("spec, zone", [
    ("*/7 * * * *", "America/New_York"), ("30 1 * * *", "America/New_York"), ("30 2 * * *", "America/New_York"),
    ("0 */2 * * *", "Europe/Berlin"), ("15 0,1,2,3 * * *", "Europe/Berlin"), ("0 0 13 * 5", "UTC"),
    ("45 23 * * 0", "Australia/Lord_Howe"), ("0 2 1-7 * 0", "Asia/Kolkata"),
])
@pytest.mark.parametrize("after", ["2026-03-08 05:00", "2026-03-29 00:20", "2026-11-01 04:50", "2026-10-25 00:10",
                                   "2026-04-05 14:40", "2026-10-04 15:00"])
def test_next_agrees_with_minute_by_minute_matching(spec: str, zone: str, after: str):
    schedule = Schedule.parse(spec, zone)
    moment = at(after)
    for _ in range(6):
        expected = brute_next(schedule, moment)
        assert schedule.next(moment) == expected, moment
        moment = expected


# America/New_York: 2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST.
@pytest.mark.parametrize("spec, after, expect", [
    # spring forward: 02:30 never happens that day, so robfig/cron skips the day
    ("30 2 * * *", "2026-03-07 12:00", ["2026-03-09T02:30:00-04:00",
                                         "2026-03-10T02:30:00-04:00"]),
    ("30 3 * * *", "2026-03-07 12:00", ["2026-03-08T03:30:00-04:00", "2026-03-09T03:30:00-04:00"]),
    # fall back: 02:30 happens once (EST) ...
    ("30 2 * * *", "2026-10-31 12:00", ["2026-11-01T02:30:00-05:00", "2026-11-02T02:30:00-05:00"]),
    # ... 01:30 twice, once per offset
    ("30 1 * * *", "2026-10-31 12:00", ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00",
                                         "2026-11-02T01:30:00-05:00"]),
    # hourly through both transitions
    ("0 * * * *", "2026-03-08 06:30", ["2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"]),
    ("0 * * * *", "2026-11-01 05:30", ["2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"]),
    ("@daily", "2026-03-07 12:00", ["2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"]),
])
def test_dst_in_new_york(spec: str, after: str, expect: list[str]):
    assert starts(spec, after, len(expect), "America/New_York") == expect


def test_time_zone_from_schedule_prefix_and_utc_default():
    assert starts("TZ=Asia/Tokyo 0 9 * * *", "2025-12-31 23:00", 1, None) == ["2026-01-01T09:00:00+09:00"]
    assert starts("CRON_TZ=Asia/Tokyo 0 9 * * *", "2025-12-31 23:00", 1, "UTC") == ["2026-01-01T09:00:00+09:00"]
    assert starts("0 9 * * *", "2026-01-01 00:00", 1, "UTC") == ["2026-01-01T09:00:00+00:00"]


@pytest.mark.parametrize("spec, zone, problem", [
    ("61 * * * *", None, "end of range (61) above maximum (59): 61"),
    ("* * * *", None, "expected exactly 5 fields, found 4: [* * * *]"),
    ("@every 1h", "Bad/Zone", "unknown time zone Bad/Zone"),
])
def test_unparseable(spec: str, zone: str | None, problem: str):
    with pytest.raises(ScheduleError, match=problem.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)").replace("*", r"\*")):
        Schedule.parse(spec, zone)


def test_never_matching_schedule():
    schedule = Schedule.parse("0 0 31 2 *", "UTC")
    assert schedule.next(at("2026-01-01 00:00")) is None
    with pytest.raises(ScheduleError, match="time difference between two schedules is less than 1 second"):
        most_recent_schedule_time(schedule, at("2026-01-01 00:00"), None, at("2026-06-01 00:00"))


# ----------------------------------------------------------------------------- missed starts

CREATED = "2026-01-01 00:00:10"


@pytest.mark.parametrize("spec, last, now, deadline, most_recent, missed, count", [
    # nothing due yet
    ("*/1 * * * *", None, "2026-01-01 00:00:50", None, None, "none", 0),
    # exactly one start since creation
    ("*/1 * * * *", None, "2026-01-01 00:01:00", None, "2026-01-01 00:01", "none", 1),
    ("*/1 * * * *", None, "2026-01-01 00:01:59", None, "2026-01-01 00:01", "none", 1),
    # from the last schedule time, not creation
    ("*/1 * * * *", "2026-01-01 00:05", "2026-01-01 00:06:30", None, "2026-01-01 00:06", "none", 1),
    ("*/1 * * * *", "2026-01-01 00:05", "2026-01-01 00:05:30", None, None, "none", 0),
    # a few missed: the latest is the one to start
    ("*/1 * * * *", "2026-01-01 00:05", "2026-01-01 00:09:30", None, "2026-01-01 00:09", "few", 4),
    ("*/5 * * * *", None, "2026-01-01 01:00:00", None, "2026-01-01 01:00", "few", 12),
    ("0 * * * *", None, "2026-01-03 00:30:00", None, "2026-01-03 00:00", "few", 48),
    # irregular schedules: upstream estimates the count from the first interval (4 h) and
    # searches from just before the estimated last start ...
    ("30 6-16/4 * * 1-5", None, "2026-01-09 15:00:00", None, "2026-01-09 14:30", "few", 51),
    # ... which can overshoot past the real last start (nights and weekends count as slots):
    # then nothing is due and the controller waits for the next start, as upstream's does
    ("30 6-16/4 * * 1-5", None, "2026-01-09 20:00:00", None, None, "few", 52),
    # exactly 100 missed is still "few"; 101 is "many" (TooManyMissedTimes), still the latest
    ("*/1 * * * *", None, "2026-01-01 01:40:00", None, "2026-01-01 01:40", "few", 100),
    ("*/1 * * * *", None, "2026-01-01 01:41:00", None, "2026-01-01 01:41", "many", 101),
    ("*/1 * * * *", None, "2026-01-08 00:00:30", None, "2026-01-08 00:00", "many", 10080),
    # startingDeadlineSeconds bounds the window: only starts within the deadline count
    ("*/1 * * * *", None, "2026-01-08 00:00:30", 200, "2026-01-08 00:00", "few", 3),
    ("*/1 * * * *", None, "2026-01-08 00:00:30", 40, "2026-01-08 00:00", "none", 1),
    ("*/1 * * * *", None, "2026-01-08 00:00:30", 20, None, "none", 0),  # missed by more than the deadline
    ("*/1 * * * *", "2026-01-08 00:00", "2026-01-08 00:00:30", 3600, None, "none", 0),  # last schedule is later
    ("@hourly", None, "2026-01-01 05:10:00", 3600, "2026-01-01 05:00", "none", 1),
    ("@every 1h", None, "2026-01-01 05:10:00", None, "2026-01-01 05:00:10", "few", 5),
])
def test_most_recent_schedule_time(spec, last, now, deadline, most_recent, missed, count):
    unmet = most_recent_schedule_time(Schedule.parse(spec, "UTC"), at(CREATED), at(last) if last else None,
                                      at(now), deadline)
    assert (unmet.most_recent, unmet.missed, unmet.count) == (at(most_recent) if most_recent else None, missed, count)


@pytest.mark.parametrize("last, now, deadline, expect, many", [
    (None, "2026-01-01 00:00:50", None, None, False),
    ("2026-01-01 00:05", "2026-01-01 00:06:00.2", None, "2026-01-01 00:06", False),
    (None, "2026-01-01 03:00:30", None, "2026-01-01 03:00", True),  # warn, and still schedule the latest
    (None, "2026-01-01 03:00:30", 300, "2026-01-01 03:00", False),  # the deadline keeps the count small
])
def test_next_schedule_time(last, now, deadline, expect, many):
    got = next_schedule_time(Schedule.parse("*/1 * * * *", "UTC"), at(CREATED), at(last) if last else None,
                             at(now), deadline)
    assert got == ((at(expect) if expect else None), many)


@pytest.mark.parametrize("spec, last, now, expect", [
    # next start after the latest due one, plus 100 ms
    ("*/1 * * * *", None, "2026-01-01 00:00:30", 30.1),
    ("*/1 * * * *", "2026-01-01 00:01", "2026-01-01 00:01:00.5", 59.6),
    # several missed: counted from now
    ("*/1 * * * *", None, "2026-01-01 00:10:30", 30.1),
    ("@hourly", "2026-01-01 00:00", "2026-01-01 00:20:00", 2400.1),
    ("0 0 * * *", "2026-01-01 00:00", "2026-01-03 12:00:00", 43200.1),
])
def test_requeue_after(spec, last, now, expect):
    got = requeue_after(Schedule.parse(spec, "UTC"), at(CREATED), at(last) if last else None, at(now))
    assert got == pytest.approx(expect)


# ----------------------------------------------------------------------------- names and annotations


@pytest.mark.parametrize("scheduled, expect", [
    ("1970-01-01 00:00", "hello-0"),
    ("1970-01-01 00:01:59", "hello-1"),  # minutes, truncated
    ("2026-01-01 00:00", "hello-29453760"),
    ("2026-01-01 00:05", "hello-29453765"),
    ("2026-03-09 06:30", "hello-29550630"),
])
def test_job_name(scheduled: str, expect: str):
    assert job_name("hello", at(scheduled)) == expect
    assert int(expect.rsplit("-", 1)[1]) * 60 <= at(scheduled).timestamp() < (int(expect.rsplit("-", 1)[1]) + 1) * 60


@pytest.mark.parametrize("scheduled, zone, expect", [
    ("2026-01-01 00:05", None, "2026-01-01T00:05:00Z"),
    ("2026-01-01 00:05", "UTC", "2026-01-01T00:05:00Z"),
    ("2026-03-09 06:30", "America/New_York", "2026-03-09T02:30:00-04:00"),
    ("2026-01-01 00:05", "Asia/Kolkata", "2026-01-01T05:35:00+05:30"),
    ("2026-01-01 00:05", "Europe/London", "2026-01-01T00:05:00Z"),  # Go writes Z for a zero offset
])
def test_scheduled_timestamp_annotation(scheduled: str, zone: str | None, expect: str):
    assert scheduled_timestamp(at(scheduled), zone) == expect


def test_rfc1123z():
    assert rfc1123z(at("2026-01-08 00:00:00")) == "Thu, 08 Jan 2026 00:00:00 +0000"
