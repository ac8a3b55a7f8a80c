"""Claiming objects for a controller (upstream's ControllerRefManager.ClaimObject).

A controller owns what carries its controller reference and matches its selector. Owned
objects whose labels stopped matching are released (the reference deleted by a strategic
merge patch guarded by the object's uid); matching orphans are adopted, unless the owner is
being deleted. Any kind with metadata works: pods, ControllerRevisions, ReplicaSets.
"""

from __future__ import annotations

from typing import Iterable

from tinykube.client.api import STRATEGIC_PATCH, Client, Obj
from tinykube.controllers.replicaset import owner_reference
from tinykube.machinery.errors import StatusError
from tinykube.machinery.selectors import LabelSelector
from tinykube.registry.resources import Resource


async def claim(client: Client, res: Resource, owner: Obj, selector: LabelSelector, owned: Iterable[Obj],
                orphans: Iterable[Obj]) -> list[Obj]:
    """The objects `owner` controls after releasing and adopting (`owned`: those carrying its
    controller reference; `orphans`: candidates without any controller)."""
    uid = owner["metadata"]["uid"]
    owner_deleting = bool(owner["metadata"].get("deletionTimestamp"))
    out: list[Obj] = []
    for obj in owned:
        if selector.matches(obj["metadata"].get("labels") or {}):
            out.append(obj)
        elif not owner_deleting:
            await _patch_refs(client, res, obj, [{"$patch": "delete", "uid": uid}])
    if owner_deleting:
        return out
    for obj in orphans:
        if obj["metadata"].get("deletionTimestamp") or not selector.matches(obj["metadata"].get("labels") or {}):
            continue
        adopted = await _patch_refs(client, res, obj, [owner_reference(owner)])
        if adopted is not None:
            out.append(adopted)
    return out


async def _patch_refs(client: Client, res: Resource, obj: Obj, refs: list[Obj]) -> Obj | None:
    meta = obj["metadata"]
    try:
        return await client.patch(res, meta["name"], {"metadata": {"ownerReferences": refs, "uid": meta["uid"]}},
                                  meta["namespace"], patch_type=STRATEGIC_PATCH)
    except StatusError as exc:
        if exc.code in (404, 409, 422):
            return None  # gone, or taken by another controller meanwhile
        raise
