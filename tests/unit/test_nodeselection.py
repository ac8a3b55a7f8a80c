"""Node selector terms and a pod's nodeSelector + required node affinity."""

from __future__ import annotations

import pytest

from tinykube.machinery.nodeselection import (
    compile_preferred_terms,
    node_selector_terms_match,
    pod_matches_node_selector_and_affinity,
    preferred_score,
)

NODE = {"metadata": {"name": "node-1", "labels": {
    "zone": "a", "disk": "ssd", "cores": "8", "kubernetes.io/hostname": "node-1"}}}


def expr(key, op, *values):
    out = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out


def term(*exprs, fields=()):
    out = {}
    if exprs:
        out["matchExpressions"] = list(exprs)
    if fields:
        out["matchFields"] = list(fields)
    return out


@pytest.mark.parametrize("terms,expected", [
    # In / NotIn
    ([term(expr("zone", "In", "a", "b"))], True),
    ([term(expr("zone", "In", "b"))], False),
    ([term(expr("missing", "In", "a"))], False),
    ([term(expr("zone", "NotIn", "b"))], True),
    ([term(expr("zone", "NotIn", "a"))], False),
    ([term(expr("missing", "NotIn", "a"))], True),
    # Exists / DoesNotExist
    ([term(expr("disk", "Exists"))], True),
    ([term(expr("gpu", "Exists"))], False),
    ([term(expr("gpu", "DoesNotExist"))], True),
    ([term(expr("disk", "DoesNotExist"))], False),
    # Gt / Lt compare integers
    ([term(expr("cores", "Gt", "4"))], True),
    ([term(expr("cores", "Gt", "8"))], False),
    ([term(expr("cores", "Lt", "16"))], True),
    ([term(expr("cores", "Lt", "8"))], False),
    ([term(expr("zone", "Gt", "1"))], False),  # label not an integer
    ([term(expr("missing", "Lt", "100"))], False),
    # expressions in a term are ANDed
    ([term(expr("zone", "In", "a"), expr("disk", "In", "ssd"))], True),
    ([term(expr("zone", "In", "a"), expr("disk", "In", "hdd"))], False),
    # terms are ORed
    ([term(expr("zone", "In", "b")), term(expr("disk", "In", "ssd"))], True),
    ([term(expr("zone", "In", "b")), term(expr("disk", "In", "hdd"))], False),
    # matchFields: metadata.name only
    ([term(fields=[expr("metadata.name", "In", "node-1")])], True),
    ([term(fields=[expr("metadata.name", "In", "node-2")])], False),
    ([term(fields=[expr("metadata.name", "NotIn", "node-2")])], True),
    ([term(fields=[expr("metadata.uid", "In", "x")])], False),
    # fields and expressions ANDed
    ([term(expr("zone", "In", "a"), fields=[expr("metadata.name", "In", "node-1")])], True),
    ([term(expr("zone", "In", "b"), fields=[expr("metadata.name", "In", "node-1")])], False),
    # empty terms / no terms match nothing
    ([], False),
    ([{}], False),
    ([{"matchExpressions": []}], False),
    ([{}, term(expr("zone", "In", "a"))], True),
    # malformed requirements void their term only
    ([term(expr("zone", "In"))], False),  # In needs values
    ([term(expr("zone", "Exists", "a"))], False),  # Exists takes none
    ([term(expr("cores", "Gt", "four"))], False),
    ([term(expr("cores", "Gt", "1", "2"))], False),
    ([term(expr("zone", "Like", "a"))], False),
    ([term(expr("bad key!", "Exists"))], False),
    ([term(fields=[expr("metadata.name", "In", "node-1", "node-2")])], False),
    ([term(fields=[expr("metadata.name", "Exists")])], False),
    ([term(expr("zone", "Like", "a")), term(expr("zone", "In", "a"))], True),
])
def test_node_selector_terms_match(terms, expected):
    assert node_selector_terms_match(terms, NODE) is expected


def pod(node_selector=None, required=None, preferred=None):
    spec = {"containers": [{"name": "c"}]}
    if node_selector is not None:
        spec["nodeSelector"] = node_selector
    node_affinity = {}
    if required is not None:
        node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": required}
    if preferred is not None:
        node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    if node_affinity:
        spec["affinity"] = {"nodeAffinity": node_affinity}
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("the_pod,expected", [
    (pod(), True),
    (pod(node_selector={}), True),
    (pod(node_selector={"zone": "a"}), True),
    (pod(node_selector={"zone": "a", "disk": "ssd"}), True),
    (pod(node_selector={"zone": "a", "disk": "hdd"}), False),
    (pod(node_selector={"gpu": ""}), False),  # a missing label never equals, even ""
    (pod(required=[term(expr("zone", "In", "a"))]), True),
    (pod(required=[term(expr("zone", "In", "b"))]), False),
    (pod(required=[]), False),  # a required selector without terms matches nothing
    # both must hold
    (pod(node_selector={"zone": "a"}, required=[term(expr("disk", "In", "hdd"))]), False),
    (pod(node_selector={"zone": "b"}, required=[term(expr("disk", "In", "ssd"))]), False),
    (pod(node_selector={"zone": "a"}, required=[term(expr("disk", "In", "ssd"))]), True),
    # preferred terms never filter
    (pod(preferred=[{"weight": 10, "preference": term(expr("zone", "In", "b"))}]), True),
])
def test_pod_matches_node_selector_and_affinity(the_pod, expected):
    assert pod_matches_node_selector_and_affinity(the_pod, NODE) is expected


@pytest.mark.parametrize("preferred,expected", [
    ([], 0),
    ([{"weight": 10, "preference": term(expr("zone", "In", "a"))}], 10),
    ([{"weight": 10, "preference": term(expr("zone", "In", "a"))},
      {"weight": 5, "preference": term(expr("disk", "In", "ssd"))},
      {"weight": 7, "preference": term(expr("disk", "In", "hdd"))}], 15),
    ([{"weight": 0, "preference": term(expr("zone", "In", "a"))}], 0),  # zero weight skipped
    ([{"weight": 3, "preference": {}}], 0),  # empty preference skipped
])
def test_preferred_score(preferred, expected):
    assert preferred_score(compile_preferred_terms(preferred), NODE) == expected


def test_match_fields_are_ignored_for_a_node_without_name():
    """Upstream only consults matchFields when the node has a name."""
    nameless = {"metadata": {"labels": {"zone": "a"}}}
    terms = [term(expr("zone", "In", "a"), fields=[expr("metadata.name", "In", "node-9")])]
    assert node_selector_terms_match(terms, nameless) is True
    assert node_selector_terms_match(terms, NODE) is False
