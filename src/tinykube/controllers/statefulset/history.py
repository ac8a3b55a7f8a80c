"""ControllerRevision history, for any controller that snapshots a pod template (StatefulSet,
DaemonSet): upstream's pkg/controller/history and the revision parts of the StatefulSet control.

A revision stores the patch that restores its owner's template (`{"spec": {"template": {...,
"$patch": "replace"}}}`), which is also what `kubectl rollout undo` applies as a strategic merge
patch and what kubectl compares byte for byte with its own encoding of the live template to say
"skipped rollback". So `data` is written as Go's encoder writes that patch: keys sorted at every
level, the template decoded into the typed struct first (`creationTimestamp: null`,
`resources: {}` in every container). Revisions are named `<owner>-<hash>` (the hash also in the
`controller.kubernetes.io/hash` label), numbered 1, 2, ... by creation, a rollback to an older
template renumbers that revision as the newest, and history beyond revisionHistoryLimit that no
pod runs is deleted oldest first. Everything here is pure except `RevisionWriter`.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

import orjson

from tinykube.client.api import Client, Obj, resource
from tinykube.controllers.deployment.util import SAFE_ALPHABET
from tinykube.controllers.replicaset import owner_reference
from tinykube.machinery.errors import StatusError

CONTROLLER_REVISIONS = resource("apps/v1", "controllerrevisions")
HASH_LABEL = "controller.kubernetes.io/hash"
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
    raw = encode(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode(str(fnv32(raw)))


def revision_name(owner_name: str, hash_: str) -> str:
    return f"{owner_name[:NAME_PREFIX_MAX]}-{hash_}"


def new_revision(owner: Obj, template: Obj, number: int, collision_count: int) -> Obj:
    """A ControllerRevision of `owner` holding `template` (upstream NewControllerRevision: the
    template's labels, the owner's annotations, a controller reference)."""
    data = template_patch(template)
    hash_ = revision_hash(data, collision_count)
    labels = dict(((template or {}).get("metadata") or {}).get("labels") or {})
    labels[HASH_LABEL] = hash_
    meta: Obj = {"name": revision_name(owner["metadata"]["name"], hash_), "namespace": owner["metadata"]["namespace"],
                 "labels": labels, "ownerReferences": [owner_reference(owner)]}
    annotations = owner["metadata"].get("annotations")
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta, "data": data,
            "revision": number}


# ----------------------------------------------------------------------------- ordering

def number_of(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """Oldest first: by number, then creation time, then name (upstream SortControllerRevisions)."""
    return sorted(revisions, key=lambda r: (number_of(r), r["metadata"].get("creationTimestamp") or "",
                                            r["metadata"]["name"]))


def next_number(revisions: list[Obj]) -> int:
    return max((number_of(r) for r in revisions), default=0) + 1


def equal_data(a: Obj, b: Obj) -> bool:
    return encode(a.get("data")) == encode(b.get("data"))


def find_equal(revisions: list[Obj], wanted: Obj) -> list[Obj]:
    return [r for r in revisions if equal_data(r, wanted)]


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


# ----------------------------------------------------------------------------- writes

class RevisionWriter:
    """Creates, renumbers and deletes one owner's revisions through the API."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def create(self, owner: Obj, template: Obj, number: int, collision_count: int) -> tuple[Obj, int]:
        """Create the revision; a name taken by different data bumps the collision count and
        tries the next name (upstream CreateControllerRevision). Returns (revision, count)."""
        while True:
            body = new_revision(owner, template, number, collision_count)
            try:
                return await self.client.create(CONTROLLER_REVISIONS, body), collision_count
            except StatusError as exc:
                if exc.code != 409:
                    raise
            existing = await self.client.get(CONTROLLER_REVISIONS, body["metadata"]["name"],
                                             owner["metadata"]["namespace"])
            if equal_data(existing, body):
                return existing, collision_count
            collision_count += 1

    async def renumber(self, revision: Obj, number: int) -> Obj:
        if number_of(revision) == number:
            return revision
        return await self.client.update(CONTROLLER_REVISIONS, dict(revision, revision=number))

    async def delete(self, revisions: list[Obj]) -> None:
        for revision in revisions:
            meta = revision["metadata"]
            try:
                await self.client.delete(CONTROLLER_REVISIONS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise
