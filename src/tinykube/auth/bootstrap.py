"""The default roles and bindings every cluster starts with: upstream's bootstrap policy
(plugin/pkg/auth/authorizer/rbac/bootstrappolicy), the part that concerns what tinykube serves.

admin, edit and view are aggregated: their rules are the union of the ClusterRoles labelled
`rbac.authorization.k8s.io/aggregate-to-<name>`, kept by the clusterrole-aggregation controller.
"""

from __future__ import annotations

from typing import Any

from tinykube.auth.user import AUTHENTICATED, MASTERS, UNAUTHENTICATED
from tinykube.machinery.errors import StatusError

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
EVERY = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

Obj = dict[str, Any]


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> Obj:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _urls(verbs: list[str], urls: list[str]) -> Obj:
    return {"nonResourceURLs": urls, "verbs": verbs}


def _cluster_role(name: str, rules: list[Obj] | None, aggregate_to: tuple[str, ...] = (),
                  aggregated_from: str = "") -> Obj:
    labels = {**BOOTSTRAP_LABELS, **{AGGREGATE + target: "true" for target in aggregate_to}}
    role: Obj = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                 "metadata": {"name": name, "labels": labels, "annotations": dict(AUTOUPDATE)}}
    if aggregated_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE + aggregated_from: "true"}}]}
        role["rules"] = []
    else:
        role["rules"] = rules or []
    return role


def _binding(name: str, role: str, groups: list[str]) -> Obj:
    return {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABELS), "annotations": dict(AUTOUPDATE)},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": g} for g in groups]}


VIEW_RULES = [
    _rule(READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                       "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                       "services/status"]),
    _rule(READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                       "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
    _rule(READ, [""], ["namespaces"]),
    _rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                           "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
                           "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"]),
    _rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    _rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]

EDIT_RULES = [
    _rule(READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(WRITE, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                        "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(WRITE, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                            "replicasets/scale", "statefulsets", "statefulsets/scale"]),
    _rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
    _rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    _rule(EVERY, ["coordination.k8s.io"], ["leases"]),
]

ADMIN_RULES = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule(EVERY, [GROUP],
          ["rolebindings", "roles"]),
]

PUBLIC_INFO = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

CLUSTER_ROLES: list[Obj] = [
    _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]), _urls(["*"], ["*"])]),
    _cluster_role("admin", None, aggregated_from="admin"),
    _cluster_role("edit", None, ("admin",), aggregated_from="edit"),
    _cluster_role("view", None, ("admin", "edit"), aggregated_from="view"),
    _cluster_role("system:aggregate-to-admin", ADMIN_RULES, ("admin",)),
    _cluster_role("system:aggregate-to-edit", EDIT_RULES, ("admin", "edit")),
    _cluster_role("system:aggregate-to-view", VIEW_RULES, ("admin", "edit", "view")),
    _cluster_role("system:discovery", [_urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                         "/openapi", "/openapi/*", "/readyz", "/version",
                                                         "/version/"])]),
    _cluster_role("system:basic-user", [
        _rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
    _cluster_role("system:public-info-viewer", [_urls(["get"], PUBLIC_INFO)]),
    _cluster_role("system:auth-delegator", [_rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                                            _rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
]

CLUSTER_ROLE_BINDINGS: list[Obj] = [
    _binding("cluster-admin", "cluster-admin", [MASTERS]),
    _binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
    _binding("system:discovery", "system:discovery", [AUTHENTICATED]),
    _binding("system:public-info-viewer", "system:public-info-viewer", [AUTHENTICATED, UNAUTHENTICATED]),
]


def reconciled(current: Obj, wanted: Obj) -> Obj | None:
    """What a kept default object becomes at start, as upstream's additive reconciliation: while
    it is annotated autoupdate "true", missing labels, rules and subjects are added back (extra
    ones stay); None when nothing is missing or the user turned autoupdate off."""
    meta = current.get("metadata") or {}
    if (meta.get("annotations") or {}).get("rbac.authorization.kubernetes.io/autoupdate") != "true":
        return None
    out = {**current, "metadata": {**meta, "labels": {**(meta.get("labels") or {})}}}
    out["metadata"]["labels"].update(wanted["metadata"]["labels"])
    for field in ("subjects",) if wanted["kind"] == "ClusterRoleBinding" else ("rules",):
        if field == "rules" and wanted.get("aggregationRule"):
            out.setdefault("aggregationRule", wanted["aggregationRule"])
            continue  # the aggregation controller owns these rules
        items = list(current.get(field) or [])
        items += [item for item in wanted.get(field) or [] if item not in items]
        out[field] = items
    return None if out == current else out


async def ensure_bootstrap_policy(registry: Any) -> None:
    """Create the default roles and bindings that are missing, reconcile the kept ones."""
    from tinykube.registry.objects import WriteOptions
    from tinykube.registry.resources import RESOURCE_INDEX

    roles = RESOURCE_INDEX.lookup(GROUP, "v1", "clusterroles")
    bindings = RESOURCE_INDEX.lookup(GROUP, "v1", "clusterrolebindings")
    opts = WriteOptions(field_manager="kube-apiserver")
    for res, objects in ((roles, CLUSTER_ROLES), (bindings, CLUSTER_ROLE_BINDINGS)):
        for obj in objects:
            try:
                await registry.create(res, "", obj, opts)
                continue
            except StatusError as exc:
                if exc.code != 409:
                    raise
            current = await registry.get(res, "", obj["metadata"]["name"])
            update = reconciled(current, obj)
            if update is not None:
                await registry.update(res, "", obj["metadata"]["name"], update, opts)
