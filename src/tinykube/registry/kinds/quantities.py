"""Resource quantities as the kinds need them: comparable amounts and upstream's canonical text.

Upstream stores a quantity as its canonical String() (`0.5` becomes `500m`, `1024Mi` becomes
`1Gi`) after SetDefaults_ResourceList rounded it up to milli precision.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any

from tinykube.machinery.quantity import QUANTITY_ERROR, Quantity, parse_quantity

PARSE_ERROR = QUANTITY_ERROR


def _quantity(value: Any) -> Quantity | None:
    """A JSON number or string as a quantity (upstream accepts both), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return parse_quantity(value if isinstance(value, str) else repr(value))
    except ValueError:
        return None


def parse(value: Any) -> Fraction | None:
    """The amount, or None when the value is not a quantity."""
    quantity = _quantity(value)
    return None if quantity is None else quantity.value


def canonical(value: Any) -> str:
    """Upstream's String() of the quantity; the value's own text when it does not parse."""
    quantity = _quantity(value)
    return str(value) if quantity is None else str(quantity)


def round_resource_list(resources: dict[str, Any]) -> None:
    """SetDefaults_ResourceList: each quantity rounded up to milli precision, in canonical form."""
    for name, value in list(resources.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        rounded = _rounded(value)
        if rounded is not None:
            resources[name] = rounded


@lru_cache(maxsize=4096, typed=True)
def _rounded(value: int | float | str) -> str | None:
    """Every write of every pod defaults the same few quantities ("100m", "128Mi"): remembered."""
    quantity = _quantity(value)
    return None if quantity is None else str(quantity.round_up_milli())
