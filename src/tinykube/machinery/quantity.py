"""Kubernetes resource quantities ("100m", "1Gi", "1e3"): parsing, comparing, canonical text.

Upstream stores quantities in a canonical form (`0.5` → `500m`, `1024Mi` → `1Gi`) so the
same amount always reads the same; `str(Quantity)` gives that form.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

_PATTERN = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -3, "u": -2, "m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_BINARY_SUFFIX = {v: k for k, v in _BINARY.items()}


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    format: str  # "BinarySI", "DecimalSI" or "DecimalExponent"

    def milli(self) -> int:
        """The amount in thousandths, rounded up (CPU millicores)."""
        scaled = self.value * 1000
        return -((-scaled.numerator) // scaled.denominator)

    def round_up_milli(self) -> Quantity:
        return Quantity(Fraction(self.milli(), 1000), self.format)

    def __str__(self) -> str:
        return canonical(self.value, self.format)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value


def parse_quantity(text: str) -> Quantity:
    return _parse(text.strip() if isinstance(text, str) else str(text))


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Quantity:
    """Remembered: every pod write parses the same few requests and limits ("100m", "64Mi")
    again, and a Quantity is immutable."""
    m = _PATTERN.match(text)
    if not m or m.group(1) in (".", "+", "-", "+.", "-."):
        raise ValueError(QUANTITY_ERROR)
    number, suffix = m.group(1), m.group(2)
    try:
        amount = Fraction(number)
    except ValueError:
        raise ValueError(QUANTITY_ERROR) from None
    if suffix in _BINARY:
        return Quantity(amount * 1024 ** _BINARY[suffix], "BinarySI")
    if suffix in _DECIMAL:
        return Quantity(amount * Fraction(1000) ** _DECIMAL[suffix], "DecimalSI")
    exp = re.fullmatch(r"[eE]([-+]?[0-9]+)", suffix)
    if exp:
        return Quantity(amount * Fraction(10) ** int(exp.group(1)), "DecimalExponent")
    raise ValueError(QUANTITY_ERROR)


def _decimal_si(value: Fraction) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value == 0:
        return "0"
    # the largest 1000^k step that keeps the mantissa whole (down to nano)
    for power in range(6, -4, -1):
        mantissa = value / Fraction(1000) ** power
        if mantissa.denominator == 1:
            return f"{sign}{mantissa.numerator}{_DECIMAL_SUFFIX[power]}"
    nano = -((-value * 10 ** 9).numerator // (value * 10 ** 9).denominator)
    return f"{sign}{nano}n"


def _binary_si(value: Fraction) -> str:
    if value.denominator != 1 or abs(value) < 1024:
        return _decimal_si(value)
    sign = "-" if value < 0 else ""
    whole = abs(value.numerator)
    for power in range(6, 0, -1):
        if whole % 1024 ** power == 0:
            return f"{sign}{whole // 1024 ** power}{_BINARY_SUFFIX[power]}"
    return f"{sign}{whole}"


def canonical(value: Fraction, fmt: str) -> str:
    if fmt == "BinarySI":
        return _binary_si(value)
    if fmt == "DecimalExponent":
        if value.denominator == 1 and value != 0:
            whole = value.numerator
            exponent = 0
            while whole % 1000 == 0:
                whole //= 1000
                exponent += 3
            return f"{whole}e{exponent}" if exponent else str(whole)
        return _decimal_si(value)
    return _decimal_si(value)


def quantity_milli(text: str) -> int:
    return parse_quantity(text).milli()
