"""RBAC arithmetic: request attributes from URLs, rule matching, subjects, escalation coverage,
role aggregation, the ServiceAccount admission's volume, and token signing."""

from __future__ import annotations

import pytest

from tinykube.auth import rbac
from tinykube.auth.admission import MOUNT_PATH, mount_token, should_automount
from tinykube.auth.authorizer import forbidden
from tinykube.auth.requestinfo import Attributes, request_attributes
from tinykube.auth.user import UserInfo
from tinykube.controllers.clusterroleaggregation import aggregated_rules


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/api/v1/namespaces/ns/pods", {}, Attributes("list", True, "", "v1", "pods", "", "ns", "")),
    ("GET", "/api/v1/namespaces/ns/pods", {"watch": "true"}, Attributes("watch", True, "", "v1", "pods", "", "ns")),
    ("GET", "/api/v1/namespaces/ns/pods", {"fieldSelector": "metadata.name=web", "watch": "1"},
     Attributes("watch", True, "", "v1", "pods", "", "ns", "web")),
    ("GET", "/api/v1/namespaces/ns/pods/web", {}, Attributes("get", True, "", "v1", "pods", "", "ns", "web")),
    ("GET", "/api/v1/namespaces/ns/pods/web/log", {}, Attributes("get", True, "", "v1", "pods", "log", "ns", "web")),
    ("POST", "/api/v1/namespaces/ns/serviceaccounts/default/token", {},
     Attributes("create", True, "", "v1", "serviceaccounts", "token", "ns", "default")),
    ("DELETE", "/apis/apps/v1/namespaces/ns/deployments", {},
     Attributes("deletecollection", True, "apps", "v1", "deployments", "", "ns")),
    ("DELETE", "/apis/apps/v1/namespaces/ns/deployments/d", {},
     Attributes("delete", True, "apps", "v1", "deployments", "", "ns", "d")),
    ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {},
     Attributes("patch", True, "apps", "v1", "deployments", "scale", "ns", "d")),
    ("PUT", "/api/v1/namespaces/ns/finalize", {}, Attributes("update", True, "", "v1", "namespaces", "finalize",
                                                             "ns", "ns")),
    ("GET", "/api/v1/namespaces/ns", {}, Attributes("get", True, "", "v1", "namespaces", "", "ns", "ns")),
    ("GET", "/api/v1/namespaces", {}, Attributes("list", True, "", "v1", "namespaces")),
    ("GET", "/api/v1/nodes", {}, Attributes("list", True, "", "v1", "nodes")),
    ("GET", "/api/v1/watch/namespaces/ns/pods", {}, Attributes("watch", True, "", "v1", "pods", "", "ns")),
    ("GET", "/apis", {}, Attributes("get", False, path="/apis")),
    ("GET", "/api/v1", {}, Attributes("get", False, path="/api/v1")),
    ("GET", "/apis/apps", {}, Attributes("get", False, path="/apis/apps")),
    ("GET", "/openapi/v3", {}, Attributes("get", False, path="/openapi/v3")),
    ("POST", "/logs", {}, Attributes("post", False, path="/logs")),
])
def test_request_attributes(method, path, query, expected) -> None:
    got = request_attributes(method, path, query)
    assert got == Attributes(**{**expected.__dict__, "path": path})


def res(verb: str, resource: str, group: str = "", sub: str = "", name: str = "", ns: str = "ns") -> Attributes:
    return Attributes(verb, True, group, "v1", resource, sub, ns, name)


def url(verb: str, path: str) -> Attributes:
    return Attributes(verb, False, path=path)


@pytest.mark.parametrize("rule,attrs,allowed", [
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "pods"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("list", "pods"), False),
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, res("delete", "pods"), True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}, res("get", "pods"), False),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]}, res("get", "deployments", "apps"), True),
    # a resource does not cover its subresources; `*` and `*/sub` do
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "pods", sub="log"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, res("get", "pods", sub="log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}, res("get", "pods", sub="log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, res("get", "pods", sub="log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, res("get", "pods"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]}, res("get", "pods", sub="log"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/*"]}, res("get", "pods", sub="log"), False),
    # resourceNames narrow to named objects: a list (no name) is not covered
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     res("get", "pods", name="a"), True),
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     res("get", "pods", name="b"), False),
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"]},
     res("list", "pods"), False),
    # non-resource URLs: exact, or a prefix ending in *
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url("get", "/healthz"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url("get", "/healthz/etcd"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, url("get", "/apis/apps/v1"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/apis/*"]}, url("get", "/apis"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["*"]}, url("get", "/anything"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["*"]}, url("post", "/anything"), False),
    # resource rules never match paths and vice versa
    ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, url("get", "/api"), False),
    ({"verbs": ["*"], "nonResourceURLs": ["*"]}, res("get", "pods"), False),
])
def test_rule_allows(rule, attrs, allowed) -> None:
    assert rbac.rule_allows(attrs, rule) is allowed


SA = UserInfo("system:serviceaccount:ns:builder", groups=("system:serviceaccounts", "system:serviceaccounts:ns",
                                                          "system:authenticated"))


@pytest.mark.parametrize("subject,binding_ns,matches", [
    ({"kind": "ServiceAccount", "name": "builder", "namespace": "ns"}, "", True),
    ({"kind": "ServiceAccount", "name": "builder"}, "ns", True),  # a RoleBinding's own namespace
    ({"kind": "ServiceAccount", "name": "builder"}, "", False),
    ({"kind": "ServiceAccount", "name": "builder", "namespace": "other"}, "ns", False),
    ({"kind": "User", "name": "system:serviceaccount:ns:builder"}, "", True),
    ({"kind": "Group", "name": "system:serviceaccounts:ns"}, "", True),
    ({"kind": "Group", "name": "system:serviceaccounts:other"}, "", False),
    ({"kind": "Group", "name": "system:authenticated"}, "", True),
    ({"kind": "Robot", "name": "builder"}, "ns", False),
])
def test_subject_matches(subject, binding_ns, matches) -> None:
    assert rbac.subject_matches(subject, SA, binding_ns) is matches


class Policy:
    def __init__(self, roles=(), cluster_roles=(), bindings=(), cluster_bindings=()) -> None:
        self.roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in roles}
        self.croles = {r["metadata"]["name"]: r for r in cluster_roles}
        self.bindings = list(bindings)
        self.cbindings = list(cluster_bindings)

    def cluster_role_bindings(self):
        return self.cbindings

    def role_bindings(self, namespace):
        return [b for b in self.bindings if b["metadata"]["namespace"] == namespace]

    def cluster_role(self, name):
        return self.croles.get(name)

    def role(self, namespace, name):
        return self.roles.get((namespace, name))


def _binding(name, ns, kind, role, subject):
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"metadata": meta, "roleRef": {"kind": kind, "name": role}, "subjects": [subject]}


READER = {"metadata": {"name": "reader", "namespace": "ns"},
          "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]}
NODES = {"metadata": {"name": "nodes"}, "rules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]}]}
SUBJECT = {"kind": "ServiceAccount", "name": "builder", "namespace": "ns"}
POLICY = Policy([READER], [NODES, {"metadata": {"name": "view"}, "rules": [
    {"verbs": ["get"], "apiGroups": ["apps"], "resources": ["deployments"]}]}],
    [_binding("rb", "ns", "Role", "reader", SUBJECT), _binding("rb-view", "ns", "ClusterRole", "view", SUBJECT),
     _binding("dangling", "ns", "Role", "missing", SUBJECT)],
    [_binding("crb", "", "ClusterRole", "nodes", SUBJECT)])


@pytest.mark.parametrize("attrs,allowed,reason", [
    (res("list", "pods"), True, 'RBAC: allowed by RoleBinding "rb/ns" of Role "reader" to ServiceAccount "builder/ns"'),
    (res("list", "pods", ns="other"), False, ""),  # a RoleBinding grants only in its namespace
    (res("get", "deployments", "apps"), True,
     'RBAC: allowed by RoleBinding "rb-view/ns" of ClusterRole "view" to ServiceAccount "builder/ns"'),
    (res("get", "deployments", "apps", ns="other"), False, ""),
    (res("list", "nodes", ns=""), True,
     'RBAC: allowed by ClusterRoleBinding "crb" of ClusterRole "nodes" to ServiceAccount "builder/ns"'),
    (res("delete", "pods"), False, ""),
])
def test_authorize(attrs, allowed, reason) -> None:
    assert rbac.authorize(POLICY, SA, attrs) == (allowed, reason)


def test_other_users_get_nothing() -> None:
    other = UserInfo("jane", groups=("system:authenticated",))
    assert rbac.authorize(POLICY, other, res("list", "pods")) == (False, "")
    assert rbac.rules_for(POLICY, other, "ns") == []
    assert len(rbac.rules_for(POLICY, SA, "ns")) == 3 and len(rbac.rules_for(POLICY, SA, "")) == 1


@pytest.mark.parametrize("attrs,message", [
    (res("list", "pods"),
     'pods is forbidden: User "system:serviceaccount:ns:builder" cannot list resource "pods" in API group "" '
     'in the namespace "ns"'),
    (res("delete", "deployments", "apps", name="web"),
     'deployments.apps "web" is forbidden: User "system:serviceaccount:ns:builder" cannot delete resource '
     '"deployments" in API group "apps" in the namespace "ns"'),
    (res("get", "pods", sub="log", name="p"),
     'pods "p" is forbidden: User "system:serviceaccount:ns:builder" cannot get resource "pods/log" in API '
     'group "" in the namespace "ns"'),
    (res("list", "nodes", ns=""),
     'nodes is forbidden: User "system:serviceaccount:ns:builder" cannot list resource "nodes" in API group "" '
     'at the cluster scope'),
    (url("get", "/metrics"), 'forbidden: User "system:serviceaccount:ns:builder" cannot get path "/metrics"'),
])
def test_forbidden_message(attrs, message) -> None:
    exc = forbidden(SA, attrs)
    assert (exc.code, exc.reason, exc.message) == (403, "Forbidden", message)


@pytest.mark.parametrize("requested,covered", [
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, True),
    ({"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]}, False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "secrets"]}, False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"], "resourceNames": ["x"]}, True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["x"]}, True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}, False),
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, True),
    ({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}, False),
])
def test_covers(requested, covered) -> None:
    owned = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "*/log"]},
             {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["x"]},
             {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
    assert rbac.covers(owned, requested) is covered


def _role(name, labels=None, rules=None, aggregate=None):
    role = {"metadata": {"name": name, "labels": labels or {}}, "rules": rules or []}
    if aggregate is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": aggregate}
    return role


def test_aggregated_rules_union_in_name_order_without_repeats() -> None:
    r1 = {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}
    r2 = {"verbs": ["list"], "apiGroups": ["x.io"], "resources": ["widgets"]}
    view = _role("view", aggregate=[{"matchLabels": {"agg": "view"}}])
    roles = [view, _role("b", {"agg": "view"}, [r2, r1]), _role("a", {"agg": "view"}, [r1]),
             _role("c", {"agg": "edit"}, [{"verbs": ["delete"], "apiGroups": [""], "resources": ["pods"]}])]
    assert aggregated_rules(view, roles) == [r1, r2]
    assert aggregated_rules(roles[1], roles) is None
    assert aggregated_rules(_role("none", aggregate=[]), roles) == []


def test_mount_token_adds_one_volume_and_mounts_where_free() -> None:
    pod = {"spec": {"containers": [{"name": "a"}, {"name": "b", "volumeMounts": [
        {"name": "mine", "mountPath": MOUNT_PATH}]}], "initContainers": [{"name": "i"}]}}
    mount_token(pod, "abcde")
    mount_token(pod, "zzzzz")  # idempotent: the existing kube-api-access volume is reused
    spec = pod["spec"]
    assert [v["name"] for v in spec["volumes"]] == ["kube-api-access-abcde"]
    sources = spec["volumes"][0]["projected"]["sources"]
    assert sources[0] == {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    assert sources[2]["downwardAPI"]["items"][0]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert spec["containers"][0]["volumeMounts"] == [{"name": "kube-api-access-abcde", "readOnly": True,
                                                      "mountPath": MOUNT_PATH}]
    assert spec["containers"][1]["volumeMounts"] == [{"name": "mine", "mountPath": MOUNT_PATH}]
    assert spec["initContainers"][0]["volumeMounts"][0]["name"] == "kube-api-access-abcde"


@pytest.mark.parametrize("pod_value,sa_value,mount", [
    (None, None, True), (False, None, False), (None, False, False), (True, False, True), (False, True, False),
])
def test_should_automount(pod_value, sa_value, mount) -> None:
    pod = {"spec": {} if pod_value is None else {"automountServiceAccountToken": pod_value}}
    sa = {} if sa_value is None else {"automountServiceAccountToken": sa_value}
    assert should_automount(pod, sa) is mount


def test_tokens_round_trip_expire_and_bind_audiences() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tinykube.auth.tokens import TokenSigner

    now = [1_000_000.0]
    signer = TokenSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048), lambda: now[0])
    sa = {"metadata": {"name": "default", "namespace": "ns", "uid": "sa-uid"}}
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "pod-uid"}}
    token, expires = signer.issue(sa, [], 600, pod)
    assert expires == 1_000_600
    claims = signer.decode(token)
    assert claims is not None and (claims.namespace, claims.service_account, claims.pod_uid) == \
        ("ns", "default", "pod-uid")
    user = claims.user()
    assert user.name == "system:serviceaccount:ns:default" and user.uid == "sa-uid"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated")
    assert user.extra["authentication.kubernetes.io/pod-name"] == ("p",)
    assert signer.decode(token, ("vault",)) is None  # not for another audience
    other, _ = signer.issue(sa, ["vault"], 600)
    assert signer.decode(other) is None and signer.decode(other, ("vault",)) is not None
    assert signer.decode(token[:-4] + "AAAA") is None  # tampered signature
    now[0] += 601
    assert signer.decode(token) is None  # expired on the cluster clock


@pytest.mark.parametrize("requested,missing", [
    ([{"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods", "nodes"]}],
     ['{APIGroups:[""], Resources:["nodes"], Verbs:["get" "delete"]}']),
    ([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], []),
    ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, {"verbs": ["*"], "nonResourceURLs": ["*"]}],
     ['{APIGroups:["*"], Resources:["*"], Verbs:["*"]}', '{NonResourceURLs:["*"], Verbs:["*"]}']),
    ([{"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a", "b"]}],
     ['{APIGroups:[""], Resources:["secrets"], ResourceNames:["a"], Verbs:["get"]}',
      '{APIGroups:[""], Resources:["secrets"], ResourceNames:["b"], Verbs:["get"]}']),
])
def test_missing_rules_as_upstream_prints_them(requested, missing) -> None:
    from tinykube.auth.escalation import compact_string, missing_rules

    owned = [{"verbs": ["get", "list", "delete"], "apiGroups": [""], "resources": ["pods"]}]
    assert [compact_string(r) for r in missing_rules(owned, requested)] == missing


def test_kube_api_access_tokens_are_extended_with_warnafter() -> None:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tinykube.auth.tokens import TokenSigner

    signer = TokenSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048), lambda: 1000.0)
    sa = {"metadata": {"name": "default", "namespace": "ns", "uid": "u"}}
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "pu"}}
    token, reported = signer.issue(sa, [], 3607, pod)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert reported == 1000 + 3607 and claims["kubernetes.io"]["warnafter"] == 1000 + 3607
    assert claims["exp"] == 1000 + 365 * 24 * 3600
    plain, _ = signer.issue(sa, [], 3607)  # not bound to a pod: not extended
    assert pyjwt.decode(plain, options={"verify_signature": False})["exp"] == 1000 + 3607


def test_bootstrap_reconciliation_adds_back_only_what_is_missing() -> None:
    from tinykube.auth.bootstrap import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, reconciled

    discovery = next(r for r in CLUSTER_ROLES if r["metadata"]["name"] == "system:discovery")
    extra = {"verbs": ["get"], "nonResourceURLs": ["/metrics"]}
    trimmed = {**discovery, "rules": [extra]}
    fixed = reconciled(trimmed, discovery)
    assert fixed is not None and fixed["rules"] == [extra, *discovery["rules"]]
    assert reconciled(fixed, discovery) is None
    frozen = {**trimmed, "metadata": {**trimmed["metadata"], "annotations": {
        "rbac.authorization.kubernetes.io/autoupdate": "false"}}}
    assert reconciled(frozen, discovery) is None
    view = next(r for r in CLUSTER_ROLES if r["metadata"]["name"] == "view")
    assert reconciled({**view, "rules": [extra]}, view) is None  # aggregated rules are the controller's
    binding = CLUSTER_ROLE_BINDINGS[0]
    fixed = reconciled({**binding, "subjects": []}, binding)
    assert fixed is not None and fixed["subjects"] == binding["subjects"]
