"""The StatefulSet controller loop: informers, handlers, and one sync's reads and writes.

Handlers only enqueue set keys. A sync claims the set's ControllerRevisions and pods (adopting
matching orphans whose names carry the set's name, releasing owned ones whose labels stopped
matching), finds or creates the update revision (controllers/history.py), asks util.plan for the writes
and the status, performs the writes in order until one fails, writes status, and trims the
history. Names are deterministic, so a repeated create only meets AlreadyExists; expectations
still keep a sync from acting again before the informers have seen its previous writes, so a
stale cache never deletes a pod twice or orders a pod before its predecessor is seen.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any, Iterator, Mapping

from tinykube.client.api import PODS, STRATEGIC_PATCH, Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.controllers.expectations import Expectations
from tinykube.controllers.podutil import is_ready, slow_start_batches
from tinykube.controllers.replicaset import controller_ref, orphans_by_namespace, owner_reference
from tinykube.controllers import history
from tinykube.controllers.statefulset import util
from tinykube.machinery.errors import StatusError
from tinykube.machinery.selectors import LabelSelector, label_selector_from_object
from tinykube.registry.resources import Resource

log = logging.getLogger(__name__)

STATEFULSETS = resource("apps/v1", "statefulsets")
CLAIMS = resource("v1", "persistentvolumeclaims")
WORKERS = 5
DEFAULT_HISTORY_LIMIT = 10


class ClaimLookup(Mapping[str, Obj]):
    """A namespace's claims by name, read from the informer cache (what util.plan reads)."""

    def __init__(self, cache: Any, namespace: str) -> None:
        self.cache = cache
        self.namespace = namespace

    def __getitem__(self, name: str) -> Obj:
        found = self.cache.get(f"{self.namespace}/{name}")
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self) -> Iterator[str]:
        return (c["metadata"]["name"] for c in self.cache.by_index("namespace", self.namespace))

    def __len__(self) -> int:
        return self.cache.index_size("namespace", self.namespace)


class StatefulSetController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, "statefulset-controller")
        self.revisions_writer = history.RevisionWriter(client)
        self.sets = informers.informer(STATEFULSETS, {"namespace": by_namespace})
        self.pods = informers.informer(PODS, {"namespace": by_namespace, "controller": by_controller_uid,
                                              "orphans": orphans_by_namespace})
        self.revisions = informers.informer(history.CONTROLLER_REVISIONS, {
            "controller": by_controller_uid, "orphans": orphans_by_namespace})
        self.claims = informers.informer(CLAIMS, {"namespace": by_namespace})
        self.queue: WorkQueue[str] = WorkQueue(clock, name="statefulsets")
        self.expectations = Expectations(clock)
        self.sets.add_handler(EventHandler(self._enqueue, lambda old, new: self._enqueue(new), self._set_deleted))
        self.pods.add_handler(EventHandler(self._pod_added, self._pod_updated, self._pod_removed))
        self.claims.add_handler(EventHandler(None, None, self._claim_removed))

    # ------------------------------------------------------------------ handlers

    def _enqueue(self, sts: Obj) -> None:
        self.queue.add(object_key(sts))

    def _set_deleted(self, sts: Obj) -> None:
        self.expectations.forget(object_key(sts))
        self.queue.add(object_key(sts))

    def _owner_of(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "StatefulSet":
            return None
        key = f"{pod['metadata']['namespace']}/{ref.get('name')}"
        sts = self.sets.cache.get(key)
        return key if sts is not None and sts["metadata"].get("uid") == ref.get("uid") else None

    def _selecting(self, obj: Obj) -> list[str]:
        labels = obj["metadata"].get("labels") or {}
        keys = []
        for sts in self.sets.cache.by_index("namespace", obj["metadata"]["namespace"]):
            selector = _selector(sts)
            if selector is not None and selector.matches(labels):
                keys.append(object_key(sts))
        return keys

    def _pod_added(self, pod: Obj) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.creation_observed(owner)
            if util.is_terminating(pod):
                self.expectations.deletion_observed(owner, object_key(pod))
            self.queue.add(owner)
        elif controller_ref(pod) is None:
            for key in self._selecting(pod):
                self.queue.add(key)

    def _pod_updated(self, old: Obj, pod: Obj) -> None:
        old_owner, owner = self._owner_of(old), self._owner_of(pod)
        if old_owner and old_owner != owner:
            self.queue.add(old_owner)
        if owner is None:
            if controller_ref(pod) is None:
                for key in self._selecting(pod):
                    self.queue.add(key)
            return
        if util.is_terminating(pod):
            self.expectations.deletion_observed(owner, object_key(pod))
        self.queue.add(owner)
        sts = self.sets.cache.get(owner)
        min_ready = util.min_ready_seconds(sts) if sts else 0
        if min_ready and not is_ready(old) and is_ready(pod):
            self.queue.add_after(owner, min_ready + 1)  # look again once it is available

    def _pod_removed(self, pod: Obj) -> None:
        owner = self._owner_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(owner, object_key(pod))
            self.queue.add(owner)

    def _claim_removed(self, claim: Obj) -> None:
        """A claim the garbage collector removed may unblock a pod waiting on a stale claim."""
        for key in self._selecting(claim):
            self.queue.add(key)

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name="statefulsets")
        self.expectations = Expectations(self.clock)
        await run_term(self.queue, self.sync, WORKERS, log,
                       informers=(self.sets, self.pods, self.revisions, self.claims),
                       keys=lambda: map(object_key, self.sets.cache.list()), companions=[self.recorder.run()])

    async def sync(self, key: str) -> None:
        cached = self.sets.cache.get(key)
        if cached is None:
            self.expectations.forget(key)
            return
        sts = copy.deepcopy(cached)
        selector = _selector(sts)
        if selector is None:
            return  # validation keeps invalid selectors out; nothing sensible to do
        try:
            await self._sync(key, sts, selector)
        except StatusError as exc:
            retry_stale(self.queue, key, exc)  # gone meanwhile, or acted on a stale view

    async def _sync(self, key: str, sts: Obj, selector: LabelSelector) -> None:
        uid, namespace = sts["metadata"]["uid"], sts["metadata"]["namespace"]
        revisions = history.sort_revisions(await self._claim(
            history.CONTROLLER_REVISIONS, sts, selector,
            self.revisions.cache.by_index("controller", uid) +
            [r for r in self.revisions.cache.by_index("orphans", namespace)
             if r["metadata"].get("namespace") == namespace]))
        pods = await self._claim(PODS, sts, selector,
                                 self.pods.cache.by_index("controller", uid) +
                                 self.pods.cache.by_index("orphans", namespace),
                                 lambda pod: util.is_member(sts, pod))
        current, update, collisions = await self._revisions(sts, revisions)
        now = self.clock.time()
        claims = ClaimLookup(self.claims.cache, namespace)
        plan = util.plan(sts, pods, _as_plan_revision(current), _as_plan_revision(update), claims, now, collisions)
        error = None
        if self.expectations.satisfied(key):
            error = await self._perform(key, sts, plan.actions, claims)
        await self._write_status(sts, plan.status)
        await self._truncate(sts, revisions, pods, {current["metadata"]["name"], update["metadata"]["name"]})
        if error is not None:
            raise error
        if plan.recheck_in is not None:
            self.queue.add_after(key, plan.recheck_in + 0.1)

    # ------------------------------------------------------------------ ownership

    async def _claim(self, res: Resource, sts: Obj, selector: LabelSelector, candidates: list[Obj],
                     member: Any = None) -> list[Obj]:
        """Objects the set controls: its own that still match, plus adopted matching orphans."""
        uid = sts["metadata"]["uid"]
        deleting = bool(sts["metadata"].get("deletionTimestamp"))
        mine, seen = [], set()
        for obj in candidates:
            meta = obj["metadata"]
            if meta["uid"] in seen:
                continue
            seen.add(meta["uid"])
            matches = selector.matches(meta.get("labels") or {}) and (member is None or member(obj))
            ref = controller_ref(obj)
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    mine.append(obj)
                elif not deleting:
                    await self._patch_owners(res, obj, [{"$patch": "delete", "uid": uid}])
                continue
            if matches and not deleting and not meta.get("deletionTimestamp"):
                adopted = await self._patch_owners(res, obj, [owner_reference(sts)])
                if adopted is not None:
                    mine.append(adopted)
        return mine

    async def _patch_owners(self, res: Resource, obj: Obj, refs: list[Obj]) -> Obj | None:
        meta = obj["metadata"]
        try:
            return await self.client.patch(res, meta["name"], {"metadata": {"ownerReferences": refs, "uid": meta["uid"]}},
                                           meta["namespace"], patch_type=STRATEGIC_PATCH)
        except StatusError as exc:
            if exc.code in (404, 409, 422):
                return None
            raise

    # ------------------------------------------------------------------ revisions

    async def _revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """(current revision, update revision, collision count): upstream getStatefulSetRevisions."""
        status = sts.get("status") or {}
        collisions = int(status.get("collisionCount") or 0)
        template = util.spec_of(sts).get("template") or {}
        number = history.next_number(revisions)
        choice, found = history.choose_update_revision(revisions, {"data": history.template_patch(template)})
        if choice == "keep" and found is not None:
            update = found
        elif choice == "renumber" and found is not None:
            update = await self.revisions_writer.renumber(found, number)
        else:
            update, collisions = await self._create_revision(sts, template, number, collisions)
        current = next((r for r in revisions if r["metadata"]["name"] == status.get("currentRevision")), update)
        return current, update, collisions

    async def _create_revision(self, sts: Obj, template: Obj, number: int, collisions: int) -> tuple[Obj, int]:
        """CreateControllerRevision: a name taken by other data bumps the collision count and
        tries the next name. Returns (revision, count)."""
        data = history.template_patch(template)
        while True:
            revision = history.new_revision(sts, template, number, history.revision_hash(data, collisions),
                                            util.HASH_LABEL)
            created = await self.revisions_writer.create(revision)
            if created is not None:
                return created, collisions
            collisions += 1

    async def _truncate(self, sts: Obj, revisions: list[Obj], pods: list[Obj], live: set[str]) -> None:
        live |= {util.revision_of(p) for p in pods}
        limit = util.spec_of(sts).get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
        await self.revisions_writer.delete(history.history_to_delete(revisions, live, limit))

    # ------------------------------------------------------------------ writes

    async def _perform(self, key: str, sts: Obj, actions: list[util.Action], claims: ClaimLookup) -> Exception | None:
        """Do the plan's writes in order; the first failure stops the rest (and is returned).
        Under Parallel the creations go out together, in slow-start batches."""
        creates = [a for a in actions if a.kind == "create"] if util.is_parallel(sts) else []
        try:
            for action in actions:
                if action.kind == "create" and creates:
                    continue
                await self._do(key, sts, action, claims)
            for size in slow_start_batches(len(creates)):
                batch, creates = creates[:size], creates[size:]
                results = await asyncio.gather(*(self._do(key, sts, a, claims) for a in batch),
                                               return_exceptions=True)
                failure = next((r for r in results if isinstance(r, Exception)), None)
                if failure is not None:
                    raise failure
        except StatusError as exc:
            if exc.code == 409 and exc.reason == "AlreadyExists":
                self.queue.add_rate_limited(key)  # the cache had not seen it yet: look again
                return None
            return exc
        except _ClaimsFailed as exc:
            return exc
        return None

    async def _do(self, key: str, sts: Obj, action: util.Action, claims: ClaimLookup) -> None:
        pod = action.pod
        if action.kind == "create":
            await self._create_claims(sts, pod, claims)
            await self._create_pod(key, sts, pod)
        elif action.kind == "claims":
            await self._create_claims(sts, pod, claims)
        elif action.kind == "delete":
            await self._delete_pod(key, sts, pod, action.reason)
        elif action.kind == "identity":
            await self._fix_identity(sts, pod)
        elif action.kind == "owners":
            await self._fix_claim_owners(sts, pod, claims)

    async def _create_claims(self, sts: Obj, pod: Obj, claims: ClaimLookup) -> None:
        """Each missing claim of the pod, owned as the retention policy says (upstream
        createPersistentVolumeClaims, with the ownerReferences it sets right after)."""
        errors = []
        for claim in util.claims_for(sts, util.ordinal_of(pod)).values():
            name = claim["metadata"]["name"]
            if name in claims:
                continue
            refs = util.claim_owner_refs(claim, sts, pod)
            if refs:
                claim["metadata"]["ownerReferences"] = refs
            try:
                await self.client.create(CLAIMS, claim)
            except StatusError as exc:
                if exc.code == 409 and exc.reason == "AlreadyExists":
                    continue
                errors.append(f"failed to create PVC {name}: {exc.message}")
                self._claim_event(sts, pod, name, exc.message)
                continue
            self._claim_event(sts, pod, name, None)
        if errors:
            message = "; ".join(errors)
            self._pod_event("create", sts, pod, message)
            raise _ClaimsFailed(message)

    async def _create_pod(self, key: str, sts: Obj, pod: Obj) -> None:
        self.expectations.raise_expectations(key, adds=1)
        try:
            await self.client.create(PODS, copy.deepcopy(pod))
        except StatusError as exc:
            self.expectations.creations_skipped(key, 1)
            if not (exc.code == 409 and exc.reason == "AlreadyExists"):
                self._pod_event("create", sts, pod, exc.message)
            raise
        self._pod_event("create", sts, pod, None)

    async def _delete_pod(self, key: str, sts: Obj, pod: Obj, reason: str) -> None:
        meta = pod["metadata"]
        if reason == "Failed":
            self.recorder.event(sts, "Warning", "RecreatingFailedPod",
                                f"StatefulSet {meta['namespace']}/{sts['metadata']['name']} is recreating failed Pod {meta['name']}")
        elif reason == "Succeeded":
            self.recorder.event(sts, "Normal", "RecreatingTerminatedPod",
                                f"StatefulSet {meta['namespace']}/{sts['metadata']['name']} is recreating terminated Pod {meta['name']}")
        self.expectations.raise_expectations(key, pod_keys=(object_key(pod),))
        try:
            await self.client.delete(PODS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
        except StatusError as exc:
            self.expectations.deletion_observed(key, object_key(pod))
            if exc.code == 404:
                return
            self._pod_event("delete", sts, pod, exc.message)
            raise
        self._pod_event("delete", sts, pod, None)

    async def _fix_identity(self, sts: Obj, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            await self.client.patch(PODS, meta["name"], {"metadata": {"labels": util.identity_labels(sts, pod),
                                                                      "resourceVersion": meta["resourceVersion"]}},
                                    meta["namespace"])
        except StatusError as exc:
            self._pod_event("update", sts, pod, exc.message)
            raise
        self._pod_event("update", sts, pod, None)

    async def _fix_claim_owners(self, sts: Obj, pod: Obj, claims: ClaimLookup) -> None:
        for claim in util.claims_needing_owners(sts, pod, claims):
            meta = claim["metadata"]
            refs = util.claim_owner_refs(claim, sts, pod)
            await self.client.patch(CLAIMS, meta["name"], {"metadata": {"ownerReferences": refs or None,
                                                                        "resourceVersion": meta["resourceVersion"]}},
                                    meta["namespace"])

    async def _write_status(self, sts: Obj, status: Obj) -> None:
        old = sts.get("status") or {}
        wanted = util.wire_status(status, old)
        if wanted == old:
            return
        try:
            await self.client.update_status(STATEFULSETS, dict(sts, status=wanted))
        except StatusError as exc:
            if exc.code == 409:
                self.queue.add_rate_limited(object_key(sts))
            elif exc.code != 404:
                raise

    # ------------------------------------------------------------------ events (upstream's words)

    def _pod_event(self, verb: str, sts: Obj, pod: Obj, error: str | None) -> None:
        name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        if error is None:
            self.recorder.event(sts, "Normal", f"Successful{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} successful")
        else:
            self.recorder.event(sts, "Warning", f"Failed{verb.title()}",
                                f"{verb} Pod {name} in StatefulSet {set_name} failed error: {error}")

    def _claim_event(self, sts: Obj, pod: Obj, claim: str, error: str | None) -> None:
        name, set_name = pod["metadata"]["name"], sts["metadata"]["name"]
        if error is None:
            self.recorder.event(sts, "Normal", "SuccessfulCreate",
                                f"create Claim {claim} Pod {name} in StatefulSet {set_name} success")
        else:
            self.recorder.event(sts, "Warning", "FailedCreate",
                                f"create Claim {claim} for Pod {name} in StatefulSet {set_name} failed error: {error}")


class _ClaimsFailed(Exception):
    """Some claims of a pod could not be created: the pod is not created either."""


def _as_plan_revision(revision: Obj) -> util.Revision:
    return util.Revision(revision["metadata"]["name"], history.template_of(revision))


def _selector(sts: Obj) -> LabelSelector | None:
    try:
        return label_selector_from_object(util.spec_of(sts).get("selector"))
    except ValueError:
        return None
