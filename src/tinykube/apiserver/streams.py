"""The pods/exec, attach and portforward subresources: WebSocket upgrades, checked as upstream.

kubectl (1.31+) opens a WebSocket first: exec with the `v5.channel.k8s.io` channel protocol,
port-forward with SPDY/3.1 tunnelled in binary messages (`SPDY/3.1+portforward.k8s.io`). A
refused handshake makes kubectl retry with a plain SPDY upgrade (a POST), and it prints the
error of that retry, so both paths run the same checks with the same errors: the API server's
(container named and valid, pod bound: Status errors), then the kubelet's (the container must
run: `container not found ("x")` in plain text, which kubectl shows as "unable to upgrade
connection: ..."). Plain SPDY itself is not served.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Callable

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from tinykube.apiserver.watch_ws import offered_protocols
from tinykube.client.api import object_key
from tinykube.kubelet import channels
from tinykube.kubelet.execproc import ExecError
from tinykube.kubelet.podlogs import choose_container
from tinykube.kubelet.portforward import serve_port_forward
from tinykube.kubelet.runtime import ContainerNotFound, Runtime
from tinykube.kubelet.streaming import Session, serve_exec
from tinykube.machinery import errors
from tinykube.machinery.errors import StatusError
from tinykube.registry.objects import ObjectRegistry

log = logging.getLogger(__name__)

Obj = dict[str, Any]
STREAM_SUBRESOURCES = ("exec", "attach", "portforward")
PORTFORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
NORMAL_CLOSURE = 1000


class KubeletError(Exception):
    """A refusal worded by the kubelet: plain text, as the API server passes it on."""

    def __init__(self, message: str, code: int = 500) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ExecOptions:
    command: list[str]
    container: str
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def exec_options(params: Any, attach: bool = False) -> ExecOptions:
    """PodExecOptions (PodAttachOptions: no command) from the query, validated as the API server does."""
    flag = lambda key: str(params.get(key, "")).lower() in ("true", "1")  # noqa: E731
    command = list(params.getlist("command")) if hasattr(params, "getlist") else list(params.get("command") or [])
    opts = ExecOptions(command, params.get("container", ""), flag("stdin"), flag("stdout"), flag("stderr"),
                       flag("tty"))
    if not command and not attach:
        raise errors.bad_request("you must specify at least 1 command")
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return opts


def running_in_status(pod: Obj, container: str) -> bool:
    status = pod.get("status") or {}
    for item in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if item.get("name") == container:
            return "running" in (item.get("state") or {})
    return False


class WebSocketMessages:
    """A Starlette WebSocket as `streaming.MessageSocket`: binary messages, None once closed."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def receive(self) -> bytes | None:
        try:
            message = await self.ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return None
        if message["type"] == "websocket.disconnect":
            return None
        return message.get("bytes") or (message.get("text") or "").encode()

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)


class PodStreams:
    """exec, attach and port-forward for the API server, served by the node agent's runtimes."""

    def __init__(self, registry: ObjectRegistry, runtime_for: Callable[[str], Runtime | None]) -> None:
        self.registry = registry
        self.runtime_for = runtime_for

    async def _pod(self, namespace: str, name: str) -> Obj:
        from tinykube.registry.resources import RESOURCE_INDEX

        res = RESOURCE_INDEX.lookup("", "v1", "pods")
        assert res is not None
        return await self.registry.get(res, namespace, name)

    async def check_exec(self, namespace: str, name: str, params: Any,
                         attach: bool = False) -> tuple[Obj, ExecOptions, Runtime]:
        """Everything that refuses the upgrade, in upstream's order."""
        pod = await self._pod(namespace, name)
        opts = exec_options(params, attach)
        container = choose_container(pod, opts.container)
        opts = ExecOptions(opts.command, container, opts.stdin, opts.stdout, opts.stderr, opts.tty)
        runtime = self.runtime_for(pod["spec"]["nodeName"])
        if runtime is None:
            raise errors.bad_request(f"pod {name} runs on a node this server has no agent for")
        if not running_in_status(pod, container):
            raise KubeletError(str(ContainerNotFound(container)))
        return pod, opts, runtime

    async def check_forward(self, namespace: str, name: str) -> Obj:
        pod = await self._pod(namespace, name)
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        return pod

    # ------------------------------------------------------------------ the plain-HTTP path

    async def http(self, request: HTTPConnection, namespace: str, name: str, sub: str) -> Response:
        """A POST/GET without a WebSocket (kubectl's SPDY fallback): the checks' errors, else a refusal."""
        try:
            if sub in ("exec", "attach"):
                await self.check_exec(namespace, name, request.query_params, sub == "attach")
            else:
                await self.check_forward(namespace, name)
        except KubeletError as exc:
            return PlainTextResponse(str(exc), exc.code)
        raise errors.bad_request(f"{sub} is served over WebSockets only (kubectl 1.31 or newer); "
                                 f"SPDY upgrades are not supported")

    # ------------------------------------------------------------------ the WebSocket path

    async def websocket(self, ws: WebSocket, namespace: str, name: str, sub: str) -> None:
        offered = offered_protocols(ws)
        try:
            if sub in ("exec", "attach"):
                pod, opts, runtime = await self.check_exec(namespace, name, ws.query_params, sub == "attach")
                protocol = channels.choose_protocol(offered)
                if protocol is None:
                    raise errors.bad_request(f"none of the offered subprotocols {offered} is supported: "
                                             f"{', '.join(channels.EXEC_PROTOCOLS)}")
            else:
                pod = await self.check_forward(namespace, name)
                if PORTFORWARD_PROTOCOL not in offered:
                    raise errors.bad_request(f"port-forward needs the {PORTFORWARD_PROTOCOL} subprotocol")
                protocol = PORTFORWARD_PROTOCOL
        except KubeletError as exc:
            await deny(ws, PlainTextResponse(str(exc), exc.code))
            return
        except StatusError as exc:
            await deny(ws, status_response(exc))
            return
        await ws.accept(subprotocol=protocol)
        sock = WebSocketMessages(ws)
        try:
            if sub in ("exec", "attach"):
                await self._exec(sock, pod, opts, runtime, sub == "attach")
            else:
                await serve_port_forward(sock, pod)
        except Exception:  # the session is the client's; a bug must not take the server down
            log.exception("%s session for pod %s/%s failed", sub, namespace, name)
        finally:
            with contextlib.suppress(Exception):
                await ws.close(NORMAL_CLOSURE)

    async def _exec(self, sock: WebSocketMessages, pod: Obj, opts: ExecOptions, runtime: Runtime,
                    attach: bool) -> None:
        try:
            if attach:
                proc: Session = runtime.attach_stream(object_key(pod), opts.container)
            else:
                proc = await runtime.exec_stream(object_key(pod), opts.container, opts.command, tty=opts.tty,
                                                 stdin=opts.stdin)
        except (ContainerNotFound, ExecError) as exc:  # it stopped since the check, or cannot start
            await sock.send(channels.status_message(channels.internal_error_status(str(exc))))
            return
        await serve_exec(sock, proc, opts.command, stdout=opts.stdout, stderr=opts.stderr and not opts.tty)


def status_response(exc: StatusError) -> Response:
    from tinykube.apiserver.app import status_response as respond

    return respond(exc)


async def deny(ws: WebSocket, response: Response) -> None:
    """Refuse the handshake with an HTTP response (or a close where the server cannot send one)."""
    try:
        await ws.send_denial_response(response)
    except RuntimeError:
        await ws.close(1008)
