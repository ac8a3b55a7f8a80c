"""The EndpointSlice controller (upstream pkg/controller/endpointslice): the slices of each
Service with a selector, owned by the Service, labelled kubernetes.io/service-name and
endpointslice.kubernetes.io/managed-by; endpoints carry ready/serving/terminating."""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import Obj, resource
from tinykube.client.informer import EventHandler, Informer
from tinykube.client.workqueue import retry_stale
from tinykube.controllers.endpoints.base import ServiceEndpointsBase
from tinykube.controllers.endpoints.util import (
    MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICE_CONTROLLER, desired_slices, plan_slices, selects_pods,
    slice_labels, slice_name_prefix,
)
from tinykube.controllers.replicaset import owner_reference
from tinykube.machinery.errors import StatusError

ENDPOINT_SLICES = resource("discovery.k8s.io/v1", "endpointslices")


def by_service(eps: Obj) -> list[str]:
    """Index of the slices this controller manages, by `namespace/service`."""
    labels = eps["metadata"].get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != SLICE_CONTROLLER or not labels.get(SERVICE_NAME_LABEL):
        return []
    return [f"{eps['metadata'].get('namespace', '')}/{labels[SERVICE_NAME_LABEL]}"]


class EndpointSliceController(ServiceEndpointsBase):
    name = "endpointslices"
    log = logging.getLogger(__name__)

    def __init__(self, client: Any, clock: Any, informers: Any) -> None:
        super().__init__(client, clock, informers)
        self.slices = informers.informer(ENDPOINT_SLICES, {"service": by_service})
        requeue = lambda eps: [self.queue.add(key) for key in by_service(eps)]  # noqa: E731
        self.slices.add_handler(EventHandler(None, lambda old, new: requeue(new), requeue))

    def informers(self) -> tuple[Informer, ...]:
        return (*super().informers(), self.slices)

    async def sync(self, key: str) -> None:
        svc = self.services.cache.get(key)
        existing = self.slices.cache.by_index("service", key)
        try:
            if svc is None or not selects_pods(svc):
                for eps in existing:  # the garbage collector would too (owner reference); be prompt
                    await self.client.delete(ENDPOINT_SLICES, eps["metadata"]["name"], eps["metadata"]["namespace"])
                return
            await self._reconcile(svc, existing)
        except StatusError as exc:
            retry_stale(self.queue, key, exc)

    async def _reconcile(self, svc: Obj, existing: list[Obj]) -> None:
        mine = [eps for eps in existing if _owned_by(eps, svc)]
        updates, creates, deletes = plan_slices(mine, desired_slices(svc, self.selected_pods(svc)))
        labels = slice_labels(svc)
        namespace = svc["metadata"]["namespace"]
        for ports, endpoints in creates:
            await self.client.create(ENDPOINT_SLICES, {
                "metadata": {"generateName": slice_name_prefix(svc["metadata"]["name"]), "labels": labels,
                             "ownerReferences": [owner_reference(svc)]},
                "addressType": "IPv4", "endpoints": endpoints, "ports": ports}, namespace)
        for eps, ports, endpoints in updates:
            if (eps.get("endpoints") or []) == endpoints and (eps.get("ports") or []) == ports \
                    and (eps["metadata"].get("labels") or {}) == labels:
                continue
            await self.client.update(ENDPOINT_SLICES, {**eps, "endpoints": endpoints, "ports": ports,
                                                       "metadata": {**eps["metadata"], "labels": labels}})
        for eps in deletes + [eps for eps in existing if not _owned_by(eps, svc)]:
            await self.client.delete(ENDPOINT_SLICES, eps["metadata"]["name"], namespace)


def _owned_by(eps: Obj, svc: Obj) -> bool:
    """Slices of an earlier Service of the same name (another uid) are stale."""
    return any(ref.get("uid") == svc["metadata"]["uid"] for ref in eps["metadata"].get("ownerReferences") or [])

