"""The HTTP transport: the same client API over the Kubernetes REST protocol (httpx).

Used by agents and tools that run outside the server process, and by anything that wants
to talk to a real API server exactly as kubectl does.
"""

from __future__ import annotations

import ssl
from typing import Any, AsyncIterator
from urllib.parse import quote

import httpx
import orjson
import yaml

from tinykube.client.api import MERGE_PATCH, Client, Obj, WatchEvent
from tinykube.machinery.errors import StatusError
from tinykube.registry.resources import Resource


def resource_path(res: Resource, namespace: str = "", name: str = "", subresource: str = "") -> str:
    """`/api/v1/namespaces/ns/pods/name/status` and friends."""
    base = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    parts = [base]
    if res.namespaced and namespace:
        parts.append(f"namespaces/{quote(namespace)}")
    parts.append(res.plural)
    if name:
        parts.append(quote(name))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def status_error(code: int, body: bytes) -> StatusError:
    """The server's Status as an exception (or a generic one for a non-Status body)."""
    try:
        status = orjson.loads(body)
    except orjson.JSONDecodeError:
        status = None
    if isinstance(status, dict) and status.get("kind") == "Status":
        return StatusError(int(status.get("code") or code), status.get("reason", ""), status.get("message", ""),
                           status.get("details"))
    return StatusError(code, "InternalError" if code >= 500 else "BadRequest",
                       body.decode(errors="replace")[:500] or f"HTTP {code}")


class HttpClient(Client):
    """One connection pool to one API server, authenticated with a bearer token."""

    def __init__(self, server: str, token: str = "", ca_data: bytes | None = None,
                 field_manager: str = "tinykube", timeout: float = 30.0) -> None:
        self.field_manager = field_manager
        verify: Any = True
        if ca_data:
            verify = ssl.create_default_context(cadata=ca_data.decode())
        headers = {"Accept": "application/json", "User-Agent": f"{field_manager}/tinykube"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(base_url=server, headers=headers, verify=verify,
                                       timeout=httpx.Timeout(timeout, read=None))

    @classmethod
    def from_kubeconfig(cls, path: str, field_manager: str = "tinykube") -> "HttpClient":
        import base64

        with open(path, encoding="utf-8") as fh:
            config = yaml.safe_load(fh)
        current = config.get("current-context")
        context = next(c["context"] for c in config["contexts"] if c["name"] == current)
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
        ca = cluster.get("certificate-authority-data")
        return cls(cluster["server"], user.get("token", ""), base64.b64decode(ca) if ca else None, field_manager)

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                       body: Any = None, content_type: str = "application/json") -> Obj:
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else None
        response = await self._http.request(method, path, params=params, content=content, headers=headers)
        if response.status_code >= 300:
            raise status_error(response.status_code, response.content)
        return orjson.loads(response.content)

    def _write_params(self) -> dict[str, str]:
        return {"fieldManager": self.field_manager}

    async def get(self, res: Resource, name: str, namespace: str = "") -> Obj:
        return await self._request("GET", resource_path(res, namespace, name))

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "", resource_version: str = "", limit: int = 0,
                   continue_token: str = "") -> Obj:
        params = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector),
                                    ("resourceVersion", resource_version), ("continue", continue_token),
                                    ("limit", str(limit) if limit else "")) if v}
        return await self._request("GET", resource_path(res, namespace), params=params)

    async def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "",
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        params = {k: v for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector),
                                    ("resourceVersion", resource_version),
                                    ("timeoutSeconds", str(timeout_seconds) if timeout_seconds else "")) if v}
        params["watch"] = "1"
        params["allowWatchBookmarks"] = "true"
        request = self._http.build_request("GET", resource_path(res, namespace), params=params)
        response = await self._http.send(request, stream=True)
        if response.status_code >= 300:
            body = await response.aread()
            await response.aclose()
            raise status_error(response.status_code, body)
        return self._events(response)

    @staticmethod
    async def _events(response: httpx.Response) -> AsyncIterator[WatchEvent]:
        try:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = orjson.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise StatusError(int(status.get("code") or 500), status.get("reason", ""),
                                      status.get("message", ""), status.get("details"))
                yield event["type"], event["object"]
        finally:
            await response.aclose()

    async def create(self, res: Resource, obj: Obj, namespace: str = "") -> Obj:
        namespace = namespace or (obj.get("metadata") or {}).get("namespace", "")
        return await self._request("POST", resource_path(res, namespace), params=self._write_params(), body=obj)

    async def update(self, res: Resource, obj: Obj, subresource: str = "") -> Obj:
        meta = obj.get("metadata") or {}
        return await self._request("PUT", resource_path(res, meta.get("namespace", ""), meta["name"], subresource),
                                   params=self._write_params(), body=obj)

    async def patch(self, res: Resource, name: str, body: Any, namespace: str = "", *,
                    patch_type: str = MERGE_PATCH, subresource: str = "") -> Obj:
        return await self._request("PATCH", resource_path(res, namespace, name, subresource),
                                   params=self._write_params(), body=body, content_type=patch_type)

    async def delete(self, res: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, propagation_policy: str = "",
                     uid: str = "", resource_version: str = "") -> Obj:
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        preconditions = {k: v for k, v in (("uid", uid), ("resourceVersion", resource_version)) if v}
        if preconditions:
            options["preconditions"] = preconditions
        return await self._request("DELETE", resource_path(res, namespace, name), body=options)

    async def post_subresource(self, res: Resource, name: str, namespace: str, subresource: str,
                               body: Obj) -> Obj:
        return await self._request("POST", resource_path(res, namespace, name, subresource), body=body)
