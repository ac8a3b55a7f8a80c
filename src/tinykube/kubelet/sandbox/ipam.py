"""Pod addresses inside a node's podCIDR (pure): the gateway takes the first host address,
pods the ones after it, as the bridge CNI plugin's host-local IPAM hands them out."""

from __future__ import annotations

import ipaddress


def gateway(cidr: str) -> str:
    """The bridge's address in `cidr`, with the prefix length ("10.244.0.1/24")."""
    network = ipaddress.ip_network(cidr, strict=False)
    return f"{network.network_address + 1}/{network.prefixlen}"


def offset_of(cidr: str, address: str) -> int | None:
    """The offset of a pod address in `cidr`, None when it is not a pod address there."""
    network = ipaddress.ip_network(cidr, strict=False)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip not in network:
        return None
    offset = int(ip) - int(network.network_address) - 1
    return offset if 1 <= offset <= capacity(cidr) else None


def capacity(cidr: str) -> int:
    """How many pods fit: every address but the network, the gateway and the broadcast."""
    return max(0, ipaddress.ip_network(cidr, strict=False).num_addresses - 3)


def free_offset(taken: set[int] | dict[int, object], cidr: str) -> int | None:
    """The lowest offset not taken, None when the range is full."""
    for offset in range(1, capacity(cidr) + 1):
        if offset not in taken:
            return offset
    return None


def overlaps(cidr: str, routed: set[str]) -> bool:
    """Whether `cidr` overlaps a network the host already routes (another tinykube's bridge)."""
    network = ipaddress.ip_network(cidr, strict=False)
    for other in routed:
        try:
            if network.overlaps(ipaddress.ip_network(other, strict=False)):
                return True
        except ValueError:
            continue
    return False
