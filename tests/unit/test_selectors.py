"""Label and field selectors: the `-l` grammar, metav1.LabelSelector, formatting, errors."""

from __future__ import annotations

import pytest

from tinykube.machinery.selectors import (
    SelectorError,
    format_label_selector,
    label_selector_from_map,
    label_selector_from_object,
    parse_field_selector,
    parse_label_selector,
    validate_label_selector,
)

LABELS = {"app": "nginx", "tier": "web", "env": "prod", "gen": "3"}


@pytest.mark.parametrize("text,matches", [
    ("", True),
    ("app=nginx", True),
    ("app==nginx", True),
    ("app=other", False),
    ("app!=other", True),
    ("missing!=x", True),
    ("app in (nginx,apache)", True),
    ("app in (apache)", False),
    ("app notin (apache)", True),
    ("app notin (nginx)", False),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("app=nginx,tier=web", True),
    ("app=nginx,tier=db", False),
    (" app = nginx , tier in ( web , db ) ", True),
    ("gen>2", True),
    ("gen<3", False),
    ("example.com/role=x", False),
    ("app=nginx,app=other", False),           # the same key twice: both must hold
    ("app=nginx,app in (nginx)", True),
    ("app in (nginx),tier!=db,env=prod", True),
    ("tier=web,app in (apache)", False),
])
def test_label_selector_matching(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is matches


@pytest.mark.parametrize("text", [
    "app in (",
    "app in nginx",
    "app=nginx,",
    "=nginx",
    "app=ngi nx extra",
    "-bad=x",
    "app=bad value!",
    "gen>x",
])
def test_label_selector_syntax_errors(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(text)


@pytest.mark.parametrize("sel,labels,matches", [
    (None, {"a": "b"}, False),  # a nil selector matches nothing
    ({}, {"a": "b"}, True),  # an empty one matches everything
    ({"matchLabels": {"app": "nginx"}}, LABELS, True),
    ({"matchLabels": {"app": "x"}}, LABELS, False),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]}, LABELS, True),
    ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, LABELS, False),
    ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, LABELS, True),
    ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, LABELS, False),
    ({"matchLabels": {"app": "nginx"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]},
     LABELS, False),
])
def test_label_selector_objects(sel, labels, matches: bool) -> None:
    assert label_selector_from_object(sel).matches(labels) is matches


@pytest.mark.parametrize("sel,text", [
    (None, "<none>"),
    ({}, "<none>"),
    ({"matchLabels": {"app": "nginx"}}, "app=nginx"),
    ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]}, "tier in (db,web)"),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, "!tier"),
])
def test_format_label_selector(sel, text: str) -> None:
    assert format_label_selector(sel) == text


def test_map_selector_like_replication_controllers() -> None:
    sel = label_selector_from_map({"app": "hostname"})
    assert sel.matches({"app": "hostname", "type": "error"})
    assert not sel.matches({"app": "deprec", "type": "error"})
    assert str(sel) == "app=hostname"


@pytest.mark.parametrize("sel,fields", [
    ({"matchExpressions": [{"key": "a", "operator": "In"}]}, ["spec.selector.matchExpressions[0].values"]),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     ["spec.selector.matchExpressions[0].values"]),
    ({"matchExpressions": [{"key": "a", "operator": "Near"}]}, ["spec.selector.matchExpressions[0].operator"]),
    ({"matchLabels": {"bad key": "x"}}, ["spec.selector.matchLabels"]),
    ({"matchLabels": {"app": "nginx"}}, []),
])
def test_validate_label_selector(sel, fields: list[str]) -> None:
    assert [c.field for c in validate_label_selector(sel, "spec.selector").causes] == fields


@pytest.mark.parametrize("text,values,matches", [
    ("metadata.name=web", {"metadata.name": "web"}, True),
    ("metadata.name==web", {"metadata.name": "web"}, True),
    ("metadata.name!=web", {"metadata.name": "web"}, False),
    ("status.phase=Running,spec.nodeName=n1", {"status.phase": "Running", "spec.nodeName": "n1"}, True),
    ("status.phase=Running,spec.nodeName=n1", {"status.phase": "Running", "spec.nodeName": "n2"}, False),
    ("spec.nodeName=", {"spec.nodeName": ""}, True),
    (r"metadata.name=a\,b", {"metadata.name": "a,b"}, True),
])
def test_field_selectors(text: str, values: dict[str, str], matches: bool) -> None:
    assert parse_field_selector(text).matches(values) is matches


@pytest.mark.parametrize("text", ["metadata.name", "justtext", "a=b,c"])
def test_field_selector_errors(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_field_selector(text)
