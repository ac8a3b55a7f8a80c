"""Pods and pod specs: defaults, admission defaults, and validation with upstream's causes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.registry import kinds
from tinykube.registry.kinds.images import default_pull_policy

# `kubectl run web --image=nginx`
POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "labels": {"run": "web"},
                 "uid": "0b8d6c38-3f1e-4d55-b0a1-2f1e6c1d9a77"},
    "spec": {"containers": [{"name": "web", "image": "nginx", "resources": {}}],
             "dnsPolicy": "ClusterFirst", "restartPolicy": "Always"},
}

NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
               "tolerationSeconds": 300}


def defaulted(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    kinds.apply_defaults("", "Pod", out)
    return out


def causes(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in kinds.validate("", "Pod", obj, old)]


def with_spec(**changes: Any) -> dict[str, Any]:
    out = defaulted(POD)
    out["spec"].update(changes)
    return out


def with_container(**changes: Any) -> dict[str, Any]:
    out = defaulted(POD)
    out["spec"]["containers"][0].update(changes)
    return out


def test_pod_defaults_match_a_real_cluster() -> None:
    assert defaulted(POD)["spec"] == {
        "containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "Always", "resources": {},
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0, "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {},
        "terminationGracePeriodSeconds": 30, "tolerations": [NOT_READY, UNREACHABLE],
    }


def test_pod_defaults_are_idempotent_and_valid() -> None:
    once = defaulted(POD)
    assert defaulted(once) == once
    assert causes(once) == []


@pytest.mark.parametrize("tolerations, expected", [
    ([], [NOT_READY, UNREACHABLE]),
    ([{"operator": "Exists"}], [{"operator": "Exists"}]),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}],
     [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5},
      NOT_READY]),
    ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}],
     [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}, NOT_READY, UNREACHABLE]),
])
def test_default_tolerations(tolerations: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["tolerations"] = tolerations
    kinds.add_default_tolerations(pod)
    assert pod["spec"]["tolerations"] == expected


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.17", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v2", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"), ("registry.k8s.io/pause:3.9", "IfNotPresent"),
    ("NotValid/Image", "IfNotPresent"), ("", "IfNotPresent"),
])
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy


def test_nested_pod_spec_defaults() -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["containers"][0].update({
        "livenessProbe": {"httpGet": {"port": 80}},
        "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    })
    pod["spec"]["volumes"] = [{"name": "scratch"}, {"name": "config", "configMap": {"name": "cfg"}},
                              {"name": "creds", "secret": {"secretName": "s"}}]
    spec = defaulted(pod)["spec"]
    container = spec["containers"][0]
    assert container["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
                                          "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                                          "failureThreshold": 3}
    assert container["readinessProbe"] == {"grpc": {"port": 9000, "service": ""}, "periodSeconds": 5,
                                           "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}
    assert container["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "spec.nodeName", "apiVersion": "v1"}
    assert container["resources"] == {"limits": {"cpu": "500m", "memory": "128Mi"},
                                      "requests": {"cpu": "500m", "memory": "128Mi"}}
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {}},
                               {"name": "config", "configMap": {"name": "cfg", "defaultMode": 420}},
                               {"name": "creds", "secret": {"secretName": "s", "defaultMode": 420}}]
    assert causes(defaulted(pod)) == []


def test_host_network_ports_default_host_port() -> None:
    pod = copy.deepcopy(POD)
    pod["spec"]["hostNetwork"] = True
    pod["spec"]["containers"][0]["ports"] = [{"containerPort": 8080}]
    assert defaulted(pod)["spec"]["containers"][0]["ports"] == [
        {"containerPort": 8080, "protocol": "TCP", "hostPort": 8080}]


DNS_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
             "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


@pytest.mark.parametrize("pod, expected", [
    (with_spec(containers=[]), [("spec.containers", "Required value")]),
    (with_container(image=""), [("spec.containers[0].image", "Required value")]),
    (with_container(name="Web_1"), [("spec.containers[0].name", f'Invalid value: "Web_1": {DNS_LABEL}')]),
    (with_spec(containers=[defaulted(POD)["spec"]["containers"][0]] * 2),
     [("spec.containers[1].name", 'Duplicate value: "web"')]),
    (with_container(ports=[{"containerPort": 70000, "protocol": "TCP"}]),
     [("spec.containers[0].ports[0].containerPort", "Invalid value: 70000: must be between 1 and 65535, inclusive")]),
    (with_container(ports=[{"containerPort": 80, "protocol": "HTTP"}]),
     [("spec.containers[0].ports[0].protocol", 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"')]),
    (with_container(ports=[{"protocol": "TCP"}]), [("spec.containers[0].ports[0].containerPort", "Required value")]),
    (with_spec(restartPolicy="Sometimes"),
     [("spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"')]),
    (with_container(livenessProbe={"exec": {"command": ["true"]}, "tcpSocket": {"port": 80},
                                   "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                                   "failureThreshold": 3}),
     [("spec.containers[0].livenessProbe.tcpSocket", "Forbidden: may not specify more than 1 handler type")]),
    (with_container(readinessProbe={"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                                    "failureThreshold": 3}),
     [("spec.containers[0].readinessProbe", "Required value: must specify a handler type")]),
    (with_container(livenessProbe={"tcpSocket": {"port": 80}, "timeoutSeconds": 1, "periodSeconds": 10,
                                   "successThreshold": 2, "failureThreshold": 3}),
     [("spec.containers[0].livenessProbe.successThreshold", "Invalid value: 2: must be 1")]),
    (with_container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
     [("spec.containers[0].resources.requests", 'Invalid value: "2": must be less than or equal to cpu limit of 1')]),
    (with_container(resources={"requests": {"gpu": "1"}}),
     [("spec.containers[0].resources.requests[gpu]",
       'Invalid value: "gpu": must be a standard resource type or fully qualified'),
      ("spec.containers[0].resources.requests[gpu]",
       'Invalid value: "gpu": must be a standard resource for containers')]),
    (with_spec(volumes=[{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]),
     [("spec.volumes[1].name", 'Duplicate value: "data"')]),
    (with_spec(volumes=[{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x", "type": ""}}]),
     [("spec.volumes[0].hostPath", "Forbidden: may not specify more than 1 volume type")]),
    (with_container(volumeMounts=[{"name": "cache", "mountPath": "/cache"}]),
     [("spec.containers[0].volumeMounts[0].name", 'Not found: "cache"')]),
    (with_container(env=[{"value": "x"}]), [("spec.containers[0].env[0].name", "Required value")]),
    (with_container(env=[{"name": "A=B"}]),
     [("spec.containers[0].env[0].name", 'Invalid value: "A=B": a valid environment variable name must consist '
                                         "only of printable ASCII characters other than '='")]),
    (with_container(env=[{"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                      "fieldPath": "status.phase"}}}]),
     [("spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
       'Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", '
       '"metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", '
       '"status.podIP", "status.podIPs"')]),
    (with_container(imagePullPolicy="Sometimes"),
     [("spec.containers[0].imagePullPolicy",
       'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"')]),
    (with_spec(tolerations=[{"key": "a", "operator": "Exists", "value": "b"}]),
     [("spec.tolerations[0].operator",
       'Invalid value: core.Toleration{Key:"a", Operator:"Exists", Value:"b", Effect:"", '
       "TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is 'Exists'")]),
    (with_spec(tolerations=[{"operator": "Equal", "value": "b"}]),
     [("spec.tolerations[0].operator", 'Invalid value: "Equal": operator must be Exists when `key` is empty, '
                                       'which means "match all values and all keys"')]),
    (with_spec(activeDeadlineSeconds=0),
     [("spec.activeDeadlineSeconds", "Invalid value: 0: must be between 1 and 2147483647, inclusive")]),
    (with_spec(ephemeralContainers=[{"name": "debug", "image": "busybox", "imagePullPolicy": "Always",
                                     "terminationMessagePolicy": "File"}]),
     [("spec.ephemeralContainers", "Forbidden: cannot be set on create")]),
    (with_container(image=" nginx"),
     [("spec.containers[0].image", 'Invalid value: " nginx": must not have leading or trailing whitespace')]),
])
def test_pod_validation(pod: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes(pod) == expected


OLD = defaulted(POD)


def test_pod_update_may_change_images_only() -> None:
    assert causes(with_container(image="nginx:1.25"), OLD) == []
    changed = with_container(command=["sleep", "1"])
    found = causes(changed, OLD)
    assert [f for f, _ in found] == ["spec"]
    assert found[0][1].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously negative)\n")


@pytest.mark.parametrize("new, expected", [
    (with_spec(containers=defaulted(POD)["spec"]["containers"] + [{**defaulted(POD)["spec"]["containers"][0],
                                                                    "name": "sidecar"}]),
     [("spec.containers", "Forbidden: pod updates may not add or remove containers")]),
    (with_spec(tolerations=[NOT_READY]),
     [("spec.tolerations", "Forbidden: existing toleration can not be modified except its tolerationSeconds")]),
    (with_spec(tolerations=[NOT_READY, UNREACHABLE, {"key": "x", "operator": "Exists"}]), []),
    (with_spec(activeDeadlineSeconds=30), []),
])
def test_pod_update_rules(new: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert causes(new, OLD) == expected


def test_pod_status_may_not_move_the_pod() -> None:
    moved = copy.deepcopy(OLD)
    moved["spec"]["nodeName"] = "node-1"
    assert [(c.field, c.message) for c in kinds.validate_status("", "Pod", moved, OLD)] == [
        ("status.nodeName", "Forbidden: may not be changed directly")]
