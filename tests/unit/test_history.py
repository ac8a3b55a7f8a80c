"""The shared ControllerRevision history (controllers/history.py) as tables: Go-encoded data,
hashes and names, the StatefulSet's update-revision choice and truncation, the DaemonSet's
duplicate merging and pruning."""

from __future__ import annotations

import pytest

from tinykube.controllers import history

HASH_LABEL = "controller.kubernetes.io/hash"
T_A = {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}
T_B = {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "b"}]}}


def owner(kind: str = "StatefulSet", name: str = "web", annotations: dict | None = None) -> dict:
    meta = {"name": name, "namespace": "ns", "uid": "u"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta}


def names(objs) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def revisions(*images: str) -> list[dict]:
    out = []
    for n, image in enumerate(images, 1):
        rev = history.new_revision(owner(), {"spec": {"containers": [{"name": "c", "image": image}]}}, n, f"h{n}",
                                   HASH_LABEL)
        rev["metadata"]["name"] = f"r{n}"
        out.append(rev)
    return out


def test_revision_data_is_the_template_replace_patch_in_go_order():
    template = {"spec": {"containers": [{"name": "c", "image": "a&b"}]}, "metadata": {"labels": {"app": "web"}}}
    data = history.template_patch(template)
    assert history.encode(data) == (
        b'{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web"}},'
        b'"spec":{"containers":[{"image":"a\\u0026b","name":"c","resources":{}}]}}}}')
    assert history.template_of({"data": data})["spec"]["containers"][0]["image"] == "a&b"
    assert history.template_of({"data": None}) == {}


@pytest.mark.parametrize("owner_name, hash_, name", [
    ("web", "7b9d8c", "web-7b9d8c"),
    ("x" * 230, "abc", "x" * 223 + "-abc"),
])
def test_revision_names(owner_name, hash_, name):
    assert history.revision_name(owner_name, hash_) == name


def test_revision_hash_is_stable_and_collision_count_moves_it():
    data = history.template_patch({"spec": {"containers": [{"name": "c"}]}})
    assert history.revision_hash(data, 0) == history.revision_hash(data, 0)
    assert history.revision_hash(data, 0) != history.revision_hash(data, 1)
    assert set(history.revision_hash(data, 0)) <= set("bcdfghjklmnpqrstvwxz2456789")


@pytest.mark.parametrize("kind, label", [("StatefulSet", HASH_LABEL), ("DaemonSet", "controller-revision-hash")])
def test_new_revision_shape(kind, label):
    rev = history.new_revision(owner(kind, "d", {"kubernetes.io/change-cause": "x"}), T_A, 4, "h1", label)
    assert rev["metadata"]["name"] == "d-h1"
    assert rev["metadata"]["labels"] == {"app": "d", label: "h1"}
    assert rev["metadata"]["annotations"] == {"kubernetes.io/change-cause": "x"}
    assert rev["metadata"]["ownerReferences"][0]["controller"] is True
    assert rev["metadata"]["ownerReferences"][0]["kind"] == kind
    assert rev["revision"] == 4 and rev["kind"] == "ControllerRevision"
    assert rev["data"] == history.template_patch(T_A)


# ----------------------------------------------------------------------------- the StatefulSet's use

@pytest.mark.parametrize("history_images, wanted, choice, found", [
    ((), "a", "create", None),
    (("a",), "a", "keep", "r1"),
    (("a", "b"), "b", "keep", "r2"),
    (("a", "b"), "a", "renumber", "r1"),
    (("a", "b"), "c", "create", None),
])
def test_choose_update_revision(history_images, wanted, choice, found):
    target = revisions(wanted)[0]
    got, rev = history.choose_update_revision(history.sort_revisions(revisions(*history_images)), target)
    assert (got, rev["metadata"]["name"] if rev else None) == (choice, found)


@pytest.mark.parametrize("count, live, limit, deleted", [
    (3, {"r3"}, 10, []),
    (5, {"r5"}, 2, ["r1", "r2"]),
    (5, {"r5", "r1"}, 2, ["r2"]),
    (5, {"r5"}, 0, ["r1", "r2", "r3", "r4"]),
])
def test_history_limit(count, live, limit, deleted):
    revs = revisions(*[str(i) for i in range(count)])
    assert names(history.history_to_delete(revs, live, limit)) == deleted


def test_next_number():
    assert history.next_number([]) == 1
    assert history.next_number(revisions("a", "b")) == 3


# ----------------------------------------------------------------------------- the DaemonSet's use

def rev(name: str, number: int, template: dict, hash_: str = "") -> dict:
    return {"metadata": {"name": name, "labels": {HASH_LABEL: hash_ or name}}, "revision": number,
            "data": history.template_patch(template)}


def test_split_and_keep_the_highest_duplicate():
    revs = [rev("r1", 1, T_A), rev("r2", 2, T_B), rev("r3", 3, T_A)]
    current, old = history.split_current(revs, {"data": history.template_patch(T_A)})
    assert names(current) == ["r1", "r3"] and names(old) == ["r2"]
    assert history.keep_of_duplicates(current)["metadata"]["name"] == "r3"
    assert history.next_number(old) == 3


@pytest.mark.parametrize("count, limit, live, expect", [
    (5, 10, set(), []),
    (5, 2, set(), ["r1", "r2", "r3"]),
    (5, 2, {"r1", "r3"}, ["r2", "r4", "r5"]),   # revisions live pods run are kept
    (3, 0, {"r1", "r2", "r3"}, []),
])
def test_revisions_to_prune(count, limit, live, expect):
    old = [rev(f"r{i}", i, T_A) for i in range(count, 0, -1)]
    assert names(history.revisions_to_prune(old, limit, live, HASH_LABEL)) == expect
