"""Which fields each kind lets clients select on (`--field-selector`), and their values.

Upstream supports metadata.name and metadata.namespace everywhere plus a short, fixed list
per kind; anything else is refused with `field label not supported: <label>`.
"""

from __future__ import annotations

from typing import Any, Callable

Getter = Callable[[dict[str, Any]], str]


def _path(*keys: str) -> Getter:
    def get(obj: dict[str, Any]) -> str:
        cur: Any = obj
        for key in keys:
            if not isinstance(cur, dict):
                return ""
            cur = cur.get(key)
        if cur is None:
            return ""
        if isinstance(cur, bool):
            return "true" if cur else "false"
        return str(cur)
    return get


_COMMON: dict[str, Getter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

_EVENT_FIELDS: dict[str, Getter] = {
    "involvedObject.kind": _path("involvedObject", "kind"),
    "involvedObject.namespace": _path("involvedObject", "namespace"),
    "involvedObject.name": _path("involvedObject", "name"),
    "involvedObject.uid": _path("involvedObject", "uid"),
    "involvedObject.apiVersion": _path("involvedObject", "apiVersion"),
    "involvedObject.resourceVersion": _path("involvedObject", "resourceVersion"),
    "involvedObject.fieldPath": _path("involvedObject", "fieldPath"),
    "reason": _path("reason"),
    "reportingComponent": _path("reportingComponent"),
    "source": lambda o: _path("source", "component")(o) or _path("reportingComponent")(o),
    "type": _path("type"),
}

_EVENTS_K8S_IO_FIELDS: dict[str, Getter] = {
    "regarding.kind": _path("regarding", "kind"),
    "regarding.namespace": _path("regarding", "namespace"),
    "regarding.name": _path("regarding", "name"),
    "regarding.uid": _path("regarding", "uid"),
    "regarding.apiVersion": _path("regarding", "apiVersion"),
    "regarding.resourceVersion": _path("regarding", "resourceVersion"),
    "regarding.fieldPath": _path("regarding", "fieldPath"),
    "reason": _path("reason"),
    "reportingController": _path("reportingController"),
    "type": _path("type"),
}

_BY_RESOURCE: dict[tuple[str, str], dict[str, Getter]] = {
    ("", "pods"): {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": lambda o: "true" if (o.get("spec") or {}).get("hostNetwork") else "false",
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    ("", "events"): _EVENT_FIELDS,
    ("events.k8s.io", "events"): _EVENTS_K8S_IO_FIELDS,
    ("", "nodes"): {"spec.unschedulable": lambda o: "true" if (o.get("spec") or {}).get("unschedulable") else "false"},
    ("", "namespaces"): {"status.phase": _path("status", "phase")},
    ("", "secrets"): {"type": _path("type")},
    ("", "replicationcontrollers"): {"status.replicas": _path("status", "replicas")},
    ("apps", "replicasets"): {"status.replicas": _path("status", "replicas")},
    ("batch", "jobs"): {"status.successful": _path("status", "succeeded")},
    ("", "services"): {"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
    ("", "persistentvolumeclaims"): {"spec.volumeName": _path("spec", "volumeName")},
}


def supported_fields(group: str, resource: str) -> dict[str, Getter]:
    return {**_COMMON, **_BY_RESOURCE.get((group, resource), {})}


def field_values(group: str, resource: str, obj: dict[str, Any], labels: list[str]) -> dict[str, str]:
    getters = supported_fields(group, resource)
    return {label: getters[label](obj) for label in labels if label in getters}
