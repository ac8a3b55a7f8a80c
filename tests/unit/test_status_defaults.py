"""The kinds whose /status writes skip defaulting really have no defaults under `status`:
defaulting one of them, with a status that leaves every field out, changes nothing there."""

from __future__ import annotations

import copy

import pytest

from tinykube.registry import kinds

TEMPLATE = {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}
SPECS = {
    "Pod": TEMPLATE["spec"],
    "ReplicationController": {"selector": {"app": "x"}, "template": TEMPLATE},
    "Deployment": {"selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE},
    "ReplicaSet": {"selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE},
    "StatefulSet": {"selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE, "serviceName": "x",
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
    "DaemonSet": {"selector": {"matchLabels": {"app": "x"}}, "template": TEMPLATE},
    "Job": {"template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}},
    "CronJob": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}},
}


@pytest.mark.parametrize("group, kind", sorted(kinds.NO_STATUS_DEFAULTS))
@pytest.mark.parametrize("status", [{}, {"replicas": 0}, {"phase": "Pending", "conditions": []}])
def test_defaulting_leaves_the_status_alone(group: str, kind: str, status: dict) -> None:
    obj = {"apiVersion": f"{group}/v1" if group else "v1", "kind": kind,
           "metadata": {"name": "x", "namespace": "default", "uid": "u", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": copy.deepcopy(SPECS[kind]), "status": copy.deepcopy(status)}
    kinds.apply_defaults(group, kind, obj)
    assert obj["status"] == status
    assert obj["spec"] != SPECS[kind] or kind == "CronJob"  # the defaulter did run (on the spec)


def test_kinds_with_status_defaults_are_still_defaulted_on_status_writes() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "uid": "u"}, "status": {}}
    kinds.apply_status_defaults("", "Namespace", namespace)
    assert namespace["status"] == {"phase": "Active"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x", "uid": "u"},
           "spec": copy.deepcopy(SPECS["Pod"]), "status": {}}
    kinds.apply_status_defaults("", "Pod", pod)
    assert pod["spec"] == SPECS["Pod"]  # taken from the stored (defaulted) pod as it is
