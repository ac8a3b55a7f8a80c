"""What both endpoint controllers share: Service and pod informers whose events become Service
keys (a pod event queues every Service of its namespace that selects it, before or after)."""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import PODS, Client, Obj, object_key, resource
from tinykube.client.informer import EventHandler, Informer, InformerFactory, by_namespace
from tinykube.client.workqueue import WorkQueue, run_term
from tinykube.controllers.endpoints.util import selector_matches

SERVICES = resource("v1", "services")
WORKERS = 5


class ServiceEndpointsBase:
    name = "endpoints"
    log = logging.getLogger(__name__)

    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.services = informers.informer(SERVICES, {"namespace": by_namespace})
        self.pods = informers.informer(PODS, {"namespace": by_namespace})
        self.queue: WorkQueue[str] = WorkQueue(clock, name=self.name)
        self.services.add_handler(EventHandler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue))
        self.pods.add_handler(EventHandler(self._pod_changed, self._pod_updated, self._pod_changed))

    def informers(self) -> tuple[Informer, ...]:
        return (self.services, self.pods)

    def _enqueue(self, svc: Obj) -> None:
        self.queue.add(object_key(svc))

    def _services_of(self, pod: Obj) -> list[str]:
        labels = pod["metadata"].get("labels") or {}
        return [object_key(svc) for svc in self.services.cache.by_index("namespace", pod["metadata"].get("namespace", ""))
                if selector_matches(svc, labels)]

    def _pod_changed(self, pod: Obj) -> None:
        for key in self._services_of(pod):
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old.get("metadata", {}).get("resourceVersion") == new.get("metadata", {}).get("resourceVersion"):
            return  # a re-list's unchanged copy
        for key in set(self._services_of(old)) | set(self._services_of(new)):
            self.queue.add(key)

    def selected_pods(self, svc: Obj) -> list[Obj]:
        return [p for p in self.pods.cache.by_index("namespace", svc["metadata"]["namespace"])
                if selector_matches(svc, p["metadata"].get("labels") or {})]

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name=self.name)
        await run_term(self.queue, self.sync, WORKERS, self.log, informers=self.informers(),
                       keys=lambda: map(object_key, self.services.cache.list()))

    async def sync(self, key: str) -> None:
        raise NotImplementedError
