"""The official Kubernetes object schemas, loaded from the `kubernetes-validate` package.

One source for unknown-field detection, strategic-merge patch keys, list types and
`kubectl explain` (via the OpenAPI documents built from these definitions).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources as importlib_resources
from types import MappingProxyType
from typing import Any, Callable, Mapping, TypeVar

import orjson

# The Kubernetes minor whose definitions we serve. kubectl 1.32..1.34 accept it (version skew +-1).
KUBERNETES_MINOR = "1.33"
KUBERNETES_VERSION = f"v{KUBERNETES_MINOR}.0"

_REF_PREFIX = "#/$defs/"


@functools.cache
def definitions() -> dict[str, dict[str, Any]]:
    """All definitions keyed by their OpenAPI name, e.g. `io.k8s.api.apps.v1.Deployment`."""
    root = importlib_resources.files("kubernetes_validate") / "kubernetes-json-schema"
    path = root / f"{KUBERNETES_VERSION}-local" / "_definitions.json"
    return orjson.loads(path.read_bytes())["$defs"]


@functools.cache
def definition_name_for_kind(group: str, version: str, kind: str) -> str | None:
    """The definition name that carries x-kubernetes-group-version-kind = (group, version, kind)."""
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            if gvk.get("group", "") == group and gvk["version"] == version and gvk["kind"] == kind:
                return name
    return None


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if ref and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return None


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if t is None:
        if "oneOf" in schema:  # IntOrString, Quantity
            out: set[str] = set()
            for alt in schema["oneOf"]:
                out |= _types(alt)
            return out
        return set()
    if isinstance(t, str):
        return {t}
    return {x for x in t if x != "null"}


# $ref resolutions, keyed by the id of the referring schema dict (kept alive in the value)
_RESOLVED: dict[int, tuple[dict[str, Any], "SchemaNode"]] = {}
# what a schema node answers (see SchemaNode._facts), keyed the same way
_FACTS: dict[int, tuple[dict[str, Any], "_Facts"]] = {}


@dataclass(frozen=True, slots=True)
class _Facts:
    """A resolved schema's answers to the questions object walks ask."""

    types: frozenset[str]
    is_object: bool
    is_array: bool
    is_map: bool
    preserves_unknown_fields: bool
    fields: Mapping[str, SchemaNode]
    items: SchemaNode | None
    values: SchemaNode | None

    @staticmethod
    def of(schema: dict[str, Any]) -> _Facts:
        types = frozenset(_types(schema))
        is_object = "object" in types or "properties" in schema
        declared = "properties" in schema or "additionalProperties" in schema
        add = schema.get("additionalProperties")
        return _Facts(
            types=types,
            is_object=is_object,
            is_array="array" in types,
            is_map="additionalProperties" in schema and "properties" not in schema,
            # RawExtension, FieldsV1 and other opaque objects: an object with no declared shape
            preserves_unknown_fields=bool(schema.get("x-kubernetes-preserve-unknown-fields"))
            or (is_object and not declared),
            fields=MappingProxyType({k: SchemaNode(v) for k, v in (schema.get("properties") or {}).items()}),
            items=SchemaNode(schema["items"]) if "items" in schema else None,
            values=SchemaNode(add) if isinstance(add, dict) else None,
        )


@dataclass(frozen=True)
class SchemaNode:
    """A position in an object's schema; navigation follows $refs transparently."""

    schema: dict[str, Any]
    name: str = ""  # definition name when this node is a named definition

    @staticmethod
    def for_definition(name: str) -> SchemaNode:
        return SchemaNode(definitions()[name], name)

    @staticmethod
    def for_kind(group: str, version: str, kind: str) -> SchemaNode | None:
        name = definition_name_for_kind(group, version, kind)
        return SchemaNode.for_definition(name) if name else None

    def _resolved(self) -> SchemaNode:
        name = ref_name(self.schema)
        if name is None:
            return self
        cached = _RESOLVED.get(id(self.schema))
        if cached is not None and cached[0] is self.schema:
            return cached[1]
        # keep the x-kubernetes-* annotations written beside the $ref
        merged = dict(definitions()[name])
        for key, value in self.schema.items():
            if key.startswith("x-kubernetes-"):
                merged[key] = value
        node = SchemaNode(merged, name)
        _RESOLVED[id(self.schema)] = (self.schema, node)  # the schema dicts live as long as definitions()
        return node

    def _facts(self) -> _Facts:
        """What the walks over objects ask of this node, worked out once per schema: every
        write checks unknown fields and types, visiting each field's node."""
        schema = self.schema
        cached = _FACTS.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        facts = _Facts.of(self._resolved().schema)
        _FACTS[id(schema)] = (schema, facts)  # the schema is kept alive with its facts
        return facts

    @property
    def types(self) -> frozenset[str]:
        return self._facts().types

    @property
    def is_object(self) -> bool:
        return self._facts().is_object

    @property
    def is_array(self) -> bool:
        return self._facts().is_array

    @property
    def is_map(self) -> bool:
        """An object with free-form keys (labels, resources.limits ...)."""
        return self._facts().is_map

    @property
    def preserves_unknown_fields(self) -> bool:
        return self._facts().preserves_unknown_fields

    def field(self, key: str) -> SchemaNode | None:
        return self._facts().fields.get(key)

    @property
    def has_fields(self) -> bool:
        return bool(self._facts().fields)

    def fields(self) -> Mapping[str, SchemaNode]:
        """The declared properties' nodes (shared, read-only)."""
        return self._facts().fields

    def items(self) -> SchemaNode | None:
        return self._facts().items

    def map_values(self) -> SchemaNode | None:
        return self._facts().values

    def _annotation(self, key: str) -> Any:
        # annotations written on the property (beside a $ref) win over the definition's
        if key in self.schema:
            return self.schema[key]
        return self._resolved().schema.get(key)

    @property
    def patch_merge_key(self) -> str | None:
        return self._annotation("x-kubernetes-patch-merge-key")

    @property
    def patch_strategy(self) -> str:
        """Comma-separated strategies, e.g. "merge", "retainKeys", "merge,retainKeys"."""
        return self._annotation("x-kubernetes-patch-strategy") or ""

    @property
    def list_type(self) -> str | None:
        return self._annotation("x-kubernetes-list-type")

    @property
    def list_map_keys(self) -> list[str]:
        return list(self._annotation("x-kubernetes-list-map-keys") or ())

    @property
    def map_type(self) -> str | None:
        return self._annotation("x-kubernetes-map-type")

    @property
    def description(self) -> str:
        return self._resolved().schema.get("description", "")


T = TypeVar("T")
# id of a schema dict -> (that dict, what was worked out from it); the dict is kept so its id is never reused
PerSchema = dict[int, tuple[dict[str, Any], T]]


def per_schema(memo: PerSchema[T], node: SchemaNode, work_out: Callable[[SchemaNode], T]) -> T:
    """`work_out(node)`, remembered in `memo` for as long as the node's schema lives: comparing
    and checking request bodies ask the same few questions of each schema on every write."""
    known = memo.get(id(node.schema))
    if known is None or known[0] is not node.schema:
        known = memo[id(node.schema)] = (node.schema, work_out(node))
    return known[1]
