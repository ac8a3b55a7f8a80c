"""The root-ca-cert-publisher: a `kube-root-ca.crt` ConfigMap with the cluster CA in every live
namespace, so pods can verify the API server (the kube-api-access volume projects it)."""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import NAMESPACES, Client, Obj, resource
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)
CONFIG_MAPS = resource("v1", "configmaps")
NAME = "kube-root-ca.crt"
DESCRIPTION = "kubernetes.io/description"
DESCRIPTION_TEXT = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                    "guaranteed across distributions of Kubernetes clusters.")


def wanted_config_map(namespace: str, ca_pem: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": namespace, "annotations": {DESCRIPTION: DESCRIPTION_TEXT}},
            "data": {"ca.crt": ca_pem}}


class RootCACertPublisher:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, ca_pem: str) -> None:
        self.client = client
        self.clock = clock
        self.ca_pem = ca_pem
        self.namespaces = informers.informer(NAMESPACES)
        self.config_maps = informers.informer(CONFIG_MAPS)
        self.queue: WorkQueue[str] = WorkQueue(clock, name="root_ca_cert_publisher")
        self.namespaces.add_handler(EventHandler(self._namespace, lambda o, n: self._namespace(n), None))
        self.config_maps.add_handler(EventHandler(None, lambda o, n: self._config_map(n), self._config_map))

    def _namespace(self, ns: Obj) -> None:
        self.queue.add(ns["metadata"]["name"])

    def _config_map(self, cm: Obj) -> None:
        if cm["metadata"]["name"] == NAME:
            self.queue.add(cm["metadata"]["namespace"])

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name="root_ca_cert_publisher")
        await run_term(self.queue, self.sync, 2, log, informers=[self.namespaces, self.config_maps],
                       keys=lambda: [n["metadata"]["name"] for n in self.namespaces.cache.list()])

    async def sync(self, namespace: str) -> None:
        ns = self.namespaces.cache.get(namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        current = self.config_maps.cache.get(f"{namespace}/{NAME}")
        wanted = wanted_config_map(namespace, self.ca_pem)
        try:
            if current is None:
                await self.client.create(CONFIG_MAPS, wanted, namespace)
            elif current.get("data") != wanted["data"] or \
                    (current["metadata"].get("annotations") or {}).get(DESCRIPTION) != DESCRIPTION_TEXT:
                annotations = {**(current["metadata"].get("annotations") or {}), DESCRIPTION: DESCRIPTION_TEXT}
                await self.client.update(CONFIG_MAPS, {**current, "data": wanted["data"],
                                                       "metadata": {**current["metadata"], "annotations": annotations}})
        except StatusError as exc:
            if exc.code in (403, 409) and current is None:
                return  # the namespace is terminating, or the map was created meanwhile
            retry_stale(self.queue, namespace, exc)
