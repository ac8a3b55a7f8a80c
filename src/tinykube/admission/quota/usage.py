"""What an object counts against a ResourceQuota, as upstream's quota evaluators compute it.

Pure functions on plain objects: `usage` is one object's usage, `tracks` says which quota
resource names a kind's objects can use, `matches_scopes` applies a quota's scopes. The
admission plugin and the ResourceQuota controller both sum these, so the two agree.
"""

from __future__ import annotations

from typing import Any, Iterable

from tinykube.admission import resourcelist as rl
from tinykube.admission.resourcelist import ResourceList
from tinykube.clock import timestamp_of

Obj = dict[str, Any]

# The names that predate count/<resource>: upstream still counts them for these kinds.
LEGACY_COUNTS = {("", "pods"): "pods", ("", "services"): "services", ("", "configmaps"): "configmaps",
                 ("", "secrets"): "secrets", ("", "persistentvolumeclaims"): "persistentvolumeclaims",
                 ("", "replicationcontrollers"): "replicationcontrollers",
                 ("", "resourcequotas"): "resourcequotas"}
COMPUTE = ("cpu", "memory", "ephemeral-storage")
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
POD_SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass")
# Quota resources that every container must state when a quota limits them (upstream's
# backward-compatibility rule for cpu and memory).
CONTAINER_MUST_SPECIFY = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def count_name(group: str, plural: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def parse_count_name(name: str) -> tuple[str, str] | None:
    """`count/deployments.apps` → ("apps", "deployments"); None for other names."""
    if not name.startswith("count/") or len(name) <= 6:
        return None
    plural, _, group = name[6:].partition(".")
    return group, plural


def tracks(group: str, plural: str, name: str) -> bool:
    """Whether objects of this resource use the quota resource `name`."""
    if name == count_name(group, plural) or LEGACY_COUNTS.get((group, plural)) == name:
        return True
    if (group, plural) == ("", "pods"):
        return name in COMPUTE or name.startswith(("requests.", "limits.")) and name != "requests.storage" \
            or name.startswith("hugepages-")
    if (group, plural) == ("", "services"):
        return name in ("services.loadbalancers", "services.nodeports")
    if (group, plural) == ("", "persistentvolumeclaims"):
        return name == "requests.storage" or STORAGE_CLASS_SUFFIX in name
    return False


def _container_resources(container: Any) -> tuple[ResourceList, ResourceList]:
    resources = container.get("resources") if isinstance(container, dict) else None
    resources = resources if isinstance(resources, dict) else {}
    requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    return {k: str(v) for k, v in requests.items()}, {k: str(v) for k, v in limits.items()}


def _containers(spec: Obj, field: str) -> list[Obj]:
    items = spec.get(field)
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def pod_requests_limits(pod: Obj) -> tuple[ResourceList, ResourceList]:
    """The pod's effective requests and limits: containers summed, then the larger of that and
    each init container, plus the pod overhead (resourcehelper.PodRequests/PodLimits)."""
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    requests: ResourceList = {}
    limits: ResourceList = {}
    for container in _containers(spec, "containers"):
        req, lim = _container_resources(container)
        requests, limits = rl.add(requests, req), rl.add(limits, lim)
    for container in _containers(spec, "initContainers"):
        req, lim = _container_resources(container)
        requests, limits = rl.maximum(requests, req), rl.maximum(limits, lim)
    overhead = spec.get("overhead")
    if isinstance(overhead, dict) and overhead:
        over = {k: str(v) for k, v in overhead.items()}
        requests = rl.add(requests, over)
        limits = rl.add(limits, rl.mask(over, limits))
    return requests, limits


def compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """podComputeUsageHelper: requests count as both `cpu` and `requests.cpu`, limits as `limits.cpu`."""
    out: ResourceList = {"pods": "1"}
    for name, value in requests.items():
        if name in COMPUTE:
            out[name] = value
        out[f"requests.{name}"] = value
    for name, value in limits.items():
        out[f"limits.{name}"] = value
    return out


def pod_counts_toward_quota(pod: Obj, now: float) -> bool:
    """QuotaV1Pod: terminal pods and pods stuck terminating past their grace period are free."""
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    meta = pod.get("metadata") or {}
    deleted, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if deleted and grace is not None:
        when = timestamp_of(str(deleted))
        if when is not None and now > when + int(grace):
            return False
    return True


def usage(group: str, plural: str, obj: Obj, now: float) -> ResourceList:
    """Everything one object uses (the caller masks it to a quota's names)."""
    out: ResourceList = {count_name(group, plural): "1"}
    legacy = LEGACY_COUNTS.get((group, plural))
    if (group, plural) == ("", "pods"):
        if pod_counts_toward_quota(obj, now):
            out.update(compute_usage(*pod_requests_limits(obj)))
        return out
    if legacy:
        out[legacy] = "1"
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if (group, plural) == ("", "services"):
        kind = spec.get("type") or "ClusterIP"
        ports = spec.get("ports") if isinstance(spec.get("ports"), list) else []
        if kind == "LoadBalancer":
            out["services.loadbalancers"] = "1"
        if kind in ("LoadBalancer", "NodePort"):
            out["services.nodeports"] = str(len(ports))
    elif (group, plural) == ("", "persistentvolumeclaims"):
        resources = spec.get("resources") if isinstance(spec.get("resources"), dict) else {}
        requests = resources.get("requests") if isinstance(resources.get("requests"), dict) else {}
        storage = requests.get("storage")
        if storage is not None:
            out["requests.storage"] = str(rl.amount(storage))
        storage_class = spec.get("storageClassName")
        if storage_class:
            out[f"{storage_class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = "1"
            if storage is not None:
                out[f"{storage_class}{STORAGE_CLASS_SUFFIX}requests.storage"] = str(rl.amount(storage))
    return out


def quota_scopes(quota: Obj) -> list[tuple[str, str, list[str]]]:
    """(scope, operator, values) from spec.scopes and spec.scopeSelector."""
    spec = quota.get("spec") if isinstance(quota.get("spec"), dict) else {}
    out = [(str(s), "Exists", []) for s in spec.get("scopes") or []]
    selector = spec.get("scopeSelector") if isinstance(spec.get("scopeSelector"), dict) else {}
    for expr in selector.get("matchExpressions") or []:
        if isinstance(expr, dict):
            out.append((str(expr.get("scopeName", "")), str(expr.get("operator", "Exists")),
                        [str(v) for v in expr.get("values") or []]))
    return out


def is_best_effort(pod: Obj) -> bool:
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    for container in _containers(spec, "containers") + _containers(spec, "initContainers"):
        req, lim = _container_resources(container)
        if any(k in ("cpu", "memory") for k in list(req) + list(lim)):
            return False
    return True


def _pod_has_scope(pod: Obj, scope: str, operator: str, values: list[str]) -> bool:
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    if scope == "PriorityClass":
        name = spec.get("priorityClassName")
        if operator == "In":
            return name in values
        if operator == "NotIn":
            return name not in values
        return bool(name) if operator == "Exists" else not name
    terminating = spec.get("activeDeadlineSeconds") is not None
    present = {"Terminating": terminating, "NotTerminating": not terminating,
               "BestEffort": is_best_effort(pod), "NotBestEffort": not is_best_effort(pod)}.get(scope, False)
    return not present if operator == "DoesNotExist" else present


def matches_scopes(quota: Obj, group: str, plural: str, obj: Obj) -> bool:
    """A quota without scopes covers everything; a scoped one only pods with every scope."""
    scopes = quota_scopes(quota)
    if not scopes:
        return True
    if (group, plural) != ("", "pods"):
        return False
    return all(_pod_has_scope(obj, *scope) for scope in scopes)


def hard_of(quota: Obj) -> ResourceList:
    spec = quota.get("spec") if isinstance(quota.get("spec"), dict) else {}
    hard = spec.get("hard") if isinstance(spec.get("hard"), dict) else {}
    return {str(k): str(v) for k, v in hard.items()}


def total_usage(quota: Obj, group: str, plural: str, objects: Iterable[Obj], now: float) -> ResourceList:
    """The usage of these objects (one resource's) that this quota covers, masked to its names."""
    names = [n for n in hard_of(quota) if tracks(group, plural, n)]
    total = rl.zeros(names)
    for obj in objects:
        if matches_scopes(quota, group, plural, obj):
            total = rl.add(total, rl.mask(usage(group, plural, obj, now), names))
    return total


def missing_container_resources(pod: Obj, required: Iterable[str]) -> str | None:
    """`must specify limits.cpu for: x; memory for: x,y` when containers do not state what the
    quota limits (cpu and memory only); None when all do."""
    wanted = set(required) & set(CONTAINER_MUST_SPECIFY)
    if not wanted:
        return None
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    missing: dict[str, set[str]] = {}
    for container in _containers(spec, "containers") + _containers(spec, "initContainers"):
        stated = set(compute_usage(*_container_resources(container)))
        for name in wanted - stated:
            missing.setdefault(name, set()).add(str(container.get("name", "")))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing))
