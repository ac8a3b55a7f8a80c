"""The pod subresources that are actions rather than objects: binding and eviction."""

from __future__ import annotations

from typing import Any

from tinykube.machinery import errors
from tinykube.machinery.errors import Cause
from tinykube.registry.objects import DeleteOptions, ObjectRegistry
from tinykube.registry.resources import RESOURCE_INDEX

PODS = RESOURCE_INDEX.lookup("", "v1", "pods")
CREATED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


async def bind_pod(registry: ObjectRegistry, namespace: str, name: str, binding: dict[str, Any],
                   now: str) -> dict[str, Any]:
    """pods/binding: set spec.nodeName and PodScheduled=True in one write, as upstream does."""
    assert PODS is not None
    node_name = (binding.get("target") or {}).get("name", "") if isinstance(binding, dict) else ""
    if not node_name:
        raise errors.invalid("", "Binding", name, [Cause("FieldValueRequired", "Required value", "target.name")])
    want_uid = ((binding.get("metadata") or {}).get("uid") or "")

    def assign(pod: dict[str, Any]) -> dict[str, Any]:
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        if want_uid and meta.get("uid") != want_uid:
            raise errors.conflict("", "pods", name, f"Precondition failed: UID in precondition: {want_uid}, "
                                                    f"UID in object meta: {meta.get('uid')}")
        if meta.get("deletionTimestamp"):
            raise errors.conflict("", "pods", name, "pod is being deleted, cannot be assigned to a host")
        if spec.get("nodeName"):
            raise errors.conflict("", "pods", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"')
        spec["nodeName"] = node_name
        status = pod.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": now})
        status["conditions"] = conditions
        return pod

    await registry.system_update(PODS, namespace, name, assign)
    return dict(CREATED)


def eviction_delete_options(eviction: dict[str, Any]) -> DeleteOptions:
    """An Eviction may carry DeleteOptions; without any, the pod's own grace period applies."""
    body = eviction.get("deleteOptions") or {} if isinstance(eviction, dict) else {}
    grace = body.get("gracePeriodSeconds")
    pre = body.get("preconditions") or {}
    return DeleteOptions(int(grace) if isinstance(grace, int) else None, body.get("propagationPolicy") or "",
                         pre.get("uid") or "", pre.get("resourceVersion") or "",
                         dry_run="All" in (body.get("dryRun") or []))


async def evict_pod(registry: ObjectRegistry, namespace: str, name: str,
                    eviction: dict[str, Any]) -> dict[str, Any]:
    """pods/eviction: a graceful delete. No PodDisruptionBudgets are served, so none can refuse it."""
    assert PODS is not None
    await registry.delete(PODS, namespace, name, eviction_delete_options(eviction))
    return dict(CREATED)
