"""Strict decoding for `fieldValidation=Strict|Warn`: unknown and duplicate fields in a request.

Upstream decodes typed objects with sigs.k8s.io/json's strict mode, which reports, in document
order and each message once:

* `unknown field "spec.template.spec.containers[0].imagePullPolicyy"` for a key the type lacks
  (its value is then skipped, so nothing inside it is reported);
* `duplicate field "spec.paused"` for the second occurrence of a known key or of a map key.

The server wraps them as `Deployment in version "v1" cannot be handled as a Deployment: strict
decoding error: unknown field "spec.foo", ...` (400, Strict) or sends each as a warning (Warn).
Free-form values (RawExtension, FieldsV1 in managedFields, preserve-unknown-fields) are opaque.

YAML bodies are converted to JSON with sorted keys upstream, so their unknown fields come in
key order: pass `sort_keys=True` for those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from tinykube.machinery.schema import PerSchema, SchemaNode, per_schema

# sigs.k8s.io/json stops collecting strict errors after this many.
MAX_STRICT_ERRORS = 100

_TOP_LEVEL_KNOWN = frozenset({"apiVersion", "kind"})


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _go_quote(text: str) -> str:
    """Go's %q for the strings that occur in field paths."""
    return json.dumps(text, ensure_ascii=False)


class _Collector:
    """Ordered, de-duplicated, capped list of strict-decoding messages.

    With `prune`, unknown fields are also deleted from the (dict) objects holding them.
    """

    def __init__(self, prune: bool = False) -> None:
        self.messages: list[str] = []
        self.unknown: list[str] = []
        self.prune = prune
        self._seen: set[str] = set()

    def add(self, message: str) -> None:
        if len(self.messages) < MAX_STRICT_ERRORS and message not in self._seen:
            self._seen.add(message)
            self.messages.append(message)

    def unknown_field(self, path: str) -> None:
        before = len(self.messages)
        self.add(f"unknown field {_go_quote(path)}")
        if len(self.messages) > before:
            self.unknown.append(path)

    def duplicate_field(self, path: str) -> None:
        self.add(f"duplicate field {_go_quote(path)}")


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object decoded as its (key, value) pairs, duplicates and order kept."""


def _entries(value: Any, sort_keys: bool) -> Iterable[tuple[str, Any]]:
    pairs = value if isinstance(value, _Pairs) else list(value.items())
    return sorted(pairs, key=lambda kv: kv[0]) if sort_keys else pairs


def _is_object(value: Any) -> bool:
    return isinstance(value, (dict, _Pairs))


def _walk(value: Any, node: SchemaNode | None, path: str, out: _Collector, *,
          sort_keys: bool, top: bool = False) -> None:
    """Report unknown (and, for pair lists, duplicate) fields under `value` typed by `node`."""
    if node is None or value is None or node.preserves_unknown_fields:
        return
    if _is_object(value):
        if node.is_map:
            values = node.map_values()
            seen: set[str] = set()
            for key, sub in _entries(value, sort_keys):
                if key in seen:
                    out.duplicate_field(_join(path, key))
                seen.add(key)
                _walk(sub, values, _join(path, key), out, sort_keys=sort_keys)
        elif node.is_object:
            fields = node.fields()
            seen = set()
            for key, sub in list(_entries(value, sort_keys)):
                field_node = fields.get(key)
                if field_node is None:
                    if not (top and key in _TOP_LEVEL_KNOWN):
                        out.unknown_field(_join(path, key))
                        if out.prune and isinstance(value, dict):
                            del value[key]
                    continue
                if key in seen:
                    out.duplicate_field(_join(path, key))
                seen.add(key)
                _walk(sub, field_node, _join(path, key), out, sort_keys=sort_keys)
    elif isinstance(value, list) and node.is_array:
        items = node.items()
        for index, sub in enumerate(value):
            _walk(sub, items, f"{path}[{index}]", out, sort_keys=sort_keys)


class _Shape(NamedTuple):
    opaque: bool  # preserves unknown fields: nothing inside is checked
    kind: str  # map, object, array or other


def _work_out_shape(node: SchemaNode) -> _Shape:
    if node.preserves_unknown_fields:
        return _Shape(True, "other")
    return _Shape(False, "map" if node.is_map else "object" if node.is_object else
                  "array" if node.is_array else "other")


_SHAPES: PerSchema[_Shape] = {}


def _any_unknown(value: Any, node: SchemaNode | None, top: bool = False) -> bool:
    """Whether a decoded object (plain dicts: no duplicate keys) has a field its schema does
    not declare; builds no paths, so a clean body is told quickly."""
    if node is None or value is None:
        return False
    shape = per_schema(_SHAPES, node, _work_out_shape)
    if shape.opaque:
        return False
    if isinstance(value, dict):
        if shape.kind == "map":
            values = node.map_values()
            return any(_any_unknown(sub, values) for sub in value.values())
        if shape.kind == "object":
            fields = node.fields()
            for key, sub in value.items():
                field_node = fields.get(key)
                if field_node is None:
                    if not (top and key in _TOP_LEVEL_KNOWN):
                        return True
                elif _any_unknown(sub, field_node):
                    return True
        return False
    if isinstance(value, list) and shape.kind == "array":
        items = node.items()
        return any(_any_unknown(sub, items) for sub in value)
    return False


def find_unknown_fields(obj: dict[str, Any], node: SchemaNode, *,
                        sort_keys: bool = False) -> list[str]:
    """Dotted paths of the fields of `obj` its schema does not declare, in document order.

    Descends into objects, arrays (`containers[0]`) and maps (`labels.app`), but not into
    free-form values nor into the unknown fields themselves. Top-level apiVersion/kind are known.
    """
    if not _any_unknown(obj, node, top=True):
        return []  # every request body is checked; almost all are clean
    out = _Collector()
    _walk(obj, node, "", out, sort_keys=sort_keys, top=True)
    return out.unknown


def prune_unknown_fields(obj: dict[str, Any], node: SchemaNode) -> list[str]:
    """Delete from `obj`, in place, the fields `find_unknown_fields` reports; return their paths.

    What upstream does for fieldValidation=Ignore/Warn: unknown fields are dropped, not stored.
    """
    if not _any_unknown(obj, node, top=True):
        return []
    out = _Collector(prune=True)
    _walk(obj, node, "", out, sort_keys=False, top=True)
    return out.unknown


def _parse_pairs(raw_json: bytes | str) -> Any:
    return json.loads(raw_json, object_pairs_hook=_Pairs)


def strict_decoding_errors(raw_json: bytes | str, node: SchemaNode) -> list[str]:
    """Upstream's strict messages for a JSON body, in its order: `unknown field "…"` and
    `duplicate field "…"` interleaved as they occur (each message once, at most 100).

    Raises ValueError if the body is not JSON. These are also the Warn-mode warnings.
    """
    out = _Collector()
    _walk(_parse_pairs(raw_json), node, "", out, sort_keys=False, top=True)
    return out.messages


def find_duplicate_fields(raw_json: bytes | str) -> list[str]:
    """Dotted paths of repeated keys in any JSON object of the body, in document order.

    Schema-free: it also looks inside values a typed decoder would skip; use
    `strict_decoding_errors` for upstream's exact list. Raises ValueError if not JSON.
    """
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, _Pairs):
            seen: set[str] = set()
            for key, sub in value:
                if key in seen and _join(path, key) not in found:
                    found.append(_join(path, key))
                seen.add(key)
                walk(sub, _join(path, key))
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                walk(sub, f"{path}[{index}]")

    walk(_parse_pairs(raw_json), "")
    return found


def strict_decoding_message(kind: str, version: str, unknown: Sequence[str] = (), *,
                            errors: Sequence[str] | None = None) -> str:
    """The message of upstream's 400 for a strict decoding failure.

    `unknown` are field paths (from `find_unknown_fields`); `errors`, when given, are ready-made
    messages (from `strict_decoding_errors`) and are used instead.
    """
    entries = list(errors) if errors is not None else \
        [f"unknown field {_go_quote(path)}" for path in unknown]
    return (f'{kind} in version "{version}" cannot be handled as a {kind}: '
            f"strict decoding error: {', '.join(entries)}")
