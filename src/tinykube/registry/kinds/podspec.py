"""Validation of a PodSpec and of a PodTemplateSpec (core/validation's ValidatePodSpec and
ValidatePodTemplateSpec), shared by Pods and every workload's pod template."""

from __future__ import annotations

import re
from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import (
    Obj, as_dict, as_list, child, dicts, index, int_or, is_int, supported,
)
from tinykube.registry.kinds.containers import (
    host_port_conflicts, validate_container_common, validate_lifecycle, validate_probe,
    validate_seccomp_profile,
)
from tinykube.registry.kinds.volumes import validate_volumes

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
TOLERATION_OPERATORS = ["Equal", "Exists"]
MAX_INT32 = 2**31 - 1


def validate_pod_template(errs: FieldErrors, template: Any, path: str) -> None:
    """ValidatePodTemplateSpec: labels, annotations, the pod spec; no ephemeral containers."""
    template = as_dict(template)
    meta = as_dict(template.get("metadata"))
    errs.extend(checks.labels(meta.get("labels"), child(path, "labels")))
    errs.extend(checks.annotations(meta.get("annotations"), child(path, "annotations")))
    validate_pod_annotations(errs, meta.get("annotations"), as_dict(template.get("spec")),
                             child(path, "annotations"))
    spec = as_dict(template.get("spec"))
    validate_pod_spec(errs, spec, child(path, "spec"), is_pod=False)
    if as_list(spec.get("ephemeralContainers")):
        errs.forbidden(child(path, "spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template")


MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"


def validate_pod_annotations(errs: FieldErrors, annotations: Any, spec: Obj, path: str) -> None:
    """ValidatePodSpecificAnnotations: mirror pods, pod-deletion-cost, seccomp profiles."""
    annotations = as_dict(annotations)
    if MIRROR_ANNOTATION in annotations and not spec.get("nodeName"):
        errs.invalid(f"{path}[{MIRROR_ANNOTATION}]", annotations[MIRROR_ANNOTATION],
                     "must set spec.nodeName if mirror pod annotation is set")
    if DELETION_COST_ANNOTATION in annotations and not _is_int32(annotations[DELETION_COST_ANNOTATION]):
        errs.invalid(f"{path}[{DELETION_COST_ANNOTATION}]", annotations[DELETION_COST_ANNOTATION],
                     "must be a 32bit integer")
    for name, value in annotations.items():
        if name == SECCOMP_POD_ANNOTATION or name.startswith(SECCOMP_CONTAINER_PREFIX):
            _validate_seccomp_annotation(errs, str(value), child(path, name))


def _is_int32(text: Any) -> bool:
    """strconv.ParseInt(text, 10, 32) succeeds."""
    return bool(re.fullmatch(r"[+-]?[0-9]+", str(text))) and -2**31 <= int(str(text)) <= MAX_INT32


def _validate_seccomp_annotation(errs: FieldErrors, profile: str, path: str) -> None:
    if profile in ("runtime/default", "docker/default", "unconfined"):
        return
    if profile.startswith("localhost/"):
        checks.local_descending_path(errs, profile[len("localhost/"):], path)
        return
    errs.invalid(path, profile, "must be a valid seccomp profile")


def validate_pod_spec(errs: FieldErrors, spec: Obj, path: str, is_pod: bool) -> None:
    """ValidatePodSpec, in upstream's order."""
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is None:
        errs.required(child(path, "terminationGracePeriodSeconds"))
    volumes = validate_volumes(errs, spec.get("volumes"), child(path, "volumes"))
    restart_policy = spec.get("restartPolicy") or ""
    validate_containers(errs, spec, volumes, grace, path, restart_policy)
    validate_init_containers(errs, spec, volumes, grace, path, restart_policy)
    _validate_ephemeral_names(errs, spec, volumes, path, restart_policy)
    _validate_host_network(errs, spec, path, is_pod)
    supported(errs, restart_policy, child(path, "restartPolicy"), RESTART_POLICIES)
    supported(errs, spec.get("dnsPolicy"), child(path, "dnsPolicy"), DNS_POLICIES)
    errs.extend(checks.labels(spec.get("nodeSelector"), child(path, "nodeSelector")))
    _validate_pod_security_context(errs, spec, child(path, "securityContext"))
    _validate_pull_secrets(errs, spec.get("imagePullSecrets"), child(path, "imagePullSecrets"))
    _validate_affinity(errs, spec.get("affinity"), child(path, "affinity"))
    _validate_dns_config(errs, spec, child(path, "dnsConfig"))
    _validate_gates(errs, spec, path)
    _validate_spread_constraints(errs, spec.get("topologySpreadConstraints"), child(path, "topologySpreadConstraints"))
    _validate_names(errs, spec, path)
    _validate_scheduling_fields(errs, spec, path)


# ----------------------------------------------------------------------------- containers


def validate_containers(errs: FieldErrors, spec: Obj, volumes: set[str], grace: Any, path: str,
                        restart_policy: str) -> None:
    containers = [c for _, c in dicts(spec.get("containers"))]
    list_path = child(path, "containers")
    if not containers:
        errs.required(list_path)
        return
    names: set[str] = set()
    for i, ctr in enumerate(containers):
        at = index(list_path, i)
        validate_container_common(errs, ctr, volumes, at, restart_policy)
        name = ctr.get("name") or ""
        if name in names:
            errs.duplicate(child(at, "name"), name)
        names.add(name)
        validate_lifecycle(errs, ctr.get("lifecycle"), grace, child(at, "lifecycle"))
        validate_probe(errs, ctr.get("livenessProbe"), grace, child(at, "livenessProbe"), "liveness")
        validate_probe(errs, ctr.get("readinessProbe"), grace, child(at, "readinessProbe"), "readiness")
        validate_probe(errs, ctr.get("startupProbe"), grace, child(at, "startupProbe"), "startup")
        if ctr.get("restartPolicy") is not None:
            errs.forbidden(child(at, "restartPolicy"), "may not be set for non-init containers")
    host_port_conflicts(errs, containers, list_path, set())


def validate_init_containers(errs: FieldErrors, spec: Obj, volumes: set[str], grace: Any, path: str,
                             restart_policy: str) -> None:
    names = {c.get("name") for _, c in dicts(spec.get("containers"))}
    list_path = child(path, "initContainers")
    for i, ctr in dicts(spec.get("initContainers")):
        at = index(list_path, i)
        validate_container_common(errs, ctr, volumes, at, restart_policy)
        policy = ctr.get("restartPolicy")
        if policy is not None and policy != "Always":
            errs.unsupported(child(at, "restartPolicy"), policy, ["Always"])
        name = ctr.get("name") or ""
        if name in names:
            errs.duplicate(child(at, "name"), name)
        elif name:
            names.add(name)
        host_port_conflicts(errs, [ctr], list_path, set())
        if policy == "Always":
            validate_lifecycle(errs, ctr.get("lifecycle"), grace, child(at, "lifecycle"))
            validate_probe(errs, ctr.get("livenessProbe"), grace, child(at, "livenessProbe"), "liveness")
            validate_probe(errs, ctr.get("readinessProbe"), grace, child(at, "readinessProbe"), "readiness")
            validate_probe(errs, ctr.get("startupProbe"), grace, child(at, "startupProbe"), "startup")
        else:
            for field in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if ctr.get(field) is not None:
                    errs.forbidden(child(at, field), "may not be set for init containers without restartPolicy=Always")
        if as_list(ctr.get("resizePolicy")):
            errs.invalid(child(at, "resizePolicy"), ctr["resizePolicy"], "must not be set for init containers")


def _validate_ephemeral_names(errs: FieldErrors, spec: Obj, volumes: set[str], path: str,
                              restart_policy: str) -> None:
    others = {c.get("name") for name in ("containers", "initContainers") for _, c in dicts(spec.get(name))}
    names = set(others)
    list_path = child(path, "ephemeralContainers")
    for i, ctr in dicts(spec.get("ephemeralContainers")):
        at = index(list_path, i)
        validate_container_common(errs, ctr, volumes, at, restart_policy)
        name = ctr.get("name") or ""
        if name in names:
            errs.duplicate(child(at, "name"), name)
        names.add(name)
        target = ctr.get("targetContainerName") or ""
        if target and target not in others:
            from tinykube.registry.kinds.common import not_found
            not_found(errs, child(at, "targetContainerName"), target)


def _validate_host_network(errs: FieldErrors, spec: Obj, path: str, is_pod: bool) -> None:
    """With hostNetwork a hostPort must equal its containerPort (0 allowed in templates)."""
    if spec.get("hostNetwork") is not True:
        return
    for i, ctr in dicts(spec.get("containers")):
        for j, port in dicts(ctr.get("ports")):
            host_port, container_port = int_or(port.get("hostPort")), int_or(port.get("containerPort"))
            if (is_pod or host_port != 0) and host_port != container_port:
                at = child(index(child(index(child(path, "containers"), i), "ports"), j), "hostPort")
                errs.invalid(at, host_port, "must match `containerPort` when `hostNetwork` is true")


# ----------------------------------------------------------------------------- pod-level fields


def _validate_pod_security_context(errs: FieldErrors, spec: Obj, path: str) -> None:
    context = as_dict(spec.get("securityContext"))
    for name, kind in (("fsGroup", "group"), ("runAsUser", "user"), ("runAsGroup", "group")):
        value = context.get(name)
        if is_int(value):
            for msg in checks.id_messages(value, kind):
                errs.invalid(child(path, name), value, msg)
    for i, gid in enumerate(as_list(context.get("supplementalGroups"))):
        if is_int(gid):
            for msg in checks.id_messages(gid, "group"):
                errs.invalid(index(child(path, "supplementalGroups"), i), gid, msg)
    if spec.get("shareProcessNamespace") is True and spec.get("hostPID") is True:
        errs.invalid(child(path, "shareProcessNamespace"), True,
                     "ShareProcessNamespace and HostPID cannot both be enabled")
    policy = context.get("fsGroupChangePolicy")
    if policy is not None and policy not in ("Always", "OnRootMismatch"):
        errs.unsupported(child(path, "fsGroupChangePolicy"), policy, ["Always", "OnRootMismatch"])
    validate_seccomp_profile(errs, context.get("seccompProfile"), child(path, "seccompProfile"))


def _validate_pull_secrets(errs: FieldErrors, secrets: Any, path: str) -> None:
    for i, secret in dicts(secrets):
        if set(secret) - {"name"}:
            errs.invalid(index(path, i), secret, "only name may be set")


def _validate_affinity(errs: FieldErrors, affinity: Any, path: str) -> None:
    if not isinstance(affinity, dict):
        return
    node = as_dict(affinity.get("nodeAffinity"))
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(required, dict):
        terms_path = child(path, "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                           "nodeSelectorTerms")
        terms = as_list(required.get("nodeSelectorTerms"))
        if not terms:
            errs.required(terms_path, "must have at least one node selector term")
        for i, term in dicts(terms):
            validate_node_selector_term(errs, term, index(terms_path, i))
    preferred_path = child(path, "nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
    for i, term in dicts(node.get("preferredDuringSchedulingIgnoredDuringExecution")):
        _validate_weight(errs, term, index(preferred_path, i))
        validate_node_selector_term(errs, as_dict(term.get("preference")), child(index(preferred_path, i), "preference"))
    for kind in ("podAffinity", "podAntiAffinity"):
        _validate_pod_affinity(errs, as_dict(affinity.get(kind)), child(path, kind))


def validate_node_selector_term(errs: FieldErrors, term: Obj, path: str) -> None:
    for j, req in dicts(term.get("matchExpressions")):
        at = index(child(path, "matchExpressions"), j)
        operator, values = req.get("operator"), as_list(req.get("values"))
        if operator in ("In", "NotIn"):
            if not values:
                errs.required(child(at, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.forbidden(child(at, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        elif operator in ("Gt", "Lt"):
            if len(values) != 1:
                errs.required(child(at, "values"), "must be specified single value when `operator` is 'Lt' or 'Gt'")
        else:
            errs.invalid(child(at, "operator"), operator or "", "not a valid selector operator")
        checks.label_name(errs, req.get("key") or "", child(at, "key"))


def _validate_weight(errs: FieldErrors, term: Obj, path: str) -> None:
    weight = int_or(term.get("weight"))
    if weight <= 0 or weight > 100:
        errs.invalid(child(path, "weight"), weight, "must be in the range 1-100")


def _validate_pod_affinity(errs: FieldErrors, affinity: Obj, path: str) -> None:
    required_path = child(path, "requiredDuringSchedulingIgnoredDuringExecution")
    for i, term in dicts(affinity.get("requiredDuringSchedulingIgnoredDuringExecution")):
        _validate_affinity_term(errs, term, index(required_path, i))
    preferred_path = child(path, "preferredDuringSchedulingIgnoredDuringExecution")
    for i, weighted in dicts(affinity.get("preferredDuringSchedulingIgnoredDuringExecution")):
        _validate_weight(errs, weighted, index(preferred_path, i))
        _validate_affinity_term(errs, as_dict(weighted.get("podAffinityTerm")),
                                child(index(preferred_path, i), "podAffinityTerm"))


def _validate_affinity_term(errs: FieldErrors, term: Obj, path: str) -> None:
    for name in ("labelSelector", "namespaceSelector"):
        if term.get(name) is not None:
            errs.extend(checks.label_selector(term.get(name), child(path, name)))
    for namespace in as_list(term.get("namespaces")):
        for msg in checks.dns1123_label_messages(str(namespace)):
            errs.invalid(child(path, "namespace"), namespace, msg)
    topology_key = term.get("topologyKey") or ""
    if not topology_key:
        errs.required(child(path, "topologyKey"), "can not be empty")
    checks.label_name(errs, topology_key, child(path, "topologyKey"))


def _validate_dns_config(errs: FieldErrors, spec: Obj, path: str) -> None:
    config = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if not isinstance(config, dict):
            errs.required(path, "must provide `dnsConfig` when `dnsPolicy` is None")
            return
        if not as_list(config.get("nameservers")):
            errs.required(child(path, "nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")
            return
    if not isinstance(config, dict):
        return
    nameservers = as_list(config.get("nameservers"))
    if len(nameservers) > 3:
        errs.invalid(child(path, "nameservers"), nameservers, "must not have more than 3 nameservers")
    for i, server in enumerate(nameservers):
        checks.ip_address(errs, str(server), index(child(path, "nameservers"), i))
    searches = [str(s) for s in as_list(config.get("searches"))]
    if len(searches) > 32:
        errs.invalid(child(path, "searches"), searches, "must not have more than 32 search paths")
    if len(" ".join(searches)) > 2048:
        errs.invalid(child(path, "searches"), searches,
                     "must not have more than 2048 characters (including spaces) in the search list")
    for i, search in enumerate(searches):
        trimmed = search[:-1] if search.endswith(".") else search
        for msg in checks.dns1123_subdomain_messages(trimmed):
            errs.invalid(index(child(path, "searches"), i), trimmed, msg)
    for i, option in dicts(config.get("options")):
        if not option.get("name"):
            errs.required(index(child(path, "options"), i), "must not be empty")


def _validate_gates(errs: FieldErrors, spec: Obj, path: str) -> None:
    for i, gate in dicts(spec.get("readinessGates")):
        checks.qualified_name(errs, gate.get("conditionType") or "",
                              child(index(child(path, "readinessGates"), i), "conditionType"))
    seen: set[str] = set()
    for i, gate in dicts(spec.get("schedulingGates")):
        at = index(child(path, "schedulingGates"), i)
        name = gate.get("name") or ""
        checks.qualified_name(errs, name, at)
        if name in seen:
            errs.duplicate(at, name)
        seen.add(name)


def _validate_spread_constraints(errs: FieldErrors, constraints: Any, path: str) -> None:
    items = [c for _, c in dicts(constraints)]
    for i, constraint in enumerate(items):
        at = index(path, i)
        max_skew = int_or(constraint.get("maxSkew"))
        if max_skew <= 0:
            errs.invalid(child(at, "maxSkew"), max_skew, "must be greater than zero")
        if not constraint.get("topologyKey"):
            errs.required(child(at, "topologyKey"), "can not be empty")
        action = constraint.get("whenUnsatisfiable") or ""
        if action not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.unsupported(child(at, "whenUnsatisfiable"), action, ["DoNotSchedule", "ScheduleAnyway"])
        for later in items[i + 1:]:
            if (later.get("topologyKey"), later.get("whenUnsatisfiable")) == \
                    (constraint.get("topologyKey"), constraint.get("whenUnsatisfiable")):
                errs.duplicate(child(at, "{topologyKey, whenUnsatisfiable}"),
                               f"{{{constraint.get('topologyKey') or ''}, {action}}}")
                break
        if constraint.get("labelSelector") is not None:
            errs.extend(checks.label_selector(constraint["labelSelector"], child(at, "labelSelector")))


def _validate_names(errs: FieldErrors, spec: Obj, path: str) -> None:
    """serviceAccountName, nodeName, priorityClassName, runtimeClassName: DNS subdomains;
    hostname and subdomain: DNS labels."""
    for field in ("serviceAccountName", "nodeName", "priorityClassName"):
        value = spec.get(field)
        if value:
            for msg in checks.dns1123_subdomain_messages(value):
                errs.invalid(child(path, field), value, msg)
    for field in ("hostname", "subdomain"):
        value = spec.get(field)
        if value:
            checks.dns1123_label(errs, value, child(path, field))
    runtime_class = spec.get("runtimeClassName")
    if runtime_class is not None:
        for msg in checks.dns1123_subdomain_messages(runtime_class):
            errs.invalid(child(path, "runtimeClassName"), runtime_class, msg)


def _validate_scheduling_fields(errs: FieldErrors, spec: Obj, path: str) -> None:
    deadline = spec.get("activeDeadlineSeconds")
    if is_int(deadline) and not 1 <= deadline <= MAX_INT32:
        errs.invalid(child(path, "activeDeadlineSeconds"), deadline, f"must be between 1 and {MAX_INT32}, inclusive")
    validate_tolerations(errs, spec.get("tolerations"), child(path, "tolerations"))
    for i, alias in dicts(spec.get("hostAliases")):
        at = index(child(path, "hostAliases"), i)
        checks.ip_address(errs, alias.get("ip") or "", child(at, "ip"))
        for j, hostname in enumerate(as_list(alias.get("hostnames"))):
            for msg in checks.dns1123_subdomain_messages(str(hostname)):
                errs.invalid(index(child(at, "hostnames"), j), hostname, msg)
    preemption = spec.get("preemptionPolicy")
    if preemption is not None:
        supported(errs, preemption, child(path, "preemptionPolicy"), ["PreemptLowerPriority", "Never"])
    os_spec = spec.get("os")
    if isinstance(os_spec, dict):
        if not os_spec.get("name"):
            errs.required(child(path, "os", "name"), "cannot be empty")
        elif os_spec["name"] not in ("linux", "windows"):
            errs.unsupported(child(path, "os"), os_spec["name"], ["linux", "windows"])


def validate_tolerations(errs: FieldErrors, tolerations: Any, path: str) -> None:
    """ValidateTolerations."""
    for i, toleration in dicts(tolerations):
        at = index(path, i)
        toleration_key = toleration.get("key") or ""
        operator = toleration.get("operator") or ""
        effect = toleration.get("effect") or ""
        if toleration_key:
            checks.label_name(errs, toleration_key, child(at, "key"))
        if not toleration_key and operator != "Exists":
            errs.invalid(child(at, "operator"), operator,
                         'operator must be Exists when `key` is empty, which means "match all values and all keys"')
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.invalid(child(at, "effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
        value = toleration.get("value") or ""
        if operator in ("Equal", ""):
            messages = checks.label_value_messages(value)
            if messages:
                errs.invalid(child(at, "operator"), value, ";".join(messages))
        elif operator == "Exists":
            if value:
                checks.invalid_struct(errs, child(at, "operator"), toleration,
                                      "value must be empty when `operator` is 'Exists'", go_type="core.Toleration")
        else:
            errs.unsupported(child(at, "operator"), operator, TOLERATION_OPERATORS)
        if effect and effect not in TAINT_EFFECTS:
            errs.unsupported(child(at, "effect"), effect, TAINT_EFFECTS)
