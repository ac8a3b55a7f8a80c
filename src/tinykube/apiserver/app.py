"""The HTTP application: authentication, routing, discovery, OpenAPI, health, and resources."""

from __future__ import annotations

import logging
from typing import Any, Callable

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tinykube.apiserver import discovery, negotiation, watch_ws
from tinykube.apiserver.authapi import AuthAPI
from tinykube.apiserver.handlers import ResourceHandlers, parse_target
from tinykube.apiserver.metrics import serve_metrics
from tinykube.auth import impersonation
from tinykube.auth.authenticator import Authenticator
from tinykube.auth.authorizer import Authorizer
from tinykube.auth.escalation import request_user
from tinykube.auth.requestinfo import request_attributes
from tinykube.auth.tokens import TokenSigner
from tinykube.auth.user import UserInfo
from tinykube.clock import Clock
from tinykube.machinery import errors
from tinykube.machinery.errors import StatusError
from tinykube.metrics.api import ClusterMetrics
from tinykube.registry.objects import ObjectRegistry
from tinykube.ui.routes import UIRoutes

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/livez", "/readyz", "/healthz", "/version")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


def status_response(exc: StatusError) -> Response:
    return Response(negotiation.dump_json(exc.status()), exc.code, media_type="application/json")


class APIServer:
    """Wires the registry into a Starlette app."""

    def __init__(self, registry: ObjectRegistry, clock: Clock, token: str, signer: TokenSigner,
                 ready: Callable[[], bool] = lambda: True) -> None:
        self.registry = registry
        self.clock = clock
        self.token = token
        self.ready = ready
        self.handlers = ResourceHandlers(registry, clock)
        self.authenticator = Authenticator(token, signer, self._get_object)
        self.authorizer = Authorizer()  # its policy source is set once the informers exist
        self.auth_api = AuthAPI(registry, self.authenticator, self.authorizer, signer)
        self.metrics: ClusterMetrics | None = None  # set once the components' caches exist
        self.ui = UIRoutes()
        self.ca_pem = b""  # the cluster CA, served unauthenticated at /cacerts (joiners pin its hash)

    # ------------------------------------------------------------------ entry

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application. Every path comes here and is routed by `route` (a router with one
        catch-all route and its middleware cost each request ~50 us and added nothing): HTTP
        requests to `dispatch`, WebSocket upgrades to `dispatch_websocket`. An exception that
        escapes reaches uvicorn, which answers 500 if nothing was sent yet and logs it."""
        kind = scope["type"]
        if kind == "http":
            request = Request(scope, receive, send)
            if request.method not in METHODS:
                response: Response = PlainTextResponse("Method Not Allowed", 405, {"Allow": ", ".join(METHODS)})
            else:
                response = await self.dispatch(request)
            await response(scope, receive, send)
        elif kind == "websocket":
            await self.dispatch_websocket(WebSocket(scope, receive, send))

    async def dispatch(self, request: Request) -> Response:
        path = request.scope["path"]
        try:
            if path == "/cacerts" and self.ca_pem:
                return Response(self.ca_pem, media_type="text/plain")
            if path.rstrip("/") in PUBLIC_PATHS or path.startswith(("/livez/", "/readyz/", "/healthz/")):
                return self.health(path)
            if self.ui.handles(path):
                return await self.ui.handle(request, path)
            user = await self.authenticate(request)
            await self.authorizer.check(user, request_attributes(request.method, path, request.query_params))
            request.state.user = user
            request_user.set(user)  # for admission (escalation checks) of this request's writes
            return await self.route(request, path)
        except StatusError as exc:
            return status_response(exc)
        except Exception as exc:  # a bug must still answer as Kubernetes does, and be visible in the log
            log.exception("unhandled error on %s %s", request.method, path)
            return status_response(errors.internal(str(exc)))

    async def dispatch_websocket(self, ws: WebSocket) -> None:
        """WebSocket upgrades: pods' exec, attach and portforward (`streams.py`), and watches
        (`watch_ws.py`, what the web view uses: browsers cap HTTP connections per host)."""
        from tinykube.apiserver.streams import STREAM_SUBRESOURCES, deny

        path = ws.scope["path"]
        parts = [p for p in path.split("/") if p]
        stream = len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods" \
            and parts[6] in STREAM_SUBRESOURCES and self.handlers.streams is not None
        try:
            user = await self.authenticate(ws)
            # upstream (1.32) asks for `create` on pods/exec|attach|portforward for a WebSocket upgrade
            method = "POST" if stream else "GET"
            await self.authorizer.check(user, request_attributes(method, path, ws.query_params))
            request_user.set(user)
        except StatusError as exc:
            await (deny(ws, status_response(exc)) if stream else watch_ws.refuse(ws, exc))
            return
        if stream:
            await self.handlers.streams.websocket(ws, parts[3], parts[5], parts[6])
        else:
            await watch_ws.serve_watch(ws, self.handlers, path)

    async def authenticate(self, request: Request | WebSocket) -> UserInfo:
        """The request's user: who the credentials prove, or whom they may and do impersonate.
        The web view's session cookie (only on its own same-origin requests) acts as the admin."""
        if isinstance(request, WebSocket):
            session_user = self.ui.websocket_user(request)
            if session_user is not None:
                return session_user
            headers: Any = request.headers
            token = watch_ws.bearer_token(watch_ws.offered_protocols(request))
            if token is not None:  # a browser cannot set headers on a WebSocket: the token rides a subprotocol
                headers = MutableHeaders(scope={"type": "websocket", "headers": list(request.headers.raw)})
                headers["authorization"] = f"Bearer {token}"
        else:
            session_user = self.ui.cookie_user(request)
            if session_user is not None:
                return session_user
            headers = request.headers
        user = await self.authenticator.authenticate(headers, request.scope.get("state") or {})
        if impersonation.requested(headers):
            user = await impersonation.impersonate(self.authorizer, user, headers)
        return user

    async def _get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        from tinykube.registry.resources import RESOURCE_INDEX

        res = RESOURCE_INDEX.lookup("", "v1", plural)
        assert res is not None
        try:
            return await self.registry.get(res, namespace, name)
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise

    def health(self, path: str) -> Response:
        if path.startswith("/version"):
            return Response(negotiation.dump_json(discovery.version_info()), media_type="application/json")
        if path.startswith("/readyz") and not self.ready():
            return PlainTextResponse("[-]ready failed: not ready\nreadyz check failed", 500)
        return PlainTextResponse("ok")

    # ------------------------------------------------------------------ routing

    async def route(self, request: Request, path: str) -> Response:
        parts = [p for p in path.split("/") if p]
        if not parts:
            return self.json({"paths": sorted(["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2",
                                               "/openapi/v3", "/readyz", "/version"])})
        head = parts[0]
        if head == "api":
            if len(parts) == 1:
                return self.discovery_root(request, core=True)
            if parts[1] != "v1":
                raise self.not_found()
            if len(parts) == 2:
                return self.json_or_404(discovery.legacy_resource_list("", "v1"))
            return await self.resource(request, "", "v1", parts[2:])
        if head == "apis":
            if len(parts) == 1:
                return self.discovery_root(request, core=False)
            if len(parts) == 2:
                return self.json_or_404(discovery.legacy_group(parts[1]))
            if len(parts) == 3:
                return self.json_or_404(discovery.legacy_resource_list(parts[1], parts[2]))
            return await self.resource(request, parts[1], parts[2], parts[3:])
        if head == "openapi":
            return self.openapi(request, parts[1:])
        raise self.not_found()

    async def resource(self, request: Request, group: str, version: str, rest: list[str]) -> Response:
        if not discovery.RESOURCE_INDEX.serves(group, version):
            raise self.not_found()
        target = parse_target(group, version, rest)
        if self.auth_api.serves(target):
            return await self.auth_api.handle(request, target, request.state.user)
        if not target.res.stored:
            return self.json(serve_metrics(self.metrics, request.method, dict(request.query_params), target.res,
                                           target.namespace, target.name))
        return await self.handlers.handle(request, target)

    @staticmethod
    def not_found() -> StatusError:
        return StatusError(404, "NotFound", "the server could not find the requested resource")

    @staticmethod
    def json(body: Any, media_type: str = "application/json") -> Response:
        return Response(negotiation.dump_json(body), media_type=media_type)

    def json_or_404(self, body: Any) -> Response:
        if body is None:
            raise self.not_found()
        return self.json(body)

    def discovery_root(self, request: Request, core: bool) -> Response:
        accept = request.headers.get("accept", "")
        media = discovery.aggregated_media_type(accept)
        if media is not None:
            api_version = "apidiscovery.k8s.io/v2" if media == discovery.AGGREGATED_V2 else \
                "apidiscovery.k8s.io/v2beta1"
            return Response(negotiation.dump_json(discovery.aggregated(core, api_version)), media_type=media,
                            headers={"Vary": "Accept"})
        if core:
            host = request.headers.get("host", "127.0.0.1")
            return self.json(discovery.legacy_api_versions(host))
        return self.json(discovery.legacy_group_list())

    def openapi(self, request: Request, parts: list[str]) -> Response:
        from tinykube.apiserver import openapi

        if parts == ["v2"]:
            accept = request.headers.get("accept", "")
            if "protobuf" in accept and "json" not in accept:
                raise errors.not_acceptable("only application/json is served for /openapi/v2")
            return Response(openapi.openapi_v2_json(), media_type="application/json")
        if parts == ["v3"]:
            return self.json(openapi.openapi_v3_index())
        if len(parts) >= 2 and parts[0] == "v3":
            if parts[1] == "api" and len(parts) == 3:
                body = openapi.openapi_v3_json("", parts[2])
            elif parts[1] == "apis" and len(parts) == 4:
                body = openapi.openapi_v3_json(parts[2], parts[3])
            else:
                body = None
            if body is None:
                raise self.not_found()
            return Response(body, media_type="application/json",
                            headers={"Cache-Control": "public, immutable"})
        raise self.not_found()


