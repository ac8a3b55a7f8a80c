"""Taint/toleration matching shared by the scheduler and the node lifecycle controller."""

from __future__ import annotations

import pytest

from tinykube.machinery.taints import find_untolerated_taint, min_toleration_seconds, tolerates

NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
SOFT = {"key": "soft", "value": "x", "effect": "PreferNoSchedule"}


@pytest.mark.parametrize("toleration,taint,expected", [
    # key and value must match with Equal (the default operator)
    ({"key": "gpu", "value": "true"}, GPU, True),
    ({"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, GPU, True),
    ({"key": "gpu", "value": "false"}, GPU, False),
    ({"key": "gpu"}, GPU, False),  # empty value != "true"
    ({"key": "other", "value": "true"}, GPU, False),
    # Exists ignores the value
    ({"key": "gpu", "operator": "Exists"}, GPU, True),
    ({"key": "gpu", "operator": "Exists", "value": "ignored"}, GPU, True),
    # effect: empty matches all, otherwise must be equal
    ({"key": "gpu", "operator": "Exists", "effect": "NoExecute"}, GPU, False),
    ({"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}, GPU, True),
    # empty key with Exists tolerates every taint (of the effect, if given)
    ({"operator": "Exists"}, GPU, True),
    ({"operator": "Exists"}, NOT_READY, True),
    ({"operator": "Exists", "effect": "NoSchedule"}, NOT_READY, False),
    # a taint without value matches an Equal toleration without value
    ({"key": "node.kubernetes.io/not-ready", "operator": "Equal"}, NOT_READY, True),
    # unknown operators tolerate nothing
    ({"key": "gpu", "operator": "Gt", "value": "0"}, GPU, False),
])
def test_tolerates(toleration, taint, expected):
    assert tolerates(toleration, taint) is expected


@pytest.mark.parametrize("taints,tolerations,effects,expected", [
    ([], [], None, None),
    ([GPU], [], None, GPU),
    ([GPU], [{"key": "gpu", "operator": "Exists"}], None, None),
    # only the requested effects are considered
    ([SOFT, GPU], [], {"NoSchedule", "NoExecute"}, GPU),
    ([SOFT], [], {"NoSchedule", "NoExecute"}, None),
    ([SOFT], [], None, SOFT),
    # the first untolerated taint in node order
    ([NOT_READY, UNREACHABLE], [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}], None, UNREACHABLE),
    ([UNREACHABLE, NOT_READY], [], {"NoExecute"}, UNREACHABLE),
])
def test_find_untolerated_taint(taints, tolerations, effects, expected):
    assert find_untolerated_taint(taints, tolerations, effects) == expected


def tol(key, seconds=None, effect="NoExecute"):
    out = {"key": key, "operator": "Exists", "effect": effect}
    if seconds is not None:
        out["tolerationSeconds"] = seconds
    return out


@pytest.mark.parametrize("taints,tolerations,expected", [
    ([], [], None),  # nothing to evict for
    ([NOT_READY], [], 0),  # untolerated: evict now
    ([NOT_READY], [tol("node.kubernetes.io/not-ready")], None),  # tolerated forever
    ([NOT_READY], [tol("node.kubernetes.io/not-ready", 300)], 300),
    ([NOT_READY, UNREACHABLE],
     [tol("node.kubernetes.io/not-ready", 300), tol("node.kubernetes.io/unreachable", 60)], 60),
    ([NOT_READY, UNREACHABLE], [tol("node.kubernetes.io/not-ready", 300)], 0),  # one untolerated
    ([NOT_READY], [tol("node.kubernetes.io/not-ready", 0)], 0),
    ([NOT_READY], [tol("node.kubernetes.io/not-ready", -5)], 0),
    # only the first toleration matching each taint counts
    ([NOT_READY], [tol("node.kubernetes.io/not-ready"), tol("node.kubernetes.io/not-ready", 10)], None),
    ([NOT_READY], [tol("node.kubernetes.io/not-ready", 10), tol("node.kubernetes.io/not-ready")], 10),
    # a blanket toleration covers every taint
    ([NOT_READY, UNREACHABLE], [{"operator": "Exists"}], None),
])
def test_min_toleration_seconds(taints, tolerations, expected):
    assert min_toleration_seconds(taints, tolerations) == expected
