"""RBAC's rule arithmetic, pure: does a PolicyRule cover a request, does a binding name a user.

Semantics of upstream's plugin/pkg/auth/authorizer/rbac (rbac.go, subject_locator.go): `*`
matches everything, `*/sub` any resource's subresource `sub`, resourceNames narrow to named
objects, non-resource URLs match exactly or by a trailing `*` prefix.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Protocol

from tinykube.auth.requestinfo import Attributes
from tinykube.auth.user import UserInfo

Obj = dict[str, Any]
ALL = "*"


def verb_matches(rule: Mapping[str, Any], verb: str) -> bool:
    verbs = rule.get("verbs") or ()
    return ALL in verbs or verb in verbs


def group_matches(rule: Mapping[str, Any], group: str) -> bool:
    groups = rule.get("apiGroups") or ()
    return ALL in groups or group in groups


def resource_matches(rule: Mapping[str, Any], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for candidate in rule.get("resources") or ():
        if candidate == ALL or candidate == combined:
            return True
        if subresource and candidate == f"*/{subresource}":
            return True
    return False


def name_matches(rule: Mapping[str, Any], name: str) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or name in names


def url_matches(rule: Mapping[str, Any], path: str) -> bool:
    for candidate in rule.get("nonResourceURLs") or ():
        if candidate == ALL or candidate == path:
            return True
        if candidate.endswith("*") and path.startswith(candidate[:-1]):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Mapping[str, Any]) -> bool:
    if not verb_matches(rule, attrs.verb):
        return False
    if attrs.resource_request:
        return (group_matches(rule, attrs.api_group) and resource_matches(rule, attrs.resource, attrs.subresource)
                and name_matches(rule, attrs.name))
    return url_matches(rule, attrs.path)


def subject_matches(subject: Mapping[str, Any], user: UserInfo, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


def binds_user(binding: Obj, user: UserInfo) -> Mapping[str, Any] | None:
    """The first subject of `binding` that is `user`, or None."""
    namespace = (binding.get("metadata") or {}).get("namespace", "")
    for subject in binding.get("subjects") or ():
        if subject_matches(subject, user, namespace):
            return subject
    return None


class PolicySource(Protocol):
    """Where the authorizer reads RBAC objects from (informer caches in the server)."""

    def cluster_role_bindings(self) -> Iterable[Obj]: ...
    def role_bindings(self, namespace: str) -> Iterable[Obj]: ...
    def cluster_role(self, name: str) -> Obj | None: ...
    def role(self, namespace: str, name: str) -> Obj | None: ...


def _role_rules(source: PolicySource, ref: Mapping[str, Any], namespace: str) -> list[Mapping[str, Any]] | None:
    kind, name = ref.get("kind"), ref.get("name", "")
    role = source.cluster_role(name) if kind == "ClusterRole" else \
        source.role(namespace, name) if kind == "Role" and namespace else None
    if role is None:
        return None
    return list(role.get("rules") or ())


def describe_subject(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'ServiceAccount "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'


def visit_rules(source: PolicySource, user: UserInfo, namespace: str):
    """Every (source description, rule) that applies to `user` in `namespace` ("" = cluster-wide only)."""
    for binding in source.cluster_role_bindings():
        subject = binds_user(binding, user)
        if subject is None:
            continue
        rules = _role_rules(source, binding.get("roleRef") or {}, "")
        name = binding["metadata"]["name"]
        ref = binding.get("roleRef") or {}
        for rule in rules or ():
            yield (f'ClusterRoleBinding "{name}" of {ref.get("kind")} "{ref.get("name")}" to '
                   f'{describe_subject(subject, "")}', rule)
    if not namespace:
        return
    for binding in source.role_bindings(namespace):
        subject = binds_user(binding, user)
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        rules = _role_rules(source, ref, namespace)
        name = binding["metadata"]["name"]
        for rule in rules or ():
            yield (f'RoleBinding "{name}/{namespace}" of {ref.get("kind")} "{ref.get("name")}" to '
                   f'{describe_subject(subject, namespace)}', rule)


def authorize(source: PolicySource, user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) as upstream's RBAC authorizer: reason names the granting binding."""
    for described, rule in visit_rules(source, user, attrs.namespace):
        if rule_allows(attrs, rule):
            return True, f"RBAC: allowed by {described}"
    return False, ""


def rules_for(source: PolicySource, user: UserInfo, namespace: str) -> list[Mapping[str, Any]]:
    return [rule for _, rule in visit_rules(source, user, namespace)]


def covers(owned: list[Mapping[str, Any]], requested: Mapping[str, Any]) -> bool:
    """Whether the rules a user holds cover every (verb, group, resource, name) of `requested`,
    as upstream's escalation check (validation.Covers) breaks rules into atoms."""
    verbs = requested.get("verbs") or ()
    if requested.get("nonResourceURLs"):
        for url in requested["nonResourceURLs"]:
            for verb in verbs:
                if not any(verb_matches(r, verb) and url_matches(r, url) for r in owned):
                    return False
        return True
    names = requested.get("resourceNames") or ("",)
    for group in requested.get("apiGroups") or ():
        for resource in requested.get("resources") or ():
            for verb in verbs:
                for name in names:
                    if not any(_atom_covered(r, verb, group, resource, name) for r in owned):
                        return False
    return True



def _atom_covered(rule: Mapping[str, Any], verb: str, group: str, resource: str, name: str) -> bool:
    if not verb_matches(rule, verb) or not group_matches(rule, group):
        return False
    owned_resources = rule.get("resources") or ()
    if not (ALL in owned_resources or resource in owned_resources or
            ("/" in resource and f"*/{resource.split('/', 1)[1]}" in owned_resources)):
        return False
    owned_names = rule.get("resourceNames") or ()
    return not owned_names or (bool(name) and name in owned_names)
