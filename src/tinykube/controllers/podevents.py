"""Pod informer events routed to owner keys, as the ReplicaSet and DaemonSet controllers do.

Upstream's addPod/updatePod/deletePod of both controllers: a pod with a controller reference
syncs that owner (and counts as an observed creation or deletion for its expectations); an
orphan syncs every owner whose selector matches it, so one may adopt it. A pod turning Ready
under minReadySeconds syncs its owner again once it may count as available. Events of a large
owner are coalesced: a sync counts every pod, so a 10,000-pod owner is recounted a few times a
second, not once per event, while a small one still reacts at once.
"""

from __future__ import annotations

from typing import Any

from tinykube.client.api import Obj, object_key
from tinykube.client.informer import Informer
from tinykube.client.workqueue import WorkQueue
from tinykube.controllers.expectations import Expectations
from tinykube.controllers.podutil import PodFactsMemo, is_ready

COALESCE_PER_POD = 2e-5  # wall seconds of pause per pod of the owner
COALESCE_MAX = 0.25


def controller_ref(obj: Obj) -> Obj | None:
    """The controlling ownerReference, if any."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


class OwnedPodEvents:
    """Mixin: the host provides the attributes below, `owner_by_key` and `owners_selecting`."""

    clock: Any
    queue: WorkQueue[str]
    expectations: Expectations
    facts: PodFactsMemo
    pods: Informer
    min_ready_slack = 1.0  # upstream adds a second to minReadySeconds

    owner_kind: str

    def owner_key_of(self, obj: Obj) -> str | None:
        """The key of the live owner `obj`'s controller reference names (kind and uid checked)."""
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != self.owner_kind:
            return None
        key = f"{obj['metadata'].get('namespace', '')}/{ref.get('name')}"
        owner = self.owner_by_key(key)
        return key if owner is not None and owner["metadata"].get("uid") == ref.get("uid") else None

    def owners_selecting(self, obj: Obj) -> list[str]:
        """Keys of the owners in `obj`'s namespace whose selector matches its labels."""
        raise NotImplementedError

    def owner_by_key(self, key: str) -> Obj | None:
        raise NotImplementedError

    def _pod_added(self, pod: Obj) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        owner = self.owner_key_of(pod)
        if owner is not None:
            self.expectations.creation_observed(owner)
            self._pod_changed(owner)
        elif controller_ref(pod) is None:
            for key in self.owners_selecting(pod):
                self.queue.add(key)

    def _pod_changed(self, owner_key: str) -> None:
        """Sync the owner of a changed pod, coalescing the events of a large owner."""
        owner = self.owner_by_key(owner_key)
        size = self.pods.cache.index_size("controller", owner["metadata"]["uid"]) if owner else 0
        pause = min(COALESCE_MAX, size * COALESCE_PER_POD)
        if pause < 1e-3:
            self.queue.add(owner_key)
        else:
            self.queue.add_after(owner_key, pause * self.clock.scale)

    def _pod_updated(self, old: Obj, pod: Obj) -> None:
        if pod["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        old_owner, owner = self.owner_key_of(old), self.owner_key_of(pod)
        if old_owner and old_owner != owner:
            self.queue.add(old_owner)
        if owner is not None:
            self._pod_changed(owner)
            obj = self.owner_by_key(owner)
            min_ready = int(((obj or {}).get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready and not is_ready(old) and is_ready(pod):
                self.queue.add_after(owner, min_ready + self.min_ready_slack)  # recount once available
        elif controller_ref(pod) is None:
            if (old["metadata"].get("labels") != pod["metadata"].get("labels")) or controller_ref(old) is not None:
                for key in self.owners_selecting(pod):
                    self.queue.add(key)

    def _pod_removed(self, pod: Obj) -> None:
        self.facts.forget(pod)
        self._pod_deleted(pod)

    def _pod_deleted(self, pod: Obj) -> None:
        owner = self.owner_key_of(pod)
        if owner is not None:
            self.expectations.deletion_observed(owner, object_key(pod))
            self._pod_changed(owner)
