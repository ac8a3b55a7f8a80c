"""The `Store` protocol: etcd's key-value semantics, so SQLite and etcd back the same API.

One global, monotonically increasing revision (it becomes every object's resourceVersion);
reads at the latest or an older revision; create-if-absent; compare-and-swap on the key's
mod revision; watches of a key prefix from a revision; compaction of old revisions, after
which reads and watches from before it fail with `CompactedError` (HTTP 410 Gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Literal, Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


@dataclass(frozen=True, slots=True)
class Event:
    """A change to one key. For DELETE, `kv.value` is the last value and `kv.mod_revision` the deletion."""

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class ListResult:
    kvs: list[KeyValue]
    revision: int  # the store revision the list reflects
    remaining: int  # keys after the last returned one (for continue tokens)


class StoreError(Exception):
    pass


class KeyExistsError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFoundError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionMismatchError(StoreError):
    """Compare-and-swap failed: the key was modified since `expected`."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"revision mismatch on {key}: expected {expected}, found {actual}")
        self.key = key
        self.expected = expected
        self.actual = actual


class CompactedError(StoreError):
    """The requested revision was compacted away."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"required revision {requested} has been compacted (compacted to {compacted})")
        self.requested = requested
        self.compacted = compacted


class FutureRevisionError(StoreError):
    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"required revision {requested} is a future revision (current {current})")
        self.requested = requested
        self.current = current


class StoreClosedError(StoreError):
    pass


class Watch(Protocol):
    """Events for a prefix, in revision order. Ends when closed or when the consumer falls behind."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def next(self, idle: float | None = None) -> Event | None:
        """The next event, None once the watch has ended; TimeoutError after `idle` quiet seconds."""

    def close(self) -> None: ...

    @property
    def overflowed(self) -> bool: ...


class Store(Protocol):
    @property
    def revision(self) -> int:
        """Latest revision visible to readers."""

    @property
    def compacted_revision(self) -> int: ...

    async def get(self, key: str, revision: int = 0) -> KeyValue | None: ...

    async def list(self, prefix: str, revision: int = 0, start_after: str = "", limit: int = 0) -> ListResult: ...

    async def count(self, prefix: str) -> int: ...

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Create `key`; KeyExistsError if it exists."""

    async def update(self, key: str, value: bytes, expected_revision: int = 0) -> KeyValue:
        """Replace `key` if its mod revision is `expected_revision` (0: unconditionally)."""

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        """Delete `key`; returns the deleted value with mod_revision = the deletion's revision."""

    def watch(self, prefix: str, after_revision: int) -> Watch:
        """Events with revision > after_revision (0: from now). CompactedError if too old."""

    async def compact(self, revision: int) -> None: ...

    async def close(self) -> None: ...
