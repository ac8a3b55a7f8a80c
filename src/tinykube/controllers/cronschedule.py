"""CronJob schedule arithmetic, as upstream's CronJob controller does it (pure, no I/O).

A schedule is parsed by our robfig/cron-compatible parser (`registry/kinds/cron.py`, which also
validates) and iterated with `croniter` over local wall-clock times of the schedule's zone. The
mapping from wall time to instants is done here, so time zones behave as robfig/cron's do: a
schedule fires at every instant whose local wall time matches its fields, which means a time
inside a spring-forward gap never fires (robfig's "jobs scheduled during daylight-savings
leap-ahead transitions will not be run") and one inside a fall-back overlap fires for both
instants. `@every D` is a constant delay from the previous time, in absolute seconds.

On top of `Schedule.next` sit the controller's questions, answered with upstream's rules:
`most_recent_schedule_time` (the latest unmet start in (last schedule or creation, now], with
startingDeadlineSeconds bounding the window and upstream's rough count of missed starts),
`next_schedule_time` (the start to act on now, and whether more than 100 were missed) and
`requeue_after` (seconds until the next start, plus upstream's 100 ms padding).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from croniter.croniter import CroniterBadDateError

from tinykube.registry.kinds.cron import CronError, ParsedSchedule, parse_standard

UTC = timezone.utc
NEXT_SCHEDULE_DELTA = 0.1  # seconds added to every requeue (upstream's nextScheduleDelta)
TOO_MANY_MISSED = 100
YEAR_LIMIT = 5  # robfig/cron gives up looking for a match this many years ahead
# robfig's field bounds, for telling a full range apart from a restricted one
_DOM_ALL = frozenset(range(1, 32))
_DOW_ALL = frozenset(range(0, 7))

Missed = Literal["none", "few", "many"]


class ScheduleError(ValueError):
    """A schedule that parses but cannot be computed (e.g. `0 0 31 2 *`), or does not parse."""


@lru_cache(maxsize=1)
def local_zone() -> tzinfo:
    """The server's own zone: schedules without `timeZone` follow it, as upstream's follow
    kube-controller-manager's. `TZ`, else /etc/localtime, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except Exception:
            pass
    try:
        with open("/etc/localtime", "rb") as f:
            return ZoneInfo.from_file(f)
    except Exception:
        return UTC


def load_zone(name: str | None) -> tzinfo:
    """time.LoadLocation: "" and "UTC" are UTC, "Local" the local zone, else an IANA name."""
    if not name or name == "UTC":
        return UTC
    if name == "Local":
        return local_zone()
    try:
        return ZoneInfo(name)
    except Exception as exc:
        raise ScheduleError(f"unknown time zone {name}") from exc


@dataclass(frozen=True)
class Schedule:
    parsed: ParsedSchedule
    zone: tzinfo

    @classmethod
    def parse(cls, spec: str, time_zone: str | None = None) -> "Schedule":
        """The schedule of a CronJob: `spec.schedule` in `spec.timeZone` (or a TZ= prefix, or local)."""
        try:
            parsed = parse_standard(spec)
        except CronError as exc:
            raise ScheduleError(str(exc)) from exc
        if parsed.time_zone is not None:
            zone = load_zone(parsed.time_zone)
        elif time_zone is not None:
            zone = load_zone(time_zone)
        else:
            zone = local_zone()
        return cls(parsed, zone)

    @property
    def _cron(self) -> tuple[str, bool]:
        """The fields as explicit lists for croniter, and whether days must match both fields."""
        minute, hour, dom, month, dow = self.parsed.fields
        both = self.parsed.dom_star or self.parsed.dow_star
        if not both and (dom >= _DOM_ALL or dow >= _DOW_ALL):
            dom, dow = _DOM_ALL, _DOW_ALL  # "either" with an all-days field: every day
        text = " ".join(",".join(str(v) for v in sorted(values)) for values in (minute, hour, dom, month, dow))
        return text, not both

    def next(self, after: datetime) -> datetime | None:
        """robfig's Next: the first start strictly after `after` (UTC), None if none within 5 years."""
        if self.parsed.every_seconds is not None:
            whole = after.replace(microsecond=0)
            return (whole + timedelta(seconds=self.parsed.every_seconds)).astimezone(UTC)
        after = after.astimezone(UTC)
        local = after.astimezone(self.zone)
        # An instant after `after` can have an earlier wall time only across a fall-back within
        # the next few hours: start the wall-clock scan that much earlier.
        offset = local.utcoffset() or timedelta(0)
        back = max(timedelta(0), *(offset - ((after + timedelta(hours=h)).astimezone(self.zone).utcoffset()
                                            or timedelta(0)) for h in (1, 2, 3)))
        start = local.replace(tzinfo=None) - back
        limit = start.year + YEAR_LIMIT
        text, day_or = self._cron
        try:
            walls = croniter(text, start, day_or=day_or, max_years_between_matches=YEAR_LIMIT + 1)
        except (ValueError, KeyError) as exc:  # not expected for a parsed schedule
            raise ScheduleError(str(exc)) from exc
        best: datetime | None = None
        while True:
            try:
                wall: datetime = walls.get_next(datetime)
            except CroniterBadDateError:
                return best
            if wall.year > limit:
                return best
            instants = self._instants(wall)
            for instant in instants:
                if instant > after and (best is None or instant < best):
                    best = instant
            # existing wall times map to instants in order, so nothing later can beat `best`
            if best is not None and instants and instants[0] >= best:
                return best

    def _instants(self, wall: datetime) -> list[datetime]:
        """The instants (UTC) at which the zone's clocks show `wall`: none in a gap, two in an overlap."""
        out: list[datetime] = []
        for fold in (0, 1):
            instant = wall.replace(tzinfo=self.zone, fold=fold).astimezone(UTC)
            if instant.astimezone(self.zone).replace(tzinfo=None) == wall and instant not in out:
                out.append(instant)
        return sorted(out)


@dataclass(frozen=True)
class Unmet:
    earliest: datetime  # last schedule time or creation, moved up to the starting deadline
    most_recent: datetime | None  # the latest start in (earliest, now], if any
    missed: Missed  # "none": at most one start since earliest; "few"; "many" (> 100)
    count: int  # upstream's estimate of starts in (earliest, now]


def most_recent_schedule_time(schedule: Schedule, created: datetime, last_schedule: datetime | None,
                              now: datetime, starting_deadline: int | None = None,
                              include_deadline: bool = True) -> Unmet:
    """The latest start time since the last schedule (or creation), as upstream computes it.

    With `include_deadline` a startingDeadlineSeconds moves the window's start up to
    `now - deadline`. The count of missed starts is upstream's approximation (the interval
    between the first two starts, fitted into the window). Raises ScheduleError for schedules
    whose starts are not at least a second apart (e.g. Feb 31st, which never comes)."""
    earliest = last_schedule if last_schedule is not None else created
    if include_deadline and starting_deadline is not None:
        deadline = now - timedelta(seconds=starting_deadline)
        if deadline > earliest:
            earliest = deadline
    t1 = schedule.next(earliest)
    t2 = schedule.next(t1) if t1 is not None else None
    if t1 is not None and now < t1:
        return Unmet(earliest, None, "none", 0)
    if t1 is not None and t2 is not None and now < t2:
        return Unmet(earliest, t1, "none", 1)
    between = _round_seconds((t2 - t1).total_seconds()) if t1 is not None and t2 is not None else 0
    if t1 is None or t2 is None or between < 1:
        raise ScheduleError("time difference between two schedules is less than 1 second")
    count = int((now - t1).total_seconds()) // between + 1
    # Start from a bit before the estimated last start and let the schedule find the exact one
    # (the estimate is exact for @every, approximate for irregular schedules like 30 6-16/4 * * 1-5).
    moment: datetime | None = t1 + timedelta(seconds=(count - 2) * between)
    most_recent: datetime | None = None
    while (moment := schedule.next(moment)) is not None and moment <= now:
        most_recent = moment
    missed: Missed = "many" if count > TOO_MANY_MISSED else "few"
    return Unmet(earliest, most_recent, missed, count)


def _round_seconds(seconds: float) -> int:
    """time.Duration.Round(time.Second) for non-negative durations: halves round up."""
    return int(math.floor(seconds + 0.5))


def next_schedule_time(schedule: Schedule, created: datetime, last_schedule: datetime | None,
                       now: datetime, starting_deadline: int | None = None) -> tuple[datetime | None, bool]:
    """The start to act on now (None if none is due) and whether more than 100 were missed
    (upstream then records TooManyMissedTimes and still starts the latest)."""
    unmet = most_recent_schedule_time(schedule, created, last_schedule, now, starting_deadline, True)
    if unmet.most_recent is None or unmet.most_recent > now:
        return None, False
    return unmet.most_recent, unmet.missed == "many"


def requeue_after(schedule: Schedule, created: datetime, last_schedule: datetime | None,
                  now: datetime) -> float:
    """Seconds until the controller should look again: the next start after the latest one
    due (or after now, when starts were missed or the schedule is broken), plus 100 ms."""
    try:
        unmet = most_recent_schedule_time(schedule, created, last_schedule, now, None, False)
        base = unmet.most_recent
        if base is None:
            base = unmet.earliest if unmet.missed == "none" else now
    except ScheduleError:
        base = now
    upcoming = schedule.next(base)
    if upcoming is None:
        upcoming = now + timedelta(days=366 * YEAR_LIMIT)  # never: look again in five years
    return (upcoming - now).total_seconds() + NEXT_SCHEDULE_DELTA


def job_name(cronjob_name: str, scheduled: datetime) -> str:
    """getJobName: `<cronjob>-<scheduled time in minutes since the epoch>`."""
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def scheduled_timestamp(scheduled: datetime, time_zone: str | None) -> str:
    """The batch.kubernetes.io/cronjob-scheduled-timestamp annotation: RFC 3339 in the CronJob's
    timeZone (UTC without one, as time.LoadLocation("") is UTC)."""
    moment = scheduled.astimezone(load_zone(time_zone or ""))
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # Go's Z07:00 writes Z for any zero offset
    text = moment.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def rfc1123z(moment: datetime) -> str:
    """Go's time.RFC1123Z of a UTC time (MissSchedule's message)."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    m = moment.astimezone(UTC)
    return f"{days[m.weekday()]}, {m.day:02d} {months[m.month - 1]} {m.year} {m:%H:%M:%S} +0000"
