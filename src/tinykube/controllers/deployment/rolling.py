"""RollingUpdate: grow the new ReplicaSet into the surge room, then shrink old ones while
enough replicas stay available. Upstream: pkg/controller/deployment/rolling.go.

Each sync takes one step and returns; the ReplicaSets' status changes wake the deployment
for the next, so the pod count never exceeds desired + maxSurge and availability never drops
below desired - maxUnavailable.
"""

from __future__ import annotations

from tinykube.client.api import Obj
from tinykube.controllers.deployment import util
from tinykube.controllers.deployment.sync import DeploymentSync


async def rollout_rolling(s: DeploymentSync, d: Obj, rs_list: list[Obj]) -> float | None:
    """One step of a rolling update; returns when to look again for a stuck rollout."""
    d, new_rs, old = await s.replica_sets_and_sync_revision(d, rs_list, create=True)
    assert new_rs is not None
    all_rs = [*old, new_rs]
    if await reconcile_new(s, d, new_rs, all_rs):
        return await s.sync_rollout_status(d, all_rs, new_rs)
    if await reconcile_old(s, d, new_rs, old, all_rs):
        return await s.sync_rollout_status(d, all_rs, new_rs)
    if util.deployment_complete(d, d.get("status") or {}):
        await s.cleanup(d, old)
    return await s.sync_rollout_status(d, all_rs, new_rs)


async def reconcile_new(s: DeploymentSync, d: Obj, new_rs: Obj, all_rs: list[Obj]) -> bool:
    desired = util.desired_of(d)
    current = util.replicas_of(new_rs)
    if current == desired:
        return False
    target = desired if current > desired else util.new_rs_new_replicas(d, all_rs, new_rs)
    scaled, _ = await s.scale_replica_set(d, new_rs, target)
    return scaled


async def reconcile_old(s: DeploymentSync, d: Obj, new_rs: Obj, old: list[Obj], all_rs: list[Obj]) -> bool:
    if util.total_replicas(old) == 0:
        return False
    budget = util.old_scale_down_budget(d, new_rs, all_rs)
    if budget <= 0:
        return False
    scaled, written = await s.apply(d, util.cleanup_unhealthy_plan(old, budget))
    old = [written.get(rs["metadata"]["uid"], rs) for rs in old]
    scaled_more, _ = await s.apply(d, util.scale_down_old_plan(d, [*old, new_rs], old))
    return scaled or scaled_more
