"""Watches over WebSocket, as the Kubernetes API serves them: each watch event one text message.

Browsers open at most six HTTP/1.1 connections to a host, and every plain watch holds one for
its lifetime; the web view follows eleven resources, so it watches over WebSockets, which have
no such limit. A browser cannot set an Authorization header on a WebSocket: the token travels,
as upstream accepts it, in the subprotocol `base64url.bearer.authorization.k8s.io.<token>`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib

from starlette.responses import StreamingResponse
from starlette.websockets import WebSocket

from tinykube.apiserver.handlers import ResourceHandlers, parse_target
from tinykube.machinery.errors import StatusError

BEARER_PROTOCOL = "base64url.bearer.authorization.k8s.io."
# A refused watch is accepted and closed at once with 4000 + the HTTP status code (4401, 4404,
# 4400) and the Status message as the reason: a refused handshake would tell the page nothing.
STATUS_CLOSE_BASE = 4000


def offered_protocols(ws: WebSocket) -> list[str]:
    """The subprotocols the client offered: the ASGI scope lists them (uvicorn's wsproto server
    does not keep the Sec-WebSocket-Protocol header among the scope's headers)."""
    offered = ws.scope.get("subprotocols")
    if offered:
        return [str(p).strip() for p in offered]
    raw = ws.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def bearer_token(protocols: list[str]) -> str | None:
    """The token carried in the bearer subprotocol (base64url without padding), if offered."""
    for protocol in protocols:
        if protocol.startswith(BEARER_PROTOCOL):
            encoded = protocol[len(BEARER_PROTOCOL):]
            try:
                token = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
                return token.decode() or None
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def chosen_protocol(protocols: list[str]) -> str | None:
    """The subprotocol the server answers with: the first one that is not a credential."""
    return next((p for p in protocols if not p.startswith(BEARER_PROTOCOL)), None)


def watch_target(path: str):
    """The resource a WebSocket path names, as for HTTP: /api/v1/... or /apis/{group}/{version}/..."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
        return parse_target("", "v1", parts[2:])
    if len(parts) >= 4 and parts[0] == "apis":
        return parse_target(parts[1], parts[2], parts[3:])
    raise StatusError(404, "NotFound", "the server could not find the requested resource")


async def refuse(ws: WebSocket, exc: StatusError) -> None:
    await ws.accept(subprotocol=chosen_protocol(offered_protocols(ws)))
    await ws.close(STATUS_CLOSE_BASE + exc.code, exc.message[:120])


async def serve_watch(ws: WebSocket, handlers: ResourceHandlers, path: str) -> None:
    """Streams the watch the path and query ask for over the (already authenticated) WebSocket."""
    try:
        target = watch_target(path)
        if target.subresource or not target.res.stored or ws.query_params.get("watch", "") not in ("1", "true"):
            raise StatusError(400, "BadRequest", "only watches are served over WebSocket here")
        response = await handlers.watch(ws, target)  # type: ignore[arg-type]  # reads only query and headers
    except StatusError as exc:
        await refuse(ws, exc)
        return
    await ws.accept(subprotocol=chosen_protocol(offered_protocols(ws)))
    if not isinstance(response, StreamingResponse):  # an immediate ERROR event (410 Gone)
        await ws.send_text(bytes(response.body).decode().strip())
        await ws.close()
        return
    events = response.body_iterator

    async def pump() -> None:
        async for chunk in events:
            for line in (chunk.decode() if isinstance(chunk, bytes) else chunk).splitlines():
                if line.strip():
                    await ws.send_text(line)

    # The client leaving must end the watch at once, not at the next event or the timeout.
    sending = asyncio.ensure_future(pump())
    receiving = asyncio.ensure_future(ws.receive())
    try:
        await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sending, receiving):
            task.cancel()
        for task in (sending, receiving):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]
    if sending.done() and not sending.cancelled() and sending.exception() is None:
        with contextlib.suppress(Exception):
            await ws.close()
