"""Cluster DNS answers as CoreDNS's kubernetes plugin gives them (the DNS spec for Services and
Pods), computed from Services and EndpointSlices: pure, so the table tests need no sockets.

* `<svc>.<ns>.svc.<zone>` A: the ClusterIP; for a headless Service the ready endpoint addresses;
  an ExternalName Service answers a CNAME.
* `<host>.<svc>.<ns>.svc.<zone>` A: the endpoint with that hostname (StatefulSet pods) or with
  that dashed address, of a headless Service.
* `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV per named port (the service name itself lists all).
* `<a-b-c-d>.<ns>.pod.<zone>` A: the address written in the name (CoreDNS `pods insecure`).
* Names in the zone that do not exist: NXDOMAIN; existing names of another type: no data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Obj = dict[str, Any]

NOERROR, NXDOMAIN = "NOERROR", "NXDOMAIN"


@dataclass(frozen=True)
class Record:
    name: str
    rtype: str  # A | CNAME | SRV
    value: str  # address, target name, or "priority weight port target"


@dataclass
class Answer:
    rcode: str = NOERROR
    records: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)


@dataclass
class ClusterView:
    """Lookups the answers need: a Service by namespace and name, and its EndpointSlices."""

    service: Callable[[str, str], Obj | None]
    slices: Callable[[str, str], list[Obj]]


def in_zone(name: str, zone: str) -> bool:
    name, zone = _norm(name), _norm(zone)
    return name == zone or name.endswith("." + zone)


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _fqdn(*labels: str) -> str:
    return ".".join(labels) + "."


def _is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def ready_endpoints(svc: Obj, slices: list[Obj]) -> list[Obj]:
    """Endpoints a headless name resolves to: ready ones (all, with publishNotReadyAddresses)."""
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    out = []
    for eps in slices:
        for endpoint in eps.get("endpoints") or []:
            ready = (endpoint.get("conditions") or {}).get("ready")
            if publish or ready is None or ready:
                out.append(endpoint)
    return out


def endpoint_label(endpoint: Obj) -> str:
    """The name of one endpoint under its Service: its hostname, else its address dashed."""
    return str(endpoint.get("hostname") or str((endpoint.get("addresses") or [""])[0]).replace(".", "-"))


def answer(qname: str, qtype: str, view: ClusterView, zone: str = "cluster.local") -> Answer:
    name = _norm(qname)
    rest = name[: -len(_norm(zone))].rstrip(".") if name != _norm(zone) else ""
    labels = rest.split(".") if rest else []
    if len(labels) >= 2 and labels[-1] == "svc":
        return _service_answer(labels[:-1], qtype, view, zone)
    if len(labels) == 3 and labels[-1] == "pod":
        ip = labels[0].replace("-", ".")
        if _is_ipv4(ip):
            return Answer(records=[Record(_fqdn(name), "A", ip)] if qtype in ("A", "ANY") else [])
        return Answer(NXDOMAIN)
    if labels in ([], ["svc"], ["pod"]) or (len(labels) == 2 and labels[-1] == "pod"):
        return Answer()  # empty non-terminals of the zone exist
    return Answer(NXDOMAIN)


def _service_answer(labels: list[str], qtype: str, view: ClusterView, zone: str) -> Answer:
    """labels: [ns], [svc, ns], [host, svc, ns] or [_port, _proto, svc, ns]."""
    if len(labels) == 1:
        return Answer()  # <ns>.svc.<zone>: a namespace is an empty non-terminal
    if len(labels) == 4 and labels[0].startswith("_") and labels[1].startswith("_"):
        svc = view.service(labels[3], labels[2])
        if svc is None:
            return Answer(NXDOMAIN)
        return _srv(svc, view, zone, labels[0][1:], labels[1][1:], qtype)
    if len(labels) == 2:
        svc = view.service(labels[1], labels[0])
        if svc is None:
            return Answer(NXDOMAIN)
        return _service_name(svc, view, zone, qtype)
    if len(labels) == 3:
        svc = view.service(labels[2], labels[1])
        if svc is None or not _is_headless(svc):
            return Answer(NXDOMAIN)
        slices = view.slices(labels[2], labels[1])
        name = _fqdn(*labels, "svc", _norm(zone))
        found = [e for e in ready_endpoints(svc, slices) if endpoint_label(e) == labels[0]]
        if not found:
            return Answer(NXDOMAIN)
        if qtype not in ("A", "ANY"):
            return Answer()
        return Answer(records=[Record(name, "A", str(a)) for e in found for a in e.get("addresses") or []])
    return Answer(NXDOMAIN)


def _service_name(svc: Obj, view: ClusterView, zone: str, qtype: str) -> Answer:
    meta, spec = svc["metadata"], svc.get("spec") or {}
    name = _fqdn(meta["name"], meta["namespace"], "svc", _norm(zone))
    if spec.get("type") == "ExternalName":
        return Answer(records=[Record(name, "CNAME", str(spec.get("externalName", "")).rstrip(".") + ".")])
    if qtype == "SRV":
        return _srv(svc, view, zone, "", "", qtype)
    if qtype not in ("A", "ANY"):
        return Answer()
    if not _is_headless(svc):
        return Answer(records=[Record(name, "A", str(spec.get("clusterIP")))])
    addresses = [str(a) for e in ready_endpoints(svc, view.slices(meta["namespace"], meta["name"]))
                 for a in e.get("addresses") or []]
    return Answer(records=[Record(name, "A", a) for a in sorted(set(addresses))])


def _srv(svc: Obj, view: ClusterView, zone: str, port_name: str, proto: str, qtype: str) -> Answer:
    """SRV for named ports: the Service name as target (ClusterIP) or each endpoint (headless)."""
    meta, spec = svc["metadata"], svc.get("spec") or {}
    base = (meta["name"], meta["namespace"], "svc", _norm(zone))
    ports = [p for p in spec.get("ports") or [] if p.get("name")
             and (not port_name or p["name"] == port_name) and (not proto or (p.get("protocol") or "TCP").lower() == proto)]
    if not ports:
        return Answer(NXDOMAIN) if port_name else Answer()
    if qtype not in ("SRV", "ANY"):
        return Answer()
    out = Answer()
    for port in ports:
        owner = _fqdn(f"_{port['name']}", f"_{(port.get('protocol') or 'TCP').lower()}", *base) if port_name \
            else _fqdn(*base)
        if not _is_headless(svc):
            out.records.append(Record(owner, "SRV", f"0 100 {port['port']} {_fqdn(*base)}"))
            out.additional.append(Record(_fqdn(*base), "A", str(spec.get("clusterIP"))))
            continue
        for eps in view.slices(meta["namespace"], meta["name"]):
            slice_port = next((p for p in eps.get("ports") or [] if p.get("name") == port["name"]), None)
            if slice_port is None:
                continue
            for endpoint in ready_endpoints(svc, [eps]):
                target = _fqdn(endpoint_label(endpoint), *base)
                out.records.append(Record(owner, "SRV", f"0 100 {slice_port.get('port')} {target}"))
                out.additional.extend(Record(target, "A", str(a)) for a in endpoint.get("addresses") or [])
    return out


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and 0 <= int(p) <= 255 for p in parts)
