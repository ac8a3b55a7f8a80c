"""SetDefaults_ResourceList as the kinds apply it (registry/kinds/quantities.py)."""

from __future__ import annotations

import pytest

from tinykube.registry.kinds.quantities import round_resource_list


@pytest.mark.parametrize("given, expected", [
    ({"cpu": "0.5", "memory": "1024Mi"}, {"cpu": "500m", "memory": "1Gi"}),
    ({"cpu": "0.0001"}, {"cpu": "1m"}),  # rounded up to milli precision
    ({"cpu": 1, "memory": 1.5}, {"cpu": "1", "memory": "1500m"}),  # numbers too; 1 and 1.5 remembered apart
    ({"cpu": True, "memory": "lots"}, {"cpu": True, "memory": "lots"}),  # not quantities: left for validation
])
def test_quantities_are_rounded_and_canonical(given, expected):
    for _ in range(2):  # the second pass answers from memory
        resources = dict(given)
        round_resource_list(resources)
        assert resources == expected
