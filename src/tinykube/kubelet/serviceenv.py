"""Service environment variables, as the kubelet gives every container (getServiceEnvVarMap and
envvars.FromServices): `{SVC}_SERVICE_HOST`/`_PORT`(`_{PORT_NAME}`) and the docker-link
`{SVC}_PORT...` variables, for the Services of the pod's namespace (enableServiceLinks, on by
default) and always for the `kubernetes` Service. Pure: the caller lists the Services."""

from __future__ import annotations

from typing import Any, Iterable

Obj = dict[str, Any]
MASTER_NAMESPACE = "default"
MASTER_SERVICE = "kubernetes"


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _has_ip(svc: Obj) -> bool:
    ip = (svc.get("spec") or {}).get("clusterIP")
    return bool(ip) and ip != "None"


def link_services(services: Iterable[Obj], namespace: str, enable_service_links: bool) -> list[Obj]:
    """Which Services a pod's environment describes; the pod's namespace wins on a name clash."""
    chosen: dict[str, Obj] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        if not _has_ip(svc):
            continue
        if meta.get("namespace") == MASTER_NAMESPACE and meta.get("name") == MASTER_SERVICE:
            chosen.setdefault(meta["name"], svc)
        if enable_service_links and meta.get("namespace") == namespace:
            chosen[meta["name"]] = svc
    return [chosen[name] for name in sorted(chosen)]


def service_vars(svc: Obj) -> dict[str, str]:
    spec = svc.get("spec") or {}
    name = _env_name(svc["metadata"]["name"])
    ip = str(spec["clusterIP"])
    ports = spec.get("ports") or []
    out = {f"{name}_SERVICE_HOST": ip}
    if ports:
        out[f"{name}_SERVICE_PORT"] = str(ports[0].get("port"))
    for port in ports:
        if port.get("name"):
            out[f"{name}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
    if ports:  # docker links
        first = ports[0]
        out[f"{name}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"
        for port in ports:
            protocol = (port.get("protocol") or "TCP")
            prefix = f"{name}_PORT_{port.get('port')}_{protocol.upper()}"
            out[prefix] = f"{protocol.lower()}://{ip}:{port.get('port')}"
            out[f"{prefix}_PROTO"] = protocol.lower()
            out[f"{prefix}_PORT"] = str(port.get("port"))
            out[f"{prefix}_ADDR"] = ip
    return out


def service_env(pod: Obj, services: Iterable[Obj]) -> dict[str, str]:
    spec = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    enable = spec.get("enableServiceLinks") is not False
    out: dict[str, str] = {}
    for svc in link_services(services, namespace, enable):
        out.update(service_vars(svc))
    return out
