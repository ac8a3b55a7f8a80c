"""Tables for discovery.k8s.io: EndpointSlices."""

from __future__ import annotations

from datetime import datetime

from tinykube.registry.printers._common import (
    Cells, ColumnSpec, Obj, age, age_col, as_dict, as_list, name_col, name_of,
)

ENDPOINT_SLICE_COLUMNS = (
    name_col(),
    ColumnSpec("AddressType", doc="discovery.v1.EndpointSlice.addressType"),
    ColumnSpec("Ports", doc="discovery.v1.EndpointSlice.ports"),
    ColumnSpec("Endpoints", doc="discovery.v1.EndpointSlice.endpoints"),
    age_col(),
)
_MAX = 3


def list_with_more(items: list[str], count: int) -> str:
    """Up to three items, then " + N more..."; "<unset>" when there are none."""
    text = ",".join(items[:_MAX])
    if count > _MAX:
        return f"{text} + {count - _MAX} more..."
    return text or "<unset>"


def slice_ports(ports: list[object]) -> str:
    shown = []
    for port in ports:
        port = as_dict(port)
        if port.get("port") is not None:
            shown.append(str(port["port"]))
        elif port.get("name") is not None:
            shown.append(str(port["name"]))
        else:
            shown.append("*")
    return list_with_more(shown, len(shown))


def slice_endpoints(endpoints: list[object]) -> str:
    addresses = [str(a) for e in endpoints for a in as_list(as_dict(e).get("addresses"))]
    return list_with_more(addresses, len(addresses))


def endpoint_slice_cells(eps: Obj, now: datetime) -> Cells:
    return [name_of(eps), str(eps.get("addressType") or ""), slice_ports(as_list(eps.get("ports"))),
            slice_endpoints(as_list(eps.get("endpoints"))), age(eps, now)]


PRINTERS = {("discovery.k8s.io", "endpointslices"): (ENDPOINT_SLICE_COLUMNS, endpoint_slice_cells)}
