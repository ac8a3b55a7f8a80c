"""Names, labels, ObjectMeta, Go-style values and quantities, in upstream's words."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tinykube.machinery.gorepr import go_repr
from tinykube.machinery.quantity import QUANTITY_ERROR, parse_quantity
from tinykube.machinery.validation import (
    LABEL_MESSAGE,
    SUBDOMAIN_MESSAGE,
    is_dns1123_label,
    is_dns1123_subdomain,
    validate_labels,
    validate_object_meta,
)


@pytest.mark.parametrize("value,expected", [
    ("web", []),
    ("web-0", []),
    ("a" * 63, []),
    ("a" * 64, ["must be no more than 63 characters"]),
    ("Web", [LABEL_MESSAGE]),
    ("web.example", [LABEL_MESSAGE]),
    ("-web", [LABEL_MESSAGE]),
])
def test_dns1123_label(value: str, expected: list[str]) -> None:
    assert is_dns1123_label(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("nginx-deployment", []),
    ("example.com", []),
    ("Nginx_Deployment", [SUBDOMAIN_MESSAGE]),
    ("a." * 127 + "a", ["must be no more than 253 characters"]),
])
def test_dns1123_subdomain(value: str, expected: list[str]) -> None:
    assert is_dns1123_subdomain(value) == expected


@pytest.mark.parametrize("meta,namespaced,fields", [
    ({"name": "web", "namespace": "default"}, True, []),
    ({"generateName": "web-", "namespace": "default"}, True, []),
    ({"namespace": "default"}, True, ["metadata.name"]),
    ({"name": "Bad_Name", "namespace": "default"}, True, ["metadata.name"]),
    ({"name": "web"}, True, ["metadata.namespace"]),
    ({"name": "node1", "namespace": "default"}, False, ["metadata.namespace"]),
    ({"name": "web", "namespace": "default", "labels": {"app": "a b"}}, True, ["metadata.labels"]),
    ({"name": "web", "namespace": "default", "labels": {"bad key!": "x"}}, True, ["metadata.labels"]),
    ({"name": "web", "namespace": "default", "annotations": {"k": "v" * (256 * 1024)}}, True,
     ["metadata.annotations"]),
    ({"name": "web", "namespace": "default", "finalizers": ["example.com/x", "not valid!"]}, True,
     ["metadata.finalizers"]),
    ({"name": "web", "namespace": "default", "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "x"}]},
     True, ["metadata.ownerReferences[0].uid"]),
])
def test_object_meta(meta: dict, namespaced: bool, fields: list[str]) -> None:
    assert [c.field for c in validate_object_meta(meta, namespaced).causes] == fields


def test_invalid_name_message_is_upstreams() -> None:
    (cause,) = validate_object_meta({"name": "Nginx_Deployment", "namespace": "d"}, True).causes
    assert cause.message == f'Invalid value: "Nginx_Deployment": {SUBDOMAIN_MESSAGE}'
    (cause,) = validate_object_meta({"namespace": "d"}, True).causes
    assert cause.message == "Required value: name or generateName is required"


def test_labels_with_prefixes() -> None:
    assert not validate_labels({"app.kubernetes.io/name": "x", "pod-template-hash": "8bd6f7bbc"}, "l")
    assert validate_labels({"/name": "x"}, "l")


@pytest.mark.parametrize("value,text", [
    ({"app": "y"}, 'map[string]string{"app":"y"}'),
    ({"b": "2", "a": "1"}, 'map[string]string{"a":"1", "b":"2"}'),
    ("x", '"x"'),
    (3, "3"),
    (True, "true"),
    (["a", "b"], '[]string{"a", "b"}'),
    ({"a": 1}, 'map[string]interface {}{"a":1}'),
])
def test_go_repr(value, text: str) -> None:
    assert go_repr(value) == text


@pytest.mark.parametrize("text,value,canonical", [
    ("100m", Fraction(1, 10), "100m"),
    ("0.5", Fraction(1, 2), "500m"),
    ("1", Fraction(1), "1"),
    ("1000m", Fraction(1), "1"),
    ("256Mi", Fraction(256 * 2**20), "256Mi"),
    ("1024Mi", Fraction(2**30), "1Gi"),
    ("1536Mi", Fraction(1536 * 2**20), "1536Mi"),
    ("1k", Fraction(1000), "1k"),
    ("1e3", Fraction(1000), "1e3"),
    ("200Mi", Fraction(200 * 2**20), "200Mi"),
])
def test_quantities(text: str, value: Fraction, canonical: str) -> None:
    q = parse_quantity(text)
    assert q.value == value and str(q) == canonical


@pytest.mark.parametrize("text", ["", "abc", "1Z", "1.2.3", "--1"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(ValueError, match="quantities must match"):
        parse_quantity(text)
    assert "regular expression" in QUANTITY_ERROR


def test_cpu_millis_round_up() -> None:
    assert parse_quantity("0.0001").milli() == 1
    assert parse_quantity("250m").milli() == 250
