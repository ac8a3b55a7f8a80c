"""Strict decoding: which fields upstream calls unknown or duplicate, and how it says so."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tinykube.machinery.schema import SchemaNode
from tinykube.machinery.unknown_fields import (
    MAX_STRICT_ERRORS,
    find_duplicate_fields,
    find_unknown_fields,
    prune_unknown_fields,
    strict_decoding_errors,
    strict_decoding_message,
)

Obj = dict[str, Any]


def node(group: str, version: str, kind: str) -> SchemaNode:
    found = SchemaNode.for_kind(group, version, kind)
    assert found is not None
    return found


DEPLOYMENT = node("apps", "v1", "Deployment")

BASE_DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web", "namespace": "default",
        "labels": {"app": "web", "anything.example.com/goes": "here"},
        "annotations": {"free": "form"},
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
                           "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:spec": {"f:replicas": {}, "f:whatever": {".": {}}}}}],
    },
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}],
                     "resources": {"limits": {"cpu": "100m", "memory": "1Gi"}},
                     "env": [{"name": "X", "value": "1"}]},
                    {"name": "b", "image": "busybox", "command": ["sleep", "1"]},
                ],
                "nodeSelector": {"disk": "ssd"},
            },
        },
    },
    "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
}


def at(obj: Obj, dotted: str) -> Any:
    """The value at a dotted path with [n] indexes, e.g. spec.template.spec.containers[1]."""
    value: Any = obj
    for part in dotted.split("."):
        name, _, index = part.partition("[")
        value = value[name]
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def setting(path: str, key: str, value: Any) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        (at(obj, path) if path else obj)[key] = value
    return mutate


@pytest.mark.parametrize(("mutate", "expected"), [
    pytest.param(lambda o: None, [], id="valid"),
    pytest.param(setting("", "spce", {}), ["spce"], id="typo-at-top"),
    pytest.param(setting("spec", "foo", 1), ["spec.foo"], id="spec-foo"),
    pytest.param(setting("spec.template.spec.containers[1]", "imagePullPolicyy", "Always"),
                 ["spec.template.spec.containers[1].imagePullPolicyy"], id="nested-in-containers"),
    pytest.param(setting("spec.template.spec.containers[0].ports[0]", "protocl", "TCP"),
                 ["spec.template.spec.containers[0].ports[0].protocl"], id="list-in-list"),
    pytest.param(setting("metadata.labels", "new-label", "x"), [], id="labels-map-is-free"),
    pytest.param(setting("metadata.annotations", "x/y", "z"), [], id="annotations-map-is-free"),
    pytest.param(setting("spec.template.spec.containers[0].resources.limits", "nvidia.com/gpu", "1"),
                 [], id="resource-map-is-free"),
    pytest.param(setting("metadata.managedFields[0].fieldsV1", "f:bogus", {"k:{}": {}}), [],
                 id="managed-fields-are-opaque"),
    pytest.param(setting("metadata.managedFields[0]", "bogus", 1), ["metadata.managedFields[0].bogus"],
                 id="managed-fields-entry-is-typed"),
    pytest.param(setting("spec.strategy.rollingUpdate", "maxSurgee", 1),
                 ["spec.strategy.rollingUpdate.maxSurgee"], id="int-or-string-sibling"),
    pytest.param(setting("spec", "unknownObj", {"inner": {"deeper": 1}}), ["spec.unknownObj"],
                 id="nothing-inside-an-unknown-field"),
    pytest.param(setting("status", "bogus", True), ["status.bogus"], id="status"),
    pytest.param(setting("spec.template.spec", "nodeSelectr", {}), ["spec.template.spec.nodeSelectr"],
                 id="pod-spec"),
    pytest.param(setting("spec.template.spec.containers[0].env[0]", "valu", "1"),
                 ["spec.template.spec.containers[0].env[0].valu"], id="env-entry"),
    pytest.param(setting("spec", "selector", None), [], id="null-value"),
])
def test_find_unknown_fields_in_a_deployment(mutate: Callable[[Obj], None], expected: list[str]) -> None:
    obj = copy.deepcopy(BASE_DEPLOYMENT)
    mutate(obj)
    assert find_unknown_fields(obj, DEPLOYMENT) == expected


@pytest.mark.parametrize(("kind", "obj", "expected"), [
    (("", "v1", "ConfigMap"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                               "data": {"any": "key"}, "dta": {}}, ["dta"]),
    (("", "v1", "ConfigMap"), {"metadata": {"name": "c"}, "binaryData": {"k": "AAAA"}}, []),
    (("", "v1", "Service"), {"spec": {"ports": [{"port": 80, "targetPort": "http", "prot": 1}],
                                      "selector": {"a": "b"}}}, ["spec.ports[0].prot"]),
    (("apps", "v1", "ControllerRevision"), {"revision": 1, "data": {"spec": {"anything": 1}}}, []),
    (("", "v1", "Pod"), {"spec": {"volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1Gi", "x": 1}}]}},
     ["spec.volumes[0].emptyDir.x"]),
    (("coordination.k8s.io", "v1", "Lease"), {"spec": {"holderIdentity": "me", "holder": "me"}},
     ["spec.holder"]),
])
def test_find_unknown_fields_other_kinds(kind: tuple[str, str, str], obj: Obj,
                                         expected: list[str]) -> None:
    assert find_unknown_fields(obj, node(*kind)) == expected


def test_unknown_fields_come_in_document_order() -> None:
    obj = {"zeta": 1, "spec": {"b": 1, "replicas": 1, "a": 2}, "alpha": 3}
    assert find_unknown_fields(obj, DEPLOYMENT) == ["zeta", "spec.b", "spec.a", "alpha"]


def test_sorted_keys_order_for_yaml_bodies() -> None:
    obj = {"zeta": 1, "spec": {"b": 1, "replicas": 1, "a": 2}, "alpha": 3}
    assert find_unknown_fields(obj, DEPLOYMENT, sort_keys=True) == ["alpha", "spec.a", "spec.b", "zeta"]


# Upstream's test/integration/apiserver/field_validation_test.go body and expected error.
UPSTREAM_INVALID_BODY = """
{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {"name": "dupename", "name": "deployment", "labels": {"app": "nginx"},
               "unknownMeta": "metaVal"},
  "spec": {
    "unknown1": "val1",
    "unknownDupe": "valDupe",
    "unknownDupe": "valDupe2",
    "paused": true,
    "paused": false,
    "selector": {"matchLabels": {"app": "nginx"}},
    "template": {
      "metadata": {"labels": {"app": "nginx"}},
      "spec": {"containers": [{"name": "nginx", "image": "nginx:latest", "unknownNested": "val1",
                               "imagePullPolicy": "Always", "imagePullPolicy": "Never"}]}
    }
  }
}"""
UPSTREAM_ERRORS = [
    'duplicate field "metadata.name"',
    'unknown field "metadata.unknownMeta"',
    'unknown field "spec.unknown1"',
    'unknown field "spec.unknownDupe"',
    'duplicate field "spec.paused"',
    'unknown field "spec.template.spec.containers[0].unknownNested"',
    'duplicate field "spec.template.spec.containers[0].imagePullPolicy"',
]


def test_strict_decoding_errors_match_upstream() -> None:
    assert strict_decoding_errors(UPSTREAM_INVALID_BODY, DEPLOYMENT) == UPSTREAM_ERRORS
    assert strict_decoding_errors(UPSTREAM_INVALID_BODY.encode(), DEPLOYMENT) == UPSTREAM_ERRORS


def test_yaml_order_matches_upstream() -> None:
    """Upstream's YAML case lists the unknown fields sorted (YAML becomes JSON with sorted keys)."""
    obj = json.loads(UPSTREAM_INVALID_BODY)
    assert find_unknown_fields(obj, DEPLOYMENT, sort_keys=True) == [
        "metadata.unknownMeta", "spec.template.spec.containers[0].unknownNested",
        "spec.unknown1", "spec.unknownDupe"]


def test_strict_decoding_errors_valid_body() -> None:
    assert strict_decoding_errors(json.dumps(BASE_DEPLOYMENT), DEPLOYMENT) == []


def test_strict_errors_are_capped() -> None:
    body = json.dumps({"spec": {f"f{i}": i for i in range(150)}})
    errors = strict_decoding_errors(body, DEPLOYMENT)
    assert len(errors) == MAX_STRICT_ERRORS
    assert errors[0] == 'unknown field "spec.f0"'


def test_strict_decoding_errors_rejects_non_json() -> None:
    with pytest.raises(ValueError):
        strict_decoding_errors(b"{not json", DEPLOYMENT)


@pytest.mark.parametrize(("raw", "expected"), [
    ('{"a": 1, "b": 2}', []),
    ('{"a": 1, "a": 2}', ["a"]),
    ('{"spec": {"x": {"y": 1, "y": 2}}, "spec": {}}', ["spec.x.y", "spec"]),
    ('{"items": [{"k": 1}, {"k": 1, "k": 2}]}', ["items[1].k"]),
    ('{"m": {"a": 1, "a": 2, "a": 3}}', ["m.a"]),
    ('[{"z": 1, "z": 1}]', ["[0].z"]),
])
def test_find_duplicate_fields(raw: str, expected: list[str]) -> None:
    assert find_duplicate_fields(raw.encode()) == expected


@pytest.mark.parametrize(("unknown", "message"), [
    (["spec.foo"], 'Deployment in version "v1" cannot be handled as a Deployment: '
                   'strict decoding error: unknown field "spec.foo"'),
    (["spec.foo", "spec.bar"], 'Deployment in version "v1" cannot be handled as a Deployment: '
                               'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"'),
    (['odd"key'], 'Deployment in version "v1" cannot be handled as a Deployment: '
                  'strict decoding error: unknown field "odd\\"key"'),
])
def test_strict_decoding_message(unknown: list[str], message: str) -> None:
    assert strict_decoding_message("Deployment", "v1", unknown) == message


def test_strict_decoding_message_with_ready_made_errors() -> None:
    assert strict_decoding_message("Pod", "v1", errors=['duplicate field "spec.x"', 'unknown field "y"']) \
        == 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: ' \
           'duplicate field "spec.x", unknown field "y"'


def test_prune_unknown_fields() -> None:
    obj = copy.deepcopy(BASE_DEPLOYMENT)
    obj["spec"]["foo"] = 1
    obj["spec"]["template"]["spec"]["containers"][1]["bar"] = {"x": 1}
    removed = prune_unknown_fields(obj, DEPLOYMENT)
    assert removed == ["spec.template.spec.containers[1].bar", "spec.foo"]  # document order
    assert obj == BASE_DEPLOYMENT
    assert find_unknown_fields(obj, DEPLOYMENT) == []


def test_api_version_and_kind_are_known_only_at_the_top() -> None:
    spec = SchemaNode.for_definition("io.k8s.api.apps.v1.DeploymentSpec")  # declares neither
    assert find_unknown_fields({"apiVersion": "v1", "kind": "X", "bogus": 1}, spec) == ["bogus"]
    assert find_unknown_fields({"spec": {"apiVersion": "v1", "kind": "X"}}, DEPLOYMENT) == [
        "spec.apiVersion", "spec.kind"]
