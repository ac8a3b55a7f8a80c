"""Values rendered as Go's `%#v` does, for Invalid messages worded as upstream's.

kubectl users read `Invalid value: map[string]string{"app":"y"}` against a real cluster;
the same text here keeps their notes and searches valid.
"""

from __future__ import annotations

import json
from typing import Any


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    return json.dumps(text, ensure_ascii=False)


def _is_str_map(value: dict[Any, Any]) -> bool:
    return all(isinstance(v, str) for v in value.values())


def go_repr(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict):
        items = sorted(value.items())
        if _is_str_map(value):
            body = ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in items)
            return "map[string]string{" + body + "}"
        body = ", ".join(f"{go_quote(k)}:{go_repr(v)}" for k, v in items)
        return "map[string]interface {}{" + body + "}"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(go_repr(v) for v in value) + "}"
    return go_quote(str(value))


def go_duration_string(nanos: int) -> str:
    """Format nanoseconds like Go's time.Duration.String ("1h2m3.5s", "150ms", "0s")."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _fraction(n, size) + unit
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _fraction(rest, 1_000_000_000) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"
