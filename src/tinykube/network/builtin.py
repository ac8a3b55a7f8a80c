"""The Services every cluster has: `kubernetes` in default (the first service address, port 443 →
the API server, kept by the apiserver's endpoint reconciler) and `kube-dns` in kube-system (the
tenth address, port 53 → the server's DNS)."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from tinykube.machinery.errors import StatusError
from tinykube.registry.objects import ObjectRegistry, WriteOptions
from tinykube.registry.resources import RESOURCE_INDEX

log = logging.getLogger(__name__)

MANAGER = WriteOptions(field_manager="kube-apiserver")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def dns_service_ip(network: ipaddress.IPv4Network) -> str:
    """kubeadm's choice: the tenth address of the service range (10.96.0.10), or the last one of
    a range too small for that."""
    return str(network.network_address + min(10, network.num_addresses - 2))


def kubernetes_service(ip: str) -> dict[str, Any]:
    return {"metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}


def kube_dns_service(ip: str) -> dict[str, Any]:
    """The server answers DNS itself (no pods), so the Service has no selector and no endpoints;
    the DNS server binds its ClusterIP directly."""
    return {"metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                                        "kubernetes.io/name": "CoreDNS"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip,
                     "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                               {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}}


def api_endpoints(host: str, port: int) -> dict[str, Any]:
    return {"metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": host}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}


def api_endpoint_slice(host: str, port: int) -> dict[str, Any]:
    return {"metadata": {"name": "kubernetes", "labels": {SERVICE_NAME_LABEL: "kubernetes"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}


async def ensure_builtin_services(registry: ObjectRegistry, network: ipaddress.IPv4Network,
                                  api_host: str, api_port: int) -> None:
    """Create the two Services once, and point `kubernetes`'s endpoints at this server's address
    on every start (the port may change between runs)."""
    from tinykube.registry.serviceips import first_ip

    services = _res("", "v1", "services")
    await _create_missing(registry, services, "default", kubernetes_service(first_ip(network)))
    await _create_missing(registry, services, "kube-system", kube_dns_service(dns_service_ip(network)))
    host = "127.0.0.1" if api_host in ("0.0.0.0", "") else api_host
    await _put(registry, _res("", "v1", "endpoints"), "default", api_endpoints(host, api_port))
    await _put(registry, _res("discovery.k8s.io", "v1", "endpointslices"), "default", api_endpoint_slice(host, api_port))


def _res(group: str, version: str, plural: str) -> Any:
    res = RESOURCE_INDEX.lookup(group, version, plural)
    assert res is not None
    return res


async def _create_missing(registry: ObjectRegistry, res: Any, namespace: str, obj: dict[str, Any]) -> None:
    try:
        await registry.create(res, namespace, obj, MANAGER)
    except StatusError as exc:
        if exc.code == 409:
            return
        # e.g. a data dir from a run with another --service-cluster-ip-range: keep serving
        log.warning("cannot create Service %s/%s: %s", namespace, obj["metadata"]["name"], exc.message)


async def _put(registry: ObjectRegistry, res: Any, namespace: str, obj: dict[str, Any]) -> None:
    name = obj["metadata"]["name"]
    try:
        await registry.create(res, namespace, obj, MANAGER)
        return
    except StatusError as exc:
        if exc.code != 409:
            raise

    def replace(current: dict[str, Any]) -> dict[str, Any]:
        return {**obj, "metadata": {**current["metadata"], "labels": obj["metadata"]["labels"]}}
    await registry.guaranteed_update(res, namespace, name, replace, MANAGER)
