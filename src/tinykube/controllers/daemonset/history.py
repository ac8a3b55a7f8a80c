"""ControllerRevision history for a workload controller: one revision per distinct pod template.

Generic on purpose (DaemonSets here; StatefulSets keep theirs the same way): a revision is an
apps/v1 ControllerRevision named `<owner>-<hash>`, controlled by its owner, labelled with the
template's labels plus the hash under `hash_label`, annotated like its owner, and holding in
`data` the strategic merge patch that restores the template, which is what `kubectl rollout
undo` sends back and `kubectl rollout history --revision` applies
(`{"spec": {"template": {..., "$patch": "replace"}}}`, kubectl's polymorphichelpers). Revision
numbers only grow: the revision matching the current template is renumbered above every other,
so after an undo the history reads 1,3,4 as it does upstream.

The pure part (`revision_data` … `revisions_to_prune`) is table-tested; `RevisionHistory` does
the reads from an informer cache and the writes.
"""

from __future__ import annotations

import copy
import logging
from typing import Awaitable, Callable, Iterable

from tinykube.client.api import Client, Obj, resource
from tinykube.client.informer import Informer
from tinykube.controllers.deployment.util import template_hash
from tinykube.controllers.replicaset import owner_reference
from tinykube.machinery.errors import StatusError

log = logging.getLogger(__name__)

CONTROLLER_REVISIONS = resource("apps/v1", "controllerrevisions")


class HashCollision(Exception):
    """A revision of that name holds another template: collisionCount was raised; retry."""


# ----------------------------------------------------------------------------- pure

def revision_data(template: Obj) -> Obj:
    """The patch a revision stores: it replaces spec.template wholesale."""
    return {"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}}


def revision_template(revision: Obj) -> Obj | None:
    """The pod template a revision restores (None when its data has another shape)."""
    template = (((revision.get("data") or {}).get("spec") or {}).get("template"))
    if not isinstance(template, dict):
        return None
    return {k: v for k, v in template.items() if k != "$patch"}


def revision_hash(template: Obj, collision_count: int | None) -> str:
    """ComputeHash: the same short hash the Deployment controller names ReplicaSets with."""
    return template_hash(template, collision_count)


def revision_name(owner_name: str, hash_: str) -> str:
    return f"{owner_name}-{hash_}"


def revision_number(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def matches(revision: Obj, data: Obj) -> bool:
    """Whether a revision holds exactly this data (upstream compares the bytes)."""
    return revision.get("data") == data


def split_current(revisions: Iterable[Obj], data: Obj) -> tuple[list[Obj], list[Obj]]:
    """(revisions holding `data`, all others)."""
    current, old = [], []
    for rev in revisions:
        (current if matches(rev, data) else old).append(rev)
    return current, old


def next_revision(old: Iterable[Obj]) -> int:
    """One above the highest revision of the others (maxRevision + 1)."""
    return max((revision_number(r) for r in old), default=0) + 1


def keep_of_duplicates(current: list[Obj]) -> Obj:
    """dedupCurHistories: of several revisions holding the current data, the highest stays
    (the last of equals, as upstream's >= scan)."""
    keep = current[0]
    for rev in current:
        if revision_number(rev) >= revision_number(keep):
            keep = rev
    return keep


def revisions_to_prune(old: Iterable[Obj], limit: int, live_hashes: set[str], hash_label: str) -> list[Obj]:
    """cleanupHistory: the oldest revisions beyond `limit`, never one a live pod still runs."""
    old = sorted(old, key=revision_number)
    excess = len(old) - max(0, limit)
    doomed = []
    for rev in old:
        if excess <= 0:
            break
        if ((rev["metadata"].get("labels") or {}).get(hash_label)) in live_hashes:
            continue
        doomed.append(rev)
        excess -= 1
    return doomed


def new_revision(owner: Obj, template: Obj, data: Obj, number: int, hash_: str, hash_label: str) -> Obj:
    """The ControllerRevision snapshot() creates for the owner's current template."""
    meta = owner["metadata"]
    labels = dict(((template.get("metadata") or {}).get("labels")) or {})
    labels[hash_label] = hash_
    rev_meta: Obj = {"name": revision_name(meta["name"], hash_), "namespace": meta["namespace"], "labels": labels,
                     "ownerReferences": [owner_reference(owner)]}
    if meta.get("annotations"):
        rev_meta["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
            "data": data, "revision": number}


# ----------------------------------------------------------------------------- I/O

Relabel = Callable[[Obj], Awaitable[None]]


class RevisionHistory:
    """Reads an owner's revisions from the shared informer (indexed by controller uid) and
    writes new, renumbered, deduplicated and pruned ones."""

    def __init__(self, client: Client, revisions: Informer, hash_label: str,
                 bump_collision_count: Callable[[Obj], Awaitable[None]]) -> None:
        self.client = client
        self.revisions = revisions
        self.hash_label = hash_label
        self.bump_collision_count = bump_collision_count

    def owned(self, owner: Obj) -> list[Obj]:
        return self.revisions.cache.by_index("controller", owner["metadata"]["uid"])

    async def construct(self, owner: Obj, revisions: list[Obj], template: Obj, collision_count: int | None,
                        relabel: Relabel | None = None) -> tuple[Obj, list[Obj]]:
        """constructHistory: the revision of the current template (created, or renumbered to be
        the newest) and the older ones. `relabel(kept)` runs before duplicates are deleted, so
        pods labelled with a duplicate's hash move to the kept one first."""
        data = revision_data(template)
        current, old = split_current(revisions, data)
        number = next_revision(old)
        if not current:
            return await self._snapshot(owner, template, data, number, collision_count), old
        keep = keep_of_duplicates(current)
        if len(current) > 1:
            if relabel is not None:
                await relabel(keep)
            for dup in current:
                if dup is not keep:
                    await self._delete(dup)
        if revision_number(keep) < number:
            keep = await self.client.update(CONTROLLER_REVISIONS, dict(copy.deepcopy(keep), revision=number))
        return keep, old

    async def _snapshot(self, owner: Obj, template: Obj, data: Obj, number: int,
                        collision_count: int | None) -> Obj:
        hash_ = revision_hash(template, collision_count)
        revision = new_revision(owner, template, data, number, hash_, self.hash_label)
        try:
            return await self.client.create(CONTROLLER_REVISIONS, revision)
        except StatusError as exc:
            if exc.code != 409:
                raise
        existing = await self.client.get(CONTROLLER_REVISIONS, revision["metadata"]["name"],
                                         owner["metadata"]["namespace"])
        if matches(existing, data):
            return existing  # ours, not yet in the cache
        await self.bump_collision_count(owner)
        raise HashCollision(revision["metadata"]["name"])

    async def prune(self, old: list[Obj], limit: int, live_hashes: set[str]) -> None:
        for rev in revisions_to_prune(old, limit, live_hashes, self.hash_label):
            await self._delete(rev)

    async def _delete(self, rev: Obj) -> None:
        meta = rev["metadata"]
        try:
            await self.client.delete(CONTROLLER_REVISIONS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise

