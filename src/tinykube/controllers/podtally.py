"""Each ReplicaSet's pods, counted as they change instead of on every sync.

A ReplicaSet's sync needs its active controlled pods that still match its selector, and how
many of those carry the template's labels, are ready, and are available. Walking all 10,000
pods of a large owner for that on every sync took half of the server's time during a scale-up.
A tally keeps the counts; pod events mark pods dirty, and a sync looks again only at those.

What a pod contributes depends on the owner's selector, template labels and minReadySeconds;
when any of them changes, the owner's tally is rebuilt from the informer's index. Pods ready
but not yet available (minReadySeconds) are looked at again on every sync, as time passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ItemsView

from tinykube.client.api import Obj, object_key
from tinykube.client.informer import Cache, by_controller_uid
from tinykube.controllers.podutil import PodFacts
from tinykube.machinery.selectors import LabelSelector

CONTROLLER_INDEX = "controller"


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one active controlled pod adds to its owner's counts."""

    matches: bool  # its labels match the owner's selector (otherwise it is to be released)
    fully_labeled: bool  # it carries every label of the owner's template
    ready: bool
    available: bool
    ready_since: float | None


def contribution(facts: PodFacts, labels: dict[str, str], selector: LabelSelector,
                 template_labels: ItemsView[str, str], min_ready: int, now: float) -> Contribution:
    matches = selector.matches(labels)
    return Contribution(matches, template_labels <= labels.items(), facts.ready,
                        facts.available(min_ready, now), facts.ready_since)


@dataclass
class OwnerTally:
    """The counts over one owner's matching pods, and the pods to release."""

    signature: bytes
    entries: dict[str, Contribution] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)  # controlled, active, labels no longer match
    waiting: set[str] = field(default_factory=set)  # matching and ready, not yet available
    matching: int = 0
    fully_labeled: int = 0
    ready: int = 0
    available: int = 0

    def set(self, key: str, new: Contribution | None) -> None:
        """Replace what `key` contributes (None: it contributes nothing any more)."""
        old = self.entries.pop(key, None)
        if old is not None:
            self._count(key, old, -1)
        if new is not None:
            self.entries[key] = new
            self._count(key, new, 1)

    def _count(self, key: str, c: Contribution, sign: int) -> None:
        if not c.matches:
            if sign > 0:
                self.unmatched.add(key)
            else:
                self.unmatched.discard(key)
            return
        self.matching += sign
        self.fully_labeled += sign * c.fully_labeled
        self.ready += sign * c.ready
        self.available += sign * c.available
        if c.ready and not c.available:
            if sign > 0:
                self.waiting.add(key)
            else:
                self.waiting.discard(key)

    def matching_keys(self) -> list[str]:
        return [key for key, c in self.entries.items() if c.matches]


class PodTallies:
    """Tallies by owner uid over one pod informer's cache (indexed by controller uid)."""

    def __init__(self, cache: Cache, facts: Callable[[Obj], PodFacts]) -> None:
        self.cache = cache
        self.facts = facts
        self._by_owner: dict[str, OwnerTally] = {}

    # -- fed by the pod informer's events ----------------------------------------------

    def touched(self, pod: Obj) -> None:
        """A pod was added, changed or removed: its owner's next refresh looks at it again."""
        for uid in by_controller_uid(pod):
            tally = self._by_owner.get(uid)
            if tally is not None:
                tally.dirty.add(object_key(pod))

    def pod_updated(self, old: Obj, new: Obj) -> None:
        self.touched(old)  # the controller may have changed: both owners look again
        self.touched(new)

    def forget(self, owner_uid: str) -> None:
        self._by_owner.pop(owner_uid, None)

    def clear(self) -> None:
        self._by_owner.clear()

    # -- read by the sync --------------------------------------------------------------

    def refresh(self, owner_uid: str, signature: bytes, selector: LabelSelector,
                template_labels: dict[str, str], min_ready: int, now: float) -> OwnerTally:
        """The owner's tally, brought up to date with the cache."""
        tally = self._by_owner.get(owner_uid)
        if tally is None or tally.signature != signature:
            tally = self._by_owner[owner_uid] = OwnerTally(signature)
            tally.dirty = self.cache.index_keys(CONTROLLER_INDEX, owner_uid)
        dirty, tally.dirty = tally.dirty | tally.waiting, set()
        items = template_labels.items()
        for key in dirty:
            pod = self.cache.get(key)
            new = None
            if pod is not None:
                facts = self.facts(pod)
                if facts.active and facts.controller_uid == owner_uid:
                    new = contribution(facts, pod["metadata"].get("labels") or {}, selector, items, min_ready, now)
            tally.set(key, new)
        return tally
