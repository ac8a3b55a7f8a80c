"""Property tests (hypothesis) on what clients send: label and field selectors, JSON/merge/
strategic patches, quantities. Any input either works or fails with the expected error type
(SelectorError/ValueError, StatusError); nothing else may escape, and what parses round-trips."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinykube.admission import resourcelist as rl
from tinykube.machinery.errors import StatusError
from tinykube.machinery.quantity import parse_quantity
from tinykube.machinery.selectors import SelectorError, label_selector_from_map, parse_field_selector, \
    parse_label_selector
from tinykube.registry import kinds
from tinykube.registry.patching import JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, apply_patch
from tinykube.registry.resources import RESOURCE_INDEX

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SELECTOR_ALPHABET = st.sampled_from(list("abcz019-_./=!,() ") + ["in", "notin", "=="])
selector_text = st.one_of(st.text(max_size=40), st.lists(SELECTOR_ALPHABET, max_size=25).map("".join))
label_key = st.from_regex(r"\A([a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?)?/)?[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,10}[a-zA-Z0-9])?\Z")
label_value = st.from_regex(r"\A([a-zA-Z0-9]([a-zA-Z0-9_.-]{0,10}[a-zA-Z0-9])?)?\Z")
labels = st.dictionaries(label_key, label_value, max_size=5)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=4), max_leaves=20)


@FAST
@given(selector_text, labels)
def test_label_selectors_parse_or_refuse(text: str, values: dict):
    try:
        selector = parse_label_selector(text)
    except (SelectorError, ValueError):
        return
    assert selector.matches(values) in (True, False)
    again = parse_label_selector(str(selector))  # the canonical text parses to the same selector
    assert again.matches(values) == selector.matches(values)


@FAST
@given(labels)
def test_selector_from_labels_matches_them(values: dict):
    selector = label_selector_from_map(values)
    assert selector.matches(values)
    assert parse_label_selector(str(selector)).matches(values)


@FAST
@given(selector_text, st.dictionaries(st.sampled_from(["metadata.name", "spec.nodeName", "status.phase"]),
                                      st.text(max_size=6)))
def test_field_selectors_parse_or_refuse(text: str, values: dict):
    try:
        selector = parse_field_selector(text)
    except (SelectorError, ValueError):
        return
    assert selector.matches(values) in (True, False)


POD = RESOURCE_INDEX.lookup("", "v1", "pods")
DEPLOYMENT = RESOURCE_INDEX.lookup("apps", "v1", "deployments")
LIVE_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d", "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                                     "env": [{"name": "A", "value": "1"}]}]}}
json_patch_ops = st.lists(st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "bogus"]),
     "path": st.sampled_from(["", "/", "/metadata", "/metadata/labels/x", "/spec/containers/0", "/spec/containers/-",
                              "/spec/containers/9/name", "/a~1b", "/metadata/name", "~", "nopath"])},
    optional={"value": json_values, "from": st.sampled_from(["/metadata", "/spec/containers/0", "/nope", ""])}),
    max_size=4)


def patched_object_is_checked(res, obj: dict) -> None:
    """The registry defaults and validates what a patch made: only a 4xx Status may come out."""
    try:
        kinds.apply_defaults(res.group, res.kind, obj)
        kinds.validate(res.group, res.kind, obj, None)
    except StatusError as exc:
        assert 400 <= exc.code < 500


@FAST
@given(st.one_of(json_patch_ops, json_values))
def test_json_patches_apply_or_refuse(body):
    try:
        patched = apply_patch(POD, LIVE_POD, JSON_PATCH, body)
    except StatusError as exc:
        assert exc.code in (400, 422)
        return
    patched_object_is_checked(POD, patched)


@FAST
@given(json_values, st.sampled_from([MERGE_PATCH, STRATEGIC_PATCH]))
def test_merge_patches_apply_or_refuse(body, patch_type: str):
    try:
        patched = apply_patch(POD, LIVE_POD, patch_type, body)
    except StatusError as exc:
        assert exc.code == 400
        return
    patched_object_is_checked(POD, patched)


spec_patches = st.fixed_dictionaries({}, optional={
    "metadata": st.fixed_dictionaries({}, optional={"labels": json_values, "annotations": json_values,
                                                    "name": json_values}),
    "spec": st.fixed_dictionaries({}, optional={
        "containers": st.one_of(json_values, st.lists(st.fixed_dictionaries(
            {"name": st.sampled_from(["c", "d", 5])},
            optional={"image": json_values, "$patch": st.sampled_from(["delete", "replace", "x"]),
                      "ports": json_values, "env": json_values, "resources": json_values}), max_size=3)),
        "$setElementOrder/containers": json_values, "restartPolicy": json_values, "nodeSelector": json_values,
        "tolerations": json_values, "volumes": json_values, "$retainKeys": json_values}),
    "$patch": st.sampled_from(["replace", "delete", "merge", "x"]),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_patches, st.sampled_from([MERGE_PATCH, STRATEGIC_PATCH]))
def test_shaped_patches_apply_or_refuse(body, patch_type: str):
    try:
        patched = apply_patch(POD, LIVE_POD, patch_type, body)
    except StatusError as exc:
        assert exc.code == 400
        return
    patched_object_is_checked(POD, patched)


quantity_text = st.one_of(
    st.text(alphabet="0123456789.+-eEinumkKMGTP", max_size=12),
    st.builds(lambda n, s: f"{n}{s}", st.integers(-10**6, 10**9),
              st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "n", "u", "e3", "E-2"])),
)


@FAST
@given(quantity_text)
def test_quantities_parse_or_refuse_and_round_trip(text: str):
    try:
        q = parse_quantity(text)
    except ValueError:
        return
    canonical = str(q)
    again = parse_quantity(canonical)
    assert str(again) == canonical  # the canonical form is a fixed point
    assert again.value >= q.value and again.value - q.value < Fraction(1, 10**9)  # rounds up below nano only


whole_quantities = st.builds(lambda n, s: f"{n}{s}", st.integers(0, 10**6), st.sampled_from(["", "m", "k", "Mi", "Gi"]))


@FAST
@given(st.dictionaries(st.sampled_from(["cpu", "memory", "pods"]), whole_quantities),
       st.dictionaries(st.sampled_from(["cpu", "memory", "pods"]), whole_quantities))
def test_resource_list_add_subtract_inverse(a: dict, b: dict):
    total = rl.add(a, b)
    back = rl.subtract(total, b)
    assert all(rl.amount(back[k]).value == rl.amount(a.get(k, "0")).value for k in back)
    fits, exceeded = rl.less_than_or_equal(a, total)
    assert fits and not exceeded


@pytest.mark.parametrize("body", [
    [{"op": "add", "path": "/metadata/labels/x"}],  # add without a value
    [{"op": "move", "from": "/nope", "path": "/a"}],
])
def test_json_patch_regressions(body):
    with pytest.raises(StatusError):
        apply_patch(POD, LIVE_POD, JSON_PATCH, body)
