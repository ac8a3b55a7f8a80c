"""The writes every strategy shares: finding or creating the new ReplicaSet, scaling a
ReplicaSet (with the ScalingReplicaSet event), proportional scaling, history cleanup and
status. Upstream: pkg/controller/deployment/sync.go.

Every ReplicaSet write carries the resourceVersion the decision was made on, so a decision
taken on a stale cache fails with a conflict and the deployment is synced again, never
applied to a ReplicaSet that has moved on.
"""

from __future__ import annotations

from typing import Any

from tinykube.client.api import Client, Obj, resource
from tinykube.client.events import EventRecorder
from tinykube.controllers.deployment import progress, rollback, util
from tinykube.controllers.replicaset import REPLICASETS, controller_ref, owner_reference
from tinykube.machinery.errors import StatusError
from tinykube.machinery.jsoncopy import json_copy

DEPLOYMENTS = resource("apps/v1", "deployments")


class HashCollision(Exception):
    """The new ReplicaSet's name is taken by another template: collisionCount was bumped."""


class DeploymentSync:
    def __init__(self, client: Client, clock: Any, recorder: EventRecorder) -> None:
        self.client = client
        self.clock = clock
        self.recorder = recorder

    # ------------------------------------------------------------------ the new ReplicaSet

    async def replica_sets_and_sync_revision(self, d: Obj, rs_list: list[Obj],
                                             create: bool) -> tuple[Obj, Obj | None, list[Obj]]:
        """(deployment, new ReplicaSet or None, old ones), the new one created if asked and
        missing, and its revision made the newest (upstream getAllReplicaSetsAndSyncRevision)."""
        template = (d.get("spec") or {}).get("template") or {}
        matching = [rs for rs in util.by_creation(rs_list)
                    if util.templates_equal((rs.get("spec") or {}).get("template") or {}, template)]
        existing = matching[0] if matching else None  # several: the oldest, deterministically
        old = [rs for rs in rs_list if rs is not existing]
        revision = rollback.next_revision(old)
        if existing is not None:
            d, new_rs = await self._sync_existing(d, existing, revision)
            return d, new_rs, old
        if not create:
            return d, None, old
        d, new_rs = await self._create_new(d, old, revision)
        return d, new_rs, old

    async def _sync_existing(self, d: Obj, rs: Obj, revision: int) -> tuple[Obj, Obj]:
        annotations = rs["metadata"].get("annotations") or {}
        wanted = rollback.new_rs_annotations(d, annotations, revision, exists=True)
        min_ready = int((d.get("spec") or {}).get("minReadySeconds") or 0)
        if wanted != annotations or int((rs.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
            rs = await self._patch_rs(rs, {"metadata": {"annotations": _annotation_patch(annotations, wanted)},
                                           "spec": {"minReadySeconds": min_ready}})
            return d, rs
        d = await self._set_deployment_revision(d, util.revision_of(rs))
        if progress.progress_deadline(d) is not None and \
                util.get_condition(d.get("status") or {}, "Progressing") is None:
            status = json_copy(d.get("status") or {})
            util.set_condition(status, "Progressing", "True", util.FOUND_NEW_RS,
                               f'Found new replica set "{rs["metadata"]["name"]}"', self.clock.rfc3339())
            d = await self.update_status(d, status)
        return d, rs

    async def _create_new(self, d: Obj, old: list[Obj], revision: int) -> tuple[Obj, Obj]:
        spec = d.get("spec") or {}
        collisions = (d.get("status") or {}).get("collisionCount")
        template = json_copy(spec.get("template") or {})
        pod_hash = util.template_hash(template, collisions)
        template.setdefault("metadata", {})["labels"] = {**(template["metadata"].get("labels") or {}),
                                                        util.HASH_LABEL: pod_hash}
        selector = json_copy(spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), util.HASH_LABEL: pod_hash}
        name = f"{d['metadata']['name']}-{pod_hash}"
        body: Obj = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                     "metadata": {"name": name, "namespace": d["metadata"]["namespace"],
                                  "labels": dict(template["metadata"]["labels"]),
                                  "annotations": rollback.new_rs_annotations(d, {}, revision, exists=False),
                                  "ownerReferences": [owner_reference(d)]},
                     "spec": {"replicas": 0, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                              "selector": selector, "template": template}}
        body["spec"]["replicas"] = util.new_rs_new_replicas(d, [*old, body], body)
        try:
            new_rs = await self.client.create(REPLICASETS, body)
        except StatusError as exc:
            if exc.code == 409:
                return await self._name_taken(d, body)
            if exc.code in (403, 404):  # e.g. the namespace is terminating: nothing to report
                raise
            message = f'Failed to create new replica set "{name}": {exc.message}'
            if progress.progress_deadline(d) is not None:
                status = json_copy(d.get("status") or {})
                util.set_condition(status, "Progressing", "False", util.FAILED_RS_CREATE, message,
                                   self.clock.rfc3339())
                await self.update_status(d, status)
            self.recorder.event(d, "Warning", util.FAILED_RS_CREATE, message)
            raise
        if util.replicas_of(new_rs) > 0:
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled up replica set {name} from 0 to {util.replicas_of(new_rs)}")
        d = await self._set_deployment_revision(d, revision)
        if progress.progress_deadline(d) is not None:
            status = json_copy(d.get("status") or {})
            util.set_condition(status, "Progressing", "True", util.NEW_RS_CREATED,
                               f'Created new replica set "{name}"', self.clock.rfc3339())
            d = await self.update_status(d, status)
        return d, new_rs

    async def _name_taken(self, d: Obj, body: Obj) -> tuple[Obj, Obj]:
        """The name exists: ours after a lost reply (use it), or another template's (collision)."""
        existing = await self.client.get(REPLICASETS, body["metadata"]["name"], d["metadata"]["namespace"])
        ref = controller_ref(existing)
        if ref is not None and ref.get("uid") == d["metadata"]["uid"] and \
                util.templates_equal((existing.get("spec") or {}).get("template") or {}, d["spec"]["template"]):
            return d, existing
        status = json_copy(d.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.update_status(d, status)
        raise HashCollision(body["metadata"]["name"])

    async def _set_deployment_revision(self, d: Obj, revision: int) -> Obj:
        if util.revision_of(d) == revision:
            return d
        return await self.client.patch(DEPLOYMENTS, d["metadata"]["name"],
                                       {"metadata": {"annotations": {util.REVISION: str(revision)}}},
                                       d["metadata"]["namespace"])

    # ------------------------------------------------------------------ scaling

    async def scale_replica_set(self, d: Obj, rs: Obj, size: int) -> tuple[bool, Obj]:
        """Resize `rs` (and note the deployment size it is sized for); (whether the size changed,
        the ReplicaSet as written)."""
        before = util.replicas_of(rs)
        annotations = rs["metadata"].get("annotations") or {}
        sized_for = util.replica_annotations(d)
        if before == size and all(annotations.get(k) == v for k, v in sized_for.items()):
            return False, rs
        rs = await self._patch_rs(rs, {"metadata": {"annotations": sized_for}, "spec": {"replicas": size}})
        if before == size:
            return False, rs
        direction = "up" if size > before else "down"
        self.recorder.event(d, "Normal", "ScalingReplicaSet",
                            f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {size}")
        return True, rs

    async def apply(self, d: Obj, plan: list[tuple[Obj, int]]) -> tuple[bool, dict[str, Obj]]:
        """Apply a scaling plan: (whether any ReplicaSet changed size, the written ones by uid)."""
        scaled = False
        written: dict[str, Obj] = {}
        for rs, size in plan:
            changed, written[rs["metadata"]["uid"]] = await self.scale_replica_set(d, rs, size)
            scaled = scaled or changed
        return scaled, written

    async def scale(self, d: Obj, new_rs: Obj | None, old: list[Obj]) -> None:
        """A scaling event: resize the active ReplicaSets proportionally."""
        await self.apply(d, util.proportional_sizes(d, new_rs, old))

    async def cleanup(self, d: Obj, old: list[Obj]) -> None:
        """Delete old ReplicaSets beyond revisionHistoryLimit (only ones without pods)."""
        for rs in util.cleanup_candidates(d, old):
            try:
                await self.client.delete(REPLICASETS, rs["metadata"]["name"], rs["metadata"]["namespace"],
                                         uid=rs["metadata"]["uid"])
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise

    async def _patch_rs(self, rs: Obj, patch: Obj) -> Obj:
        """A merge patch that applies only to the ReplicaSet version it was computed from."""
        patch["metadata"]["resourceVersion"] = rs["metadata"]["resourceVersion"]
        return await self.client.patch(REPLICASETS, rs["metadata"]["name"], patch, rs["metadata"]["namespace"])

    # ------------------------------------------------------------------ status

    async def update_status(self, d: Obj, status: Obj) -> Obj:
        return await self.client.update_status(DEPLOYMENTS, dict(d, status=util.wire_status(status)))

    async def sync_status(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> Obj:
        """Only the counts and Available (upstream syncDeploymentStatus: paused, scaling)."""
        status = util.calculate_status(d, all_rs, new_rs, self.clock.rfc3339())
        if util.wire_status(status) == (d.get("status") or {}):
            return d
        return await self.update_status(d, status)

    async def sync_rollout_status(self, d: Obj, all_rs: list[Obj], new_rs: Obj | None) -> float | None:
        """Counts, Available and Progressing; returns when to look again for a stuck rollout."""
        now, stamp = self.clock.time(), self.clock.rfc3339()
        status = util.calculate_status(d, all_rs, new_rs, stamp)
        progress.rollout_status(d, status, new_rs, all_rs, now, stamp)
        if util.wire_status(status) == (d.get("status") or {}):
            return progress.requeue_after(d, status, now)
        await self.update_status(d, status)
        return None


def _annotation_patch(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str | None]:
    """A merge patch turning annotations `current` into `wanted`."""
    patch: dict[str, str | None] = {k: v for k, v in wanted.items() if current.get(k) != v}
    patch.update({k: None for k in current if k not in wanted})
    return patch
