"""A container's resource limits as cgroup values (pure): memory in bytes, CPU as a CFS quota.

Upstream's kubelet sets memory.max to limits.memory and cpu.max to limits.cpu in millicores
times the 100 ms period over 1000 (with a 1 ms floor); a container without limits gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinykube.machinery.quantity import parse_quantity

CFS_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000


@dataclass(frozen=True)
class Limits:
    memory_bytes: int | None = None
    cpu_quota_us: int | None = None  # per CFS_PERIOD_US

    @property
    def empty(self) -> bool:
        return self.memory_bytes is None and self.cpu_quota_us is None


def memory_bytes(quantity: str) -> int:
    """limits.memory in bytes, rounded up to a whole byte ("1.5Ki" → 1536, "100m" → 1)."""
    value = parse_quantity(quantity).value
    return -((-value.numerator) // value.denominator)


def cpu_quota_us(quantity: str, period_us: int = CFS_PERIOD_US) -> int:
    """limits.cpu as microseconds of CPU per period ("250m" → 25000 of 100000)."""
    milli = parse_quantity(quantity).milli()
    return max(MIN_QUOTA_US, milli * period_us // 1000)


def container_limits(spec: dict[str, Any]) -> Limits:
    limits = (spec.get("resources") or {}).get("limits") or {}
    memory = limits.get("memory")
    cpu = limits.get("cpu")
    return Limits(memory_bytes=memory_bytes(str(memory)) if memory is not None else None,
                  cpu_quota_us=cpu_quota_us(str(cpu)) if cpu is not None else None)


def cpu_max(quota_us: int | None, period_us: int = CFS_PERIOD_US) -> str:
    """cgroup v2's cpu.max line."""
    return f"{quota_us if quota_us is not None else 'max'} {period_us}"
