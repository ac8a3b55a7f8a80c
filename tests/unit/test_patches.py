"""The PATCH algorithms: JSON patch, JSON merge patch and strategic merge patch.

Strategic merge patch cases run against the real Deployment/Pod schemas; their expectations
follow apimachinery's pkg/util/strategicpatch (including its list-ordering rules).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tinykube.machinery.patches import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from tinykube.machinery.schema import SchemaNode

DEPLOYMENT = SchemaNode.for_kind("apps", "v1", "Deployment")
POD = SchemaNode.for_kind("", "v1", "Pod")
assert DEPLOYMENT is not None and POD is not None


def pod_spec(**fields: Any) -> dict:
    """A Deployment (or patch) whose spec.template.spec holds `fields`."""
    return {"spec": {"template": {"spec": fields}}}


def c(name: str, image: str = "img", **fields: Any) -> dict:
    """A container."""
    return {"name": name, "image": image, **fields}


def scribble(value: Any) -> None:
    """Empty every container reachable from `value`, to prove nothing is shared with inputs."""
    if isinstance(value, dict):
        for child in value.values():
            scribble(child)
        value.clear()
    elif isinstance(value, list):
        for child in value:
            scribble(child)
        value.clear()


def directive_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if k.startswith("$")]
        return found + [k for v in value.values() for k in directive_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in directive_keys(v)]
    return []


# --------------------------------------------------------------------------- strategic merge patch

ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}

SMP_CASES = [
    pytest.param(
        pod_spec(containers=[c("nginx", "nginx:1.18", ports=[{"containerPort": 80}])]),
        # exactly what `kubectl set image deployment/web nginx=nginx:1.19` sends
        pod_spec(**{"$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"image": "nginx:1.19", "name": "nginx"}]}),
        pod_spec(containers=[c("nginx", "nginx:1.19", ports=[{"containerPort": 80}])]),
        id="kubectl-set-image",
    ),
    pytest.param(
        pod_spec(containers=[c("app", "app:v1", env=[{"name": "A", "value": "1"}]), c("sidecar", "s:v1")]),
        pod_spec(containers=[{"name": "sidecar", "image": "s:v2"}]),
        pod_spec(containers=[c("app", "app:v1", env=[{"name": "A", "value": "1"}]), c("sidecar", "s:v2")]),
        id="containers-merge-by-name-others-untouched",
    ),
    pytest.param(
        pod_spec(containers=[c("app")]),
        pod_spec(containers=[c("debug", "busybox")]),
        # upstream: elements new to the list go before the live ones the patch does not name
        pod_spec(containers=[c("debug", "busybox"), c("app")]),
        id="raw-patch-adds-container-first-like-upstream",
    ),
    pytest.param(
        pod_spec(containers=[c("app")]),
        pod_spec(**{"$setElementOrder/containers": [{"name": "app"}, {"name": "debug"}],
                    "containers": [c("debug", "busybox")]}),
        pod_spec(containers=[c("app"), c("debug", "busybox")]),
        id="setElementOrder-places-new-container-last",
    ),
    pytest.param(
        pod_spec(containers=[c("a"), c("b"), c("c")]),
        pod_spec(**{"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}),
        pod_spec(containers=[c("c"), c("a"), c("b")]),
        id="setElementOrder-alone-reorders",
    ),
    pytest.param(
        pod_spec(containers=[c("a"), c("b"), c("x"), c("c"), c("d")]),
        pod_spec(**{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}, {"name": "d"}, {"name": "c"}]}),
        # "x" is not named: it stays right after the element it followed
        pod_spec(containers=[c("b"), c("a"), c("x"), c("d"), c("c")]),
        id="setElementOrder-keeps-unnamed-live-element-in-place",
    ),
    pytest.param(
        pod_spec(containers=[c("a"), c("b"), c("injected")]),
        pod_spec(**{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}),
        pod_spec(containers=[c("b"), c("a"), c("injected")]),
        id="setElementOrder-unnamed-trailing-element-stays-last",
    ),
    pytest.param(
        pod_spec(containers=[c("a", "a:1"), c("b", "b:1"), c("c", "c:1")]),
        pod_spec(containers=[c("c", "c:2"), c("a", "a:2")]),
        # named elements take the patch order; "b" keeps its place before "c"
        pod_spec(containers=[c("b", "b:1"), c("c", "c:2"), c("a", "a:2")]),
        id="patch-order-wins-for-named-elements",
    ),
    pytest.param(
        pod_spec(containers=[c("app", ports=[{"containerPort": 80, "name": "http"},
                                             {"containerPort": 9090, "name": "metrics"}])]),
        pod_spec(containers=[{"name": "app", "ports": [{"containerPort": 80, "name": "web"},
                                                       {"containerPort": 443, "name": "https"}]}]),
        pod_spec(containers=[c("app", ports=[{"containerPort": 80, "name": "web"},
                                             {"containerPort": 443, "name": "https"},
                                             {"containerPort": 9090, "name": "metrics"}])]),
        id="ports-merge-by-containerPort",
    ),
    pytest.param(
        pod_spec(containers=[c("app", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
                                           {"name": "C", "value": "3"}])]),
        pod_spec(containers=[{"name": "app", "env": [{"name": "B", "value": "20"},
                                                     {"name": "C", "$patch": "delete"}]}]),
        pod_spec(containers=[c("app", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "20"}])]),
        id="env-merge-by-name-and-delete-element",
    ),
    pytest.param(
        pod_spec(containers=[c("app"), c("sidecar")]),
        pod_spec(containers=[{"name": "sidecar", "$patch": "delete"}]),
        pod_spec(containers=[c("app")]),
        id="patch-delete-removes-list-element",
    ),
    pytest.param(
        pod_spec(containers=[c("app"), c("sidecar")]),
        pod_spec(containers=[c("new", "x"), {"$patch": "replace"}]),
        pod_spec(containers=[c("new", "x")]),
        id="patch-replace-in-list-element-replaces-list",
    ),
    pytest.param(
        pod_spec(containers=[c("app", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                             ports=[{"containerPort": 80}])]),
        # the shape of a client-side `kubectl apply` patch: image changed, env B dropped, D added
        pod_spec(**{"$setElementOrder/containers": [{"name": "app"}],
                    "containers": [{"$setElementOrder/env": [{"name": "A"}, {"name": "D"}],
                                    "env": [{"name": "D", "value": "4"}, {"$patch": "delete", "name": "B"}],
                                    "image": "app:v2", "name": "app"}]}),
        pod_spec(containers=[c("app", "app:v2", env=[{"name": "A", "value": "1"}, {"name": "D", "value": "4"}],
                               ports=[{"containerPort": 80}])]),
        id="kubectl-apply-three-way-shape",
    ),
    pytest.param(
        pod_spec(containers=[c("a"), c("b"), c("c")]),
        # a deletion frees a slot that upstream's ordering gives to the added element
        pod_spec(**{"$setElementOrder/containers": [{"name": "b"}, {"name": "d"}],
                    "containers": [c("d"), {"name": "a", "$patch": "delete"}]}),
        pod_spec(containers=[c("b"), c("c"), c("d")]),
        id="setElementOrder-with-add-and-delete",
    ),
    pytest.param(
        {"spec": {"replicas": 2, "paused": False}},
        {"spec": {"paused": True}},  # kubectl rollout pause
        {"spec": {"replicas": 2, "paused": True}},
        id="kubectl-rollout-pause",
    ),
    pytest.param(
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"a": None, "missing": None, "c": "3"}}},
        {"metadata": {"labels": {"b": "2", "c": "3"}}},
        id="null-deletes-and-unmatched-null-is-ignored",
    ),
    pytest.param(
        {"spec": {"replicas": 1, "strategy": ROLLING}},
        {"spec": {"strategy": None}},
        {"spec": {"replicas": 1}},
        id="null-deletes-a-whole-map",
    ),
    pytest.param(
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"$patch": "replace", "c": "3"}}},
        {"metadata": {"labels": {"c": "3"}}},
        id="patch-replace-on-map",
    ),
    pytest.param(
        {"metadata": {"name": "web", "annotations": {"a": "1"}}},
        {"metadata": {"annotations": {"$patch": "delete"}}},
        {"metadata": {"name": "web", "annotations": {}}},  # upstream empties the map
        id="patch-delete-on-map",
    ),
    pytest.param(
        {"metadata": {"labels": {"a": "1"}}},
        {"metadata": {"labels": {"$patch": "merge", "c": "3"}}},
        {"metadata": {"labels": {"a": "1", "c": "3"}}},
        id="patch-merge-on-map",
    ),
    pytest.param(
        {"spec": {"strategy": ROLLING}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
        id="retainKeys-rollingupdate-to-recreate",
    ),
    pytest.param(
        {"spec": {"strategy": ROLLING}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"spec": {"strategy": {"type": "Recreate"}}},
        id="retainKeys-clears-unlisted-live-keys",
    ),
    pytest.param(
        {"spec": {"strategy": ROLLING}},
        {"spec": {"strategy": {"type": "Recreate"}}},
        {"spec": {"strategy": {"type": "Recreate", "rollingUpdate": ROLLING["rollingUpdate"]}}},
        id="without-retainKeys-live-keys-stay",
    ),
    pytest.param(
        pod_spec(volumes=[{"name": "cfg", "configMap": {"name": "c1"}}, {"name": "data", "emptyDir": {}}]),
        pod_spec(volumes=[{"$retainKeys": ["name", "secret"], "name": "cfg", "secret": {"secretName": "s1"}}]),
        pod_spec(volumes=[{"name": "cfg", "secret": {"secretName": "s1"}}, {"name": "data", "emptyDir": {}}]),
        id="volumes-merge-with-retainKeys",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        id="finalizers-union-without-duplicates",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a", "b", "c", "b"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
        id="deleteFromPrimitiveList",
    ),
    pytest.param(
        {"metadata": {"name": "web"}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        {"metadata": {"name": "web"}},
        id="deleteFromPrimitiveList-on-absent-field",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"$setElementOrder/finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"],
                      "finalizers": ["c"]}},
        {"metadata": {"finalizers": ["c", "a"]}},
        id="finalizers-kubectl-apply-shape",
    ),
    pytest.param(
        pod_spec(tolerations=[{"key": "a", "operator": "Exists"}]),
        pod_spec(tolerations=[{"key": "b", "operator": "Exists"}]),
        pod_spec(tolerations=[{"key": "b", "operator": "Exists"}]),
        id="atomic-list-is-replaced",
    ),
    pytest.param(
        pod_spec(containers=[c("app", resources={"limits": {"cpu": "1", "memory": "1Gi"}})]),
        pod_spec(containers=[{"name": "app", "resources": {"limits": {"cpu": "2"}}}]),
        pod_spec(containers=[c("app", resources={"limits": {"cpu": "2", "memory": "1Gi"}})]),
        id="nested-map-in-list-element-merges",
    ),
    pytest.param(
        pod_spec(containers=[c("app")]),
        pod_spec(volumes=[{"$retainKeys": ["name", "emptyDir"], "name": "scratch", "emptyDir": {}},
                          {"name": "gone", "$patch": "delete"}],
                 affinity={"nodeAffinity": None}),
        pod_spec(containers=[c("app")], volumes=[{"name": "scratch", "emptyDir": {}}], affinity={}),
        id="new-subtrees-lose-nulls-and-directives",
    ),
    pytest.param(
        pod_spec(containers=[c("app")]),
        pod_spec(containers={"name": "app"}),
        pod_spec(containers={"name": "app"}),
        id="type-mismatch-replaces",
    ),
    pytest.param(
        pod_spec(containers=[c("app")], extraList=[1, 2], extraMap={"a": 1, "b": 2}),
        pod_spec(extraList=[3], extraMap={"a": None, "c": 3}),
        pod_spec(containers=[c("app")], extraList=[3], extraMap={"b": 2, "c": 3}),
        id="unknown-fields-fall-back-to-merge-patch",
    ),
]


@pytest.mark.parametrize("original, patch, expected", SMP_CASES)
def test_strategic_merge_patch_deployment(original: dict, patch: dict, expected: dict) -> None:
    assert apply_strategic_merge_patch(original, patch, DEPLOYMENT) == expected


@pytest.mark.parametrize("original, patch, expected", SMP_CASES)
def test_strategic_merge_patch_never_mutates_or_shares_inputs(original: dict, patch: dict, expected: dict) -> None:
    before = copy.deepcopy((original, patch))
    result = apply_strategic_merge_patch(original, patch, DEPLOYMENT)
    assert (original, patch) == before
    scribble(result)
    assert (original, patch) == before


@pytest.mark.parametrize("original, patch, expected", SMP_CASES)
def test_strategic_merge_patch_leaves_no_directives(original: dict, patch: dict, expected: dict) -> None:
    assert directive_keys(apply_strategic_merge_patch(original, patch, DEPLOYMENT)) == []


POD_CASES = [
    pytest.param(
        {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}]}},
        {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]}},
        {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1",
                                           "controller": True}]}},
        id="ownerReferences-merge-by-uid",
    ),
    pytest.param(
        {"spec": {"containers": [c("app", volumeMounts=[{"name": "v", "mountPath": "/data"}])]}},
        {"spec": {"containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]}},
        {"spec": {"containers": [c("app", volumeMounts=[{"name": "v", "mountPath": "/data", "readOnly": True}])]}},
        id="volumeMounts-merge-by-mountPath",
    ),
    pytest.param(
        {"spec": {"containers": [c("app")]}, "status": {"phase": "Running"}},
        {"spec": {"$setElementOrder/initContainers": [{"name": "init"}], "initContainers": [c("init")]},
         "status": {"phase": "Succeeded"}},
        {"spec": {"containers": [c("app")], "initContainers": [c("init")]}, "status": {"phase": "Succeeded"}},
        id="new-merge-list-with-setElementOrder",
    ),
    pytest.param(
        {"metadata": {"name": "p"}, "spec": {"containers": [c("app")]}},
        {"$patch": "replace", "metadata": {"name": "q"}},
        {"metadata": {"name": "q"}},
        id="top-level-patch-replace",
    ),
]


@pytest.mark.parametrize("original, patch, expected", POD_CASES)
def test_strategic_merge_patch_pod(original: dict, patch: dict, expected: dict) -> None:
    assert apply_strategic_merge_patch(original, patch, POD) == expected


NO_SCHEMA_CASES = [
    pytest.param(
        {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "keep": 1}},
        {"spec": {"containers": [{"name": "b", "image": "x"}]}},
        {"spec": {"containers": [{"name": "b", "image": "x"}], "keep": 1}},
        id="lists-replaced",
    ),
    pytest.param(
        {"a": {"x": 1, "y": 2}, "b": 1},
        {"a": {"y": None, "z": 3}, "b": None},
        {"a": {"x": 1, "z": 3}},
        id="maps-merge-nulls-delete",
    ),
    pytest.param(
        {"a": {"x": 1, "y": 2}},
        {"a": {"$patch": "replace", "z": 3}},
        {"a": {"z": 3}},
        id="map-directives-still-apply",
    ),
    pytest.param(
        {"l": [1, 2]},
        {"$setElementOrder/l": [2, 1]},
        {"l": [1, 2]},
        id="setElementOrder-ignored-and-dropped",
    ),
]


@pytest.mark.parametrize("original, patch, expected", NO_SCHEMA_CASES)
def test_strategic_merge_patch_without_schema(original: dict, patch: dict, expected: dict) -> None:
    assert apply_strategic_merge_patch(original, patch, None) == expected


SMP_ERROR_CASES = [
    pytest.param({}, [], "invalid JSON document", id="patch-is-a-list"),
    pytest.param({}, "spec", "invalid JSON document", id="patch-is-a-string"),
    pytest.param({}, {"metadata": {"labels": {"$patch": "bogus"}}}, "unknown patch type: bogus",
                 id="bad-map-directive"),
    pytest.param(pod_spec(containers=[c("app")]), pod_spec(containers=[{"name": "app", "$patch": "bogus"}]),
                 "unknown patch type: bogus", id="bad-list-element-directive"),
    pytest.param(pod_spec(containers=[c("app")]), pod_spec(containers=[{"name": "app", "$patch": "merge"}]),
                 "merging lists cannot yet be specified in the patch", id="merge-directive-in-list"),
    pytest.param(pod_spec(containers=[c("app")]), pod_spec(containers=[{"image": "x"}]),
                 "does not contain declared merge key: name", id="element-without-merge-key"),
    pytest.param(pod_spec(containers=[c("app")]), pod_spec(containers=[{"$patch": "delete"}]),
                 "does not contain declared merge key: name", id="delete-without-merge-key"),
    pytest.param(pod_spec(containers=[c("app", ports=[{"containerPort": 80}])]),
                 pod_spec(containers=[{"name": "app", "ports": [{"name": "http"}]}]),
                 "does not contain declared merge key: containerPort", id="port-without-containerPort"),
    pytest.param(pod_spec(containers=[c("app")]),
                 pod_spec(**{"$setElementOrder/containers": [{"image": "x"}]}),
                 "does not contain declared merge key: name", id="setElementOrder-entry-without-key"),
    pytest.param(pod_spec(containers=[c("app")]),
                 pod_spec(**{"$setElementOrder/containers": "app"}),
                 "invalid patch format of setElementOrder list", id="setElementOrder-not-a-list"),
    pytest.param(pod_spec(containers=[c("a"), c("b")]),
                 pod_spec(**{"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                             "containers": [c("b", "x"), c("a", "y")]}),
                 "doesn't match", id="setElementOrder-disagrees-with-patch-order"),
    pytest.param({"spec": {"strategy": ROLLING}},
                 {"spec": {"strategy": {"$retainKeys": "type", "type": "Recreate"}}},
                 "invalid patch format of retainKeys", id="retainKeys-not-a-list"),
    pytest.param({"spec": {"strategy": ROLLING}},
                 {"spec": {"strategy": {"$retainKeys": ["type"], "type": "RollingUpdate",
                                        "rollingUpdate": {"maxSurge": 1}}}},
                 "invalid patch format of retainKeys", id="patch-sets-key-missing-from-retainKeys"),
    pytest.param({"metadata": {"finalizers": ["a"]}}, {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
                 "invalid patch format of primitive list", id="deleteFromPrimitiveList-not-a-list"),
    pytest.param({"metadata": {"finalizers": ["a"]}}, {"metadata": {"$deleteFromPrimitiveList": ["a"]}},
                 "invalid patch format of primitive list", id="deleteFromPrimitiveList-without-field"),
    pytest.param({"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": [1]}},
                 "list element types are not identical", id="mixed-scalar-types"),
    pytest.param(pod_spec(containers=[c("app")]), pod_spec(containers=["nginx"]),
                 "list element types are not identical", id="scalar-in-list-of-maps"),
    pytest.param({"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": [["b"]]}},
                 "lists of lists are not supported", id="list-of-lists"),
]


@pytest.mark.parametrize("original, patch, message", SMP_ERROR_CASES)
def test_strategic_merge_patch_errors(original: dict, patch: Any, message: str) -> None:
    before = copy.deepcopy(original)
    with pytest.raises(PatchError) as info:
        apply_strategic_merge_patch(original, patch, DEPLOYMENT)
    assert message in info.value.message
    assert original == before


def test_real_schema_has_the_patch_metadata_these_tests_rely_on() -> None:
    spec = DEPLOYMENT.field("spec")
    pod = spec.field("template").field("spec")
    container = pod.field("containers").items()
    assert (pod.field("containers").patch_strategy, pod.field("containers").patch_merge_key) == ("merge", "name")
    assert container.field("ports").patch_merge_key == "containerPort"
    assert container.field("env").patch_merge_key == "name"
    assert pod.field("volumes").patch_strategy == "merge,retainKeys"
    assert spec.field("strategy").patch_strategy == "retainKeys"
    assert pod.field("tolerations").patch_strategy == ""
    assert DEPLOYMENT.field("metadata").field("finalizers").patch_strategy == "merge"


# --------------------------------------------------------------------------- JSON merge patch

MERGE_PATCH_CASES = [
    # RFC 7386 appendix A (the cases with object targets and patches)
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="rfc-replace-value"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="rfc-add-key"),
    pytest.param({"a": "b"}, {"a": None}, {}, id="rfc-null-deletes"),
    pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="rfc-null-deletes-one"),
    pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="rfc-scalar-replaces-list"),
    pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="rfc-list-replaces-scalar"),
    pytest.param({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}, id="rfc-nested"),
    pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="rfc-lists-replaced-not-merged"),
    pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="rfc-existing-null-kept"),
    pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="rfc-null-in-new-subtree-dropped"),
    pytest.param({"a": 1}, {"l": [{"x": None}]}, {"a": 1, "l": [{"x": None}]}, id="lists-taken-verbatim"),
    pytest.param(
        {"metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}}},
        {"metadata": {"labels": {"tier": None, "env": "prod"}}},  # kubectl label env=prod tier-
        {"metadata": {"name": "web", "labels": {"app": "web", "env": "prod"}}},
        id="kubectl-label",
    ),
]


@pytest.mark.parametrize("original, patch, expected", MERGE_PATCH_CASES)
def test_merge_patch(original: dict, patch: dict, expected: dict) -> None:
    assert apply_merge_patch(original, patch) == expected


@pytest.mark.parametrize("original, patch, expected", MERGE_PATCH_CASES)
def test_merge_patch_never_mutates_or_shares_inputs(original: dict, patch: dict, expected: dict) -> None:
    before = copy.deepcopy((original, patch))
    result = apply_merge_patch(original, patch)
    assert (original, patch) == before
    scribble(result)
    assert (original, patch) == before


@pytest.mark.parametrize("patch", [[], "x", None, 3], ids=["list", "string", "null", "number"])
def test_merge_patch_must_be_an_object(patch: Any) -> None:
    with pytest.raises(PatchError, match="must be a JSON object"):
        apply_merge_patch({"a": 1}, patch)


# --------------------------------------------------------------------------- JSON patch

DOC = {"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"replicas": 1, "args": ["a", "b"]}}

JSON_PATCH_CASES = [
    pytest.param([{"op": "replace", "path": "/spec/replicas", "value": 3}],
                 {"metadata": DOC["metadata"], "spec": {"replicas": 3, "args": ["a", "b"]}}, id="replace"),
    pytest.param([{"op": "add", "path": "/metadata/labels/tier", "value": "fe"}],
                 {"metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}}, "spec": DOC["spec"]}, id="add"),
    pytest.param([{"op": "add", "path": "/spec/args/-", "value": "c"}],
                 {"metadata": DOC["metadata"], "spec": {"replicas": 1, "args": ["a", "b", "c"]}}, id="append"),
    pytest.param([{"op": "remove", "path": "/spec/args/0"}],
                 {"metadata": DOC["metadata"], "spec": {"replicas": 1, "args": ["b"]}}, id="remove-index"),
    pytest.param([{"op": "move", "from": "/metadata/labels/app", "path": "/metadata/labels/name"}],
                 {"metadata": {"name": "web", "labels": {"name": "web"}}, "spec": DOC["spec"]}, id="move"),
    pytest.param([{"op": "copy", "from": "/metadata/name", "path": "/metadata/labels/copy"}],
                 {"metadata": {"name": "web", "labels": {"app": "web", "copy": "web"}}, "spec": DOC["spec"]},
                 id="copy"),
    pytest.param([{"op": "test", "path": "/spec/replicas", "value": 1},
                  {"op": "replace", "path": "/spec/replicas", "value": 2}],
                 {"metadata": DOC["metadata"], "spec": {"replicas": 2, "args": ["a", "b"]}}, id="test-then-replace"),
    pytest.param([], DOC, id="empty-patch"),
]


@pytest.mark.parametrize("patch, expected", JSON_PATCH_CASES)
def test_json_patch(patch: list, expected: dict) -> None:
    assert apply_json_patch(DOC, patch) == expected


@pytest.mark.parametrize("patch, expected", JSON_PATCH_CASES)
def test_json_patch_never_mutates_or_shares_inputs(patch: list, expected: dict) -> None:
    doc = copy.deepcopy(DOC)
    patch = copy.deepcopy(patch) + [{"op": "add", "path": "/extra", "value": {"nested": [1]}}]
    before = copy.deepcopy((doc, patch))
    result = apply_json_patch(doc, patch)
    assert (doc, patch) == before
    scribble(result)
    assert (doc, patch) == before


JSON_PATCH_ERROR_CASES = [
    pytest.param([{"op": "test", "path": "/spec/replicas", "value": 5}],
                 "testing value /spec/replicas failed: test failed", id="failing-test"),
    pytest.param([{"op": "test", "path": "/spec/nope", "value": 5}],
                 "testing value /spec/nope failed", id="test-on-missing-path"),
    pytest.param([{"op": "replace", "path": "/spec/replicas", "value": 2}, {"op": "remove", "path": "/spec/nope"}],
                 'remove operation does not apply: doc is missing path: "/spec/nope"', id="remove-missing"),
    pytest.param([{"op": "replace", "path": "/status/phase", "value": "x"}],
                 'replace operation does not apply: doc is missing path: "/status/phase"', id="replace-missing-parent"),
    pytest.param([{"op": "add", "path": "/spec/args/9", "value": "x"}],
                 "add operation does not apply", id="add-past-end-of-list"),
    pytest.param([{"op": "replace", "path": "spec", "value": 1}], "replace operation does not apply",
                 id="path-without-slash"),
    pytest.param([{"op": "bogus", "path": "/spec"}], "invalid JSON patch", id="unknown-op"),
    pytest.param([{"path": "/spec"}], "invalid JSON patch", id="op-missing"),
    pytest.param([{"op": "add", "path": "/spec/x"}], "invalid JSON patch", id="value-missing"),
    pytest.param(["add"], "invalid JSON patch: operation 0 is not a JSON object", id="op-not-an-object"),
    pytest.param({"op": "add", "path": "/a", "value": 1}, "must be a JSON array", id="patch-not-a-list"),
    pytest.param([{"op": "replace", "path": "", "value": [1]}], "the result is not a JSON object",
                 id="root-replaced-by-list"),
]


@pytest.mark.parametrize("patch, message", JSON_PATCH_ERROR_CASES)
def test_json_patch_errors(patch: Any, message: str) -> None:
    doc = copy.deepcopy(DOC)
    with pytest.raises(PatchError) as info:
        apply_json_patch(doc, patch)
    assert message in info.value.message
    assert doc == DOC  # a failing patch leaves the input alone
