"""The Endpoints controller (upstream pkg/controller/endpoint): one core/v1 Endpoints per
Service with a selector, named as the Service, holding ready pods in `addresses` and the others
in `notReadyAddresses`; deleted with its Service."""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import Obj, resource, split_key
from tinykube.client.informer import EventHandler, Informer
from tinykube.client.workqueue import retry_stale
from tinykube.controllers.endpoints.base import ServiceEndpointsBase
from tinykube.controllers.endpoints.util import endpoints_labels, endpoints_subsets, selects_pods
from tinykube.machinery.errors import StatusError

ENDPOINTS = resource("v1", "endpoints")


class EndpointsController(ServiceEndpointsBase):
    name = "endpoints"
    log = logging.getLogger(__name__)

    def __init__(self, client: Any, clock: Any, informers: Any) -> None:
        super().__init__(client, clock, informers)
        self.endpoints = informers.informer(ENDPOINTS)
        self.endpoints.add_handler(EventHandler(on_delete=lambda ep: self.queue.add(
            f"{ep['metadata'].get('namespace', '')}/{ep['metadata']['name']}")))

    def informers(self) -> tuple[Informer, ...]:
        return (*super().informers(), self.endpoints)

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        svc = self.services.cache.get(key)
        current = self.endpoints.cache.get(key)
        try:
            if svc is None:
                if current is not None and _ours(current):
                    await self.client.delete(ENDPOINTS, name, namespace)
                return
            if not selects_pods(svc):
                return  # a Service without selector: its Endpoints are the user's
            await self._write(svc, current)
        except StatusError as exc:
            retry_stale(self.queue, key, exc)

    async def _write(self, svc: Obj, current: Obj | None) -> None:
        meta = svc["metadata"]
        subsets = endpoints_subsets(svc, self.selected_pods(svc))
        labels = endpoints_labels(svc)
        if current is None:
            await self.client.create(ENDPOINTS, {"metadata": {"name": meta["name"], "labels": labels},
                                                 "subsets": subsets}, meta["namespace"])
            return
        if (current.get("subsets") or []) == subsets and (current["metadata"].get("labels") or {}) == labels:
            return
        new = {**current, "subsets": subsets, "metadata": {**current["metadata"], "labels": labels}}
        await self.client.update(ENDPOINTS, new)


def _ours(ep: Obj) -> bool:
    """The built-in `kubernetes` Endpoints belong to the API server, never to this controller."""
    return "endpointslice.kubernetes.io/skip-mirror" not in (ep["metadata"].get("labels") or {})
