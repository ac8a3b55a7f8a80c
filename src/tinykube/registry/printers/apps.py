"""Tables for the apps group."""

from __future__ import annotations

from datetime import datetime

from tinykube.machinery import selectors as _selector
from tinykube.registry.printers._common import (
    NONE, READY_PODS, Cells, ColumnSpec, Obj, age, age_col, as_dict, as_int, as_list,
    container_cells, container_cols, dig, format_labels, name_col, name_of,
)

DEPLOYMENT_COLUMNS = (
    name_col(),
    ColumnSpec("Ready", text=READY_PODS),
    ColumnSpec("Up-to-date", doc="apps.v1.DeploymentStatus.updatedReplicas"),
    ColumnSpec("Available", doc="apps.v1.DeploymentStatus.availableReplicas"),
    age_col(),
    *container_cols("apps.v1.DeploymentSpec.selector"),
)

REPLICASET_COLUMNS = (
    name_col(),
    ColumnSpec("Desired", "integer", doc="apps.v1.ReplicaSetSpec.replicas"),
    ColumnSpec("Current", "integer", doc="apps.v1.ReplicaSetStatus.replicas"),
    ColumnSpec("Ready", "integer", doc="apps.v1.ReplicaSetStatus.readyReplicas"),
    age_col(),
    *container_cols("apps.v1.ReplicaSetSpec.selector"),
)

STATEFULSET_COLUMNS = (
    name_col(),
    ColumnSpec("Ready", text=READY_PODS),
    age_col(),
    *container_cols(),
)

DAEMONSET_COLUMNS = (
    name_col(),
    ColumnSpec("Desired", "integer", doc="apps.v1.DaemonSetStatus.desiredNumberScheduled"),
    ColumnSpec("Current", "integer", doc="apps.v1.DaemonSetStatus.currentNumberScheduled"),
    ColumnSpec("Ready", "integer", doc="apps.v1.DaemonSetStatus.numberReady"),
    ColumnSpec("Up-to-date", "integer", doc="apps.v1.DaemonSetStatus.updatedNumberScheduled"),
    ColumnSpec("Available", "integer", doc="apps.v1.DaemonSetStatus.numberAvailable"),
    ColumnSpec("Node Selector", doc="core.v1.PodSpec.nodeSelector"),
    age_col(),
    *container_cols("apps.v1.DaemonSetSpec.selector"),
)

CONTROLLER_REVISION_COLUMNS = (
    name_col(),
    ColumnSpec("Controller", text="Controller of the object"),
    ColumnSpec("Revision", doc="apps.v1.ControllerRevision.revision"),
    age_col(),
)


def _replicas(obj: Obj) -> int:
    """spec.replicas, which upstream defaulting sets to 1 when omitted."""
    return as_int(dig(obj, "spec", "replicas", default=1))


def _template_spec(obj: Obj) -> Obj:
    return as_dict(dig(obj, "spec", "template", "spec"))


def deployment_selector(selector: object) -> str:
    """The selector's String(): "" when empty, "<invalid>" when it cannot be parsed."""
    try:
        return _selector.selector_string(selector)
    except _selector.SelectorError:
        return "<invalid>"


def deployment_cells(deploy: Obj, now: datetime) -> Cells:
    names, images = container_cells(_template_spec(deploy))
    return [
        name_of(deploy), f"{as_int(dig(deploy, 'status', 'readyReplicas'))}/{_replicas(deploy)}",
        as_int(dig(deploy, "status", "updatedReplicas")), as_int(dig(deploy, "status", "availableReplicas")),
        age(deploy, now), names, images, deployment_selector(dig(deploy, "spec", "selector")),
    ]


def replicaset_cells(rs: Obj, now: datetime) -> Cells:
    names, images = container_cells(_template_spec(rs))
    return [
        name_of(rs), _replicas(rs), as_int(dig(rs, "status", "replicas")),
        as_int(dig(rs, "status", "readyReplicas")), age(rs, now), names, images,
        _selector.format_label_selector(dig(rs, "spec", "selector")),
    ]


def statefulset_cells(sts: Obj, now: datetime) -> Cells:
    names, images = container_cells(_template_spec(sts))
    ready = f"{as_int(dig(sts, 'status', 'readyReplicas'))}/{_replicas(sts)}"
    return [name_of(sts), ready, age(sts, now), names, images]


def daemonset_cells(ds: Obj, now: datetime) -> Cells:
    status = as_dict(ds.get("status"))
    names, images = container_cells(_template_spec(ds))
    counts = [as_int(status.get(key)) for key in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable")]
    return [
        name_of(ds), *counts, format_labels(_template_spec(ds).get("nodeSelector")), age(ds, now),
        names, images, _selector.format_label_selector(dig(ds, "spec", "selector")),
    ]


def _group_of(api_version: str) -> str:
    """schema.ParseGroupVersion's group: "apps" for "apps/v1", "" for "v1"."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def controller_name(obj: Obj) -> str:
    """The controlling owner as "kind.group/name" (lower-cased kind), "<none>" without one."""
    for ref in as_list(dig(obj, "metadata", "ownerReferences")):
        ref = as_dict(ref)
        if ref.get("controller") is True:
            kind, group = str(ref.get("kind", "")), _group_of(str(ref.get("apiVersion", "")))
            group_kind = f"{kind}.{group}" if group else kind
            name = str(ref.get("name", ""))
            return f"{group_kind.lower()}/{name}" if group_kind else name
    return NONE


def controller_revision_cells(rev: Obj, now: datetime) -> Cells:
    return [name_of(rev), controller_name(rev), as_int(rev.get("revision")), age(rev, now)]


PRINTERS = {
    ("apps", "deployments"): (DEPLOYMENT_COLUMNS, deployment_cells),
    ("apps", "replicasets"): (REPLICASET_COLUMNS, replicaset_cells),
    ("apps", "statefulsets"): (STATEFULSET_COLUMNS, statefulset_cells),
    ("apps", "daemonsets"): (DAEMONSET_COLUMNS, daemonset_cells),
    ("apps", "controllerrevisions"): (CONTROLLER_REVISION_COLUMNS, controller_revision_cells),
}
