"""The three patch formats a PATCH request can carry, as pure functions over JSON dicts.

- `apply_json_patch`: RFC 6902 (`application/json-patch+json`), via the `jsonpatch` library.
- `apply_merge_patch`: RFC 7386 (`application/merge-patch+json`); what `kubectl label` sends.
- `apply_strategic_merge_patch`: Kubernetes' strategic merge patch
  (`application/strategic-merge-patch+json`), the semantics of apimachinery's
  pkg/util/strategicpatch as applied server-side: lists are merged by their patch merge key
  where the schema says so, and the `$patch`, `$retainKeys`, `$setElementOrder/<field>` and
  `$deleteFromPrimitiveList/<field>` directives are honoured. `kubectl apply`, `set image`,
  `edit`, `rollout pause` ... send this format.

No function mutates its inputs, and results share no containers with them.

List order follows upstream, quirks included: elements the patch names take the patch's (or
`$setElementOrder`'s) order, live elements it does not name keep their place between them,
and named elements that are new to the list count as unplaced, so they come *before* the
unnamed live ones. A raw patch adding a container therefore puts it first, as a real API
server does; kubectl always sends `$setElementOrder`, which places it where the user wrote it.

Where we knowingly differ from upstream (all in directions a client cannot rely on):
- Values the patch introduces (a field absent from the live object, a `$patch: replace`
  body) are cleaned: nulls and directives inside them are dropped. Upstream copies them
  verbatim and relies on decoding into Go structs to lose them.
- `$patch: merge` on a map is accepted as a plain merge (upstream rejects it); inside a list
  it is an error, as upstream.
- `$deleteFromPrimitiveList/<f>` on an absent field is a no-op (upstream would store the
  deletion list as the field's value).
- Fields unknown to the schema (or no schema at all) follow JSON merge patch: maps merge,
  lists are replaced, directives still apply to maps. Upstream rejects such fields for
  built-in types.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import jsonpointer

from tinykube.machinery.jsoncopy import json_copy
from tinykube.machinery.schema import SchemaNode

PATCH_DIRECTIVE = "$patch"
RETAIN_KEYS_DIRECTIVE = "$retainKeys"
SET_ELEMENT_ORDER_PREFIX = "$setElementOrder"
DELETE_FROM_PRIMITIVE_LIST_PREFIX = "$deleteFromPrimitiveList"

_REPLACE = "replace"
_DELETE = "delete"
_MERGE = "merge"
_RETAIN_KEYS = "retainKeys"

# Messages as apimachinery's mergepatch package words them, so clients see familiar text.
_BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
_BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
_BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


class PatchError(Exception):
    """A malformed patch, or one that cannot be applied to the document."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- JSON patch


def apply_json_patch(document: dict, patch: list | Any) -> dict:
    """Apply an RFC 6902 operation list; the first failing operation aborts the whole patch."""
    if not isinstance(patch, list):
        raise PatchError("invalid JSON patch: the patch must be a JSON array of operations")
    result: Any = json_copy(document)
    # Copy the patch too: `add`/`replace` insert their values by reference.
    for index, operation in enumerate(json_copy(patch)):
        result = _apply_json_patch_operation(result, operation, index)
    if not isinstance(result, dict):
        raise PatchError("invalid JSON patch: the result is not a JSON object")
    return result


def _apply_json_patch_operation(document: Any, operation: Any, index: int) -> Any:
    """One operation at a time, so an error can name the operation that failed."""
    if not isinstance(operation, dict):
        raise PatchError(f"invalid JSON patch: operation {index} is not a JSON object")
    name, path = operation.get("op"), operation.get("path")
    try:
        return jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
    except jsonpatch.JsonPatchTestFailed:
        raise PatchError(f"testing value {path} failed: test failed") from None
    except jsonpatch.InvalidJsonPatch as exc:
        raise PatchError(f"invalid JSON patch: operation {index}: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException,
            KeyError, IndexError, TypeError, ValueError) as exc:
        if name == "test":
            raise PatchError(f"testing value {path} failed: test failed") from None
        raise PatchError(f'{name} operation does not apply: doc is missing path: "{path}": {exc}') from None


# --------------------------------------------------------------------------- JSON merge patch


def apply_merge_patch(document: dict, patch: Any) -> dict:
    """Apply an RFC 7386 merge patch: maps merge recursively, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        raise PatchError("Invalid JSON Patch: a merge patch must be a JSON object")
    return _merge_patch_into(json_copy(document), patch)


def _merge_patch_into(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch(target, patch); `target` is ours to modify, `patch` is only read."""
    if not isinstance(patch, dict):
        return json_copy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge_patch_into(target.get(key), value)
    return target


# --------------------------------------------------------------------------- strategic merge patch


def apply_strategic_merge_patch(document: dict, patch: dict, node: SchemaNode | None) -> dict:
    """Apply a strategic merge patch to `document`, whose schema is `node` (None: no schema)."""
    if not isinstance(patch, dict):
        raise PatchError("invalid JSON document: a strategic merge patch must be a JSON object")
    if not isinstance(document, dict):
        raise PatchError("invalid JSON document: the object to patch must be a JSON object")
    # Work on private copies: the helpers below update both in place.
    return _merge_map(json_copy(document), json_copy(patch), node)


def _merge_map(original: dict, patch: dict, node: SchemaNode | None) -> dict:
    """Merge a patch map into a live map. Both are private copies and may be consumed."""
    if PATCH_DIRECTIVE in patch:
        directive = patch.pop(PATCH_DIRECTIVE)
        if directive == _DELETE:
            return {}  # upstream empties the map rather than removing the field
        if directive == _REPLACE:
            original = {}
        elif directive != _MERGE:
            raise PatchError(f"unknown patch type: {directive} in map: {_show(patch)}")
    _apply_retain_keys(original, patch)
    _apply_element_orders(original, patch, node)
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST_PREFIX):
            field = _directive_field(key, DELETE_FROM_PRIMITIVE_LIST_PREFIX, _BAD_PRIMITIVE_LIST)
            _delete_from_primitive_list(original, field, value)
        elif value is None:
            original.pop(key, None)
        else:
            original[key] = _merge_value(original.get(key), value, _child(node, key))
    return original


def _merge_value(live: Any, value: Any, node: SchemaNode | None) -> Any:
    """The new value of one field; `live` is None when the field is absent."""
    if isinstance(value, dict):
        if isinstance(live, dict) and _strategy(node) != _REPLACE:
            return _merge_map(live, value, node)
        return _merge_map({}, value, node)  # new or replaced: still drop nulls and directives
    if isinstance(value, list) and _is_merge_list(node):
        merged, _ = _merge_list(live if isinstance(live, list) else [], value, node)
        return merged
    return value  # scalars, and lists without a merge strategy, replace


# ---- directives on maps


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """`$retainKeys: [...]`: clear every live key not listed (e.g. rollingUpdate on Recreate)."""
    if RETAIN_KEYS_DIRECTIVE not in patch:
        return
    retained = patch.pop(RETAIN_KEYS_DIRECTIVE)
    if not isinstance(retained, list) or not all(isinstance(k, str) for k in retained):
        raise PatchError(f"{_BAD_RETAIN_KEYS}: {RETAIN_KEYS_DIRECTIVE} must be a list of field names")
    allowed = set(retained)
    for key, value in patch.items():
        if value is None or key.startswith((SET_ELEMENT_ORDER_PREFIX, DELETE_FROM_PRIMITIVE_LIST_PREFIX)):
            continue
        if key not in allowed:
            raise PatchError(f'{_BAD_RETAIN_KEYS}: field "{key}" is set but not listed in {RETAIN_KEYS_DIRECTIVE}')
    for key in [k for k in original if k not in allowed]:
        del original[key]


def _apply_element_orders(original: dict, patch: dict, node: SchemaNode | None) -> None:
    """`$setElementOrder/<field>`: merge that field's list now, then order it as listed.

    Consumes the directive and the field's patch list, so the main loop does not see them.
    Live elements the directive does not name keep their place between the named ones.
    """
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER_PREFIX)]:
        order = patch.pop(key)
        field = _directive_field(key, SET_ELEMENT_ORDER_PREFIX, _BAD_SET_ELEMENT_ORDER)
        if not isinstance(order, list):
            raise PatchError(f"{_BAD_SET_ELEMENT_ORDER}: {key} must be a list")
        child = _child(node, field)
        if not _is_merge_list(child):
            continue  # order only means something for merge lists; the field merges as usual
        live = original.get(field)
        live = live if isinstance(live, list) else []
        if field not in patch:  # reorder the live list only
            if live:
                original[field] = _order_by(live, order, child.patch_merge_key, live)
            continue
        value = patch.pop(field)
        if value is None:
            original.pop(field, None)
            continue
        if not isinstance(value, list):
            raise PatchError(f"expected a list for {field}, but received a {_json_type(value)}")
        _validate_element_order(value, order, child.patch_merge_key)
        merged, reference = _merge_list(live, value, child)
        original[field] = _order_by(merged, order, child.patch_merge_key, reference)


def _validate_element_order(patch_list: list, order: list, merge_key: str | None) -> None:
    """The patch list's own order must agree with `$setElementOrder` (upstream's check)."""
    wanted = [item for item in patch_list if not (isinstance(item, dict) and PATCH_DIRECTIVE in item)]
    if merge_key:
        for entry in wanted + order:
            if isinstance(entry, dict) and merge_key not in entry:
                raise _no_merge_key(entry, merge_key)
    position = 0
    for item in wanted:
        item_id = _identity(item, merge_key)
        while position < len(order) and _identity(order[position], merge_key) != item_id:
            position += 1
        if position == len(order):
            raise PatchError(f"The order in patch list:\n{_show(patch_list)}\n doesn't match "
                             f"{SET_ELEMENT_ORDER_PREFIX} list:\n{_show(order)}")
        position += 1


def _delete_from_primitive_list(original: dict, field: str, values: Any) -> None:
    """`$deleteFromPrimitiveList/<field>: [...]`: drop every occurrence of those scalars."""
    if not isinstance(values, list):
        raise PatchError(f"{_BAD_PRIMITIVE_LIST}: {DELETE_FROM_PRIMITIVE_LIST_PREFIX}/{field} must be a list")
    live = original.get(field)
    if live is None:
        return
    if not isinstance(live, list):
        raise PatchError(f"{_BAD_PRIMITIVE_LIST}: {field} is not a list")
    doomed = {_scalar_key(v) for v in values}
    original[field] = [item for item in live if _scalar_key(item) not in doomed]


def _directive_field(key: str, prefix: str, error: str) -> str:
    """`$setElementOrder/containers` -> `containers`."""
    head, sep, field = key.partition("/")
    if head != prefix or not sep or not field:
        raise PatchError(f"{error}: {key!r} is not of the form {prefix}/<field>")
    return field


# ---- lists


def _merge_list(live: list, patch: list, node: SchemaNode) -> tuple[list, list]:
    """Merge a list whose patch strategy is "merge": by merge key for maps, as a set for scalars.

    Returns (merged, reference): `reference` is the live order that a `$setElementOrder`
    on the same list places unmentioned live elements against.
    """
    if not live and not patch:
        return live, live
    merge_key = node.patch_merge_key
    if _element_kind(live, patch) == "scalar":
        merged = _dedupe(live + patch)
        return _order_by(merged, patch, None, live), live
    if not merge_key:
        raise PatchError("cannot merge lists of maps without a patch merge key")
    survivors, elements, replace = _apply_list_directives(live, patch, merge_key)
    item_node = node.items()
    if replace:
        return [_merge_map({}, element, item_node) for element in elements], survivors
    merged, added = _merge_elements(survivors, elements, merge_key, item_node)
    # Upstream's in-place deletions leave free slots at the end of the live list, which its
    # first appended elements then occupy; later ordering sees them there.
    reference = survivors + added[:len(live) - len(survivors)]
    return _order_by(merged, elements, merge_key, survivors), reference


def _apply_list_directives(live: list, patch: list, merge_key: str) -> tuple[list, list, bool]:
    """Handle `$patch` elements: returns (live minus deletions, plain elements, replace list?)."""
    plain: list = []
    replace = False
    for element in patch:
        if PATCH_DIRECTIVE not in element:
            plain.append(element)
            continue
        directive = element[PATCH_DIRECTIVE]
        if directive == _DELETE:
            if merge_key not in element:
                raise _no_merge_key(element, merge_key)
            live = [item for item in live if not _has_key_value(item, merge_key, element[merge_key])]
        elif directive == _REPLACE:
            replace = True
        elif directive == _MERGE:
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {_show(element)}")
    return live, plain, replace


def _merge_elements(live: list, elements: list, merge_key: str,
                    item_node: SchemaNode | None) -> tuple[list, list]:
    """Merge each patch element into the live element with the same key, else append it.

    Returns (merged, the appended elements).
    """
    merged = list(live)
    added: list = []
    for element in elements:
        if merge_key not in element:
            raise _no_merge_key(element, merge_key)
        index = next((i for i, item in enumerate(merged)
                      if _has_key_value(item, merge_key, element[merge_key])), None)
        if index is None:
            added.append(_merge_map({}, element, item_node))
            merged.append(added[-1])
        else:
            merged[index] = _merge_map(merged[index], element, item_node)
    return merged, added


def _order_by(merged: list, order: list, merge_key: str | None, reference: list) -> list:
    """Order the elements named in `order` as listed; interleave the others as upstream does.

    An unnamed element goes before a named one only if it came first in `reference` (the
    live order). Named elements that are not live count as unplaced, so they precede the
    unnamed ones: a raw patch that adds a container puts it first, as on a real cluster.
    """
    if merge_key:
        for entry in order:
            if not isinstance(entry, dict) or merge_key not in entry:
                raise _no_merge_key(entry, merge_key)
    rank: dict[Any, int] = {}
    for index, entry in enumerate(order):
        rank.setdefault(_identity(entry, merge_key), index)
    named = sorted((x for x in merged if _identity(x, merge_key) in rank),
                   key=lambda x: rank[_identity(x, merge_key)])
    others = [x for x in merged if _identity(x, merge_key) not in rank]
    return _interleave(named, others, reference, merge_key)


def _interleave(named: list, others: list, reference: list, merge_key: str | None) -> list:
    """Merge the two sequences, taking from `others` first only when `reference` says so."""
    position: dict[Any, int] = {}
    for index, item in enumerate(reference):
        position.setdefault(_identity(item, merge_key), index)
    out: list = []
    i = j = 0
    while i < len(others) and j < len(named):
        left = position.get(_identity(others[i], merge_key))
        right = position.get(_identity(named[j], merge_key))
        if left is not None and right is not None and left < right:
            out.append(others[i])
            i += 1
        else:
            out.append(named[j])
            j += 1
    return out + others[i:] + named[j:]


def _element_kind(*lists: list) -> str:
    """"map" or "scalar"; lists mixing element types (or holding lists) cannot be merged."""
    kinds: set[str] = set()
    for items in lists:
        for item in items:
            if isinstance(item, list):
                raise PatchError("lists of lists are not supported")
            kinds.add(_json_type(item))
    if len(kinds) > 1:
        raise PatchError(f"list element types are not identical: {_show(list(lists))}")
    return "map" if kinds == {"object"} else "scalar"


def _dedupe(values: list) -> list:
    seen: set[Any] = set()
    out = []
    for value in values:
        key = _scalar_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


# ---- schema lookups


def _child(node: SchemaNode | None, key: str) -> SchemaNode | None:
    """Schema of field `key` (or of a free-form map's values); None when unknown."""
    if node is None:
        return None
    child = node.field(key)
    if child is None and node.is_map:
        child = node.map_values()
    return child


def _strategy(node: SchemaNode | None) -> str:
    """The patch strategy other than retainKeys ("merge", "replace" or "")."""
    if node is None:
        return ""
    parts = [p.strip() for p in node.patch_strategy.split(",") if p.strip() and p.strip() != _RETAIN_KEYS]
    return parts[0] if parts else ""


def _is_merge_list(node: SchemaNode | None) -> bool:
    return node is not None and node.is_array and _strategy(node) == _MERGE


# ---- value helpers


def _scalar_key(value: Any) -> Any:
    """A hashable identity with JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, (dict, list)):
        return ("json", json.dumps(value, sort_keys=True))
    return (type(value).__name__, value)


def _identity(item: Any, merge_key: str | None) -> Any:
    """What ordering compares: the merge key's value for maps, the value itself for scalars."""
    if merge_key and isinstance(item, dict):
        return _scalar_key(item[merge_key]) if merge_key in item else ("missing", id(item))
    return _scalar_key(item)


def _has_key_value(item: Any, merge_key: str, value: Any) -> bool:
    return isinstance(item, dict) and merge_key in item and _scalar_key(item[merge_key]) == _scalar_key(value)


def _no_merge_key(element: Any, merge_key: str) -> PatchError:
    return PatchError(f"map: {_show(element)} does not contain declared merge key: {merge_key}")


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
