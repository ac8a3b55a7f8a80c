"""Decode Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf) to JSON objects.

Typed clients (kubectl >= 1.32 `create deployment`, `run`, `expose`, drain evictions, `create
token`, ...) send their bodies as protobuf: the magic `k8s\\x00`, then a runtime.Unknown
message carrying the object's apiVersion/kind and the object's own message bytes.

Upstream decodes those bytes into Go structs; we turn them into the JSON object that the
same Go struct would have marshalled to, so the rest of the server sees exactly what a JSON
client would have sent: non-pointer structs always present, zero scalars dropped where the
JSON tag says omitempty, `creationTimestamp: null`, times as RFC 3339 text, quantities as
strings, `bytes` as base64, and so on.

The message tables (field numbers, wire types, JSON names and Go pointer/omitempty/inline
flags) live in protobuf_messages.json, built by tools/gen_protobuf_table.py.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import math
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Any

from tinykube.machinery.gorepr import go_duration_string

__all__ = ["MAGIC", "ProtobufError", "decode_kubernetes_protobuf"]

MAGIC = b"k8s\x00"
MAX_DEPTH = 100  # nested messages; the deepest API type is far shallower
META = "k8s.io.apimachinery.pkg.apis.meta.v1"
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
# Kinds from meta/v1 that every group version accepts (request options, status).
META_KINDS = {"DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "GetOptions",
              "ListOptions", "Status", "WatchEvent"}

TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
DURATION = f"{META}.Duration"
FIELDS_V1 = f"{META}.FieldsV1"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"

ZERO_TIME_SECONDS = -62135596800  # Go's zero time.Time, 0001-01-01T00:00:00Z
MIN_SECONDS = ZERO_TIME_SECONDS
MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
SCALAR_WIRE = {
    "int32": VARINT, "int64": VARINT, "uint32": VARINT, "uint64": VARINT, "sint32": VARINT,
    "sint64": VARINT, "bool": VARINT, "fixed64": FIXED64, "sfixed64": FIXED64, "double": FIXED64,
    "fixed32": FIXED32, "sfixed32": FIXED32, "float": FIXED32, "string": LENGTH, "bytes": LENGTH,
}
ZERO_SCALAR: dict[str, Any] = {"string": "", "bool": False, "double": 0.0, "float": 0.0}


class ProtobufError(ValueError):
    """The body is not a well-formed Kubernetes protobuf message we know how to decode."""


# ---------------------------------------------------------------- schema


@dataclass(frozen=True)
class Field:
    number: int
    name: str  # JSON name ("" for inline fields)
    type: str  # scalar name or full message name (map value type for maps)
    repeated: bool = False
    pointer: bool = False
    omitempty: bool = False
    omitzero: bool = False
    inline: bool = False
    is_map: bool = False
    key_type: str = ""

    @property
    def is_message(self) -> bool:
        return self.type not in SCALAR_WIRE


@dataclass(frozen=True)
class Message:
    name: str
    fields: tuple[Field, ...]  # in Go struct order (the JSON order)
    by_number: dict[int, Field]


@dataclass(frozen=True)
class Schema:
    messages: dict[str, Message]
    groups: dict[str, str]  # "apps/v1" -> proto package
    lists: frozenset[str]  # messages that are Go slice types ({items: [...]} on the wire)

    def message_for(self, api_version: str, kind: str) -> Message | None:
        package = self.groups.get(api_version)
        if package is None:
            return None
        found = self.messages.get(f"{package}.{kind}")
        if found is None and kind in META_KINDS:
            found = self.messages.get(f"{META}.{kind}")
        return found


@functools.cache
def schema() -> Schema:
    """The message tables, loaded once from protobuf_messages.json."""
    text = resources.files(__package__).joinpath("protobuf_messages.json").read_text(encoding="utf-8")
    return parse_schema(json.loads(text))


def parse_schema(table: dict[str, Any]) -> Schema:
    messages: dict[str, Message] = {}
    for package, entries in table["packages"].items():
        for name, rows in entries.items():
            fields = tuple(_parse_field(row, package) for row in rows)
            full = f"{package}.{name}"
            messages[full] = Message(full, fields, {f.number: f for f in fields})
    return Schema(messages, dict(table["groups"]), frozenset(table["lists"]))


def _parse_field(row: list[Any], package: str) -> Field:
    number, name, typ, flags = row
    key_type = ""
    is_map = typ.startswith("map<")
    if is_map:
        key_type, typ = typ[4:-1].split(",")
    if typ not in SCALAR_WIRE and "." not in typ:
        typ = f"{package}.{typ}"
    return Field(number, name, typ, repeated="r" in flags, pointer="p" in flags, omitempty="o" in flags,
                 omitzero="z" in flags, inline="i" in flags, is_map=is_map, key_type=key_type)


# ---------------------------------------------------------------- entry point


def decode_kubernetes_protobuf(body: bytes, *, api_version: str = "", kind: str = "") -> dict[str, Any]:
    """The JSON object for a `k8s\\x00`-prefixed protobuf body.

    `api_version`/`kind` are defaults for a body whose envelope leaves them out (upstream
    fills them from the endpoint). Raises ProtobufError on anything malformed or unknown.
    """
    return _decode_envelope(bytes(body), api_version, kind, depth=0)


def _decode_envelope(body: bytes, api_version: str, kind: str, depth: int) -> dict[str, Any]:
    if not body:
        raise ProtobufError("empty protobuf body")
    if not body.startswith(MAGIC):
        raise ProtobufError(f"body does not start with the Kubernetes protobuf prefix {MAGIC!r}")
    if len(body) == len(MAGIC):
        raise ProtobufError("protobuf body has no message after the prefix")
    tables = schema()
    envelope = _read_message(body, len(MAGIC), len(body), tables.messages[UNKNOWN], tables, depth)
    type_meta = envelope.get(1, {})
    api_version = type_meta.get(1) or api_version
    kind = type_meta.get(2) or kind
    if not api_version or not kind:
        raise ProtobufError("protobuf body does not say the object's apiVersion and kind")
    message = tables.message_for(api_version, kind)
    if message is None:
        raise ProtobufError(f"no protobuf message is known for apiVersion {api_version!r}, kind {kind!r}")
    raw = envelope.get(2, b"")
    values = _read_message(raw, 0, len(raw), message, tables, depth + 1)
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(_to_json(values, message, tables, depth + 1))
    return obj


# ---------------------------------------------------------------- wire → field values
#
# Values are keyed by field number: scalars as Python values, messages as nested dicts of
# the same form, repeated fields as lists, maps as dicts. A message field seen twice is
# merged, as gogo-protobuf's generated Unmarshal does.


def _read_message(buf: bytes, pos: int, end: int, message: Message, tables: Schema,
                  depth: int, into: dict[int, Any] | None = None) -> dict[int, Any]:
    if depth > MAX_DEPTH:
        raise ProtobufError(f"protobuf message nested deeper than {MAX_DEPTH} levels")
    values: dict[int, Any] = {} if into is None else into
    while pos < end:
        key, pos = _read_varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number <= 0 or number > 0x1FFFFFFF:
            raise ProtobufError(f"{_short(message.name)}: illegal field number {number}")
        field = message.by_number.get(number)
        if field is None:
            pos = _skip(buf, pos, end, wire, message.name, number)
            continue
        pos = _read_field(buf, pos, end, wire, field, values, tables, depth)
    return values


def _read_field(buf: bytes, pos: int, end: int, wire: int, field: Field, values: dict[int, Any],
                tables: Schema, depth: int) -> int:
    if field.is_map:
        _expect_wire(wire, LENGTH, field)
        chunk, pos = _read_length(buf, pos, end)
        key, value = _read_map_entry(chunk, field, tables, depth + 1)
        values.setdefault(field.number, {})[key] = value
        return pos
    if field.is_message:
        _expect_wire(wire, LENGTH, field)
        start, stop = _length_span(buf, pos, end)
        message = _lookup(tables, field.type)
        if field.repeated:
            values.setdefault(field.number, []).append(_read_message(buf, start, stop, message, tables, depth + 1))
        else:
            _read_message(buf, start, stop, message, tables, depth + 1, values.setdefault(field.number, {}))
        return stop
    if field.repeated and wire == LENGTH and SCALAR_WIRE[field.type] != LENGTH:
        start, stop = _length_span(buf, pos, end)  # packed repeated scalars
        items = values.setdefault(field.number, [])
        while start < stop:
            value, start = _read_scalar(buf, start, stop, SCALAR_WIRE[field.type], field)
            items.append(value)
        return stop
    _expect_wire(wire, SCALAR_WIRE[field.type], field)
    value, pos = _read_scalar(buf, pos, end, wire, field)
    if field.repeated:
        values.setdefault(field.number, []).append(value)
    else:
        values[field.number] = value
    return pos


def _read_map_entry(chunk: bytes, field: Field, tables: Schema, depth: int) -> tuple[Any, Any]:
    """One map entry {key = 1, value = 2}; a missing key or value is its zero value."""
    values = _read_message(chunk, 0, len(chunk), _entry_message(field), tables, depth)
    key = values.get(1, ZERO_SCALAR.get(field.key_type, 0))
    if field.is_message:
        default: Any = {}
    else:
        default = b"" if field.type == "bytes" else _zero_scalar(field.type)
    return key if isinstance(key, str) else str(key).lower(), values.get(2, default)


@functools.cache
def _entry_message(field: Field) -> Message:
    key_field = Field(1, "key", field.key_type)
    value_field = Field(2, "value", field.type)
    return Message(f"map entry of {field.name}", (key_field, value_field), {1: key_field, 2: value_field})


def _read_scalar(buf: bytes, pos: int, end: int, wire: int, field: Field) -> tuple[Any, int]:
    kind = field.type
    if wire == VARINT:
        raw, pos = _read_varint(buf, pos, end)
        return _varint_value(raw, kind), pos
    if wire == FIXED64:
        if pos + 8 > end:
            raise ProtobufError(f"field {field.name or field.number}: unexpected end of data")
        fmt = {"double": "<d", "sfixed64": "<q"}.get(kind, "<Q")
        return struct.unpack_from(fmt, buf, pos)[0], pos + 8
    if wire == FIXED32:
        if pos + 4 > end:
            raise ProtobufError(f"field {field.name or field.number}: unexpected end of data")
        fmt = {"float": "<f", "sfixed32": "<i"}.get(kind, "<I")
        return struct.unpack_from(fmt, buf, pos)[0], pos + 4
    chunk, pos = _read_length(buf, pos, end)
    if kind == "string":
        return chunk.decode("utf-8", "replace"), pos
    return chunk, pos


def _varint_value(raw: int, kind: str) -> int | bool:
    if kind == "bool":
        return raw != 0
    if kind in ("sint32", "sint64"):
        return (raw >> 1) ^ -(raw & 1)
    if kind in ("int32", "uint32"):
        raw &= 0xFFFFFFFF
        return raw - (1 << 32) if kind == "int32" and raw >= 1 << 31 else raw
    if kind == "int64" and raw >= 1 << 63:
        return raw - (1 << 64)
    return raw


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise ProtobufError("unexpected end of data in a varint")
        if shift >= 64:
            raise ProtobufError("varint is longer than 10 bytes")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def _length_span(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    length, pos = _read_varint(buf, pos, end)
    if length > end - pos:
        raise ProtobufError(f"length {length} runs past the end of the data")
    return pos, pos + length


def _read_length(buf: bytes, pos: int, end: int) -> tuple[bytes, int]:
    start, stop = _length_span(buf, pos, end)
    return buf[start:stop], stop


def _skip(buf: bytes, pos: int, end: int, wire: int, message: str, number: int) -> int:
    """Skip a field we have no table entry for (newer clients may send more fields)."""
    if wire == VARINT:
        return _read_varint(buf, pos, end)[1]
    if wire == LENGTH:
        return _length_span(buf, pos, end)[1]
    size = {FIXED64: 8, FIXED32: 4}.get(wire)
    if size is None:
        raise ProtobufError(f"{_short(message)}: unsupported wire type {wire} for field {number}")
    if pos + size > end:
        raise ProtobufError("unexpected end of data")
    return pos + size


def _expect_wire(wire: int, expected: int, field: Field) -> None:
    if wire != expected:
        raise ProtobufError(f"wrong wire type {wire} for field {field.name or field.type} ({field.number})")


def _lookup(tables: Schema, name: str) -> Message:
    message = tables.messages.get(name)
    if message is None:  # only if the table is inconsistent
        raise ProtobufError(f"no protobuf message table for {name}")
    return message


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


# ---------------------------------------------------------------- field values → JSON
#
# Mirrors Go's encoding/json over the decoded struct: absent non-pointer fields hold their
# zero value, nil pointers/slices/maps are null, and omitempty/omitzero drop what Go drops.


def _to_json(values: dict[int, Any], message: Message, tables: Schema, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in message.fields:
        present = field.number in values
        value = _field_json(values.get(field.number), present, field, tables, depth)
        if field.inline:
            out.update(value or {})
        elif not _omitted(value, present, field, tables, depth):
            out[field.name] = value
    return out


def _field_json(value: Any, present: bool, field: Field, tables: Schema, depth: int) -> Any:
    if field.is_map:
        if not present:
            return None
        return {key: _value_json(item, field, tables, depth) for key, item in value.items()}
    if field.repeated:
        if not present:
            return None
        return [_value_json(item, field, tables, depth) for item in value]
    if not present:
        if field.pointer:
            return None
        if field.is_message:
            return _message_json({}, field.type, tables, depth, present=False)
        return _zero_scalar(field.type)
    return _value_json(value, field, tables, depth)


def _value_json(value: Any, field: Field, tables: Schema, depth: int) -> Any:
    if field.is_message:
        return _message_json(value, field.type, tables, depth, present=True)
    if field.type == "bytes":
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtobufError(f"field {field.name}: {value} is not representable in JSON")
    return value


def _omitted(value: Any, present: bool, field: Field, tables: Schema, depth: int) -> bool:
    """Whether Go's encoding/json leaves this field out."""
    if field.omitzero and value == _field_json(None, False, field, tables, depth):
        return True
    if not field.omitempty:
        return False
    if field.repeated or field.is_map or field.type == "bytes" or field.type in tables.lists:
        return value is None or len(value) == 0  # nil or empty slice/map
    if field.pointer:
        return not present  # a nil pointer; a set one stays, even when it marshals as null
    if field.is_message:
        return False  # a struct is never "empty", even one that marshals as null
    return bool(value == _zero_scalar(field.type))


def _zero_scalar(kind: str) -> Any:
    if kind == "bytes":
        return None  # a nil []byte
    return ZERO_SCALAR.get(kind, 0)


def _message_json(values: dict[int, Any], name: str, tables: Schema, depth: int, present: bool) -> Any:
    """JSON for one message value; `present` is False for a Go zero value never on the wire."""
    if depth > MAX_DEPTH:
        raise ProtobufError(f"protobuf message nested deeper than {MAX_DEPTH} levels")
    special = SPECIAL_JSON.get(name)
    if special is not None:
        return special(values, present, tables, depth)
    if name in tables.lists:
        return list(values.get(1, [])) if present else None
    return _to_json(values, _lookup(tables, name), tables, depth + 1)


# ---------------------------------------------------------------- types with custom JSON


def _time_json(values: dict[int, Any], present: bool, tables: Schema, depth: int) -> str | None:
    """metav1.Time: whole seconds, RFC 3339 in UTC; the zero time is null."""
    if not values:
        return None
    seconds = values.get(1, 0)
    if seconds == ZERO_TIME_SECONDS:
        return None
    return _utc(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _micro_time_json(values: dict[int, Any], present: bool, tables: Schema, depth: int) -> str | None:
    """metav1.MicroTime: RFC 3339 with six fractional digits; the zero time is null."""
    if not values:
        return None
    nanos = values.get(2, 0)
    micros = abs(nanos) // 1000 * (1 if nanos >= 0 else -1)  # truncated toward zero
    seconds, micros = divmod(values.get(1, 0) * 1_000_000 + micros, 1_000_000)
    if seconds == ZERO_TIME_SECONDS and micros == 0:
        return None
    return _utc(seconds).strftime("%Y-%m-%dT%H:%M:%S") + f".{micros:06d}Z"


def _utc(seconds: int) -> datetime.datetime:
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise ProtobufError(f"timestamp {seconds} is outside years 1-9999")
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)


def _duration_json(values: dict[int, Any], present: bool, tables: Schema, depth: int) -> str:
    """metav1.Duration: Go's time.Duration.String() of the nanoseconds."""
    return go_duration_string(values.get(1, 0))


def _quantity_json(values: dict[int, Any], present: bool, tables: Schema, depth: int) -> str:
    """resource.Quantity travels as its canonical string; the zero quantity is "0"."""
    return values.get(1) or "0"


def _int_or_string_json(values: dict[int, Any], present: bool, tables: Schema, depth: int) -> int | str:
    kind = values.get(1, 0)
    if kind == 0:
        number: int = values.get(2, 0)
        return number
    if kind == 1:
        text: str = values.get(3, "")
        return text
    raise ProtobufError(f"IntOrString has an invalid type {kind}")


def _raw_json(values: dict[int, Any], present: bool, tables: Schema, depth: int) -> Any:
    """RawExtension / FieldsV1: the embedded JSON document (or a nested protobuf object)."""
    raw = values.get(1)
    if not raw:
        return None
    if raw.startswith(MAGIC):
        return _decode_envelope(raw, "", "", depth + 1)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtobufError(f"embedded object is not valid JSON: {exc}") from None


SPECIAL_JSON = {
    TIME: _time_json,
    MICRO_TIME: _micro_time_json,
    DURATION: _duration_json,
    QUANTITY: _quantity_json,
    INT_OR_STRING: _int_or_string_json,
    RAW_EXTENSION: _raw_json,
    FIELDS_V1: _raw_json,
}
