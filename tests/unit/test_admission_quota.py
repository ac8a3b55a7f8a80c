"""Quota arithmetic and usage tables: resource lists, per-object usage, scopes, constraints,
the exceeded-quota text, and LimitRange defaults and limits."""

from __future__ import annotations

import pytest

from tinykube.admission import limits
from tinykube.admission import resourcelist as rl
from tinykube.admission.quota import usage as qu
from tinykube.admission.quota.admission import charged, check


@pytest.mark.parametrize("a, b, total", [
    ({"cpu": "500m"}, {"cpu": "500m"}, {"cpu": "1"}),
    ({"memory": "1Gi"}, {"memory": "512Mi"}, {"memory": "1536Mi"}),
    ({"pods": "1"}, {"cpu": "100m"}, {"pods": "1", "cpu": "100m"}),
    ({}, {"memory": "1024Mi"}, {"memory": "1Gi"}),
    ({"cpu": "0"}, {"cpu": "1.5"}, {"cpu": "1500m"}),
    ({"storage": "1G"}, {"storage": "500M"}, {"storage": "1500M"}),
])
def test_add(a, b, total):
    assert rl.add(a, b) == total


@pytest.mark.parametrize("a, b, diff", [
    ({"cpu": "1"}, {"cpu": "250m"}, {"cpu": "750m"}),
    ({"pods": "1"}, {"pods": "1"}, {"pods": "0"}),
    ({}, {"memory": "1Gi"}, {"memory": "-1Gi"}),
])
def test_subtract(a, b, diff):
    assert rl.subtract(a, b) == diff


@pytest.mark.parametrize("a, b, fits, exceeded", [
    ({"pods": "2"}, {"pods": "2"}, True, []),
    ({"pods": "3"}, {"pods": "2"}, False, ["pods"]),
    ({"cpu": "1001m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}, False, ["cpu"]),
    ({"cpu": "5"}, {"pods": "1"}, True, []),  # only what b limits
])
def test_less_than_or_equal(a, b, fits, exceeded):
    assert rl.less_than_or_equal(a, b) == (fits, exceeded)


@pytest.mark.parametrize("a, b, out", [
    ({"cpu": "1"}, {"cpu": "2"}, {"cpu": "2"}),
    ({"cpu": "3"}, {"cpu": "2", "memory": "1Mi"}, {"cpu": "3", "memory": "1Mi"}),
])
def test_maximum(a, b, out):
    assert rl.maximum(a, b) == out


def test_pretty_mask_zeros_equal():
    assert rl.pretty({"pods": "2", "limits.cpu": "1000m"}) == "limits.cpu=1,pods=2"
    assert rl.mask({"a": "1", "b": "2"}, ["b"]) == {"b": "2"}
    assert rl.remove_zeros({"a": "0", "b": "0.5"}) == {"b": "0.5"}
    assert rl.equal({"cpu": "1000m"}, {"cpu": "1"}) and not rl.equal({"cpu": "1"}, {"memory": "1"})
    assert rl.amount("nonsense").value == 0


def pod(*containers, init=(), phase="", deletion=None, grace=None, deadline=None, overhead=None):
    spec: dict = {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "resources": r} for i, r in enumerate(init)]
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    if overhead:
        spec["overhead"] = overhead
    meta: dict = {"name": "p"}
    if deletion:
        meta.update(deletionTimestamp=deletion, deletionGracePeriodSeconds=grace)
    return {"metadata": meta, "spec": spec, "status": {"phase": phase} if phase else {}}


NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize("obj, expected", [
    (pod({}), {"count/pods": "1", "pods": "1"}),
    (pod({"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}, {"requests": {"cpu": "300m", "memory": "1Gi"}}),
     {"count/pods": "1", "pods": "1", "cpu": "400m", "requests.cpu": "400m", "memory": "1Gi",
      "requests.memory": "1Gi", "limits.cpu": "200m"}),
    # an init container larger than the sum of the app containers sets the pod's request
    (pod({"requests": {"cpu": "100m"}}, init=({"requests": {"cpu": "1"}},)),
     {"count/pods": "1", "pods": "1", "cpu": "1", "requests.cpu": "1"}),
    (pod({"requests": {"cpu": "100m"}}, overhead={"cpu": "50m"}),
     {"count/pods": "1", "pods": "1", "cpu": "150m", "requests.cpu": "150m"}),
    # terminal pods only count as objects
    (pod({"requests": {"cpu": "1"}}, phase="Succeeded"), {"count/pods": "1"}),
    (pod({"requests": {"cpu": "1"}}, phase="Failed"), {"count/pods": "1"}),
    # terminating past deletionTimestamp + grace: free; still within: counted
    (pod({}, deletion="2027-01-15T07:00:00Z", grace=30), {"count/pods": "1"}),
    (pod({}, deletion="2027-01-15T07:59:50Z", grace=30), {"count/pods": "1", "pods": "1"}),
])
def test_pod_usage(obj, expected):
    assert qu.usage("", "pods", obj, NOW) == expected


@pytest.mark.parametrize("group, plural, obj, expected", [
    ("", "services", {"spec": {"type": "NodePort", "ports": [{}, {}]}},
     {"count/services": "1", "services": "1", "services.nodeports": "2"}),
    ("", "services", {"spec": {"type": "LoadBalancer", "ports": [{}]}},
     {"count/services": "1", "services": "1", "services.loadbalancers": "1", "services.nodeports": "1"}),
    ("", "services", {"spec": {}}, {"count/services": "1", "services": "1"}),
    ("", "persistentvolumeclaims",
     {"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1024Mi"}}}},
     {"count/persistentvolumeclaims": "1", "persistentvolumeclaims": "1", "requests.storage": "1Gi",
      "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
      "fast.storageclass.storage.k8s.io/requests.storage": "1Gi"}),
    ("", "configmaps", {}, {"count/configmaps": "1", "configmaps": "1"}),
    ("apps", "deployments", {}, {"count/deployments.apps": "1"}),
])
def test_other_usage(group, plural, obj, expected):
    assert qu.usage(group, plural, obj, NOW) == expected


@pytest.mark.parametrize("group, plural, name, tracked", [
    ("", "pods", "pods", True), ("", "pods", "requests.cpu", True), ("", "pods", "limits.memory", True),
    ("", "pods", "cpu", True), ("", "pods", "count/pods", True), ("", "pods", "requests.storage", False),
    ("", "pods", "services", False), ("", "persistentvolumeclaims", "requests.storage", True),
    ("apps", "deployments", "count/deployments.apps", True), ("apps", "deployments", "count/deployments", False),
    ("", "secrets", "secrets", True), ("", "secrets", "configmaps", False),
])
def test_tracks(group, plural, name, tracked):
    assert qu.tracks(group, plural, name) is tracked


BEST_EFFORT = pod({})
BURSTABLE = pod({"requests": {"cpu": "1"}})
TERMINATING = pod({}, deadline=60)


@pytest.mark.parametrize("scopes, obj, matches", [
    ([], BEST_EFFORT, True),
    (["BestEffort"], BEST_EFFORT, True), (["BestEffort"], BURSTABLE, False),
    (["NotBestEffort"], BURSTABLE, True), (["NotBestEffort"], BEST_EFFORT, False),
    (["Terminating"], TERMINATING, True), (["Terminating"], BEST_EFFORT, False),
    (["NotTerminating"], BEST_EFFORT, True), (["NotTerminating", "BestEffort"], TERMINATING, False),
])
def test_scopes(scopes, obj, matches):
    assert qu.matches_scopes({"spec": {"scopes": scopes}}, "", "pods", obj) is matches


def test_scoped_quota_covers_only_pods_and_selector_scopes():
    assert not qu.matches_scopes({"spec": {"scopes": ["BestEffort"]}}, "", "configmaps", {})
    selector = {"spec": {"scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}}
    high = {"spec": {"priorityClassName": "high", "containers": []}}
    assert qu.matches_scopes(selector, "", "pods", high)
    assert not qu.matches_scopes(selector, "", "pods", BEST_EFFORT)


def test_total_usage_masks_to_the_quota():
    quota = {"spec": {"hard": {"pods": "10", "requests.cpu": "4", "secrets": "1"}}}
    pods = [BURSTABLE, BURSTABLE, pod({}, phase="Succeeded")]
    assert qu.total_usage(quota, "", "pods", pods, NOW) == {"pods": "2", "requests.cpu": "2"}


@pytest.mark.parametrize("obj, required, message", [
    (pod({}), ["pods"], None),
    (pod({}), ["limits.cpu", "pods"], "must specify limits.cpu for: c0"),
    (pod({"requests": {"cpu": "1"}}, {}), ["cpu", "memory"], "must specify cpu for: c1; memory for: c0,c1"),
    (pod({"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}),
     ["requests.memory", "limits.memory"], None),
])
def test_missing_container_resources(obj, required, message):
    assert qu.missing_container_resources(obj, required) == message


def test_check_and_charge():
    quota = {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}}
    assert check(quota, {"pods": "1"}, {"pods": "1", "requests.cpu": "0"}) is None
    assert check(quota, {"pods": "1", "requests.cpu": "500m"}, {"pods": "2", "requests.cpu": "1"}) == (
        "exceeded quota: q, requested: pods=1,requests.cpu=500m, used: pods=2,requests.cpu=1, "
        "limited: pods=2,requests.cpu=1")
    assert charged(quota, {"pods": "1"}, {"pods": "1"})["status"] == {
        "hard": {"pods": "2", "requests.cpu": "1"}, "used": {"pods": "2"}}


LIMIT_RANGE = {"spec": {"limits": [
    {"type": "Container", "max": {"cpu": "500m"}, "min": {"cpu": "50m"}, "maxLimitRequestRatio": {"cpu": "4"},
     "default": {"cpu": "200m"}, "defaultRequest": {"cpu": "100m"}},
    {"type": "Pod", "max": {"memory": "1Gi"}},
    {"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}},
]}}


def test_limit_range_defaults_and_annotation():
    obj = pod({}, {"limits": {"cpu": "300m"}})
    limits.apply_defaults(obj, LIMIT_RANGE)
    c0, c1 = obj["spec"]["containers"]
    assert c0["resources"] == {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}
    assert c1["resources"] == {"requests": {"cpu": "100m"}, "limits": {"cpu": "300m"}}
    assert obj["metadata"]["annotations"][limits.ANNOTATION] == (
        "LimitRanger plugin set: cpu request for container c0; cpu limit for container c0; "
        "cpu request for container c1")


@pytest.mark.parametrize("resources, messages", [
    ({"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}, []),
    ({"requests": {"cpu": "100m"}, "limits": {"cpu": "1"}},
     ["maximum cpu usage per Container is 500m, but limit is 1",
      "cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000"]),
    ({"requests": {"cpu": "10m"}, "limits": {"cpu": "20m"}}, ["minimum cpu usage per Container is 50m, but request is 10m"]),
    ({}, ["minimum cpu usage per Container is 50m.  No request is specified",
          "maximum cpu usage per Container is 500m.  No limit is specified",
          "cpu max limit to request ratio per Container is 4, but no request is specified or request is 0"]),
])
def test_container_limits(resources, messages):
    container_only = {"spec": {"limits": LIMIT_RANGE["spec"]["limits"][:1]}}
    assert limits.pod_violations(pod(resources), container_only) == messages


def test_pod_limits_sum_containers():
    big = pod({"requests": {"cpu": "100m"}, "limits": {"cpu": "200m", "memory": "600Mi"}},
              {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m", "memory": "600Mi"}})
    pod_only = {"spec": {"limits": LIMIT_RANGE["spec"]["limits"][1:2]}}
    assert limits.pod_violations(big, pod_only) == [
        "maximum memory usage per Pod is 1Gi, but limit is 1200Mi"]


@pytest.mark.parametrize("storage, messages", [
    ("1Gi", []), ("3Gi", ["maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi"]),
    ("500Mi", ["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]),
])
def test_claim_limits(storage, messages):
    claim = {"spec": {"resources": {"requests": {"storage": storage}}}}
    assert limits.claim_violations(claim, LIMIT_RANGE) == messages


def test_aggregate():
    assert limits.aggregate(["a"]) == "a"
    assert limits.aggregate(["a", "b", "a"]) == "[a, b]"
