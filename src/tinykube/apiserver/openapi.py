"""The OpenAPI documents kubectl downloads: `/openapi/v3` (an index plus one document per
group-version) and `/openapi/v2` (one swagger 2.0 document, served as JSON only).

kubectl reads the v3 documents for three things, and their shape follows what a real
kube-apiserver 1.33 serves:

* `apply`/`create`/`replace` look for a PATCH operation whose `x-kubernetes-group-version-kind`
  is the object's kind and whose parameters include `fieldValidation`; only then do they send
  `?fieldValidation=Strict` (cli-runtime query_param_verifier_v3.go).
* client-side `apply` computes strategic merge patches from the component schemas'
  `x-kubernetes-patch-merge-key`/`-strategy` when that PATCH operation accepts
  `application/strategic-merge-patch+json` (kubectl cmd/apply/patcher.go).
* `explain` finds the GVK on the resource's operations, then the component schema carrying the
  same GVK, and walks `properties`, `items`, `additionalProperties` and `allOf` (kubectl
  explain/v2 templates).

Schemas come from `machinery.schema.definitions()` (JSON-Schema form) and are converted here:
`$ref`s point into the document, `type` is one string, a `$ref` with siblings is wrapped in
`allOf` (v3), IntOrString and Quantity take upstream's `oneOf` shape.

Everything is pure and cached. Documents are treated as read-only: callers must not mutate them.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from tinykube.machinery.schema import KUBERNETES_VERSION, definition_name_for_kind, definitions
from tinykube.registry.resources import RESOURCE_INDEX, Resource, Subresource

Schema = dict[str, Any]

_SOURCE_REF = "#/$defs/"
V3_REF = "#/components/schemas/"
V2_REF = "#/definitions/"

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATUS = _META + "Status"
DELETE_OPTIONS = _META + "DeleteOptions"
WATCH_EVENT = _META + "WatchEvent"
API_RESOURCE_LIST = _META + "APIResourceList"
PATCH = _META + "Patch"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# Meta types every group-version document carries, whether or not an operation names them.
_ALWAYS_INCLUDED = (STATUS, DELETE_OPTIONS, WATCH_EVENT, API_RESOURCE_LIST, PATCH,
                    _META + "ObjectMeta", _META + "ListMeta")

PATCH_CONTENT_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_OBJECT_TYPES = ("application/json", "application/yaml")
_LIST_TYPES = ("application/json", "application/json;stream=watch", "application/yaml")
_ANY = ("*/*",)
_STRING = ""  # response "schema name" meaning a plain string body (logs, exec streams)

_CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
_REASONS = {"200": "OK", "201": "Created", "202": "Accepted"}


# --------------------------------------------------------------------------- schemas

def _single_type(value: Any) -> str | None:
    """JSON-Schema `type` (a string or a list with "null") as one OpenAPI type, or None."""
    if isinstance(value, str):
        return None if value == "null" else value
    types = [t for t in value if t != "null"]
    return types[0] if types else None


def _convert(schema: Schema, ref_prefix: str, wrap_refs: bool) -> Schema:
    """One JSON-Schema node as OpenAPI: refs re-pointed, single types, nested schemas converted.

    With `wrap_refs` (v3), a `$ref` that has siblings (description, x-kubernetes-*) becomes
    `allOf: [{"$ref": ...}]` next to them, as upstream's v3 documents do; v2 keeps them side by side.
    """
    out: Schema = {}
    for key, value in schema.items():
        if key == "$ref":
            continue
        if key == "type":
            single = _single_type(value)
            if single:
                out["type"] = single
        elif key == "properties":
            out[key] = {name: _convert(sub, ref_prefix, wrap_refs) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _convert(value, ref_prefix, wrap_refs)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_convert(alt, ref_prefix, wrap_refs) for alt in value]
        else:  # description, format, required, enum, x-kubernetes-*: data, copied as is
            out[key] = value
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_SOURCE_REF):
        target = {"$ref": ref_prefix + ref[len(_SOURCE_REF):]}
        if not out:
            return target
        return {"allOf": [target], **out} if wrap_refs else {**target, **out}
    return out


def _special_definition(name: str, v3: bool) -> Schema | None:
    """IntOrString and Quantity as upstream publishes them (kube-openapi's v3 one-of types)."""
    if name == INT_OR_STRING:
        base: Schema = {"description": "IntOrString holds either an int32 or a string; "
                                       "JSON carries whichever of the two it holds.",
                        "format": "int-or-string"}
        return {**base, "oneOf": [{"type": "integer"}, {"type": "string"}]} if v3 \
            else {**base, "type": "string"}
    if name == QUANTITY:
        base = {"description": "Quantity is a fixed-point number with an optional suffix, "
                               "such as 100m, 1.5, 2Gi or 1e3, serialized as a string."}
        return {**base, "oneOf": [{"type": "string"}, {"type": "number"}]} if v3 \
            else {**base, "type": "string"}
    return None


def _convert_definition(name: str, v3: bool) -> Schema:
    special = _special_definition(name, v3)
    if special is not None:
        return special
    source = definitions()[name]
    out = _convert(source, V3_REF if v3 else V2_REF, wrap_refs=v3)
    if "x-kubernetes-group-version-kind" in source:
        # kubernetes-validate pins apiVersion/kind with an enum; upstream's documents do not.
        props = out.get("properties", {})
        for key in ("apiVersion", "kind"):
            if key in props and "enum" in props[key]:
                props[key] = {k: v for k, v in props[key].items() if k != "enum"}
    return out


@functools.cache
def _v3_schema(name: str) -> Schema:
    return _convert_definition(name, v3=True)


@functools.cache
def _v2_schema(name: str) -> Schema:
    return _convert_definition(name, v3=False)


def _refs_in(node: Any) -> Iterator[str]:
    """Definition names referenced anywhere under a JSON-Schema node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_SOURCE_REF):
                yield value[len(_SOURCE_REF):]
            else:
                yield from _refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs_in(item)


@functools.cache
def _direct_refs(name: str) -> frozenset[str]:
    return frozenset(_refs_in(definitions()[name]))


def reachable_definitions(roots: Iterable[str]) -> set[str]:
    """The named definitions plus everything they reference, transitively."""
    defs = definitions()
    seen: set[str] = set()
    stack = [r for r in roots if r in defs]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(r for r in _direct_refs(name) if r not in seen and r in defs)
    return seen


# --------------------------------------------------------------------------- operations

@dataclass(frozen=True)
class Param:
    """A query or path parameter."""

    name: str
    location: str  # "query" or "path"
    type: str
    description: str


def _q(name: str, type_: str, description: str) -> Param:
    return Param(name, "query", type_, description)


_PARAMS: dict[str, Param] = {p.name: p for p in (
    _q("pretty", "string", "If 'true', the output is pretty printed."),
    _q("dryRun", "string", "When present, the request is processed but nothing is persisted. "
                           "The only valid value is All."),
    _q("fieldManager", "string", "Name of the actor or entity making the change: at most 128 "
                                 "printable characters. Required for apply patches."),
    _q("fieldValidation", "string", "How unknown or duplicate fields in the request object are "
                                    "handled: Ignore drops them silently, Warn (the default) drops "
                                    "them with a warning header each, Strict rejects the request."),
    _q("force", "boolean", "Force an apply request: take over fields other managers own. Must be "
                           "unset for patches that are not apply patches."),
    _q("gracePeriodSeconds", "integer", "Seconds before the object is deleted; zero deletes "
                                        "immediately, unset uses the default for the type."),
    _q("ignoreStoreReadErrorWithClusterBreakingPotential", "boolean",
       "Delete an object even though it cannot be read from storage. Dangerous; alpha."),
    _q("orphanDependents", "boolean", "Deprecated, use propagationPolicy: whether dependents "
                                      "are orphaned."),
    _q("propagationPolicy", "string", "How dependents are garbage collected: Orphan, Background "
                                      "or Foreground."),
    _q("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events in a watch; the server may "
                                         "send them at its discretion."),
    _q("continue", "string", "Token from a previous paginated list, to fetch the next page."),
    _q("fieldSelector", "string", "Restrict the returned objects by their fields."),
    _q("labelSelector", "string", "Restrict the returned objects by their labels."),
    _q("limit", "integer", "Maximum number of items in one list response; more pages are "
                           "signalled by metadata.continue."),
    _q("resourceVersion", "string", "Constraint on which resource version the request may be "
                                    "served from."),
    _q("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or "
                                         "NotOlderThan."),
    _q("sendInitialEvents", "boolean", "With watch=true, start the stream with synthetic events "
                                       "for the current state, ended by a bookmark."),
    _q("timeoutSeconds", "integer", "Time limit for a list or watch call."),
    _q("watch", "boolean", "Stream add, update and remove notifications instead of a list."),
    _q("container", "string", "The container to use; defaults to the only container."),
    _q("follow", "boolean", "Keep streaming the log as it grows."),
    _q("insecureSkipTLSVerifyBackend", "boolean", "Skip verifying the kubelet's serving "
                                                  "certificate when fetching logs."),
    _q("limitBytes", "integer", "Stop after this many bytes of log."),
    _q("previous", "boolean", "Return the log of the previous, terminated container instance."),
    _q("sinceSeconds", "integer", "Only return log lines newer than this many seconds."),
    _q("sinceTime", "string", "Only return log lines after this RFC 3339 time."),
    _q("stream", "string", "Which log stream to return: All, Stdout or Stderr."),
    _q("tailLines", "integer", "Number of lines from the end of the log to show."),
    _q("timestamps", "boolean", "Prefix every log line with its RFC 3339 timestamp."),
    _q("command", "string", "The command to run, one argv element per parameter; not run "
                            "through a shell."),
    _q("stdin", "boolean", "Attach the standard input of the command."),
    _q("stdout", "boolean", "Attach the standard output of the command."),
    _q("stderr", "boolean", "Attach the standard error of the command."),
    _q("tty", "boolean", "Allocate a terminal for the command."),
    _q("ports", "integer", "The ports to forward."),
)}

_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_PATCH = ("dryRun", "fieldManager", "fieldValidation", "force")
_DELETE = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
           "orphanDependents", "propagationPolicy")
_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
         "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
_DELETE_COLLECTION = tuple(sorted(set(_DELETE) | set(_LIST) - {"allowWatchBookmarks", "watch"}))
_LOG = ("container", "follow", "insecureSkipTLSVerifyBackend", "limitBytes", "pretty", "previous",
        "sinceSeconds", "sinceTime", "stream", "tailLines", "timestamps")
_CONNECT = {"exec": ("command", "container", "stderr", "stdin", "stdout", "tty"),
            "attach": ("container", "stderr", "stdin", "stdout", "tty"),
            "portforward": ("ports",),
            "proxy": ()}


def _params(*names: str) -> tuple[Param, ...]:
    return tuple(sorted((_PARAMS[n] for n in names), key=lambda p: p.name))


@dataclass(frozen=True)
class Operation:
    """One HTTP method on one path, independent of the OpenAPI version it is rendered in."""

    method: str
    operation_id: str
    description: str
    action: str | None = None            # x-kubernetes-action
    gvk: tuple[str, str, str] | None = None  # (group, version, kind)
    params: tuple[Param, ...] = ()
    body: str | None = None              # definition name of the request body
    body_types: tuple[str, ...] = _ANY
    body_required: bool = True
    responses: tuple[tuple[str, str], ...] = ()  # (status code, definition name or _STRING)
    response_types: tuple[str, ...] = _OBJECT_TYPES


@dataclass(frozen=True)
class PathItem:
    path: str
    params: tuple[Param, ...]
    operations: tuple[Operation, ...]


def gv_path(group: str, version: str) -> str:
    """`api/v1` or `apis/apps/v1`: the key of a group-version in the v3 index."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _gv_words(group: str, version: str) -> tuple[str, str]:
    """(operationId infix, tag) as upstream spells them: ("AppsV1", "apps_v1")."""
    name = group.split(".")[0] if group else "core"
    return name[:1].upper() + name[1:] + version[:1].upper() + version[1:], f"{name}_{version}"


def _kind_gvk(res: Resource) -> tuple[str, str, str]:
    return (res.group, res.version, res.kind)


def _definition(group: str, version: str, kind: str) -> str | None:
    return definition_name_for_kind(group, version, kind)


def _path_params(namespaced: bool, named: bool, extra: Iterable[str] = ("pretty",),
                 kind: str = "") -> tuple[Param, ...]:
    params = [_PARAMS[n] for n in extra]
    if named:
        params.append(Param("name", "path", "string", f"name of the {kind}"))
    if namespaced:
        params.append(Param("namespace", "path", "string",
                            "object name and auth scope, such as for teams and projects"))
    return tuple(sorted(params, key=lambda p: p.name))


def _resource_paths(res: Resource, prefix: str, gv_id: str) -> list[PathItem]:
    """Collection, item and subresource paths of one resource."""
    kind, gvk = res.kind, _kind_gvk(res)
    obj = _definition(res.group, res.version, kind)
    lst = _definition(res.group, res.version, res.list_kind)
    if obj is None:
        return []
    ns = "Namespaced" if res.namespaced else ""
    base = f"{prefix}/namespaces/{{namespace}}/{res.plural}" if res.namespaced \
        else f"{prefix}/{res.plural}"
    verbs = set(res.verbs)
    items: list[PathItem] = []

    if res.namespaced and "list" in verbs and lst:
        items.append(PathItem(f"{prefix}/{res.plural}", _path_params(False, False), (
            Operation("get", f"list{gv_id}{kind}ForAllNamespaces",
                      f"list or watch objects of kind {kind}", "list", gvk, _params(*_LIST),
                      responses=(("200", lst),), response_types=_LIST_TYPES),)))

    collection: list[Operation] = []
    if "deletecollection" in verbs:
        collection.append(Operation(
            "delete", f"delete{gv_id}Collection{ns}{kind}", f"delete collection of {kind}",
            "deletecollection", gvk, _params(*_DELETE_COLLECTION), body=DELETE_OPTIONS,
            body_required=False, responses=(("200", STATUS),)))
    if "list" in verbs and lst:
        collection.append(Operation(
            "get", f"list{gv_id}{ns}{kind}", f"list or watch objects of kind {kind}", "list", gvk,
            _params(*_LIST), responses=(("200", lst),), response_types=_LIST_TYPES))
    if "create" in verbs:
        collection.append(Operation(
            "post", f"create{gv_id}{ns}{kind}", f"create a {kind}", "post", gvk, _params(*_WRITE),
            body=obj, responses=(("200", obj), ("201", obj), ("202", obj))))
    if collection:
        items.append(PathItem(base, _path_params(res.namespaced, False), tuple(collection)))

    item: list[Operation] = []
    if "delete" in verbs:
        item.append(Operation(
            "delete", f"delete{gv_id}{ns}{kind}", f"delete a {kind}", "delete", gvk,
            _params(*_DELETE), body=DELETE_OPTIONS, body_required=False,
            responses=(("200", STATUS), ("202", STATUS))))
    if "get" in verbs:
        item.append(Operation("get", f"read{gv_id}{ns}{kind}", f"read the specified {kind}",
                              "get", gvk, responses=(("200", obj),)))
    if "patch" in verbs:
        item.append(Operation(
            "patch", f"patch{gv_id}{ns}{kind}", f"partially update the specified {kind}", "patch",
            gvk, _params(*_PATCH), body=PATCH, body_types=PATCH_CONTENT_TYPES,
            responses=(("200", obj), ("201", obj))))
    if "update" in verbs:
        item.append(Operation(
            "put", f"replace{gv_id}{ns}{kind}", f"replace the specified {kind}", "put", gvk,
            _params(*_WRITE), body=obj, responses=(("200", obj), ("201", obj))))
    if item:
        items.append(PathItem(f"{base}/{{name}}", _path_params(res.namespaced, True, kind=kind),
                              tuple(item)))

    for sub in res.subresources:
        path_item = _subresource_path(res, sub, f"{base}/{{name}}/{sub.name}", gv_id, ns)
        if path_item is not None:
            items.append(path_item)
    return items


def _subresource_path(res: Resource, sub: Subresource, path: str, gv_id: str,
                      ns: str) -> PathItem | None:
    """status/scale (get, put, patch), binding/eviction (post), log (get), exec... (connect)."""
    kind = res.kind
    gvk = (sub.group, sub.version, sub.kind)
    word = sub.name[:1].upper() + sub.name[1:]
    verbs = set(sub.verbs)

    if sub.name in _CONNECT_SUBRESOURCES:
        ops = tuple(
            Operation(method, f"connect{gv_id}{method.capitalize()}{ns}{kind}{word}",
                      f"connect {method.upper()} requests to {sub.name} of {kind}", "connect", gvk,
                      responses=(("200", _STRING),), response_types=_ANY)
            for method, verb in (("get", "get"), ("post", "create")) if verb in verbs)
        extra = _CONNECT.get(sub.name, ())
        return PathItem(path, _path_params(res.namespaced, True, extra, kind=sub.kind), ops)

    if sub.name == "log":
        op = Operation("get", f"read{gv_id}{ns}{kind}Log", f"read log of the specified {kind}",
                       "get", gvk, responses=(("200", _STRING),),
                       response_types=("text/plain", "application/json", "application/yaml"))
        return PathItem(path, _path_params(res.namespaced, True, _LOG, kind=kind), (op,))

    schema = _definition(*gvk)
    if schema is None:
        return None
    what = f"{sub.name} of the specified {kind}"
    ops_list: list[Operation] = []
    if "get" in verbs:
        ops_list.append(Operation("get", f"read{gv_id}{ns}{kind}{word}", f"read {what}", "get",
                                  gvk, responses=(("200", schema),)))
    if "patch" in verbs:
        ops_list.append(Operation(
            "patch", f"patch{gv_id}{ns}{kind}{word}", f"partially update {what}", "patch", gvk,
            _params(*_PATCH), body=PATCH, body_types=PATCH_CONTENT_TYPES,
            responses=(("200", schema), ("201", schema))))
    if "create" in verbs:
        ops_list.append(Operation(
            "post", f"create{gv_id}{ns}{kind}{word}", f"create {sub.name} of a {kind}", "post",
            gvk, _params(*_WRITE), body=schema,
            responses=(("200", schema), ("201", schema), ("202", schema))))
    if "update" in verbs:
        ops_list.append(Operation(
            "put", f"replace{gv_id}{ns}{kind}{word}", f"replace {what}", "put", gvk,
            _params(*_WRITE), body=schema, responses=(("200", schema), ("201", schema))))
    return PathItem(path, _path_params(res.namespaced, True, kind=sub.kind), tuple(ops_list))


@functools.cache
def _group_version_paths(group: str, version: str) -> tuple[PathItem, ...]:
    resources = [r for r in RESOURCE_INDEX.in_group_version(group, version) if _documented(r)]
    if not resources:
        return ()
    prefix = "/" + gv_path(group, version)
    gv_id, _tag = _gv_words(group, version)
    items = [PathItem(prefix + "/", (), (Operation(
        "get", f"get{gv_id}APIResources", "get available resources",
        responses=(("200", API_RESOURCE_LIST),), response_types=_OBJECT_TYPES),))]
    for res in resources:
        items.extend(_resource_paths(res, prefix, gv_id))
    return tuple(items)


def _operation_definitions(items: Iterable[PathItem]) -> set[str]:
    names: set[str] = set()
    for item in items:
        for op in item.operations:
            if op.body:
                names.add(op.body)
            names.update(schema for _code, schema in op.responses if schema)
    return names


# --------------------------------------------------------------------------- rendering

def _gvk_extension(gvk: tuple[str, str, str]) -> dict[str, str]:
    return {"group": gvk[0], "kind": gvk[2], "version": gvk[1]}


def _v3_param(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"description": p.description, "in": p.location, "name": p.name}
    if p.location == "path":
        out["required"] = True
    out["schema"] = {"type": p.type, "uniqueItems": True}
    return out


def _v3_schema_ref(name: str) -> Schema:
    return {"type": "string"} if name == _STRING else {"$ref": V3_REF + name}


def _v3_operation(op: Operation, tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {"description": op.description, "operationId": op.operation_id}
    if op.params:
        out["parameters"] = [_v3_param(p) for p in op.params]
    if op.body:
        body: dict[str, Any] = {"content": {ct: {"schema": _v3_schema_ref(op.body)}
                                            for ct in op.body_types}}
        if op.body_required:
            body["required"] = True
        out["requestBody"] = body
    out["responses"] = {
        code: {"content": {ct: {"schema": _v3_schema_ref(schema)} for ct in op.response_types},
               "description": _REASONS[code]}
        for code, schema in op.responses}
    out["tags"] = [tag]
    if op.action:
        out["x-kubernetes-action"] = op.action
    if op.gvk:
        out["x-kubernetes-group-version-kind"] = _gvk_extension(op.gvk)
    return out


def _v3_paths(items: Iterable[PathItem], tag: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for item in items:
        entry: dict[str, Any] = {op.method: _v3_operation(op, tag) for op in item.operations}
        if item.params:
            entry["parameters"] = [_v3_param(p) for p in item.params]
        paths[item.path] = entry
    return paths


def _v2_param(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"description": p.description, "in": p.location, "name": p.name}
    if p.location == "path":
        out["required"] = True
    out["type"] = p.type
    out["uniqueItems"] = True
    return out


def _v2_schema_ref(name: str) -> Schema:
    return {"type": "string"} if name == _STRING else {"$ref": V2_REF + name}


def _v2_operation(op: Operation, tag: str) -> dict[str, Any]:
    params = [_v2_param(p) for p in op.params]
    if op.body:
        params.insert(0, {"in": "body", "name": "body", "required": op.body_required,
                          "schema": _v2_schema_ref(op.body)})
    out: dict[str, Any] = {
        "consumes": list(op.body_types),
        "description": op.description,
        "operationId": op.operation_id,
        "produces": list(op.response_types),
        "responses": {code: {"description": _REASONS[code], "schema": _v2_schema_ref(schema)}
                      for code, schema in op.responses},
        "schemes": ["https"],
        "tags": [tag],
    }
    if params:
        out["parameters"] = params
    if op.action:
        out["x-kubernetes-action"] = op.action
    if op.gvk:
        out["x-kubernetes-group-version-kind"] = _gvk_extension(op.gvk)
    return out


# --------------------------------------------------------------------------- documents

@dataclass(frozen=True)
class Rendered:
    """A built document, its JSON bytes and the hash clients cache it by."""

    document: dict[str, Any]
    json: bytes
    hash: str


def _render(document: dict[str, Any]) -> Rendered:
    raw = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return Rendered(document, raw, hashlib.sha512(raw).hexdigest().upper())


def served_group_versions() -> list[tuple[str, str]]:
    """Every served (group, version), in discovery order."""
    return [(g, v) for g, versions in RESOURCE_INDEX.group_versions() for v in versions
            if any(_documented(r) for r in RESOURCE_INDEX.in_group_version(g, v))]


def _documented(res: Resource) -> bool:
    """Stored kinds, and the create-only review APIs (metrics are not in upstream's documents)."""
    return res.stored or res.verbs == ("create",)


@functools.cache
def _v3_rendered(group: str, version: str) -> Rendered | None:
    items = _group_version_paths(group, version)
    if not items:
        return None
    _gv_id, tag = _gv_words(group, version)
    names = reachable_definitions([*_ALWAYS_INCLUDED, *_operation_definitions(items)])
    document = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": _v3_paths(items, tag),
        "components": {"schemas": {name: _v3_schema(name) for name in sorted(names)}},
    }
    return _render(document)


def openapi_v3_document(group: str, version: str) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of one served group-version (None if not served). Read-only."""
    rendered = _v3_rendered(group, version)
    return rendered.document if rendered else None


def openapi_v3_json(group: str, version: str) -> bytes | None:
    """`openapi_v3_document` serialized (keys sorted), ready to send."""
    rendered = _v3_rendered(group, version)
    return rendered.json if rendered else None


def openapi_v3_hash(group: str, version: str) -> str | None:
    """The SHA-512 (upper-case hex) of `openapi_v3_json`, as in the index's `?hash=`."""
    rendered = _v3_rendered(group, version)
    return rendered.hash if rendered else None


def parse_v3_path(path: str) -> tuple[str, str] | None:
    """`api/v1` -> ("", "v1"), `apis/apps/v1` -> ("apps", "v1"); None for anything else."""
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "api":
        return "", parts[1]
    if len(parts) == 3 and parts[0] == "apis":
        return parts[1], parts[2]
    return None


@functools.cache
def _v3_index(base_url_hash: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for group, version in served_group_versions():
        key = gv_path(group, version)
        url = f"/openapi/v3/{key}"
        if base_url_hash:
            url += f"?hash={openapi_v3_hash(group, version)}"
        paths[key] = {"serverRelativeURL": url}
    return {"paths": paths}


def openapi_v3_index(base_url_hash: bool = True) -> dict[str, Any]:
    """`GET /openapi/v3`: every served group-version with the URL of its document.

    With `base_url_hash` the URL carries `?hash=<sha512 of the document>`, so the hash changes
    whenever the document does and clients may cache by URL.
    """
    return _v3_index(base_url_hash)


@functools.cache
def _v2_rendered() -> Rendered:
    paths: dict[str, Any] = {}
    roots: set[str] = set(_ALWAYS_INCLUDED)
    for group, version in served_group_versions():
        items = _group_version_paths(group, version)
        _gv_id, tag = _gv_words(group, version)
        roots |= _operation_definitions(items)
        for item in items:
            entry: dict[str, Any] = {op.method: _v2_operation(op, tag) for op in item.operations}
            if item.params:
                entry["parameters"] = [_v2_param(p) for p in item.params]
            paths[item.path] = entry
    names = reachable_definitions(roots)
    document = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": {name: _v2_schema(name) for name in sorted(names)},
    }
    return _render(document)


def openapi_v2_document() -> dict[str, Any]:
    """`GET /openapi/v2` as swagger 2.0 JSON, all group-versions in one document. Read-only."""
    return _v2_rendered().document


def openapi_v2_json() -> bytes:
    """`openapi_v2_document` serialized (keys sorted), ready to send."""
    return _v2_rendered().json


def build_all() -> None:
    """Build and cache every document now (e.g. at server start) instead of on first request."""
    openapi_v3_index()
    openapi_v2_document()


def clear_caches() -> None:
    """Forget every built document (tests; a changed resource table)."""
    for cached in (_v3_rendered, _v3_index, _v2_rendered, _group_version_paths,
                   _v3_schema, _v2_schema, _direct_refs):
        cached.cache_clear()
