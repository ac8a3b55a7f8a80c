"""Recreate: every old pod is gone before the new ReplicaSet starts one.
Upstream: pkg/controller/deployment/recreate.go.
"""

from __future__ import annotations

from tinykube.client.api import Obj
from tinykube.controllers.deployment import util
from tinykube.controllers.deployment.sync import DeploymentSync

FINISHED_PHASES = ("Succeeded", "Failed")


def old_pods_running(new_rs: Obj | None, old: list[Obj], pods_by_rs: dict[str, list[Obj]]) -> bool:
    """Whether any pod of an old ReplicaSet may still run (terminating ones included; a pod in
    phase Unknown counts, since it may be running where we cannot see)."""
    if any(util.status_count(rs, "replicas") > 0 for rs in old):
        return True
    new_uid = (new_rs or {}).get("metadata", {}).get("uid")
    for uid, pods in pods_by_rs.items():
        if uid == new_uid:
            continue
        if any((p.get("status") or {}).get("phase") not in FINISHED_PHASES for p in pods):
            return True
    return False


async def rollout_recreate(s: DeploymentSync, d: Obj, rs_list: list[Obj],
                           pods_by_rs: dict[str, list[Obj]]) -> float | None:
    d, new_rs, old = await s.replica_sets_and_sync_revision(d, rs_list, create=False)
    all_rs = [*old, new_rs] if new_rs else list(old)
    scaled, _ = await s.apply(d, [(rs, 0) for rs in util.active(old)])
    if scaled:
        return await s.sync_rollout_status(d, all_rs, new_rs)
    if old_pods_running(new_rs, old, pods_by_rs):
        return await s.sync_rollout_status(d, all_rs, new_rs)
    if new_rs is None:
        d, new_rs, old = await s.replica_sets_and_sync_revision(d, rs_list, create=True)
        assert new_rs is not None
        all_rs = [*old, new_rs]
    await s.scale_replica_set(d, new_rs, util.desired_of(d))
    if util.deployment_complete(d, d.get("status") or {}):
        await s.cleanup(d, old)
    return await s.sync_rollout_status(d, all_rs, new_rs)
