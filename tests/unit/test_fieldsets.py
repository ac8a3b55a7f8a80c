"""Field paths, field sets and their FieldsV1 encoding, against the real Deployment schema."""

from __future__ import annotations

import json

import pytest

from tinykube.machinery.fieldsets import (
    FieldPathError,
    FieldSet,
    ListShape,
    PathElement,
    go_json,
    list_item_element,
    list_shape,
    make_path,
    object_field_set,
    path_string,
)
from tinykube.machinery.schema import SchemaNode

DEPLOYMENT = SchemaNode.for_kind("apps", "v1", "Deployment")
assert DEPLOYMENT is not None
POD_SPEC = DEPLOYMENT.field("spec").field("template").field("spec")
CONTAINER = POD_SPEC.field("containers").items()


@pytest.mark.parametrize("text, canonical", [
    ("f:metadata", "f:metadata"),
    ("f:kubectl.kubernetes.io/last-applied-configuration", "f:kubectl.kubernetes.io/last-applied-configuration"),
    ('k:{"name":"nginx"}', 'k:{"name":"nginx"}'),
    ('k:{"protocol":"TCP","containerPort":80}', 'k:{"containerPort":80,"protocol":"TCP"}'),
    ('k:{"containerPort": 80, "protocol": "TCP"}', 'k:{"containerPort":80,"protocol":"TCP"}'),
    ('v:"example.com/protect"', 'v:"example.com/protect"'),
    ("v:3", "v:3"),
    ("v:1.0", "v:1"),
    ('v:"a<b"', 'v:"a\\u003cb"'),
    ("i:4", "i:4"),
])
def test_path_element_round_trip(text: str, canonical: str) -> None:
    pe = PathElement.parse(text)
    assert pe.serialize() == canonical
    assert PathElement.parse(pe.serialize()) == pe


@pytest.mark.parametrize("text", ["x", "f", "k:[1]", "k:{bad", "v:", "i:one", "fx:a"])
def test_path_element_rejects_garbage(text: str) -> None:
    with pytest.raises(FieldPathError):
        PathElement.parse(text)


@pytest.mark.parametrize("path, expected", [
    (make_path("spec", "replicas"), ".spec.replicas"),
    (make_path("spec", "template", "spec", "containers", {"name": "nginx"}, "image"),
     '.spec.template.spec.containers[name="nginx"].image'),
    (make_path("ports", {"protocol": "TCP", "containerPort": 80}), '.ports[containerPort=80,protocol="TCP"]'),
    (make_path("metadata", "finalizers", PathElement.value("a/b")), '.metadata.finalizers[="a/b"]'),
    (make_path("args", 0), ".args[0]"),
    (make_path("metadata", "labels", "app.kubernetes.io/name"), ".metadata.labels.app.kubernetes.io/name"),
])
def test_path_string(path, expected: str) -> None:
    assert path_string(path) == expected


UPSTREAM_FIELDS = [
    # kubectl-client-side-apply style, with "." on added maps and list elements
    {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
                    "f:labels": {".": {}, "f:app": {}}},
     "f:spec": {"f:replicas": {}, "f:selector": {},
                "f:template": {"f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {".": {}, 'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
                }}}}}},
    # element kinds in upstream order: fields, keys, values, indexes
    {"f:a": {}, "f:b": {"f:c": {}}, 'k:{"name":"x"}': {}, 'v:"y"': {}, "i:0": {}},
    # numbers sort numerically in keys and values
    {"f:ports": {'k:{"port":8}': {}, 'k:{"port":10}': {}, 'k:{"port":443}': {}}},
    {"f:metadata": {"f:finalizers": {".": {}, 'v:"a"': {}, 'v:"b"': {}}}},
]


@pytest.mark.parametrize("fields", UPSTREAM_FIELDS)
def test_fields_v1_round_trip_keeps_content_and_order(fields: dict) -> None:
    encoded = FieldSet.from_fields_v1(fields).to_fields_v1()
    assert json.dumps(encoded) == json.dumps(fields)


def test_fields_v1_decoding() -> None:
    fields = FieldSet.from_fields_v1(UPSTREAM_FIELDS[0])
    assert make_path("metadata", "labels") in fields  # the "." member
    assert make_path("metadata", "labels", "app") in fields
    assert make_path("spec") not in fields  # only a parent of members
    assert make_path("spec", "template", "spec", "containers", {"name": "nginx"}, "ports",
                     {"containerPort": 80, "protocol": "TCP"}, "containerPort") in fields
    assert len(fields) == 12


def test_fields_v1_skips_unknown_element_types() -> None:
    fields = FieldSet.from_fields_v1({"f:a": {}, "z:future": {}, "f:b": {"z:only": {}}})
    assert fields == FieldSet([make_path("a"), make_path("b")])


def test_encoding_sorts_however_paths_were_inserted() -> None:
    fields = FieldSet([make_path("z"), make_path("a", 2), make_path("a", {"k": 1}), make_path("a"),
                       make_path("a", "b"), make_path("a", PathElement.value("v"))])
    assert list(fields.to_fields_v1()) == ["f:a", "f:z"]
    assert list(fields.to_fields_v1()["f:a"]) == [".", "f:b", 'k:{"k":1}', 'v:"v"', "i:2"]


def test_iteration_order_lists_members_before_children() -> None:
    fields = FieldSet([make_path("spec", "template", "x"), make_path("spec", "replicas"),
                       make_path("metadata", "labels", "a"), make_path("spec", "paused")])
    assert fields.strings() == [".metadata.labels.a", ".spec.paused", ".spec.replicas", ".spec.template.x"]


@pytest.mark.parametrize("paths, remove, expected", [
    ([("a", "b", "c"), ("a", "d")], [("a", "b")], [("a", "d")]),
    ([("a",), ("a", "b")], [("a",)], []),
    ([("a", "b")], [("a", "b", "c")], [("a", "b")]),
    ([("status", "x"), ("spec", "y")], [("status",)], [("spec", "y")]),
])
def test_recursive_difference(paths, remove, expected) -> None:
    result = FieldSet(make_path(*p) for p in paths).recursive_difference(FieldSet(make_path(*p) for p in remove))
    assert result == FieldSet(make_path(*p) for p in expected)


def test_plain_difference_is_per_path() -> None:
    parent_only = FieldSet([make_path("a")])
    child = FieldSet([make_path("a", "b")])
    assert child - parent_only == child
    assert parent_only - child == parent_only


def _array(**annotations: object) -> SchemaNode:
    return SchemaNode({"type": "array", "items": {"type": "object"}, **annotations})


@pytest.mark.parametrize("node, expected", [
    (POD_SPEC.field("containers"), ListShape("map", ("name",))),
    (CONTAINER.field("ports"), ListShape("map", ("containerPort", "protocol"))),
    (CONTAINER.field("env"), ListShape("map", ("name",))),
    (DEPLOYMENT.field("metadata").field("finalizers"), ListShape("set")),
    (CONTAINER.field("args"), ListShape("atomic")),
    (_array(**{"x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id"}),
     ListShape("map", ("id",))),
    (_array(**{"x-kubernetes-patch-strategy": "merge,retainKeys", "x-kubernetes-patch-merge-key": "id"}),
     ListShape("map", ("id",))),
    (_array(**{"x-kubernetes-patch-strategy": "merge"}), ListShape("set")),
    (_array(**{"x-kubernetes-patch-strategy": "retainKeys"}), ListShape("atomic")),
    (_array(**{"x-kubernetes-list-type": "atomic", "x-kubernetes-patch-strategy": "merge"}), ListShape("atomic")),
    (_array(), ListShape("atomic")),
    (None, ListShape("atomic")),
])
def test_list_shape(node, expected: ListShape) -> None:
    assert list_shape(node) == expected


@pytest.mark.parametrize("node, item, expected", [
    (POD_SPEC.field("containers"), {"name": "web", "image": "x"}, 'k:{"name":"web"}'),
    (CONTAINER.field("ports"), {"containerPort": 80}, 'k:{"containerPort":80,"protocol":"TCP"}'),
    (CONTAINER.field("ports"), {"containerPort": 53, "protocol": "UDP"}, 'k:{"containerPort":53,"protocol":"UDP"}'),
    (DEPLOYMENT.field("metadata").field("finalizers"), "example.com/x", 'v:"example.com/x"'),
])
def test_list_item_element(node: SchemaNode, item, expected: str) -> None:
    assert list_item_element(item, list_shape(node), node.items()).serialize() == expected


@pytest.mark.parametrize("node, item, message", [
    (POD_SPEC.field("containers"), {"image": "x"}, "omits all key fields"),
    (POD_SPEC.field("containers"), "web", "non-map elements"),
    (DEPLOYMENT.field("metadata").field("finalizers"), {"a": 1}, "map type"),
    (DEPLOYMENT.field("metadata").field("finalizers"), None, "explicit null"),
])
def test_list_item_element_errors(node: SchemaNode, item, message: str) -> None:
    with pytest.raises(FieldPathError, match=message):
        list_item_element(item, list_shape(node), node.items())


@pytest.mark.parametrize("obj, expected", [
    pytest.param({"apiVersion": "apps/v1", "metadata": {"name": "x", "labels": {"app": "x"}}},
                 {"f:apiVersion": {}, "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}}},
                 id="free-form map keys, no '.' for applied maps"),
    pytest.param({"spec": {"selector": {"matchLabels": {"app": "x"}}}}, {"f:spec": {"f:selector": {}}},
                 id="atomic struct is one leaf"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i", "args": ["x", "y"]}]}}}},
                 {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"a"}': {
                     ".": {}, "f:args": {}, "f:image": {}, "f:name": {}}}}}}},
                 id="list-map elements by key, atomic list as leaf"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}}}},
                 {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"a"}': {
                     ".": {}, "f:name": {}, "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {
                         ".": {}, "f:containerPort": {}}}}}}}}},
                 id="defaulted key field"),
    pytest.param({"metadata": {"finalizers": ["b", "a"]}},
                 {"f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}}, id="set elements by value"),
    pytest.param({"spec": {"paused": None, "template": {"spec": {"securityContext": {}}}}},
                 {"f:spec": {"f:paused": {}, "f:template": {"f:spec": {"f:securityContext": {}}}}},
                 id="null and empty values are members"),
    pytest.param({"spec": {"x-custom": {"deep": {"leaf": 1}}}},
                 {"f:spec": {"f:x-custom": {".": {}, "f:deep": {".": {}, "f:leaf": {}}}}},
                 id="unknown fields are deduced granular maps"),
    pytest.param({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "a", "image": "x"}]}}}},
                 {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"a"}': {}}}}}},
                 id="duplicates owned whole"),
])
def test_object_field_set(obj: dict, expected: dict) -> None:
    assert object_field_set(obj, DEPLOYMENT).to_fields_v1() == expected


@pytest.mark.parametrize("value, expected", [
    ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
    ("<&>", '"\\u003c\\u0026\\u003e"'),
    ("line\nbreak\u2028", '"line\\nbreak\\u2028"'),
    ("ünïcode", '"ünïcode"'),
    (1.0, "1"),
    (1.5, "1.5"),
    (1e-7, "1e-7"),
    (1e21, "1e+21"),
    (0.00001, "0.00001"),
])
def test_go_json(value, expected: str) -> None:
    assert go_json(value) == expected


def test_encoding_is_cached_but_every_caller_gets_its_own_tree():
    fs = FieldSet.from_fields_v1({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}}})
    first = fs.to_fields_v1()
    first["f:spec"]["f:extra"] = {}
    assert fs.to_fields_v1() == {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:replicas": {}}}


def test_decoding_the_same_tree_twice_gives_equal_sets_and_subset_checks():
    tree = {"f:status": {"f:phase": {}, "f:podIP": {}}}
    a, b = FieldSet.from_fields_v1(tree), FieldSet.from_fields_v1(dict(tree))
    assert a == b
    smaller = FieldSet.from_fields_v1({"f:status": {"f:phase": {}}})
    assert smaller <= a and not a <= smaller


@pytest.mark.parametrize("first, second", [
    ({"port": 1}, {"port": True}),  # equal in Python, different in JSON: remembered apart
    ({"port": 1}, {"port": 1.5}),
    ({"name": "a"}, {"name": "b"}),
])
def test_remembered_key_elements_keep_json_distinctions(first, second):
    a, b = PathElement.key(first), PathElement.key(second)
    assert a != b and PathElement.key(first) == a and PathElement.key(second) == b
    assert PathElement.value(True) != PathElement.value(1)


def test_equal_sets_encode_alike_and_decode_back():
    paths = [make_path("spec", "containers", {"name": "c"}, "image"), make_path("metadata", "labels", "app")]
    one, other = FieldSet(paths), FieldSet(list(reversed(paths)))
    assert one.to_fields_v1() == other.to_fields_v1()
    assert FieldSet.from_fields_v1(one.to_fields_v1()) == one


def test_sets_sharing_a_corner_encode_each_their_own_whole():
    """Subtrees two levels down are remembered by their paths and shared between encodings:
    each set still gets exactly its own tree, members marked with "." where they have children."""
    conditions = {"f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}}},
                  "f:phase": {}}
    first = {"f:status": {**conditions, "f:podIPs": {".": {}, 'k:{"ip":"10.0.0.1"}': {".": {}, "f:ip": {}}}}}
    second = {"f:status": {**conditions, "f:podIPs": {".": {}, 'k:{"ip":"10.0.0.2"}': {".": {}, "f:ip": {}}}}}
    third = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
             "f:status": {"f:conditions": conditions["f:conditions"]}}
    for tree in (first, second, third, first):
        encoded = FieldSet.from_fields_v1(json.loads(json.dumps(tree))).to_fields_v1()
        assert json.dumps(encoded) == json.dumps(tree)  # content and key order
    assert FieldSet.from_fields_v1(first) != FieldSet.from_fields_v1(second)
