"""VolumeBinding: a pod's claims decide where it may go, and binding the pod waits for them.

PreFilter sorts the pod's claims as upstream's GetPodVolumeClaims: fully bound (their volumes'
node affinity must admit the node), to bind (WaitForFirstConsumer: a node fits when a static
volume there matches, or the class can provision), or unbound immediate (the pod waits; the
binder binds those). Filter judges one node. `bind_pod_volumes` is the PreBind: on the chosen
node a matched static volume gets the claim's claimRef, any other claim gets the
volume.kubernetes.io/selected-node annotation (so its provisioner makes the volume there),
then it waits until every claim is bound, as upstream binds the pod only after its volumes.

Verdicts depend on claims and volumes, not only on the pod and node, so a pod with claims opts
out of the framework's verdict cache.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from tinykube.client.api import Client, Obj, resource
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.controllers.volume import util
from tinykube.machinery.nodeselection import CompiledNodeSelector, compile_node_selector
from tinykube.scheduler.framework import NO_VERDICT_CACHE, SKIP, SUCCESS, CycleState, Status, unresolvable
from tinykube.scheduler.nodeinfo import NodeInfo

NAME = "VolumeBinding"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
BIND_TIMEOUT = 600.0  # upstream's bindTimeoutSeconds

PVS = resource("v1", "persistentvolumes")
PVCS = resource("v1", "persistentvolumeclaims")
STORAGE_CLASSES = resource("storage.k8s.io/v1", "storageclasses")


def fully_bound(claim: Obj) -> bool:
    """isPVCFullyBound: a volume name and the binder's bind-completed annotation."""
    return bool(util.spec(claim).get("volumeName")) and util.BIND_COMPLETED in util.annotations(claim)


def _required_affinity(volume: Obj) -> CompiledNodeSelector | None:
    """A bound volume's required node affinity, compiled once per cycle (None: any node; the
    caller puts False for a missing volume, which fits no node)."""
    terms = ((util.spec(volume).get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")
    return compile_node_selector(terms) if terms else None


class BindTimeout(Exception):
    """The claims did not become bound in time; the pod goes back to the queue."""


class VolumeBinding:
    name = NAME

    def __init__(self, informers: InformerFactory) -> None:
        self.claims = informers.informer(PVCS)
        self.volumes = informers.informer(PVS)
        self.classes = informers.informer(STORAGE_CLASSES)
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self.claims.add_handler(EventHandler(self._claim_changed, lambda old, new: self._claim_changed(new), None))

    # ------------------------------------------------------------------ filtering

    def _claim_class(self, claim: Obj) -> Obj | None:
        name = util.claim_class(claim)
        return self.classes.cache.get(name) if name else None

    def pre_filter(self, state: CycleState, pod: dict[str, Any]) -> Status:
        names = util.pod_claim_names(pod)
        if not names:
            return SKIP
        namespace = pod["metadata"].get("namespace", "")
        bound: list[Obj | None] = []
        to_bind: list[Obj] = []
        for name in names:
            claim = self.claims.cache.get(f"{namespace}/{name}")
            if claim is None:
                return unresolvable(f'persistentvolumeclaim "{name}" not found')
            if claim["metadata"].get("deletionTimestamp"):
                return unresolvable(f'persistentvolumeclaim "{name}" is being deleted')
            if fully_bound(claim):
                bound.append(self.volumes.cache.get(util.spec(claim)["volumeName"]))
            elif util.delays_binding(self._claim_class(claim)):
                to_bind.append(claim)
            else:
                return unresolvable(UNBOUND_IMMEDIATE)
        affinities = [False if v is None else _required_affinity(v) for v in bound]
        static = [c for c in to_bind if not self._provisionable(c)]
        state[NAME] = (affinities, static)
        state[NO_VERDICT_CACHE] = True
        return SUCCESS

    def filter(self, state: CycleState, pod: dict[str, Any], node_info: NodeInfo) -> Status:
        """Bound volumes' node affinity must admit the node; claims only static volumes can serve
        need one there (provisionable claims fit everywhere, so they cost nothing per node)."""
        affinities, static = state[NAME]
        node = node_info.node
        for affinity in affinities:
            if affinity is False or (affinity is not None and not affinity.matches(node)):
                return unresolvable(NODE_CONFLICT)
        if static and self.plan(static, node) is None:
            return unresolvable(BIND_CONFLICT)
        return SUCCESS

    def _provisionable(self, claim: Obj) -> bool:
        sc = self._claim_class(claim)
        return sc is not None and sc.get("provisioner") != util.NO_PROVISIONER

    def plan(self, claims: list[Obj], node: Obj) -> list[tuple[Obj, Obj | None]] | None:
        """Per claim the static volume it gets on `node`, or None to provision; None when some
        claim can have neither."""
        volumes = self.volumes.cache.list()
        chosen: set[str] = set()
        out: list[tuple[Obj, Obj | None]] = []
        for claim in claims:
            volume = util.find_matching_volume(claim, volumes, node, True, frozenset(chosen))
            if volume is not None:
                chosen.add(volume["metadata"]["name"])
            elif not self._provisionable(claim):
                return None
            out.append((claim, volume))
        return out

    # ------------------------------------------------------------------ binding

    def needs_binding(self, pod: Obj) -> bool:
        namespace = pod["metadata"].get("namespace", "")
        return any(not fully_bound(c) for name in util.pod_claim_names(pod)
                   if (c := self.claims.cache.get(f"{namespace}/{name}")) is not None)

    async def bind_pod_volumes(self, client: Client, clock: Any, pod: Obj, node: Obj,
                               alive: Callable[[], bool] = lambda: True) -> None:
        """PreBind: write the chosen bindings, then wait until the binder has bound every claim
        (or the pod is gone: `alive` says whether it still waits for this binding)."""
        namespace = pod["metadata"].get("namespace", "")
        keys = [f"{namespace}/{name}" for name in util.pod_claim_names(pod)]
        claims = [c for key in keys if (c := self.claims.cache.get(key)) is not None and not fully_bound(c)]
        if not claims:
            return
        plan = self.plan(claims, node) or [(c, None) for c in claims]
        for claim, volume in plan:
            if volume is not None:
                updated = util.bound_volume(volume, claim)
                if updated is not None:
                    await client.update(PVS, updated)
            elif util.annotations(claim).get(util.SELECTED_NODE) != node["metadata"]["name"]:
                meta = dict(claim["metadata"], annotations={**util.annotations(claim),
                                                            util.SELECTED_NODE: node["metadata"]["name"]})
                await client.update(PVCS, dict(claim, metadata=meta))
        deadline = clock.time() + BIND_TIMEOUT
        while not all((c := self.claims.cache.get(k)) is not None and fully_bound(c) for k in keys):
            if not alive():
                return
            left = deadline - clock.time()
            if left <= 0:
                raise BindTimeout("binding volumes: timed out waiting for the condition")
            event = asyncio.Event()
            for key in keys:
                self._waiters.setdefault(key, set()).add(event)
            waiting = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(clock.sleep(min(left, 5.0)))]
            try:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waiting:
                    task.cancel()
                for key in keys:
                    self._waiters.get(key, set()).discard(event)

    def _claim_changed(self, claim: Obj) -> None:
        for event in self._waiters.pop(util.claim_key(claim), set()):
            event.set()
