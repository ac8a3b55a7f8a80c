"""Values of the wrong JSON type, reported as the API server's Go decoder reports them.

A real API server decodes a request body into Go structs; a label value written as `true`
or a port written as `"80"` fails there with a 400 such as
`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal bool into Go struct
field ObjectMeta.metadata.labels of type string`. This module walks an object against its
schema in document order and words the first such mismatch the same way: the innermost
struct's Go name, the field's JSON path from the root without list indices or map keys, and
the Go type of the target.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tinykube.machinery.schema import PerSchema, SchemaNode, per_schema, ref_name

# types with their own JSON decoding (int-or-string, quantities, times, raw JSON): not checked
_CUSTOM_DECODING = ("IntOrString", "Quantity", "Time", "MicroTime", "RawExtension", "JSON", "FieldsV1")


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _definition(node: SchemaNode) -> str:
    return ref_name(node.schema) or node.name


def _go_type(node: SchemaNode | None) -> str:
    """The Go type a schema node decodes into: string, int32, bool, []v1.Container, v1.PodSpec …"""
    if node is None:
        return "interface {}"
    name = _definition(node)
    if name:  # io.k8s.api.core.v1.Container -> v1.Container
        return name.rsplit(".", 2)[-2] + "." + name.rsplit(".", 1)[-1]
    types = node.types
    if node.is_array:
        return "[]" + _go_type(node.items())
    if node.is_map:
        return "map[string]" + _go_type(node.map_values())
    if "string" in types:
        return "string"
    if "boolean" in types:
        return "bool"
    if "integer" in types:
        return node._resolved().schema.get("format") or "int"
    if "number" in types:
        return "float64"
    return "interface {}"


def _custom(node: SchemaNode) -> bool:
    name = _definition(node)
    if name and name.rsplit(".", 1)[-1] in _CUSTOM_DECODING:
        return True
    schema = node._resolved().schema
    return "oneOf" in schema or schema.get("format") == "date-time" or node.preserves_unknown_fields


def first_type_error(obj: Any, node: SchemaNode | None) -> str | None:
    """`json: cannot unmarshal …` for the first mistyped value in `obj`, or None."""
    if node is None:
        return None
    root = _definition(node).rsplit(".", 1)[-1]
    return _walk(obj, node, (), root)


def _mismatch(value: Any, path: tuple[str, ...], struct: str, node: SchemaNode) -> str:
    kind = _json_kind(value)
    if kind == "number" and isinstance(value, float):
        kind = f"number {value:g}" if value != int(value) else f"number {value}"
    if not path:
        return f"json: cannot unmarshal {kind} into Go value of type {_go_type(node)}"
    return f"json: cannot unmarshal {kind} into Go struct field {struct}.{'.'.join(path)} of type {_go_type(node)}"


class _Check(NamedTuple):
    """What checking a value against one schema needs: its shape (`custom` values decode their
    own way and are not checked), and for a struct its Go name."""

    shape: str  # custom, array, map, object, string, boolean, integer, number, any
    struct: str = ""


def _work_out_check(node: SchemaNode) -> _Check:
    if _custom(node):
        return _Check("custom")
    if node.is_array:
        return _Check("array")
    if node.is_map:
        return _Check("map")
    if node.is_object:
        return _Check("object", _definition(node).rsplit(".", 1)[-1])
    types = node.types
    for scalar in ("string", "boolean", "integer", "number"):
        if scalar in types:
            return _Check(scalar)
    return _Check("any")


_CHECKS: PerSchema[_Check] = {}
_SCALAR_OK = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def _walk(value: Any, node: SchemaNode | None, path: tuple[str, ...], struct: str) -> str | None:
    """The first mismatch below `value` (every request body is walked: each schema's part of
    the answer is worked out once)."""
    if node is None or value is None:
        return None
    check = per_schema(_CHECKS, node, _work_out_check)
    shape = check.shape
    if shape == "object":
        if not isinstance(value, dict):
            return _mismatch(value, path, struct, node)
        inner = check.struct or struct
        fields = node.fields()
        for key, item in value.items():
            field = fields.get(key)
            if field is not None:
                found = _walk(item, field, path + (key,), inner)
                if found:
                    return found
        return None
    if shape == "array" or shape == "map":
        if not isinstance(value, list if shape == "array" else dict):
            return _mismatch(value, path, struct, node)
        inner_node = node.items() if shape == "array" else node.map_values()
        for item in (value if shape == "array" else value.values()):
            found = _walk(item, inner_node, path, struct)
            if found:
                return found
        return None
    ok = _SCALAR_OK.get(shape)
    return None if ok is None or ok(value) else _mismatch(value, path, struct, node)
