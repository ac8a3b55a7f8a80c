"""Tables for the ClusterIP/NodePort arithmetic and the allocator over a fake store."""

from __future__ import annotations

import asyncio
import ipaddress
import random

import pytest

from tinykube.machinery.errors import StatusError
from tinykube.registry.serviceips import (
    ServiceAllocator, check_ip, check_port, first_ip, keep_allocated, parse_cidr, parse_port_range, pick,
    pick_ip, static_band,
)

NET = parse_cidr("10.96.0.0/12")


@pytest.mark.parametrize("size, band", [(8, 0), (16, 16), (254, 16), (4094, 255), (1 << 20, 256)])
def test_static_band(size: int, band: int) -> None:
    assert static_band(size) == band


@pytest.mark.parametrize("text, ok", [("10.96.0.0/12", True), ("10.0.0.5/24", True), ("10.0.0.0/31", False),
                                      ("fd00::/108", False), ("nonsense", False), ("10.0.0.0/33", False)])
def test_parse_cidr(text: str, ok: bool) -> None:
    if ok:
        assert isinstance(parse_cidr(text), ipaddress.IPv4Network)
    else:
        with pytest.raises(ValueError):
            parse_cidr(text)


@pytest.mark.parametrize("text, expected", [("30000-32767", (30000, 32767)), ("8080", (8080, 8080)),
                                            ("32000-31000", None), ("0-10", None), ("a-b", None),
                                            ("1-65536", None)])
def test_parse_port_range(text: str, expected: tuple[int, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            parse_port_range(text)
    else:
        assert parse_port_range(text) == expected


def test_first_ip() -> None:
    assert first_ip(NET) == "10.96.0.1"
    assert first_ip(parse_cidr("192.168.4.0/24")) == "192.168.4.1"


@pytest.mark.parametrize("ip, used, problem", [
    ("10.96.0.10", set(), None),
    ("10.96.0.10", {"10.96.0.10"}, "provided IP is already allocated"),
    ("10.96.0.0", set(), "the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
    ("10.111.255.255", set(), "the provided IP (10.111.255.255) is not in the valid range. "
                              "The range of valid IPs is 10.96.0.0/12"),
    ("10.111.255.254", set(), None),
    ("192.168.0.1", set(), "the provided IP (192.168.0.1) is not in the valid range. "
                           "The range of valid IPs is 10.96.0.0/12"),
    ("bogus", set(), None),  # validation words malformed addresses
])
def test_check_ip(ip: str, used: set[str], problem: str | None) -> None:
    assert check_ip(NET, ip, used) == problem


@pytest.mark.parametrize("port, used, problem", [
    (30000, set(), None), (32767, set(), None), (30080, {30080}, "provided port is already allocated"),
    (80, set(), "provided port is not in the valid range. The range of valid ports is 30000-32767"),
    (32768, set(), "provided port is not in the valid range. The range of valid ports is 30000-32767"),
])
def test_check_port(port: int, used: set[int], problem: str | None) -> None:
    assert check_port((30000, 32767), port, used) == problem


def test_pick_prefers_the_dynamic_band_then_fills_everything() -> None:
    rng = random.Random(7)
    low, high = 1, 64  # band of 16: 1..16 static, 17..64 dynamic
    used: set[int] = set()
    order = []
    while (value := pick(low, high, used, rng)) is not None:
        used.add(value)
        order.append(value)
    assert sorted(order) == list(range(1, 65))
    assert all(v > 16 for v in order[:48]) and all(v <= 16 for v in order[48:])


def test_pick_ip_skips_network_and_broadcast() -> None:
    net = parse_cidr("10.0.0.0/29")
    rng = random.Random(1)
    used: list[str] = []
    while (ip := pick_ip(net, used, rng)) is not None:
        used.append(ip)
    assert sorted(used) == [f"10.0.0.{i}" for i in range(1, 7)]


@pytest.mark.parametrize("new, old, expected", [
    ({"type": "ClusterIP", "ports": [{"port": 80}]}, {"type": "ClusterIP", "clusterIP": "10.96.0.5",
                                                     "clusterIPs": ["10.96.0.5"], "ports": [{"port": 80}]},
     {"type": "ClusterIP", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"], "ports": [{"port": 80}]}),
    ({"type": "NodePort", "clusterIP": "10.96.0.5", "ports": [{"port": 80, "protocol": "TCP"}]},
     {"type": "NodePort", "clusterIP": "10.96.0.5", "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30001}]},
     {"type": "NodePort", "clusterIP": "10.96.0.5", "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30001}]}),
    ({"type": "ClusterIP", "clusterIP": "10.96.0.5", "externalTrafficPolicy": "Cluster",
      "ports": [{"port": 80, "nodePort": 30001}]},
     {"type": "NodePort", "clusterIP": "10.96.0.5", "externalTrafficPolicy": "Cluster",
      "ports": [{"port": 80, "nodePort": 30001}]},
     {"type": "ClusterIP", "clusterIP": "10.96.0.5", "ports": [{"port": 80}]}),
    ({"type": "ExternalName", "externalName": "x.org", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
      "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"},
     {"type": "ClusterIP", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]},
     {"type": "ExternalName", "externalName": "x.org"}),
])
def test_keep_allocated(new: dict, old: dict, expected: dict) -> None:
    keep_allocated(new, old)
    assert new == expected


def svc(name: str, **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"type": "ClusterIP", **spec}}


def test_allocator_serialises_concurrent_creates() -> None:
    stored: list[dict] = []

    async def list_services() -> list[dict]:
        await asyncio.sleep(0)
        return list(stored)

    async def create(allocator: ServiceAllocator, obj: dict) -> None:
        release = await allocator.allocate(obj, None)
        try:
            await asyncio.sleep(0.001)  # the write
            stored.append(obj)
        finally:
            release()

    async def main() -> None:
        allocator = ServiceAllocator(list_services, parse_cidr("10.0.0.0/28"), rng=random.Random(3))
        await asyncio.gather(*(create(allocator, svc(f"s{i}", ports=[{"port": 80}])) for i in range(14)))
        with pytest.raises(StatusError) as full:
            await allocator.allocate(svc("extra"), None)
        assert "range is full" in full.value.message
        with pytest.raises(StatusError) as taken:
            await allocator.allocate(svc("again", clusterIP="10.0.0.3", clusterIPs=["10.0.0.3"]), None)
        assert taken.value.code == 422

    asyncio.run(main())
    assert sorted(s["spec"]["clusterIP"] for s in stored) == sorted(f"10.0.0.{i}" for i in range(1, 15))


def test_allocator_node_ports_one_per_port_number() -> None:
    async def main() -> dict:
        async def none() -> list[dict]:
            return []
        allocator = ServiceAllocator(none, node_ports=(30000, 30010), rng=random.Random(5))
        obj = svc("np", type="NodePort", ports=[{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"},
                                                 {"port": 80, "protocol": "TCP", "nodePort": 30005}])
        (await allocator.allocate(obj, None))()
        return obj

    obj = asyncio.run(main())
    ports = obj["spec"]["ports"]
    assert ports[0]["nodePort"] == ports[1]["nodePort"] != 30005
    assert ports[2]["nodePort"] == 30005
