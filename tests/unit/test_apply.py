"""Server-side apply and managedFields tracking, against the real apps/v1 Deployment schema."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from tinykube.machinery.apply import (
    LAST_APPLIED_ANNOTATION,
    STRIPPED_FIELDS,
    ApplyConflict,
    compare,
    manager_from_user_agent,
    merge,
    server_side_apply,
    update_managed_fields,
)
from tinykube.machinery.errors import StatusError
from tinykube.machinery.fieldsets import FieldSet, make_path
from tinykube.machinery.schema import SchemaNode

NODE = SchemaNode.for_kind("apps", "v1", "Deployment")
assert NODE is not None
T0, T1, T2, T3 = ("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z",
                  "2026-01-01T00:03:00Z")
CONTAINERS = ("spec", "template", "spec", "containers")


def deployment(replicas: int | None = 3, labels: dict[str, str] | None = None,
               containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A Deployment manifest as a client sends it."""
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": containers or [{"name": "nginx", "image": "nginx:1.25"}]}},
        },
    }
    if replicas is not None:
        obj["spec"]["replicas"] = replicas
    return obj


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the registry would persist: the server-set metadata a live object carries."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="4d1c2a9e", resourceVersion="7", generation=1, creationTimestamp=T0)
    return out


def apply(live: dict | None, config: dict, manager: str = "kubectl", force: bool = False, now: str = T1,
          **kw: Any) -> dict:
    return stored(server_side_apply(live, config, manager=manager, force=force, node=NODE,
                                    api_version="apps/v1", now=now, **kw))


def update(old: dict | None, new: dict, manager: str, now: str = T1, **kw: Any) -> dict:
    new = copy.deepcopy(new)
    update_managed_fields(old, new, manager=manager, operation="Update", node=NODE, api_version="apps/v1",
                          now=now, **kw)
    return stored(new)


def entries(obj: dict) -> list[dict]:
    return obj["metadata"].get("managedFields", [])


def entry(obj: dict, manager: str, operation: str | None = None) -> dict:
    found = [e for e in entries(obj) if e["manager"] == manager and operation in (None, e["operation"])]
    assert len(found) == 1, f"{manager}: {entries(obj)}"
    return found[0]


def owned(obj: dict, manager: str) -> FieldSet:
    return FieldSet.from_fields_v1(entry(obj, manager)["fieldsV1"])


def container(obj: dict, name: str) -> dict:
    return next(c for c in obj["spec"]["template"]["spec"]["containers"] if c["name"] == name)


# --- create and re-apply --------------------------------------------------------------------


def test_create_via_apply_records_one_apply_entry() -> None:
    obj = apply(None, deployment(), now=T0)
    assert obj["spec"]["replicas"] == 3
    assert entries(obj) == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {},
                       "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                                      "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                                          ".": {}, "f:image": {}, "f:name": {}}}}}},
        },
    }]


def test_apply_does_not_mutate_its_inputs() -> None:
    live = apply(None, deployment())
    live_before, config = copy.deepcopy(live), deployment(replicas=4)
    config_before = copy.deepcopy(config)
    apply(live, config)
    assert live == live_before and config == config_before


def _drop_replicas(d: dict) -> None:
    del d["spec"]["replicas"]


def _drop_label(d: dict) -> None:
    del d["metadata"]["labels"]["tier"]


def _drop_sidecar(d: dict) -> None:
    d["spec"]["template"]["spec"]["containers"] = [c for c in d["spec"]["template"]["spec"]["containers"]
                                                   if c["name"] != "sidecar"]


def _drop_env(d: dict) -> None:
    del d["spec"]["template"]["spec"]["containers"][0]["env"]


FULL = dict(labels={"app": "web", "tier": "front"},
            containers=[{"name": "nginx", "image": "nginx:1.25", "env": [{"name": "MODE", "value": "x"}]},
                        {"name": "sidecar", "image": "envoy:1"}])


@pytest.mark.parametrize("drop, present, path", [
    (_drop_replicas, lambda o: "replicas" in o["spec"], make_path("spec", "replicas")),
    (_drop_label, lambda o: "tier" in o["metadata"]["labels"], make_path("metadata", "labels", "tier")),
    (_drop_sidecar, lambda o: any(c["name"] == "sidecar" for c in o["spec"]["template"]["spec"]["containers"]),
     make_path(*CONTAINERS, {"name": "sidecar"})),
    (_drop_env, lambda o: "env" in container(o, "nginx"),
     make_path(*CONTAINERS, {"name": "nginx"}, "env", {"name": "MODE"})),
])
def test_reapply_without_a_field_removes_it(drop: Callable, present: Callable, path) -> None:
    live = apply(None, deployment(**FULL))
    assert present(live) and path in owned(live, "kubectl")
    config = deployment(**FULL)
    drop(config)
    after = apply(live, config)
    assert not present(after)
    assert path not in owned(after, "kubectl")


def test_reapply_keeps_a_dropped_field_another_applier_owns() -> None:
    live = apply(None, deployment(labels={"app": "web", "tier": "front"}))
    live = apply(live, deployment(labels={"app": "web", "tier": "front"}), manager="other")
    after = apply(live, deployment(labels={"app": "web"}))
    assert after["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert make_path("metadata", "labels", "tier") in owned(after, "other")
    assert make_path("metadata", "labels", "tier") not in owned(after, "kubectl")


def test_reapply_keeps_fields_it_never_applied() -> None:
    live = apply(None, deployment())
    edited = copy.deepcopy(live)
    edited["metadata"]["annotations"] = {"note": "hand-made"}
    live = update(live, edited, "kubectl-edit")
    after = apply(live, deployment(replicas=4))
    assert after["metadata"]["annotations"] == {"note": "hand-made"}
    assert after["spec"]["replicas"] == 4


def test_noop_apply_keeps_the_entry_time() -> None:
    live = apply(None, deployment(), now=T0)
    again = apply(live, deployment(), now=T2)
    assert entry(again, "kubectl")["time"] == T0
    changed = apply(live, deployment(replicas=5), now=T2)
    assert entry(changed, "kubectl")["time"] == T2


# --- conflicts ------------------------------------------------------------------------------


def _client_side_applied() -> dict:
    return update(None, deployment(), "kubectl-client-side-apply")


def _helm_applied() -> dict:
    return apply(None, deployment(), manager="helm")


def _scaled() -> dict:
    live = apply(None, deployment())
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    return update(live, scaled, "kubectl-scale", subresource="scale")


@pytest.mark.parametrize("setup, replicas, message", [
    (_client_side_applied, 5,
     'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'),
    (_helm_applied, 5, 'Apply failed with 1 conflict: conflict with "helm": .spec.replicas'),
    (_scaled, 3, 'Apply failed with 1 conflict: conflict with "kubectl-scale" with subresource "scale" '
                 'using apps/v1: .spec.replicas'),
])
def test_single_conflict(setup: Callable[[], dict], replicas: int, message: str) -> None:
    live = setup()
    with pytest.raises(ApplyConflict) as info:
        apply(live, deployment(replicas=replicas), manager="argocd")
    err = info.value
    assert err.message == message
    assert len(err.conflicts) == 1 and err.conflicts[0][2] == ".spec.replicas"
    status = err.status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.replicas",
                                            "message": message.split(": ", 1)[1].rsplit(": ", 1)[0]}]


def test_multiple_conflicts_grouped_by_manager() -> None:
    live = apply(None, deployment(), manager="helm")
    edited = copy.deepcopy(live)
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    live = update(live, edited, "kubectl-edit")
    config = deployment(replicas=4, containers=[{"name": "nginx", "image": "nginx:1.27"}])
    config["metadata"]["labels"]["app"] = "site"
    with pytest.raises(ApplyConflict) as info:
        apply(live, config, manager="argocd")
    assert info.value.message == (
        "Apply failed with 3 conflicts: "
        'conflicts with "helm":\n'
        "- .metadata.labels.app\n"
        "- .spec.replicas\n"
        'conflicts with "kubectl-edit" using apps/v1:\n'
        '- .spec.template.spec.containers[name="nginx"].image')
    assert info.value.conflicts == [
        ("helm", "apps/v1", ".metadata.labels.app"),
        ("helm", "apps/v1", ".spec.replicas"),
        ("kubectl-edit", "apps/v1", '.spec.template.spec.containers[name="nginx"].image'),
    ]


def test_force_takes_ownership() -> None:
    live = _scaled()
    after = apply(live, deployment(replicas=3), force=True, now=T2)
    assert after["spec"]["replicas"] == 3
    assert make_path("spec", "replicas") in owned(after, "kubectl")
    assert all(e["manager"] != "kubectl-scale" for e in entries(after))  # its only field moved away


def test_same_value_is_shared_not_a_conflict() -> None:
    live = apply(None, deployment(replicas=3), manager="alice")
    after = apply(live, deployment(replicas=3), manager="bob")
    replicas = make_path("spec", "replicas")
    assert replicas in owned(after, "alice") and replicas in owned(after, "bob")
    # a shared field disappears only when its last applier drops it
    dropped = apply(after, deployment(replicas=None), manager="alice")
    assert dropped["spec"]["replicas"] == 3
    gone = apply(dropped, deployment(replicas=None), manager="bob")
    assert "replicas" not in gone["spec"]


def test_conflict_on_a_list_map_element_field() -> None:
    live = apply(None, deployment(containers=[{"name": "nginx", "image": "nginx:1.25"}]), manager="helm")
    with pytest.raises(ApplyConflict) as info:
        apply(live, deployment(containers=[{"name": "nginx", "image": "nginx:1.26"}]))
    assert info.value.conflicts == [("helm", "apps/v1", '.spec.template.spec.containers[name="nginx"].image')]


# --- client-side apply upgrade --------------------------------------------------------------


def _client_side_apply(config: dict) -> dict:
    new = copy.deepcopy(config)
    new["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: json.dumps(config)}
    return update(None, new, "kubectl-client-side-apply")


def test_kubectl_takes_over_fields_it_applied_client_side() -> None:
    live = _client_side_apply(deployment(replicas=3))
    after = apply(live, deployment(replicas=5), manager="kubectl")
    assert after["spec"]["replicas"] == 5
    assert make_path("spec", "replicas") in owned(after, "kubectl")
    assert make_path("spec", "replicas") not in owned(after, "kubectl-client-side-apply")
    annotation = after["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    assert json.loads(annotation)["spec"]["replicas"] == 5 and annotation.endswith("\n")


def test_other_appliers_still_conflict_with_client_side_apply() -> None:
    live = _client_side_apply(deployment(replicas=3))
    with pytest.raises(ApplyConflict, match="kubectl-client-side-apply"):
        apply(live, deployment(replicas=5), manager="argocd")


def test_kubectl_conflicts_when_the_live_value_drifted_from_last_applied() -> None:
    live = _client_side_apply(deployment(replicas=3))
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 7
    live = update(live, edited, "kubectl-client-side-apply", now=T2)  # same manager, no annotation change
    with pytest.raises(ApplyConflict) as info:
        apply(live, deployment(replicas=5), manager="kubectl")
    assert info.value.conflicts == [("kubectl-client-side-apply", "apps/v1", ".spec.replicas")]


# --- merge semantics ------------------------------------------------------------------------


def test_list_map_merges_containers_by_name() -> None:
    live = apply(None, deployment(containers=[{"name": "nginx", "image": "nginx:1.25"}]), manager="helm")
    edited = copy.deepcopy(live)
    edited["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "envoy:1"})
    live = update(live, edited, "injector")
    after = apply(live, deployment(containers=[{"name": "nginx", "image": "nginx:1.25", "args": ["-g"]}]),
                  manager="helm")
    assert after["spec"]["template"]["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx:1.25", "args": ["-g"]},
        {"name": "sidecar", "image": "envoy:1"},
    ]
    assert make_path(*CONTAINERS, {"name": "sidecar"}) in owned(after, "injector")


@pytest.mark.parametrize("live, applied, expected", [
    (["a", "b", "c"], ["b", "d"], ["a", "b", "c", "d"]),
    (["a", "b", "c"], ["c", "b"], ["a", "c", "b"]),
    (["a", "x", "b"], ["b", "y", "a"], ["x", "b", "y", "a"]),
    ([], ["a", "b"], ["a", "b"]),
    (["a"], [], ["a"]),
])
def test_list_map_merge_order(live: list[str], applied: list[str], expected: list[str]) -> None:
    as_containers = lambda names: {"spec": {"template": {"spec": {"containers": [{"name": n} for n in names]}}}}
    merged = merge(as_containers(live), as_containers(applied), NODE)
    assert [c["name"] for c in merged["spec"]["template"]["spec"]["containers"]] == expected


@pytest.mark.parametrize("live, applied, expected", [
    pytest.param({"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["c", "a"]}},
                 {"metadata": {"finalizers": ["c", "a", "b"]}}, id="set union"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["x", "y"]}]}}}},
                 {"spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["z"]}]}}}},
                 {"spec": {"template": {"spec": {"containers": [{"name": "c", "args": ["z"]}]}}}},
                 id="atomic list replaced"),
    pytest.param({"spec": {"selector": {"matchLabels": {"app": "x", "tier": "y"}}}},
                 {"spec": {"selector": {"matchLabels": {"app": "x"}}}},
                 {"spec": {"selector": {"matchLabels": {"app": "x"}}}}, id="atomic map replaced"),
    pytest.param({"metadata": {"labels": {"a": "1"}}}, {"metadata": {"labels": {"b": "2"}}},
                 {"metadata": {"labels": {"a": "1", "b": "2"}}}, id="granular map merged"),
    pytest.param({"spec": {"replicas": 1, "paused": True}}, {"spec": {"paused": None}},
                 {"spec": {"replicas": 1}}, id="explicit null removes"),
    pytest.param({"spec": {"template": {"spec": {"containers": [
                     {"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]}]}}}},
                 {"spec": {"template": {"spec": {"containers": [
                     {"name": "c", "ports": [{"containerPort": 80, "name": "web"}]}]}}}},
                 {"spec": {"template": {"spec": {"containers": [
                     {"name": "c", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "web"}]}]}}}},
                 id="defaulted key matches live element"),
])
def test_merge(live: dict, applied: dict, expected: dict) -> None:
    assert merge(live, applied, NODE) == expected


@pytest.mark.parametrize("config, status, fragment", [
    (dict(metadata={"name": "web", "managedFields": []}), 400, "metadata.managedFields must be nil"),
    (dict(spec={"template": {"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}}), 422,
     '.spec.template.spec.containers: duplicate entries for key [name="a"]'),
    (dict(spec={"template": {"spec": {"containers": [{"image": "a"}]}}}), 422,
     ".spec.template.spec.containers: element 0: associative list with keys has an element that omits"),
])
def test_invalid_apply_configurations(config: dict, status: int, fragment: str) -> None:
    config = {"apiVersion": "apps/v1", "kind": "Deployment", **config}
    with pytest.raises(StatusError) as info:
        apply(None, config)
    assert info.value.code == status and fragment in info.value.message


# --- status ---------------------------------------------------------------------------------


def test_main_resource_apply_ignores_status() -> None:
    live = apply(None, deployment())
    live["status"] = {"replicas": 3}
    config = deployment()
    config["status"] = {"replicas": 99}
    after = apply(live, config)
    assert after["status"] == {"replicas": 3}
    assert not any(p[0].text == "status" for p in owned(after, "kubectl"))


def test_status_subresource_apply_owns_only_status() -> None:
    live = apply(None, deployment())
    config = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 40}, "status": {"replicas": 3}}
    after = apply(live, config, manager="controller", subresource="status")
    assert after["status"] == {"replicas": 3} and after["spec"]["replicas"] == 3
    e = entry(after, "controller")
    assert e["subresource"] == "status" and e["fieldsV1"] == {"f:status": {"f:replicas": {}}}


# --- update_managed_fields ------------------------------------------------------------------


def test_update_on_create_records_added_fields() -> None:
    obj = update(None, deployment(), "kubectl-create", now=T0)
    assert entries(obj) == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1", "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {},
                       "f:template": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                                      "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                                          ".": {}, "f:image": {}, "f:name": {}}}}}},
        },
    }]


def _set_replicas(o: dict) -> None:
    o["spec"]["replicas"] = 9


def _set_image(o: dict) -> None:
    o["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"


def _add_label(o: dict) -> None:
    o["metadata"]["labels"]["team"] = "a"


@pytest.mark.parametrize("change, path", [
    (_set_replicas, make_path("spec", "replicas")),
    (_set_image, make_path(*CONTAINERS, {"name": "nginx"}, "image")),
    (_add_label, make_path("metadata", "labels", "team")),
])
def test_update_moves_ownership_of_changed_fields(change: Callable, path) -> None:
    live = apply(None, deployment(), manager="kubectl", now=T0)
    edited = copy.deepcopy(live)
    change(edited)
    after = update(live, edited, "kubectl-edit", now=T1)
    assert owned(after, "kubectl-edit") == FieldSet([path])
    assert path not in owned(after, "kubectl")
    assert make_path("spec", "selector") in owned(after, "kubectl")
    assert entry(after, "kubectl-edit")["time"] == T1 and entry(after, "kubectl")["time"] == T0


def test_update_removing_a_field_drops_it_from_every_owner() -> None:
    live = apply(None, deployment(labels={"app": "web", "tier": "x"}))
    edited = copy.deepcopy(live)
    del edited["metadata"]["labels"]["tier"]
    after = update(live, edited, "kubectl-label")
    assert make_path("metadata", "labels", "tier") not in owned(after, "kubectl")
    assert all(e["manager"] != "kubectl-label" for e in entries(after))  # it took nothing


def test_update_merges_with_the_managers_previous_entry() -> None:
    live = update(None, deployment(), "kubectl-create", now=T0)
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 4
    after = update(live, edited, "kubectl-create", now=T2)
    assert len(entries(after)) == 1
    assert make_path("spec", "selector") in owned(after, "kubectl-create")
    assert entry(after, "kubectl-create")["time"] == T2


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda o: o["metadata"].update(resourceVersion="99", generation=5), id="server-set metadata"),
    pytest.param(lambda o: o.update(status={"replicas": 3}), id="status on the main resource"),
    pytest.param(lambda o: None, id="nothing"),
])
def test_update_without_tracked_changes_records_nothing(mutate: Callable) -> None:
    live = apply(None, deployment(), now=T0)
    edited = copy.deepcopy(live)
    mutate(edited)
    after = update(live, edited, "controller", now=T2)
    assert entries(after) == entries(live)


def test_status_update_is_recorded_with_its_subresource() -> None:
    live = apply(None, deployment())
    edited = copy.deepcopy(live)
    edited["status"] = {"replicas": 3, "conditions": [{"type": "Available", "status": "True"}]}
    after = update(live, edited, "kube-controller-manager", subresource="status")
    e = entry(after, "kube-controller-manager")
    assert e["subresource"] == "status"
    assert e["fieldsV1"] == {"f:status": {
        "f:conditions": {".": {}, 'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}},
        "f:replicas": {}}}


def test_untracked_objects_stay_untracked_until_applied() -> None:
    live = stored(deployment())  # written before field tracking, no managedFields
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 4
    assert entries(update(live, edited, "kubectl-edit")) == []
    applied = apply(live, deployment(replicas=5), force=True)
    assert {e["manager"] for e in entries(applied)} == {"before-first-apply", "kubectl"}
    assert make_path("spec", "selector") in owned(applied, "before-first-apply")


def test_request_can_reset_managed_fields() -> None:
    live = apply(None, deployment())
    edited = copy.deepcopy(live)
    edited["metadata"]["managedFields"] = []
    assert entries(update(live, edited, "kubectl-edit")) == []


def test_update_managers_are_capped() -> None:
    obj = update(None, deployment(), "creator", now=T0)
    for i in range(12):
        edited = copy.deepcopy(obj)
        edited["metadata"]["labels"][f"l{i}"] = "x"
        obj = update(obj, edited, f"m{i:02d}", now=f"2026-01-01T01:{i:02d}:00Z")
    managers = [e["manager"] for e in entries(obj)]
    assert len(managers) == 10 and "ancient-changes" in managers
    assert "creator" not in managers and "m00" not in managers and "m11" in managers
    ancient = owned(obj, "ancient-changes")
    assert make_path("spec", "replicas") in ancient and make_path("metadata", "labels", "l0") in ancient


@pytest.mark.parametrize("user_agent, manager", [
    ("kubectl/v1.32.4 (linux/amd64) kubernetes/abc1234", "kubectl"),
    ("kube-controller-manager/v1.33.0 (linux/amd64) kubernetes/x/system:serviceaccount", "kube-controller-manager"),
    ("python-requests", "python-requests"),
    ("", ""),
    ("bad\x00agent\t/1.0", "badagent"),
    ("x" * 200, "x" * 128),
])
def test_manager_from_user_agent(user_agent: str, manager: str) -> None:
    assert manager_from_user_agent(user_agent) == manager


def _created_fields(obj: dict[str, Any]) -> FieldSet:
    return owned(update(None, obj, "creator"), "creator")


def _renamed(obj: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"]["name"] = name
    return out


def _with(obj: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    change(out)
    return out


@pytest.mark.parametrize("variant,same_fields", [
    # the creates a memo may share: only scalars held in maps differ
    (lambda d: _renamed(d, "web-2"), True),
    (lambda d: _with(d, lambda o: o["metadata"].update(generateName="web-", uid="x")), False),  # new keys
    (lambda d: _with(d, lambda o: o["spec"].update(replicas=9)), True),  # a value: same paths
    (lambda d: _with(d, lambda o: o["metadata"]["labels"].update(app="other")), True),  # a label's value
    (lambda d: _with(d, lambda o: o["spec"].update(replicas=None)), True),  # null is a leaf too
    (lambda d: _with(d, lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="x")), True),
    # what must not be taken from an earlier create
    (lambda d: _with(d, lambda o: o["metadata"]["labels"].update(tier="front")), False),
    (lambda d: _with(d, lambda o: o["spec"]["template"]["spec"]["containers"][0].update(name="sidecar")), False),
    (lambda d: _with(d, lambda o: o["spec"].update(replicas={"not": "a number"})), False),  # a map now
    (lambda d: _with(d, lambda o: o["metadata"].update(name={"odd": "name"})), False),  # not a string
])
def test_created_objects_own_their_own_fields_whatever_was_created_before(variant, same_fields) -> None:
    """Creates are remembered by content; a remembered create never answers for a different shape."""
    first = deployment()
    other = variant(first)
    remembered = _created_fields(first)
    got = _created_fields(other)
    from_scratch = compare({}, {k: v for k, v in other.items() if k != "status"}, NODE).changed - STRIPPED_FIELDS
    assert got == from_scratch
    assert (got == remembered) is same_fields


@pytest.mark.parametrize("before, after, modified", [
    ("a", "a", False),
    ("a", "b", True),
    (True, 1, True),  # JSON tells a boolean from a number, Python's == does not
    (1, 1.0, False),  # numbers compare by value, as structured-merge-diff compares them
    (0, False, True),
    (None, None, False),
    (3, 3, False),
    ({"k": [True]}, {"k": [1]}, True),
    ({"k": [1, {"z": None}]}, {"k": [1, {"z": None}]}, False),
])
def test_a_field_compared_with_itself_changed_or_not(before, after, modified):
    from tinykube.machinery.apply import compare

    result = compare({"x": before, "y": "same"}, {"x": after, "y": "same"}, None)
    assert bool(result.modified) == modified
    assert not result.added and not result.removed
