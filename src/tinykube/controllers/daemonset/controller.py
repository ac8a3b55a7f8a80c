"""The DaemonSet controller loop: informers, handlers, and one sync per DaemonSet.

Handlers only enqueue DaemonSet keys (a node event only for the DaemonSets whose verdict on
that node changed). A sync, as upstream's syncDaemonSet: judge every node once (util.Placement),
claim revisions and build the history (controllers/history.py), claim pods and group them by the node they
target, then — once earlier creates and deletes were observed — create or delete per node
(`manage`), roll (rolling.py), prune history, and write status.

Daemon pods are not bound here: each gets required node affinity `metadata.name In [node]` and
goes through the scheduler, as upstream's do since 1.12.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from tinykube.client.api import NODES, PODS, STRATEGIC_PATCH, Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.controllers.daemonset import util
from tinykube.controllers.daemonset.rolling import rolling_update
from tinykube.controllers.deployment.util import template_hash
from tinykube.controllers.expectations import Expectations
from tinykube.controllers.history import CONTROLLER_REVISIONS, HashCollision, RevisionHistory
from tinykube.controllers.ownership import claim
from tinykube.controllers.podevents import OwnedPodEvents
from tinykube.controllers.podutil import PodFactsMemo, slow_start_batches
from tinykube.controllers.replicaset import controller_ref, orphans_by_namespace, pod_from_template
from tinykube.machinery.errors import StatusError
from tinykube.machinery.selectors import LabelSelector, label_selector_from_object

log = logging.getLogger(__name__)

DAEMONSETS = resource("apps/v1", "daemonsets")
BURST_REPLICAS = 250  # upstream BurstReplicas: most creates or deletes in one sync
WORKERS = 2
BACKOFF_GC_PERIOD = 60.0


def _selector(ds: Obj) -> LabelSelector | None:
    try:
        return label_selector_from_object((ds.get("spec") or {}).get("selector"))
    except ValueError:
        return None


def _min_ready(ds: Obj) -> int:
    return int((ds.get("spec") or {}).get("minReadySeconds") or 0)


def _placement_inputs(node: Obj) -> tuple:
    """What a verdict depends on: a heartbeat changes none of it."""
    return (node["metadata"].get("labels"), (node.get("spec") or {}).get("taints"))


class DaemonSetController(OwnedPodEvents):
    owner_kind = "DaemonSet"

    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, "daemonset-controller")
        self.daemonsets = informers.informer(DAEMONSETS, {"namespace": by_namespace})
        self.pods = informers.informer(PODS, {"namespace": by_namespace, "controller": by_controller_uid,
                                              "orphans": orphans_by_namespace})
        self.nodes = informers.informer(NODES)
        self.revisions = informers.informer(CONTROLLER_REVISIONS, {"namespace": by_namespace,
                                                                   "controller": by_controller_uid,
                                                                   "orphans": orphans_by_namespace})
        self.history = RevisionHistory(client, self.revisions, util.HASH_LABEL, template_hash,
                                       self._bump_collision_count)
        self.queue: WorkQueue[str] = WorkQueue(clock, name="daemonsets")
        self.expectations = Expectations(clock)
        self.facts = PodFactsMemo()
        self.backoff = util.FailedPodBackoff()
        self._placements: dict[str, tuple[str, util.Placement]] = {}  # uid -> (resourceVersion, rules)
        self.daemonsets.add_handler(EventHandler(self._enqueue, lambda old, new: self._enqueue(new), self._ds_deleted))
        self.nodes.add_handler(EventHandler(self._node_added, self._node_updated, self._node_deleted))
        self.pods.add_handler(EventHandler(self._pod_added, self._pod_updated, self._pod_removed))
        self.revisions.add_handler(EventHandler(self._revision_changed, self._revision_updated,
                                                self._revision_changed))

    # ------------------------------------------------------------------ lookups

    def placement(self, ds: Obj) -> util.Placement:
        """The DaemonSet's compiled placement, recompiled only when it changed."""
        meta = ds["metadata"]
        hit = self._placements.get(meta["uid"])
        if hit is not None and hit[0] == meta.get("resourceVersion"):
            return hit[1]
        rules = util.Placement.of(ds)
        self._placements[meta["uid"]] = (meta.get("resourceVersion", ""), rules)
        return rules

    def owner_by_key(self, key: str) -> Obj | None:
        return self.daemonsets.cache.get(key)

    def owners_selecting(self, obj: Obj) -> list[str]:
        labels = obj["metadata"].get("labels") or {}
        out = []
        for ds in self.daemonsets.cache.by_index("namespace", obj["metadata"].get("namespace", "")):
            selector = _selector(ds)
            if selector is not None and selector.matches(labels):
                out.append(object_key(ds))
        return out

    # ------------------------------------------------------------------ handlers

    def _enqueue(self, ds: Obj) -> None:
        self.queue.add(object_key(ds))

    def _ds_deleted(self, ds: Obj) -> None:
        self.expectations.forget(object_key(ds))
        self._placements.pop(ds["metadata"].get("uid", ""), None)
        self.queue.add(object_key(ds))

    def _node_added(self, node: Obj) -> None:
        for ds in self.daemonsets.cache.list():
            if self.placement(ds).verdict(node).should_run:
                self._enqueue(ds)

    def _node_updated(self, old: Obj, node: Obj) -> None:
        if _placement_inputs(old) == _placement_inputs(node):
            return
        for ds in self.daemonsets.cache.list():
            rules = self.placement(ds)
            if rules.verdict(old) != rules.verdict(node):
                self._enqueue(ds)

    def _node_deleted(self, node: Obj) -> None:
        """Not in upstream (PodGC's deletion of the pod resyncs it later): the counts drop now."""
        for ds in self.daemonsets.cache.list():
            if self.placement(ds).verdict(node) != util.NOT_HERE:
                self._enqueue(ds)

    def _revision_changed(self, rev: Obj) -> None:
        key = self.owner_key_of(rev)
        if key is not None:
            self.queue.add(key)
        elif controller_ref(rev) is None:
            for key in self.owners_selecting(rev):
                self.queue.add(key)

    def _revision_updated(self, old: Obj, rev: Obj) -> None:
        old_key = self.owner_key_of(old)
        if old_key is not None and old_key != self.owner_key_of(rev):
            self.queue.add(old_key)
        self._revision_changed(rev)

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Sync while leading; each term starts from a fresh queue holding every DaemonSet."""
        self.queue = WorkQueue(self.clock, name="daemonsets")
        self.expectations = Expectations(self.clock)
        await run_term(self.queue, self.sync, WORKERS, log,
                       informers=(self.daemonsets, self.pods, self.nodes, self.revisions),
                       keys=lambda: map(object_key, self.daemonsets.cache.list()),
                       companions=[self.recorder.run(), self._backoff_gc()])

    async def _backoff_gc(self) -> None:
        while True:
            await self.clock.sleep(BACKOFF_GC_PERIOD)
            self.backoff.gc(self.clock.time())

    async def sync(self, key: str) -> None:
        cached = self.daemonsets.cache.get(key)
        if cached is None:
            self.expectations.forget(key)
            return
        if cached["metadata"].get("deletionTimestamp"):
            return  # its history may be half gone: upstream leaves status alone too
        ds = copy.deepcopy(cached)
        selector = _selector(ds)
        if selector is None or not ((ds.get("spec") or {}).get("selector") or {}):
            return  # validation refuses empty and invalid selectors
        try:
            await self._sync(key, ds, selector)
        except HashCollision:
            self.queue.add_rate_limited(key)
        except StatusError as exc:
            retry_stale(self.queue, key, exc)  # gone meanwhile, or acted on a stale view

    async def _sync(self, key: str, ds: Obj, selector: LabelSelector) -> None:
        rules = self.placement(ds)
        nodes = self.nodes.cache.list()
        verdicts = {node["metadata"]["name"]: rules.verdict(node) for node in nodes}
        uid, namespace = ds["metadata"]["uid"], ds["metadata"]["namespace"]
        revisions = await claim(self.client, CONTROLLER_REVISIONS, ds, selector,
                                self.revisions.cache.by_index("controller", uid),
                                self.revisions.cache.by_index("orphans", namespace))
        pods = await claim(self.client, PODS, ds, selector, self.pods.cache.by_index("controller", uid),
                           self.pods.cache.by_index("orphans", namespace))
        template = (ds.get("spec") or {}).get("template") or {}
        collisions = (ds.get("status") or {}).get("collisionCount")
        current, old = await self.history.construct(ds, revisions, template, collisions,
                                                    relabel=lambda keep: self._relabel(pods, keep))
        hash_ = (current["metadata"].get("labels") or {}).get(util.HASH_LABEL, "")
        nodes_to_pods = self._nodes_to_pods(pods)
        if not self.expectations.satisfied(key):
            await self._update_status(ds, verdicts, nodes_to_pods, hash_, observe=False)
            return
        await self._manage(key, ds, verdicts, nodes_to_pods, hash_)
        if self.expectations.satisfied(key) and util.is_rolling_update(ds):
            now = self.clock.time()
            plan = rolling_update(ds, verdicts, nodes_to_pods, hash_,
                                  lambda p: self.facts.of(p).available(_min_ready(ds), now))
            await self.sync_nodes(key, ds, plan.delete, plan.create, hash_)
        limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10))
        live = {(p["metadata"].get("labels") or {}).get(util.HASH_LABEL) for p in pods}
        await self.history.prune(old, limit, {h for h in live if h})
        await self._update_status(ds, verdicts, nodes_to_pods, hash_, observe=True)

    def _nodes_to_pods(self, pods: list[Obj]) -> dict[str, list[Obj]]:
        """Claimed pods by target node, leaving out terminal pods already being deleted."""
        out: dict[str, list[Obj]] = {}
        for pod in pods:
            if util.deleting(pod) and util.phase(pod) in ("Succeeded", "Failed"):
                continue
            node = util.target_node_name(pod)
            if node is not None:
                out.setdefault(node, []).append(pod)
        return out

    async def _relabel(self, pods: list[Obj], keep: Obj) -> None:
        """Before duplicate revisions go, pods carrying their hash take the kept one's."""
        hash_ = (keep["metadata"].get("labels") or {}).get(util.HASH_LABEL, "")
        for pod in pods:
            if (pod["metadata"].get("labels") or {}).get(util.HASH_LABEL) != hash_:
                meta = pod["metadata"]
                await self.client.patch(PODS, meta["name"], {"metadata": {"labels": {util.HASH_LABEL: hash_}}},
                                        meta["namespace"], patch_type=STRATEGIC_PATCH)

    async def _bump_collision_count(self, ds: Obj) -> None:
        fresh = await self.client.get(DAEMONSETS, ds["metadata"]["name"], ds["metadata"]["namespace"])
        status = dict(fresh.get("status") or {})
        if status.get("collisionCount") != (ds.get("status") or {}).get("collisionCount"):
            return  # our count was stale; the retry uses the fresh one
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.client.update_status(DAEMONSETS, dict(fresh, status=status))

    # ------------------------------------------------------------------ manage

    async def _manage(self, key: str, ds: Obj, verdicts: dict[str, util.Verdict],
                      nodes_to_pods: dict[str, list[Obj]], hash_: str) -> None:
        """Per node: start a missing daemon pod, remove surplus, misplaced, finished ones."""
        surge = util.allows_surge(ds)
        now = self.clock.time()
        min_ready = _min_ready(ds)
        create: list[str] = []
        delete: list[Obj] = []
        for name, verdict in verdicts.items():
            plan = util.plan_node(verdict, nodes_to_pods.get(name), surge, hash_, self.facts.of, min_ready, now)
            if plan.create:
                create.append(name)
            delete.extend(plan.delete)
            for pod in plan.succeeded:
                self.recorder.event(ds, "Normal", "SucceededDaemonPod",
                                    f"Found succeeded daemon pod {ds['metadata']['namespace']}/"
                                    f"{pod['metadata']['name']} on node {name}, will try to delete it")
                delete.append(pod)
            for pod in plan.failed:
                backoff = util.backoff_key(ds, name)
                if self.backoff.in_backoff(backoff, now):
                    self.queue.add_after(key, self.backoff.delay(backoff))
                    continue
                self.backoff.next(backoff, now)
                self.recorder.event(ds, "Warning", "FailedDaemonPod",
                                    f"Found failed daemon pod {ds['metadata']['namespace']}/"
                                    f"{pod['metadata']['name']} on node {name}, will try to kill it")
                delete.append(pod)
        delete.extend(util.unscheduled_without_node(nodes_to_pods, set(verdicts)))
        await self.sync_nodes(key, ds, delete, create, hash_)

    async def sync_nodes(self, key: str, ds: Obj, delete: list[Obj], create: list[str], hash_: str) -> None:
        """syncNodes: delete these pods and start daemon pods on these nodes, at most
        BURST_REPLICAS of each, creates in slow-start batches; expectations first."""
        create, delete = create[:BURST_REPLICAS], delete[:BURST_REPLICAS]
        self.expectations.expect(key, len(create), [object_key(p) for p in delete])
        errors: list[str] = []
        template = util.daemon_pod_template(ds, hash_)
        start = 0
        for size in slow_start_batches(len(create)):
            batch = create[start:start + size]
            start += size
            results = await asyncio.gather(*(self._create(ds, template, node) for node in batch),
                                           return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            for _ in failures:
                self.expectations.creations_skipped(key, 1)
            if failures:
                errors.extend(str(f) for f in failures)
                self.expectations.creations_skipped(key, len(create) - start)
                break
        results = await asyncio.gather(*(self._delete(key, ds, pod) for pod in delete), return_exceptions=True)
        errors.extend(str(r) for r in results if isinstance(r, BaseException))
        if errors:
            raise RuntimeError(f"syncing daemon pods of {key}: {errors[0]}")

    async def _create(self, ds: Obj, template: Obj, node: str) -> None:
        pod = pod_from_template(ds, template)
        pod["spec"]["affinity"] = util.node_name_affinity(pod["spec"].get("affinity"), node)
        try:
            created = await self.client.create(PODS, pod)
        except StatusError as exc:
            if exc.code == 403 and "being terminated" in exc.message:
                return  # the namespace is going away: every create will fail, quietly
            self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            raise
        self.recorder.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    async def _delete(self, key: str, ds: Obj, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete(PODS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
        except StatusError as exc:
            self.expectations.deletion_observed(key, object_key(pod))
            if exc.code in (404, 409):
                return
            self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
            raise
        self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    # ------------------------------------------------------------------ status

    async def _update_status(self, ds: Obj, verdicts: dict[str, util.Verdict], nodes_to_pods: dict[str, list[Obj]],
                             hash_: str, observe: bool) -> None:
        min_ready = _min_ready(ds)
        counts = util.count_status(verdicts, nodes_to_pods, hash_, self.facts.of, min_ready, self.clock.time())
        old = ds.get("status") or {}
        generation = ds["metadata"].get("generation", 1)
        status = dict(old)
        status.update(counts.status_fields())
        if observe:
            status["observedGeneration"] = generation
        unchanged = all(int(old.get(k) or 0) == v for k, v in counts.status_fields().items())
        if not (unchanged and int(old.get("observedGeneration") or 0) >= generation):
            try:
                await self.client.update_status(DAEMONSETS, dict(ds, status=status))
            except StatusError as exc:
                if exc.code == 409:
                    self.queue.add_rate_limited(object_key(ds))
                elif exc.code != 404:
                    raise
        if min_ready and counts.ready != counts.available:
            self.queue.add_after(object_key(ds), min_ready)
