"""What upstream's event correlator decides before an event is written (pure, given the time).

client-go's recorder, used by the kubelet and the controller manager, keeps a busy object from
flooding the API with events:

- similar events (same source, object, type and reason, different messages) seen ten times
  within ten minutes are folded into one Event whose message reads
  "(combined from similar events): <the latest message>", counted up from then on;
- a source may send a burst of 25 events about one object, then one more every five minutes
  (a token bucket per source and object); the rest are dropped.

A ReplicaSet scaled to 10,000 pods thus gets ~25 SuccessfulCreate events, not 10,000, while
each pod still gets its own few.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0  # seconds
SPAM_BURST = 25
SPAM_REFILL_PER_SECOND = 1 / 300
CACHE_ENTRIES = 4096  # upstream's LRU size for each of its caches
COMBINED = "(combined from similar events): "


@dataclass(frozen=True)
class Correlated:
    """The event to record: the identity its repeats are counted under, and its message."""

    key: tuple[str, ...]
    message: str


class _Similar:
    __slots__ = ("messages", "last")

    def __init__(self) -> None:
        self.messages: set[str] = set()
        self.last = float("-inf")


class _Bucket:
    __slots__ = ("tokens", "last")

    def __init__(self, now: float) -> None:
        self.tokens = float(SPAM_BURST)
        self.last = now

    def take(self, now: float) -> bool:
        self.tokens = min(float(SPAM_BURST), self.tokens + (now - self.last) * SPAM_REFILL_PER_SECOND)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class EventCorrelator:
    """Aggregation and spam filtering for one recorder; `now` is a monotonic clock."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._similar: OrderedDict[tuple[str, ...], _Similar] = OrderedDict()
        self._buckets: OrderedDict[tuple[str, ...], _Bucket] = OrderedDict()

    def correlate(self, source: tuple[str, str], ref: dict[str, Any], event_type: str, reason: str,
                  message: str) -> Correlated | None:
        """What to record for this event, or None when the spam filter drops it."""
        now = self.now()
        about = (ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""), ref.get("uid", ""),
                 ref.get("apiVersion", ""))
        similar_key = (*source, *about, event_type, reason)
        similar = _lookup(self._similar, similar_key, _Similar)
        if now - similar.last > AGGREGATE_INTERVAL:
            similar.messages = set()
        similar.messages.add(message)
        similar.last = now
        if len(similar.messages) < AGGREGATE_MAX_EVENTS:
            correlated = Correlated((*similar_key, ref.get("fieldPath", ""), message), message)
        else:
            similar.messages.pop()  # the set stays just under the limit, as upstream's
            correlated = Correlated(similar_key, COMBINED + message)
        bucket = _lookup(self._buckets, (*source, *about), lambda: _Bucket(now))
        return correlated if bucket.take(now) else None


def _lookup(cache: OrderedDict[tuple[str, ...], Any], key: tuple[str, ...], make: Callable[[], Any]) -> Any:
    """An LRU entry, made when missing (the oldest forgotten beyond CACHE_ENTRIES)."""
    entry = cache.get(key)
    if entry is None:
        entry = cache[key] = make()
        if len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return entry
