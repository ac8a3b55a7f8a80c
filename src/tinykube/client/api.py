"""The client API every component uses, whichever transport carries it.

Controllers, the scheduler and node agents inside the server talk to the registry directly
(`LocalClient`); agents and tools elsewhere talk HTTP (`HttpClient`). Both take and return
plain object dicts and raise `StatusError` with the server's Status, so a component cannot
tell them apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, AsyncIterator

from tinykube.registry.resources import RESOURCE_INDEX, Resource

Obj = dict[str, Any]
WatchEvent = tuple[str, Obj]  # ("ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK", object)

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def resource(api_version: str, plural: str) -> Resource:
    """A served resource by `apiVersion` and plural name, e.g. resource("apps/v1", "deployments")."""
    group, _, version = api_version.rpartition("/")
    found = RESOURCE_INDEX.lookup(group, version, plural)
    if found is None:
        raise KeyError(f"{plural} is not served in {api_version}")
    return found


PODS = resource("v1", "pods")
NODES = resource("v1", "nodes")
NAMESPACES = resource("v1", "namespaces")
EVENTS = resource("v1", "events")
LEASES = resource("coordination.k8s.io/v1", "leases")


def object_key(obj: Obj) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects: the informer and workqueue key."""
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else meta["name"]


def split_key(key: str) -> tuple[str, str]:
    namespace, _, name = key.rpartition("/")
    return namespace, name


class Client(ABC):
    """Typed-by-convention access to every served resource."""

    field_manager: str

    @abstractmethod
    async def get(self, res: Resource, name: str, namespace: str = "") -> Obj: ...

    @abstractmethod
    async def list(self, res: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "", resource_version: str = "", limit: int = 0,
                   continue_token: str = "") -> Obj: ...

    @abstractmethod
    async def watch(self, res: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "",
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        """Events after `resource_version`; raises StatusError (410 when too old) on failure.
        The returned iterator must be closed (`aclose`) by whoever stops reading early."""

    @abstractmethod
    async def create(self, res: Resource, obj: Obj, namespace: str = "") -> Obj: ...

    @abstractmethod
    async def update(self, res: Resource, obj: Obj, subresource: str = "") -> Obj:
        """PUT the object (its resourceVersion is the precondition)."""

    @abstractmethod
    async def patch(self, res: Resource, name: str, body: Any, namespace: str = "", *,
                    patch_type: str = MERGE_PATCH, subresource: str = "") -> Obj: ...

    @abstractmethod
    async def delete(self, res: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, propagation_policy: str = "",
                     uid: str = "", resource_version: str = "") -> Obj:
        """Delete (or start deleting); `uid`/`resource_version` are preconditions."""

    @abstractmethod
    async def post_subresource(self, res: Resource, name: str, namespace: str, subresource: str,
                               body: Obj) -> Obj:
        """POST to an action subresource: pods/binding, pods/eviction."""

    async def close(self) -> None:
        """Release connections (nothing to do in-process)."""

    # conveniences shared by both transports

    async def update_status(self, res: Resource, obj: Obj) -> Obj:
        return await self.update(res, obj, "status")

    async def bind(self, pod: Obj, node_name: str) -> Obj:
        meta = pod["metadata"]
        return await self.post_subresource(PODS, meta["name"], meta["namespace"], "binding", {
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta.get("uid", "")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}})

    async def evict(self, pod: Obj, grace_period_seconds: int | None = None) -> Obj:
        meta = pod["metadata"]
        body: Obj = {"apiVersion": "policy/v1", "kind": "Eviction",
                     "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        if grace_period_seconds is not None:
            body["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
        return await self.post_subresource(PODS, meta["name"], meta["namespace"], "eviction", body)
