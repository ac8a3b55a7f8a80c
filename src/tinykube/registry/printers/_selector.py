"""metav1.LabelSelector rendered as upstream's selector String() / FormatLabelSelector."""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class InvalidSelector(ValueError):
    """The selector cannot be converted (upstream LabelSelectorAsSelector fails)."""


def _valid_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_NAME.match(name))


def _valid_value(value: Any) -> bool:
    return isinstance(value, str) and (value == "" or (len(value) <= 63 and bool(_NAME.match(value))))


def _requirement(key: Any, operator: str, values: list[Any]) -> str:
    """One requirement's text, validated as labels.NewRequirement does."""
    if not isinstance(key, str) or not _valid_key(key):
        raise InvalidSelector(f"invalid label key {key!r}")
    if operator in ("In", "NotIn"):
        if not values or not all(_valid_value(v) for v in values):
            raise InvalidSelector(f"invalid values for {operator}")
        word = " in " if operator == "In" else " notin "
        return f"{key}{word}({','.join(sorted(values))})"
    if operator in ("Exists", "DoesNotExist"):
        if values:
            raise InvalidSelector(f"values not allowed with {operator}")
        return key if operator == "Exists" else f"!{key}"
    if operator == "=":
        if len(values) != 1 or not _valid_value(values[0]):
            raise InvalidSelector("invalid label value")
        return f"{key}={values[0]}"
    raise InvalidSelector(f"{operator!r} is not a valid label selector operator")


def selector_string(selector: Any) -> str:
    """The selector's canonical string ("" selects nothing or everything); raises InvalidSelector."""
    if not isinstance(selector, dict):
        return ""
    reqs: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append((key, _requirement(key, "=", [value])))
    for expr in selector.get("matchExpressions") or []:
        expr = expr if isinstance(expr, dict) else {}
        values = list(expr.get("values") or [])
        key = expr.get("key", "")
        reqs.append((key, _requirement(key, str(expr.get("operator", "")), values)))
    reqs.sort(key=lambda pair: pair[0])
    return ",".join(text for _, text in reqs)


def format_label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: "app=nginx", "<none>" when empty, "<error>" when invalid."""
    try:
        text = selector_string(selector)
    except InvalidSelector:
        return "<error>"
    return text or "<none>"
