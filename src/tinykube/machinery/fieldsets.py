"""Field paths and field sets: the vocabulary of server-side apply's ownership tracking.

A *path* names one field of an object as a tuple of path elements:

- ``f:<name>``  a field of a struct or a key of a map (``f:spec``, ``f:app``)
- ``k:<json>``  an element of a list-map, by its key fields (``k:{"name":"nginx"}``)
- ``v:<json>``  an element of a set-list, by its value (``v:"example.com/finalizer"``)
- ``i:<n>``     an element by position (only for lists that cannot be keyed)

A :class:`FieldSet` is a set of paths. ``metadata.managedFields[*].fieldsV1`` encodes one as a
JSON tree whose keys are serialized path elements; ``"."`` marks a node that is itself a
member while also having members below it.

How a list or map is walked comes from the OpenAPI schema, with the rules the Kubernetes
API server uses: ``x-kubernetes-list-type`` first, else a ``merge`` patch strategy (keyed by
the patch merge key, or a set without one), else atomic; maps and structs are granular
unless ``x-kubernetes-map-type: atomic``. Values with no schema are walked by shape: objects
are granular, lists atomic.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from decimal import Decimal
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

import orjson

from tinykube.machinery.schema import PerSchema, SchemaNode, definitions, per_schema, ref_name

FIELD, KEY, VALUE, INDEX = "f", "k", "v", "i"
_KIND_ORDER = {FIELD: 0, KEY: 1, VALUE: 2, INDEX: 3}

# Defaults of list-map key fields, applied when an element omits the key (upstream reads them
# from the OpenAPI `default`, which the bundled JSON schemas do not carry).
_KEY_DEFAULTS: dict[tuple[str, str], Any] = {
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.ServicePort", "protocol"): "TCP",
}


class FieldPathError(ValueError):
    """A value cannot be addressed by a path (e.g. a list-map element without its keys)."""


class UnknownPathElement(FieldPathError):
    """A serialized path element of a type this version does not know (skipped on decode)."""


# --- Go-compatible JSON (for key/value path elements and manager identifiers) ---------------

_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
               "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _go_number(n: int | float) -> str:
    """A number as Go writes a float64: integral values without a fraction, tiny or huge ones
    in exponent form (`1e-7`, `1e+21`), everything else in plain decimal notation."""
    if isinstance(n, int):
        return str(n)
    if not math.isfinite(n):
        raise ValueError(f"unsupported value: {n}")
    if n == int(n) and abs(n) < 1e21:
        return str(int(n))
    if abs(n) < 1e-6 or abs(n) >= 1e21:
        mantissa, exp = repr(n).split("e") if "e" in repr(n) else (repr(n), "0")
        sign = "-" if exp.startswith("-") else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        if sign == "+" and len(digits) < 2:
            digits = digits.zfill(2)
        return f"{mantissa}e{sign}{digits}"
    return format(Decimal(repr(n)), "f")


def go_json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (sorted map keys, HTML-safe escapes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_number(value)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = sorted(value.items())
        return "{" + ",".join(f"{_go_string(k)}:{go_json(v)}" for k, v in items) + "}"
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _value_order(value: Any) -> tuple:
    """A total order over JSON values: numbers, strings, booleans, lists, maps, null."""
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_order(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_order(v)) for k, v in sorted(value.items())))
    return (5,)


def _display_value(value: Any) -> str:
    """A value inside a human-readable path: strings quoted, the rest as JSON."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return go_json(value)


# --- path elements --------------------------------------------------------------------------


class PathElement(NamedTuple):
    """One step of a path; `text` is the canonical serialized form after ``<kind>:``.

    A named tuple, not a dataclass: field sets hash millions of elements per second of writes,
    and a tuple hashes in C."""

    kind: str
    text: str

    @staticmethod
    def field(name: str) -> PathElement:
        return PathElement(FIELD, name)

    @staticmethod
    def key(fields: Mapping[str, Any]) -> PathElement:
        """A list item's key element; remembered for scalar keys (a container's name, a
        condition's type: every write of every pod names the same few)."""
        try:
            memo = tuple((k, type(v), v) for k, v in fields.items())  # type: 1 and True differ in JSON
            known = _ELEMENTS.get(memo)
        except TypeError:  # a key holding a list or map
            return PathElement(KEY, go_json(dict(fields)))
        if known is None:
            known = PathElement(KEY, go_json(dict(fields)))
            _remember(_ELEMENTS, memo, known)
        return known

    @staticmethod
    def value(value: Any) -> PathElement:
        try:
            memo = (type(value), value)
            known = _ELEMENTS.get(memo)
        except TypeError:
            return PathElement(VALUE, go_json(value))
        if known is None:
            known = PathElement(VALUE, go_json(value))
            _remember(_ELEMENTS, memo, known)
        return known

    @staticmethod
    def index(i: int) -> PathElement:
        return PathElement(INDEX, str(i))

    @staticmethod
    def parse(text: str) -> PathElement:
        """Parse a serialized element (`f:name`, `k:{...}`, `v:...`, `i:0`)."""
        if len(text) < 2 or text[1] != ":":
            raise FieldPathError(f"invalid path element {text!r}")
        kind, body = text[0], text[2:]
        if kind == FIELD:
            return PathElement.field(body)
        try:
            if kind == KEY:
                fields = json.loads(body)
                if not isinstance(fields, dict):
                    raise FieldPathError(f"key element is not an object: {text!r}")
                return PathElement.key(fields)
            if kind == VALUE:
                return PathElement.value(json.loads(body))
            if kind == INDEX:
                return PathElement.index(int(body))
        except ValueError as exc:
            raise FieldPathError(f"invalid path element {text!r}: {exc}") from exc
        raise UnknownPathElement(f"unknown path element type {kind!r}")

    def serialize(self) -> str:
        return f"{self.kind}:{self.text}"

    def sort_key(self) -> tuple:
        """Upstream's order: fields, then keys, then values, then indexes."""
        if self.kind == FIELD:
            return (_KIND_ORDER[FIELD], self.text)
        return _element_sort_key(self.kind, self.text)

    def __str__(self) -> str:
        if self.kind == FIELD:
            return "." + self.text
        if self.kind == KEY:
            fields = json.loads(self.text)
            return "[" + ",".join(f"{k}={_display_value(v)}" for k, v in sorted(fields.items())) + "]"
        if self.kind == VALUE:
            return f"[={_display_value(json.loads(self.text))}]"
        return f"[{self.text}]"


@functools.lru_cache(maxsize=8192)
def _element_sort_key(kind: str, text: str) -> tuple:
    """The sort key of a key, value or index element, remembered: every encoding of a pod's
    fields sorts the same container names and condition types, parsing their JSON each time."""
    rank = _KIND_ORDER[kind]
    if kind == KEY:
        fields = json.loads(text)
        return (rank, tuple((k, _value_order(v)) for k, v in sorted(fields.items())))
    if kind == VALUE:
        return (rank, _value_order(json.loads(text)))
    return (rank, int(text))


Path = tuple[PathElement, ...]


def make_path(*parts: str | int | Mapping[str, Any] | PathElement) -> Path:
    """Build a path: str = field, dict = list-map key, int = index, PathElement as given."""
    out: list[PathElement] = []
    for part in parts:
        if isinstance(part, PathElement):
            out.append(part)
        elif isinstance(part, str):
            out.append(PathElement.field(part))
        elif isinstance(part, bool):
            raise TypeError("use PathElement.value for set values")
        elif isinstance(part, int):
            out.append(PathElement.index(part))
        else:
            out.append(PathElement.key(part))
    return tuple(out)


def path_string(path: Path) -> str:
    """The human-readable form used in conflict messages, e.g. `.spec.containers[name="x"].image`."""
    return "".join(str(pe) for pe in path)


# --- field sets -----------------------------------------------------------------------------


class _Node:
    """A tree view of a FieldSet, for encoding and ordered iteration."""

    __slots__ = ("member", "children")

    def __init__(self) -> None:
        self.member = False
        self.children: dict[PathElement, _Node] = {}

    def sorted_children(self) -> list[tuple[PathElement, _Node]]:
        return sorted(self.children.items(), key=lambda kv: kv[0].sort_key())


class FieldSet:
    """An immutable set of paths with the operations server-side apply needs."""

    __slots__ = ("_paths", "_encoded")

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        # the empty path is the whole object, which nobody owns
        self._paths: frozenset[Path] = frozenset(tuple(p) for p in paths if p)
        self._encoded: bytes | None = None  # to_fields_v1, kept: a set is immutable

    @classmethod
    def _of(cls, paths: frozenset[Path]) -> FieldSet:
        """A set over paths already normalized (the result of set algebra on two sets)."""
        out = cls.__new__(cls)
        out._paths = paths
        out._encoded = None
        return out

    # set algebra; a result equal to an operand is that operand, keeping its cached encoding
    def __or__(self, other: FieldSet) -> FieldSet:
        if other._paths <= self._paths:
            return self
        return FieldSet._of(self._paths | other._paths)

    def __and__(self, other: FieldSet) -> FieldSet:
        return FieldSet._of(self._paths & other._paths)

    def __sub__(self, other: FieldSet) -> FieldSet:
        if self._paths.isdisjoint(other._paths):
            return self
        return FieldSet._of(self._paths - other._paths)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSet) and self._paths == other._paths

    def __le__(self, other: FieldSet) -> bool:
        return self._paths <= other._paths

    def __hash__(self) -> int:
        return hash(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __bool__(self) -> bool:
        return bool(self._paths)

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __iter__(self) -> Iterator[Path]:
        """Paths in upstream's order: at each level members first, then each child subtree."""
        yield from self._walk(self._tree(), ())

    def __repr__(self) -> str:
        return "FieldSet([" + ", ".join(repr(path_string(p)) for p in self) + "])"

    def unordered(self) -> frozenset[Path]:
        """The paths in no particular order (iterating in upstream's order sorts a tree)."""
        return self._paths

    def recursive_difference(self, other: FieldSet) -> FieldSet:
        """Drop every path that equals, or lies below, a path of `other`."""
        return FieldSet(p for p in self._paths if not any(p[:n] in other._paths for n in range(1, len(p) + 1)))

    def has_prefix(self, prefix: Path) -> bool:
        """Whether some path of the set lies strictly below `prefix`."""
        n = len(prefix)
        return any(len(p) > n and p[:n] == prefix for p in self._paths)

    def strings(self) -> list[str]:
        return [path_string(p) for p in self]

    # encoding
    def to_fields_v1(self) -> dict[str, Any]:
        """The FieldsV1 JSON tree (keys sorted as upstream writes them); a fresh dict each time.

        Every write re-encodes every manager's set, and most are unchanged: the encoding is
        computed once per set and copied from bytes afterwards. Pods of one template get equal
        sets (paths hold list keys such as a container's name, not values), so encodings are
        also remembered by the paths themselves, and decoding that JSON finds this set."""
        if self._encoded is None:
            encoded = _ENCODED.get(self._paths)
            if encoded is None:
                encoded = orjson.dumps(_encode_level(self._paths, 0))
                _remember(_ENCODED, self._paths, encoded)
                _remember(_DECODED, encoded, self)
            self._encoded = encoded
        return orjson.loads(self._encoded)  # type: ignore[no-any-return]

    @staticmethod
    def from_fields_v1(fields: Mapping[str, Any] | None) -> FieldSet:
        """Decode a FieldsV1 tree; unknown element types are skipped, as upstream does.

        Decoded sets are remembered by their JSON (most writes carry the same managers' sets
        as the write before), so decoding an unchanged set is a dictionary lookup."""
        try:
            memo_key = orjson.dumps(fields)
        except TypeError:
            memo_key = None
        if memo_key is not None:
            known = _DECODED.get(memo_key)
            if known is not None:
                return known
        paths: list[Path] = []
        _decode_into(fields or {}, (), paths)
        decoded = FieldSet(paths)
        if memo_key is not None:
            _remember(_DECODED, memo_key, decoded)
        return decoded

    # internals
    def _tree(self) -> _Node:
        root = _Node()
        for path in self._paths:
            node = root
            for pe in path:
                child = node.children.get(pe)
                if child is None:
                    child = node.children[pe] = _Node()
                node = child
            node.member = True
        return root

    def _walk(self, node: _Node, prefix: Path) -> Iterator[Path]:
        ordered = node.sorted_children()
        for pe, child in ordered:
            if child.member:
                yield prefix + (pe,)
        for pe, child in ordered:
            if child.children:
                yield from self._walk(child, prefix + (pe,))


def _encode_level(paths: Iterable[Path], depth: int) -> dict[str, Any]:
    """The FieldsV1 tree below `depth` of paths that share their first `depth` elements.

    Subtrees two levels down (`status.conditions`, `spec.containers`) are remembered by their
    paths: sets that differ in one corner (a pod's own `podIPs` key) share the rest's encoding.
    The remembered trees are only ever serialized, never changed."""
    members: set[PathElement] = set()
    below: dict[PathElement, list[Path]] = {}
    for path in paths:
        pe = path[depth]
        if len(path) == depth + 1:
            members.add(pe)
        else:
            below.setdefault(pe, []).append(path)
    out: dict[str, Any] = {}
    for pe in sorted(members | below.keys(), key=PathElement.sort_key):
        sub = below.get(pe)
        if sub is None:
            out[pe.serialize()] = {}
            continue
        child = _subtree(sub, depth + 1)
        out[pe.serialize()] = {".": {}, **child} if pe in members else child
    return out


def _subtree(paths: list[Path], depth: int) -> dict[str, Any]:
    if depth != 2:
        return _encode_level(paths, depth)
    key = frozenset(paths)
    known = _SUBTREES.get(key)
    if known is None:
        known = _encode_level(paths, depth)
        _remember(_SUBTREES, key, known)
    return known


_ELEMENTS: dict[tuple, PathElement] = {}  # scalar list keys and set values -> their element
_DECODED: dict[bytes, FieldSet] = {}  # FieldsV1 JSON -> its set
_ENCODED: dict[frozenset[Path], bytes] = {}  # a set's paths -> its FieldsV1 JSON
_SUBTREES: dict[frozenset[Path], dict[str, Any]] = {}  # paths sharing two elements -> their tree below
_MEMO_LIMIT = 4096


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_LIMIT:
        memo.pop(next(iter(memo)))  # oldest first
    memo[key] = value


def _decode_into(tree: Mapping[str, Any], prefix: Path, out: list[Path]) -> None:
    """Decode one level; a node with nothing recognisable below it is itself a member."""
    if not isinstance(tree, Mapping):
        raise FieldPathError("fieldsV1 must be a JSON object")
    found = False
    for text, sub in tree.items():
        if text == ".":
            out.append(prefix)
            found = True
            continue
        try:
            pe = PathElement.parse(text)
        except UnknownPathElement:
            continue
        _decode_into(sub, prefix + (pe,), out)
        found = True
    if not found:
        out.append(prefix)


# --- schema shapes --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListShape:
    """How a list is addressed: `atomic`, `set` (by value) or `map` (by `keys`)."""

    kind: str
    keys: tuple[str, ...] = ()


ATOMIC_LIST = ListShape("atomic")


_LIST_SHAPES: PerSchema[ListShape] = {}


def list_shape(node: SchemaNode | None) -> ListShape:
    """The list's element relationship, as the API server derives it from the OpenAPI schema."""
    return ATOMIC_LIST if node is None else per_schema(_LIST_SHAPES, node, _list_shape)


def _list_shape(node: SchemaNode) -> ListShape:
    list_type = node.list_type
    if list_type == "set":
        return ListShape("set")
    if list_type == "map":
        keys = tuple(node.list_map_keys) or ((node.patch_merge_key,) if node.patch_merge_key else ())
        return ListShape("map", keys) if keys else ATOMIC_LIST
    if list_type is not None:
        return ATOMIC_LIST
    strategies = node.patch_strategy.split(",")
    if "merge" in strategies:
        merge_key = node.patch_merge_key
        return ListShape("map", (merge_key,)) if merge_key else ListShape("set")
    return ATOMIC_LIST


_ATOMIC_MAPS: PerSchema[bool] = {}


def is_atomic_map(node: SchemaNode | None) -> bool:
    """Structs and maps are granular unless marked `x-kubernetes-map-type: atomic`."""
    return node is not None and per_schema(_ATOMIC_MAPS, node, lambda n: n.map_type == "atomic")


def child_node(node: SchemaNode | None, key: str) -> tuple[SchemaNode | None, bool]:
    """The schema of `key` inside an object, and whether it is a declared (struct) field
    (both looked up in the schema's facts, worked out once per schema)."""
    if node is None:
        return None, False
    declared = node.field(key)
    if declared is not None:
        return declared, True
    return node.map_values(), False


def always_present(parent: SchemaNode | None, key: str) -> bool:
    """Whether a declared field exists even when unset, as in Go's typed objects: nested
    (non-pointer) structs and required fields are never "added" or "removed" themselves,
    only their contents are. Free-form maps and optional lists are. (Comparing objects asks
    this once per schema and declared field: see apply's `_map_fields`.)"""
    if parent is None:
        return False
    sub = parent.field(key)
    if sub is None:
        return False
    if sub.has_fields and not sub.is_map:
        return True
    name = ref_name(parent.schema)
    schema = definitions()[name] if name else parent.schema
    return key in (schema.get("required") or ())


def item_node(node: SchemaNode | None) -> SchemaNode | None:
    return node.items() if node is not None else None


def _key_default(items: SchemaNode | None, key: str) -> Any:
    if items is None:
        return None
    name = ref_name(items.schema) or items.name
    if (name, key) in _KEY_DEFAULTS:
        return _KEY_DEFAULTS[(name, key)]
    field = items.field(key)
    return field.schema.get("default") if field is not None else None


def list_item_element(item: Any, shape: ListShape, items: SchemaNode | None) -> PathElement:
    """The path element naming `item` inside a set- or map-list."""
    if shape.kind == "map":
        if not isinstance(item, dict):
            raise FieldPathError("associative list with keys may not have non-map elements")
        fields: dict[str, Any] = {}
        for key in shape.keys:
            if key in item:
                fields[key] = item[key]
            else:
                default = _key_default(items, key)
                if default is not None:
                    fields[key] = default
        if not fields:
            keys = "[" + " ".join(json.dumps(k) for k in shape.keys) + "]"
            raise FieldPathError(f"associative list with keys has an element that omits all key fields "
                                 f"{keys} (and doesn't have default values for any key fields)")
        return PathElement.key(fields)
    if shape.kind == "set":
        if isinstance(item, dict):
            raise FieldPathError("associative list without keys has an element that's a map type")
        if isinstance(item, list):
            raise FieldPathError("not supported: associative list with lists as elements")
        if item is None:
            raise FieldPathError("associative list without keys has an element that's an explicit null")
        return PathElement.value(item)
    raise FieldPathError("invalid indexing of non-associative list")


def list_elements(items: list[Any], node: SchemaNode | None) -> list[PathElement] | None:
    """Path elements for every item of a set/map list, or None when the list is atomic
    or some item cannot be keyed (the list is then handled as one value)."""
    shape = list_shape(node)
    if shape.kind == "atomic":
        return None
    try:
        return [list_item_element(item, shape, item_node(node)) for item in items]
    except FieldPathError:
        return None


# --- the fields an object sets --------------------------------------------------------------


def object_field_set(obj: Mapping[str, Any], node: SchemaNode | None) -> FieldSet:
    """Every field `obj` specifies: leaves, list elements, free-form map keys, and empty
    or null values; declared struct fields with content are implied by their children."""
    out: list[Path] = []
    _collect(obj, node, (), out)
    return FieldSet(out)


def _collect(value: Any, node: SchemaNode | None, path: Path, out: list[Path]) -> None:
    if isinstance(value, dict):
        _collect_map(value, node, path, out)
    elif isinstance(value, list):
        _collect_list(value, node, path, out)
    else:
        out.append(path)


def _collect_map(value: dict[str, Any], node: SchemaNode | None, path: Path, out: list[Path]) -> None:
    if is_atomic_map(node):
        out.append(path)
        return
    for key, child in value.items():
        sub_node, declared = child_node(node, key)
        sub_path = path + (PathElement.field(key),)
        _collect(child, sub_node, sub_path, out)
        if child is None or child == {} or not declared:
            out.append(sub_path)


def _collect_list(value: list[Any], node: SchemaNode | None, path: Path, out: list[Path]) -> None:
    elements = list_elements(value, node)
    if elements is None:
        out.append(path)
        return
    items = item_node(node)
    counts = Counter(elements)
    for pe, item in zip(elements, value):
        sub_path = path + (pe,)
        out.append(sub_path)
        if counts[pe] == 1:  # duplicated elements are owned as a whole, never field by field
            _collect(item, items, sub_path, out)
