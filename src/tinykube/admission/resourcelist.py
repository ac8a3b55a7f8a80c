"""Arithmetic on resource lists (`{"cpu": "500m", "pods": "2"}`), as upstream's quota helpers.

Values stay quantity strings in and out, so what a quota's status shows reads as upstream's
(`1536Mi`, `1500m`); sums are exact (Fractions), never floats.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Mapping

from tinykube.machinery.quantity import Quantity, canonical, parse_quantity

ResourceList = dict[str, str]


def amount(value: str | int | float) -> Quantity:
    """A quantity from a stored value; unparsable text counts as zero (validation refuses it first)."""
    try:
        return parse_quantity(str(value))
    except ValueError:
        return Quantity(Fraction(0), "DecimalSI")


def _text(value: Fraction, fmt: str) -> str:
    return canonical(value, fmt)


def add(a: Mapping[str, str], b: Mapping[str, str]) -> ResourceList:
    """a + b per resource; a resource in either list is in the sum (format of the first seen)."""
    out: ResourceList = dict(a)
    for name, value in b.items():
        if name in out:
            left, right = amount(out[name]), amount(value)
            out[name] = _text(left.value + right.value, left.format if left.value else right.format)
        else:
            out[name] = str(amount(value))
    return out


def subtract(a: Mapping[str, str], b: Mapping[str, str]) -> ResourceList:
    """a - b per resource; resources only in b come out negative, as upstream's Subtract."""
    out: ResourceList = dict(a)
    for name, value in b.items():
        right = amount(value)
        left = amount(out[name]) if name in out else Quantity(Fraction(0), right.format)
        out[name] = _text(left.value - right.value, left.format if left.value else right.format)
    return out


def mask(resources: Mapping[str, str], names: Iterable[str]) -> ResourceList:
    """Only the named resources."""
    wanted = set(names)
    return {name: value for name, value in resources.items() if name in wanted}


def remove_zeros(resources: Mapping[str, str]) -> ResourceList:
    return {name: value for name, value in resources.items() if amount(value).value != 0}


def less_than_or_equal(a: Mapping[str, str], b: Mapping[str, str]) -> tuple[bool, list[str]]:
    """Whether a <= b for every resource b names; the resources that exceed, sorted."""
    exceeded = sorted(name for name, value in a.items()
                      if name in b and amount(value).value > amount(b[name]).value)
    return not exceeded, exceeded


def maximum(a: Mapping[str, str], b: Mapping[str, str]) -> ResourceList:
    """The larger of a and b per resource (a resource in either list is in the result)."""
    out: ResourceList = dict(a)
    for name, value in b.items():
        if name not in out or amount(value).value > amount(out[name]).value:
            out[name] = str(amount(value))
    return out


def normalized(resources: Mapping[str, str]) -> ResourceList:
    """Each value in canonical form (`1024Mi` → `1Gi`), the way status lists compare."""
    return {name: str(amount(value)) for name, value in resources.items()}


def zeros(names: Iterable[str]) -> ResourceList:
    return {name: "0" for name in names}


def equal(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    return a.keys() == b.keys() and all(amount(a[k]).value == amount(b[k]).value for k in a)


def pretty(resources: Mapping[str, str]) -> str:
    """`limits.cpu=1,pods=2`: sorted name=value pairs as upstream's prettyPrint."""
    return ",".join(f"{name}={amount(resources[name])}" for name in sorted(resources))
