"""The Deployment controller loop: informers, handlers, and which path a sync takes.

Handlers only enqueue deployment keys. A sync claims the deployment's ReplicaSets (adopting
matching orphans, releasing ones whose labels stopped matching), then takes one path as
upstream's syncDeployment does: a paused deployment or a change of spec.replicas only scales
(proportionally, mid-rollout); otherwise the strategy rolls (rolling.py, recreate.py). Each
path ends by writing status (sync.py, progress.py).
"""

from __future__ import annotations

import logging
from typing import Any

from tinykube.client.api import PODS, STRATEGIC_PATCH, Client, Obj, object_key
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, retry_stale, run_term
from tinykube.controllers.deployment import progress, util
from tinykube.controllers.deployment.recreate import rollout_recreate
from tinykube.controllers.deployment.rolling import rollout_rolling
from tinykube.controllers.deployment.sync import DEPLOYMENTS, DeploymentSync, HashCollision
from tinykube.controllers.replicaset import REPLICASETS, controller_ref, owner_reference
from tinykube.machinery.errors import StatusError
from tinykube.machinery.jsoncopy import json_copy
from tinykube.machinery.selectors import LabelSelector, label_selector_from_object

log = logging.getLogger(__name__)

WORKERS = 5


class DeploymentController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, "deployment-controller")
        self.ops = DeploymentSync(client, clock, self.recorder)
        self.deployments = informers.informer(DEPLOYMENTS, {"namespace": by_namespace})
        self.replicasets = informers.informer(REPLICASETS, {"namespace": by_namespace, "controller": by_controller_uid})
        self.pods = informers.informer(PODS, {"controller": by_controller_uid})
        self.queue: WorkQueue[str] = WorkQueue(clock, name="deployments")
        self.deployments.add_handler(EventHandler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue))
        self.replicasets.add_handler(EventHandler(self._rs_changed, self._rs_updated, self._rs_changed))
        self.pods.add_handler(EventHandler(None, None, self._pod_deleted))

    # ------------------------------------------------------------------ handlers

    def _enqueue(self, deployment: Obj) -> None:
        self.queue.add(object_key(deployment))

    def _owner_key(self, obj: Obj) -> str | None:
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        return f"{obj['metadata']['namespace']}/{ref.get('name')}"

    def _rs_changed(self, rs: Obj) -> None:
        key = self._owner_key(rs)
        if key is not None:
            self.queue.add(key)
        elif controller_ref(rs) is None:  # an orphan: any deployment selecting it may adopt it
            labels = rs["metadata"].get("labels") or {}
            for d in self.deployments.cache.by_index("namespace", rs["metadata"]["namespace"]):
                selector = _selector(d)
                if selector is not None and selector.matches(labels):
                    self.queue.add(object_key(d))

    def _rs_updated(self, old: Obj, new: Obj) -> None:
        previous = self._owner_key(old)
        if previous is not None and previous != self._owner_key(new):
            self.queue.add(previous)  # released or re-owned: the old owner recounts
        self._rs_changed(new)

    def _pod_deleted(self, pod: Obj) -> None:
        """Recreate waits for old pods to be gone: a pod's disappearance may unblock it."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.cache.get(f"{pod['metadata']['namespace']}/{ref.get('name')}")
        key = self._owner_key(rs) if rs is not None else None
        if key is not None:
            d = self.deployments.cache.get(key)
            if d is not None and not util.is_rolling_update(d):
                self.queue.add(key)

    # ------------------------------------------------------------------ sync

    async def run(self) -> None:
        self.queue = WorkQueue(self.clock, name="deployments")
        await run_term(self.queue, self.sync, WORKERS, log, informers=(self.deployments, self.replicasets, self.pods),
                       keys=lambda: map(object_key, self.deployments.cache.list()), companions=[self.recorder.run()])

    async def sync(self, key: str) -> None:
        cached = self.deployments.cache.get(key)
        if cached is None:
            return
        d = json_copy(cached)  # the cache is shared: work on a copy
        selector = _selector(d)
        if selector is None:
            return  # invalid selectors are refused by validation; nothing to act on
        if not (d.get("spec") or {}).get("selector"):
            await self._selecting_all(d)
            return
        try:
            after = await self._sync(d, selector)
        except HashCollision:
            self.queue.add_rate_limited(key)
            return
        except StatusError as exc:
            retry_stale(self.queue, key, exc)  # gone meanwhile, or acted on a stale view
            return
        if after is not None:
            if after < 1:
                self.queue.add_rate_limited(key)
            else:
                self.queue.add_after(key, after + 1)

    async def _sync(self, d: Obj, selector: LabelSelector) -> float | None:
        rs_list = await self._claim(d, selector)
        if d["metadata"].get("deletionTimestamp"):
            d, new_rs, old = await self.ops.replica_sets_and_sync_revision(d, rs_list, create=False)
            await self.ops.sync_status(d, [*old, *([new_rs] if new_rs else [])], new_rs)
            return None
        status = progress.paused_status(d, self.clock.rfc3339())
        if status is not None:
            d = await self.ops.update_status(d, status)
        spec = d.get("spec") or {}
        if spec.get("paused") or self._scaling_event(d, rs_list):
            await self._scale_only(d, rs_list, paused=bool(spec.get("paused")))
            return None
        if not util.is_rolling_update(d):
            return await rollout_recreate(self.ops, d, rs_list, self._pods_by_rs(rs_list))
        return await rollout_rolling(self.ops, d, rs_list)

    def _scaling_event(self, d: Obj, rs_list: list[Obj]) -> bool:
        template = (d.get("spec") or {}).get("template") or {}
        new_rs = next((rs for rs in util.by_creation(rs_list)
                       if util.templates_equal((rs.get("spec") or {}).get("template") or {}, template)), None)
        return util.is_scaling_event(d, new_rs, [rs for rs in rs_list if rs is not new_rs])

    async def _scale_only(self, d: Obj, rs_list: list[Obj], paused: bool) -> None:
        """Upstream sync(): resize without rolling, history cleanup while paused, status."""
        d, new_rs, old = await self.ops.replica_sets_and_sync_revision(d, rs_list, create=False)
        await self.ops.scale(d, new_rs, old)
        if paused:
            await self.ops.cleanup(d, old)
        fresh = [self.replicasets.cache.get(object_key(rs)) or rs for rs in [*old, *([new_rs] if new_rs else [])]]
        fresh_new = fresh[-1] if new_rs else None
        await self.ops.sync_status(d, fresh, fresh_new)

    def _pods_by_rs(self, rs_list: list[Obj]) -> dict[str, list[Obj]]:
        return {rs["metadata"]["uid"]: self.pods.cache.by_index("controller", rs["metadata"]["uid"])
                for rs in rs_list}

    async def _selecting_all(self, d: Obj) -> None:
        """An empty selector would select every pod: upstream refuses and says so."""
        self.recorder.event(d, "Warning", "SelectingAll",
                            "This deployment is selecting all pods. A non-empty selector is required.")
        status = dict(d.get("status") or {})
        generation = d["metadata"].get("generation", 1)
        if status.get("observedGeneration") != generation:
            status["observedGeneration"] = generation
            await self.ops.update_status(d, status)

    # ------------------------------------------------------------------ ReplicaSet ownership

    async def _claim(self, d: Obj, selector: LabelSelector) -> list[Obj]:
        """The ReplicaSets this deployment controls: adopt matching orphans, release owned ones
        whose labels stopped matching (upstream ClaimReplicaSets)."""
        uid = d["metadata"]["uid"]
        owned = []
        for rs in self.replicasets.cache.by_index("namespace", d["metadata"]["namespace"]):
            ref = controller_ref(rs)
            matches = selector.matches(rs["metadata"].get("labels") or {})
            if ref is not None:
                if ref.get("uid") != uid:
                    continue
                if matches:
                    owned.append(rs)
                elif not d["metadata"].get("deletionTimestamp"):
                    await self._patch_owner(rs, [{"$patch": "delete", "uid": uid}])
                continue
            if matches and not rs["metadata"].get("deletionTimestamp") and not d["metadata"].get("deletionTimestamp"):
                adopted = await self._patch_owner(rs, [owner_reference(d)])
                if adopted is not None:
                    owned.append(adopted)
        return owned

    async def _patch_owner(self, rs: Obj, refs: list[Obj]) -> Obj | None:
        try:
            return await self.client.patch(REPLICASETS, rs["metadata"]["name"],
                                           {"metadata": {"ownerReferences": refs, "uid": rs["metadata"]["uid"]}},
                                           rs["metadata"]["namespace"], patch_type=STRATEGIC_PATCH)
        except StatusError as exc:
            if exc.code in (404, 422):
                return None  # gone, or taken by someone else meanwhile
            raise


def _selector(d: Obj) -> LabelSelector | None:
    try:
        return label_selector_from_object((d.get("spec") or {}).get("selector"))
    except ValueError:
        return None
