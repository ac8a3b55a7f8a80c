"""Node lifecycle: notice silent nodes, taint them, and evict what cannot stay.

Upstream splits this across the node lifecycle controller (Ready=Unknown after the grace
period, NoSchedule/NoExecute taints from conditions, pods marked not ready) and the taint
eviction controller (pods on a node with a NoExecute taint they do not tolerate are
deleted, at once or after their tolerationSeconds). Both are here, over shared informers.
A node is judged by its Lease and its Ready heartbeat as *we* saw them change, on our own
clock, so a skewed node clock cannot make it look alive or dead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from tinykube.client.api import LEASES, NODES, PODS, Client, Obj
from tinykube.client.events import EventRecorder
from tinykube.client.informer import InformerFactory, by_node_name
from tinykube.clock import parse_time
from tinykube.machinery.errors import StatusError
from tinykube.machinery.taints import min_toleration_seconds

log = logging.getLogger(__name__)

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
PRESSURE_TAINTS = {"MemoryPressure": "node.kubernetes.io/memory-pressure",
                   "DiskPressure": "node.kubernetes.io/disk-pressure",
                   "PIDPressure": "node.kubernetes.io/pid-pressure"}
MANAGED_TAINT_KEYS = {NOT_READY, UNREACHABLE, UNSCHEDULABLE, *PRESSURE_TAINTS.values()}
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


@dataclass
class NodeHealth:
    heartbeat: tuple[str, str]  # (lease renewTime, Ready lastHeartbeatTime) as last seen
    seen_at: float  # our monotonic clock when `heartbeat` last changed


def ready_status(node: Obj) -> str | None:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status")
    return None


def desired_taints(node: Obj) -> list[tuple[str, str]]:
    """(key, effect) of the taints the node's conditions and spec call for (TaintNodesByCondition
    plus the NoExecute taints of taint-based eviction)."""
    wanted: list[tuple[str, str]] = []
    ready = ready_status(node)
    if ready == "False":
        wanted += [(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]
    elif ready == "Unknown":
        wanted += [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.append((UNSCHEDULABLE, "NoSchedule"))
    for cond in (node.get("status") or {}).get("conditions") or []:
        key = PRESSURE_TAINTS.get(cond.get("type", ""))
        if key and cond.get("status") == "True":
            wanted.append((key, "NoSchedule"))
    return wanted


def reconcile_taints(node: Obj, now: str) -> list[Obj] | None:
    """The node's new taint list, or None when it already has exactly the managed taints it needs.
    Taints other controllers or users set are kept untouched."""
    current = list((node.get("spec") or {}).get("taints") or [])
    wanted = desired_taints(node)
    kept = [t for t in current if t.get("key") not in MANAGED_TAINT_KEYS or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    added = [{"key": key, "effect": effect, **({"timeAdded": now} if effect == "NoExecute" else {})}
             for key, effect in wanted if (key, effect) not in have]
    if not added and len(kept) == len(current):
        return None
    return kept + added


def unknown_conditions(node: Obj, now: str) -> list[Obj]:
    """The kubelet's conditions all turned Unknown, as upstream writes them for a silent node."""
    out = []
    seen = set()
    for cond in (node.get("status") or {}).get("conditions") or []:
        cond = dict(cond)
        if cond.get("type") in KUBELET_CONDITIONS:
            seen.add(cond["type"])
            if cond.get("status") != "Unknown":
                cond.update(status="Unknown", reason="NodeStatusUnknown",
                            message="Kubelet stopped posting node status.", lastTransitionTime=now)
        out.append(cond)
    for kind in KUBELET_CONDITIONS:
        if kind not in seen:
            out.append({"type": kind, "status": "Unknown", "lastHeartbeatTime": now, "lastTransitionTime": now,
                        "reason": "NodeStatusNeverUpdated", "message": "Kubelet never posted node status."})
    return out


class NodeLifecycleController:
    def __init__(self, client: Client, clock: Any, informers: InformerFactory, *, grace_period: float = 50.0,
                 monitor_period: float = 5.0, startup_grace_period: float = 60.0) -> None:
        self.client = client
        self.clock = clock
        self.grace_period = grace_period
        self.monitor_period = monitor_period
        self.startup_grace_period = startup_grace_period
        self.nodes = informers.informer(NODES)
        self.leases = informers.informer(LEASES)
        self.pods = informers.informer(PODS, {"node": by_node_name})
        self.recorder = EventRecorder(client, clock, "node-controller")
        self.health: dict[str, NodeHealth] = {}
        self.taint_seen: dict[tuple[str, str, str], float] = {}  # when we first saw a taint lacking timeAdded
        self.started_at = 0.0

    async def run(self) -> None:
        for informer in (self.nodes, self.leases, self.pods):
            await informer.wait_synced()
        self.started_at = self.clock.monotonic()
        events = asyncio.create_task(self.recorder.run())
        try:
            while True:
                wake = self.monitor_period
                try:
                    wake = min(wake, await self.monitor())
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("node monitor pass failed")
                await self.clock.sleep(max(0.05, wake))
        finally:
            events.cancel()

    async def monitor(self) -> float:
        """One pass over all nodes; returns seconds until an eviction falls due (or a period)."""
        next_due = self.monitor_period
        now = self.clock.monotonic()
        names = set()
        for node in self.nodes.cache.list():
            name = node["metadata"]["name"]
            names.add(name)
            try:
                node = await self._check_health(node, now)
                node = await self._apply_taints(node)
                next_due = min(next_due, await self._evict_intolerant_pods(node))
            except StatusError as exc:
                if exc.code not in (404, 409):
                    log.warning("node %s: %s", name, exc.message)
        for gone in set(self.health) - names:
            del self.health[gone]
        return next_due

    async def _check_health(self, node: Obj, now: float) -> Obj:
        name = node["metadata"]["name"]
        lease = self.leases.cache.get(f"kube-node-lease/{name}")
        renewed = ((lease or {}).get("spec") or {}).get("renewTime") or ""
        beat = ""
        for cond in (node.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                beat = cond.get("lastHeartbeatTime") or ""
        heartbeat = (renewed, beat)
        health = self.health.get(name)
        if health is None or health.heartbeat != heartbeat:
            self.health[name] = health = NodeHealth(heartbeat, now)
        ready = ready_status(node)
        grace = self.grace_period if ready is not None else self.startup_grace_period
        if ready == "Unknown" or now - max(health.seen_at, self.started_at) < grace:
            return node
        stamp = self.clock.rfc3339()
        status = dict(node.get("status") or {}, conditions=unknown_conditions(node, stamp))
        updated = await self.client.update_status(NODES, dict(node, status=status))
        self.recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        await self._mark_pods_not_ready(name)
        return updated

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        stamp = self.clock.rfc3339()
        for pod in self.pods.cache.by_index("node", node_name):
            conditions = (pod.get("status") or {}).get("conditions") or []
            if not any(c.get("type") == "Ready" and c.get("status") != "False" for c in conditions):
                continue
            new = [dict(c, status="False", lastTransitionTime=stamp) if c.get("type") == "Ready" else c
                   for c in conditions]
            try:
                await self.client.update_status(PODS, dict(pod, status=dict(pod["status"], conditions=new)))
            except StatusError as exc:
                if exc.code not in (404, 409):
                    raise

    async def _apply_taints(self, node: Obj) -> Obj:
        taints = reconcile_taints(node, self.clock.rfc3339())
        if taints is None:
            return node
        spec = dict(node.get("spec") or {})
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        return await self.client.update(NODES, dict(node, spec=spec))

    async def _evict_intolerant_pods(self, node: Obj) -> float:
        """Delete pods that do not tolerate the node's NoExecute taints, when their time is up."""
        no_execute = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not no_execute:
            return self.monitor_period
        next_due = self.monitor_period
        now = self.clock.time()
        for pod in self.pods.cache.by_index("node", node["metadata"]["name"]):
            if pod["metadata"].get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            wait = min_toleration_seconds(no_execute, (pod.get("spec") or {}).get("tolerations") or [])
            if wait is None:
                continue  # tolerates every NoExecute taint forever
            added = min((self._taint_time(node["metadata"]["name"], t, now) for t in no_execute), default=now)
            due = added + wait
            if now < due:
                next_due = min(next_due, due - now)
                continue
            await self._evict(pod)
        return next_due

    async def _evict(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {meta['namespace']}/{meta['name']}")
        try:
            conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "DisruptionTarget"]
            conditions.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": self.clock.rfc3339(), "reason": "DeletionByTaintManager",
                               "message": "Taint manager: deleting due to NoExecute taint"})
            await self.client.update_status(PODS, dict(pod, status=dict(pod.get("status") or {}, conditions=conditions)))
            await self.client.delete(PODS, meta["name"], meta["namespace"], uid=meta.get("uid", ""))
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise


    def _taint_time(self, node: str, taint: Obj, now: float) -> float:
        """When the taint appeared: its timeAdded, or when this controller first saw it."""
        added = taint.get("timeAdded")
        if added:
            try:
                return parse_time(added).timestamp()
            except ValueError:
                pass
        return self.taint_seen.setdefault((node, taint.get("key", ""), taint.get("effect", "")), now)

