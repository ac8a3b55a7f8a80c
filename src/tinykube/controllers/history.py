"""ControllerRevision history for the controllers that snapshot a pod template (StatefulSet,
DaemonSet): upstream's pkg/controller/history plus the two ways its users build on it.

A revision stores the patch that restores its owner's template (`{"spec": {"template": {...,
"$patch": "replace"}}}`), which is also what `kubectl rollout undo` applies as a strategic merge
patch and what kubectl compares byte for byte with its own encoding of the live template to say
"skipped rollback". So `data` is written as Go's encoder writes that patch: keys sorted at every
level, the template decoded into the typed struct first (`creationTimestamp: null`,
`resources: {}` in every container), and revisions are equal when those bytes are. Revisions are
named `<owner>-<hash>` (the hash also under the owner kind's hash label), numbered 1, 2, ... by
creation, and a rollback to an older template renumbers that revision as the newest.

The StatefulSet controller picks its update revision with `choose_update_revision` and truncates
with `history_to_delete`; the DaemonSet controller's `RevisionHistory.construct` merges
duplicates and prunes with `revisions_to_prune` (never a revision a live pod runs). Everything
here is pure except `RevisionWriter` and `RevisionHistory`.
"""

from __future__ import annotations

import copy
from typing import Any, Awaitable, Callable, Iterable

import orjson

from tinykube.client.api import Client, Obj, resource
from tinykube.client.informer import Informer
from tinykube.controllers.deployment.util import SAFE_ALPHABET
from tinykube.controllers.replicaset import owner_reference
from tinykube.machinery.errors import StatusError

CONTROLLER_REVISIONS = resource("apps/v1", "controllerrevisions")
NAME_PREFIX_MAX = 223  # so that "<prefix>-<hash>" stays within 253 characters


# ----------------------------------------------------------------------------- data and hashing

def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _typed_template(template: Obj) -> Obj:
    """The template as Go re-encodes it after decoding into PodTemplateSpec."""
    out = copy.deepcopy(template or {})
    meta = out.setdefault("metadata", {})
    meta.setdefault("creationTimestamp", None)
    spec = out.setdefault("spec", {})
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                container.setdefault("resources", {})
    return out


def template_patch(template: Obj) -> Obj:
    """The revision data that restores `template` (upstream getPatch)."""
    replaced = dict(_typed_template(template), **{"$patch": "replace"})
    return _sorted({"spec": {"template": replaced}})


def template_of(revision: Obj) -> Obj:
    """The pod template a revision restores (applying the replace patch to any owner)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    if not isinstance(template, dict):
        return {}
    template.pop("$patch", None)
    return template


def encode(data: Any) -> bytes:
    """Go's json.Marshal of the data: compact, keys sorted, <, > and & escaped."""
    raw = orjson.dumps(_sorted(data))
    return raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def fnv32(data: bytes) -> int:
    """FNV-1 (upstream hashes revisions with fnv.New32, not the 1a variant)."""
    h = 0x811C9DC5
    for byte in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= byte
    return h


def safe_encode(text: str) -> str:
    """apimachinery rand.SafeEncodeString: every character onto a vowel-free alphabet."""
    return "".join(SAFE_ALPHABET[ord(ch) % len(SAFE_ALPHABET)] for ch in text)


def revision_hash(data: Any, collision_count: int | None) -> str:
    """HashControllerRevision: FNV-1 of the encoded data and the collision count."""
    raw = encode(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32(raw)))


def revision_name(owner_name: str, hash_: str) -> str:
    return f"{owner_name[:NAME_PREFIX_MAX]}-{hash_}"


def new_revision(owner: Obj, template: Obj, number: int, hash_: str, hash_label: str) -> Obj:
    """A ControllerRevision of `owner` holding `template` (upstream NewControllerRevision: the
    template's labels plus the hash, the owner's annotations, a controller reference)."""
    labels = dict(((template or {}).get("metadata") or {}).get("labels") or {})
    labels[hash_label] = hash_
    meta: Obj = {"name": revision_name(owner["metadata"]["name"], hash_), "namespace": owner["metadata"]["namespace"],
                 "labels": labels, "ownerReferences": [owner_reference(owner)]}
    annotations = owner["metadata"].get("annotations")
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": template_patch(template), "revision": number}


# ----------------------------------------------------------------------------- ordering and equality

def number_of(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """Oldest first: by number, then creation time, then name (upstream SortControllerRevisions)."""
    return sorted(revisions, key=lambda r: (number_of(r), r["metadata"].get("creationTimestamp") or "",
                                            r["metadata"]["name"]))


def next_number(revisions: Iterable[Obj]) -> int:
    """One above the highest number (maxRevision + 1)."""
    return max((number_of(r) for r in revisions), default=0) + 1


def equal_data(a: Obj, b: Obj) -> bool:
    return encode(a.get("data")) == encode(b.get("data"))


def find_equal(revisions: list[Obj], wanted: Obj) -> list[Obj]:
    return [r for r in revisions if equal_data(r, wanted)]


# ----------------------------------------------------------------------------- the StatefulSet's use

def choose_update_revision(revisions: list[Obj], wanted: Obj) -> tuple[str, Obj | None]:
    """What to do for the template `wanted` stands for, given the sorted history:
    ("keep", newest) when the newest already holds it, ("renumber", older) to roll back to an
    older revision holding it, ("create", None) otherwise."""
    equal = find_equal(revisions, wanted)
    if equal and revisions and equal_data(revisions[-1], equal[-1]):
        return "keep", revisions[-1]
    if equal:
        return "renumber", equal[-1]
    return "create", None


def history_to_delete(revisions: list[Obj], live: set[str], limit: int) -> list[Obj]:
    """Revisions beyond `limit` that are neither current, update nor run by a pod, oldest first
    (upstream truncateHistory)."""
    old = [r for r in sort_revisions(revisions) if r["metadata"]["name"] not in live]
    return old[:max(0, len(old) - max(0, limit))]


# ----------------------------------------------------------------------------- the DaemonSet's use

def split_current(revisions: Iterable[Obj], wanted: Obj) -> tuple[list[Obj], list[Obj]]:
    """(revisions holding `wanted`'s data, all others)."""
    current, old = [], []
    for rev in revisions:
        (current if equal_data(rev, wanted) else old).append(rev)
    return current, old


def keep_of_duplicates(current: list[Obj]) -> Obj:
    """dedupCurHistories: of several revisions holding the current data, the highest stays
    (the last of equals, as upstream's >= scan)."""
    keep = current[0]
    for rev in current:
        if number_of(rev) >= number_of(keep):
            keep = rev
    return keep


def revisions_to_prune(old: Iterable[Obj], limit: int, live_hashes: set[str], hash_label: str) -> list[Obj]:
    """cleanupHistory: the oldest revisions beyond `limit`, never one a live pod still runs."""
    old = sorted(old, key=number_of)
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


# ----------------------------------------------------------------------------- writes

class HashCollision(Exception):
    """A revision of that name holds another template: collisionCount was raised; retry."""


class RevisionWriter:
    """Creates, renumbers and deletes revisions through the API."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def create(self, revision: Obj) -> Obj | None:
        """Create the revision; one of that name with the same data is ours (returned), one with
        other data is a hash collision (None)."""
        try:
            return await self.client.create(CONTROLLER_REVISIONS, revision)
        except StatusError as exc:
            if exc.code != 409:
                raise
        existing = await self.client.get(CONTROLLER_REVISIONS, revision["metadata"]["name"],
                                         revision["metadata"]["namespace"])
        return existing if equal_data(existing, revision) else None

    async def renumber(self, revision: Obj, number: int) -> Obj:
        if number_of(revision) == number:
            return revision
        return await self.client.update(CONTROLLER_REVISIONS, dict(copy.deepcopy(revision), revision=number))

    async def delete(self, revisions: Iterable[Obj]) -> None:
        for revision in revisions:
            meta = revision["metadata"]
            try:
                await self.client.delete(CONTROLLER_REVISIONS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise


Relabel = Callable[[Obj], Awaitable[None]]


class RevisionHistory:
    """The DaemonSet's constructHistory over an informer indexed by controller uid: the revision
    of the current template (created, or renumbered to be the newest, duplicates merged) and
    the older ones; a hash collision raises the owner's collisionCount and HashCollision."""

    def __init__(self, client: Client, revisions: Informer, hash_label: str,
                 hash_of: Callable[[Obj, int | None], str],
                 bump_collision_count: Callable[[Obj], Awaitable[None]]) -> None:
        self.writer = RevisionWriter(client)
        self.revisions = revisions
        self.hash_label = hash_label
        self.hash_of = hash_of
        self.bump_collision_count = bump_collision_count

    def owned(self, owner: Obj) -> list[Obj]:
        return self.revisions.cache.by_index("controller", owner["metadata"]["uid"])

    async def construct(self, owner: Obj, revisions: list[Obj], template: Obj, collision_count: int | None,
                        relabel: Relabel | None = None) -> tuple[Obj, list[Obj]]:
        """`relabel(kept)` runs before duplicates are deleted, so pods labelled with a
        duplicate's hash move to the kept one first."""
        wanted = {"data": template_patch(template)}
        current, old = split_current(revisions, wanted)
        number = next_number(old)
        if not current:
            revision = new_revision(owner, template, number, self.hash_of(template, collision_count), self.hash_label)
            created = await self.writer.create(revision)
            if created is None:
                await self.bump_collision_count(owner)
                raise HashCollision(revision["metadata"]["name"])
            return created, old
        keep = keep_of_duplicates(current)
        if len(current) > 1:
            if relabel is not None:
                await relabel(keep)
            await self.writer.delete(dup for dup in current if dup is not keep)
        if number_of(keep) < number:
            keep = await self.writer.renumber(keep, number)
        return keep, old

    async def prune(self, old: list[Obj], limit: int, live_hashes: set[str]) -> None:
        await self.writer.delete(revisions_to_prune(old, limit, live_hashes, self.hash_label))
