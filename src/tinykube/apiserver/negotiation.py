"""Request bodies in and responses out: JSON/YAML decoding, size limits, Table negotiation."""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from tinykube.machinery import errors
from tinykube.registry.patching import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH

MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's default request body limit
MAX_DEPTH = 100

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"  # kubectl >= 1.32 sends typed objects this way
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


class _SafeLoader(yaml.SafeLoader):
    """YAML as Kubernetes reads it: timestamps and such stay strings."""


for _first, _resolvers in list(_SafeLoader.yaml_implicit_resolvers.items()):
    _SafeLoader.yaml_implicit_resolvers[_first] = [
        (tag, regexp) for tag, regexp in _resolvers if tag != "tag:yaml.org,2002:timestamp"]


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        cur, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        if isinstance(cur, dict):
            stack.extend((v, depth + 1) for v in cur.values())
        elif isinstance(cur, list):
            stack.extend((v, depth + 1) for v in cur)
    return deepest


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """Parse a request body as JSON or YAML (by content type); 400 on malformed input."""
    if len(raw) > MAX_BODY_BYTES:
        raise errors.too_large()
    kind = media_type(content_type)
    if kind in ("", JSON, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH):
        try:
            value = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError as exc:
            if kind == "" and raw.lstrip()[:1] not in (b"{", b"["):
                return _decode_yaml(raw)
            raise errors.bad_request(f"error decoding JSON: {exc}") from None
    elif kind in (YAML, APPLY_PATCH, "application/yaml", "text/yaml"):
        value = _decode_yaml(raw)
    elif kind == PROTOBUF:
        from tinykube.machinery.protobuf import ProtobufError, decode_kubernetes_protobuf
        try:
            value = decode_kubernetes_protobuf(raw)
        except ProtobufError as exc:
            raise errors.bad_request(f"error decoding protobuf: {exc}") from None
    else:
        raise errors.unsupported_media_type(kind)
    if _depth(value) > MAX_DEPTH:
        raise errors.bad_request(f"the request body is nested deeper than {MAX_DEPTH} levels")
    return value


def _decode_yaml(raw: bytes) -> Any:
    try:
        return yaml.load(raw.decode("utf-8"), Loader=_SafeLoader)  # noqa: S506 - safe loader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error converting YAML to JSON: {exc}") from None


def decode_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    value = decode_body(raw, content_type)
    if not isinstance(value, dict):
        raise errors.bad_request("Object 'Kind' is missing in '" + (raw[:200].decode("utf-8", "replace")) + "'")
    return value


def wants_table(accept: str) -> bool:
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def wants_yaml(accept: str) -> bool:
    first = media_type(accept.split(",")[0]) if accept else ""
    return first == YAML


def table_include_object(params: dict[str, str]) -> str:
    value = params.get("includeObject", "Metadata")
    if value not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f'includeObject: Unsupported value: "{value}": supported values: '
                                 f'"Metadata", "None", "Object"')
    return value


def dump_json(value: Any) -> bytes:
    return orjson.dumps(value)


def dump_yaml(value: Any) -> bytes:
    return yaml.safe_dump(value, sort_keys=False).encode()
