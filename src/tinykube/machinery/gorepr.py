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
