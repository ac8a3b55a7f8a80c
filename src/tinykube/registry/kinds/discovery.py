"""discovery.k8s.io/v1 EndpointSlice: the defaults and the main rules of ValidateEndpointSlice."""

from __future__ import annotations

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import Obj, child, default_zero, dicts, index, supported

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
MAX_ENDPOINTS = 1000
MAX_PORTS = 20000


def default_endpoint_slice(eps: Obj) -> None:
    for _, port in dicts(eps.get("ports")):
        if port.get("port") is not None or port.get("name") is not None:
            default_zero(port, "protocol", "TCP")
        if port.get("name") is None:
            port["name"] = ""


def validate_endpoint_slice(eps: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    address_type = eps.get("addressType")
    if not address_type:
        errs.required("addressType")
    else:
        supported(errs, address_type, "addressType", ADDRESS_TYPES)
        if old is not None and old.get("addressType") != address_type:
            errs.invalid("addressType", address_type, "field is immutable")
    endpoints = list(dicts(eps.get("endpoints")))
    if len(endpoints) > MAX_ENDPOINTS:
        errs.add("FieldValueTooMany", "endpoints", f"Too many: {len(endpoints)}: must have at most {MAX_ENDPOINTS} items")
    for i, endpoint in endpoints:
        at = index("endpoints", i)
        addresses = [str(a) for a in (endpoint.get("addresses") or [])]
        if not addresses:
            errs.required(child(at, "addresses"), "must contain at least 1 address")
        for j, address in enumerate(addresses):
            if address_type in ("IPv4", "IPv6"):
                checks.ip_address(errs, address, index(child(at, "addresses"), j))
        if endpoint.get("hostname"):
            checks.dns1123_label(errs, endpoint["hostname"], child(at, "hostname"))
    names: set[str] = set()
    for i, port in dicts(eps.get("ports")):
        at = index("ports", i)
        name = port.get("name") or ""
        if name:
            checks.dns1123_label(errs, name, child(at, "name"))
        if name in names:
            errs.duplicate(child(at, "name"), name)
        names.add(name)
        if port.get("protocol") is not None:
            supported(errs, port["protocol"], child(at, "protocol"), PROTOCOLS)
        if port.get("port") is not None:
            checks.port_number(errs, int(port["port"]) if isinstance(port["port"], int) else 0, child(at, "port"))
    return errs
