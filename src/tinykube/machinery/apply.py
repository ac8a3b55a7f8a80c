"""Server-side apply and managedFields tracking, following structured-merge-diff semantics.

Every write records, in ``metadata.managedFields``, which manager owns which fields:

- ``update_managed_fields`` (create/update/patch): the writer takes every field it added or
  changed, away from whoever owned it; fields it removed are dropped from every owner.
- ``server_side_apply``: the applied configuration is merged into the live object (list-maps by
  key, sets by value, atomic values replaced whole); the applier owns exactly the fields of its
  configuration; fields it applied last time but not now are removed unless someone else owns
  them; changing a field another manager owns is a conflict unless forced (which takes it).

A manager is identified by (name, operation, subresource) and, for updates, the apiVersion.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

import orjson

from tinykube.machinery import errors
from tinykube.machinery.fieldsets import (
    FieldPathError,
    FieldSet,
    Path,
    PathElement,
    always_present,
    child_node,
    go_json,
    is_atomic_map,
    item_node,
    list_elements,
    list_item_element,
    list_shape,
    make_path,
    object_field_set,
    path_string,
)
from tinykube.machinery.jsoncopy import json_copy
from tinykube.machinery.schema import PerSchema, SchemaNode, per_schema

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
FIELD_MANAGER_MAX_LENGTH = 128
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"
CONFLICT_CAUSE = "FieldManagerConflict"

# Never recorded for the writing manager: type meta, identity and server-set metadata.
# (deletionTimestamp/deletionGracePeriodSeconds never reach the field manager upstream.)
STRIPPED_FIELDS = FieldSet(make_path(*p) for p in (
    ("apiVersion",), ("kind",), ("metadata",),
    ("metadata", "name"), ("metadata", "namespace"), ("metadata", "creationTimestamp"),
    ("metadata", "selfLink"), ("metadata", "uid"), ("metadata", "clusterName"),
    ("metadata", "generation"), ("metadata", "managedFields"), ("metadata", "resourceVersion"),
    ("metadata", "deletionTimestamp"), ("metadata", "deletionGracePeriodSeconds"),
))

_MISSING: Any = object()


# --- managers -------------------------------------------------------------------------------

ManagerKey = tuple[str, str, str, str]  # (manager, operation, subresource, apiVersion if Update)


@dataclass
class ManagedEntry:
    """One managedFields entry: a manager and the set of fields it owns."""

    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    subresource: str = ""
    time: str | None = None

    @property
    def key(self) -> ManagerKey:
        return manager_key(self.manager, self.operation, self.subresource, self.api_version)

    def identifier(self) -> str:
        """Upstream's manager identifier: the entry's identity as JSON, in field order."""
        parts = [("manager", self.manager), ("operation", self.operation),
                 ("apiVersion", self.api_version if self.operation != APPLY else ""),
                 ("subresource", self.subresource)]
        return "{" + ",".join(f"{go_json(k)}:{go_json(v)}" for k, v in parts if v) + "}"

    def describe(self) -> str:
        """How a conflict message names this manager."""
        text = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.manager:
            out["manager"] = self.manager
        out["operation"] = self.operation
        out["apiVersion"] = self.api_version
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = FIELDS_V1
        out["fieldsV1"] = self.fields.to_fields_v1()
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def manager_key(manager: str, operation: str, subresource: str, api_version: str) -> ManagerKey:
    return (manager, operation, subresource, api_version if operation != APPLY else "")


Managed = dict[ManagerKey, ManagedEntry]


def decode_managed_fields(entries: Any) -> Managed:
    """Parse metadata.managedFields; raises ValueError on a malformed entry."""
    managed: Managed = {}
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    for i, raw in enumerate(entries):
        entry = _decode_entry(raw, i)
        managed[entry.key] = entry
    return managed


def _decode_entry(raw: Any, i: int) -> ManagedEntry:
    if not isinstance(raw, dict):
        raise ValueError(f"managed fields entry {i} is not an object")
    operation = raw.get("operation")
    if operation not in (APPLY, UPDATE):
        raise ValueError("operation must be `Apply` or `Update`")
    if not raw.get("apiVersion"):
        raise ValueError("apiVersion must not be empty")
    fields_type = raw.get("fieldsType", "")
    if fields_type == "":
        raise ValueError(f"missing fieldsType in managed fields entry {i}")
    if fields_type != FIELDS_V1:
        raise ValueError(f"invalid fieldsType {fields_type!r} in managed fields entry {i}")
    try:
        fields = FieldSet.from_fields_v1(raw.get("fieldsV1"))
    except FieldPathError as exc:
        raise ValueError(f"error decoding set: {exc}") from exc
    return ManagedEntry(manager=raw.get("manager", ""), operation=operation, api_version=raw["apiVersion"],
                        fields=fields, subresource=raw.get("subresource", ""), time=raw.get("time"))


def _time_seconds(entry: ManagedEntry) -> float:
    if not entry.time:
        return 0.0
    try:
        return datetime.fromisoformat(entry.time.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def encode_managed_fields(managed: Managed) -> list[dict[str, Any]]:
    """Entries in upstream's order: Apply before Update, then by time, manager, version, subresource."""
    entries = sorted((e for e in managed.values() if e.fields),
                     key=lambda e: (e.operation, _time_seconds(e), e.manager, e.api_version, e.subresource))
    return [e.to_dict() for e in entries]


def _store_managed_fields(obj: dict[str, Any], managed: Managed) -> None:
    metadata = obj.setdefault("metadata", {})
    encoded = encode_managed_fields(managed)
    if encoded:
        metadata["managedFields"] = encoded
    else:
        metadata.pop("managedFields", None)


def _drop_empty(managed: Managed) -> None:
    for key in [k for k, e in managed.items() if not e.fields]:
        del managed[key]


def _strip(managed: Managed, key: ManagerKey) -> None:
    """Remove the never-tracked fields from one manager's set (dropping it if nothing remains)."""
    entry = managed.get(key)
    if entry is not None:
        entry.fields = entry.fields - STRIPPED_FIELDS
        if not entry.fields:
            del managed[key]


def _cap_update_managers(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """Merge the oldest Update entries into per-version "ancient-changes" buckets."""
    updaters = [e for e in managed.values() if e.operation != APPLY]
    if len(updaters) <= limit:
        return
    updaters.sort(key=lambda e: (int(_time_seconds(e)), e.identifier()))
    first_of_version: dict[str, ManagedEntry] = {}
    remaining = len(updaters)
    for entry in updaters:
        if remaining <= limit:
            break
        version = entry.api_version
        if version not in first_of_version:
            first_of_version[version] = entry
            continue
        bucket_key = manager_key(ANCIENT_CHANGES, UPDATE, "", version)
        if bucket_key not in managed:
            first = first_of_version[version]
            del managed[first.key]
            managed[bucket_key] = ManagedEntry(ANCIENT_CHANGES, UPDATE, version, first.fields, time=first.time)
        bucket = managed[bucket_key]
        bucket.fields = bucket.fields | entry.fields
        bucket.time = entry.time
        del managed[entry.key]
        remaining -= 1


# --- comparing objects ----------------------------------------------------------------------


@dataclass
class Comparison:
    """Fields that differ between two objects (never more than one of the three sets)."""

    added: FieldSet = field(default_factory=FieldSet)
    modified: FieldSet = field(default_factory=FieldSet)
    removed: FieldSet = field(default_factory=FieldSet)

    def excluding(self, ignored: FieldSet) -> Comparison:
        if not ignored:
            return self
        return Comparison(self.added.recursive_difference(ignored),
                          self.modified.recursive_difference(ignored),
                          self.removed.recursive_difference(ignored))

    @property
    def changed(self) -> FieldSet:
        """Fields that now hold a value they did not hold before."""
        return self.added | self.modified


def compare(old: Any, new: Any, node: SchemaNode | None) -> Comparison:
    """Which fields `new` added, modified or removed relative to `old`."""
    acc: dict[str, list[Path]] = {"added": [], "modified": [], "removed": []}
    _compare(old, new, node, (), False, acc)
    return Comparison(FieldSet(acc["added"]), FieldSet(acc["modified"]), FieldSet(acc["removed"]))


LEAF = ("leaf", None)


def _container(lhs: Any, rhs: Any, node: SchemaNode | None) -> tuple[str, Any]:
    """Whether to descend into two values as a map or a list, or compare them as one leaf;
    for a list, each side's path elements (computed once, for the descent too). Absent and
    null values count as empty containers."""
    left = None if lhs is _MISSING else lhs
    right = None if rhs is _MISSING else rhs
    if (left is None or isinstance(left, dict)) and (right is None or isinstance(right, dict)):
        return ("map", None) if (left or right) and not is_atomic_map(node) else LEAF
    if (left is None or isinstance(left, list)) and (right is None or isinstance(right, list)):
        if not (left or right):
            return LEAF
        elements = [list_elements(left, node) if left is not None else [],
                    list_elements(right, node) if right is not None else []]
        return ("list", elements) if elements[0] is not None and elements[1] is not None else LEAF
    return LEAF


def _compare(lhs: Any, rhs: Any, node: SchemaNode | None, path: Path, implied: bool,
             acc: dict[str, list[Path]]) -> None:
    lhs_container, rhs_container = isinstance(lhs, (dict, list)), isinstance(rhs, (dict, list))
    if lhs_container and rhs_container and json_equal(lhs, rhs):
        return  # an unchanged subtree: nothing inside it was added, modified or removed
    kind, elements = _container(lhs, rhs, node) if lhs_container or rhs_container else LEAF
    if kind == "leaf":
        if lhs is _MISSING:
            acc["added"].append(path)
        elif rhs is _MISSING:
            acc["removed"].append(path)
        elif not json_equal(lhs, rhs):
            acc["modified"].append(path)
        return
    if kind == "map":
        _compare_maps(_or_empty(lhs, {}), _or_empty(rhs, {}), node, path, acc)
    else:
        _compare_lists(_or_empty(lhs, []), _or_empty(rhs, []), elements, node, path, acc)
    # a container appearing or disappearing is a change of its own, except for fields that
    # typed objects always carry (see fieldsets.always_present)
    if not implied:
        if lhs is _MISSING:
            acc["added"].append(path)
        elif rhs is _MISSING:
            acc["removed"].append(path)


def _or_empty(value: Any, empty: Any) -> Any:
    return empty if value is _MISSING or value is None else value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _compare_maps(left: dict[str, Any], right: dict[str, Any], node: SchemaNode | None, path: Path,
                  acc: dict[str, list[Path]]) -> None:
    fields = _map_fields(node)
    for key in list(left) + [k for k in right if k not in left]:
        lhs, rhs = left.get(key, _MISSING), right.get(key, _MISSING)
        if _unchanged(lhs, rhs):
            continue  # most of an update: no schema lookups, no path for what did not change
        known = fields.get(key)
        if known is None:
            sub_node, declared = child_node(node, key)
            known = (sub_node, always_present(node, key), PathElement.field(key))
            if declared:  # a struct's own field; a free-form map's keys (labels, data) are not kept
                fields[key] = known
        sub_node, implied, element = known
        _compare(lhs, rhs, sub_node, path + (element,), implied, acc)


FieldFacts = dict[str, tuple[SchemaNode | None, bool, PathElement]]  # key -> its node, always present, element
_MAP_FIELDS: PerSchema[FieldFacts] = {}


def _map_fields(node: SchemaNode | None) -> FieldFacts:
    """What comparing a map has asked of its schema per declared field (filled as it goes)."""
    return {} if node is None else per_schema(_MAP_FIELDS, node, lambda n: {})


def _unchanged(lhs: Any, rhs: Any) -> bool:
    """Two values of one field that `_compare` would find equal, told cheaply where it can be:
    the same object, equal scalars of one type, or equal containers."""
    if lhs is rhs:
        return lhs is not _MISSING
    kind = type(lhs)
    if kind is type(rhs) and kind in _SCALARS:
        return lhs == rhs  # one type: True and 1, 1 and 1.0 never meet here
    return isinstance(lhs, (dict, list)) and isinstance(rhs, (dict, list)) and json_equal(lhs, rhs)


def _group(items: list[Any], elements: list[PathElement]) -> dict[PathElement, list[Any]]:
    groups: dict[PathElement, list[Any]] = {}
    for pe, item in zip(elements, items):
        groups.setdefault(pe, []).append(item)
    return groups


def _compare_lists(lhs: list[Any], rhs: list[Any], elements: list[list[PathElement]], node: SchemaNode | None,
                   path: Path, acc: dict[str, list[Path]]) -> None:
    left, right = _group(lhs, elements[0]), _group(rhs, elements[1])
    items = item_node(node)
    for pe in list(left) + [p for p in right if p not in left]:
        l_items, r_items = left.get(pe, []), right.get(pe, [])
        sub_path = path + (pe,)
        if len(l_items) <= 1 and len(r_items) <= 1:
            _compare(l_items[0] if l_items else _MISSING, r_items[0] if r_items else _MISSING,
                     items, sub_path, False, acc)
        elif len(l_items) >= 2 and len(r_items) >= 2:
            if not json_equal(l_items, r_items):
                acc["modified"].append(sub_path)
        elif len(l_items) >= 2:  # duplicates resolved
            if r_items:
                _compare(_MISSING, r_items[0], items, sub_path, False, acc)
            acc["removed"].append(sub_path)
        else:  # duplicates appeared
            if l_items:
                _compare(l_items[0], _MISSING, items, sub_path, False, acc)
            acc["added"].append(sub_path)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values, keeping booleans distinct from numbers."""
    if isinstance(a, (dict, list)) and isinstance(b, (dict, list)):
        # Python's == (C speed) can only err by taking True for 1; identical JSON text settles it
        if a != b:
            return False
        if orjson.dumps(a) == orjson.dumps(b):
            return True
        return _json_equal_slow(a, b)
    return _json_equal_slow(a, b)


def _json_equal_slow(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal_slow(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal_slow(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


# --- merging an applied configuration -------------------------------------------------------


def merge(live: Any, config: Any, node: SchemaNode | None) -> Any:
    """Merge `config` into `live`: config wins on leaves; granular maps merge key by key,
    set/map lists element by element (live-only elements keep their place); explicit nulls
    in the configuration remove the field."""
    return _merge(live, config, node)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _merge(lhs: Any, rhs: Any, node: SchemaNode | None) -> Any:
    if lhs is _MISSING:
        return _drop_nulls(json_copy(rhs))
    if rhs is _MISSING:
        return lhs
    if isinstance(lhs, dict) and isinstance(rhs, dict) and not is_atomic_map(node) and (lhs or rhs):
        return _merge_maps(lhs, rhs, node)
    if isinstance(lhs, list) and isinstance(rhs, list) and (lhs or rhs):
        merged = _merge_lists(lhs, rhs, node)
        if merged is not None:
            return merged
    return _drop_nulls(json_copy(rhs))


def _merge_maps(lhs: dict[str, Any], rhs: dict[str, Any], node: SchemaNode | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in list(lhs) + [k for k in rhs if k not in lhs]:
        if key in rhs and rhs[key] is None:
            continue
        value = _merge(lhs.get(key, _MISSING), rhs.get(key, _MISSING), child_node(node, key)[0])
        out[key] = value
    return out


def _merge_lists(lhs: list[Any], rhs: list[Any], node: SchemaNode | None) -> list[Any] | None:
    """Merge keyed lists; None when the list is atomic (or the live list cannot be keyed)."""
    left_pes = list_elements(lhs, node)
    right_pes = list_elements(rhs, node)
    if left_pes is None or right_pes is None:
        return None
    items = item_node(node)
    left = {}
    for pe, item in zip(left_pes, lhs):
        left.setdefault(pe, item)
    right = dict(zip(right_pes, rhs))
    out: list[Any] = []
    for source, pe, index in _merge_order(left_pes, right_pes):
        if source == "live":
            out.append(lhs[index])
        else:
            out.append(_merge(left.get(pe, _MISSING), right[pe], items))
    return out


def _merge_order(left: list[PathElement], right: list[PathElement]) -> Iterable[tuple[str, PathElement, int]]:
    """Interleave live and applied elements: applied ones in applied order, each live-only
    element kept just where it was relative to the shared elements around it."""
    in_left, in_right = set(left), set(right)
    shared = [pe for pe in right if pe in in_left]
    done: set[PathElement] = set()
    li = ri = 0
    while li < len(left) or ri < len(right):
        if li < len(left):
            pe = left[li]
            if pe in done:
                li += 1
                continue
            if pe not in in_right:
                yield "live", pe, li
                li += 1
                continue
            next_shared = next((s for s in shared if s not in done), None)
            if ri < len(right) and right[ri] == pe:
                done.add(pe)
                yield "applied", pe, ri
                li += 1
                ri += 1
                continue
            if pe != next_shared:
                li += 1  # emitted later, in applied order
                continue
        if ri >= len(right):
            break
        done.add(right[ri])
        yield "applied", right[ri], ri
        ri += 1


def validate_config(config: Any, node: SchemaNode | None) -> list[str]:
    """Errors that make a configuration unusable for apply (unkeyable or duplicate list items)."""
    errs: list[str] = []
    _validate(config, node, (), errs)
    return errs


def _validate(value: Any, node: SchemaNode | None, path: Path, errs: list[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _validate(child, child_node(node, key)[0], path + (PathElement.field(key),), errs)
        return
    if not isinstance(value, list):
        return
    shape = list_shape(node)
    if shape.kind == "atomic":
        return
    seen: set[PathElement] = set()
    for i, item in enumerate(value):
        try:
            pe = list_item_element(item, shape, item_node(node))
        except FieldPathError as exc:
            errs.append(f"{path_string(path)}: element {i}: {exc}")
            continue
        if pe in seen:
            errs.append(f"{path_string(path)}: duplicate entries for key {pe}")
            continue
        seen.add(pe)
        _validate(item, item_node(node), path + (pe,), errs)


# --- pruning what the applier stopped applying ----------------------------------------------


def _prune(merged: dict[str, Any], remove: FieldSet, owned: FieldSet, node: SchemaNode | None) -> dict[str, Any]:
    """Remove the `remove` paths from `merged`, keeping declared struct fields that still
    hold owned fields; containers emptied by the removal disappear too."""
    if not remove:
        return merged
    result = _prune_value(merged, remove, owned, node, ())
    return result if isinstance(result, dict) else {}


def _prune_value(value: Any, remove: FieldSet, owned: FieldSet, node: SchemaNode | None, path: Path) -> Any:
    if isinstance(value, dict) and not is_atomic_map(node):
        return _prune_map(value, remove, owned, node, path)
    if isinstance(value, list):
        elements = list_elements(value, node)
        if elements is not None:
            return _prune_list(value, elements, remove, owned, node, path)
    return value


def _prune_map(value: dict[str, Any], remove: FieldSet, owned: FieldSet, node: SchemaNode | None,
               path: Path) -> Any:
    out: dict[str, Any] = {}
    touched = False
    for key, child in value.items():
        sub_node, declared = child_node(node, key)
        sub_path = path + (PathElement.field(key),)
        if sub_path in remove and not (declared and owned.has_prefix(sub_path)):
            touched = True
            continue
        if remove.has_prefix(sub_path):
            child = _prune_value(child, remove, owned, sub_node, sub_path)
            if child is _MISSING:
                touched = True
                continue
        out[key] = child
    return _MISSING if touched and not out else out


def _prune_list(value: list[Any], elements: list[PathElement], remove: FieldSet, owned: FieldSet,
                node: SchemaNode | None, path: Path) -> Any:
    out: list[Any] = []
    touched = False
    for pe, item in zip(elements, value):
        sub_path = path + (pe,)
        if sub_path in remove:
            touched = True
            continue
        if remove.has_prefix(sub_path):
            item = _prune_value(item, remove, owned, item_node(node), sub_path)
            if item is _MISSING:
                touched = True
                continue
        out.append(item)
    return _MISSING if touched and not out else out


# --- conflicts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A field the applier would change that `owner` manages."""

    owner: ManagedEntry
    path: Path

    @property
    def field_path(self) -> str:
        return path_string(self.path)


def conflict_message(conflicts: list[Conflict]) -> str:
    """The message the API server returns (fieldmanager's conflict.go)."""
    if len(conflicts) == 1:
        c = conflicts[0]
        return f"Apply failed with 1 conflict: conflict with {c.owner.describe()}: {c.field_path}"
    groups: dict[str, list[Conflict]] = {}
    for c in conflicts:
        groups.setdefault(c.owner.identifier(), []).append(c)
    lines: list[str] = []
    for ident in sorted(groups):
        lines.append(f"conflicts with {groups[ident][0].owner.describe()}:")
        lines.extend(f"- {c.field_path}" for c in groups[ident])
    return f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)


class ApplyConflict(errors.StatusError):
    """409 Conflict listing the fields, and their managers, that an apply would take over.

    `.conflicts` holds (manager, apiVersion, field path) tuples."""

    def __init__(self, conflicts: list[Conflict]):
        self.conflict_details = conflicts
        self.conflicts: list[tuple[str, str, str]] = [(c.owner.manager, c.owner.api_version, c.field_path)
                                                      for c in conflicts]
        causes = [errors.Cause(CONFLICT_CAUSE, f"conflict with {c.owner.describe()}", c.field_path) for c in conflicts]
        super().__init__(409, "Conflict", conflict_message(conflicts),
                         {"causes": [cause.to_dict() for cause in causes]})


def _find_conflicts(managed: Managed, applier: ManagerKey, changed: FieldSet) -> list[Conflict]:
    found: list[Conflict] = []
    for entry in sorted(managed.values(), key=lambda e: e.identifier()):
        if entry.key != applier:
            found.extend(Conflict(entry, p) for p in entry.fields & changed)
    return sorted(found, key=lambda c: (c.owner.identifier(), _iteration_rank(c)))


def _iteration_rank(conflict: Conflict) -> int:
    """Position of the conflict's path in its owner's upstream iteration order."""
    for i, path in enumerate(conflict.owner.fields):
        if path == conflict.path:
            return i
    return 0


def _release(managed: Managed, writer: ManagerKey | None, cmp: Comparison) -> None:
    """Other managers lose the fields the writer changed, and everyone loses removed fields."""
    lost = cmp.changed | cmp.removed
    for key, entry in managed.items():
        if key != writer:
            entry.fields = entry.fields - lost
    _drop_empty(managed)


# --- fields the subresource may not write ---------------------------------------------------


def reset_fields(subresource: str, ignore_status: bool, *objects: Any) -> FieldSet:
    """Fields outside this write's reach, neither owned nor compared: `status` on writes
    to the main resource (when it has a status subresource), and everything but
    `status` and `metadata` on writes to /status."""
    if subresource == "status":
        tops = {k for obj in objects if isinstance(obj, dict) for k in obj}
        tops -= {"metadata", "status", "apiVersion", "kind"}
        return FieldSet(make_path(k) for k in tops)
    if subresource == "" and ignore_status:
        return _STATUS
    return _NOTHING


_STATUS, _NOTHING = FieldSet([make_path("status")]), FieldSet()


def _restore_reset(merged: dict[str, Any], live: dict[str, Any], reset: FieldSet) -> None:
    for path in reset:
        name = path[0].text
        if name in live:
            merged[name] = json_copy(live[name])
        else:
            merged.pop(name, None)


# --- last-applied annotation (client-side apply upgrade) ------------------------------------


def _annotations(obj: dict[str, Any]) -> dict[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _allowed_by_last_applied(live: dict[str, Any], node: SchemaNode | None, api_version: str) -> FieldSet | None:
    """Fields that `kubectl` applied client-side and that still hold the values it applied:
    `kubectl apply --server-side` may take them over without conflict."""
    text = _annotations(live).get(LAST_APPLIED_ANNOTATION)
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    cmp = compare(last, live, node)
    return object_field_set(last, node) - cmp.modified - cmp.added - cmp.removed


def _sync_last_applied(merged: dict[str, Any], applied: dict[str, Any]) -> None:
    """Keep an existing last-applied annotation in step with what kubectl now applies."""
    if not _annotations(merged).get(LAST_APPLIED_ANNOTATION):
        return
    config = json_copy(applied)
    config_meta = config.get("metadata")
    if isinstance(config_meta, dict) and isinstance(config_meta.get("annotations"), dict):
        config_meta["annotations"].pop(LAST_APPLIED_ANNOTATION, None)
    merged["metadata"]["annotations"][LAST_APPLIED_ANNOTATION] = go_json(config) + "\n"


# --- the operations -------------------------------------------------------------------------


def _without_managed_fields(obj: dict[str, Any] | None) -> dict[str, Any]:
    out = json_copy(obj) if obj else {}
    if isinstance(out.get("metadata"), dict):
        out["metadata"].pop("managedFields", None)
    return out


def _compare_view(obj: dict[str, Any] | None, skip: set[str]) -> dict[str, Any]:
    """A shallow, read-only view of `obj` for comparing: no managedFields and no top-level
    fields outside the write's reach (copying whole objects per write was the hot spot)."""
    if not obj:
        return {}
    out = {k: v for k, v in obj.items() if k not in skip}
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def _object_id(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    api_version = obj.get("apiVersion", "")
    group, _, version = api_version.rpartition("/")
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}; {group}/{version}, Kind={obj.get('kind', '')}"


def _check_applied(applied: Any, node: SchemaNode | None) -> None:
    """Reject configurations upstream rejects: with managedFields (400), or with list
    elements that cannot be told apart (422 here; upstream answers a bare 500, which we never send)."""
    if not isinstance(applied, dict):
        raise errors.bad_request("apply configuration must be an object")
    meta = applied.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    if errs := validate_config(applied, node):
        summary = errs[0] if len(errs) == 1 else "errors:\n" + "\n".join("  " + e for e in errs)
        raise errors.StatusError(422, "Invalid", f"failed to create typed patch object ({_object_id(applied)}): {summary}")


def _record_update(managed: Managed, old: dict[str, Any], new: dict[str, Any], entry: ManagedEntry,
                   node: SchemaNode | None, reset: FieldSet) -> None:
    """Give `entry`'s manager what changed from old to new (stamping the time only then)."""
    cmp = (compare(old, new, node) if old else _compare_with_nothing(new, node)).excluding(reset)
    _release(managed, None, cmp)
    taken = cmp.changed - STRIPPED_FIELDS
    if not taken:
        return
    previous = managed.get(entry.key)
    if previous is None:
        entry.fields = taken
    elif taken <= previous.fields:
        entry.fields = previous.fields  # the same set: keeps its cached encoding
    else:
        entry.fields = taken | previous.fields
    managed[entry.key] = entry


_CREATED: dict[bytes, tuple[Any, Comparison]] = {}
_CREATED_LIMIT = 1024


def _shape_view(value: Any) -> Any:
    """`value` with every scalar outside a list blanked: which paths a created object has
    depends on its map keys, on which values are maps, and on list items (their keys: a
    container's name, a set's values), never on a scalar held in a map."""
    if isinstance(value, dict):
        return {k: _shape_view(v) for k, v in value.items()}
    if isinstance(value, list) or value is None:
        return value
    return 0


def _compare_with_nothing(new: dict[str, Any], node: SchemaNode | None) -> Comparison:
    """compare({}, new): every field of `new` added, remembered by the object's shape.

    Creates repeat one shape (the pods of a ReplicaSet, a client's numbered pods, the events
    of one reason), differing in names, times and messages, which `_shape_view` blanks.
    The schema is checked by identity (a CustomResourceDefinition may change its schema)."""
    try:
        key = orjson.dumps(_shape_view(new))
    except TypeError:
        return compare({}, new, node)
    schema = node.schema if node is not None else None
    known = _CREATED.get(key)
    if known is not None and known[0] is schema:
        return known[1]
    cmp = compare({}, new, node)
    if len(_CREATED) >= _CREATED_LIMIT:
        _CREATED.pop(next(iter(_CREATED)))
    _CREATED[key] = (schema, cmp)
    return cmp


def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], *, manager: str, force: bool,
                      node: SchemaNode | None, api_version: str, now: str, subresource: str = "",
                      ignore_status: bool = True) -> dict[str, Any]:
    """Apply `applied` (the client's configuration) to `live` (None to create) for `manager`.

    Returns the new object with metadata.managedFields updated; raises ApplyConflict when the
    configuration changes fields other managers own and `force` is false. `subresource` is
    "status" for /status writes; with `ignore_status` a main-resource write neither owns nor
    changes `status` (pass False for kinds without a status subresource). The caller still
    defaults and validates the result."""
    _check_applied(applied, node)
    live_obj = _without_managed_fields(live)
    try:
        managed = decode_managed_fields(((live or {}).get("metadata") or {}).get("managedFields"))
    except ValueError as exc:
        raise errors.internal(f"failed to decode managed fields: {exc}") from exc
    reset = reset_fields(subresource, ignore_status, live_obj, applied)
    if not managed and live_obj:
        _record_update(managed, {}, live_obj,
                       ManagedEntry(BEFORE_FIRST_APPLY, UPDATE, api_version, FieldSet(), subresource, now),
                       node, reset)

    key = manager_key(manager, APPLY, subresource, api_version)
    previous = managed.get(key)
    last_set = previous.fields if previous else FieldSet()
    managed[key] = ManagedEntry(manager, APPLY, api_version,
                                object_field_set(applied, node).recursive_difference(reset), subresource,
                                previous.time if previous else None)

    merged = merge(live_obj, applied, node)
    owned = _union(managed)
    merged = _prune(merged, last_set - owned, owned, node)
    _restore_reset(merged, live_obj, reset)

    cmp = compare(live_obj, merged, node).excluding(reset)
    conflicts = _find_conflicts(managed, key, cmp.changed)
    if conflicts and not force:
        conflicts = _unresolved(conflicts, manager, live_obj, node, api_version)
        if conflicts:
            raise ApplyConflict(conflicts)
    _release(managed, key, cmp)
    _strip(managed, key)
    if key in managed and not json_equal(merged, live_obj):
        managed[key].time = now
    if manager == "kubectl":
        _sync_last_applied(merged, applied)
    _store_managed_fields(merged, managed)
    return merged


def _union(managed: Managed) -> FieldSet:
    out = FieldSet()
    for entry in managed.values():
        out = out | entry.fields
    return out


def _unresolved(conflicts: list[Conflict], manager: str, live: dict[str, Any], node: SchemaNode | None,
                api_version: str) -> list[Conflict]:
    """Conflicts left after the client-side-apply upgrade path (only for manager "kubectl")."""
    if manager != "kubectl":
        return conflicts
    allowed = _allowed_by_last_applied(live, node, api_version)
    if allowed is None:
        return conflicts
    return [c for c in conflicts if c.path not in allowed]


def _managed_for_update(old: dict[str, Any] | None, new: dict[str, Any], subresource: str) -> Managed:
    """The request's managedFields if it carries valid ones (an empty list resets them),
    else the live object's; subresource writes always keep the live object's."""
    live_entries = ((old or {}).get("metadata") or {}).get("managedFields")
    if not subresource:
        new_entries = (new.get("metadata") or {}).get("managedFields")
        if new_entries == [] or new_entries == [{}]:
            return {}
        try:
            managed = decode_managed_fields(new_entries)
        except ValueError:
            managed = {}
        if managed:
            return managed
    try:
        return decode_managed_fields(live_entries)
    except ValueError:
        return {}


def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], *, manager: str, operation: str = UPDATE,
                          node: SchemaNode | None, api_version: str, now: str, subresource: str = "",
                          ignore_status: bool = True) -> None:
    """Record in new.metadata.managedFields that `manager` owns what it changed from `old`
    (None on create), taking those fields from other managers. Mutates `new`.

    The request's own managedFields are honoured when valid (an empty list resets them);
    an existing object without managedFields stays untracked, as upstream."""
    managed = _managed_for_update(old, new, subresource)
    creating = not ((old or {}).get("metadata") or {}).get("uid")
    if not managed and not creating:
        # objects written without field tracking stay untracked until the first apply
        _store_managed_fields(new, managed)
        return
    reset = reset_fields(subresource, ignore_status, old or {}, new)
    reset_tops = {path[0].text for path in reset.unordered() if len(path) == 1}
    old_obj, new_obj = _compare_view(old, reset_tops), _compare_view(new, reset_tops)
    entry = ManagedEntry(manager, operation, api_version, FieldSet(), subresource, now)
    # the views leave out the reset top-level fields, so only deeper reset paths remain to drop
    deeper = FieldSet(path for path in reset.unordered() if len(path) > 1)
    _record_update(managed, old_obj, new_obj, entry, node, deeper)
    _cap_update_managers(managed)
    _store_managed_fields(new, managed)


def manager_from_user_agent(user_agent: str) -> str:
    """The default field manager: the user agent up to its first "/", printable characters
    only, at most 128 bytes (e.g. "kubectl/v1.32.4 (linux/amd64) kubernetes/abc" -> "kubectl")."""
    prefix = user_agent.split("/", 1)[0]
    out: list[str] = []
    size = 0
    for ch in prefix:
        if not _is_printable(ch):
            continue
        width = len(ch.encode("utf-8"))
        if size + width > FIELD_MANAGER_MAX_LENGTH:
            break
        out.append(ch)
        size += width
    return "".join(out)


def _is_printable(ch: str) -> bool:
    """Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"
