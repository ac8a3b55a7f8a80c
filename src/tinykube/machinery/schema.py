"""The official Kubernetes object schemas, loaded from the `kubernetes-validate` package.

One source for unknown-field detection, strategic-merge patch keys, list types and
`kubectl explain` (via the OpenAPI documents built from these definitions).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources as importlib_resources
from typing import Any

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

    @property
    def types(self) -> set[str]:
        return _types(self._resolved().schema)

    @property
    def is_object(self) -> bool:
        node = self._resolved()
        return "object" in node.types or "properties" in node.schema

    @property
    def is_array(self) -> bool:
        return "array" in self.types

    @property
    def is_map(self) -> bool:
        """An object with free-form keys (labels, resources.limits ...)."""
        node = self._resolved().schema
        return "additionalProperties" in node and "properties" not in node

    @property
    def preserves_unknown_fields(self) -> bool:
        node = self._resolved().schema
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return True
        # RawExtension, FieldsV1 and other opaque objects: an object with no declared shape.
        return self.is_object and "properties" not in node and "additionalProperties" not in node

    def field(self, key: str) -> SchemaNode | None:
        props = self._resolved().schema.get("properties")
        if props is None or key not in props:
            return None
        return SchemaNode(props[key])

    @property
    def has_fields(self) -> bool:
        return bool(self._resolved().schema.get("properties"))

    def fields(self) -> dict[str, SchemaNode]:
        props = self._resolved().schema.get("properties") or {}
        return {k: SchemaNode(v) for k, v in props.items()}

    def items(self) -> SchemaNode | None:
        node = self._resolved().schema
        if "items" in node:
            return SchemaNode(node["items"])
        return None

    def map_values(self) -> SchemaNode | None:
        node = self._resolved().schema
        add = node.get("additionalProperties")
        if isinstance(add, dict):
            return SchemaNode(add)
        return None

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
