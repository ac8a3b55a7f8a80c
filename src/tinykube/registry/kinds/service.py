"""core/v1 Service: SetDefaults_Service, the strategy's clusterIP(s) normalisation, the IP
family fields a single-stack IPv4 cluster allocates, and ValidateService(Update)."""

from __future__ import annotations

from typing import Any

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks, gotypes
from tinykube.registry.kinds.common import (
    Obj, as_dict, as_list, child, default, default_zero, dicts, ensure_dict, index, int_or, is_int,
    supported,
)

SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
AFFINITIES = ["ClientIP", "None"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TRAFFIC_POLICIES = ["Cluster", "Local"]
IP_FAMILIES = ["IPv4", "IPv6"]
IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]
KUBELET_PORT = 10250
CLIENT_IP_TIMEOUT_DEFAULT = 10800
CLIENT_IP_TIMEOUT_MAX = 86400
CLUSTER_FAMILY = "IPv4"  # this cluster is single-stack IPv4


# ----------------------------------------------------------------------------- defaults


def default_service(svc: Obj) -> None:
    spec = ensure_dict(svc, "spec")
    default_zero(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        timeout = as_dict(as_dict(spec.get("sessionAffinityConfig")).get("clientIP")).get("timeoutSeconds")
        if timeout is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": CLIENT_IP_TIMEOUT_DEFAULT}}
    default_zero(spec, "type", "ClusterIP")
    for _, port in dicts(spec.get("ports")):
        default_zero(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if externally_accessible(spec):
        default_zero(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
        default(spec, "internalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        default(spec, "allocateLoadBalancerNodePorts", True)
    _normalize_cluster_ips(spec)
    _default_ip_families(spec)


def externally_accessible(spec: Obj) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (kind == "ClusterIP" and bool(as_list(spec.get("externalIPs"))))


def _normalize_cluster_ips(spec: Obj) -> None:
    """A client that sets only the singular clusterIP gets the plural clusterIPs to match."""
    if spec.get("clusterIP") and not as_list(spec.get("clusterIPs")):
        spec["clusterIPs"] = [spec["clusterIP"]]


def _default_ip_families(spec: Obj) -> None:
    """What the IP allocator of a single-stack IPv4 cluster sets: SingleStack over IPv4, except for a
    headless Service without selector, which asks for both families."""
    if spec.get("type") == "ExternalName":
        return
    if is_headless(spec) and not as_dict(spec.get("selector")):
        default(spec, "ipFamilyPolicy", "RequireDualStack")
        if not as_list(spec.get("ipFamilies")):
            spec["ipFamilies"] = [CLUSTER_FAMILY]
        if len(spec["ipFamilies"]) < 2 and spec["ipFamilyPolicy"] != "SingleStack":
            spec["ipFamilies"].append("IPv6" if spec["ipFamilies"][0] == "IPv4" else "IPv4")
        return
    default(spec, "ipFamilyPolicy", "SingleStack")
    if not as_list(spec.get("ipFamilies")):
        spec["ipFamilies"] = [CLUSTER_FAMILY]


def is_headless(spec: Obj) -> bool:
    ips = as_list(spec.get("clusterIPs"))
    return len(ips) == 1 and ips[0] == "None"


# ----------------------------------------------------------------------------- validation


def validate_service(svc: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(svc.get("spec"))
    if old is not None:
        _validate_update(errs, spec, as_dict(old.get("spec")))
    kind = spec.get("type") or ""
    ports = [p for _, p in dicts(spec.get("ports"))]
    if not ports and not is_headless(spec) and kind != "ExternalName":
        errs.required("spec.ports")
    _validate_by_type(errs, spec, kind, ports)
    names: set[str] = set()
    for i, port in enumerate(ports):
        _validate_port(errs, port, len(ports) > 1, names, index("spec.ports", i))
    if spec.get("selector") is not None:
        errs.extend(checks.labels(spec.get("selector"), "spec.selector"))
    _validate_affinity(errs, spec)
    _validate_cluster_ips(errs, spec)
    for i, ip in enumerate(as_list(spec.get("externalIPs"))):
        checks.ip_address(errs, str(ip), index("spec.externalIPs", i))
    supported(errs, kind, "spec.type", SERVICE_TYPES)
    _validate_port_uniqueness(errs, spec, ports)
    _validate_load_balancer_fields(errs, spec, kind)
    _validate_traffic_policies(errs, spec)
    if old is None:
        _validate_cluster_families(errs, spec)
    return errs


def _validate_by_type(errs: FieldErrors, spec: Obj, kind: str, ports: list[Obj]) -> None:
    if kind == "LoadBalancer":
        for i, port in enumerate(ports):
            if port.get("port") == KUBELET_PORT:
                errs.invalid(index("spec.ports", i), KUBELET_PORT,
                             f"may not expose port {KUBELET_PORT} externally since it is used by kubelet")
    if kind in ("LoadBalancer", "NodePort") and is_headless(spec):
        errs.invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")
    if kind == "ExternalName":
        for name in ("clusterIPs", "ipFamilies"):
            if as_list(spec.get(name)):
                errs.forbidden(child("spec", name), "may not be set for ExternalName services")
        if spec.get("ipFamilyPolicy") is not None:
            errs.forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services")
        cname = (spec.get("externalName") or "").removesuffix(".")
        if cname:
            for msg in checks.dns1123_subdomain_messages(cname):
                errs.invalid("spec.externalName", cname, msg)
        else:
            errs.required("spec.externalName")


def _validate_port(errs: FieldErrors, port: Obj, require_name: bool, names: set[str], path: str) -> None:
    name = port.get("name") or ""
    if require_name and not name:
        errs.required(child(path, "name"))
    elif name:
        checks.dns1123_label(errs, name, child(path, "name"))
        if name in names:
            errs.duplicate(child(path, "name"), name)
        names.add(name)
    checks.port_number(errs, int_or(port.get("port")), child(path, "port"))
    supported(errs, port.get("protocol"), child(path, "protocol"), PROTOCOLS)
    checks.port_num_or_name(errs, port.get("targetPort"), child(path, "targetPort"))
    if port.get("appProtocol") is not None:
        checks.qualified_name(errs, port["appProtocol"], child(path, "appProtocol"))


def _validate_affinity(errs: FieldErrors, spec: Obj) -> None:
    affinity = spec.get("sessionAffinity") or ""
    supported(errs, affinity, "spec.sessionAffinity", AFFINITIES)
    config = spec.get("sessionAffinityConfig")
    if affinity == "ClientIP":
        _validate_client_ip(errs, config)
    elif affinity == "None" and config is not None:
        errs.forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")


def _validate_client_ip(errs: FieldErrors, config: Any) -> None:
    path = "spec.sessionAffinityConfig"
    when = "when session affinity type is ClientIP"
    if not isinstance(config, dict):
        errs.required(path, when)
    elif not isinstance(config.get("clientIP"), dict):
        errs.required(child(path, "clientIP"), when)
    elif config["clientIP"].get("timeoutSeconds") is None:
        errs.required(child(path, "clientIP", "timeoutSeconds"), when)
    else:
        timeout = int_or(config["clientIP"]["timeoutSeconds"])
        if timeout <= 0 or timeout > CLIENT_IP_TIMEOUT_MAX:
            errs.invalid(child(path, "clientIP", "timeoutSeconds"), timeout,
                         f"must be greater than 0 and less than {CLIENT_IP_TIMEOUT_MAX}")


def _validate_cluster_ips(errs: FieldErrors, spec: Obj) -> None:
    """ValidateServiceClusterIPsRelatedFields."""
    if spec.get("type") == "ExternalName":
        return
    cluster_ip, cluster_ips = spec.get("clusterIP") or "", [str(ip) for ip in as_list(spec.get("clusterIPs"))]
    if cluster_ip:
        if not cluster_ips:
            errs.required("spec.clusterIPs")
        elif cluster_ips[0] != cluster_ip:
            errs.invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`")
    elif cluster_ips:
        errs.invalid("spec.clusterIPs", cluster_ips, "must be empty when `clusterIP` is not specified")
    seen: set[str] = set()
    for i, family in enumerate(as_list(spec.get("ipFamilies"))):
        if family not in IP_FAMILIES:
            errs.unsupported(index("spec.ipFamilies", i), family, IP_FAMILIES)
        if family in seen:
            errs.duplicate(index("spec.ipFamilies", i), family)
        seen.add(family)
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        errs.unsupported("spec.ipFamilyPolicy", policy, IP_FAMILY_POLICIES)
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                errs.invalid("spec.clusterIPs", cluster_ips, "'None' must be the first and only value")
            continue
        checks.ip_address(errs, ip, index("spec.clusterIPs", i))
    if len(cluster_ips) > 2:
        errs.invalid("spec.clusterIPs", cluster_ips, "may only hold up to 2 values")


def _validate_port_uniqueness(errs: FieldErrors, spec: Obj, ports: list[Obj]) -> None:
    if spec.get("type") == "ClusterIP":
        for i, port in enumerate(ports):
            if int_or(port.get("nodePort")) != 0:
                errs.forbidden(child(index("spec.ports", i), "nodePort"), "may not be used when `type` is 'ClusterIP'")
    node_ports: set[tuple[Any, int]] = set()
    for i, port in enumerate(ports):
        node_port = int_or(port.get("nodePort"))
        if node_port == 0:
            continue
        claim = (port.get("protocol"), node_port)
        if claim in node_ports:
            errs.duplicate(child(index("spec.ports", i), "nodePort"), node_port)
        node_ports.add(claim)
    seen: set[tuple[Any, int]] = set()
    for i, port in enumerate(ports):
        claim = (port.get("protocol"), int_or(port.get("port")))
        if claim in seen:
            rendered = gotypes.service_port({"protocol": port.get("protocol"), "port": port.get("port")})
            errs.add("FieldValueDuplicate", index("spec.ports", i), f"Duplicate value: {rendered}")
        seen.add(claim)


def _validate_load_balancer_fields(errs: FieldErrors, spec: Obj, kind: str) -> None:
    ranges = as_list(spec.get("loadBalancerSourceRanges"))
    if ranges:
        if kind != "LoadBalancer":
            errs.forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")
        for i, value in enumerate(ranges):
            checks.cidr(errs, str(value).strip(), index("spec.LoadBalancerSourceRanges", i))
    if spec.get("allocateLoadBalancerNodePorts") is not None and kind != "LoadBalancer":
        errs.forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'")
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        errs.required("allocateLoadBalancerNodePorts")
    lb_class = spec.get("loadBalancerClass")
    if lb_class is not None:
        if kind == "LoadBalancer":
            checks.qualified_name(errs, lb_class, "spec.loadBalancerClass")
        else:
            errs.forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'")


def _validate_traffic_policies(errs: FieldErrors, spec: Obj) -> None:
    external = spec.get("externalTrafficPolicy") or ""
    if not externally_accessible(spec):
        if external:
            errs.invalid("spec.externalTrafficPolicy", external, "may only be set for externally-accessible services")
    else:
        supported(errs, external, "spec.externalTrafficPolicy", TRAFFIC_POLICIES)
    health_port = int_or(spec.get("healthCheckNodePort"))
    needs_health_check = spec.get("type") == "LoadBalancer" and external == "Local"
    if not needs_health_check and health_port != 0:
        errs.invalid("spec.healthCheckNodePort", health_port,
                     "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'")
    internal = spec.get("internalTrafficPolicy")
    if internal is None:
        if spec.get("type") in ("NodePort", "LoadBalancer", "ClusterIP"):
            errs.required("spec.internalTrafficPolicy")
    elif internal not in TRAFFIC_POLICIES:
        errs.unsupported("spec.internalTrafficPolicy", internal, TRAFFIC_POLICIES)
    distribution = spec.get("trafficDistribution")
    if distribution is not None and distribution != "PreferClose":
        errs.unsupported("spec.trafficDistribution", distribution, ["PreferClose"])


def _validate_cluster_families(errs: FieldErrors, spec: Obj) -> None:
    """The allocator of a single-stack IPv4 cluster refuses dual-stack and IPv6 requests."""
    if spec.get("type") == "ExternalName" or (is_headless(spec) and not as_dict(spec.get("selector"))):
        return
    if spec.get("ipFamilyPolicy") == "RequireDualStack":
        errs.invalid("spec.ipFamilyPolicy", "RequireDualStack", "this cluster is not configured for dual-stack services")
    for i, family in enumerate(as_list(spec.get("ipFamilies"))):
        if family in IP_FAMILIES and family != CLUSTER_FAMILY:
            errs.invalid(index("spec.ipFamilies", i), family, "not configured on this cluster")


def _validate_update(errs: FieldErrors, new: Obj, old: Obj) -> None:
    """ValidateServiceUpdate: assigned cluster IPs and families stay; so does a load balancer class."""
    if "ExternalName" in (new.get("type"), old.get("type")):
        return
    new_ips, old_ips = as_list(new.get("clusterIPs")), as_list(old.get("clusterIPs"))
    if not (is_headless(new) and is_headless(old)):
        if len(new_ips) == len(old_ips):
            for i, ip in enumerate(old_ips):
                if ip != new_ips[i]:
                    errs.invalid(index("spec.clusterIPs", i), new_ips, "may not change once set")
        elif len(old_ips) > len(new_ips):
            if not new_ips:
                errs.invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset")
            elif new_ips[0] != old_ips[0]:
                errs.invalid("spec.clusterIPs[0]", new_ips, "may not change once set")
        elif old_ips and new_ips[0] != old_ips[0]:
            errs.invalid("spec.clusterIPs[0]", new_ips, "may not change once set")
    if is_headless(new) == is_headless(old) and not is_headless(new):
        new_families, old_families = as_list(new.get("ipFamilies")), as_list(old.get("ipFamilies"))
        if len(new_families) == len(old_families) and new_families != old_families:
            errs.invalid("spec.ipFamilies[0]", new_families, "may not change once set")
    if new.get("type") == old.get("type") == "LoadBalancer" and new.get("loadBalancerClass") != old.get("loadBalancerClass"):
        errs.invalid("spec.loadBalancerClass", new.get("loadBalancerClass"), "may not change once set")
    if is_int(old.get("healthCheckNodePort")) and new.get("healthCheckNodePort") != old.get("healthCheckNodePort") \
            and new.get("externalTrafficPolicy") == old.get("externalTrafficPolicy") == "Local":
        errs.forbidden("spec.healthCheckNodePort", "field is immutable")
