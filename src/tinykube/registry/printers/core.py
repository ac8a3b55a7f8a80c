"""Tables for the core ("") group, except pods and events (see pods.py, events.py)."""

from __future__ import annotations

from datetime import datetime

from tinykube.registry.printers._common import (
    NONE, UNKNOWN, UNSET, Cells, ColumnSpec, Obj, age, age_col, as_dict, as_int, as_list,
    container_cells, container_cols, dig, format_labels, name_col, name_of, quantity, wide,
)

ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"
ROLE_LABEL = "kubernetes.io/role"
STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
ACCESS_MODE_ABBREVIATIONS = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"),
                             ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


# ----------------------------------------------------------------------------- nodes

NODE_COLUMNS = (
    name_col(),
    ColumnSpec("Status", text="The status of the node"),
    ColumnSpec("Roles", text="The roles of the node"),
    age_col(),
    ColumnSpec("Version", doc="core.v1.NodeSystemInfo.kubeletVersion"),
    wide("Internal-IP", doc="core.v1.NodeStatus.addresses"),
    wide("External-IP", doc="core.v1.NodeStatus.addresses"),
    wide("OS-Image", doc="core.v1.NodeSystemInfo.osImage"),
    wide("Kernel-Version", doc="core.v1.NodeSystemInfo.kernelVersion"),
    wide("Container-Runtime", doc="core.v1.NodeSystemInfo.containerRuntimeVersion"),
)


def node_status(node: Obj) -> str:
    """"Ready", "NotReady" or "Unknown", plus ",SchedulingDisabled" when cordoned."""
    ready = None
    for cond in as_list(dig(node, "status", "conditions")):
        if as_dict(cond).get("type") == "Ready":
            ready = as_dict(cond)  # the last one wins, as in upstream's condition map
    parts = ["Unknown"] if ready is None else ["Ready" if ready.get("status") == "True" else "NotReady"]
    if dig(node, "spec", "unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(node: Obj) -> str:
    roles = set()
    for key, value in as_dict(dig(node, "metadata", "labels")).items():
        if key.startswith(ROLE_LABEL_PREFIX) and key[len(ROLE_LABEL_PREFIX):]:
            roles.add(key[len(ROLE_LABEL_PREFIX):])
        elif key == ROLE_LABEL and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or NONE


def _node_address(node: Obj, kind: str) -> str:
    for address in as_list(dig(node, "status", "addresses")):
        if as_dict(address).get("type") == kind:
            return str(as_dict(address).get("address", ""))
    return NONE


def node_cells(node: Obj, now: datetime) -> Cells:
    info = as_dict(dig(node, "status", "nodeInfo"))
    return [
        name_of(node), node_status(node), node_roles(node), age(node, now),
        str(info.get("kubeletVersion", "")),
        _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
        str(info.get("osImage") or UNKNOWN), str(info.get("kernelVersion") or UNKNOWN),
        str(info.get("containerRuntimeVersion") or UNKNOWN),
    ]


# ----------------------------------------------------------------------------- namespaces

NAMESPACE_COLUMNS = (name_col(), ColumnSpec("Status", text="The status of the namespace"), age_col())


def namespace_cells(ns: Obj, now: datetime) -> Cells:
    return [name_of(ns), str(dig(ns, "status", "phase", default="")), age(ns, now)]


# ----------------------------------------------------------------------------- services

SERVICE_COLUMNS = (
    name_col(),
    ColumnSpec("Type", doc="core.v1.ServiceSpec.type"),
    ColumnSpec("Cluster-IP", doc="core.v1.ServiceSpec.clusterIP"),
    ColumnSpec("External-IP", doc="core.v1.ServiceSpec.externalIPs"),
    ColumnSpec("Port(s)", doc="core.v1.ServiceSpec.ports"),
    age_col(),
    wide("Selector", doc="core.v1.ServiceSpec.selector"),
)


def _load_balancer_addresses(svc: Obj) -> list[str]:
    """Distinct ingress IPs (or hostnames), sorted; the server prints wide so nothing is clipped."""
    found = set()
    for ingress in as_list(dig(svc, "status", "loadBalancer", "ingress")):
        ingress = as_dict(ingress)
        value = ingress.get("ip") or ingress.get("hostname")
        if value:
            found.add(str(value))
    return sorted(found)


def service_external_ip(svc: Obj) -> str:
    kind = dig(svc, "spec", "type", default="ClusterIP")
    external = [str(ip) for ip in as_list(dig(svc, "spec", "externalIPs"))]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or NONE
    if kind == "LoadBalancer":
        addresses = _load_balancer_addresses(svc) + external
        return ",".join(addresses) or "<pending>"
    if kind == "ExternalName":
        return str(dig(svc, "spec", "externalName", default=""))
    return UNKNOWN


def service_ports(svc: Obj) -> str:
    pieces = []
    for port in as_list(dig(svc, "spec", "ports")):
        port = as_dict(port)
        protocol = port.get("protocol") or "TCP"
        node_port = as_int(port.get("nodePort"))
        middle = f":{node_port}" if node_port > 0 else ""
        pieces.append(f"{as_int(port.get('port'))}{middle}/{protocol}")
    return ",".join(pieces) or NONE


def _cluster_ip(svc: Obj) -> str:
    ips = as_list(dig(svc, "spec", "clusterIPs"))
    ip = ips[0] if ips else dig(svc, "spec", "clusterIP")
    return str(ip) if ip else NONE


def service_cells(svc: Obj, now: datetime) -> Cells:
    return [name_of(svc), str(dig(svc, "spec", "type", default="ClusterIP")), _cluster_ip(svc),
            service_external_ip(svc), service_ports(svc), age(svc, now),
            format_labels(dig(svc, "spec", "selector"))]


# ----------------------------------------------------------------------------- endpoints

ENDPOINTS_COLUMNS = (name_col(), ColumnSpec("Endpoints", doc="core.v1.Endpoints.subsets"), age_col())
_MAX_ENDPOINTS = 3


def _host_port(ip: str, port: int) -> str:
    """net.JoinHostPort: IPv6 hosts get brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def format_endpoints(ep: Obj) -> str:
    """Up to three ready addresses (ip:port per port), then "+ N more..."."""
    subsets = as_list(ep.get("subsets"))
    if not subsets:
        return NONE
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [str(as_dict(a).get("ip", "")) for a in as_list(as_dict(subset).get("addresses"))]
        ports = as_list(as_dict(subset).get("ports"))
        for port in ports or [None]:
            count += len(addresses)
            for ip in addresses:
                if len(shown) == _MAX_ENDPOINTS:
                    break
                shown.append(ip if port is None else _host_port(ip, as_int(as_dict(port).get("port"))))
    text = ",".join(shown)
    if count > _MAX_ENDPOINTS:
        return f"{text} + {count - _MAX_ENDPOINTS} more..."
    return text


def endpoints_cells(ep: Obj, now: datetime) -> Cells:
    return [name_of(ep), format_endpoints(ep), age(ep, now)]


# ----------------------------------------------------------------------------- config and identity

CONFIGMAP_COLUMNS = (name_col(), ColumnSpec("Data", doc="core.v1.ConfigMap.data"), age_col())
SECRET_COLUMNS = (name_col(), ColumnSpec("Type", doc="core.v1.Secret.type"),
                  ColumnSpec("Data", doc="core.v1.Secret.data"), age_col())
SERVICE_ACCOUNT_COLUMNS = (name_col(), ColumnSpec("Secrets", doc="core.v1.ServiceAccount.secrets"), age_col())


def configmap_cells(cm: Obj, now: datetime) -> Cells:
    return [name_of(cm), len(as_dict(cm.get("data"))) + len(as_dict(cm.get("binaryData"))), age(cm, now)]


def secret_cells(secret: Obj, now: datetime) -> Cells:
    return [name_of(secret), str(secret.get("type") or ""), len(as_dict(secret.get("data"))), age(secret, now)]


def service_account_cells(sa: Obj, now: datetime) -> Cells:
    return [name_of(sa), len(as_list(sa.get("secrets"))), age(sa, now)]


# ----------------------------------------------------------------------------- storage

PV_COLUMNS = (
    name_col(),
    ColumnSpec("Capacity", doc="core.v1.PersistentVolumeSpec.capacity"),
    ColumnSpec("Access Modes", doc="core.v1.PersistentVolumeSpec.accessModes"),
    ColumnSpec("Reclaim Policy", doc="core.v1.PersistentVolumeSpec.persistentVolumeReclaimPolicy"),
    ColumnSpec("Status", doc="core.v1.PersistentVolumeStatus.phase"),
    ColumnSpec("Claim", doc="core.v1.PersistentVolumeSpec.claimRef"),
    ColumnSpec("StorageClass", text="StorageClass of the pv"),
    ColumnSpec("VolumeAttributesClass", text="VolumeAttributesClass of the pv"),
    ColumnSpec("Reason", doc="core.v1.PersistentVolumeStatus.reason"),
    age_col(),
    wide("VolumeMode", doc="core.v1.PersistentVolumeSpec.volumeMode"),
)

PVC_COLUMNS = (
    name_col(),
    ColumnSpec("Status", doc="core.v1.PersistentVolumeClaimStatus.phase"),
    ColumnSpec("Volume", doc="core.v1.PersistentVolumeClaimSpec.volumeName"),
    ColumnSpec("Capacity", doc="core.v1.PersistentVolumeClaimStatus.capacity"),
    ColumnSpec("Access Modes", doc="core.v1.PersistentVolumeClaimStatus.accessModes"),
    ColumnSpec("StorageClass", text="StorageClass of the pvc"),
    ColumnSpec("VolumeAttributesClass", text="VolumeAttributesClass of the pvc"),
    age_col(),
    wide("VolumeMode", doc="core.v1.PersistentVolumeClaimSpec.volumeMode"),
)


def access_modes(modes: object) -> str:
    """helper.GetAccessModesAsString: "RWO,ROX,RWX,RWOP" in that fixed order."""
    present = set(as_list(modes))
    return ",".join(short for mode, short in ACCESS_MODE_ABBREVIATIONS if mode in present)


def _phase(obj: Obj) -> str:
    if dig(obj, "metadata", "deletionTimestamp") is not None:
        return "Terminating"
    return str(dig(obj, "status", "phase", default=""))


def _storage_class(obj: Obj) -> str:
    annotations = as_dict(dig(obj, "metadata", "annotations"))
    if STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[STORAGE_CLASS_ANNOTATION])
    return str(dig(obj, "spec", "storageClassName", default=""))


def pv_cells(pv: Obj, now: datetime) -> Cells:
    claim = dig(pv, "spec", "claimRef")
    claim_text = f"{as_dict(claim).get('namespace', '')}/{as_dict(claim).get('name', '')}" if claim else ""
    return [
        name_of(pv), quantity(dig(pv, "spec", "capacity", "storage")),
        access_modes(dig(pv, "spec", "accessModes")),
        str(dig(pv, "spec", "persistentVolumeReclaimPolicy", default="")),
        _phase(pv), claim_text, _storage_class(pv),
        str(dig(pv, "spec", "volumeAttributesClassName", default=UNSET)),
        str(dig(pv, "status", "reason", default="")), age(pv, now),
        str(dig(pv, "spec", "volumeMode", default=UNSET)),
    ]


def pvc_cells(pvc: Obj, now: datetime) -> Cells:
    volume = str(dig(pvc, "spec", "volumeName", default=""))
    capacity = quantity(dig(pvc, "status", "capacity", "storage")) if volume else ""
    modes = access_modes(dig(pvc, "status", "accessModes")) if volume else ""
    return [
        name_of(pvc), _phase(pvc), volume, capacity, modes, _storage_class(pvc),
        str(dig(pvc, "spec", "volumeAttributesClassName", default=UNSET)), age(pvc, now),
        str(dig(pvc, "spec", "volumeMode", default=UNSET)),
    ]


# ----------------------------------------------------------------------------- replication controllers

RC_COLUMNS = (
    name_col(),
    ColumnSpec("Desired", "integer", doc="core.v1.ReplicationControllerSpec.replicas"),
    ColumnSpec("Current", "integer", doc="core.v1.ReplicationControllerStatus.replicas"),
    ColumnSpec("Ready", "integer", doc="core.v1.ReplicationControllerStatus.readyReplicas"),
    age_col(),
    *container_cols("core.v1.ReplicationControllerSpec.selector"),
)


def rc_cells(rc: Obj, now: datetime) -> Cells:
    names, images = container_cells(dig(rc, "spec", "template", "spec"))
    return [name_of(rc), as_int(dig(rc, "spec", "replicas", default=1)),
            as_int(dig(rc, "status", "replicas")), as_int(dig(rc, "status", "readyReplicas")),
            age(rc, now), names, images, format_labels(dig(rc, "spec", "selector"))]


# ----------------------------------------------------------------------------- quotas

QUOTA_COLUMNS = (
    name_col(),
    age_col(),
    ColumnSpec("Request", text="Request represents a minimum amount of cpu/memory that a container may consume."),
    ColumnSpec("Limit", text="Limits control the maximum amount of cpu/memory that a container may use "
                             "independent of contention on the node."),
)


def quota_cells(quota: Obj, now: datetime) -> Cells:
    """"name: used/hard" per resource in status.hard, `limits.*` ones in the Limit column."""
    hard = as_dict(dig(quota, "status", "hard"))
    used = as_dict(dig(quota, "status", "used"))
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        target = limits if resource.split(".")[0] == "limits" and "." in resource else requests
        target.append(f"{resource}: {quantity(used.get(resource))}/{quantity(hard[resource])}")
    return [name_of(quota), age(quota, now), ", ".join(requests), ", ".join(limits)]


PRINTERS = {
    ("", "nodes"): (NODE_COLUMNS, node_cells),
    ("", "namespaces"): (NAMESPACE_COLUMNS, namespace_cells),
    ("", "services"): (SERVICE_COLUMNS, service_cells),
    ("", "endpoints"): (ENDPOINTS_COLUMNS, endpoints_cells),
    ("", "configmaps"): (CONFIGMAP_COLUMNS, configmap_cells),
    ("", "secrets"): (SECRET_COLUMNS, secret_cells),
    ("", "serviceaccounts"): (SERVICE_ACCOUNT_COLUMNS, service_account_cells),
    ("", "persistentvolumes"): (PV_COLUMNS, pv_cells),
    ("", "persistentvolumeclaims"): (PVC_COLUMNS, pvc_cells),
    ("", "replicationcontrollers"): (RC_COLUMNS, rc_cells),
    ("", "resourcequotas"): (QUOTA_COLUMNS, quota_cells),
}
