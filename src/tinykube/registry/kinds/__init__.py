"""Per-kind defaulting and validation, as upstream's defaults.go, validation.go and registry
strategies do them, so that stored objects look as on a real cluster and bad ones are refused
with upstream's field causes.

The registry calls, for a served (group, kind):

* `apply_defaults(group, kind, obj)` on every write, after the server set uid and timestamps;
  it mutates in place and is idempotent.
* `validate(group, kind, obj, old)` on create (`old` None) and update; the caller validates the
  top-level ObjectMeta itself.
* `validate_status(group, kind, obj, old)` on writes to the status subresource.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from tinykube.machinery import errors
from tinykube.machinery.errors import Cause, FieldErrors
from tinykube.registry.kinds import (
    apps, autoscaling, batch, claims, configdata, coordination, core, discovery, pod, rbac, replication, service,
    storage,
)
from tinykube.registry.kinds.pod import add_default_tolerations

__all__ = ["apply_defaults", "validate", "validate_status", "add_default_tolerations"]

Obj = dict[str, Any]
Defaulter = Callable[[Obj], None]
Validator = Callable[[Obj, "Obj | None"], FieldErrors]
StatusValidator = Callable[[Obj, Obj], FieldErrors]

DEFAULTERS: dict[tuple[str, str], Defaulter] = {
    ("", "Pod"): pod.default_pod,
    ("", "Service"): service.default_service,
    ("", "Namespace"): core.default_namespace,
    ("", "Node"): core.default_node,
    ("", "Endpoints"): core.default_endpoints,
    ("", "Secret"): configdata.default_secret,
    ("", "LimitRange"): core.default_limit_range,
    ("", "PersistentVolume"): claims.default_volume,
    ("", "PersistentVolumeClaim"): claims.default_claim,
    ("", "ReplicationController"): replication.default_replication_controller,
    ("apps", "Deployment"): apps.default_deployment,
    ("apps", "ReplicaSet"): apps.default_replica_set,
    ("apps", "StatefulSet"): apps.default_stateful_set,
    ("apps", "DaemonSet"): apps.default_daemon_set,
    ("batch", "Job"): batch.default_job,
    ("batch", "CronJob"): batch.default_cron_job,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.default_hpa,
    ("rbac.authorization.k8s.io", "RoleBinding"): rbac.default_subjects,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): rbac.default_subjects,
    ("storage.k8s.io", "StorageClass"): storage.default_storage_class,
    ("discovery.k8s.io", "EndpointSlice"): discovery.default_endpoint_slice,
}

VALIDATORS: dict[tuple[str, str], Validator] = {
    ("", "Pod"): pod.validate_pod,
    ("", "Service"): service.validate_service,
    ("", "Namespace"): core.validate_namespace,
    ("", "Node"): core.validate_node,
    ("", "Endpoints"): core.validate_endpoints,
    ("", "Event"): core.validate_event,
    ("", "ConfigMap"): configdata.validate_config_map,
    ("", "Secret"): configdata.validate_secret,
    ("", "LimitRange"): core.validate_limit_range,
    ("", "ResourceQuota"): core.validate_resource_quota,
    ("", "PersistentVolume"): claims.validate_volume,
    ("", "PersistentVolumeClaim"): claims.validate_claim,
    ("", "ReplicationController"): replication.validate_replication_controller,
    ("apps", "Deployment"): apps.validate_deployment,
    ("apps", "ReplicaSet"): apps.validate_replica_set,
    ("apps", "StatefulSet"): apps.validate_stateful_set,
    ("apps", "DaemonSet"): apps.validate_daemon_set,
    ("apps", "ControllerRevision"): apps.validate_controller_revision,
    ("batch", "Job"): batch.validate_job,
    ("batch", "CronJob"): batch.validate_cron_job,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.validate_hpa,
    ("coordination.k8s.io", "Lease"): coordination.validate_lease,
    ("events.k8s.io", "Event"): core.validate_events_api_event,
    ("rbac.authorization.k8s.io", "Role"): rbac.validate_role,
    ("rbac.authorization.k8s.io", "ClusterRole"): rbac.validate_cluster_role,
    ("rbac.authorization.k8s.io", "RoleBinding"): rbac.validate_role_binding,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): rbac.validate_cluster_role_binding,
    ("storage.k8s.io", "StorageClass"): storage.validate_storage_class,
    ("discovery.k8s.io", "EndpointSlice"): discovery.validate_endpoint_slice,
}

STATUS_VALIDATORS: dict[tuple[str, str], StatusValidator] = {
    ("", "Pod"): pod.validate_pod_status,
    ("", "Namespace"): core.validate_namespace_status,
    ("", "ReplicationController"): replication.validate_replication_controller_status,
    ("apps", "Deployment"): apps.validate_deployment_status,
    ("apps", "ReplicaSet"): apps.validate_replica_set_status,
    ("apps", "StatefulSet"): apps.validate_stateful_set_status,
    ("apps", "DaemonSet"): apps.validate_daemon_set_status,
    ("batch", "Job"): batch.validate_job_status,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.validate_hpa_status,
}


# Kinds whose defaults are all outside `status` (in the spec, a template, metadata). A write to
# /status takes everything but the status from the stored object, which was defaulted when it
# was written, so defaulting it again only costs: a pod's spec, walked on each of the kubelet's
# status writes.
NO_STATUS_DEFAULTS = frozenset({
    ("", "Pod"), ("", "ReplicationController"), ("apps", "Deployment"), ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("batch", "Job"), ("batch", "CronJob"),
})


def apply_defaults(group: str, kind: str, obj: dict) -> None:
    """Fill in upstream's defaults for this kind, in place (idempotent)."""
    defaulter = DEFAULTERS.get((group, kind))
    if defaulter is not None:
        with _decodable(kind, obj):
            defaulter(obj)


def apply_status_defaults(group: str, kind: str, obj: dict) -> None:
    """Defaults for an object written through /status (see NO_STATUS_DEFAULTS)."""
    if (group, kind) not in NO_STATUS_DEFAULTS:
        apply_defaults(group, kind, obj)


def validate(group: str, kind: str, obj: dict, old: dict | None) -> list[Cause]:
    """The field causes upstream would refuse this create (old None) or update with."""
    validator = VALIDATORS.get((group, kind))
    if validator is None:
        return []
    with _decodable(kind, obj):
        return validator(obj, old).causes


def validate_status(group: str, kind: str, obj: dict, old: dict) -> list[Cause]:
    """The field causes upstream would refuse this status write with."""
    validator = STATUS_VALIDATORS.get((group, kind))
    if validator is None:
        return []
    with _decodable(kind, obj):
        return validator(obj, old).causes


@contextmanager
def _decodable(kind: str, obj: dict) -> Iterator[None]:
    """A field of the wrong JSON type never reaches upstream's defaulting or validation: decoding
    into the Go type refuses it (400). The rules here assume well-typed objects, so a type
    mismatch met on the way is answered the same way."""
    try:
        yield
    except (TypeError, AttributeError) as exc:
        version = obj.get("apiVersion", "v1") if isinstance(obj, dict) else "v1"
        version = version.rpartition("/")[2] if isinstance(version, str) else "v1"
        raise errors.bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                                 "json: cannot unmarshal a value of the wrong type into a field") from exc
