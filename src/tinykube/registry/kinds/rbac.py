"""rbac.authorization.k8s.io/v1 (rbac/validation): rules, role references and subjects."""

from __future__ import annotations

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds.common import Obj, as_dict

GROUP = "rbac.authorization.k8s.io"


def _validate_rules(errs: FieldErrors, obj: Obj, namespaced: bool) -> None:
    for i, rule in enumerate(obj.get("rules") or []):
        rule = as_dict(rule)
        path = f"rules[{i}]"
        if not rule.get("verbs"):
            errs.required(f"{path}.verbs", "verbs must contain at least one value")
        urls = rule.get("nonResourceURLs") or []
        if urls:
            if namespaced:
                errs.invalid(f"{path}.nonResourceURLs", urls, "namespaced rules cannot apply to non-resource URLs")
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                errs.invalid(f"{path}.nonResourceURLs", urls,
                             "rules cannot apply to both regular resources and non-resource URLs")
            continue
        if not rule.get("apiGroups"):
            errs.required(f"{path}.apiGroups", "resource rules must supply at least one api group")
        if not rule.get("resources"):
            errs.required(f"{path}.resources", "resource rules must supply at least one resource")


def validate_role(role: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    _validate_rules(errs, role, namespaced=True)
    return errs


def validate_cluster_role(role: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    _validate_rules(errs, role, namespaced=False)
    return errs


def _validate_binding(binding: Obj, old: Obj | None, kinds: list[str], namespaced: bool) -> FieldErrors:
    errs = FieldErrors()
    ref = as_dict(binding.get("roleRef"))
    if ref.get("apiGroup") != GROUP:
        errs.unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [GROUP])
    if ref.get("kind") not in kinds:
        errs.unsupported("roleRef.kind", ref.get("kind", ""), kinds)
    if not ref.get("name"):
        errs.required("roleRef.name")
    for i, subject in enumerate(binding.get("subjects") or []):
        subject = as_dict(subject)
        path = f"subjects[{i}]"
        if not subject.get("name"):
            errs.required(f"{path}.name")
        kind = subject.get("kind")
        if kind == "ServiceAccount":
            if subject.get("apiGroup"):
                errs.unsupported(f"{path}.apiGroup", subject["apiGroup"], [""])
            if not namespaced and not subject.get("namespace"):
                errs.required(f"{path}.namespace")
        elif kind in ("User", "Group"):
            if subject.get("apiGroup") != GROUP:
                errs.unsupported(f"{path}.apiGroup", subject.get("apiGroup", ""), [GROUP])
        else:
            errs.unsupported(f"{path}.kind", kind or "", ["ServiceAccount", "User", "Group"])
    if old is not None and as_dict(old.get("roleRef")) != ref:
        errs.invalid("roleRef", ref, "cannot change roleRef")
    return errs


def validate_role_binding(binding: Obj, old: Obj | None) -> FieldErrors:
    return _validate_binding(binding, old, ["Role", "ClusterRole"], namespaced=True)


def validate_cluster_role_binding(binding: Obj, old: Obj | None) -> FieldErrors:
    return _validate_binding(binding, old, ["ClusterRole"], namespaced=False)


def default_subjects(binding: Obj) -> None:
    """User and Group subjects default their apiGroup (upstream's SetDefaults_Subject)."""
    for subject in binding.get("subjects") or []:
        if isinstance(subject, dict) and subject.get("kind") in ("User", "Group") and "apiGroup" not in subject:
            subject["apiGroup"] = GROUP
