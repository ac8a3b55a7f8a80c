"""The Deployment controller: one ReplicaSet per pod template, rolled by strategy.

Each sync claims the deployment's ReplicaSets, finds or creates the one running the current
template (`<name>-<pod-template-hash>`, revision = the highest old revision + 1, so a rollback
renumbers the old ReplicaSet as newest), then either only scales (paused) or rolls out
(RollingUpdate within maxSurge/maxUnavailable, or Recreate), trims history to
revisionHistoryLimit and writes status and the Available/Progressing conditions that
`kubectl rollout status` reads.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from tinykube.client.api import PODS, STRATEGIC_PATCH, Client, Obj, object_key, resource
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_controller_uid, by_namespace
from tinykube.client.workqueue import WorkQueue, run_workers
from tinykube.clock import parse_time
from tinykube.controllers.deployment import util
from tinykube.controllers.replicaset import REPLICASETS, controller_ref, owner_reference
from tinykube.machinery.errors import StatusError
from tinykube.machinery.selectors import label_selector_from_object

log = logging.getLogger(__name__)

DEPLOYMENTS = resource("apps/v1", "deployments")
WORKERS = 5


class DeploymentController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory) -> None:
        self.client = client
        self.clock = clock
        self.recorder = EventRecorder(client, clock, "deployment-controller")
        self.deployments = informers.informer(DEPLOYMENTS, {"namespace": by_namespace})
        self.replicasets = informers.informer(REPLICASETS, {"namespace": by_namespace, "controller": by_controller_uid})
        self.pods = informers.informer(PODS, {"controller": by_controller_uid})
        self.queue: WorkQueue[str] = WorkQueue(clock, name="deployments")
        self.deployments.add_handler(EventHandler(self._enqueue, lambda old, new: self._enqueue(new), self._enqueue))
        self.replicasets.add_handler(EventHandler(self._rs_changed, lambda old, new: self._rs_changed(new),
                                                  self._rs_changed))
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
            return
        labels = rs["metadata"].get("labels") or {}
        for d in self.deployments.cache.by_index("namespace", rs["metadata"]["namespace"]):
            try:
                if label_selector_from_object((d.get("spec") or {}).get("selector")).matches(labels):
                    self.queue.add(object_key(d))
            except ValueError:
                continue

    def _pod_deleted(self, pod: Obj) -> None:
        """Recreate waits for old pods to be gone: a pod's disappearance may unblock it."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.cache.get(f"{pod['metadata']['namespace']}/{ref.get('name')}")
        if rs is not None:
            key = self._owner_key(rs)
            if key is not None:
                self.queue.add(key)

    # ------------------------------------------------------------------ sync

    async def run(self) -> None:
        for informer in (self.deployments, self.replicasets, self.pods):
            await informer.wait_synced()
        self.queue = WorkQueue(self.clock, name="deployments")
        for d in self.deployments.cache.list():
            self.queue.add(object_key(d))
        events = asyncio.create_task(self.recorder.run())
        try:
            await run_workers(self.queue, self.sync, WORKERS, log)
        finally:
            self.queue.shut_down()
            events.cancel()

    async def sync(self, key: str) -> None:
        d = self.deployments.cache.get(key)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        spec = d.get("spec") or {}
        try:
            selector = label_selector_from_object(spec.get("selector"))
        except ValueError:
            return
        if not (spec.get("selector") or {}):
            return  # an empty selector would select everything; upstream refuses to act
        owned = await self._claim(d, selector)
        new_rs, old = self._split(d, owned)
        events: list[tuple[str, str]] = []
        if spec.get("paused"):
            await self._scale_only(d, new_rs, old, events)
            await self._status(d, new_rs, old, paused=True)
            return
        if new_rs is None:
            new_rs = await self._create_new_rs(d, old, events)
            if new_rs is None:
                return
        else:
            new_rs = await self._promote(d, new_rs, old, events)
        if await self._scale_only(d, new_rs, old, events):
            await self._status(d, new_rs, old, events=events)
            return
        if (spec.get("strategy") or {}).get("type") == "Recreate":
            await self._recreate(d, new_rs, old)
        else:
            await self._rolling(d, new_rs, old)
        await self._cleanup(d, old)
        await self._status(d, new_rs, old, events=events)

    # ------------------------------------------------------------------ replica sets

    async def _claim(self, d: Obj, selector: Any) -> list[Obj]:
        uid = d["metadata"]["uid"]
        owned = []
        for rs in self.replicasets.cache.by_index("namespace", d["metadata"]["namespace"]):
            ref = controller_ref(rs)
            matches = selector.matches(rs["metadata"].get("labels") or {})
            if ref is not None:
                if ref.get("uid") == uid:
                    if matches:
                        owned.append(rs)
                    else:
                        await self._patch_rs(rs, {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}],
                                                               "uid": rs["metadata"]["uid"]}}, STRATEGIC_PATCH)
                continue
            if matches and not rs["metadata"].get("deletionTimestamp"):
                await self._patch_rs(rs, {"metadata": {"ownerReferences": [owner_reference(d)],
                                                       "uid": rs["metadata"]["uid"]}}, STRATEGIC_PATCH)
                owned.append(rs)
        return owned

    def _split(self, d: Obj, owned: list[Obj]) -> tuple[Obj | None, list[Obj]]:
        template = (d.get("spec") or {}).get("template") or {}
        matching = [rs for rs in owned if util.templates_equal((rs.get("spec") or {}).get("template") or {}, template)]
        new_rs = max(matching, key=lambda rs: (util.revision_of(rs), rs["metadata"].get("creationTimestamp", "")),
                     default=None)
        old = [rs for rs in owned if rs is not new_rs]
        old.sort(key=lambda rs: (rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"]))
        return new_rs, old

    async def _patch_rs(self, rs: Obj, patch: Any, patch_type: str = "application/merge-patch+json") -> Obj | None:
        try:
            return await self.client.patch(REPLICASETS, rs["metadata"]["name"], patch, rs["metadata"]["namespace"],
                                           patch_type=patch_type)
        except StatusError as exc:
            if exc.code in (404, 409, 422):
                return None
            raise

    def _next_revision(self, old: list[Obj]) -> int:
        return max((util.revision_of(rs) for rs in old), default=0) + 1

    def _rs_annotations(self, d: Obj, revision: int) -> dict[str, str]:
        desired = int((d.get("spec") or {}).get("replicas", 1))
        surge = util.rolling_params(d)[0] if (d.get("spec") or {}).get("strategy", {}).get("type") != "Recreate" else 0
        out = {util.REVISION: str(revision), util.DESIRED_REPLICAS: str(desired), util.MAX_REPLICAS: str(desired + surge)}
        cause = (d["metadata"].get("annotations") or {}).get(util.CHANGE_CAUSE)
        if cause:
            out[util.CHANGE_CAUSE] = cause
        return out

    async def _create_new_rs(self, d: Obj, old: list[Obj], events: list[tuple[str, str]]) -> Obj | None:
        spec = d.get("spec") or {}
        collisions = int((d.get("status") or {}).get("collisionCount") or 0)
        template = copy.deepcopy(spec.get("template") or {})
        pod_hash = util.template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[util.HASH_LABEL] = pod_hash
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[util.HASH_LABEL] = pod_hash
        revision = self._next_revision(old)
        name = f"{d['metadata']['name']}-{pod_hash}"
        body = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": name, "namespace": d["metadata"]["namespace"],
                             "labels": dict(template["metadata"]["labels"]),
                             "annotations": self._rs_annotations(d, revision),
                             "ownerReferences": [owner_reference(d)]},
                "spec": {"replicas": 0, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                         "selector": selector, "template": template}}
        try:
            created = await self.client.create(REPLICASETS, body)
        except StatusError as exc:
            if exc.code == 409:  # a hash collision with a ReplicaSet of another template
                status = dict(d.get("status") or {}, collisionCount=collisions + 1)
                try:
                    await self.client.update_status(DEPLOYMENTS, dict(d, status=status))
                except StatusError:
                    pass
                self.queue.add_rate_limited(object_key(d))
                return None
            raise
        events.append(("NewReplicaSetCreated", f'Created new replica set "{name}"'))
        await self._set_deployment_revision(d, revision)
        return created

    async def _promote(self, d: Obj, new_rs: Obj, old: list[Obj], events: list[tuple[str, str]]) -> Obj:
        """An existing ReplicaSet running the template becomes the newest revision (rollback)."""
        wanted = self._next_revision(old)
        annotations = new_rs["metadata"].get("annotations") or {}
        current = util.revision_of(new_rs)
        patch: dict[str, Any] = {}
        if current < wanted:
            history = [h for h in (annotations.get(util.REVISION_HISTORY) or "").split(",") if h]
            if current:
                history.append(str(current))
            patch[util.REVISION] = str(wanted)
            patch[util.REVISION_HISTORY] = ",".join(history)
        cause = (d["metadata"].get("annotations") or {}).get(util.CHANGE_CAUSE)
        if cause and annotations.get(util.CHANGE_CAUSE) != cause:
            patch[util.CHANGE_CAUSE] = cause
        if patch:
            updated = await self._patch_rs(new_rs, {"metadata": {"annotations": patch}})
            new_rs = updated or new_rs
        events.append(("FoundNewReplicaSet", f'Found new replica set "{new_rs["metadata"]["name"]}"'))
        await self._set_deployment_revision(d, max(current, wanted) if current < wanted else current)
        return new_rs

    async def _set_deployment_revision(self, d: Obj, revision: int) -> None:
        if util.revision_of(d) == revision:
            return
        try:
            await self.client.patch(DEPLOYMENTS, d["metadata"]["name"],
                                    {"metadata": {"annotations": {util.REVISION: str(revision)}}},
                                    d["metadata"]["namespace"])
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise

    async def _scale_rs(self, d: Obj, rs: Obj, replicas: int) -> Obj:
        before = util.replicas_of(rs)
        annotations = self._rs_annotations(d, util.revision_of(rs))
        annotations.pop(util.REVISION, None)
        annotations.pop(util.CHANGE_CAUSE, None)
        if before == replicas and all((rs["metadata"].get("annotations") or {}).get(k) == v
                                      for k, v in annotations.items()):
            return rs
        updated = await self._patch_rs(rs, {"metadata": {"annotations": annotations}, "spec": {"replicas": replicas}})
        if updated is None:
            return rs
        if before != replicas:
            direction = "up" if replicas > before else "down"
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}")
        return updated

    # ------------------------------------------------------------------ strategies

    async def _scale_only(self, d: Obj, new_rs: Obj | None, old: list[Obj], events: list[tuple[str, str]]) -> bool:
        """A scaling event (spec.replicas changed): resize active ReplicaSets proportionally."""
        desired = int((d.get("spec") or {}).get("replicas", 1))
        active = [rs for rs in ([new_rs] if new_rs else []) + old if util.replicas_of(rs) > 0]
        if not active:
            return False
        if not any(int((rs["metadata"].get("annotations") or {}).get(util.DESIRED_REPLICAS, desired)) != desired
                   for rs in active):
            return False
        if len(active) == 1:
            await self._scale_rs(d, active[0], desired)
            return True
        rolling = (d.get("spec") or {}).get("strategy", {}).get("type") != "Recreate"
        allowed = desired + (util.rolling_params(d)[0] if rolling else 0)
        ordered = sorted(active, key=lambda rs: -util.revision_of(rs))  # newest first wins ties
        for rs, count in zip(ordered, util.proportions(allowed, ordered)):
            await self._scale_rs(d, rs, count)
        return True

    async def _rolling(self, d: Obj, new_rs: Obj, old: list[Obj]) -> None:
        desired = int((d.get("spec") or {}).get("replicas", 1))
        surge, unavailable = util.rolling_params(d)
        everything = [new_rs] + old
        if util.replicas_of(new_rs) > desired:
            await self._scale_rs(d, new_rs, desired)
            return
        target = util.new_rs_replicas(desired, surge, new_rs, everything)
        if target != util.replicas_of(new_rs):
            await self._scale_rs(d, new_rs, target)
            return  # wait for the new pods before taking old ones away
        budget = util.max_old_scale_down(desired, unavailable, new_rs, everything)
        if budget <= 0:
            return
        # first the old replicas that are not available anyway, then available ones, oldest first
        for rs in old:
            if budget <= 0:
                break
            unhealthy = util.replicas_of(rs) - util.available_of(rs)
            cut = min(unhealthy, budget)
            if cut > 0:
                await self._scale_rs(d, rs, util.replicas_of(rs) - cut)
                budget -= cut
        available = sum(util.available_of(rs) for rs in everything)
        can_lose = available - (desired - unavailable)
        for rs in old:
            if budget <= 0 or can_lose <= 0:
                break
            current = self.replicasets.cache.get(object_key(rs)) or rs
            cut = min(util.replicas_of(current), budget, can_lose)
            if cut > 0:
                await self._scale_rs(d, current, util.replicas_of(current) - cut)
                budget -= cut
                can_lose -= cut

    async def _recreate(self, d: Obj, new_rs: Obj, old: list[Obj]) -> None:
        desired = int((d.get("spec") or {}).get("replicas", 1))
        scaled_down = False
        for rs in old:
            if util.replicas_of(rs) > 0:
                await self._scale_rs(d, rs, 0)
                scaled_down = True
        if scaled_down:
            return
        old_uids = {rs["metadata"]["uid"] for rs in old}
        for uid in old_uids:
            if self.pods.cache.by_index("controller", uid):
                return  # old pods (even terminating ones) must be gone before new ones start
        if util.replicas_of(new_rs) != desired:
            await self._scale_rs(d, new_rs, desired)

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        limit = int((d.get("spec") or {}).get("revisionHistoryLimit", 10))
        idle = [rs for rs in old if util.replicas_of(rs) == 0 and not int((rs.get("status") or {}).get("replicas") or 0)
                and not rs["metadata"].get("deletionTimestamp")]
        idle.sort(key=util.revision_of)
        for rs in idle[:max(0, len(idle) - limit)]:
            try:
                await self.client.delete(REPLICASETS, rs["metadata"]["name"], rs["metadata"]["namespace"],
                                         uid=rs["metadata"]["uid"])
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise

    # ------------------------------------------------------------------ status

    async def _status(self, d: Obj, new_rs: Obj | None, old: list[Obj], paused: bool = False,
                      events: list[tuple[str, str]] | None = None) -> None:
        spec = d.get("spec") or {}
        desired = int(spec.get("replicas", 1))
        fresh = [self.replicasets.cache.get(object_key(rs)) or rs for rs in ([new_rs] if new_rs else []) + old]
        new_fresh = fresh[0] if new_rs else None
        sums = {k: sum(int((rs.get("status") or {}).get(k) or 0) for rs in fresh)
                for k in ("replicas", "readyReplicas", "availableReplicas")}
        old_status = d.get("status") or {}
        status: Obj = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": sums["replicas"],
                       "updatedReplicas": int(((new_fresh or {}).get("status") or {}).get("replicas") or 0),
                       "readyReplicas": sums["readyReplicas"], "availableReplicas": sums["availableReplicas"],
                       "unavailableReplicas": max(0, desired - sums["availableReplicas"])}
        if old_status.get("collisionCount") is not None:
            status["collisionCount"] = old_status["collisionCount"]
        now = self.clock.rfc3339()
        conditions = list(old_status.get("conditions") or [])
        rolling = (spec.get("strategy") or {}).get("type") != "Recreate"
        min_available = desired - (util.rolling_params(d)[1] if rolling else 0)
        if sums["availableReplicas"] >= min_available:
            conditions = util.set_condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                                            "Deployment has minimum availability.", now)
        else:
            conditions = util.set_condition(conditions, "Available", "False", "MinimumReplicasUnavailable",
                                            "Deployment does not have minimum availability.", now)
        conditions = self._progress(d, new_fresh, fresh, status, conditions, paused, events or [], now)
        status["conditions"] = sorted(conditions, key=lambda c: {"Available": 0, "Progressing": 1}.get(c.get("type"), 2))
        for key in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[key]:
                status.pop(key)
        if status != old_status:
            try:
                await self.client.update_status(DEPLOYMENTS, dict(d, status=status))
            except StatusError as exc:
                if exc.code == 409:
                    self.queue.add_rate_limited(object_key(d))
                elif exc.code != 404:
                    raise

    def _progress(self, d: Obj, new_rs: Obj | None, all_rs: list[Obj], status: Obj, conditions: list[Obj],
                  paused: bool, events: list[tuple[str, str]], now: str) -> list[Obj]:
        spec = d.get("spec") or {}
        deadline = spec.get("progressDeadlineSeconds")
        if deadline is None:
            return [c for c in conditions if c.get("type") != "Progressing"]
        progressing = next((c for c in conditions if c.get("type") == "Progressing"), None)
        if paused:
            return util.set_condition(conditions, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
        if progressing and progressing.get("reason") == "DeploymentPaused":
            conditions = util.set_condition(conditions, "Progressing", "Unknown", "DeploymentResumed",
                                            "Deployment is resumed", now)
        name = (new_rs or {}).get("metadata", {}).get("name", "")
        desired = int(spec.get("replicas", 1))
        complete = new_rs is not None and status.get("updatedReplicas", 0) == desired and \
            status.get("replicas", 0) == desired and status.get("availableReplicas", 0) == desired and \
            status.get("observedGeneration") == d["metadata"].get("generation", 1)
        if complete:
            return util.set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                                      f'ReplicaSet "{name}" has successfully progressed.', now)
        for reason, message in events:
            if reason == "FoundNewReplicaSet" and progressing is not None:
                continue  # upstream notes a found ReplicaSet only when nothing is recorded yet
            conditions = util.set_condition(conditions, "Progressing", "True", reason, message, now)
        old = d.get("status") or {}
        moved = any(status.get(k, 0) != old.get(k, 0) for k in ("updatedReplicas", "readyReplicas", "availableReplicas"))
        current = next((c for c in conditions if c.get("type") == "Progressing"), None)
        if moved and new_rs is not None:
            return util.set_condition(conditions, "Progressing", "True", "ReplicaSetUpdated",
                                      f'ReplicaSet "{name}" is progressing.', now)
        if current and current.get("status") == "True" and current.get("reason") != "NewReplicaSetAvailable":
            since = parse_time(current.get("lastUpdateTime") or now).timestamp()
            left = since + int(deadline) - self.clock.time()
            if left <= 0:
                self.recorder.event(d, "Warning", "ProgressDeadlineExceeded",
                                    f'Deployment "{d["metadata"]["name"]}" has timed out progressing.')
                return util.set_condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                                          f'ReplicaSet "{name}" has timed out progressing.', now)
            self.queue.add_after(object_key(d), left + 0.5)
        return conditions

