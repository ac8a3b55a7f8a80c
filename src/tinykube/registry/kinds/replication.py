"""core/v1 ReplicationController: a map selector defaulted from its template's labels."""

from __future__ import annotations

from tinykube.machinery.errors import FieldErrors
from tinykube.machinery.jsoncopy import json_copy
from tinykube.registry.kinds import gotypes
from tinykube.registry.kinds.common import Obj, as_dict, default, ensure_dict, invalid_rendered, nonnegative
from tinykube.registry.kinds.controllers import (
    MISMATCH,
    template_labels,
    validate_replica_counts,
    validate_restart_always,
)
from tinykube.registry.kinds.pod_defaults import default_pod_template
from tinykube.registry.kinds.podspec import validate_pod_template


def default_replication_controller(rc: Obj) -> None:
    """SetDefaults_ReplicationController: selector and labels from the template's labels, 1 replica."""
    spec = ensure_dict(rc, "spec")
    labels = template_labels(spec.get("template"))
    if isinstance(labels, dict):
        if not spec.get("selector"):
            spec["selector"] = json_copy(labels)
        meta = ensure_dict(rc, "metadata")
        if not meta.get("labels"):
            meta["labels"] = json_copy(labels)
    default(spec, "replicas", 1)
    default_pod_template(spec.get("template"))


def validate_replication_controller(rc: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    spec = as_dict(rc.get("spec"))
    nonnegative(errs, spec.get("minReadySeconds"), "spec.minReadySeconds")
    selector = as_dict(spec.get("selector"))
    if not selector:
        errs.required("spec.selector")
    nonnegative(errs, spec.get("replicas"), "spec.replicas")
    template = spec.get("template")
    if not isinstance(template, dict):
        errs.required("spec.template")
        return errs
    labels = template_labels(template)
    if selector and any(as_dict(labels).get(k) != v for k, v in selector.items()):
        invalid_rendered(errs, "spec.template.metadata.labels", gotypes.string_map(labels), MISMATCH)
    validate_pod_template(errs, template, "spec.template")
    validate_restart_always(errs, template, "spec.template", "ReplicationController")
    return errs


def validate_replication_controller_status(rc: Obj, old: Obj) -> FieldErrors:
    errs = FieldErrors()
    validate_replica_counts(errs, as_dict(rc.get("status")), ("fullyLabeledReplicas", "readyReplicas",
                                                             "availableReplicas", "observedGeneration"))
    return errs
