"""The ResourceQuota controller: status.hard mirrors spec.hard and status.used is recounted
whenever a covered object changes, and every resync period (upstream's resourcequota
controller with its replenishment). Recounts take the namespace's charging lock, so one
never lands between an admission charge and the write it paid for."""

from __future__ import annotations

import logging
from typing import Any

from tinykube.admission import resourcelist as rl
from tinykube.admission.quota import usage as qu
from tinykube.admission.quota.admission import count_used
from tinykube.admission.quota.locks import namespace_lock
from tinykube.client.api import Client, Obj, object_key, resource, split_key
from tinykube.client.informer import EventHandler, InformerFactory, by_namespace
from tinykube.client.workqueue import WorkQueue, run_term
from tinykube.machinery.errors import StatusError
from tinykube.registry.resources import Resource

log = logging.getLogger(__name__)

QUOTAS = resource("v1", "resourcequotas")
RESYNC_SECONDS = 300.0  # upstream's --resource-quota-sync-period
# Watched for replenishment; other count/<resource> quotas are recounted on resync.
WATCHED = tuple(resource("v1", plural) for plural in (
    "pods", "services", "persistentvolumeclaims", "configmaps", "secrets", "replicationcontrollers"))


def status_for(quota: Obj, used: rl.ResourceList) -> Obj:
    """The status to report: hard as in spec, used for exactly the hard names."""
    hard = qu.hard_of(quota)
    return {"hard": rl.normalized(hard), "used": rl.normalized(rl.mask(used, hard))}


def status_differs(quota: Obj, status: Obj) -> bool:
    old = quota.get("status") if isinstance(quota.get("status"), dict) else {}
    return not (rl.equal(old.get("hard") or {}, status["hard"]) and rl.equal(old.get("used") or {}, status["used"]))


class ResourceQuotaController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.quotas = informers.informer(QUOTAS, {"namespace": by_namespace})
        self.queue: WorkQueue[str] = WorkQueue(clock, name="resourcequota_primary")
        self.quotas.add_handler(EventHandler(self._quota_changed, self._quota_updated, None))
        self.watched = [informers.informer(res, {"namespace": by_namespace}) for res in WATCHED]
        for informer in self.watched:
            handler = self._replenisher(informer.res)
            informer.add_handler(EventHandler(handler, lambda old, new, h=handler: h(new, old), handler))

    def _quota_changed(self, quota: Obj) -> None:
        self.queue.add(object_key(quota))

    def _quota_updated(self, old: Obj, new: Obj) -> None:
        if qu.hard_of(old) != qu.hard_of(new) or status_differs(new, status_for(new, (new.get("status") or {})
                                                                                   .get("used") or {})):
            self.queue.add(object_key(new))

    def _replenisher(self, res: Resource):  # type: ignore[no-untyped-def]
        def changed(obj: Obj, old: Obj | None = None) -> None:
            namespace = obj["metadata"].get("namespace", "")
            quotas = self.quotas.cache.by_index("namespace", namespace)
            if not quotas:
                return
            now = self.clock.time()
            if old is not None and qu.usage(res.group, res.plural, old, now) == \
                    qu.usage(res.group, res.plural, obj, now) and \
                    not (old["metadata"].get("deletionTimestamp") or obj["metadata"].get("deletionTimestamp")):
                return
            for quota in quotas:
                self.queue.add(object_key(quota))
        return changed

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name="resourcequota_primary")
        await run_term(self.queue, self.sync, 2, log, informers=[self.quotas, *self.watched],
                       keys=self.quotas.cache.keys)

    async def _list(self, res: Resource, namespace: str) -> list[Obj]:
        return (await self.client.list(res, namespace))["items"]

    async def sync(self, key: str) -> None:
        if self.quotas.cache.get(key) is None:
            return
        namespace, name = split_key(key)
        async with namespace_lock(namespace):
            try:
                quota = await self.client.get(QUOTAS, name, namespace)
            except StatusError as exc:
                if exc.code == 404:
                    return
                raise
            used = await count_used(self._list, quota, self.clock.time())
            status = status_for(quota, used)
            if status_differs(quota, status):
                try:
                    await self.client.update_status(QUOTAS, dict(quota, status=status))
                except StatusError as exc:
                    if exc.code == 409:
                        self.queue.add_rate_limited(key)
                        return
                    if exc.code != 404:
                        raise
        self.queue.add_after(key, RESYNC_SECONDS)
