"""The in-process transport: the registry called directly, no HTTP, no serialisation."""

from __future__ import annotations

from typing import Any, AsyncIterator

from tinykube.client.api import MERGE_PATCH, Client, Obj, WatchEvent
from tinykube.machinery import errors
from tinykube.registry.objects import DeleteOptions, ListOptions, ObjectRegistry, WriteOptions
from tinykube.registry.patching import apply_patch
from tinykube.registry.pods import bind_pod, evict_pod
from tinykube.registry.resources import Resource


class LocalClient(Client):
    """A component inside the server; writes are recorded under `field_manager`."""

    def __init__(self, registry: ObjectRegistry, field_manager: str) -> None:
        self.registry = registry
        self.field_manager = field_manager
        self._write = WriteOptions(field_manager=field_manager, field_validation="Ignore")

    async def get(self, res: Resource, name: str, namespace: str = "") -> Obj:
        return await self.registry.get(res, namespace, name)

    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "", resource_version: str = "", limit: int = 0,
                   continue_token: str = "") -> Obj:
        return await self.registry.list(res, namespace, ListOptions(
            label_selector, field_selector, limit, continue_token, resource_version))

    async def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "",
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        return await self.registry.watch(res, namespace, ListOptions(
            label_selector, field_selector, resource_version=resource_version))

    async def create(self, res: Resource, obj: Obj, namespace: str = "") -> Obj:
        namespace = namespace or (obj.get("metadata") or {}).get("namespace", "")
        return await self.registry.create(res, namespace if res.namespaced else "", obj, self._write)

    async def update(self, res: Resource, obj: Obj, subresource: str = "") -> Obj:
        meta = obj.get("metadata") or {}
        return await self.registry.update(res, meta.get("namespace", ""), meta.get("name", ""), obj,
                                          self._write, subresource)

    async def patch(self, res: Resource, name: str, body: Any, namespace: str = "", *,
                    patch_type: str = MERGE_PATCH, subresource: str = "") -> Obj:
        return await self.registry.guaranteed_update(
            res, namespace, name, lambda current: apply_patch(res, current, patch_type, body),
            self._write, subresource)

    async def delete(self, res: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, propagation_policy: str = "",
                     uid: str = "", resource_version: str = "") -> Obj:
        obj, _gone = await self.registry.delete(res, namespace, name, DeleteOptions(
            grace_period_seconds, propagation_policy, uid, resource_version))
        return obj

    async def post_subresource(self, res: Resource, name: str, namespace: str, subresource: str,
                               body: Obj) -> Obj:
        if res.kind == "Pod" and subresource == "binding":
            return await bind_pod(self.registry, namespace, name, body, self.registry.clock.rfc3339())
        if res.kind == "Pod" and subresource == "eviction":
            return await evict_pod(self.registry, namespace, name, body)
        raise errors.not_found(res.group, f"{res.plural}/{subresource}", name)
