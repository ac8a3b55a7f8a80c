"""Pure endpoint arithmetic shared by the Endpoints and EndpointSlice controllers, as upstream's
pkg/controller/endpoint and endpointslice (and their shared util) compute it: which pods of a
Service count, each pod's address, conditions and ports (named targetPorts resolved per pod),
the Endpoints subsets and the desired EndpointSlices."""

from __future__ import annotations

from typing import Any, Iterable

from tinykube.controllers.podutil import is_ready

Obj = dict[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager's --max-endpoints-per-slice default


def selects_pods(svc: Obj) -> bool:
    """Only Services with a selector get controller-managed endpoints (others are the user's)."""
    spec = svc.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def selector_matches(svc: Obj, labels: dict[str, str]) -> bool:
    selector = (svc.get("spec") or {}).get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_ip(pod: Obj) -> str:
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    return str(status.get("podIP") or (ips[0].get("ip") if ips else "") or "")


def should_include(pod: Obj, include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: an IP, not finished, and (unless asked) not being deleted."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    if not pod_ip(pod):
        return False
    return include_terminating or not pod["metadata"].get("deletionTimestamp")


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """FindPort: a numeric targetPort as is; a named one from the pod's container ports (sidecar
    init containers included) with the same protocol; None when the pod has no such port."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + [c for c in spec.get("initContainers") or []
                                                       if c.get("restartPolicy") == "Always"]
    for container in containers:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_ports(svc: Obj, pod: Obj) -> list[Obj]:
    """The pod's resolved ports for the Service's ports (a port the pod lacks is left out)."""
    out = []
    for port in (svc.get("spec") or {}).get("ports") or []:
        number = find_port(pod, port)
        if number is None:
            continue
        entry: Obj = {"name": port.get("name") or "", "port": number, "protocol": port.get("protocol") or "TCP"}
        if port.get("appProtocol"):
            entry["appProtocol"] = port["appProtocol"]
        out.append(entry)
    return out


def hostname(svc: Obj, pod: Obj) -> str:
    """A pod's hostname is published when its subdomain names this Service (StatefulSet pods)."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"] \
            and pod["metadata"].get("namespace") == svc["metadata"].get("namespace"):
        return str(spec["hostname"])
    return ""


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"], "uid": meta.get("uid", "")}


def conditions(svc: Obj, pod: Obj) -> Obj:
    """ready = serving and not terminating; publishNotReadyAddresses makes every endpoint ready."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    serving = publish or is_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    return {"ready": publish or (serving and not terminating), "serving": serving, "terminating": terminating}


# ----------------------------------------------------------------------------- Endpoints (core/v1)


def _port_key(ports: list[Obj]) -> tuple[tuple[str, int, str], ...]:
    return tuple(sorted((p["name"], p["port"], p["protocol"]) for p in ports))


def endpoints_subsets(svc: Obj, pods: Iterable[Obj]) -> list[Obj]:
    """The subsets as the Endpoints controller repacks them: one per distinct port set, ready
    addresses and notReadyAddresses sorted by IP."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    headless_no_ports = is_headless(svc) and not (svc.get("spec") or {}).get("ports")
    groups: dict[tuple[Any, ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not should_include(pod, include_terminating=publish):
            continue
        address: Obj = {"ip": pod_ip(pod)}
        if hostname(svc, pod):
            address["hostname"] = hostname(svc, pod)
        if (pod.get("spec") or {}).get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        address["targetRef"] = target_ref(pod)
        ports = endpoint_ports(svc, pod)
        if not ports and not headless_no_ports:
            continue
        ready = publish or is_ready(pod)
        group = groups.setdefault(_port_key(ports), (ports, [], []))
        (group[1] if ready else group[2]).append(address)
    subsets = []
    for key in sorted(groups):
        ports, ready, not_ready = groups[key]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=_address_order)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_address_order)
        if ports:  # core/v1 EndpointPort omits an empty name
            subset["ports"] = [{k: v for k, v in p.items() if k != "name" or v}
                               for p in sorted(ports, key=lambda p: (p["name"], p["port"]))]
        subsets.append(subset)
    return subsets


def _address_order(address: Obj) -> tuple[Any, ...]:
    parts = address["ip"].split(".")
    numeric = tuple(int(p) for p in parts) if len(parts) == 4 and all(p.isdigit() for p in parts) else ()
    return numeric, address["ip"], address["targetRef"]["uid"]


def endpoints_labels(svc: Obj) -> dict[str, str]:
    labels = dict((svc["metadata"].get("labels") or {}))
    if is_headless(svc):
        labels[HEADLESS_LABEL] = ""
    return labels


# ----------------------------------------------------------------------------- EndpointSlices


def slice_endpoint(svc: Obj, pod: Obj) -> Obj:
    endpoint: Obj = {"addresses": [pod_ip(pod)], "conditions": conditions(svc, pod)}
    if hostname(svc, pod):
        endpoint["hostname"] = hostname(svc, pod)
    if (pod.get("spec") or {}).get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    endpoint["targetRef"] = target_ref(pod)
    return endpoint


def desired_slices(svc: Obj, pods: Iterable[Obj]) -> list[tuple[list[Obj], list[Obj]]]:
    """(ports, endpoints) of each slice the Service should have: endpoints grouped by their
    resolved ports, at most 100 per slice, terminating pods kept (with their conditions)."""
    groups: dict[tuple[Any, ...], tuple[list[Obj], list[Obj]]] = {}
    wants_ports = bool((svc.get("spec") or {}).get("ports"))
    for pod in pods:
        if not should_include(pod, include_terminating=True):
            continue
        ports = endpoint_ports(svc, pod)
        if wants_ports and not ports:
            continue
        group = groups.setdefault(_port_key(ports), (ports, []))
        group[1].append(slice_endpoint(svc, pod))
    out: list[tuple[list[Obj], list[Obj]]] = []
    for key in sorted(groups):
        ports, endpoints = groups[key]
        endpoints.sort(key=lambda e: (e["targetRef"]["name"], e["addresses"][0]))
        for start in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE):
            out.append((sorted(ports, key=lambda p: (p["name"], p["port"])),
                        endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]))
    if not out:
        out.append(([], []))  # a Service with no endpoints still has one (empty) slice, as upstream
    return out


def slice_labels(svc: Obj) -> dict[str, str]:
    labels = endpoints_labels(svc)
    labels[SERVICE_NAME_LABEL] = svc["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = SLICE_CONTROLLER
    return labels


def slice_name_prefix(service_name: str) -> str:
    """generateName `<service>-`, the service part cut so the generated name stays a label."""
    return service_name[:57] + "-"


def plan_slices(existing: list[Obj], desired: list[tuple[list[Obj], list[Obj]]]) -> tuple[
        list[tuple[Obj, list[Obj], list[Obj]]], list[tuple[list[Obj], list[Obj]]], list[Obj]]:
    """Match desired slices to existing ones with the same ports: (updates, creates, deletes).
    An existing slice is reused in place, so a readiness flip is one update of one slice."""
    pool: dict[tuple[Any, ...], list[Obj]] = {}
    for eps in sorted(existing, key=lambda e: e["metadata"]["name"]):
        pool.setdefault(_port_key(_normal_ports(eps.get("ports") or [])), []).append(eps)
    updates: list[tuple[Obj, list[Obj], list[Obj]]] = []
    creates: list[tuple[list[Obj], list[Obj]]] = []
    for ports, endpoints in desired:
        candidates = pool.get(_port_key(ports)) or []
        if candidates:
            updates.append((candidates.pop(0), ports, endpoints))
        else:
            creates.append((ports, endpoints))
    deletes = [eps for left in pool.values() for eps in left]
    # reuse a slice of other ports before creating and deleting: fewer writes, stable names
    while creates and deletes:
        ports, endpoints = creates.pop(0)
        updates.append((deletes.pop(0), ports, endpoints))
    return updates, creates, deletes


def _normal_ports(ports: list[Obj]) -> list[Obj]:
    return [{"name": p.get("name") or "", "port": p.get("port"), "protocol": p.get("protocol") or "TCP"}
            for p in ports]
