"""CronJob schedules as upstream parses them (robfig/cron v3 `ParseStandard`).

`check_schedule` returns None for a valid schedule, else the parser's message, which upstream
puts after `Invalid value: "<schedule>": `. `parse_standard` returns what the schedule means
(`ParsedSchedule`: the values each field allows, whether a day field was a star, a
`TZ=`/`CRON_TZ=` zone, or an `@every` interval); `controllers/cronschedule.py` computes times
from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MONTH_NAMES = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
DOW_NAMES = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


@dataclass(frozen=True)
class Bounds:
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)


# ParseStandard reads five fields: minute, hour, day of month, month, day of week.
STANDARD_FIELDS = (Bounds(0, 59), Bounds(0, 23), Bounds(1, 31), Bounds(1, 12, MONTH_NAMES),
                   Bounds(0, 6, DOW_NAMES))


class CronError(ValueError):
    pass


# the standard descriptors, as robfig/cron expands them
DESCRIPTOR_FIELDS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class ParsedSchedule:
    """A valid schedule: five value sets (minute, hour, dom, month, dow), or an `@every` delay.

    `dom_star`/`dow_star` say whether the day field carried robfig's star bit (`*` or `?`,
    without a step above 1): when either does, a day must match both fields, else either.
    """

    fields: tuple[frozenset[int], ...] = ()
    dom_star: bool = False
    dow_star: bool = False
    every_seconds: int | None = None
    time_zone: str | None = None  # from a TZ= / CRON_TZ= prefix


def check_schedule(spec: str) -> str | None:
    """None when robfig/cron's standard parser accepts `spec`, else its error message."""
    try:
        parse_standard(spec)
    except CronError as exc:
        return str(exc)
    return None


def parse_standard(spec: str) -> ParsedSchedule:
    """What robfig/cron's ParseStandard makes of `spec`; raises CronError with its message."""
    if not spec:
        raise CronError("empty spec string")
    zone = None
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        zone, spec = _strip_time_zone(spec)
    if spec.startswith("@"):
        every = _parse_descriptor(spec)
        if every is not None:
            return ParsedSchedule(every_seconds=every, time_zone=zone)
        spec = DESCRIPTOR_FIELDS[spec]
    fields = spec.split()
    if len(fields) != len(STANDARD_FIELDS):
        raise CronError(f"expected exactly {len(STANDARD_FIELDS)} fields, found {len(fields)}: "
                        f"[{' '.join(fields)}]")
    parsed = [_parse_field(text, bounds) for text, bounds in zip(fields, STANDARD_FIELDS)]
    return ParsedSchedule(fields=tuple(values for values, _ in parsed), dom_star=parsed[2][1],
                          dow_star=parsed[4][1], time_zone=zone)


def _strip_time_zone(spec: str) -> tuple[str, str]:
    from zoneinfo import ZoneInfo
    space = spec.find(" ")
    if space == -1:
        raise CronError(f"invalid location descriptior: {spec}")
    name = spec[spec.index("=") + 1:space]
    try:
        ZoneInfo(name)
    except Exception as exc:  # unknown zone or a name zoneinfo refuses
        raise CronError(f"provided bad location {name}: unknown time zone {name}") from exc
    return name, spec[space:].strip()


def _parse_descriptor(spec: str) -> int | None:
    """None for the named descriptors, the interval in whole seconds for `@every`."""
    if spec in DESCRIPTORS:
        return None
    every = "@every "
    if spec.startswith(every):
        problem = go_duration_error(spec[len(every):])
        if problem:
            raise CronError(f"failed to parse duration {spec}: {problem}")
        # robfig's Every: at least a second, truncated to whole seconds
        return max(1, int(go_duration_seconds(spec[len(every):])))
    raise CronError(f"unrecognized descriptor: {spec}")


def _parse_field(text: str, bounds: Bounds) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for expr in (part for part in text.split(",") if part):
        part, part_star = _parse_range(expr, bounds)
        values |= part
        star = star or part_star
    return frozenset(values), star


def _parse_range(expr: str, bounds: Bounds) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = False
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.low, bounds.high
        star = True
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _parse_int(range_and_step[1])
        if len(low_and_high) == 1:
            end = bounds.high
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def _int_or_name(expr: str, names: dict[str, int]) -> int:
    named = names.get(expr.lower())
    if named is not None:
        return named
    return _parse_int(expr)


_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MAX = 2**63 - 1


def _parse_int(expr: str) -> int:
    """strconv.Atoi, then the parser's own refusal of negatives."""
    if not _GO_INT.fullmatch(expr):
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax')
    num = int(expr)
    if not -_INT64_MAX - 1 <= num <= _INT64_MAX:
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": value out of range')
    if num < 0:
        raise CronError(f"negative number ({num}) not allowed: {expr}")
    return num


# ----------------------------------------------------------------------------- durations

_DURATION_UNITS = ("ns", "us", "µs", "μs", "ms", "s", "m", "h")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]+)")


def go_duration_seconds(text: str) -> float:
    """The seconds of a duration Go's time.ParseDuration accepts (check `go_duration_error` first)."""
    sign = -1.0 if text.startswith("-") else 1.0
    rest = text.lstrip("+-")
    if rest == "0":
        return 0.0
    return sign * sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(rest))
_NUMBER = re.compile(r"[0-9]*(\.[0-9]*)?")


def go_duration_error(text: str) -> str | None:
    """None when Go's time.ParseDuration accepts `text`, else its error message."""
    quoted = '"' + text + '"'
    rest = text
    if rest[:1] in ("+", "-"):
        rest = rest[1:]
    if rest == "0":
        return None
    if not rest:
        return f"time: invalid duration {quoted}"
    while rest:
        number = _NUMBER.match(rest)
        digits = number.group(0) if number else ""
        if digits in ("", "."):
            return f"time: invalid duration {quoted}"
        rest = rest[len(digits):]
        unit_len = 0
        while unit_len < len(rest) and rest[unit_len] not in "0123456789.":
            unit_len += 1
        unit = rest[:unit_len]
        if not unit:
            return f"time: missing unit in duration {quoted}"
        if unit not in _DURATION_UNITS:
            return f'time: unknown unit "{unit}" in duration {quoted}'
        rest = rest[unit_len:]
    return None
