"""Mistyped values worded as the Go JSON decoder of a real API server words them."""

from __future__ import annotations

import pytest

from tinykube.machinery.schema import SchemaNode
from tinykube.machinery.typecheck import first_type_error

POD = ("", "v1", "Pod")
DEPLOYMENT = ("apps", "v1", "Deployment")


@pytest.mark.parametrize("kind, obj, message", [
    (POD, {"metadata": {"labels": {"enabled": True}}},
     "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"),
    (POD, {"spec": {"containers": [{"name": "c", "image": 5}]}},
     "json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string"),
    (POD, {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}},
     "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort "
     "of type int32"),
    (POD, {"spec": "x"}, "json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec"),
    (POD, {"spec": {"containers": {"name": "x"}}},
     "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"),
    (POD, {"spec": {"hostNetwork": "yes"}},
     "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
    (POD, {"spec": {"terminationGracePeriodSeconds": 1.5}},
     "json: cannot unmarshal number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds "
     "of type int64"),
    (DEPLOYMENT, {"spec": {"replicas": "3"}},
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    (DEPLOYMENT, {"spec": {"template": {"metadata": {"annotations": {"n": 1}}}}},
     "json: cannot unmarshal number into Go struct field ObjectMeta.spec.template.metadata.annotations "
     "of type string"),
])
def test_first_type_error(kind, obj, message):
    assert first_type_error(obj, SchemaNode.for_kind(*kind)) == message


@pytest.mark.parametrize("kind, obj", [
    (POD, {"metadata": {"labels": {"a": "b"}, "creationTimestamp": None}}),
    (POD, {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]}}),
    (DEPLOYMENT, {"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}}}),
    (POD, {"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": "http"}}}]}}),
    (POD, {"spec": {"nodeSelector": None, "unknownField": 3}}),
])
def test_well_typed_or_custom_decoded_values_pass(kind, obj):
    assert first_type_error(obj, SchemaNode.for_kind(*kind)) is None


def test_first_mistake_in_document_order_wins():
    obj = {"spec": {"hostNetwork": "yes"}, "metadata": {"labels": {"a": 1}}}
    assert "PodSpec.spec.hostNetwork" in first_type_error(obj, SchemaNode.for_kind(*POD))
