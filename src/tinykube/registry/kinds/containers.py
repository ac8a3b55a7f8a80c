"""Validation of one container: name, image, ports, env, mounts, probes, resources
(core/validation's validateContainerCommon and the checks it calls)."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import (
    Obj, as_dict, child, dicts, index, int_or, is_int, nonnegative, not_found, supported,
)
from tinykube.registry.kinds.resources import validate_resource_requirements

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"]
HTTP_SCHEMES = ["HTTP", "HTTPS"]
MOUNT_PROPAGATIONS = ["Bidirectional", "HostToContainer", "None"]
RESIZE_RESOURCES = ["cpu", "memory"]
RESIZE_POLICIES = ["NotRequired", "RestartContainer"]
HANDLER_TYPES = ("exec", "httpGet", "tcpSocket", "grpc", "sleep")
ENV_FIELD_PATHS = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
                   "status.podIPs"]
RESOURCE_FIELD_PATHS = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                        "requests.ephemeral-storage", "requests.memory"]


def validate_container_common(errs: FieldErrors, ctr: Obj, volumes: set[str], path: str,
                              restart_policy: str) -> None:
    """Checks every kind of container gets: name, image, ports, env, mounts, policies, resources."""
    name = ctr.get("name")
    if not name:
        errs.required(child(path, "name"))
    else:
        checks.dns1123_label(errs, name, child(path, "name"))
    if not ctr.get("image"):
        errs.required(child(path, "image"))
    supported(errs, ctr.get("terminationMessagePolicy"), child(path, "terminationMessagePolicy"),
              MESSAGE_POLICIES)
    validate_ports(errs, ctr.get("ports"), child(path, "ports"))
    validate_env(errs, ctr.get("env"), child(path, "env"))
    validate_env_from(errs, ctr.get("envFrom"), child(path, "envFrom"))
    validate_volume_mounts(errs, ctr, volumes, child(path, "volumeMounts"))
    supported(errs, ctr.get("imagePullPolicy"), child(path, "imagePullPolicy"), PULL_POLICIES)
    validate_resource_requirements(errs, as_dict(ctr.get("resources")), child(path, "resources"))
    validate_resize_policy(errs, ctr.get("resizePolicy"), child(path, "resizePolicy"), restart_policy)
    validate_security_context(errs, ctr.get("securityContext"), child(path, "securityContext"))


# ----------------------------------------------------------------------------- ports


def validate_ports(errs: FieldErrors, ports: Any, path: str) -> None:
    names: set[str] = set()
    for i, port in dicts(ports):
        at = index(path, i)
        name = port.get("name")
        if name:
            messages = checks.port_name_messages(name)
            for msg in messages:
                errs.invalid(child(at, "name"), name, msg)
            if not messages and name in names:
                errs.duplicate(child(at, "name"), name)
            elif not messages:
                names.add(name)
        container_port = int_or(port.get("containerPort"))
        if container_port == 0:
            errs.required(child(at, "containerPort"))
        else:
            checks.port_number(errs, container_port, child(at, "containerPort"))
        host_port = int_or(port.get("hostPort"))
        if host_port != 0:
            checks.port_number(errs, host_port, child(at, "hostPort"))
        supported(errs, port.get("protocol"), child(at, "protocol"), PORT_PROTOCOLS)


def host_port_conflicts(errs: FieldErrors, containers: list[Obj], path: str, seen: set[str]) -> None:
    """AccumulateUniqueHostPorts: one protocol/hostIP/hostPort may be claimed once."""
    for ci, ctr in enumerate(containers):
        for pi, port in dicts(ctr.get("ports")):
            host_port = int_or(port.get("hostPort"))
            if host_port == 0:
                continue
            claim = f"{port.get('protocol') or ''}/{port.get('hostIP') or ''}/{host_port}"
            if claim in seen:
                errs.duplicate(child(index(child(index(path, ci), "ports"), pi), "hostPort"), claim)
            seen.add(claim)


# ----------------------------------------------------------------------------- env


def validate_env(errs: FieldErrors, env: Any, path: str) -> None:
    for i, var in dicts(env):
        at = index(path, i)
        name = var.get("name")
        if not name:
            errs.required(child(at, "name"))
        else:
            for msg in checks.env_var_name_messages(name):
                errs.invalid(child(at, "name"), name, msg)
        value_from = var.get("valueFrom")
        if isinstance(value_from, dict):
            _validate_value_from(errs, var, value_from, child(at, "valueFrom"))


def _validate_value_from(errs: FieldErrors, var: Obj, source: Obj, path: str) -> None:
    count = 0
    if isinstance(source.get("fieldRef"), dict):
        count += 1
        validate_field_ref(errs, source["fieldRef"], ENV_FIELD_PATHS, child(path, "fieldRef"))
    if isinstance(source.get("resourceFieldRef"), dict):
        count += 1
        validate_resource_field_ref(errs, source["resourceFieldRef"], child(path, "resourceFieldRef"),
                                    volume=False)
    for ref in ("configMapKeyRef", "secretKeyRef"):
        if isinstance(source.get(ref), dict):
            count += 1
            _validate_key_selector(errs, source[ref], child(path, ref))
    if count == 0:
        errs.invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                               "`secretKeyRef`")
    elif var.get("value"):
        errs.invalid(path, "", "may not be specified when `value` is not empty")
    elif count > 1:
        errs.invalid(path, "", "may not have more than one field specified at a time")


def validate_field_ref(errs: FieldErrors, ref: Obj, allowed: list[str], path: str) -> None:
    """validateObjectFieldSelector for the downward API (env and volume files)."""
    if not ref.get("apiVersion"):
        errs.required(child(path, "apiVersion"))
        return
    field_path = ref.get("fieldPath") or ""
    if not field_path:
        errs.required(child(path, "fieldPath"))
        return
    converted, problem = _convert_field_label(ref["apiVersion"], field_path)
    if problem:
        errs.invalid(child(path, "fieldPath"), field_path, f"error converting fieldPath: {problem}")
        return
    base, subscript = split_subscript(converted)
    if subscript is not None:
        checks.qualified_name(errs, subscript.lower() if base == "metadata.annotations" else subscript, path)
    elif converted not in allowed:
        errs.unsupported(child(path, "fieldPath"), converted, allowed)


DOWNWARD_LABELS = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                   "metadata.uid", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName",
                   "spec.schedulerName", "status.phase", "status.hostIP", "status.hostIPs", "status.podIP",
                   "status.podIPs")


def _convert_field_label(version: str, label: str) -> tuple[str, str]:
    """ConvertDownwardAPIFieldLabel: (internal path, "") or ("", the conversion error)."""
    if version != "v1":
        return "", f"unsupported pod version: {version}"
    base, subscript = split_subscript(label)
    if subscript is not None:
        if base in ("metadata.annotations", "metadata.labels"):
            return label, ""
        return "", f"field label does not support subscript: {label}"
    if label == "spec.host":
        return "spec.nodeName", ""
    if label in DOWNWARD_LABELS:
        return label, ""
    return "", f"field label not supported: {label}"


def split_subscript(field_path: str) -> tuple[str, str | None]:
    """fieldpath.SplitMaybeSubscriptedPath: `metadata.labels['app']` -> (`metadata.labels`, `app`)."""
    if not field_path.endswith("']"):
        return field_path, None
    base, sep, rest = field_path[:-2].partition("['")
    if not sep or not base:
        return field_path, None
    return base, rest


def validate_resource_field_ref(errs: FieldErrors, ref: Obj, path: str, volume: bool) -> None:
    resource = ref.get("resource") or ""
    if volume and not ref.get("containerName"):
        errs.required(child(path, "containerName"))
    elif not resource:
        errs.required(child(path, "resource"))
    elif resource not in RESOURCE_FIELD_PATHS and not resource.startswith(("requests.hugepages-",
                                                                           "limits.hugepages-")):
        errs.unsupported(child(path, "resource"), resource, RESOURCE_FIELD_PATHS)


def _validate_key_selector(errs: FieldErrors, ref: Obj, path: str) -> None:
    name = ref.get("name") or ""
    for msg in checks.dns1123_subdomain_messages(name):
        errs.invalid(child(path, "name"), name, msg)
    ref_key = ref.get("key") or ""
    if not ref_key:
        errs.required(child(path, "key"))
    else:
        for msg in checks.config_map_key_messages(ref_key):
            errs.invalid(child(path, "key"), ref_key, msg)


def validate_env_from(errs: FieldErrors, sources: Any, path: str) -> None:
    for i, source in dicts(sources):
        at = index(path, i)
        prefix = source.get("prefix")
        if prefix:
            for msg in checks.env_var_name_messages(prefix):
                errs.invalid(child(at, "prefix"), prefix, msg)
        count = 0
        for ref in ("configMapRef", "secretRef"):
            if isinstance(source.get(ref), dict):
                count += 1
                _validate_env_source_name(errs, source[ref], child(at, ref))
        if count == 0:
            errs.invalid(path, "", "must specify one of: `configMapRef` or `secretRef`")
        elif count > 1:
            errs.invalid(path, "", "may not have more than one field specified at a time")


def _validate_env_source_name(errs: FieldErrors, ref: Obj, path: str) -> None:
    name = ref.get("name")
    if not name:
        errs.required(child(path, "name"))
        return
    for msg in checks.dns1123_subdomain_messages(name, prefix=True):
        errs.invalid(child(path, "name"), name, msg)


# ----------------------------------------------------------------------------- mounts


def validate_volume_mounts(errs: FieldErrors, ctr: Obj, volumes: set[str], path: str) -> None:
    device_names = {d.get("name") for _, d in dicts(ctr.get("volumeDevices"))}
    device_paths = {d.get("devicePath") for _, d in dicts(ctr.get("volumeDevices"))}
    mount_points: set[str] = set()
    for i, mount in dicts(ctr.get("volumeMounts")):
        at = index(path, i)
        name = mount.get("name") or ""
        mount_path = mount.get("mountPath") or ""
        if not name:
            errs.required(child(at, "name"))
        if name not in volumes:
            not_found(errs, child(at, "name"), name)
        if not mount_path:
            errs.required(child(at, "mountPath"))
        if mount_path in mount_points:
            errs.invalid(child(at, "mountPath"), mount_path, "must be unique")
        mount_points.add(mount_path)
        if name in device_names:
            errs.invalid(child(at, "name"), name, "must not already exist in volumeDevices")
        if mount_path in device_paths:
            errs.invalid(child(at, "mountPath"), mount_path, "must not already exist as a path in volumeDevices")
        _validate_sub_paths(errs, mount, path, at)
        _validate_propagation(errs, mount, ctr, child(path, "mountPropagation"))


def _validate_sub_paths(errs: FieldErrors, mount: Obj, path: str, at: str) -> None:
    # upstream reports subPath problems at `volumeMounts.subPath`, without the index
    sub_path = mount.get("subPath") or ""
    if sub_path:
        checks.local_descending_path(errs, sub_path, child(path, "subPath"))
    expr = mount.get("subPathExpr") or ""
    if expr:
        if sub_path:
            errs.invalid(child(at, "subPathExpr"), expr, "subPathExpr and subPath are mutually exclusive")
        checks.local_descending_path(errs, expr, child(path, "subPathExpr"))


def _validate_propagation(errs: FieldErrors, mount: Obj, ctr: Obj, path: str) -> None:
    mode = mount.get("mountPropagation")
    if mode is None:
        return
    if mode not in MOUNT_PROPAGATIONS:
        errs.unsupported(path, mode, MOUNT_PROPAGATIONS)
    privileged = as_dict(ctr.get("securityContext")).get("privileged") is True
    if mode == "Bidirectional" and not privileged:
        errs.forbidden(path, "Bidirectional mount propagation is available only to privileged containers")


# ----------------------------------------------------------------------------- probes


def validate_probe(errs: FieldErrors, probe: Any, grace: Any, path: str, kind: str) -> None:
    """liveness/readiness/startup probes: one handler, non-negative timings, kind-specific rules."""
    if not isinstance(probe, dict):
        return
    validate_handler(errs, probe, grace, path, HANDLER_TYPES[:4])
    for name in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                 "failureThreshold"):
        nonnegative(errs, probe.get(name), child(path, name))
    probe_grace = probe.get("terminationGracePeriodSeconds")
    if is_int(probe_grace) and probe_grace <= 0:
        errs.invalid(child(path, "terminationGracePeriodSeconds"), probe_grace, "must be greater than 0")
    if kind in ("liveness", "startup") and int_or(probe.get("successThreshold")) != 1:
        errs.invalid(child(path, "successThreshold"), int_or(probe.get("successThreshold")), "must be 1")
    if kind == "readiness" and probe_grace is not None:
        errs.invalid(child(path, "terminationGracePeriodSeconds"), probe_grace,
                     "must not be set for readinessProbes")


def validate_lifecycle(errs: FieldErrors, lifecycle: Any, grace: Any, path: str) -> None:
    if not isinstance(lifecycle, dict):
        return
    for hook in ("postStart", "preStop"):
        if isinstance(lifecycle.get(hook), dict):
            validate_handler(errs, lifecycle[hook], grace, child(path, hook),
                             ("exec", "httpGet", "tcpSocket", "sleep"))


def validate_handler(errs: FieldErrors, handler: Obj, grace: Any, path: str, kinds: tuple[str, ...]) -> None:
    count = 0
    for kind in HANDLER_TYPES:
        action = handler.get(kind)
        if kind not in kinds or not isinstance(action, dict):
            continue
        if count > 0:
            errs.forbidden(child(path, kind), "may not specify more than 1 handler type")
            continue
        count += 1
        _validate_action(errs, kind, action, grace, child(path, kind))
    if count == 0:
        errs.required(path, "must specify a handler type")


def _validate_action(errs: FieldErrors, kind: str, action: Obj, grace: Any, path: str) -> None:
    if kind == "exec":
        if not action.get("command"):
            errs.required(child(path, "command"))
    elif kind == "httpGet":
        if not action.get("path"):
            errs.required(child(path, "path"))
        checks.port_num_or_name(errs, action.get("port"), child(path, "port"))
        if action.get("scheme") not in HTTP_SCHEMES:
            errs.unsupported(child(path, "scheme"), action.get("scheme") or "", HTTP_SCHEMES)
        for _, header in dicts(action.get("httpHeaders")):
            header_name = header.get("name") or ""
            for msg in checks.http_header_name_messages(header_name):
                errs.invalid(child(path, "httpHeaders"), header_name, msg)
    elif kind in ("tcpSocket", "grpc"):
        port = action.get("port")
        checks.port_num_or_name(errs, int_or(port) if kind == "grpc" else port, child(path, "port"))
    elif kind == "sleep":
        seconds = int_or(action.get("seconds"))
        limit = int_or(grace)
        if seconds <= 0 or seconds > limit:
            errs.invalid(path, seconds, "must be greater than 0 and less than terminationGracePeriodSeconds "
                                        f"({limit})")


# ----------------------------------------------------------------------------- misc


def validate_resize_policy(errs: FieldErrors, policies: Any, path: str, restart_policy: str) -> None:
    seen: set[str] = set()
    for i, policy in dicts(policies):
        resource = policy.get("resourceName") or ""
        if resource in seen:
            errs.duplicate(index(path, i), resource)
        seen.add(resource)
        supported(errs, resource, path, RESIZE_RESOURCES)
        restart = policy.get("restartPolicy") or ""
        supported(errs, restart, path, RESIZE_POLICIES)
        if restart_policy == "Never" and restart != "NotRequired":
            errs.invalid(path, restart, "must be 'NotRequired' when `restartPolicy` is 'Never'")


def validate_security_context(errs: FieldErrors, context: Any, path: str) -> None:
    """ValidateSecurityContext, the checks that do not depend on cluster policy."""
    if not isinstance(context, dict):
        return
    for name in ("runAsUser", "runAsGroup"):
        value = context.get(name)
        if is_int(value):
            for msg in checks.id_messages(value, "user" if name == "runAsUser" else "group"):
                errs.invalid(child(path, name), value, msg)
    proc_mount = context.get("procMount")
    if proc_mount is not None and proc_mount not in ("Default", "Unmasked"):
        errs.unsupported(child(path, "procMount"), proc_mount, ["Default", "Unmasked"])
    validate_seccomp_profile(errs, context.get("seccompProfile"), child(path, "seccompProfile"))
    if context.get("allowPrivilegeEscalation") is False and context.get("privileged") is True:
        checks.invalid_struct(errs, path, context,
                              "cannot set `allowPrivilegeEscalation` to false and `privileged` to true")


def validate_seccomp_profile(errs: FieldErrors, profile: Any, path: str) -> None:
    if not isinstance(profile, dict):
        return
    kind = profile.get("type") or ""
    allowed = ["Localhost", "RuntimeDefault", "Unconfined"]
    if not kind:
        errs.required(child(path, "type"), "type is required when seccompProfile is set")
    elif kind not in allowed:
        errs.unsupported(child(path, "type"), kind, allowed)
    local = profile.get("localhostProfile")
    if kind == "Localhost":
        if local is None:
            errs.required(child(path, "localhostProfile"), "must be set when seccomp type is Localhost")
        else:
            checks.local_descending_path(errs, local, child(path, "localhostProfile"))
    elif local is not None:
        checks.invalid_struct(errs, child(path, "localhostProfile"), profile,
                              "can only be set when seccomp type is Localhost")
