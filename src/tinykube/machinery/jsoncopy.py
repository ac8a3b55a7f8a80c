"""A deep copy of JSON values at C speed.

Objects are plain JSON-compatible dicts end to end, and the registry copies them on every write
(the caller's body, the stored object a mutation starts from). An orjson round trip copies such
a value several times faster than `copy.deepcopy`. Values orjson cannot write (integers beyond
64 bits from a client's body, non-string keys) fall back to `copy.deepcopy`, so the copy is always
faithful.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import orjson

T = TypeVar("T")


def json_copy(value: T) -> T:
    try:
        return orjson.loads(orjson.dumps(value))  # type: ignore[no-any-return]
    except TypeError:
        return copy.deepcopy(value)

