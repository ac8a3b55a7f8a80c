"""Container probes: the handlers (exec, httpGet, tcpSocket, grpc) and the kubelet's result counting.

`ProbeCounter` is the probe worker's rule, pure: a result changes the container's verdict only
after `successThreshold` successes or `failureThreshold` failures in a row. `ProbeSpec` reads the
probe's timing with upstream's defaults. The handlers return (success, output) with the
messages the kubelet puts into its "Liveness probe failed: ..." events. Pods use the host
network, so every probe goes to 127.0.0.1 (or the httpGet `host`).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per probe

Obj = dict[str, Any]

LIVENESS, READINESS, STARTUP = "Liveness", "Readiness", "Startup"
PROBE_FIELDS = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}
USER_AGENT = "kube-probe/1.33"


@dataclass(frozen=True)
class ProbeSpec:
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    @classmethod
    def of(cls, probe: Obj) -> "ProbeSpec":
        return cls(float(probe.get("initialDelaySeconds") or 0), float(probe.get("periodSeconds") or 10),
                   float(probe.get("timeoutSeconds") or 1), int(probe.get("successThreshold") or 1),
                   int(probe.get("failureThreshold") or 3))


@dataclass
class ProbeCounter:
    """Consecutive results of one probe of one container run, as the kubelet's probe worker counts."""

    success_threshold: int
    failure_threshold: int
    last: bool | None = None
    run: int = 0

    def observe(self, success: bool) -> bool | None:
        """Count a result; return the new verdict when it is set (None: keep the current one)."""
        if self.last is success:
            self.run += 1
        else:
            self.last, self.run = success, 1
        needed = self.success_threshold if success else self.failure_threshold
        if self.run < needed:
            return None
        return success

    def reset(self) -> None:
        """After a liveness/startup failure has been acted on (the container is restarted)."""
        self.last, self.run = None, 0


def resolve_port(port: Any, container: Obj) -> int:
    """A probe port given by number or by a containerPort's name."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item.get("containerPort") or 0)
    raise ValueError(f"couldn't find port: {port} in {container.get('name', '')}")


def dial_error(exc: BaseException, address: str) -> str:
    """An OS error as Go's dialer words it: `dial tcp 127.0.0.1:80: connect: connection refused`."""
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return f"dial tcp {address}: connect: connection refused"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"dial tcp {address}: i/o timeout"
    return f"dial tcp {address}: {getattr(exc, 'strerror', None) or exc}"


async def tcp_probe(host: str, port: int, timeout: float) -> tuple[bool, str]:
    address = f"{host}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return False, dial_error(exc, address)
    writer.close()
    return True, ""


async def http_probe(action: Obj, container: Obj, pod_ip: str, timeout: float) -> tuple[bool, str]:
    port = resolve_port(action.get("port"), container)
    host = action.get("host") or pod_ip
    scheme = (action.get("scheme") or "HTTP").lower()
    path = action.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{host}:{port}{path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    for header in action.get("httpHeaders") or []:
        headers[header.get("name", "")] = header.get("value", "")
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=False, follow_redirects=False) as client:
            response = await client.get(url, headers=headers)
    except httpx.TimeoutException:
        return False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    except httpx.HTTPError as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        while cause.__cause__ is not None or cause.__context__ is not None:
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        return False, f'Get "{url}": {dial_error(cause, f"{host}:{port}")}'
    if 200 <= response.status_code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {response.status_code}"


def go_duration(seconds: float) -> str:
    """A timeout as Go prints a time.Duration of whole or fractional seconds: 1s, 1.5s."""
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text}s"


def grpc_code_name(code: Any) -> str:
    """A grpc.StatusCode as Go's codes.Code prints it: NOT_FOUND -> NotFound."""
    return "".join(part.capitalize() for part in code.name.split("_")) if code.name != "OK" else "OK"


def _grpc_check(address: str, service: str, timeout: float) -> tuple[bool, str]:
    """grpc.health.v1.Health/Check as the kubelet calls it (blocking; run in a thread)."""
    import time

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    started = time.monotonic()
    with grpc.insecure_channel(address, options=[("grpc.primary_user_agent", USER_AGENT)]) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            return False, (f"timeout: failed to connect service {json.dumps(address)} within {go_duration(timeout)}: "
                           f"context deadline exceeded")
        remaining = max(0.001, timeout - (time.monotonic() - started))
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                                 timeout=remaining)
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return False, ("error: this server does not implement the grpc health protocol "
                               f"(grpc.health.v1.Health): {details}")
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return False, f"timeout: health rpc did not complete within {go_duration(timeout)}"
            return False, f"error: health rpc probe failed: rpc error: code = {grpc_code_name(code)} desc = {details}"
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return False, f"service unhealthy (responded with {json.dumps(name)})"
    return True, ""


async def grpc_probe(host: str, port: int, service: str, timeout: float) -> tuple[bool, str]:
    return await asyncio.to_thread(_grpc_check, f"{host}:{port}", service, timeout)

