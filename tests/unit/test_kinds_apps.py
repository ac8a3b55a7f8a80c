"""apps/v1 defaults and validation against what a real cluster stores and answers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.registry import kinds

# `kubectl create deployment msa-web --image=nginx:1.17 --port=80 --replicas=2`
DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "msa-web", "namespace": "default", "labels": {"app": "msa-web"},
                 "uid": "6f1c0a4e-5d7e-4a52-9f39-3c2a6b1f0d11"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "msa-web"}}, "strategy": {},
             "template": {"metadata": {"labels": {"app": "msa-web"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx:1.17",
                                                   "ports": [{"containerPort": 80}], "resources": {}}]}}},
}

DEFAULTED_POD_SPEC = {
    "containers": [{"name": "nginx", "image": "nginx:1.17", "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {},
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
    "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
    "securityContext": {}, "terminationGracePeriodSeconds": 30,
}


def defaulted(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    kinds.apply_defaults(group, kind, out)
    return out


def causes(group: str, kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in kinds.validate(group, kind, obj, old)]


def with_changes(obj: dict[str, Any], *changes: tuple[str, Any]) -> dict[str, Any]:
    """A copy with dotted paths set (a trailing `!` deletes); list items by index."""
    out = copy.deepcopy(obj)
    for dotted, value in changes:
        *parents, last = dotted.split(".")
        cur: Any = out
        for part in parents:
            cur = cur[int(part)] if isinstance(cur, list) else cur.setdefault(part, {})
        if last.endswith("!"):
            cur.pop(last[:-1], None)
        elif isinstance(cur, list):
            cur[int(last)] = value
        else:
            cur[last] = value
    return out


def test_deployment_defaults_match_a_real_cluster() -> None:
    spec = defaulted("apps", "Deployment", DEPLOYMENT)["spec"]
    assert spec == {
        "replicas": 2, "selector": {"matchLabels": {"app": "msa-web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        "template": {"metadata": {"labels": {"app": "msa-web"}}, "spec": DEFAULTED_POD_SPEC},
    }


@pytest.mark.parametrize("group, kind, body", [
    ("apps", "Deployment", DEPLOYMENT),
    ("apps", "ReplicaSet", {**DEPLOYMENT, "kind": "ReplicaSet"}),
    ("apps", "StatefulSet", {**DEPLOYMENT, "kind": "StatefulSet"}),
    ("apps", "DaemonSet", {**DEPLOYMENT, "kind": "DaemonSet"}),
])
def test_defaults_are_idempotent_and_valid(group: str, kind: str, body: dict[str, Any]) -> None:
    once = defaulted(group, kind, body)
    assert defaulted(group, kind, once) == once
    assert causes(group, kind, once) == []


@pytest.mark.parametrize("kind, replicas, expected_spec", [
    ("ReplicaSet", None, {"replicas": 1}),
    ("StatefulSet", None, {
        "replicas": 1, "podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}}),
    ("DaemonSet", None, {
        "revisionHistoryLimit": 10,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}),
    ("Deployment", 0, {
        "replicas": 0, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}}),
])
def test_controller_defaults(kind: str, replicas: int | None, expected_spec: dict[str, Any]) -> None:
    body = with_changes(DEPLOYMENT, ("kind", kind), ("spec.strategy!", None), ("spec.replicas!", None))
    if replicas is not None:
        body["spec"]["replicas"] = replicas
    spec = defaulted("apps", kind, body)["spec"]
    for name, value in expected_spec.items():
        assert spec[name] == value, name
    assert spec["template"]["spec"] == DEFAULTED_POD_SPEC


def test_daemonset_create_gets_template_generation_annotation() -> None:
    ds = defaulted("apps", "DaemonSet", {**DEPLOYMENT, "kind": "DaemonSet"})
    assert ds["metadata"]["annotations"] == {"deprecated.daemonset.template.generation": "1"}


def test_statefulset_claim_templates_are_defaulted() -> None:
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    sts = defaulted("apps", "StatefulSet", with_changes(DEPLOYMENT, ("spec.volumeClaimTemplates", [claim])))
    assert sts["spec"]["volumeClaimTemplates"][0] == {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                 "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"},
    }


VALID = defaulted("apps", "Deployment", DEPLOYMENT)
SEL = 'v1.LabelSelector{MatchLabels:map[string]string{"app":"msa-web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}'


@pytest.mark.parametrize("changes, expected", [
    ((("spec.template.metadata.labels", {"app": "y"}),),
     [("spec.template.metadata.labels",
       'Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`')]),
    ((("spec.template.spec.containers.0.image!", None),),
     [("spec.template.spec.containers[0].image", "Required value")]),
    ((("spec.strategy.rollingUpdate", {"maxUnavailable": 0, "maxSurge": 0}),),
     [("spec.strategy.rollingUpdate.maxUnavailable",
       'Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0')]),
    ((("spec.strategy.rollingUpdate", {"maxUnavailable": "150%", "maxSurge": "x"}),),
     [("spec.strategy.rollingUpdate.maxSurge",
       'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"x"}: a valid percent string must be a '
       "numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
      ("spec.strategy.rollingUpdate.maxUnavailable",
       'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%')]),
    ((("spec.strategy", {"type": "Recreate", "rollingUpdate": {}}),),
     [("spec.strategy.rollingUpdate", "Forbidden: may not be specified when strategy `type` is 'Recreate'")]),
    ((("spec.strategy", {"type": "Blue"}),),
     [("spec.strategy", 'Unsupported value: apps.DeploymentStrategy{Type:"Blue", '
                        'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", '
                        '"RollingUpdate"')]),
    ((("spec.replicas", -1),), [("spec.replicas", "Invalid value: -1: must be greater than or equal to 0")]),
    ((("spec.template.spec.restartPolicy", "Never"),),
     [("spec.template.spec.restartPolicy", 'Unsupported value: "Never": supported values: "Always"')]),
    ((("spec.template.spec.activeDeadlineSeconds", 5),),
     [("spec.template.spec.activeDeadlineSeconds", "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported")]),
    ((("spec.selector!", None),),
     [("spec.selector", "Required value"),
      ("spec.template.metadata.labels",
       'Invalid value: map[string]string{"app":"msa-web"}: `selector` does not match template `labels`')]),
    ((("spec.selector", {}),),
     [("spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment")]),
    ((("spec.minReadySeconds", 600),),
     [("spec.progressDeadlineSeconds", "Invalid value: 600: must be greater than minReadySeconds")]),
])
def test_deployment_validation(changes: tuple[tuple[str, Any], ...], expected: list[tuple[str, str]]) -> None:
    assert causes("apps", "Deployment", with_changes(VALID, *changes)) == expected


def test_deployment_selector_is_immutable() -> None:
    new = with_changes(VALID, ("spec.selector.matchLabels", {"app": "other"}),
                       ("spec.template.metadata.labels", {"app": "other"}))
    assert causes("apps", "Deployment", new, VALID) == [
        ("spec.selector", 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"other"}, '
                          'MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable')]
    assert causes("apps", "Deployment", with_changes(VALID, ("spec.replicas", 5)), VALID) == []


def test_replicaset_selector_is_immutable_too() -> None:
    rs = defaulted("apps", "ReplicaSet", {**DEPLOYMENT, "kind": "ReplicaSet"})
    new = with_changes(rs, ("spec.selector.matchLabels", {"app": "msa-web", "tier": "x"}),
                       ("spec.template.metadata.labels", {"app": "msa-web", "tier": "x"}))
    assert [f for f, _ in causes("apps", "ReplicaSet", new, rs)] == ["spec.selector"]


STS = defaulted("apps", "StatefulSet", with_changes(DEPLOYMENT, ("kind", "StatefulSet"), ("spec.strategy!", None),
                                                    ("spec.serviceName", "web")))


@pytest.mark.parametrize("changes, expected", [
    ((("spec.replicas", 5), ("spec.template.spec.containers.0.image", "nginx:1.19"), ("spec.minReadySeconds", 3)), []),
    ((("spec.serviceName", "other"),),
     [("spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
               "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]),
    ((("spec.podManagementPolicy", "Parallel"),),
     [("spec", "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
               "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")]),
])
def test_statefulset_updates(changes: tuple[tuple[str, Any], ...], expected: list[tuple[str, str]]) -> None:
    assert causes("apps", "StatefulSet", with_changes(STS, *changes), STS) == expected


@pytest.mark.parametrize("changes, expected", [
    ((("spec.podManagementPolicy", "Random"),),
     [("spec.podManagementPolicy", "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'")]),
    ((("spec.updateStrategy", {"type": "OnDelete", "rollingUpdate": {"partition": 1}}),),
     [("spec.updateStrategy.rollingUpdate",
       "Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, "
       "MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'")]),
    ((("spec.updateStrategy.rollingUpdate.partition", -1),),
     [("spec.updateStrategy.rollingUpdate.partition", "Invalid value: -1: must be greater than or equal to 0")]),
    ((("spec.persistentVolumeClaimRetentionPolicy.whenScaled", "Keep"),),
     [("spec.persistentVolumeClaimRetentionPolicy.whenScaled",
       'Unsupported value: "Keep": supported values: "Retain", "Delete"')]),
    # like upstream, a StatefulSet's pod spec is not validated (its pods are, when created)
    ((("spec.template.spec.containers.0.image!", None),), []),
    ((("spec.selector", {}),),
     [("spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset")]),
])
def test_statefulset_validation(changes: tuple[tuple[str, Any], ...], expected: list[tuple[str, str]]) -> None:
    assert causes("apps", "StatefulSet", with_changes(STS, *changes)) == expected


DS = defaulted("apps", "DaemonSet", {**DEPLOYMENT, "kind": "DaemonSet"})


@pytest.mark.parametrize("changes, expected", [
    ((("spec.updateStrategy.rollingUpdate", {"maxUnavailable": 0, "maxSurge": 0}),),
     [("spec.updateStrategy.rollingUpdate.maxUnavailable", "Required value: cannot be 0 when maxSurge is 0")]),
    ((("spec.updateStrategy.rollingUpdate", {"maxUnavailable": 1, "maxSurge": "10%"}),),
     [("spec.updateStrategy.rollingUpdate.maxSurge",
       'Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"10%"}: may not be set when maxUnavailable is non-zero')]),
    ((("spec.selector!", None),),
     [("spec.template.metadata.labels",
       'Invalid value: map[string]string{"app":"msa-web"}: `selector` does not match template `labels`')]),
    ((("spec.template.spec.activeDeadlineSeconds", 5),),
     [("spec.template.spec.activeDeadlineSeconds", "Forbidden: activeDeadlineSeconds in DaemonSet is not Supported")]),
])
def test_daemonset_validation(changes: tuple[tuple[str, Any], ...], expected: list[tuple[str, str]]) -> None:
    assert causes("apps", "DaemonSet", with_changes(DS, *changes)) == expected


@pytest.mark.parametrize("kind, status, expected", [
    ("Deployment", {"replicas": 2, "readyReplicas": 3, "availableReplicas": 1},
     [("status.readyReplicas", "Invalid value: 3: cannot be greater than status.replicas")]),
    ("Deployment", {"replicas": -1}, [("status.replicas", "Invalid value: -1: must be greater than or equal to 0")]),
    ("StatefulSet", {"replicas": 2, "readyReplicas": 1, "availableReplicas": 2},
     [("status.availableReplicas", "Invalid value: 2: cannot be greater than status.readyReplicas")]),
    ("ReplicaSet", {"replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}, []),
])
def test_status_writes(kind: str, status: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    old = defaulted("apps", kind, {**DEPLOYMENT, "kind": kind})
    new = {**old, "status": status}
    assert [(c.field, c.message) for c in kinds.validate_status("apps", kind, new, old)] == expected
