"""json_copy: a faithful deep copy of JSON values, with a fallback for what orjson cannot write."""

from __future__ import annotations

import pytest

from tinykube.machinery.jsoncopy import json_copy


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, "x", None, True, {"b": {}}]},
    [],
    {"replicas": 2**70},          # beyond 64 bits: deepcopy fallback
    {1: "non-string key"},        # not JSON: deepcopy fallback
    "text",
])
def test_json_copy_is_equal_and_independent(value):
    copied = json_copy(value)
    assert copied == value
    if isinstance(value, (dict, list)):
        assert copied is not value
        if isinstance(value, dict) and "a" in value:
            copied["a"][5]["b"]["new"] = 1
            assert value["a"][5]["b"] == {}
