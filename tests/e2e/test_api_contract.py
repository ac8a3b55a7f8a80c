"""The HTTP contract that clients other than kubectl rely on: the official Python client,
Status errors for bad input, paging, watch resume and 410 after compaction."""

from __future__ import annotations

import threading

import httpx
import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from helpers import Cluster


def api(cluster: Cluster) -> httpx.Client:
    return cluster.http()


def test_official_python_client_create_list_watch(cluster: Cluster, ns: str) -> None:
    api_client = k8s_config.new_client_from_config(str(cluster.kubeconfig))
    core = k8s_client.CoreV1Api(api_client)
    apps = k8s_client.AppsV1Api(api_client)
    body = k8s_client.V1Deployment(
        metadata=k8s_client.V1ObjectMeta(name="py"),
        spec=k8s_client.V1DeploymentSpec(
            replicas=1,
            selector=k8s_client.V1LabelSelector(match_labels={"app": "py"}),
            template=k8s_client.V1PodTemplateSpec(
                metadata=k8s_client.V1ObjectMeta(labels={"app": "py"}),
                spec=k8s_client.V1PodSpec(containers=[k8s_client.V1Container(name="c", image="nginx")]))))
    created = apps.create_namespaced_deployment(ns, body)
    assert created.spec.strategy.type == "RollingUpdate"
    listed = apps.list_namespaced_deployment(ns)
    assert [d.metadata.name for d in listed.items] == ["py"]
    seen: list[tuple[str, str]] = []

    def watch() -> None:
        w = k8s_watch.Watch()
        for event in w.stream(core.list_namespaced_config_map, ns, resource_version=listed.metadata.resource_version,
                              timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 2:
                w.stop()

    t = threading.Thread(target=watch)
    t.start()
    core.create_namespaced_config_map(ns, k8s_client.V1ConfigMap(metadata=k8s_client.V1ObjectMeta(name="c1")))
    core.delete_namespaced_config_map("c1", ns)
    t.join(10)
    assert seen == [("ADDED", "c1"), ("DELETED", "c1")]


@pytest.mark.parametrize("content_type,body,code,reason", [
    ("application/json", b"{not json", 400, "BadRequest"),
    ("application/yaml", b"a: [unclosed", 400, "BadRequest"),
    ("application/json", b"[1, 2]", 400, "BadRequest"),
    ("application/json", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":' +
     b'{"k":"' + b"v" * (3 * 1024 * 1024) + b'"}}', 413, "RequestEntityTooLarge"),
    ("application/json", b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":' +
     b"[" * 200 + b"]" * 200 + b"}", 400, "BadRequest"),
    ("application/vnd.kubernetes.protobuf", b"\x00", 400, "BadRequest"),
    ("application/vnd.kubernetes.protobuf", b"k8s\x00\x0a\xff", 400, "BadRequest"),
    ("application/cbor", b"\xa0", 415, "UnsupportedMediaType"),
    ("application/json", b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}', 400, "BadRequest"),
    ("application/json", b'{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}', 400, "BadRequest"),
])
def test_bad_bodies_get_status_errors_and_change_nothing(cluster: Cluster, ns: str, content_type: str,
                                                         body: bytes, code: int, reason: str) -> None:
    with api(cluster) as c:
        before = c.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"]
        r = c.post(f"/api/v1/namespaces/{ns}/configmaps", content=body, headers={"Content-Type": content_type})
        assert r.status_code == code
        status = r.json()
        assert status["kind"] == "Status" and status["reason"] == reason and status["code"] == code
        assert c.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"] == before


def test_update_conflict_on_stale_resource_version(cluster: Cluster, ns: str) -> None:
    with api(cluster) as c:
        cm = c.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "cm"}}).json()
        fresh = dict(cm, data={"a": "1"})
        assert c.put(f"/api/v1/namespaces/{ns}/configmaps/cm", json=fresh).status_code == 200
        stale = dict(cm, data={"a": "2"})
        r = c.put(f"/api/v1/namespaces/{ns}/configmaps/cm", json=stale)
        assert r.status_code == 409
        assert r.json()["message"] == ('Operation cannot be fulfilled on configmaps "cm": the object has been '
                                       'modified; please apply your changes to the latest version and try again')
        assert c.get(f"/api/v1/namespaces/{ns}/configmaps/cm").json()["data"] == {"a": "1"}


def test_paging_with_limit_and_continue(cluster: Cluster, ns: str) -> None:
    with api(cluster) as c:
        for i in range(7):
            c.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": f"cm-{i}"}})
        names, token, pages = [], "", 0
        while True:
            params = {"limit": 3, **({"continue": token} if token else {})}
            page = c.get(f"/api/v1/namespaces/{ns}/configmaps", params=params).json()
            names += [item["metadata"]["name"] for item in page["items"]]
            pages += 1
            token = page["metadata"].get("continue", "")
            if not token:
                break
            assert page["metadata"]["remainingItemCount"] == 8 - len(names)
        # the namespace's own kube-root-ca.crt sorts last
        assert names == [f"cm-{i}" for i in range(7)] + ["kube-root-ca.crt"] and pages == 3


def test_watch_from_resource_version_and_410(cluster: Cluster, ns: str) -> None:
    with api(cluster) as c:
        first = c.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "w1"}}).json()
        c.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "w2"}})
        rv = first["metadata"]["resourceVersion"]
        with c.stream("GET", f"/api/v1/namespaces/{ns}/configmaps",
                      params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"}) as r:
            lines = [line for line in r.iter_lines() if line]
        import json
        events = [json.loads(line) for line in lines]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2")]
        r = c.get(f"/api/v1/namespaces/{ns}/configmaps", params={"watch": "1", "resourceVersion": "abc"})
        assert r.status_code == 400 and r.json()["kind"] == "Status"


def test_compacted_history_answers_410_gone(fresh_cluster: Cluster) -> None:
    """Under --time-scale 600 the compactor runs every 0.1 s of wall time."""
    import json
    import time

    fresh_cluster.start(("--time-scale", "600"))
    with api(fresh_cluster) as c:
        first = c.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "old"}}).json()
        for i in range(3):
            c.put("/api/v1/namespaces/default/configmaps/old",
                  json={"metadata": {"name": "old"}, "data": {"i": str(i)}})
            time.sleep(0.3)
        rv = first["metadata"]["resourceVersion"]
        with c.stream("GET", "/api/v1/namespaces/default/configmaps",
                      params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "2"}) as r:
            events = [json.loads(line) for line in r.iter_lines() if line]
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["code"] == 410 and status["reason"] == "Expired"
        assert status["message"].startswith(f"too old resource version: {rv} (")
        r = c.get("/api/v1/namespaces/default/configmaps", params={"resourceVersion": rv,
                                                                  "resourceVersionMatch": "Exact"})
        assert r.status_code == 410


def test_discovery_aggregated_and_legacy(cluster: Cluster) -> None:
    with api(cluster) as c:
        accept = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
        r = c.get("/apis", headers={"Accept": accept})
        assert r.headers["content-type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
        groups = {g["metadata"]["name"]: g for g in r.json()["items"]}
        apps = {res["resource"]: res for res in groups["apps"]["versions"][0]["resources"]}
        assert apps["deployments"]["shortNames"] == ["deploy"] and apps["deployments"]["categories"] == ["all"]
        assert {s["subresource"] for s in apps["deployments"]["subresources"]} == {"status", "scale"}
        legacy = c.get("/api/v1").json()
        pods = next(res for res in legacy["resources"] if res["name"] == "pods")
        assert pods["shortNames"] == ["po"] and pods["namespaced"] is True
        assert c.get("/apis/batch/v1").json()["groupVersion"] == "batch/v1"
        assert c.get("/apis/nope/v1").status_code == 404


def test_a_method_the_api_does_not_serve_is_refused_with_the_ones_it_does(cluster: Cluster, ns: str) -> None:
    with cluster.http() as c:
        refused = c.request("OPTIONS", f"/api/v1/namespaces/{ns}/pods")
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET, POST, PUT, PATCH, DELETE, HEAD"
        assert c.get(f"/api/v1/namespaces/{ns}/pods").json()["kind"] == "PodList"
