"""The garbage collector: dependents follow their owners, as ownerReferences say.

Upstream's three propagation policies over the ownerReferences graph:
- Background: the owner goes at once; a dependent whose owners are all gone is deleted (one
  whose owners are only partly gone loses the dangling references).
- Foreground: the owner keeps a `foregroundDeletion` finalizer while its dependents are deleted
  (in the foreground too); when none is left the finalizer goes and so does the owner.
- Orphan: the owner keeps an `orphan` finalizer until every dependent has lost its reference to
  it (`kubectl delete rs x --cascade=orphan` leaves the pods running, free to be adopted).
The graph is built from informers over the workload resources; an owner of another kind is
looked up through the API, which is also the final word before anything is deleted.
"""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import JSON_PATCH, STRATEGIC_PATCH, Client, Obj, resource
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.client.workqueue import WorkQueue, run_workers
from tinykube.machinery.errors import StatusError
from tinykube.registry.resources import RESOURCE_INDEX, Resource

log = logging.getLogger(__name__)

MONITORED = [resource(*pair) for pair in (
    ("v1", "pods"), ("v1", "replicationcontrollers"), ("apps/v1", "replicasets"), ("apps/v1", "deployments"),
    ("apps/v1", "statefulsets"), ("apps/v1", "daemonsets"), ("apps/v1", "controllerrevisions"),
    ("batch/v1", "jobs"), ("batch/v1", "cronjobs"), ("v1", "endpoints"),
    ("v1", "persistentvolumeclaims"))]
ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"
WORKERS = 4


class GarbageCollector:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory,
                 monitored: list[Resource] | None = None) -> None:
        self.client = client
        self.clock = clock
        self.monitored = monitored or MONITORED
        self.informers = [informers.informer(res) for res in self.monitored]
        self.objects: dict[str, tuple[Resource, Obj]] = {}  # uid -> latest object
        self.dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids
        self.queue: WorkQueue[str] = WorkQueue(clock, name="garbage-collector")
        for res, informer in zip(self.monitored, self.informers):
            informer.add_handler(EventHandler(lambda o, r=res: self._seen(r, o),
                                              lambda old, new, r=res: self._seen(r, new, old),
                                              lambda o, r=res: self._gone(o)))

    # ------------------------------------------------------------------ the graph

    def _seen(self, res: Resource, obj: Obj, old: Obj | None = None) -> None:
        meta = obj["metadata"]
        uid = meta.get("uid", "")
        self.objects[uid] = (res, obj)
        old_refs = {r.get("uid") for r in ((old or {}).get("metadata") or {}).get("ownerReferences") or []}
        refs = {r.get("uid") for r in meta.get("ownerReferences") or []}
        for owner in old_refs - refs:
            self.dependents.get(owner, set()).discard(uid)
        for owner in refs:
            self.dependents.setdefault(owner, set()).add(uid)
        if refs or meta.get("deletionTimestamp") and {ORPHAN, FOREGROUND} & set(meta.get("finalizers") or []):
            self.queue.add(uid)

    def _gone(self, obj: Obj) -> None:
        meta = obj["metadata"]
        uid = meta.get("uid", "")
        self.objects.pop(uid, None)
        for ref in meta.get("ownerReferences") or []:
            deps = self.dependents.get(ref.get("uid"))
            if deps is not None:
                deps.discard(uid)
                if not deps:
                    self.dependents.pop(ref.get("uid"), None)
                owner = self.objects.get(ref.get("uid"))
                if owner is not None and owner[1]["metadata"].get("deletionTimestamp"):
                    self.queue.add(ref.get("uid"))  # a foreground owner may be free to go now
        for dependent in self.dependents.get(uid, set()):
            self.queue.add(dependent)

    # ------------------------------------------------------------------ processing

    async def run(self) -> None:
        """Collect while leading; each term starts from a fresh queue over the whole graph."""
        for informer in self.informers:
            await informer.wait_synced()
        self.queue = WorkQueue(self.clock, name="garbage-collector")
        for uid, (_res, obj) in list(self.objects.items()):
            meta = obj["metadata"]
            if meta.get("ownerReferences") or meta.get("deletionTimestamp"):
                self.queue.add(uid)
        try:
            await run_workers(self.queue, self.sync, WORKERS, log)
        finally:
            self.queue.shut_down()

    async def sync(self, uid: str) -> None:
        entry = self.objects.get(uid)
        if entry is None:
            return
        res, obj = entry
        meta = obj["metadata"]
        finalizers = meta.get("finalizers") or []
        if meta.get("deletionTimestamp") and ORPHAN in finalizers:
            await self._orphan_dependents(res, obj)
            return
        if meta.get("deletionTimestamp") and FOREGROUND in finalizers:
            await self._delete_dependents_first(res, obj)
            return
        refs = meta.get("ownerReferences") or []
        if not refs:
            return
        absent, foreground_owner = [], False
        for ref in refs:
            owner = await self._owner(ref, meta.get("namespace", ""))
            if owner is None:
                absent.append(ref)
            elif owner["metadata"].get("deletionTimestamp") and FOREGROUND in (owner["metadata"].get("finalizers") or []) \
                    and ref.get("blockOwnerDeletion"):
                foreground_owner = True
        if absent and len(absent) == len(refs):
            await self._delete(res, obj, "Background")
        elif absent:
            await self._patch_refs(res, obj, [{"$patch": "delete", "uid": r.get("uid")} for r in absent])
        elif foreground_owner and not meta.get("deletionTimestamp"):
            await self._delete(res, obj, "Foreground")

    async def _owner(self, ref: Obj, namespace: str) -> Obj | None:
        """The live owner a reference names (same uid), or None when it no longer exists."""
        known = self.objects.get(ref.get("uid", ""))
        if known is not None:
            return known[1]
        group, _, version = (ref.get("apiVersion") or "").rpartition("/")
        owner_res = RESOURCE_INDEX.by_kind(group, version, ref.get("kind", ""))
        if owner_res is None:
            return {"metadata": {}}  # a kind we do not serve: never delete on its account
        try:
            owner = await self.client.get(owner_res, ref.get("name", ""), namespace if owner_res.namespaced else "")
        except StatusError as exc:
            if exc.code == 404:
                return None
            raise
        return owner if owner["metadata"].get("uid") == ref.get("uid") else None

    async def _delete(self, res: Resource, obj: Obj, policy: str) -> None:
        meta = obj["metadata"]
        try:
            await self.client.delete(res, meta["name"], meta.get("namespace", ""), propagation_policy=policy,
                                     uid=meta.get("uid", ""))
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise

    async def _patch_refs(self, res: Resource, obj: Obj, refs: list[Obj]) -> None:
        meta = obj["metadata"]
        try:
            await self.client.patch(res, meta["name"], {"metadata": {"ownerReferences": refs, "uid": meta["uid"]}},
                                    meta.get("namespace", ""), patch_type=STRATEGIC_PATCH)
        except StatusError as exc:
            if exc.code not in (404, 409, 422):
                raise

    async def _remove_finalizer(self, res: Resource, obj: Obj, finalizer: str) -> None:
        meta = obj["metadata"]
        kept = [f for f in meta.get("finalizers") or [] if f != finalizer]
        try:
            await self.client.patch(res, meta["name"], [
                {"op": "test", "path": "/metadata/uid", "value": meta["uid"]},
                {"op": "replace", "path": "/metadata/finalizers", "value": kept}],
                meta.get("namespace", ""), patch_type=JSON_PATCH)
        except StatusError as exc:
            if exc.code not in (404, 409, 422):
                raise

    async def _orphan_dependents(self, res: Resource, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for dependent in list(self.dependents.get(uid, set())):
            entry = self.objects.get(dependent)
            if entry is not None:
                await self._patch_refs(entry[0], entry[1], [{"$patch": "delete", "uid": uid}])
        await self._remove_finalizer(res, owner, ORPHAN)

    async def _delete_dependents_first(self, res: Resource, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        blocking = 0
        for dependent in list(self.dependents.get(uid, set())):
            entry = self.objects.get(dependent)
            if entry is None:
                continue
            dep_res, dep = entry
            ref = next((r for r in dep["metadata"].get("ownerReferences") or [] if r.get("uid") == uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not dep["metadata"].get("deletionTimestamp"):
                await self._delete(dep_res, dep, "Foreground")
        if not blocking:
            await self._remove_finalizer(res, owner, FOREGROUND)

