"""The smaller core/v1 kinds and Leases: Namespace, Node, ConfigMap, Secret, RC, PVC, Event, Lease."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.machinery.errors import StatusError
from tinykube.registry import kinds
from tinykube.registry.kinds.configdata import base64_error


def defaulted(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    kinds.apply_defaults(group, kind, out)
    return out


def causes(group: str, kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in kinds.validate(group, kind, obj, old)]


CONFIG_KEY = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
              "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


# ----------------------------------------------------------------------------- Namespace


def test_namespace_create_defaults() -> None:
    ns = defaulted("", "Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert ns == {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def test_namespace_update_keeps_finalizers_as_they_are() -> None:
    ns = {"metadata": {"name": "team-a", "resourceVersion": "7"}, "spec": {}, "status": {"phase": "Terminating"}}
    out = defaulted("", "Namespace", ns)
    assert out["spec"] == {} and out["status"] == {"phase": "Terminating"}


@pytest.mark.parametrize("finalizers, expected", [
    (["kubernetes", "example.com/cleanup"], []),
    (["cleanup"], [("spec.finalizers", 'Invalid value: "cleanup": name is neither a standard finalizer name nor is '
                                       'it fully qualified')]),
])
def test_namespace_finalizers(finalizers: list[str], expected: list[tuple[str, str]]) -> None:
    assert causes("", "Namespace", {"metadata": {"name": "a"}, "spec": {"finalizers": finalizers}}) == expected


# ----------------------------------------------------------------------------- Node


def test_node_allocatable_defaults_to_capacity() -> None:
    node = defaulted("", "Node", {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "4", "memory": "8Gi",
                                                                                         "pods": 110}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}


def test_node_taints_are_unique_by_key_and_effect() -> None:
    taint = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    assert causes("", "Node", {"metadata": {"name": "n1"}, "spec": {"taints": [taint, taint]}}) == [
        ("metadata.taints[1]", 'Duplicate value: core.Taint{Key:"dedicated", Value:"gpu", Effect:"NoSchedule", '
                               'TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair')]


# ----------------------------------------------------------------------------- ConfigMap and Secret


@pytest.mark.parametrize("cfg, expected", [
    ({"data": {"app.properties": "x=1", "KEY_1": "v"}}, []),
    ({"data": {"a b": "x"}}, [("data[a b]", f'Invalid value: "a b": {CONFIG_KEY}')]),
    ({"data": {"..x": "y"}}, [("data[..x]", "Invalid value: \"..x\": must not start with '..'")]),
    ({"data": {"k": "v"}, "binaryData": {"k": "dg=="}},
     [("data[k]", 'Invalid value: "k": duplicate of key present in binaryData')]),
])
def test_configmap_keys(cfg: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("", "ConfigMap", {"metadata": {"name": "c"}, **cfg}) == expected


def test_immutable_configmap() -> None:
    old = {"metadata": {"name": "c"}, "immutable": True, "data": {"k": "v"}}
    assert causes("", "ConfigMap", {**old, "data": {"k": "w"}}, old) == [
        ("data", "Forbidden: field is immutable when `immutable` is set")]


def test_secret_defaults_fold_string_data() -> None:
    secret = defaulted("", "Secret", {"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}})
    assert secret == {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "eA==", "b": "aGVsbG8="}}


@pytest.mark.parametrize("secret, expected", [
    ({"type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}}, [("data[tls.key]", "Required value")]),
    ({"type": "Opaque", "data": {"a/b": "eA=="}},
     [("data[a/b]", f'Invalid value: "a/b": {CONFIG_KEY}')]),
    ({"type": "kubernetes.io/basic-auth", "data": {}},
     [("data[username]", "Required value"), ("data[password]", "Required value")]),
])
def test_secret_validation(secret: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("", "Secret", {"metadata": {"name": "s"}, **secret}) == expected


def test_secret_type_is_immutable() -> None:
    old = {"metadata": {"name": "s"}, "type": "Opaque", "data": {}}
    assert causes("", "Secret", {**old, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}, old) == [
        ("type", 'Invalid value: "kubernetes.io/tls": field is immutable')]


def test_secret_data_must_be_base64() -> None:
    with pytest.raises(StatusError) as caught:
        kinds.validate("", "Secret", {"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "not base64!"}}, None)
    assert caught.value.code == 400
    assert caught.value.message == ('Secret in version "v1" cannot be handled as a Secret: '
                                    "illegal base64 data at input byte 3")


@pytest.mark.parametrize("text, problem", [
    ("aGVsbG8=", None), ("aGVs\nbG8=", None), ("", None), ("YQ==", None),
    ("abc", "illegal base64 data at input byte 0"), ("YQ=", "illegal base64 data at input byte 3"),
    ("Y===", "illegal base64 data at input byte 1"), ("aGVsbG8=x", "illegal base64 data at input byte 8"),
    ("a$bc", "illegal base64 data at input byte 1"),
])
def test_go_base64_errors(text: str, problem: str | None) -> None:
    assert base64_error(text) == problem


# ----------------------------------------------------------------------------- ReplicationController

RC: dict[str, Any] = {
    "apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web"},
    "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
}


def test_replication_controller_defaults_from_template_labels() -> None:
    rc = defaulted("", "ReplicationController", RC)
    assert rc["metadata"]["labels"] == {"app": "web"}
    assert rc["spec"]["selector"] == {"app": "web"}
    assert rc["spec"]["replicas"] == 1
    assert rc["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert causes("", "ReplicationController", rc) == []


def test_replication_controller_selector_must_match() -> None:
    rc = defaulted("", "ReplicationController", RC)
    rc["spec"]["selector"] = {"app": "api"}
    assert causes("", "ReplicationController", rc) == [
        ("spec.template.metadata.labels",
         'Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`')]


# ----------------------------------------------------------------------------- PersistentVolumeClaim


def test_claim_defaults() -> None:
    pvc = defaulted("", "PersistentVolumeClaim", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1024Mi"}}}})
    assert pvc["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                           "volumeMode": "Filesystem"}
    assert pvc["status"] == {"phase": "Pending"}
    assert causes("", "PersistentVolumeClaim", pvc) == []


@pytest.mark.parametrize("spec, expected", [
    ({"resources": {"requests": {"storage": "1Gi"}}},
     [("spec.accessModes", "Required value: at least 1 access mode is required")]),
    ({"accessModes": ["ReadWriteOnce"]}, [("spec.resources[storage]", "Required value")]),
    ({"accessModes": ["ReadWriteSometimes"], "resources": {"requests": {"storage": "1Gi"}}},
     [("spec.accessModes", 'Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
                           '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"')]),
])
def test_claim_validation(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("", "PersistentVolumeClaim", {"metadata": {"name": "d"}, "spec": spec}) == expected


# ----------------------------------------------------------------------------- Event and Lease


@pytest.mark.parametrize("event, expected", [
    ({"metadata": {"name": "e", "namespace": "team-a"}, "involvedObject": {"namespace": "team-a"}}, []),
    ({"metadata": {"name": "e", "namespace": "team-a"}, "involvedObject": {"namespace": "team-b"}},
     [("involvedObject.namespace", 'Invalid value: "team-b": does not match event.namespace')]),
])
def test_core_events(event: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("", "Event", event) == expected


@pytest.mark.parametrize("spec, expected", [
    ({"holderIdentity": "node-1", "leaseDurationSeconds": 40}, []),
    ({"leaseDurationSeconds": 0}, [("spec.leaseDurationSeconds", "Invalid value: 0: must be greater than 0")]),
    ({"leaseTransitions": -1}, [("spec.leaseTransitions", "Invalid value: -1: must be greater than or equal to 0")]),
])
def test_lease_validation(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("coordination.k8s.io", "Lease", {"metadata": {"name": "l"}, "spec": spec}) == expected


def test_unknown_kinds_pass_through() -> None:
    obj = {"metadata": {"name": "x"}}
    kinds.apply_defaults("", "ServiceAccount", obj)
    assert obj == {"metadata": {"name": "x"}}
    assert kinds.validate("", "ServiceAccount", obj, None) == []
    assert kinds.validate_status("", "ServiceAccount", obj, obj) == []


@pytest.mark.parametrize("event, expected", [
    ({"metadata": {"name": "e", "namespace": "team-a"}, "regarding": {"namespace": "team-a"},
      "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "example.com/ctl",
      "reportingInstance": "ctl-1", "action": "Scale", "reason": "Scaled", "type": "Normal"}, []),
    ({"metadata": {"name": "e", "namespace": "team-a"}, "regarding": {"namespace": "team-a"}},
     [("reportingController", "Required value"),
      ("reportingController", 'Invalid value: "": name part must be non-empty'),
      ("reportingInstance", "Required value"), ("action", "Required value"), ("reason", "Required value"),
      ("eventTime", "Required value"), ("type", 'Invalid value: "": has invalid value: ')]),
])
def test_events_api_events(event: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes("events.k8s.io", "Event", event) == expected


def test_fields_of_the_wrong_type_fail_decoding() -> None:
    with pytest.raises(StatusError) as caught:
        kinds.validate("apps", "Deployment", {"apiVersion": "apps/v1", "metadata": {"name": "d"},
                                              "spec": {"selector": "app=web", "template": {}}}, None)
    assert caught.value.code == 400
    assert caught.value.message.startswith('Deployment in version "v1" cannot be handled as a Deployment: ')
