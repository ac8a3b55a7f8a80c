"""Small helpers shared by the per-kind rules: field paths, defaulting, common checks.

Objects are plain JSON dicts. Upstream's Go types distinguish a nil pointer from a zero value;
on the wire both mostly mean "absent", so the helpers here treat a missing key, `null` and
(for value fields) the zero value alike, as upstream's defaulting functions do.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from tinykube.machinery.errors import FieldErrors

Obj = dict[str, Any]

IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"


# ----------------------------------------------------------------------------- paths


def child(path: str, *names: str) -> str:
    """`spec` + `template`, `spec` -> `spec.template.spec` (field.Path.Child)."""
    parts = [path] if path else []
    parts.extend(names)
    return ".".join(parts)


def index(path: str, i: int) -> str:
    """`spec.containers[0]` (field.Path.Index)."""
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    """`spec.resources.limits[cpu]` (field.Path.Key: no quotes)."""
    return f"{path}[{k}]"


# ----------------------------------------------------------------------------- lookups


def sub(obj: Obj | None, *names: str) -> Any:
    """The value at a chain of keys, or None when any link is missing or null."""
    cur: Any = obj
    for name in names:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(name)
    return cur


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> Iterator[tuple[int, Obj]]:
    """(index, item) for each dict item of a list, skipping anything else."""
    for i, item in enumerate(as_list(value)):
        if isinstance(item, dict):
            yield i, item


def ensure_dict(obj: Obj, name: str) -> Obj:
    """obj[name] as a dict, created empty when missing or null."""
    value = obj.get(name)
    if not isinstance(value, dict):
        value = {}
        obj[name] = value
    return value


def is_create(obj: Obj) -> bool:
    """True while an object is being created: the registry sets resourceVersion only on updates.

    Upstream runs some defaulting only in a strategy's PrepareForCreate (a Job's generated
    selector, a Namespace's `kubernetes` finalizer); apply_defaults sees both writes.
    """
    return not as_dict(obj.get("metadata")).get("resourceVersion")


# ----------------------------------------------------------------------------- defaulting


def default(obj: Obj, name: str, value: Any) -> None:
    """Pointer-field defaulting: set when the key is missing or null."""
    if obj.get(name) is None:
        obj[name] = value() if callable(value) else value


def default_zero(obj: Obj, name: str, value: Any) -> None:
    """Value-field defaulting: set when missing, null, "" or 0 (Go's zero value)."""
    current = obj.get(name)
    if current is None or current == "" or (current == 0 and not isinstance(current, bool)):
        obj[name] = value


def for_each_dict(items: Any, fn: Callable[[Obj], None]) -> None:
    for _, item in dicts(items):
        fn(item)


# ----------------------------------------------------------------------------- comparison


def pruned(value: Any) -> Any:
    """A JSON value without null, "", empty lists and empty maps, at any depth."""
    if isinstance(value, dict):
        out = {k: pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def semantic_equal(a: Any, b: Any) -> bool:
    """apiequality.Semantic.DeepEqual on decoded objects: an absent field, null, "" and an
    empty list or map all decode to the same Go zero value."""
    return pruned(a) == pruned(b) or (_empty(a) and _empty(b))


# ----------------------------------------------------------------------------- type tests


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_or(value: Any, fallback: int = 0) -> int:
    """An integer field as Go sees it after decoding: absent means 0."""
    return value if is_int(value) else fallback


# ----------------------------------------------------------------------------- checks


def nonnegative(errs: FieldErrors, value: Any, path: str) -> None:
    """ValidateNonnegativeField for a value that may be absent (absent is fine)."""
    if is_int(value) and value < 0:
        errs.invalid(path, value, NEGATIVE)


def not_found(errs: FieldErrors, path: str, value: Any) -> None:
    from tinykube.machinery.gorepr import go_repr
    errs.add("FieldValueNotFound", path, f"Not found: {go_repr(value)}")


def invalid_rendered(errs: FieldErrors, path: str, rendered: str, detail: str) -> None:
    """An Invalid cause whose value is already rendered as Go would print it (%#v of a struct)."""
    text = f"Invalid value: {rendered}"
    if detail:
        text += f": {detail}"
    errs.add("FieldValueInvalid", path, text)


def unsupported_rendered(errs: FieldErrors, path: str, rendered: str, supported: list[str]) -> None:
    quoted = ", ".join(f'"{s}"' for s in supported)
    errs.add("FieldValueNotSupported", path, f"Unsupported value: {rendered}: supported values: {quoted}")


def immutable(errs: FieldErrors, new: Any, old: Any, path: str,
              render: Callable[[Any], str] | None = None) -> None:
    """ValidateImmutableField: the new value, rendered, with `field is immutable`."""
    if semantic_equal(new, old):
        return
    if render is None:
        errs.invalid(path, new, IMMUTABLE)
    else:
        invalid_rendered(errs, path, render(new), IMMUTABLE)


def supported(errs: FieldErrors, value: Any, path: str, allowed: list[str], required: bool = True) -> None:
    """The common switch: "" is Required (when required), an unknown value NotSupported."""
    if value is None or value == "":
        if required:
            errs.required(path)
        return
    if value not in allowed:
        errs.unsupported(path, value, allowed)
