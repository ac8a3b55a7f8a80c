"""Controller expectations: what a controller is still waiting to see in its informers.

After creating N pods a controller must not count the cache again until it has seen those N
creations, or a burst of events would make it create more; the same for deletions, tracked
by pod key so a pod seen going Terminating and then gone counts once. Records expire after
five minutes, as upstream's, so a lost event cannot wedge an owner forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXPECTATIONS_TTL = 300.0


@dataclass
class _Record:
    adds: int
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0


class Expectations:
    def __init__(self, clock: Any, ttl: float = EXPECTATIONS_TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._records: dict[str, _Record] = {}

    def expect_creations(self, owner: str, count: int) -> None:
        self._records[owner] = _Record(count, set(), self.clock.monotonic())

    def expect_deletions(self, owner: str, pod_keys: list[str]) -> None:
        self._records[owner] = _Record(0, set(pod_keys), self.clock.monotonic())

    def raise_expectations(self, owner: str, adds: int = 0, pod_keys: tuple[str, ...] = ()) -> None:
        """Add to what is awaited (a controller that writes one pod at a time, like StatefulSets)."""
        record = self._records.get(owner)
        if record is None or self.satisfied(owner):
            record = self._records[owner] = _Record(0, set(), self.clock.monotonic())
        record.adds += adds
        record.deletes.update(pod_keys)
        record.at = self.clock.monotonic()

    def expect(self, owner: str, count: int, pod_keys: list[str]) -> None:
        """Creations and deletions at once (upstream SetExpectations), as a DaemonSet sync issues both."""
        self._records[owner] = _Record(count, set(pod_keys), self.clock.monotonic())

    def creation_observed(self, owner: str) -> None:
        record = self._records.get(owner)
        if record is not None:
            record.adds -= 1

    def creations_skipped(self, owner: str, count: int) -> None:
        """Creates that were never sent (an earlier batch failed): stop waiting for them."""
        record = self._records.get(owner)
        if record is not None:
            record.adds -= count

    def deletion_observed(self, owner: str, pod_key: str) -> None:
        record = self._records.get(owner)
        if record is not None:
            record.deletes.discard(pod_key)

    def satisfied(self, owner: str) -> bool:
        record = self._records.get(owner)
        if record is None:
            return True
        if record.adds <= 0 and not record.deletes:
            return True
        return self.clock.monotonic() - record.at > self.ttl

    def forget(self, owner: str) -> None:
        self._records.pop(owner, None)
