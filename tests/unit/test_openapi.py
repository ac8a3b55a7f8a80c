"""The /openapi/v3 and /openapi/v2 documents: the parts kubectl's explain, strict validation
and client-side apply read (see the module docstring of tinykube.apiserver.openapi)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tinykube.apiserver import openapi
from tinykube.registry.resources import RESOURCE_INDEX, RESOURCES, Resource

SCHEMAS = "#/components/schemas/"
PATCH_TYPES = {"application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json"}
EXPECTED_GROUP_VERSIONS = ["api/v1", "apis/apps/v1", "apis/batch/v1", "apis/autoscaling/v1",
                           "apis/autoscaling/v2", "apis/coordination.k8s.io/v1",
                           "apis/events.k8s.io/v1", "apis/rbac.authorization.k8s.io/v1",
                           "apis/authentication.k8s.io/v1", "apis/authorization.k8s.io/v1", "apis/storage.k8s.io/v1",
                           "apis/discovery.k8s.io/v1"]
ALL_GVS = openapi.served_group_versions()


def doc(group: str, version: str) -> dict[str, Any]:
    document = openapi.openapi_v3_document(group, version)
    assert document is not None, f"no document for {group!r} {version!r}"
    return document


def schemas(group: str, version: str) -> dict[str, Any]:
    return doc(group, version)["components"]["schemas"]


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every dict under node."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    openapi.clear_caches()
    yield
    openapi.clear_caches()


# ----------------------------------------------------------------------------- index

def test_index_lists_every_served_group_version() -> None:
    assert sorted(openapi.openapi_v3_index()["paths"]) == sorted(EXPECTED_GROUP_VERSIONS)


@pytest.mark.parametrize("key", EXPECTED_GROUP_VERSIONS)
def test_index_url_carries_the_documents_hash(key: str) -> None:
    url = openapi.openapi_v3_index()["paths"][key]["serverRelativeURL"]
    match = re.fullmatch(rf"/openapi/v3/{re.escape(key)}\?hash=([0-9A-F]{{128}})", url)
    assert match, url
    group, version = openapi.parse_v3_path(key) or ("?", "?")
    body = openapi.openapi_v3_json(group, version)
    assert body is not None
    assert match.group(1) == hashlib.sha512(body).hexdigest().upper()
    assert orjson.loads(body) == doc(group, version)


def test_index_without_hash() -> None:
    url = openapi.openapi_v3_index(base_url_hash=False)["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url == "/openapi/v3/apis/apps/v1"


@pytest.mark.parametrize(("path", "expected"), [
    ("api/v1", ("", "v1")),
    ("/apis/apps/v1", ("apps", "v1")),
    ("apis/coordination.k8s.io/v1", ("coordination.k8s.io", "v1")),
    ("apis/apps", None),
    ("version", None),
])
def test_parse_v3_path(path: str, expected: tuple[str, str] | None) -> None:
    assert openapi.parse_v3_path(path) == expected


@pytest.mark.parametrize(("group", "version"), [("apps", "v2"), ("nope.io", "v1"), ("", "v2")])
def test_unserved_group_version_has_no_document(group: str, version: str) -> None:
    assert openapi.openapi_v3_document(group, version) is None
    assert openapi.openapi_v3_json(group, version) is None


def test_hash_changes_when_the_document_changes(fresh_caches: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = openapi.openapi_v3_hash("apps", "v1")
    monkeypatch.setattr(openapi, "KUBERNETES_VERSION", "v9.9.9")
    openapi.clear_caches()
    assert doc("apps", "v1")["info"]["version"] == "v9.9.9"
    after = openapi.openapi_v3_hash("apps", "v1")
    assert after != before
    assert openapi.openapi_v3_index()["paths"]["apis/apps/v1"]["serverRelativeURL"].endswith(after or "-")


# ----------------------------------------------------------------------------- operations

@pytest.mark.parametrize(("group", "version", "path", "expected_gvk"), [
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
     gvk("apps", "v1", "Deployment")),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
     gvk("apps", "v1", "Deployment")),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
     gvk("autoscaling", "v1", "Scale")),
    ("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}", gvk("", "v1", "Pod")),
    ("", "v1", "/api/v1/nodes/{name}", gvk("", "v1", "Node")),
    ("", "v1", "/api/v1/namespaces/{name}", gvk("", "v1", "Namespace")),
    ("batch", "v1", "/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}",
     gvk("batch", "v1", "CronJob")),
    ("autoscaling", "v2", "/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/{name}",
     gvk("autoscaling", "v2", "HorizontalPodAutoscaler")),
    ("coordination.k8s.io", "v1", "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
     gvk("coordination.k8s.io", "v1", "Lease")),
])
def test_patch_operation_is_what_kubectl_looks_for(group: str, version: str, path: str,
                                                   expected_gvk: dict[str, str]) -> None:
    op = doc(group, version)["paths"][path]["patch"]
    assert op["x-kubernetes-group-version-kind"] == expected_gvk
    assert op["x-kubernetes-action"] == "patch"
    names = {p["name"] for p in op["parameters"]}
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names
    assert set(op["requestBody"]["content"]) == PATCH_TYPES


@pytest.mark.parametrize("res", [r for r in RESOURCES if "patch" in r.verbs],
                         ids=lambda r: f"{r.group or 'core'}/{r.version}/{r.plural}")
def test_every_patch_operation_of_a_kind_offers_field_validation(res: Resource) -> None:
    """kubectl stops at the first PATCH operation carrying the kind (maps iterate randomly):
    all of them must list fieldValidation and strategic merge patch."""
    wanted = gvk(res.group, res.version, res.kind)
    ops = [path["patch"] for path in doc(res.group, res.version)["paths"].values()
           if "patch" in path and path["patch"].get("x-kubernetes-group-version-kind") == wanted]
    assert ops
    for op in ops:
        assert "fieldValidation" in {p["name"] for p in op["parameters"]}
        assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]


@pytest.mark.parametrize(("group", "version", "path", "method", "action", "expected_gvk", "body"), [
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments", "get", "list",
     gvk("apps", "v1", "Deployment"), None),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments", "post", "post",
     gvk("apps", "v1", "Deployment"), "io.k8s.api.apps.v1.Deployment"),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments", "delete", "deletecollection",
     gvk("apps", "v1", "Deployment"), "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    ("apps", "v1", "/apis/apps/v1/deployments", "get", "list", gvk("apps", "v1", "Deployment"), None),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "get", "get",
     gvk("apps", "v1", "Deployment"), None),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "put", "put",
     gvk("apps", "v1", "Deployment"), "io.k8s.api.apps.v1.Deployment"),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "delete", "delete",
     gvk("apps", "v1", "Deployment"), "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"),
    ("apps", "v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "put", "put",
     gvk("autoscaling", "v1", "Scale"), "io.k8s.api.autoscaling.v1.Scale"),
    ("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "post",
     gvk("policy", "v1", "Eviction"), "io.k8s.api.policy.v1.Eviction"),
    ("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "post",
     gvk("", "v1", "Binding"), "io.k8s.api.core.v1.Binding"),
    ("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "get",
     gvk("", "v1", "Pod"), None),
    ("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}/exec", "get", "connect",
     gvk("", "v1", "PodExecOptions"), None),
    ("", "v1", "/api/v1/namespaces/{namespace}/pods/{name}/exec", "post", "connect",
     gvk("", "v1", "PodExecOptions"), None),
    ("", "v1", "/api/v1/namespaces/{name}/finalize", "put", "put",
     gvk("", "v1", "Namespace"), "io.k8s.api.core.v1.Namespace"),
    ("", "v1", "/api/v1/nodes", "get", "list", gvk("", "v1", "Node"), None),
])
def test_operation_actions_and_kinds(group: str, version: str, path: str, method: str, action: str,
                                     expected_gvk: dict[str, str], body: str | None) -> None:
    op = doc(group, version)["paths"][path][method]
    assert op["x-kubernetes-action"] == action
    assert op["x-kubernetes-group-version-kind"] == expected_gvk
    if body is None:
        assert "requestBody" not in op
    else:
        refs = {c["schema"]["$ref"] for c in op["requestBody"]["content"].values()}
        assert refs == {SCHEMAS + body}


@pytest.mark.parametrize(("path", "param", "method"), [
    ("/api/v1/namespaces/{namespace}/pods/{name}/log", "tailLines", None),
    ("/api/v1/namespaces/{namespace}/pods/{name}/log", "follow", None),
    ("/api/v1/namespaces/{namespace}/pods/{name}/exec", "command", None),
    ("/api/v1/namespaces/{namespace}/pods/{name}/exec", "namespace", None),
    ("/api/v1/namespaces/{namespace}/pods", "labelSelector", "get"),
    ("/api/v1/namespaces/{namespace}/pods", "watch", "get"),
    ("/api/v1/namespaces/{namespace}/pods", "fieldValidation", "post"),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "propagationPolicy", "delete"),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "fieldValidation", "put"),
])
def test_parameters(path: str, param: str, method: str | None) -> None:
    entry = doc("", "v1")["paths"][path]
    params = entry[method]["parameters"] if method else entry["parameters"]
    assert param in {p["name"] for p in params}


def test_unsupported_verbs_have_no_operation() -> None:
    paths = doc("", "v1")["paths"]
    assert "delete" not in paths["/api/v1/namespaces"]  # namespaces lack deletecollection
    assert "/api/v1/namespaces/{namespace}/pods/{name}/scale" not in paths
    assert "/apis/batch/v1/namespaces/{namespace}/jobs/{name}/scale" not in doc("batch", "v1")["paths"]


@pytest.mark.parametrize("res", [r for r in RESOURCES if r.stored], ids=lambda r: f"{r.group or 'core'}/{r.version}/{r.plural}")
def test_explain_finds_the_kind_from_the_resource_path(res: Resource) -> None:
    """kubectl explain reads the GVK off the operations of one of these four paths."""
    prefix = "/" + openapi.gv_path(res.group, res.version)
    candidates = [f"{prefix}/{res.plural}", f"{prefix}/{res.plural}/{{name}}",
                  f"{prefix}/namespaces/{{namespace}}/{res.plural}",
                  f"{prefix}/namespaces/{{namespace}}/{res.plural}/{{name}}"]
    paths = doc(res.group, res.version)["paths"]
    found = [op["x-kubernetes-group-version-kind"] for c in candidates if c in paths
             for method, op in paths[c].items() if method != "parameters"]
    assert found and all(g == gvk(res.group, res.version, res.kind) for g in found)
    kinds = [s for s in schemas(res.group, res.version).values()
             if gvk(res.group, res.version, res.kind) in s.get("x-kubernetes-group-version-kind", [])]
    assert len(kinds) == 1


# ----------------------------------------------------------------------------- schemas

def test_deployment_schema() -> None:
    deployment = schemas("apps", "v1")["io.k8s.api.apps.v1.Deployment"]
    assert deployment["type"] == "object"
    assert deployment["x-kubernetes-group-version-kind"] == [gvk("apps", "v1", "Deployment")]
    assert deployment["properties"]["spec"] == {
        "allOf": [{"$ref": SCHEMAS + "io.k8s.api.apps.v1.DeploymentSpec"}],
        "description": "Specification of the desired behavior of the Deployment."}
    assert deployment["properties"]["apiVersion"]["type"] == "string"
    assert "enum" not in deployment["properties"]["apiVersion"]
    assert "enum" not in deployment["properties"]["kind"]


@pytest.mark.parametrize(("group", "version", "name", "field", "key", "value"), [
    ("apps", "v1", "io.k8s.api.core.v1.PodSpec", "containers", "x-kubernetes-patch-merge-key", "name"),
    ("apps", "v1", "io.k8s.api.core.v1.PodSpec", "containers", "x-kubernetes-patch-strategy", "merge"),
    ("apps", "v1", "io.k8s.api.core.v1.PodSpec", "containers", "x-kubernetes-list-map-keys", ["name"]),
    ("", "v1", "io.k8s.api.core.v1.Container", "ports", "x-kubernetes-patch-merge-key", "containerPort"),
    ("", "v1", "io.k8s.api.core.v1.Container", "ports", "x-kubernetes-list-type", "map"),
    ("apps", "v1", "io.k8s.api.apps.v1.DeploymentSpec", "strategy", "x-kubernetes-patch-strategy",
     "retainKeys"),
    ("", "v1", "io.k8s.api.core.v1.ServiceSpec", "ports", "x-kubernetes-patch-merge-key", "port"),
    ("", "v1", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers",
     "x-kubernetes-patch-strategy", "merge"),
    ("", "v1", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields",
     "x-kubernetes-list-type", "atomic"),
])
def test_patch_and_list_annotations_are_kept(group: str, version: str, name: str, field: str,
                                             key: str, value: Any) -> None:
    assert schemas(group, version)[name]["properties"][field][key] == value


def test_ref_with_annotation_is_wrapped_in_all_of() -> None:
    strategy = schemas("apps", "v1")["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["allOf"] == [{"$ref": SCHEMAS + "io.k8s.api.apps.v1.DeploymentStrategy"}]
    assert "$ref" not in strategy


def test_bare_ref_stays_bare() -> None:
    containers = schemas("apps", "v1")["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"$ref": SCHEMAS + "io.k8s.api.core.v1.Container"}


@pytest.mark.parametrize(("name", "expected"), [
    ("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
     {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]}),
    ("io.k8s.apimachinery.pkg.api.resource.Quantity",
     {"oneOf": [{"type": "string"}, {"type": "number"}]}),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.Time", {"format": "date-time", "type": "string"}),
])
def test_scalar_wrappers_have_upstreams_v3_shape(name: str, expected: dict[str, Any]) -> None:
    schema = dict(schemas("", "v1")[name])
    schema.pop("description", None)
    assert schema == expected


@pytest.mark.parametrize(("group", "version"), ALL_GVS)
@pytest.mark.parametrize("name", [
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
])
def test_meta_types_in_every_document(group: str, version: str, name: str) -> None:
    assert name in schemas(group, version)


@pytest.mark.parametrize(("group", "version", "name"), [
    ("apps", "v1", "io.k8s.api.apps.v1.DeploymentList"),
    ("apps", "v1", "io.k8s.api.autoscaling.v1.Scale"),
    ("", "v1", "io.k8s.api.policy.v1.Eviction"),
    ("", "v1", "io.k8s.api.core.v1.Binding"),
    ("", "v1", "io.k8s.apimachinery.pkg.runtime.RawExtension"),
    ("batch", "v1", "io.k8s.api.core.v1.PodTemplateSpec"),
    ("autoscaling", "v2", "io.k8s.api.autoscaling.v2.MetricSpec"),
    ("events.k8s.io", "v1", "io.k8s.api.events.v1.EventSeries"),
])
def test_reachable_definitions_are_included(group: str, version: str, name: str) -> None:
    assert name in schemas(group, version)


def test_unrelated_definitions_are_left_out() -> None:
    assert "io.k8s.api.apps.v1.Deployment" not in schemas("coordination.k8s.io", "v1")
    assert "io.k8s.api.core.v1.Pod" not in schemas("coordination.k8s.io", "v1")


def _all_documents() -> list[Any]:
    docs = [pytest.param(f"v3 {g or 'core'}/{v}", doc(g, v), SCHEMAS, id=f"v3-{g or 'core'}-{v}")
            for g, v in ALL_GVS]
    return [*docs, pytest.param("v2", openapi.openapi_v2_document(), "#/definitions/", id="v2")]


@pytest.mark.parametrize(("label", "document", "prefix"), _all_documents())
def test_every_ref_resolves_within_the_document(label: str, document: dict[str, Any],
                                                prefix: str) -> None:
    targets = document["components"]["schemas"] if prefix == SCHEMAS else document["definitions"]
    refs = {value for key, value in walk(document) if key == "$ref" and isinstance(value, str)}
    assert refs
    bad = sorted(r for r in refs if not r.startswith(prefix) or r[len(prefix):] not in targets)
    assert bad == [], label


@pytest.mark.parametrize(("label", "document", "prefix"), _all_documents())
def test_no_json_schema_leftovers(label: str, document: dict[str, Any], prefix: str) -> None:
    assert b"#/$defs/" not in orjson.dumps(document), label
    section = document["components"]["schemas"] if prefix == SCHEMAS else document["definitions"]
    for key, value in walk(section):
        if key == "type" and not isinstance(value, dict):  # a property named "type" is a dict
            assert isinstance(value, str) and value != "null", (label, value)


# ----------------------------------------------------------------------------- v2, build

def test_v2_document() -> None:
    v2 = openapi.openapi_v2_document()
    assert v2["swagger"] == "2.0"
    op = v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == gvk("apps", "v1", "Deployment")
    assert set(op["consumes"]) == PATCH_TYPES
    patch_ref = "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
    assert op["parameters"][0] == {"in": "body", "name": "body", "required": True,
                                   "schema": {"$ref": patch_ref}}
    strategy = v2["definitions"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["$ref"] == "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy"
    assert v2["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"
    assert "/api/v1/namespaces/{namespace}/pods/{name}" in v2["paths"]
    assert orjson.loads(openapi.openapi_v2_json()) == v2


def test_documents_are_cached() -> None:
    assert openapi.openapi_v3_document("apps", "v1") is openapi.openapi_v3_document("apps", "v1")
    assert openapi.openapi_v3_index() is openapi.openapi_v3_index()
    assert openapi.openapi_v2_document() is openapi.openapi_v2_document()


def test_full_build_is_fast(fresh_caches: None) -> None:
    openapi.openapi_v3_index()  # warm the definitions loader, which others share
    openapi.clear_caches()
    start = time.perf_counter()
    openapi.build_all()
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"building every document took {elapsed:.3f}s"
    start = time.perf_counter()
    for _ in range(1000):
        openapi.openapi_v3_index()
        openapi.openapi_v3_json("apps", "v1")
    assert time.perf_counter() - start < 0.1


def test_every_resource_in_the_index_has_a_document() -> None:
    for group, version in ALL_GVS:
        assert RESOURCE_INDEX.in_group_version(group, version)
        assert doc(group, version)["openapi"] == "3.0.0"
        assert doc(group, version)["info"] == {"title": "Kubernetes", "version": "v1.33.0"}
