"""What a node agent reports about its node: the Node object, its conditions and its Lease.

Pure functions, so the registration and heartbeat shapes can be checked against upstream's
kubelet (pkg/kubelet/nodestatus) in tables.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from typing import Any

from tinykube.machinery.schema import KUBERNETES_MINOR

Obj = dict[str, Any]

KUBELET_VERSION = f"v{KUBERNETES_MINOR}.0-tinykube"
SIMULATED_LABEL = "sim.tinykube.io/node"  # "true" on nodes the simulated agent runs
KUBELET_STATE_ANNOTATION = "sim.tinykube.io/kubelet"  # "stopped" makes a simulated kubelet go silent
SIMULATED_BY_ANNOTATION = "sim.tinykube.io/agent"  # the identity of the server whose agent runs the node
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40  # kubelet nodeLeaseDurationSeconds
LEASE_RENEW_INTERVAL = 10.0  # a quarter of the lease duration, as the kubelet renews
STATUS_REPORT_INTERVAL = 300.0  # nodeStatusReportFrequency: full status even without changes
CLUSTER_POD_RANGE = ipaddress.ip_network("10.244.0.0/14")  # a /24 per node: 1024 nodes, then wraps

SIM_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}

# (type, reason, message) of a healthy node, in the order the kubelet reports them
HEALTHY_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def pod_cidr(index: int) -> str:
    """The index-th /24 of the cluster pod range (the node IPAM controller's job upstream)."""
    subnets = CLUSTER_POD_RANGE.num_addresses // 256
    base = int(CLUSTER_POD_RANGE.network_address) + (index % subnets) * 256
    return f"{ipaddress.ip_address(base)}/24"


def pod_ip(cidr: str, offset: int) -> str:
    """Address `offset` (1-based after the gateway .1) inside a node's /24."""
    return str(_network_address(cidr) + 1 + offset)


@functools.lru_cache(maxsize=4096)
def _network_address(cidr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_network(cidr).network_address


def sim_node_address(index: int) -> str:
    """InternalIP of the index-th simulated node (a private range no pod uses)."""
    return str(ipaddress.ip_address("172.18.0.2") + index)


def conditions_healthy(now: str, previous: list[Obj] | None = None) -> list[Obj]:
    """The four kubelet conditions of a healthy node; transition times kept when unchanged."""
    before = {c.get("type"): c for c in previous or []}
    out = []
    for kind, status, reason, message in HEALTHY_CONDITIONS:
        old = before.get(kind) or {}
        transition = old.get("lastTransitionTime") if old.get("status") == status else None
        out.append({"type": kind, "status": status, "lastHeartbeatTime": now,
                    "lastTransitionTime": transition or now, "reason": reason, "message": message})
    return out


def node_object(name: str, *, address: str, cidr: str, capacity: dict[str, str], labels: dict[str, str],
                os_image: str, kernel: str, runtime_version: str, architecture: str = "amd64") -> Obj:
    """A Node as a kubelet registers it (status is filled by `node_status`)."""
    node_labels = {"beta.kubernetes.io/arch": architecture, "beta.kubernetes.io/os": "linux",
                   "kubernetes.io/arch": architecture, "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    node_labels.update(labels)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": node_labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"capacity": dict(capacity), "allocatable": dict(capacity),
                       "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": node_info(name, os_image, kernel, runtime_version, architecture)}}


def node_info(name: str, os_image: str, kernel: str, runtime_version: str, architecture: str) -> Obj:
    digest = hashlib.sha256(name.encode()).hexdigest()
    uuid_like = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"machineID": digest[:32], "systemUUID": uuid_like, "bootID": uuid_like, "kernelVersion": kernel,
            "osImage": os_image, "containerRuntimeVersion": runtime_version, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": architecture}


def lease_object(node: Obj, now: str, holder: str) -> Obj:
    """The node's heartbeat Lease in kube-node-lease, owned by the Node so it goes with it."""
    meta = node["metadata"]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": meta["name"], "namespace": LEASE_NAMESPACE,
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": meta["name"],
                                              "uid": meta.get("uid", "")}]},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": now}}


def is_simulated(node: Obj) -> bool:
    return (node["metadata"].get("labels") or {}).get(SIMULATED_LABEL) == "true"


def simulating_agent(node: Obj) -> str | None:
    """Which server's agent runs this simulated node (None: nobody has taken it on yet)."""
    return (node["metadata"].get("annotations") or {}).get(SIMULATED_BY_ANNOTATION)


def simulated_for(node: Obj, identity: str) -> bool:
    """A simulated node the agent `identity` runs, or may adopt because no agent has it yet."""
    return is_simulated(node) and simulating_agent(node) in (None, identity)


def kubelet_stopped(node: Obj) -> bool:
    return (node["metadata"].get("annotations") or {}).get(KUBELET_STATE_ANNOTATION) == "stopped"
