"""Pod addresses inside a node's podCIDR (pure): the gateway takes the first host address,
pods the ones after it (offset 1 = the first after the gateway, `node.pod_ip`), as the
bridge CNI plugin's host-local IPAM hands them out."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Container


def gateway(cidr: str) -> str:
    """The bridge's address in `cidr`, with the prefix length ("10.244.0.1/24")."""
    network = ipaddress.ip_network(cidr, strict=False)
    return f"{network.network_address + 1}/{network.prefixlen}"


@functools.lru_cache(maxsize=4096)  # a thousand simulated nodes allocate from their ranges all the time
def capacity(cidr: str) -> int:
    """How many pods fit: every address but the network, the gateway and the broadcast."""
    return max(0, ipaddress.ip_network(cidr, strict=False).num_addresses - 3)


def free_offset(taken: Container[int], cidr: str) -> int | None:
    """The lowest offset not taken, None when the range is full."""
    for offset in range(1, capacity(cidr) + 1):
        if offset not in taken:
            return offset
    return None

