"""Bad input against a live server: schemathesis drives every operation of the server's own
OpenAPI v3 documents (core/v1 and apps/v1) with schema-valid and schema-violating requests and
no answer may be a 5xx; afterwards every stored object still decodes and validates. Oversized,
deeply nested and malformed bodies are refused with a 4xx."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from helpers import Cluster, running_cluster

EXAMPLES = int(os.environ.get("TINYKUBE_FUZZ_EXAMPLES", "2"))
GROUP_VERSIONS = ("api/v1", "apis/apps/v1")
# streaming and long-running endpoints: not request/response, fuzzed elsewhere or not at all
SKIPPED_SUFFIXES = ("/exec", "/attach", "/portforward", "/proxy", "/log")
NS = "fuzz"


@pytest.fixture(scope="module")
def fc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("fuzz"), "--sim-nodes", "1") as c:
        c.kubectl("create", "namespace", NS)
        c.kubectl("create", "deployment", "web", "--image=nginx", "-n", NS)
        c.kubectl("create", "configmap", "cm", "--from-literal=a=b", "-n", NS)
        yield c


def fuzzable(raw: dict) -> dict:
    """The document without watch endpoints and parameters (they stream until a timeout)."""
    paths = {}
    for path, item in raw["paths"].items():
        if "/watch/" in path or path.endswith(SKIPPED_SUFFIXES) or "{path}" in path:
            continue
        item = dict(item)
        for method, op in list(item.items()):
            if isinstance(op, dict) and "parameters" in op:
                item[method] = dict(op, parameters=[p for p in op["parameters"]
                                                    if p.get("name") not in ("watch", "follow")])
        if isinstance(item.get("parameters"), list):
            item["parameters"] = [p for p in item["parameters"] if p.get("name") not in ("watch", "follow")]
        paths[path] = item
    return dict(raw, paths=paths)


def fuzz_operations(c: Cluster, group_version: str, examples: int) -> tuple[int, list[str]]:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    with c.http() as http:
        raw = http.get(f"/openapi/v3/{group_version}").json()
    schema = schemathesis.openapi.from_dict(fuzzable(raw))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {c.token}"
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        op = result.ok()
        fixed = {"namespace": NS} if "{namespace}" in op.path else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.generate], database=None)
            @given(case=op.as_strategy(mode, path_parameters=fixed or None))
            def run(case) -> None:
                nonlocal calls
                try:
                    response = case.call(base_url=c.url, session=session, timeout=20, verify=c.ca_file)
                except requests.exceptions.ReadTimeout:
                    failures.append(f"{case.method} {case.formatted_path}: timed out")
                    return
                calls += 1
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} ({mode.value}) -> "
                                    f"{response.status_code}: {response.text[:300]}\n  {case.as_curl_command()}")
            try:
                run()
            except Exception as exc:  # schemathesis could not generate for this operation: not the server's fault
                if "Unsatisfiable" not in type(exc).__name__ and "Unsatisfiable" not in str(exc):
                    raise
    return calls, failures


def stored_objects_are_sound(data_dir: Path) -> list[str]:
    """Open the stopped server's store: every object decodes and passes validation."""
    from tinykube.registry import codec, kinds
    from tinykube.registry.conversion import from_storage
    from tinykube.registry.resources import RESOURCE_INDEX, storage_prefix
    from tinykube.storage.sqlite import SqliteStore

    by_prefix = {}
    for res in RESOURCE_INDEX.resources:
        if res.stored and (not res.storage_version or res.storage_version == res.version) \
                and res.group != "events.k8s.io":
            by_prefix.setdefault(storage_prefix(res), res)

    async def scan() -> list[str]:
        store = await SqliteStore.open(data_dir / "state.db")
        problems = []
        try:
            listed = await store.list("/registry/")
            for kv in listed.kvs:
                res = next((r for p, r in by_prefix.items() if kv.key.startswith(p)), None)
                if res is None:
                    problems.append(f"{kv.key}: no resource")
                    continue
                try:
                    obj = from_storage(res, codec.decode(kv))
                    causes = kinds.validate(res.group, res.kind, obj, obj)
                except Exception as exc:
                    problems.append(f"{kv.key}: {exc!r}")
                    continue
                if causes:
                    problems.append(f"{kv.key}: {[c.message for c in causes]}")
        finally:
            await store.close()
        return problems
    return asyncio.run(scan())


@pytest.mark.timeout(600)
def test_schemathesis_finds_no_5xx_and_the_store_stays_sound(fc: Cluster):
    total = 0
    failures: list[str] = []
    for group_version in GROUP_VERSIONS:
        calls, found = fuzz_operations(fc, group_version, EXAMPLES)
        total += calls
        failures += found
    assert total > 300
    assert not failures, f"{len(failures)} 5xx answers:\n" + "\n".join(failures[:15])
    fc.stop()
    try:
        problems = stored_objects_are_sound(fc.data_dir)
        assert not problems, "\n".join(problems[:20])
    finally:
        fc.start(("--sim-nodes", "1"))


def test_oversized_nested_and_malformed_bodies_are_4xx(fc: Cluster):
    path = f"/api/v1/namespaces/{NS}/configmaps"
    with fc.http() as http:
        big = http.post(path, content=b'{"metadata":{"name":"big"},"data":{"k":"' + b"x" * (3 * 1024 * 1024 + 10)
                        + b'"}}', headers={"Content-Type": "application/json"})
        assert big.status_code == 413, big.text
        deep = b'{"metadata":{"name":"deep"},"data":' + b'{"a":' * 20000 + b"1" + b"}" * 20000 + b"}"
        r = http.post(path, content=deep, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        deep_list = b'{"metadata":{"name":"deep"},"x":' + b"[" * 50000 + b"]" * 50000 + b"}"
        r = http.post(path, content=deep_list, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        yaml_bomb = b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" \
                    b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n" \
                    b"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        r = http.post(path, content=yaml_bomb, headers={"Content-Type": "application/yaml"})
        assert 400 <= r.status_code < 500, r.text
        for body, ctype in ((b"{", "application/json"), (b"\xff\xfe", "application/json"), (b"[1,2]", "application/json"),
                            (b'"text"', "application/json"), (b"null", "application/json"), (b"{]", "application/yaml"),
                            (b'{"metadata": "x"}', "application/json"), (b'{"metadata": {"name": 5}}', "application/json"),
                            (b'{"metadata": {"name": "x", "labels": []}}', "application/json"),
                            (b'{"metadata": {"name": "x"}, "data": 5}', "application/json"),
                            (b"", "application/json")):
            r = http.post(path, content=body, headers={"Content-Type": ctype})
            assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        for body, ctype in ((b"{", "application/merge-patch+json"), (b"[1]", "application/merge-patch+json"),
                            (b'{"op": "add"}', "application/json-patch+json"),
                            (b'[{"op": "move", "from": "/nope", "path": "/a"}]', "application/json-patch+json"),
                            (b'[{"op": "add", "path": "/metadata/name/x", "value": 1}]', "application/json-patch+json"),
                            (b'{"data": {"$patch": "bogus"}}', "application/strategic-merge-patch+json"),
                            (b'{"metadata": {"labels": 7}}', "application/strategic-merge-patch+json"),
                            (b'{"metadata": 1}', "application/merge-patch+json")):
            r = http.patch(f"{path}/cm", content=body, headers={"Content-Type": ctype})
            assert 400 <= r.status_code < 500, (body, r.status_code, r.text)


@pytest.mark.parametrize("body", [
    {"preconditions": 287136037899829}, {"preconditions": "x"}, {"preconditions": {"uid": 5}},
    {"gracePeriodSeconds": "soon"}, {"gracePeriodSeconds": True}, {"dryRun": "All"}, {"dryRun": [1]},
    {"orphanDependents": "yes"}, {"propagationPolicy": 3},
])
def test_delete_options_with_wrong_types_are_400(fc: Cluster, body: dict):
    """Regression (found by schemathesis): these DeleteOptions bodies answered 500."""
    with fc.http() as http:
        r = http.request("DELETE", f"/api/v1/namespaces/{NS}/configmaps/cm", json=body)
        assert r.status_code == 400, r.text
        assert "cannot unmarshal" in r.json()["message"]
        r = http.request("DELETE", f"/api/v1/namespaces/{NS}/persistentvolumeclaims", json=body)
        assert r.status_code == 400, r.text
