"""ReplicaSets and ReplicationControllers: keep `replicas` pods matching the selector.

One controller serves both kinds (they differ only in how the selector is written). The
client-go shape: informer handlers enqueue owner keys; `sync` re-reads the caches, claims
pods (adopting matching orphans, releasing owned pods whose labels stopped matching), creates
or deletes the difference (creates in slow-start batches, guarded by expectations so a burst of
events never over-creates; deletions ranked as upstream ranks them), and writes status.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import orjson

from tinykube.client.api import PODS, STRATEGIC_PATCH, Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, run_term
from tinykube.controllers.expectations import Expectations
from tinykube.controllers.podevents import OwnedPodEvents, controller_ref
from tinykube.controllers.podtally import CONTROLLER_INDEX, OwnerTally, PodTallies, contribution
from tinykube.controllers.podutil import PodFactsMemo, pods_to_delete, slow_start_batches
from tinykube.machinery.errors import StatusError
from tinykube.machinery.jsoncopy import json_copy
from tinykube.machinery.selectors import LabelSelector, label_selector_from_map, label_selector_from_object
from tinykube.registry.resources import Resource

log = logging.getLogger(__name__)

REPLICASETS = resource("apps/v1", "replicasets")
REPLICATION_CONTROLLERS = resource("v1", "replicationcontrollers")
BURST_REPLICAS = 500  # upstream's burstReplicas: most creates or deletes in one sync
WORKERS = 5


def orphans_by_namespace(obj: Obj) -> list[str]:
    """Index of objects without a controller, by namespace: the only adoption candidates."""
    return [obj["metadata"].get("namespace", "")] if controller_ref(obj) is None else []


def owner_reference(owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {"apiVersion": owner.get("apiVersion", ""), "kind": owner.get("kind", ""), "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_from_template(owner: Obj, template: Obj | None = None) -> Obj:
    """The pod an owner's template (or `template`) describes, named `<owner>-<5 random chars>`
    by the API."""
    template = json_copy(template if template is not None else (owner.get("spec") or {}).get("template") or {})
    meta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": owner["metadata"]["name"] + "-", "namespace": owner["metadata"]["namespace"],
                     "ownerReferences": [owner_reference(owner)]}
    for key in ("labels", "annotations", "finalizers"):
        if meta.get(key):
            pod_meta[key] = meta[key]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}}


class ReplicaController(OwnedPodEvents):
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, res: Resource) -> None:
        self.client = client
        self.clock = clock
        self.res = res
        self.is_rc = res.kind == "ReplicationController"
        self.owner_kind = res.kind
        self.recorder = EventRecorder(client, clock, "replication-controller" if self.is_rc else "replicaset-controller")
        self.owners = informers.informer(res, {"namespace": by_namespace})
        self.pods = informers.informer(PODS, {"namespace": by_namespace, CONTROLLER_INDEX: by_controller_uid,
                                              "orphans": orphans_by_namespace})
        self.queue: WorkQueue[str] = WorkQueue(clock, name=res.plural)
        self.expectations = Expectations(clock)
        self.facts = PodFactsMemo()
        self.tallies = PodTallies(self.pods.cache, self.facts.of)
        self.owners.add_handler(EventHandler(self._owner_changed, lambda old, new: self._owner_changed(new),
                                             self._owner_deleted))
        self.pods.add_handler(EventHandler(self.tallies.touched, self.tallies.pod_updated, self.tallies.touched))
        self.pods.add_handler(EventHandler(self._pod_added, self._pod_updated, self._pod_removed))

    # ------------------------------------------------------------------ selectors and ownership

    def selector(self, owner: Obj) -> LabelSelector:
        spec = owner.get("spec") or {}
        if self.is_rc:
            return label_selector_from_map(spec.get("selector") or ((spec.get("template") or {}).get("metadata") or {}).get("labels"))
        return label_selector_from_object(spec.get("selector"))

    def owner_by_key(self, key: str) -> Obj | None:
        return self.owners.cache.get(key)

    def owners_selecting(self, pod: Obj) -> list[str]:
        labels = pod["metadata"].get("labels") or {}
        out = []
        for owner in self.owners.cache.by_index("namespace", pod["metadata"]["namespace"]):
            try:
                if self.selector(owner).matches(labels):
                    out.append(object_key(owner))
            except ValueError:
                continue
        return out

    # ------------------------------------------------------------------ handlers

    def _owner_changed(self, owner: Obj) -> None:
        self.queue.add(object_key(owner))

    def _owner_deleted(self, owner: Obj) -> None:
        key = object_key(owner)
        self.expectations.forget(key)
        self.tallies.forget(owner["metadata"].get("uid", ""))
        self.queue.add(key)

    # ------------------------------------------------------------------ sync

    async def run(self) -> None:
        """Sync while leading; each term starts from a fresh queue holding every owner."""
        self.queue = WorkQueue(self.clock, name=self.res.plural)
        self.expectations = Expectations(self.clock)
        self.tallies.clear()
        await run_term(self.queue, self.sync, WORKERS, log, informers=(self.owners, self.pods),
                       keys=lambda: map(object_key, self.owners.cache.list()), companions=[self.recorder.run()])

    async def sync(self, key: str) -> None:
        owner = self.owners.cache.get(key)
        if owner is None:
            self.expectations.forget(key)
            return
        try:
            selector = self.selector(owner)
        except ValueError:
            return  # validation keeps invalid selectors out; nothing sensible to do
        meta, spec = owner["metadata"], owner.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        now = self.clock.time()
        signature = orjson.dumps([spec.get("selector"), template_labels, min_ready], option=orjson.OPT_SORT_KEYS)
        tally = self.tallies.refresh(meta["uid"], signature, selector, template_labels, min_ready, now)
        # claiming: release controlled pods whose labels stopped matching, adopt matching orphans
        # (never scanning pods other controllers own)
        adopted: list[Obj] = []
        if not meta.get("deletionTimestamp"):
            for pod_key in list(tally.unmatched):
                pod = self.pods.cache.get(pod_key)
                if pod is not None:
                    await self._patch_owner_refs(pod, [{"$patch": "delete", "uid": meta["uid"]}])
            adopted = await self._adopt(owner, selector, self.pods.cache.by_index("orphans", meta["namespace"]))
        extra = [contribution(self.facts.of(p), p["metadata"].get("labels") or {}, selector,
                              template_labels.items(), min_ready, now) for p in adopted]
        replicas = tally.matching + len(adopted)
        error: str | None = None
        if self.expectations.satisfied(key) and not meta.get("deletionTimestamp"):
            error = await self._manage(key, owner, replicas, lambda: self._claimed_pods(tally, adopted))
        counts = {"replicas": replicas,
                  "fullyLabeledReplicas": tally.fully_labeled + sum(c.fully_labeled for c in extra),
                  "readyReplicas": tally.ready + sum(c.ready for c in extra),
                  "availableReplicas": tally.available + sum(c.available for c in extra)}
        waiting = [tally.entries[k] for k in tally.waiting] + [c for c in extra if c.ready and not c.available]
        lefts = [c.ready_since + min_ready - now for c in waiting if c.ready_since is not None]
        await self._update_status(owner, counts, min(lefts, default=None), error)

    def _claimed_pods(self, tally: OwnerTally, adopted: list[Obj]) -> list[Obj]:
        pods = (self.pods.cache.get(k) for k in tally.matching_keys())
        return [p for p in pods if p is not None] + adopted

    async def _adopt(self, owner: Obj, selector: LabelSelector, orphans: list[Obj]) -> list[Obj]:
        """The orphans this owner now controls (matching, active, not being deleted)."""
        adopted = []
        for pod in orphans:
            if not self.facts.of(pod).active or not selector.matches(pod["metadata"].get("labels") or {}):
                continue
            if await self._patch_owner_refs(pod, [owner_reference(owner)]):
                adopted.append(pod)
        return adopted

    async def _patch_owner_refs(self, pod: Obj, refs: list[Obj]) -> bool:
        meta = pod["metadata"]
        try:
            await self.client.patch(PODS, meta["name"], {"metadata": {"ownerReferences": refs, "uid": meta["uid"]}},
                                    meta["namespace"], patch_type=STRATEGIC_PATCH)
            return True
        except StatusError as exc:
            if exc.code in (404, 409, 422):
                return False
            raise

    async def _manage(self, key: str, owner: Obj, replicas: int, pods: Callable[[], list[Obj]]) -> str | None:
        """Create or delete the difference to spec.replicas; `pods` lists the claimed pods
        (only needed to choose which to delete)."""
        wanted = int((owner.get("spec") or {}).get("replicas", 1))
        diff = replicas - wanted
        if diff < 0:
            return await self._create(key, owner, min(-diff, BURST_REPLICAS))
        if diff > 0:
            return await self._delete(key, owner, pods(), min(diff, BURST_REPLICAS))
        return None

    async def _create(self, key: str, owner: Obj, count: int) -> str | None:
        self.expectations.expect_creations(key, count)
        template = pod_from_template(owner)
        sent = 0
        for batch in slow_start_batches(count):
            results = await asyncio.gather(*(self.client.create(PODS, json_copy(template)) for _ in range(batch)),
                                           return_exceptions=True)
            sent += batch
            failures = [r for r in results if isinstance(r, BaseException)]
            for created in results:
                if not isinstance(created, BaseException):
                    self.recorder.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
            if failures:
                self.expectations.creations_skipped(key, len(failures) + count - sent)
                message = failures[0].message if isinstance(failures[0], StatusError) else str(failures[0])
                self.recorder.event(owner, "Warning", "FailedCreate", f"Error creating: {message}")
                return message
        return None

    async def _delete(self, key: str, owner: Obj, pods: list[Obj], count: int) -> str | None:
        doomed = pods_to_delete(pods, pods, count, self.clock.time())
        self.expectations.expect_deletions(key, [object_key(p) for p in doomed])
        error = None
        for pod in doomed:
            meta = pod["metadata"]
            try:
                await self.client.delete(PODS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
                self.recorder.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")
            except StatusError as exc:
                self.expectations.deletion_observed(key, object_key(pod))
                if exc.code not in (404, 409):
                    error = exc.message
                    self.recorder.event(owner, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
        return error

    async def _update_status(self, owner: Obj, counts: dict[str, int], soonest: float | None,
                             error: str | None) -> None:
        """Write the counts (zero counts are omitted, as upstream's omitempty does) and the
        ReplicaFailure condition; `soonest` is when the next ready pod becomes available."""
        spec = owner.get("spec") or {}
        old = owner.get("status") or {}
        status: Obj = {"replicas": counts["replicas"]}
        for name in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if counts[name]:
                status[name] = counts[name]
        status["observedGeneration"] = owner["metadata"].get("generation", 1)
        conditions = [c for c in old.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        if error is not None:
            previous = next((c for c in old.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
            reason = "FailedCreate" if counts["replicas"] < int(spec.get("replicas", 1)) else "FailedDelete"
            conditions.append({"type": "ReplicaFailure", "status": "True", "reason": reason, "message": error,
                               "lastTransitionTime": (previous or {}).get("lastTransitionTime") or self.clock.rfc3339()})
        if conditions:
            status["conditions"] = conditions
        if self.is_rc:
            status.pop("terminatingReplicas", None)
        if status != old:
            try:
                await self.client.update_status(self.res, dict(owner, status=status))
            except StatusError as exc:
                if exc.code == 409:
                    self.queue.add_rate_limited(object_key(owner))
                elif exc.code != 404:
                    raise
        if soonest is not None:
            self.queue.add_after(object_key(owner), max(0.0, soonest) + 0.1)
