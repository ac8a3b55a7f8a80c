"""HorizontalPodAutoscalers in their v2 and v1 shapes: defaults and validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.registry import kinds

# `kubectl autoscale deployment msa-web --max=5` (autoscaling/v2)
HPA: dict[str, Any] = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "msa-web"},
    "spec": {"maxReplicas": 5, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "msa-web"}},
}
CPU_80 = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": 80}}}]


def hpa(api_version: str = "autoscaling/v2", **spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(HPA)
    out["apiVersion"] = api_version
    out["spec"].update(spec)
    return out


def defaulted(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    kinds.apply_defaults("autoscaling", "HorizontalPodAutoscaler", out)
    return out


def causes(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in kinds.validate("autoscaling", "HorizontalPodAutoscaler", obj, None)]


def test_v2_defaults() -> None:
    spec = defaulted(HPA)["spec"]
    assert spec == {**HPA["spec"], "minReplicas": 1, "metrics": CPU_80}
    assert causes(defaulted(HPA)) == []


def test_v1_defaults() -> None:
    assert defaulted(hpa("autoscaling/v1"))["spec"] == {**HPA["spec"], "minReplicas": 1,
                                                        "targetCPUUtilizationPercentage": 80}


def test_behavior_defaults_fill_what_is_unset() -> None:
    got = defaulted(hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))["spec"]["behavior"]
    assert got == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
    }


@pytest.mark.parametrize("obj, expected", [
    (hpa(minReplicas=6), [("spec.maxReplicas", "Invalid value: 5: must be greater than or equal to `minReplicas`")]),
    (hpa(minReplicas=0), [("spec.minReplicas", "Invalid value: 0: must be greater than or equal to 1"),
                          ("spec.metrics", "Forbidden: must specify at least one Object or External metric to "
                                           "support scaling to zero replicas")]),
    (hpa(maxReplicas=0), [("spec.maxReplicas", "Invalid value: 0: must be greater than 0"),
                          ("spec.maxReplicas", "Invalid value: 0: must be greater than or equal to `minReplicas`")]),
    (hpa(scaleTargetRef={"kind": "Deployment"}), [("spec.scaleTargetRef.name", "Required value")]),
    (hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                "averageUtilization": 0}}}]),
     [("spec.metrics[0].resource.target.averageUtilization", "Invalid value: 0: must be greater than 0")]),
    (hpa(metrics=[{"type": "Pods"}]),
     [("spec.metrics[0].pods", "Required value: must populate information for the given metric source")]),
    (hpa("autoscaling/v1", targetCPUUtilizationPercentage=0),
     [("spec.metrics[0].resource.target.averageUtilization", "Invalid value: 0: must be greater than 0")]),
    (hpa(behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 3600}]}}),
     [("spec.behavior.scaleUp.policies[0].value", "Invalid value: 0: must be greater than zero"),
      ("spec.behavior.scaleUp.policies[0].periodSeconds", "Invalid value: 3600: must be less than or equal to 1800")]),
])
def test_hpa_validation(obj: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes(defaulted(obj)) == expected
