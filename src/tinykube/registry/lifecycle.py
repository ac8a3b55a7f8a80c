"""Per-kind rules of what a write may change: status on create, generation, status writes.

These are the PrepareForCreate / PrepareForUpdate parts of upstream's registry strategies
that are not defaulting or validation.
"""

from __future__ import annotations

from typing import Any

from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds.apps import TEMPLATE_GENERATION
from tinykube.registry.resources import Resource

# Kinds whose metadata.generation counts spec changes (upstream strategies set it).
_GENERATION_KINDS = {
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("", "ReplicationController"), ("batch", "Job"), ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"),
}

# Fields of metadata the server owns: clients cannot set or change them.
SERVER_METADATA = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                   "generation", "selfLink")


def tracks_generation(res: Resource) -> bool:
    return (res.group, res.kind) in _GENERATION_KINDS


def initial_status(res: Resource, obj: dict[str, Any]) -> dict[str, Any] | None:
    """What status a newly created object starts with (None: keep what the client sent)."""
    kind = (res.group, res.kind)
    if kind == ("", "Node"):
        return None  # a node agent registers its node with its status
    if kind == ("", "Pod"):
        return {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    if kind == ("", "Namespace"):
        return {"phase": "Active"}
    if kind in (("", "PersistentVolume"), ("", "PersistentVolumeClaim")):
        return {"phase": "Pending"}
    if res.has_status:
        return {}
    return None


def prepare_for_create(res: Resource, obj: dict[str, Any]) -> None:
    status = initial_status(res, obj)
    if status is not None:
        if status:
            obj["status"] = status
        else:
            obj.pop("status", None)
    if tracks_generation(res):
        obj["metadata"]["generation"] = 1


def spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything but metadata and status: what a generation counts."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def prepare_for_update(res: Resource, new: dict[str, Any], old: dict[str, Any]) -> None:
    """A write to the main resource: status stays as it was; a spec change bumps generation."""
    if res.has_status:
        if "status" in old:
            new["status"] = json_copy(old["status"])
        else:
            new.pop("status", None)
    if res.kind == "Namespace" and not res.group:
        # only the finalize subresource changes a namespace's finalizers
        finalizers = (old.get("spec") or {}).get("finalizers")
        spec = new.setdefault("spec", {})
        if finalizers is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = json_copy(finalizers)
    if tracks_generation(res):
        generation = int(old["metadata"].get("generation") or 1)
        if spec_of(new) != spec_of(old):
            generation += 1
        new["metadata"]["generation"] = generation
    if res.kind == "DaemonSet" and res.group == "apps":
        _bump_template_generation(new, old)


def _bump_template_generation(new: dict[str, Any], old: dict[str, Any]) -> None:
    """The DaemonSet strategy counts template changes in spec.templateGeneration, which apps/v1
    shows as an annotation: one more on a template change, else kept as the server has it."""
    old_value = (old["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION)
    if old_value is None:
        return
    value = old_value
    if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
        try:
            value = str(int(old_value) + 1)
        except ValueError:
            value = old_value
    annotations = new["metadata"].get("annotations")
    if not isinstance(annotations, dict):
        annotations = new["metadata"]["annotations"] = {}
    annotations[TEMPLATE_GENERATION] = value


def prepare_for_finalize(new: dict[str, Any], old: dict[str, Any]) -> None:
    """namespaces/{name}/finalize changes spec.finalizers and nothing else."""
    finalizers = (new.get("spec") or {}).get("finalizers") or []
    result = json_copy(old)
    result["metadata"]["resourceVersion"] = new["metadata"].get("resourceVersion", "")
    result.setdefault("spec", {})["finalizers"] = list(finalizers)
    if not finalizers:
        del result["spec"]["finalizers"]
    new.clear()
    new.update(result)


def prepare_for_status_update(res: Resource, new: dict[str, Any], old: dict[str, Any]) -> None:
    """A write to /status: only status changes; metadata a controller must not touch stays.

    `old` is the write's own decoding of the stored object, dropped after the write: its spec
    (and whatever else a status write keeps) is taken as it is, only its metadata is copied."""
    status = new.get("status")
    meta = new["metadata"]
    result = {key: value for key, value in old.items() if key != "status"}
    result["metadata"] = json_copy({key: value for key, value in old["metadata"].items() if key != "managedFields"})
    result["metadata"]["managedFields"] = meta.get("managedFields", old["metadata"].get("managedFields"))
    result["metadata"]["resourceVersion"] = meta.get("resourceVersion", "")
    if status is None:
        result.pop("status", None)
    else:
        result["status"] = status
    new.clear()
    new.update(result)


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = res.get("requests") or {}
        limits = res.get("limits") or {}
        if requests or limits:
            any_set = True
        for name in ("cpu", "memory"):
            if name not in limits:
                guaranteed = False
            elif name in requests and str(requests[name]) != str(limits[name]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed and containers else "Burstable"
