"""REST handlers for resources: the verbs of every kind, its status and scale subresources.

The HTTP shape lives here (paths, query parameters, content types, watch streaming);
the object rules live in `registry.objects`.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tinykube.apiserver import negotiation, tables
from tinykube.apiserver.negotiation import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH
from tinykube.clock import Clock
from tinykube.machinery import errors
from tinykube.machinery.errors import StatusError
from tinykube.machinery.schema import SchemaNode
from tinykube.machinery.typecheck import first_type_error
from tinykube.registry.patching import apply_patch
from tinykube.registry.pods import bind_pod, evict_pod
from tinykube.registry.objects import (WATCH_IDLE, WATCH_INITIAL_END, DeleteOptions, ListOptions, ObjectRegistry,
                                      WriteOptions)
from tinykube.registry.resources import RESOURCE_INDEX, Resource

BOOKMARK_INTERVAL = 60.0  # seconds of wall time between watch bookmarks
WATCH_TICK = 0.25  # seconds: how late a quiet watch may notice its timeout or bookmark time


@dataclass
class Target:
    """What a resource URL names."""

    res: Resource
    namespace: str = ""
    name: str = ""
    subresource: str = ""


def parse_target(group: str, version: str, parts: list[str]) -> Target:
    """Resolve `[namespaces/{ns}/]{resource}[/{name}[/{subresource}]]` against served resources."""
    namespace = ""
    if len(parts) >= 3 and parts[0] == "namespaces" and not (
            group == "" and len(parts) == 3 and parts[2] in ("status", "finalize")):
        namespace, parts = parts[1], parts[2:]
    if not parts or len(parts) > 3:
        raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
    res = RESOURCE_INDEX.lookup(group, version, parts[0])
    if res is None:
        raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
    if namespace and not res.namespaced:
        raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    if sub and res.subresource(sub) is None:
        raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
    return Target(res, namespace, name, sub)


def _bool(params: Any, key: str) -> bool:
    return str(params.get(key, "")).lower() in ("true", "1")


def _int(params: Any, key: str, default: int = 0) -> int:
    raw = params.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f'{key}: Invalid value: "{raw}": must be an integer') from None


def list_options(params: Any) -> ListOptions:
    limit = _int(params, "limit")
    if limit < 0:
        raise errors.bad_request("limit: Invalid value: must be greater than or equal to 0")
    return ListOptions(
        label_selector=params.get("labelSelector", ""),
        field_selector=params.get("fieldSelector", ""),
        limit=limit,
        continue_token=params.get("continue", ""),
        resource_version=params.get("resourceVersion", ""),
        resource_version_match=params.get("resourceVersionMatch", ""),
    )


def write_options(params: Any, user_agent: str, default_manager: str) -> WriteOptions:
    dry_run = params.getlist("dryRun") if hasattr(params, "getlist") else [params.get("dryRun", "")]
    for value in dry_run:
        if value and value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    validation = params.get("fieldValidation", "") or "Warn"
    if validation not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(f'fieldValidation: Unsupported value: "{validation}": supported values: '
                                 f'"Ignore", "Strict", "Warn"')
    manager = params.get("fieldManager", "")
    if len(manager) > 128:
        raise errors.bad_request("fieldManager: Too long: must have at most 128 bytes")
    if not manager:
        manager = user_agent.split("/")[0] if user_agent else default_manager
    return WriteOptions(dry_run=any(v == "All" for v in dry_run), field_manager=manager,
                        field_validation=validation)


class ResourceHandlers:
    """HTTP verbs over `ObjectRegistry` for every served resource."""

    def __init__(self, registry: ObjectRegistry, clock: Clock) -> None:
        self.registry = registry
        self.clock = clock
        self.pod_logs: Any = None  # kubelet.podlogs.PodLogs, set once the node agent exists
        self.streams: Any = None  # apiserver.streams.PodStreams (exec, port-forward), likewise

    # ------------------------------------------------------------------ responses

    def respond(self, request: Request, body: Any, status: int = 200, warnings: list[str] | None = None) -> Response:
        accept = request.headers.get("accept", "")
        headers = {}
        if warnings:
            headers["Warning"] = ", ".join(f'299 - "{w}"' for w in warnings)
        if negotiation.wants_yaml(accept):
            return Response(negotiation.dump_yaml(body), status, media_type="application/yaml", headers=headers)
        return Response(negotiation.dump_json(body), status, media_type="application/json", headers=headers)

    def respond_object_or_table(self, request: Request, target: Target, obj: dict[str, Any],
                                status: int = 200, warnings: list[str] | None = None) -> Response:
        accept = request.headers.get("accept", "")
        if negotiation.wants_table(accept) and not target.subresource:
            include = negotiation.table_include_object(request.query_params)
            body = tables.table(target.res, [obj], self.clock.now(), include,
                                {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
            return self.respond(request, body, status)
        return self.respond(request, obj, status, warnings)

    # ------------------------------------------------------------------ dispatch

    async def handle(self, request: Request, target: Target) -> Response:
        method = request.method
        params = request.query_params
        sub = target.subresource
        if sub == "log" and target.res.plural == "pods":
            if method != "GET":
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.pod_log(request, target)
        if sub in ("exec", "attach", "portforward") and target.res.plural == "pods" and self.streams is not None:
            if method not in ("GET", "POST"):
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.streams.http(request, target.namespace, target.name, sub)
        if sub in ("log", "exec", "portforward", "attach", "proxy"):
            raise errors.bad_request(f"{sub} is served by the node agent, which this server does not run yet")
        if sub == "scale":
            return await self.scale(request, target)
        if sub == "binding":
            if method != "POST":
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.bind(request, target)
        if sub == "eviction":
            if method != "POST":
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.evict(request, target)
        if method == "GET":
            if not target.name:
                if _bool(params, "watch"):
                    return await self.watch(request, target)
                return await self.list(request, target)
            if _bool(params, "watch"):
                return await self.watch(request, target)
            obj = await self.registry.get(target.res, target.namespace, target.name,
                                          params.get("resourceVersion", ""))
            return self.respond_object_or_table(request, target, obj)
        if method == "POST":
            if target.name:
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.create(request, target)
        if method == "PUT":
            if not target.name:
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.update(request, target)
        if method == "PATCH":
            if not target.name:
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return await self.patch(request, target)
        if method == "DELETE":
            if not target.name:
                return await self.delete_collection(request, target)
            return await self.delete(request, target)
        raise errors.method_not_allowed("the server does not allow this method on the requested resource")

    # ------------------------------------------------------------------ pod logs

    async def pod_log(self, request: Request, target: Target) -> Response:
        from tinykube.kubelet.podlogs import parse_request

        pod = await self.registry.get(target.res, target.namespace, target.name)
        if self.pod_logs is None:
            raise errors.bad_request("pod logs are served by the node agent, which this server does not run")
        log_request = parse_request(request.query_params, self.clock.time())
        path, _ = self.pod_logs.path_for(pod, log_request)
        return StreamingResponse(self.pod_logs.stream(path, log_request), media_type="text/plain")

    # ------------------------------------------------------------------ reads

    async def list(self, request: Request, target: Target) -> Response:
        opts = list_options(request.query_params)
        result = await self.registry.list(target.res, target.namespace, opts)
        accept = request.headers.get("accept", "")
        if negotiation.wants_table(accept):
            include = negotiation.table_include_object(request.query_params)
            body = tables.table(target.res, result["items"], self.clock.now(), include, result["metadata"])
            return self.respond(request, body)
        return self.respond(request, result)

    async def watch(self, request: Request, target: Target) -> Response:
        params = request.query_params
        opts = list_options(params)
        name = target.name
        if not name and opts.field_selector.startswith("metadata.name=") and "," not in opts.field_selector:
            name = opts.field_selector.split("=", 1)[1]
        timeout = _int(params, "timeoutSeconds", 0)
        if timeout <= 0:
            timeout = random.randint(1800, 3600)
        bookmarks = _bool(params, "allowWatchBookmarks")
        send_initial = None
        if "sendInitialEvents" in params:
            send_initial = _bool(params, "sendInitialEvents")
        accept = request.headers.get("accept", "")
        as_table = negotiation.wants_table(accept)
        include = negotiation.table_include_object(params) if as_table else "Metadata"
        try:
            events = await self.registry.watch(target.res, target.namespace, opts, name, send_initial,
                                               idle=min(WATCH_TICK, timeout), mark_initial_end=bool(send_initial))
        except StatusError as exc:
            if exc.code == 410:
                return self._watch_error_response(exc)
            raise
        stream = self._watch_stream(target, events, timeout, bookmarks, as_table, include)
        return StreamingResponse(stream, media_type="application/json",
                                 headers={"Cache-Control": "no-cache, private"})

    def _watch_error_response(self, exc: StatusError) -> Response:
        body = negotiation.dump_json({"type": "ERROR", "object": exc.status()}) + b"\n"
        return Response(body, 200, media_type="application/json")

    async def _watch_stream(self, target: Target, events: Any, timeout: float, bookmarks: bool,
                            as_table: bool, include: str) -> AsyncIterator[bytes]:
        """The watch's lines. The registry's stream says when it has been idle for WATCH_TICK, so
        the deadline and bookmarks are kept here without a task per event: each event goes from
        the commit to the socket in one pass of the event loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        columns_sent = False
        next_bookmark = loop.time() + BOOKMARK_INTERVAL
        try:
            async for kind, obj in events:
                if kind == WATCH_INITIAL_END:
                    yield self._bookmark(initial_end=True)
                elif kind != WATCH_IDLE:
                    if as_table:
                        body = tables.table(target.res, [obj], self.clock.now(), include,
                                            {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                                            with_columns=not columns_sent)
                        columns_sent = True
                    else:
                        body = obj
                    yield negotiation.dump_json({"type": kind, "object": body}) + b"\n"
                now = loop.time()
                if now >= deadline:
                    return
                if bookmarks and now >= next_bookmark:
                    next_bookmark = now + BOOKMARK_INTERVAL
                    yield self._bookmark()
        except StatusError as exc:
            yield negotiation.dump_json({"type": "ERROR", "object": exc.status()}) + b"\n"
        finally:
            await events.aclose()

    def _bookmark(self, initial_end: bool = False) -> bytes:
        meta: dict[str, Any] = {"resourceVersion": str(self.registry.store.revision)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return negotiation.dump_json({"type": "BOOKMARK", "object": {"metadata": meta}}) + b"\n"

    # ------------------------------------------------------------------ writes

    async def _body(self, request: Request) -> tuple[bytes, str]:
        raw = await request.body()
        if len(raw) > negotiation.MAX_BODY_BYTES:
            raise errors.too_large()
        return raw, request.headers.get("content-type", "")

    def _check_fields(self, target: Target, obj: dict[str, Any], opts: WriteOptions,
                      from_yaml: bool = False) -> list[str]:
        """fieldValidation: Strict refuses unknown fields, Warn reports them, Ignore drops them."""
        from tinykube.machinery.unknown_fields import find_unknown_fields, strict_decoding_message

        res = target.res
        node = SchemaNode.for_kind(res.group, res.version, res.kind)
        if node is None:
            return []
        mistyped = first_type_error(obj, node)
        if mistyped:
            raise errors.bad_request(f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                                     f'{mistyped}')
        unknown = find_unknown_fields(obj, node, sort_keys=from_yaml)  # upstream sorts YAML keys
        if not unknown:
            return []
        if opts.field_validation == "Strict":
            raise errors.bad_request(strict_decoding_message(res.kind, res.version, unknown))
        from tinykube.machinery.unknown_fields import prune_unknown_fields
        prune_unknown_fields(obj, node)
        if opts.field_validation == "Warn":
            return [f'unknown field "{path}"' for path in unknown]
        return []

    def _check_kind(self, target: Target, obj: dict[str, Any]) -> None:
        """A body must be of the kind and version the URL names (Scale for /scale)."""
        res = target.res
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if target.subresource == "scale":
            expected_kind, expected_version = "Scale", "autoscaling/v1"
        else:
            expected_kind, expected_version = res.kind, res.api_version
        if api_version and api_version != expected_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({expected_version})")
        if kind and kind != expected_kind:
            raise errors.bad_request(f"Object 'Kind' is {kind}, expected {expected_kind}")

    async def create(self, request: Request, target: Target) -> Response:
        raw, content_type = await self._body(request)
        obj = negotiation.decode_object(raw, content_type)
        self._check_kind(target, obj)
        opts = write_options(request.query_params, request.headers.get("user-agent", ""), "unknown")
        warnings = self._check_fields(target, obj, opts, "yaml" in content_type)
        created = await self.registry.create(target.res, target.namespace, obj, opts, body_is_private=True)
        return self.respond_object_or_table(request, target, created, 201, warnings)

    async def update(self, request: Request, target: Target) -> Response:
        raw, content_type = await self._body(request)
        obj = negotiation.decode_object(raw, content_type)
        self._check_kind(target, obj)
        opts = write_options(request.query_params, request.headers.get("user-agent", ""), "unknown")
        warnings = self._check_fields(target, obj, opts, "yaml" in content_type)
        if target.subresource not in ("", "status", "finalize"):
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        updated = await self.registry.update(target.res, target.namespace, target.name, obj, opts,
                                             target.subresource)
        return self.respond_object_or_table(request, target, updated, 200, warnings)

    async def patch(self, request: Request, target: Target) -> Response:
        raw, content_type = await self._body(request)
        kind = negotiation.media_type(content_type)
        if kind not in negotiation.PATCH_TYPES:
            raise errors.StatusError(415, "UnsupportedMediaType",
                                     f"the body of the request was in an unknown format - accepted media "
                                     f"types include: {', '.join(negotiation.PATCH_TYPES)}")
        patch_body = negotiation.decode_body(raw, content_type)
        opts = write_options(request.query_params, request.headers.get("user-agent", ""), "unknown")
        res = target.res
        if kind == APPLY_PATCH:
            return await self.apply(request, target, patch_body, opts)
        warnings: list[str] = []

        def mutate(current: dict[str, Any]) -> dict[str, Any]:
            patched = apply_patch(res, current, kind, patch_body)
            warnings.extend(self._check_fields(target, patched, opts))
            return patched

        updated = await self.registry.guaranteed_update(res, target.namespace, target.name, mutate, opts,
                                                        target.subresource)
        return self.respond_object_or_table(request, target, updated, 200, warnings)

    async def apply(self, request: Request, target: Target, applied: Any, opts: WriteOptions) -> Response:
        from tinykube.machinery.apply import server_side_apply

        if not isinstance(applied, dict):
            raise errors.bad_request("apply patch must be an object")
        params = request.query_params
        if not params.get("fieldManager"):
            raise errors.invalid(target.res.group, "PatchOptions", "", [
                errors.Cause("FieldValueRequired", "Required value: is required for apply patch", "fieldManager")])
        res = target.res
        self._check_kind(target, applied)
        warnings = self._check_fields(target, applied, opts, from_yaml=True)
        force = _bool(params, "force")
        node = SchemaNode.for_kind(res.group, res.version, res.kind)
        now = self.clock.rfc3339()

        def merge(current: dict[str, Any] | None) -> dict[str, Any]:
            # conflicts come back as 409 Conflict Status errors with FieldManagerConflict causes
            return server_side_apply(current, applied, manager=opts.field_manager, force=force, node=node,
                                     api_version=res.api_version, now=now, subresource=target.subresource)

        meta = applied.get("metadata") or {}
        if meta.get("name") and meta["name"] != target.name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the "
                                     f"URL ({target.name})")
        try:
            updated = await self.registry.guaranteed_update(res, target.namespace, target.name, merge, opts,
                                                            target.subresource, operation="")
            return self.respond_object_or_table(request, target, updated, 200, warnings)
        except StatusError as exc:
            if exc.code != 404 or target.subresource:
                raise
        obj = merge(None)
        obj.setdefault("metadata", {})["name"] = target.name
        created = await self.registry.create(res, target.namespace, obj,
                                             WriteOptions(opts.dry_run, "", opts.field_validation),
                                             track_fields=False)
        return self.respond_object_or_table(request, target, created, 201, warnings)

    async def delete(self, request: Request, target: Target) -> Response:
        opts = await self._delete_options(request)
        obj, _gone = await self.registry.delete(target.res, target.namespace, target.name, opts)
        return self.respond(request, obj, 200)

    async def delete_collection(self, request: Request, target: Target) -> Response:
        opts = await self._delete_options(request)
        result = await self.registry.delete_collection(target.res, target.namespace,
                                                       list_options(request.query_params), opts)
        return self.respond(request, result, 200)

    async def _delete_options(self, request: Request) -> DeleteOptions:
        params = request.query_params
        raw = await request.body()
        body: dict[str, Any] = {}
        if raw.strip():
            decoded = negotiation.decode_body(raw, request.headers.get("content-type", ""))
            if not isinstance(decoded, dict):
                raise errors.bad_request("DeleteOptions must be an object")
            body = decoded
            _check_delete_options(body)
        grace = body.get("gracePeriodSeconds", params.get("gracePeriodSeconds"))
        policy = body.get("propagationPolicy") or params.get("propagationPolicy", "")
        if not policy and (body.get("orphanDependents") is True or _bool(params, "orphanDependents")):
            policy = "Orphan"
        pre = body.get("preconditions") or {}
        dry = body.get("dryRun") or params.getlist("dryRun")
        try:
            grace_value = int(grace) if grace not in (None, "") else None
        except (TypeError, ValueError):
            raise errors.bad_request("gracePeriodSeconds must be an integer") from None
        return DeleteOptions(grace_value, policy, pre.get("uid") or "", pre.get("resourceVersion") or "",
                             dry_run="All" in (dry or []))

    # ------------------------------------------------------------------ scale

    async def scale(self, request: Request, target: Target) -> Response:
        from tinykube.machinery import patches
        from tinykube.machinery.selectors import format_label_selector, label_selector_from_map

        res = target.res

        def to_scale(obj: dict[str, Any]) -> dict[str, Any]:
            meta = obj["metadata"]
            spec = obj.get("spec") or {}
            selector = spec.get("selector")
            if res.kind == "ReplicationController":
                selector_text = str(label_selector_from_map(selector or {}))
            else:
                selector_text = format_label_selector(selector) if selector else ""
                if selector_text == "<none>":
                    selector_text = ""
            status = obj.get("status") or {}
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                      "creationTimestamp") if k in meta},
                    "spec": {"replicas": spec.get("replicas", 0)},
                    "status": {"replicas": status.get("replicas", 0), "selector": selector_text}}

        if request.method == "GET":
            obj = await self.registry.get(res, target.namespace, target.name)
            return self.respond(request, to_scale(obj))
        if request.method not in ("PUT", "PATCH"):
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        raw, content_type = await self._body(request)
        body = negotiation.decode_body(raw, content_type)
        opts = write_options(request.query_params, request.headers.get("user-agent", ""), "unknown")
        kind = negotiation.media_type(content_type)
        expected = 0

        def mutate(current: dict[str, Any]) -> dict[str, Any]:
            scale = to_scale(current)
            try:
                if request.method == "PUT":
                    new_scale = body
                elif kind == JSON_PATCH:
                    new_scale = patches.apply_json_patch(scale, body)
                elif kind in (MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH):
                    new_scale = patches.apply_merge_patch(scale, body)
                else:
                    raise errors.unsupported_media_type(kind)
            except patches.PatchError as exc:
                raise errors.bad_request(str(getattr(exc, "message", exc))) from None
            if not isinstance(new_scale, dict):
                raise errors.bad_request("Scale must be an object")
            replicas = (new_scale.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise errors.invalid("autoscaling", "Scale", target.name, [errors.Cause(
                    "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0",
                    "spec.replicas")])
            wanted_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
                raise errors.conflict(res.group, res.plural, target.name, errors.OPTIMISTIC_LOCK_MESSAGE)
            current.setdefault("spec", {})["replicas"] = replicas
            current["metadata"].pop("resourceVersion", None)
            return current

        updated = await self.registry.guaranteed_update(res, target.namespace, target.name, mutate, opts,
                                                        "scale", expected_revision=expected)
        return self.respond(request, to_scale(updated))

    # ------------------------------------------------------------------ binding

    async def bind(self, request: Request, target: Target) -> Response:
        raw, content_type = await self._body(request)
        status = await bind_pod(self.registry, target.namespace, target.name,
                                negotiation.decode_object(raw, content_type), self.clock.rfc3339())
        return self.respond(request, status, 201)

    async def evict(self, request: Request, target: Target) -> Response:
        raw, content_type = await self._body(request)
        status = await evict_pod(self.registry, target.namespace, target.name,
                                 negotiation.decode_object(raw, content_type))
        return self.respond(request, status, 201)



_DELETE_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "gracePeriodSeconds": (int, type(None)), "propagationPolicy": (str, type(None)),
    "orphanDependents": (bool, type(None)), "preconditions": (dict, type(None)), "dryRun": (list, type(None)),
    "kind": (str, type(None)), "apiVersion": (str, type(None)),
}
_GO_TYPE = {"gracePeriodSeconds": "int64", "propagationPolicy": "v1.DeletionPropagation",
            "orphanDependents": "bool", "preconditions": "v1.Preconditions", "dryRun": "[]string",
            "kind": "string", "apiVersion": "string"}


def _json_kind(value: Any) -> str:
    """encoding/json's name for a JSON value's type, as its unmarshal errors say it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


def _check_delete_options(body: dict[str, Any]) -> None:
    """A DeleteOptions body with wrongly typed fields is a 400, as Go's decoder refuses it."""
    def refuse(field: str, value: Any) -> None:
        raise errors.bad_request(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                                 f"DeleteOptions.{field} of type {_GO_TYPE[field]}")
    for field, types in _DELETE_OPTION_TYPES.items():
        value = body.get(field)
        if field in body and (not isinstance(value, types) or (field == "gracePeriodSeconds" and isinstance(value, bool))):
            refuse(field, value)
    for key in ("uid", "resourceVersion"):
        value = (body.get("preconditions") or {}).get(key)
        if value is not None and not isinstance(value, str):
            raise errors.bad_request(f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
                                     f"Preconditions.preconditions.{key} of type string")
    if any(not isinstance(item, str) for item in body.get("dryRun") or []):
        refuse("dryRun", body["dryRun"])
