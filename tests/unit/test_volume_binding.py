"""The scheduler's VolumeBinding plugin over fake caches: claim sorting, node verdicts, messages."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tinykube.client.informer import Cache
from tinykube.controllers.volume import util
from tinykube.scheduler.framework import NO_VERDICT_CACHE, Code, CycleState
from tinykube.scheduler.nodeinfo import NodeInfo
from tinykube.scheduler.plugins.volume_binding import (
    BIND_CONFLICT, NODE_CONFLICT, UNBOUND_IMMEDIATE, VolumeBinding,
)


@dataclass
class FakeInformer:
    cache: Cache = field(default_factory=Cache)

    def add_handler(self, handler) -> None:
        pass


class FakeInformers:
    def __init__(self) -> None:
        self.by_plural: dict[str, FakeInformer] = {}

    def informer(self, res, indexers=None) -> FakeInformer:
        return self.by_plural.setdefault(res.plural, FakeInformer())


def node(name: str) -> NodeInfo:
    return NodeInfo({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                     "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})


def claim(name: str, cls: str, volume: str = "", bound: bool = False, deleting: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "annotations": {}}
    if bound:
        meta["annotations"][util.BIND_COMPLETED] = "yes"
    if deleting:
        meta["deletionTimestamp"] = "t"
    return {"metadata": meta, "spec": {"storageClassName": cls, "volumeName": volume, "accessModes": ["ReadWriteOnce"],
                                       "resources": {"requests": {"storage": "1Gi"}}}}


def volume(name: str, cls: str, on: str, ref: str = "") -> dict:
    spec: dict = {"storageClassName": cls, "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                      {"key": "kubernetes.io/hostname", "operator": "In", "values": [on]}]}]}}}
    if ref:
        spec["claimRef"] = {"name": ref, "namespace": "ns", "uid": f"uid-{ref}"}
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": "Bound" if ref else "Available"}}


def pod(*claims: str) -> dict:
    return {"metadata": {"name": "p", "namespace": "ns"},
            "spec": {"containers": [{"name": "c"}],
                     "volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims]}}


@pytest.fixture
def plugin() -> VolumeBinding:
    informers = FakeInformers()
    plugin = VolumeBinding(informers)  # type: ignore[arg-type]
    classes = {"wait": {"provisioner": "rancher.io/local-path", "volumeBindingMode": "WaitForFirstConsumer"},
               "static": {"provisioner": util.NO_PROVISIONER, "volumeBindingMode": "WaitForFirstConsumer"},
               "now": {"provisioner": "x/y", "volumeBindingMode": "Immediate"}}
    for name, body in classes.items():
        plugin.classes.cache.put(name, {"metadata": {"name": name}, **body})
    for c in (claim("fresh", "wait"), claim("local", "static"), claim("imm", "now"),
              claim("done", "now", "pv-a", bound=True), claim("going", "wait", deleting=True)):
        plugin.claims.cache.put(f"ns/{c['metadata']['name']}", c)
    for v in (volume("pv-a", "now", "a", ref="done"), volume("pv-static-b", "static", "b")):
        plugin.volumes.cache.put(v["metadata"]["name"], v)
    return plugin


@pytest.mark.parametrize("claims, code, message", [
    ((), Code.SKIP, ""),
    (("missing",), Code.UNSCHEDULABLE_AND_UNRESOLVABLE, 'persistentvolumeclaim "missing" not found'),
    (("going",), Code.UNSCHEDULABLE_AND_UNRESOLVABLE, 'persistentvolumeclaim "going" is being deleted'),
    (("imm",), Code.UNSCHEDULABLE_AND_UNRESOLVABLE, UNBOUND_IMMEDIATE),
    (("fresh", "done"), Code.SUCCESS, ""),
])
def test_pre_filter(plugin: VolumeBinding, claims, code, message) -> None:
    state = CycleState()
    st = plugin.pre_filter(state, pod(*claims))
    assert (st.code, st.message) == (code, message)
    if code is Code.SUCCESS:
        assert state[NO_VERDICT_CACHE]


@pytest.mark.parametrize("claims, node_name, reason", [
    (("done",), "a", ""),                 # bound volume's node
    (("done",), "b", NODE_CONFLICT),
    (("fresh",), "b", ""),                # provisionable anywhere
    (("local",), "b", ""),                # a static volume there
    (("local",), "a", BIND_CONFLICT),     # no static volume there, and no provisioner
])
def test_filter(plugin: VolumeBinding, claims, node_name, reason) -> None:
    state = CycleState()
    assert plugin.pre_filter(state, pod(*claims)).code is Code.SUCCESS
    st = plugin.filter(state, pod(*claims), node(node_name))
    assert st.message == reason


def test_plan_picks_static_volume_or_provisioning(plugin: VolumeBinding) -> None:
    claims = [plugin.claims.cache.get("ns/local"), plugin.claims.cache.get("ns/fresh")]
    plan = plugin.plan(claims, node("b").node)
    assert [(c["metadata"]["name"], v and v["metadata"]["name"]) for c, v in plan] == [
        ("local", "pv-static-b"), ("fresh", None)]
