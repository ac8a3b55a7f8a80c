"""The scheduler's moving parts around the pure framework: queues, cache, binding, events.

Pods without a node are queued; one at a time the framework picks a node from the cached
node infos; the choice is *assumed* at once (its resources count against the node) and the
binding is written in the background, as upstream binds asynchronously. A pod that fits
nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling event, and waits until
a node appears or changes or a pod goes away, then retries after a per-pod backoff
(1 s doubling to 10 s, upstream's defaults). Unschedulable pods are also retried every five
minutes regardless, as upstream flushes them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from tinykube.client.api import NODES, PODS, Client, Obj, object_key
from tinykube.client.events import EventRecorder
from tinykube.client.informer import EventHandler, InformerFactory, by_node_name
from tinykube.client.workqueue import QueueShutDown, WorkQueue
from tinykube.controllers.volume.util import pod_claim_names
from tinykube.machinery.errors import StatusError
from tinykube.scheduler.framework import Framework, default_framework
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.plugins.volume_binding import VolumeBinding

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
UNSCHEDULABLE_FLUSH = 300.0  # podMaxInUnschedulablePodsDuration


def needs_scheduling(pod: Obj, scheduler_name: str = SCHEDULER_NAME) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and (spec.get("schedulerName") or SCHEDULER_NAME) == scheduler_name
            and not pod["metadata"].get("deletionTimestamp") and not spec.get("schedulingGates")
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))


def counts_on_node(pod: Obj) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName")) and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def _placement_inputs(node: Obj) -> tuple[Any, ...]:
    """What of a node a placement depends on (not its heartbeats)."""
    status = node.get("status") or {}
    conditions = [(c.get("type"), c.get("status")) for c in status.get("conditions") or []]
    return node["metadata"].get("labels"), node.get("spec"), status.get("allocatable"), conditions


def _scheduling_inputs(pod: Obj) -> tuple[Any, Any]:
    """What may change a failed pod's chances: its spec and labels (not its status)."""
    return pod.get("spec"), (pod.get("metadata") or {}).get("labels")


class Scheduler:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, framework: Framework | None = None,
                 name: str = SCHEDULER_NAME, rng: random.Random | None = None) -> None:
        self.client = client
        self.clock = clock
        self.name = name
        self.volume_binding = VolumeBinding(informers)
        self.framework = framework or default_framework(rng, volume_binding=self.volume_binding)
        self.recorder = EventRecorder(client, clock, name)
        self.nodes = informers.informer(NODES)
        self.pods = informers.informer(PODS, {"node": by_node_name})
        self.queue = WorkQueue(clock, name="scheduler")
        self.node_infos: dict[str, NodeInfo] = {}
        self.placed: dict[str, str] = {}  # pod uid -> node it counts against (bound or assumed)
        self.assumed: dict[str, str] = {}  # pod uid -> node chosen, binding not yet seen
        self.unschedulable: dict[str, int] = {}  # pod key -> failed attempts
        self.next_start = 0
        self.scheduled = 0
        self._binding: set[asyncio.Task[None]] = set()
        self.nodes.add_handler(EventHandler(self._node_added, lambda old, new: self._node_added(new, old),
                                            self._node_deleted))
        self.pods.add_handler(EventHandler(self._pod_added, self._pod_updated, self._pod_deleted))
        self.volume_binding.claims.add_handler(EventHandler(self._claim_changed,
                                                            lambda old, new: self._claim_changed(new), None))
        storage_changed = EventHandler(lambda obj: self._retry_unschedulable(),
                                       lambda old, new: self._retry_unschedulable(), None)
        for informer in (self.volume_binding.volumes, self.volume_binding.classes):
            informer.add_handler(storage_changed)  # a volume freed or a class added may fit a waiting pod

    # ------------------------------------------------------------------ cache upkeep

    def _node_added(self, node: Obj, old: Obj | None = None) -> None:
        name = node["metadata"]["name"]
        info = self.node_infos.get(name)
        if info is None:
            info = self.node_infos[name] = NodeInfo(node)
            for pod in self.pods.cache.by_index("node", name):  # bound before we saw the node
                if counts_on_node(pod):
                    info.add_pod(pod)
                    self.placed[pod["metadata"].get("uid", "")] = name
        else:
            if old is not None and _placement_inputs(old) == _placement_inputs(node):
                info.set_node(node)
                return  # a heartbeat: nothing a pending pod could gain from
            info.set_node(node)
        self._retry_unschedulable()

    def _node_deleted(self, node: Obj) -> None:
        self.node_infos.pop(node["metadata"]["name"], None)

    def _account(self, pod: Obj) -> None:
        uid = pod["metadata"].get("uid", "")
        if uid in self.assumed:
            if not (pod.get("spec") or {}).get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
                return  # our binding is on its way: keep the reservation
            del self.assumed[uid]
        was = self.placed.get(uid)
        if was is not None and counts_on_node(pod) and pod["spec"]["nodeName"] == was:
            return  # a status change of a placed pod: its requests (immutable) are counted already
        if was is not None and was in self.node_infos:
            self.node_infos[was].remove_pod(pod)
        self.placed.pop(uid, None)
        if counts_on_node(pod):
            node = pod["spec"]["nodeName"]
            info = self.node_infos.get(node)
            if info is not None:
                info.add_pod(pod)
            self.placed[uid] = node

    def _pod_added(self, pod: Obj) -> None:
        self._account(pod)
        if needs_scheduling(pod, self.name):
            self.queue.add(object_key(pod))

    def _pod_updated(self, old: Obj, pod: Obj) -> None:
        self._account(pod)
        key = object_key(pod)
        if not needs_scheduling(pod, self.name):
            self.unschedulable.pop(key, None)
            if (old.get("status") or {}).get("phase") != (pod.get("status") or {}).get("phase"):
                self._retry_unschedulable()  # a pod finishing frees its node's resources
            return
        if key in self.unschedulable:
            if _scheduling_inputs(old) != _scheduling_inputs(pod):
                self.unschedulable.pop(key, None)
                self.queue.add(key)
            return  # our own condition update: nothing new to try
        self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        uid = pod["metadata"].get("uid", "")
        self.assumed.pop(uid, None)
        node = self.placed.pop(uid, None)
        if node is not None and node in self.node_infos:
            self.node_infos[node].remove_pod(pod)
            self._retry_unschedulable()
        self.unschedulable.pop(object_key(pod), None)

    def _claim_changed(self, claim: Obj) -> None:
        """A claim appeared or changed: the waiting pods that name it are tried again at once
        (a pod often reaches the scheduler before its StatefulSet claim does)."""
        namespace, name = claim["metadata"].get("namespace", ""), claim["metadata"]["name"]
        for key in list(self.unschedulable):
            pod = self.pods.cache.get(key)
            if pod is not None and pod["metadata"].get("namespace") == namespace and \
                    name in pod_claim_names(pod):
                del self.unschedulable[key]
                self.queue.add(key)

    def _retry_unschedulable(self) -> None:
        for key, attempts in list(self.unschedulable.items()):
            del self.unschedulable[key]
            self.queue.add_after(key, min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** max(0, attempts - 1)))

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Schedule while leading; a new term starts from a fresh queue and no assumptions."""
        await self.nodes.wait_synced()
        await self.pods.wait_synced()
        self.queue = WorkQueue(self.clock, name="scheduler")
        for uid in list(self.assumed):
            self._forget_assumption(uid)
        self.unschedulable.clear()
        for pod in self.pods.cache.list():
            if needs_scheduling(pod, self.name):
                self.queue.add(object_key(pod))
        tasks = [asyncio.create_task(self.recorder.run(), name="scheduler-events"),
                 asyncio.create_task(self._flush_unschedulable(), name="scheduler-flush")]
        try:
            while True:
                try:
                    key = await self.queue.get()
                except QueueShutDown:
                    return
                try:
                    await self.schedule_one(key)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("scheduling %s failed", key)
                    self.queue.add_rate_limited(key)
                finally:
                    self.queue.done(key)
        finally:
            self.queue.shut_down()
            for task in tasks + list(self._binding):
                task.cancel()

    async def _flush_unschedulable(self) -> None:
        while True:
            await self.clock.sleep(UNSCHEDULABLE_FLUSH)
            self._retry_unschedulable()

    async def schedule_one(self, key: str) -> None:
        pod = self.pods.cache.get(key)
        if pod is None or not needs_scheduling(pod, self.name) or pod["metadata"].get("uid") in self.assumed:
            return
        result = self.framework.schedule(pod, list(self.node_infos.values()), self.next_start)
        self.next_start = result.next_start_index
        if result.node_name is None:
            await self._record_failure(key, pod, result.message)
            return
        self.queue.forget(key)
        assumed = dict(pod, spec=dict(pod["spec"], nodeName=result.node_name))
        self._account(assumed)
        self.assumed[pod["metadata"].get("uid", "")] = result.node_name
        task = asyncio.create_task(self._bind(key, pod, result.node_name))
        self._binding.add(task)
        task.add_done_callback(self._binding.discard)

    def _forget_assumption(self, uid: str) -> None:
        node = self.assumed.pop(uid, None)
        if node is not None and self.placed.get(uid) == node:
            del self.placed[uid]
            info = self.node_infos.get(node)
            if info is not None:
                info.remove_pod({"metadata": {"uid": uid}})

    async def _bind(self, key: str, pod: Obj, node_name: str) -> None:
        meta = pod["metadata"]
        uid = meta.get("uid", "")
        try:
            info = self.node_infos.get(node_name)
            if info is not None and self.volume_binding.needs_binding(pod):
                await self.volume_binding.bind_pod_volumes(
                    self.client, self.clock, pod, info.node,
                    lambda: (self.pods.cache.get(key) or {}).get("metadata", {}).get("uid") == uid)
            await self.client.bind(pod, node_name)
        except asyncio.CancelledError:
            self._forget_assumption(uid)
            raise
        except Exception as exc:
            self._forget_assumption(uid)
            current = self.pods.cache.get(key)
            if isinstance(exc, StatusError) and exc.code == 404 or current is None:
                return
            if (current.get("spec") or {}).get("nodeName"):
                self._account(current)  # bound meanwhile (by someone else or an earlier attempt)
                return
            log.info("binding %s to %s failed: %s", key, node_name, getattr(exc, "message", exc))
            self.queue.add_rate_limited(key)
            return
        self.scheduled += 1
        self.recorder.event(pod, "Normal", "Scheduled",
                            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node_name}")

    async def _record_failure(self, key: str, pod: Obj, message: str) -> None:
        self.unschedulable[key] = self.unschedulable.get(key, 0) + 1
        self.recorder.event(pod, "Warning", "FailedScheduling", message)
        status = pod.get("status") or {}
        conditions = status.get("conditions") or []
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if old and old.get("status") == "False" and old.get("reason") == "Unschedulable" and old.get("message") == message:
            return
        condition = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == "False"
                     and old.get("lastTransitionTime") else self.clock.rfc3339(),
                     "reason": "Unschedulable", "message": message}
        new_status = dict(status, phase=status.get("phase") or "Pending",
                          conditions=[c for c in conditions if c.get("type") != "PodScheduled"] + [condition])
        try:
            await self.client.update_status(PODS, dict(pod, status=new_status))
        except StatusError as exc:
            if exc.code == 409:  # our copy was stale: try again with the fresh one
                self.unschedulable.pop(key, None)
                self.queue.add_after(key, INITIAL_BACKOFF)
            elif exc.code != 404:
                raise
