"""CronJob schedules as upstream parses them (robfig/cron v3 `ParseStandard`).

Only the verdict and the error text matter here: `check_schedule` returns None for a valid
schedule, else the parser's message, which upstream puts after `Invalid value: "<schedule>": `.
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


def check_schedule(spec: str) -> str | None:
    """None when robfig/cron's standard parser accepts `spec`, else its error message."""
    try:
        parse_standard(spec)
    except CronError as exc:
        return str(exc)
    return None


def parse_standard(spec: str) -> None:
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        spec = _strip_time_zone(spec)
    if spec.startswith("@"):
        _parse_descriptor(spec)
        return
    fields = spec.split()
    if len(fields) != len(STANDARD_FIELDS):
        raise CronError(f"expected exactly {len(STANDARD_FIELDS)} fields, found {len(fields)}: "
                        f"[{' '.join(fields)}]")
    for text, bounds in zip(fields, STANDARD_FIELDS):
        _parse_field(text, bounds)


def _strip_time_zone(spec: str) -> str:
    from zoneinfo import ZoneInfo
    space = spec.find(" ")
    if space == -1:
        raise CronError(f"invalid location descriptior: {spec}")
    name = spec[spec.index("=") + 1:space]
    try:
        ZoneInfo(name)
    except Exception as exc:  # unknown zone or a name zoneinfo refuses
        raise CronError(f"provided bad location {name}: unknown time zone {name}") from exc
    return spec[space:].strip()


def _parse_descriptor(spec: str) -> None:
    if spec in DESCRIPTORS:
        return
    every = "@every "
    if spec.startswith(every):
        problem = go_duration_error(spec[len(every):])
        if problem:
            raise CronError(f"failed to parse duration {spec}: {problem}")
        return
    raise CronError(f"unrecognized descriptor: {spec}")


def _parse_field(text: str, bounds: Bounds) -> None:
    for expr in (part for part in text.split(",") if part):
        _parse_range(expr, bounds)


def _parse_range(expr: str, bounds: Bounds) -> None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.low, bounds.high
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
