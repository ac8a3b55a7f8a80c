"""core/v1 Services: defaults as a single-stack cluster stores them, and validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.registry import kinds

# `kubectl expose deployment msa-web --port=80 --target-port=8080`
SERVICE: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "msa-web", "namespace": "default", "labels": {"app": "msa-web"}},
    "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": "msa-web"}},
}


def service(**spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(SERVICE)
    out["spec"].update(spec)
    return out


def defaulted(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    kinds.apply_defaults("", "Service", out)
    return out


def causes(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in kinds.validate("", "Service", obj, old)]


def test_service_defaults_match_a_real_cluster() -> None:
    assert defaulted(SERVICE)["spec"] == {
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": "msa-web"},
        "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}


@pytest.mark.parametrize("spec, expected", [
    ({"ports": [{"port": 443}]}, {"ports": [{"port": 443, "protocol": "TCP", "targetPort": 443}]}),
    ({"type": "NodePort"}, {"externalTrafficPolicy": "Cluster", "internalTrafficPolicy": "Cluster"}),
    ({"type": "LoadBalancer"}, {"externalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": True}),
    ({"clusterIP": "None"}, {"clusterIPs": ["None"], "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}),
    ({"clusterIP": "None", "selector": None},
     {"clusterIPs": ["None"], "ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]}),
    ({"type": "ExternalName", "externalName": "example.com", "ports": []},
     {"ipFamilyPolicy": None, "ipFamilies": None, "internalTrafficPolicy": None}),
    ({"sessionAffinity": "ClientIP"}, {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}}),
    ({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}}, {"sessionAffinityConfig": None}),
])
def test_service_defaults(spec: dict[str, Any], expected: dict[str, Any]) -> None:
    got = defaulted(service(**spec))
    for name, value in expected.items():
        assert got["spec"].get(name) == value, name
    assert defaulted(got) == got
    assert causes(got) == []


VALID = defaulted(SERVICE)
TYPES = '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'


@pytest.mark.parametrize("spec, expected", [
    ({"ports": []}, [("spec.ports", "Required value")]),
    ({"ports": [{"port": 80}, {"port": 81}]},
     [("spec.ports[0].name", "Required value"), ("spec.ports[1].name", "Required value")]),
    ({"ports": [{"port": 0}]},
     [("spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
      ("spec.ports[0].targetPort", "Invalid value: 0: must be between 1 and 65535, inclusive")]),
    ({"ports": [{"port": 80, "targetPort": "http_web"}]},
     [("spec.ports[0].targetPort",
       'Invalid value: "http_web": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')]),
    ({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]},
     [("spec.ports[1]", 'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
                        'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}')]),
    ({"type": "Balanced"}, [("spec.type", f'Unsupported value: "Balanced": supported values: {TYPES}')]),
    ({"sessionAffinity": "Sticky"},
     [("spec.sessionAffinity", 'Unsupported value: "Sticky": supported values: "ClientIP", "None"')]),
    ({"type": "LoadBalancer", "clusterIP": "None"},
     [("spec.clusterIPs[0]", "Invalid value: \"None\": may not be set to 'None' for LoadBalancer services")]),
    ({"type": "ExternalName", "ports": []}, [("spec.externalName", "Required value")]),
    ({"ports": [{"port": 80, "nodePort": 30080}]},
     [("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'")]),
    ({"clusterIP": "10.96.0.400"},
     [("spec.clusterIPs[0]", 'Invalid value: "10.96.0.400": must be a valid IP address, (e.g. 10.9.8.7 or '
                             '2001:db8::ffff)')]),
    ({"ipFamilyPolicy": "RequireDualStack"},
     [("spec.ipFamilyPolicy", 'Invalid value: "RequireDualStack": this cluster is not configured for '
                              'dual-stack services')]),
    ({"externalTrafficPolicy": "Local"},
     [("spec.externalTrafficPolicy", 'Invalid value: "Local": may only be set for externally-accessible services')]),
])
def test_service_validation(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes(defaulted(service(**spec))) == expected


def test_cluster_ip_may_not_change() -> None:
    old = defaulted(service(clusterIP="10.96.0.10"))
    assert causes(defaulted(service(clusterIP="10.96.0.10", ports=[{"port": 8080}])), old) == []
    assert causes(defaulted(service(clusterIP="10.96.0.11")), old) == [
        ("spec.clusterIPs[0]", 'Invalid value: []string{"10.96.0.11"}: may not change once set')]
