"""ClusterIP and NodePort allocation for Services, as the API server's service REST storage does it.

The allocated values are the stored Services themselves: each allocation reads the Services in
the store, so what is taken survives restarts with no separate bitmap to repair. A lock held
from the read until the create (or update) is written keeps two concurrent writes in this
server from taking the same value. The arithmetic is pure (`pick_ip`, `check_ip`, ...) and
table-tested; `ServiceAllocator` is the thin part that reads the store.

Upstream splits each range into a static band (low addresses, preferred for requested values)
and a dynamic band that random allocation tries first; we do the same so requested IPs such as
kube-dns's 10.96.0.10 rarely collide with dynamic ones.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import orjson

from tinykube.machinery import errors
from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds.common import as_dict, as_list, dicts, int_or
from tinykube.registry.kinds.service import externally_accessible

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"
IP_TAKEN = "provided IP is already allocated"
PORT_TAKEN = "provided port is already allocated"

Obj = dict[str, Any]


# ----------------------------------------------------------------------------- pure arithmetic


def parse_cidr(text: str) -> ipaddress.IPv4Network:
    """--service-cluster-ip-range: an IPv4 CIDR with room for at least one service address."""
    net = ipaddress.ip_network(text.strip(), strict=False)
    if not isinstance(net, ipaddress.IPv4Network):
        raise ValueError("only IPv4 service ranges are supported")
    if net.num_addresses < 4:
        raise ValueError(f"{text} is too small: it needs room for at least two service addresses")
    return net


def parse_port_range(text: str) -> tuple[int, int]:
    """--service-node-port-range: `low-high` (or one port), inclusive, as net.ParsePortRange."""
    low_text, _, high_text = text.strip().partition("-")
    low = int(low_text)
    high = int(high_text) if high_text else low
    if not (0 < low <= high <= 65535):
        raise ValueError(f"invalid port range {text!r}")
    return low, high


def static_band(size: int) -> int:
    """Upstream's calculateRangeOffset: min(max(16, size/16), 256) values, 0 for tiny ranges."""
    if size < 16:
        return 0
    return min(max(16, size // 16), 256)


def service_ips(net: ipaddress.IPv4Network) -> tuple[int, int]:
    """First and last allocatable address as integers: network and broadcast are never given out."""
    return int(net.network_address) + 1, int(net.broadcast_address) - 1


def first_ip(net: ipaddress.IPv4Network) -> str:
    """The `kubernetes` Service's address: the first allocatable one (10.96.0.1)."""
    return str(ipaddress.IPv4Address(service_ips(net)[0]))


def pick(low: int, high: int, used: set[int], rng: random.Random) -> int | None:
    """A free value in [low, high]: random in the dynamic band first, then the static band."""
    offset = static_band(high - low + 1)
    for start, end in ((low + offset, high), (low, low + offset - 1)):
        if end < start:
            continue
        size = end - start + 1
        base = rng.randrange(size)
        for i in range(size):  # a linear probe from a random start finds a hole in one pass
            value = start + (base + i) % size
            if value not in used:
                return value
    return None


def pick_ip(net: ipaddress.IPv4Network, used: Iterable[str], rng: random.Random) -> str | None:
    low, high = service_ips(net)
    taken = {int(ipaddress.IPv4Address(ip)) for ip in used if _is_ipv4(ip)}
    value = pick(low, high, taken, rng)
    return None if value is None else str(ipaddress.IPv4Address(value))


def check_ip(net: ipaddress.IPv4Network, ip: str, used: Iterable[str]) -> str | None:
    """Why a requested clusterIP cannot be had, in the allocator's words, or None."""
    if not _is_ipv4(ip):
        return None  # validation reports malformed addresses
    address = ipaddress.IPv4Address(ip)
    low, high = service_ips(net)
    if not low <= int(address) <= high:
        return f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {net}"
    if ip in set(used):
        return IP_TAKEN
    return None


def check_port(port_range: tuple[int, int], port: int, used: Iterable[int]) -> str | None:
    low, high = port_range
    if not low <= port <= high:
        return f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
    if port in set(used):
        return PORT_TAKEN
    return None


def _is_ipv4(text: Any) -> bool:
    try:
        ipaddress.IPv4Address(str(text))
    except ValueError:
        return False
    return True


def needs_cluster_ip(spec: Obj) -> bool:
    return spec.get("type", "ClusterIP") != "ExternalName"


def needs_node_ports(spec: Obj) -> bool:
    return spec.get("type") == "NodePort" or (spec.get("type") == "LoadBalancer"
                                              and spec.get("allocateLoadBalancerNodePorts") is not False)


def allocated_ips(services: Iterable[Obj]) -> set[str]:
    return {str(ip) for svc in services for ip in as_list(as_dict(svc.get("spec")).get("clusterIPs"))
            if _is_ipv4(ip)}


def allocated_ports(services: Iterable[Obj]) -> set[int]:
    return {int_or(p.get("nodePort")) for svc in services for _, p in dicts(as_dict(svc.get("spec")).get("ports"))
            if int_or(p.get("nodePort")) > 0}


def keep_allocated(spec: Obj, old_spec: Obj) -> None:
    """patchAllocatedValues: an update that omits the clusterIP or a port's nodePort (kubectl
    apply, replace) keeps the values already allocated; one that moves to ClusterIP drops the
    nodePorts it did not change."""
    if needs_cluster_ip(spec) and needs_cluster_ip(old_spec) and not spec.get("clusterIP"):
        if old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(as_list(old_spec.get("clusterIPs"))) or [old_spec["clusterIP"]]
    old_ports = {(p.get("protocol") or "TCP", int_or(p.get("port"))): int_or(p.get("nodePort"))
                 for _, p in dicts(old_spec.get("ports"))}
    for _, port in dicts(spec.get("ports")):
        old_node_port = old_ports.get((port.get("protocol") or "TCP", int_or(port.get("port"))), 0)
        if needs_node_ports(spec):
            if not int_or(port.get("nodePort")) and old_node_port:
                port["nodePort"] = old_node_port
        elif int_or(port.get("nodePort")) == old_node_port:
            port.pop("nodePort", None)
    if not needs_cluster_ip(spec) and needs_cluster_ip(old_spec) and spec.get("clusterIP") == old_spec.get("clusterIP"):
        for name in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            spec.pop(name, None)
    if not externally_accessible(spec) and externally_accessible(old_spec):
        for name in ("externalTrafficPolicy", "healthCheckNodePort"):
            if spec.get(name) == old_spec.get(name):
                spec.pop(name, None)


# ----------------------------------------------------------------------------- the allocator


@dataclass
class ServiceAllocator:
    """Allocates for one create or update of a Service while holding the allocation lock."""

    list_services: Callable[[], Any]  # async () -> list of stored Service objects
    network: ipaddress.IPv4Network = field(default_factory=lambda: parse_cidr(DEFAULT_SERVICE_CIDR))
    node_ports: tuple[int, int] = (30000, 32767)
    rng: random.Random = field(default_factory=random.Random)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def allocate(self, svc: Obj, old: Obj | None) -> Callable[[], None]:
        """Fill in the Service's clusterIP(s) and nodePorts (or raise Invalid); the caller writes the
        object and then calls the returned release, which lets the next allocation read it."""
        await self._lock.acquire()
        try:
            others = [s for s in await self.list_services() if not _same(s, svc)]
            spec = svc.setdefault("spec", {})
            if old is not None:
                keep_allocated(spec, as_dict(old.get("spec")))
            causes = FieldErrors()
            self._cluster_ip(svc, spec, others, old, causes)
            self._node_ports(spec, others, old, causes)
            if causes.causes:
                raise errors.invalid("", "Service", (svc.get("metadata") or {}).get("name", ""), causes.causes)
        except BaseException:
            self._lock.release()
            raise
        return self._lock.release

    def _cluster_ip(self, svc: Obj, spec: Obj, others: list[Obj], old: Obj | None, causes: FieldErrors) -> None:
        if not needs_cluster_ip(spec):
            return
        requested = spec.get("clusterIP") or ""
        if requested == "None":
            return
        old_ip = as_dict((old or {}).get("spec")).get("clusterIP") or ""
        if old_ip and requested != "":
            return  # already ours, or a change that validation refuses ("may not change once set")
        used = allocated_ips(others)
        if requested:
            problem = check_ip(self.network, requested, used)
            if problem:
                causes.add("FieldValueInvalid", "spec.clusterIPs",
                           _invalid_text(as_list(spec.get("clusterIPs")) or [requested],
                                         f"failed to allocate IP {requested}: {problem}"))
            return
        ip = pick_ip(self.network, used, self.rng)
        if ip is None:
            raise errors.StatusError(500, "InternalError", "Internal error occurred: failed to allocate a "
                                     "serviceIP: range is full")
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]

    def _node_ports(self, spec: Obj, others: list[Obj], old: Obj | None, causes: FieldErrors) -> None:
        if not needs_node_ports(spec):
            return
        used = allocated_ports(others)
        mine = allocated_ports([old]) if old is not None else set()
        given: dict[int, int] = {}  # one node port per port number, shared by its protocols
        for i, port in dicts(spec.get("ports")):
            wanted = int_or(port.get("nodePort"))
            if wanted:
                if wanted in mine or wanted in given.values():
                    continue
                problem = check_port(self.node_ports, wanted, used)
                if problem:
                    causes.add("FieldValueInvalid", f"spec.ports[{i}].nodePort", _invalid_text(wanted, problem))
                else:
                    used.add(wanted)
                continue
            number = int_or(port.get("port"))
            if number in given:
                port["nodePort"] = given[number]
                continue
            low, high = self.node_ports
            value = pick(low, high, used | mine, self.rng)
            if value is None:
                raise errors.StatusError(500, "InternalError", "Internal error occurred: failed to allocate a "
                                         "nodePort: range is full")
            used.add(value)
            given[number] = value
            port["nodePort"] = value


def _same(a: Obj, b: Obj) -> bool:
    ma, mb = as_dict(a.get("metadata")), as_dict(b.get("metadata"))
    return (ma.get("namespace"), ma.get("name")) == (mb.get("namespace"), mb.get("name"))


def _invalid_text(value: Any, detail: str) -> str:
    from tinykube.machinery.gorepr import go_repr
    return f"Invalid value: {go_repr(value)}: {detail}"


def store_lister(store: Any, prefix: str = "/registry/services/") -> Callable[[], Any]:
    """Reads every stored Service (the allocations) at the latest revision."""
    async def list_services() -> list[Obj]:
        result = await store.list(prefix)
        return [orjson.loads(kv.value) for kv in result.kvs]
    return list_services

