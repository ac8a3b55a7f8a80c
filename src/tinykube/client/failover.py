"""A `Client` over several API servers of one cluster: when one stops answering, use the next.

Every server serves the same state (they share the datastore), so a request may go to any of
them. A request that fails on the transport (refused, reset, timed out) moves the client on to
the next server and fails; the caller's own retry (informer back-off, work-queue rate limit)
then reaches a live one. Status errors are answers, not failures, and move nothing.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

import httpx

from tinykube.client.api import MERGE_PATCH, Client, Obj, WatchEvent
from tinykube.client.http import HttpClient
from tinykube.registry.resources import Resource

log = logging.getLogger(__name__)

T = TypeVar("T")


class FailoverClient(Client):
    def __init__(self, clients: list[HttpClient]) -> None:
        if not clients:
            raise ValueError("at least one server is needed")
        self.clients = clients
        self.current = 0
        self.field_manager = clients[0].field_manager

    @property
    def active(self) -> HttpClient:
        return self.clients[self.current]

    async def _call(self, call: Callable[[HttpClient], Awaitable[T]]) -> T:
        client = self.active
        try:
            return await call(client)
        except httpx.TransportError:
            self._move_on(client)
            raise

    def _move_on(self, failed: HttpClient) -> None:
        if len(self.clients) > 1 and self.active is failed:
            self.current = (self.current + 1) % len(self.clients)
            log.warning("API server unreachable; switching to %s", self.active._http.base_url)

    async def get(self, res: Resource, name: str, namespace: str = "") -> Obj:
        return await self._call(lambda c: c.get(res, name, namespace))

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "", resource_version: str = "", limit: int = 0,
                   continue_token: str = "") -> Obj:
        return await self._call(lambda c: c.list(
            res, namespace, label_selector=label_selector, field_selector=field_selector,
            resource_version=resource_version, limit=limit, continue_token=continue_token))

    async def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "",
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        client = self.active
        events = await self._call(lambda c: c.watch(
            res, namespace, resource_version=resource_version, label_selector=label_selector,
            field_selector=field_selector, timeout_seconds=timeout_seconds))
        return self._follow(client, events)

    async def _follow(self, client: HttpClient, events: AsyncIterator[WatchEvent]) -> AsyncIterator[WatchEvent]:
        try:
            async for event in events:
                yield event
        except (httpx.TransportError, httpx.StreamError):
            self._move_on(client)
            raise
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    async def create(self, res: Resource, obj: Obj, namespace: str = "") -> Obj:
        return await self._call(lambda c: c.create(res, obj, namespace))

    async def update(self, res: Resource, obj: Obj, subresource: str = "") -> Obj:
        return await self._call(lambda c: c.update(res, obj, subresource))

    async def patch(self, res: Resource, name: str, body: Any, namespace: str = "", *,
                    patch_type: str = MERGE_PATCH, subresource: str = "") -> Obj:
        return await self._call(lambda c: c.patch(res, name, body, namespace, patch_type=patch_type,
                                                  subresource=subresource))

    async def delete(self, res: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, propagation_policy: str = "",
                     uid: str = "", resource_version: str = "") -> Obj:
        return await self._call(lambda c: c.delete(
            res, name, namespace, grace_period_seconds=grace_period_seconds,
            propagation_policy=propagation_policy, uid=uid, resource_version=resource_version))

    async def post_subresource(self, res: Resource, name: str, namespace: str, subresource: str,
                               body: Obj) -> Obj:
        return await self._call(lambda c: c.post_subresource(res, name, namespace, subresource, body))

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
