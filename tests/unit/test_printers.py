"""Server-side printing: columns and cells as upstream's kubectl tables show them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tinykube.registry.printers import Column, columns_for, human_duration, row_cells

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def ago(seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0) -> str:
    """An RFC 3339 timestamp that far before NOW."""
    moment = NOW - timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str = "x", created: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "namespace": "default", **extra}
    if created is not None:
        out["creationTimestamp"] = created
    return out


def cell(group: str, resource: str, obj: dict[str, Any], column: str) -> Any:
    """The cell of `obj` under the named column."""
    names = [c.name for c in columns_for(group, resource)]
    return row_cells(group, resource, obj, NOW)[names.index(column)]


# ============================================================================ durations


@pytest.mark.parametrize(("seconds", "expected"), [
    (-5, "<invalid>"),
    (-2, "<invalid>"),
    (-1.5, "0s"),
    (0, "0s"),
    (0.9, "0s"),
    (59, "59s"),
    (119, "119s"),
    (120, "2m"),
    (150, "2m30s"),
    (599, "9m59s"),
    (600, "10m"),
    (179 * 60 + 59, "179m"),
    (3 * 3600, "3h"),
    (3 * 3600 + 30 * 60, "3h30m"),
    (7 * 3600 + 59 * 60 + 59, "7h59m"),
    (8 * 3600, "8h"),
    (47 * 3600, "47h"),
    (48 * 3600, "2d"),
    (2 * 86400 + 5 * 3600, "2d5h"),
    (7 * 86400 + 23 * 3600, "7d23h"),
    (8 * 86400, "8d"),
    (45 * 86400, "45d"),
    (729 * 86400, "729d"),
    (730 * 86400, "2y"),
    (730 * 86400 + 10 * 86400, "2y10d"),
    (8 * 365 * 86400 - 3600, "7y364d"),
    (8 * 365 * 86400, "8y"),
    (11 * 365 * 86400 + 40 * 86400, "11y"),
])
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


# ============================================================================ columns

S, I, B = "string", "integer", "boolean"
CONTAINERS_WIDE = [("Containers", S, 1), ("Images", S, 1)]
TEMPLATE_WIDE = CONTAINERS_WIDE + [("Selector", S, 1)]

EXPECTED_COLUMNS = {
    ("", "pods"): [("Name", S, 0), ("Ready", S, 0), ("Status", S, 0), ("Restarts", S, 0), ("Age", S, 0),
                   ("IP", S, 1), ("Node", S, 1), ("Nominated Node", S, 1), ("Readiness Gates", S, 1)],
    ("", "nodes"): [("Name", S, 0), ("Status", S, 0), ("Roles", S, 0), ("Age", S, 0), ("Version", S, 0),
                    ("Internal-IP", S, 1), ("External-IP", S, 1), ("OS-Image", S, 1),
                    ("Kernel-Version", S, 1), ("Container-Runtime", S, 1)],
    ("", "namespaces"): [("Name", S, 0), ("Status", S, 0), ("Age", S, 0)],
    ("", "services"): [("Name", S, 0), ("Type", S, 0), ("Cluster-IP", S, 0), ("External-IP", S, 0),
                       ("Port(s)", S, 0), ("Age", S, 0), ("Selector", S, 1)],
    ("", "endpoints"): [("Name", S, 0), ("Endpoints", S, 0), ("Age", S, 0)],
    ("", "events"): [("Last Seen", S, 0), ("Type", S, 0), ("Reason", S, 0), ("Object", S, 0),
                     ("Subobject", S, 1), ("Source", S, 1), ("Message", S, 0), ("First Seen", S, 1),
                     ("Count", S, 1), ("Name", S, 1)],
    ("", "configmaps"): [("Name", S, 0), ("Data", S, 0), ("Age", S, 0)],
    ("", "secrets"): [("Name", S, 0), ("Type", S, 0), ("Data", S, 0), ("Age", S, 0)],
    ("", "serviceaccounts"): [("Name", S, 0), ("Secrets", S, 0), ("Age", S, 0)],
    ("", "persistentvolumes"): [("Name", S, 0), ("Capacity", S, 0), ("Access Modes", S, 0),
                                ("Reclaim Policy", S, 0), ("Status", S, 0), ("Claim", S, 0),
                                ("StorageClass", S, 0), ("VolumeAttributesClass", S, 0), ("Reason", S, 0),
                                ("Age", S, 0), ("VolumeMode", S, 1)],
    ("", "persistentvolumeclaims"): [("Name", S, 0), ("Status", S, 0), ("Volume", S, 0), ("Capacity", S, 0),
                                     ("Access Modes", S, 0), ("StorageClass", S, 0),
                                     ("VolumeAttributesClass", S, 0), ("Age", S, 0), ("VolumeMode", S, 1)],
    ("", "replicationcontrollers"): [("Name", S, 0), ("Desired", I, 0), ("Current", I, 0), ("Ready", I, 0),
                                     ("Age", S, 0), *TEMPLATE_WIDE],
    ("", "resourcequotas"): [("Name", S, 0), ("Age", S, 0), ("Request", S, 0), ("Limit", S, 0)],
    ("", "limitranges"): [("Name", S, 0), ("Created At", "date", 0)],
    ("apps", "deployments"): [("Name", S, 0), ("Ready", S, 0), ("Up-to-date", S, 0), ("Available", S, 0),
                              ("Age", S, 0), *TEMPLATE_WIDE],
    ("apps", "replicasets"): [("Name", S, 0), ("Desired", I, 0), ("Current", I, 0), ("Ready", I, 0),
                              ("Age", S, 0), *TEMPLATE_WIDE],
    ("apps", "statefulsets"): [("Name", S, 0), ("Ready", S, 0), ("Age", S, 0), *CONTAINERS_WIDE],
    ("apps", "daemonsets"): [("Name", S, 0), ("Desired", I, 0), ("Current", I, 0), ("Ready", I, 0),
                             ("Up-to-date", I, 0), ("Available", I, 0), ("Node Selector", S, 0), ("Age", S, 0),
                             *TEMPLATE_WIDE],
    ("apps", "controllerrevisions"): [("Name", S, 0), ("Controller", S, 0), ("Revision", S, 0), ("Age", S, 0)],
    ("batch", "jobs"): [("Name", S, 0), ("Status", S, 0), ("Completions", S, 0), ("Duration", S, 0),
                        ("Age", S, 0), *TEMPLATE_WIDE],
    ("batch", "cronjobs"): [("Name", S, 0), ("Schedule", S, 0), ("Timezone", S, 0), ("Suspend", B, 0),
                            ("Active", I, 0), ("Last Schedule", S, 0), ("Age", S, 0), *TEMPLATE_WIDE],
    ("autoscaling", "horizontalpodautoscalers"): [("Name", S, 0), ("Reference", S, 0), ("Targets", S, 0),
                                                  ("MinPods", S, 0), ("MaxPods", S, 0), ("Replicas", S, 0),
                                                  ("Age", S, 0)],
    ("coordination.k8s.io", "leases"): [("Name", S, 0), ("Holder", S, 0), ("Age", S, 0)],
}
EXPECTED_COLUMNS[("events.k8s.io", "events")] = EXPECTED_COLUMNS[("", "events")]


@pytest.mark.parametrize(("group", "resource"), sorted(EXPECTED_COLUMNS))
def test_columns_match_upstream(group: str, resource: str) -> None:
    got = [(c.name, c.type, c.priority) for c in columns_for(group, resource)]
    assert got == EXPECTED_COLUMNS[(group, resource)]


@pytest.mark.parametrize(("group", "resource"), sorted(EXPECTED_COLUMNS))
def test_name_column_has_name_format_and_all_columns_are_described(group: str, resource: str) -> None:
    columns = columns_for(group, resource)
    assert [c.name for c in columns if c.format == "name"] == ["Name"]
    assert [c.format for c in columns if c.name != "Name"] == [""] * (len(columns) - 1)
    assert all(c.description for c in columns), [c.name for c in columns if not c.description]


def test_first_column_is_the_name_except_for_events() -> None:
    for group, resource in EXPECTED_COLUMNS:
        first = columns_for(group, resource)[0]
        if resource == "events":
            assert first.name == "Last Seen"
        else:
            assert (first.name, first.format) == ("Name", "name")


def test_column_descriptions_come_from_the_api_docs() -> None:
    pod = {c.name: c.description for c in columns_for("", "pods")}
    assert pod["Name"].startswith("Name must be unique within a namespace.")
    assert pod["Age"].startswith("CreationTimestamp is a timestamp")
    assert pod["Ready"] == "The aggregate readiness state of this pod for accepting traffic."


def test_column_to_dict_is_a_table_column_definition() -> None:
    column = Column("IP", "string", description="the pod IP", priority=1)
    assert column.to_dict() == {"name": "IP", "type": "string", "format": "",
                                "description": "the pod IP", "priority": 1}


def test_unknown_resources_get_the_default_table() -> None:
    columns = columns_for("example.com", "widgets")
    assert [(c.name, c.type, c.format) for c in columns] == [("Name", "string", "name"), ("Created At", "date", "")]
    widget = {"metadata": meta("w", "2024-05-31T10:20:30Z")}
    assert row_cells("example.com", "widgets", widget, NOW) == ["w", "2024-05-31T10:20:30Z"]


def test_every_row_has_one_cell_per_column() -> None:
    for group, resource in EXPECTED_COLUMNS:
        cells = row_cells(group, resource, {"metadata": meta("empty")}, NOW)
        assert len(cells) == len(columns_for(group, resource)), (group, resource)


def test_age_uses_the_given_now_and_is_unknown_without_a_timestamp() -> None:
    cm = {"metadata": meta("cm", ago(minutes=5))}
    assert row_cells("", "configmaps", cm, NOW)[-1] == "5m"
    assert row_cells("", "configmaps", cm, NOW + timedelta(hours=1))[-1] == "65m"
    assert row_cells("", "configmaps", {"metadata": meta("cm")}, NOW)[-1] == "<unknown>"


# ============================================================================ pods


def container_status(name: str, *, ready: bool = False, restarts: int = 0, state: dict | None = None,
                     last_finished: str | None = None, started: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "ready": ready, "restartCount": restarts,
                           "state": state if state is not None else {"running": {"startedAt": ago(hours=1)}}}
    if last_finished is not None:
        out["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last_finished}}
    if started is not None:
        out["started"] = started
    return out


def pod(*, containers: int = 1, statuses: list | None = None, init: list | None = None,
        init_statuses: list | None = None, phase: str = "Running", conditions: list | None = None,
        **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]}
    if init is not None:
        spec["initContainers"] = init
    body: dict[str, Any] = {"phase": phase, **status}
    if statuses is not None:
        body["containerStatuses"] = statuses
    if init_statuses is not None:
        body["initContainerStatuses"] = init_statuses
    if conditions is not None:
        body["conditions"] = conditions
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta("web", ago(hours=5)), "spec": spec, "status": body}


WAITING = {"waiting": {"reason": "PodInitializing"}}
RUNNING = {"running": {"startedAt": ago(hours=1)}}


def waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def terminated(exit_code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        body["reason"] = reason
    if signal:
        body["signal"] = signal
    return {"terminated": body}


def cond(kind: str, status: str = "True", reason: str = "") -> dict[str, Any]:
    out = {"type": kind, "status": status}
    if reason:
        out["reason"] = reason
    return out


def deleting(obj: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["deletionTimestamp"] = ago(seconds=10)
    return obj


INIT_TWO = [{"name": "i0", "image": "busybox"}, {"name": "i1", "image": "busybox"}]
SIDECAR = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]

POD_CASES = {
    "running-ready": (pod(statuses=[container_status("c0", ready=True)]), ("1/1", "Running", "0")),
    "pending-unscheduled": (pod(phase="Pending"), ("0/1", "Pending", "0")),
    "crashloop-7-restarts": (
        pod(statuses=[container_status("c0", restarts=7, state=waiting("CrashLoopBackOff"),
                                       last_finished=ago(minutes=5))]),
        ("0/1", "CrashLoopBackOff", "7 (5m ago)")),
    "restarts-without-finish-time": (
        pod(statuses=[container_status("c0", ready=True, restarts=2)]), ("1/1", "Running", "2")),
    "container-creating": (pod(phase="Pending", statuses=[container_status("c0", state=waiting("ContainerCreating"))]),
                           ("0/1", "ContainerCreating", "0")),
    "err-image-pull-on-second": (
        pod(containers=2, phase="Pending", statuses=[container_status("c0", ready=True),
                                                     container_status("c1", state=waiting("ErrImagePull"))]),
        ("1/2", "ErrImagePull", "0")),
    "first-container-reason-wins": (
        pod(containers=2, statuses=[container_status("c0", state=waiting("ImagePullBackOff")),
                                    container_status("c1", state=waiting("CrashLoopBackOff"))]),
        ("0/2", "ImagePullBackOff", "0")),
    "completed": (pod(phase="Succeeded", statuses=[container_status("c0", state=terminated(0, "Completed"))]),
                  ("0/1", "Completed", "0")),
    "error": (pod(phase="Failed", statuses=[container_status("c0", state=terminated(1, "Error"))]),
              ("0/1", "Error", "0")),
    "signal-without-reason": (pod(statuses=[container_status("c0", state=terminated(137, signal=9))]),
                              ("0/1", "Signal:9", "0")),
    "exit-code-without-reason": (pod(statuses=[container_status("c0", state=terminated(3))]),
                                 ("0/1", "ExitCode:3", "0")),
    "completed-with-running-sibling-ready": (
        pod(containers=2, conditions=[cond("Ready")],
            statuses=[container_status("c0", state=terminated(0, "Completed")),
                      container_status("c1", ready=True)]),
        ("1/2", "Running", "0")),
    "completed-with-running-sibling-not-ready": (
        pod(containers=2, conditions=[cond("Ready", "False")],
            statuses=[container_status("c0", state=terminated(0, "Completed")),
                      container_status("c1", ready=True)]),
        ("1/2", "NotReady", "0")),
    "evicted-reason-overrides-phase": (pod(phase="Failed", reason="Evicted"), ("0/1", "Evicted", "0")),
    "scheduling-gated": (pod(phase="Pending", conditions=[cond("PodScheduled", "False", "SchedulingGated")]),
                         ("0/1", "SchedulingGated", "0")),
    "init-0-of-2": (pod(phase="Pending", init=INIT_TWO,
                        init_statuses=[container_status("i0", state=RUNNING), container_status("i1", state=WAITING)],
                        statuses=[container_status("c0", state=WAITING)]),
                    ("0/1", "Init:0/2", "0")),
    "init-1-of-2": (pod(phase="Pending", init=INIT_TWO,
                        init_statuses=[container_status("i0", state=terminated(0, "Completed")),
                                       container_status("i1", state=RUNNING)],
                        statuses=[container_status("c0", state=WAITING)]),
                    ("0/1", "Init:1/2", "0")),
    "init-error": (pod(phase="Pending", init=INIT_TWO,
                       init_statuses=[container_status("i0", state=terminated(1, "Error"), restarts=3,
                                                       last_finished=ago(seconds=30)),
                                      container_status("i1", state=WAITING)]),
                   ("0/1", "Init:Error", "3 (30s ago)")),
    "init-crashloop": (pod(phase="Pending", init=INIT_TWO,
                           init_statuses=[container_status("i0", state=waiting("CrashLoopBackOff"), restarts=4),
                                          container_status("i1", state=WAITING)]),
                       ("0/1", "Init:CrashLoopBackOff", "4")),
    "init-exit-code": (pod(phase="Pending", init=INIT_TWO,
                           init_statuses=[container_status("i0", state=terminated(2))]),
                       ("0/1", "Init:ExitCode:2", "0")),
    "init-signal": (pod(phase="Pending", init=INIT_TWO,
                        init_statuses=[container_status("i0", state=terminated(0, signal=15)) | {
                            "state": {"terminated": {"exitCode": 143, "signal": 15}}}]),
                    ("0/1", "Init:Signal:15", "0")),
    "sidecar-running": (
        pod(init=SIDECAR, conditions=[cond("Initialized"), cond("Ready")],
            init_statuses=[container_status("proxy", ready=True, started=True, restarts=1,
                                            last_finished=ago(hours=1))],
            statuses=[container_status("c0", ready=True)]),
        ("2/2", "Running", "1 (60m ago)")),
    "sidecar-not-started": (
        pod(phase="Pending", init=SIDECAR,
            init_statuses=[container_status("proxy", started=False, state=waiting("ErrImagePull"))],
            statuses=[container_status("c0", state=WAITING)]),
        ("0/2", "Init:ErrImagePull", "0")),
    "init-restarts-dropped-once-running": (
        pod(init=INIT_TWO, conditions=[cond("Initialized"), cond("Ready")],
            init_statuses=[container_status("i0", state=terminated(0, "Completed"), restarts=3,
                                            last_finished=ago(hours=4)),
                           container_status("i1", state=terminated(0, "Completed"))],
            statuses=[container_status("c0", ready=True, restarts=1, last_finished=ago(minutes=9))]),
        ("1/1", "Running", "1 (9m ago)")),
    "terminating": (deleting(pod(statuses=[container_status("c0", ready=True)])), ("1/1", "Terminating", "0")),
    "terminating-node-lost": (deleting(pod(reason="NodeLost", statuses=[container_status("c0", ready=True)])),
                              ("1/1", "Unknown", "0")),
    "deleted-after-success-stays-completed": (
        deleting(pod(phase="Succeeded", statuses=[container_status("c0", state=terminated(0, "Completed"))])),
        ("0/1", "Completed", "0")),
    "latest-restart-across-containers": (
        pod(containers=2, statuses=[container_status("c0", ready=True, restarts=1, last_finished=ago(hours=3)),
                                    container_status("c1", ready=True, restarts=2, last_finished=ago(minutes=7))]),
        ("2/2", "Running", "3 (7m ago)")),
}


@pytest.mark.parametrize("case", sorted(POD_CASES))
def test_pod_ready_status_restarts(case: str) -> None:
    obj, (ready, status, restarts) = POD_CASES[case]
    cells = row_cells("", "pods", obj, NOW)
    assert cells[:5] == ["web", ready, status, restarts, "5h"]


def test_pod_wide_cells() -> None:
    obj = pod(statuses=[container_status("c0", ready=True)], conditions=[cond("example.com/lb"), cond("Ready")],
              podIPs=[{"ip": "10.0.0.7"}, {"ip": "fd00::7"}], podIP="10.0.0.7", nominatedNodeName="n2")
    obj["spec"]["nodeName"] = "n1"
    obj["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]
    assert row_cells("", "pods", obj, NOW)[5:] == ["10.0.0.7", "n1", "n2", "1/2"]


def test_pod_wide_cells_when_unset() -> None:
    assert row_cells("", "pods", pod(phase="Pending"), NOW)[5:] == ["<none>", "<none>", "<none>", "<none>"]


def test_pod_ip_falls_back_to_the_singular_field() -> None:
    assert cell("", "pods", pod(podIP="10.1.2.3"), "IP") == "10.1.2.3"


# ============================================================================ nodes


def node(conditions: list | None = None, labels: dict | None = None, unschedulable: bool = False,
         addresses: list | None = None, info: dict | None = None) -> dict[str, Any]:
    return {"metadata": meta("node-1", ago(days=3), labels=labels or {}),
            "spec": {"unschedulable": unschedulable} if unschedulable else {},
            "status": {"conditions": conditions or [], "addresses": addresses or [],
                       "nodeInfo": info if info is not None else {"kubeletVersion": "v1.33.0"}}}


@pytest.mark.parametrize(("obj", "status", "roles"), [
    (node([cond("MemoryPressure", "False"), cond("Ready")]), "Ready", "<none>"),
    (node([cond("Ready", "False")], unschedulable=True), "NotReady,SchedulingDisabled", "<none>"),
    (node([cond("Ready", "Unknown")]), "NotReady", "<none>"),
    (node([]), "Unknown", "<none>"),
    (node([], unschedulable=True), "Unknown,SchedulingDisabled", "<none>"),
    (node([cond("Ready")], labels={"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
                                   "node-role.kubernetes.io/": "x"}), "Ready", "control-plane,worker"),
    (node([cond("Ready")], labels={"kubernetes.io/role": "master"}), "Ready", "master"),
    (node([cond("Ready")], labels={"kubernetes.io/role": ""}), "Ready", "<none>"),
])
def test_node_status_and_roles(obj: dict, status: str, roles: str) -> None:
    assert row_cells("", "nodes", obj, NOW)[:5] == ["node-1", status, roles, "3d", "v1.33.0"]


def test_node_wide_cells() -> None:
    obj = node([cond("Ready")], addresses=[{"type": "Hostname", "address": "node-1"},
                                           {"type": "InternalIP", "address": "192.168.1.10"}],
               info={"kubeletVersion": "v1.33.1", "osImage": "Debian GNU/Linux 12 (bookworm)",
                     "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "containerd://1.7.13"})
    assert row_cells("", "nodes", obj, NOW)[4:] == [
        "v1.33.1", "192.168.1.10", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64",
        "containerd://1.7.13"]
    assert row_cells("", "nodes", node(info={}), NOW)[4:] == ["", "<none>", "<none>", "<unknown>", "<unknown>",
                                                              "<unknown>"]


# ============================================================================ services and endpoints


def service(kind: str | None = "ClusterIP", ports: list | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ports": ports if ports is not None else [{"port": 80, "protocol": "TCP"}], **spec}
    if kind is not None:
        body["type"] = kind
    status = {"loadBalancer": {"ingress": spec.pop("ingress")}} if "ingress" in spec else {}
    body.pop("ingress", None)
    return {"metadata": meta("svc", ago(days=10)), "spec": body, "status": status}


@pytest.mark.parametrize(("obj", "expected"), [
    (service(clusterIP="10.96.0.10", clusterIPs=["10.96.0.10"], selector={"app": "web", "tier": "fe"}),
     ["svc", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "10d", "app=web,tier=fe"]),
    (service(clusterIP="10.96.0.11", ports=[{"port": 53, "protocol": "UDP"}, {"port": 53}]),
     ["svc", "ClusterIP", "10.96.0.11", "<none>", "53/UDP,53/TCP", "10d", "<none>"]),
    (service("NodePort", clusterIPs=["10.96.1.1"], ports=[{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
             externalIPs=["1.2.3.4"]),
     ["svc", "NodePort", "10.96.1.1", "1.2.3.4", "80:30080/TCP", "10d", "<none>"]),
    (service("LoadBalancer", clusterIPs=["10.96.2.2"]),
     ["svc", "LoadBalancer", "10.96.2.2", "<pending>", "80/TCP", "10d", "<none>"]),
    (service("LoadBalancer", clusterIPs=["10.96.2.2"], externalIPs=["9.9.9.9"],
             ingress=[{"ip": "203.0.113.9"}, {"hostname": "a-very-long-hostname.elb.example.com"},
                      {"ip": "203.0.113.9"}]),
     ["svc", "LoadBalancer", "10.96.2.2", "203.0.113.9,a-very-long-hostname.elb.example.com,9.9.9.9", "80/TCP",
      "10d", "<none>"]),
    (service("ExternalName", ports=[], externalName="db.example.com"),
     ["svc", "ExternalName", "<none>", "db.example.com", "<none>", "10d", "<none>"]),
    (service(clusterIP="None", clusterIPs=["None"], selector={"app": "db"}),
     ["svc", "ClusterIP", "None", "<none>", "80/TCP", "10d", "app=db"]),
])
def test_service_cells(obj: dict, expected: list) -> None:
    assert row_cells("", "services", obj, NOW) == expected


def endpoints(*subsets: dict) -> dict[str, Any]:
    return {"metadata": meta("svc", ago(minutes=3)), "subsets": list(subsets)}


def addrs(*ips: str) -> list[dict[str, str]]:
    return [{"ip": ip} for ip in ips]


@pytest.mark.parametrize(("obj", "expected"), [
    (endpoints(), "<none>"),
    (endpoints({"addresses": addrs("10.0.0.1", "10.0.0.2"), "ports": [{"port": 8080}]}),
     "10.0.0.1:8080,10.0.0.2:8080"),
    (endpoints({"addresses": addrs("10.0.0.1", "10.0.0.2"), "ports": [{"name": "http", "port": 80},
                                                                       {"name": "https", "port": 443}]}),
     "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more..."),
    (endpoints({"addresses": addrs("10.0.0.1")}, {"addresses": addrs("10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5")}),
     "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."),
    (endpoints({"addresses": addrs("fd00::1"), "ports": [{"port": 53}]}), "[fd00::1]:53"),
    (endpoints({"notReadyAddresses": addrs("10.0.0.9"), "ports": [{"port": 80}]}), ""),
])
def test_endpoints_cells(obj: dict, expected: str) -> None:
    assert row_cells("", "endpoints", obj, NOW) == ["svc", expected, "3m"]


# ============================================================================ events


def core_event(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Event", "metadata": meta("web.17d2", ago(minutes=30)),
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default",
                           "fieldPath": "spec.containers{nginx}"},
        "reason": "BackOff", "type": "Warning", "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(minutes=30), "lastTimestamp": ago(minutes=2), "count": 12,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("obj", "expected"), [
    (core_event(), ["2m", "Warning", "BackOff", "pod/web", "spec.containers{nginx}", "kubelet, node-1",
                    "Back-off restarting failed container", "30m", 12, "web.17d2"]),
    (core_event(count=None, lastTimestamp=None, firstTimestamp=None, eventTime="2024-06-01T11:59:00.123456Z",
                source={}, reportingComponent="default-scheduler", reportingInstance="sched-1",
                involvedObject={"kind": "Node"}, type="Normal", reason="Scheduled", message="ok"),
     ["59s", "Normal", "Scheduled", "node", "", "default-scheduler, sched-1", "ok", "59s", 1, "web.17d2"]),
    (core_event(series={"count": 40, "lastObservedTime": "2024-06-01T11:59:50.000000Z"}),
     ["10s", "Warning", "BackOff", "pod/web", "spec.containers{nginx}", "kubelet, node-1",
      "Back-off restarting failed container", "30m", 40, "web.17d2"]),
    (core_event(lastTimestamp=None, source={"component": "kubelet"}),
     ["30m", "Warning", "BackOff", "pod/web", "spec.containers{nginx}", "kubelet",
      "Back-off restarting failed container", "30m", 12, "web.17d2"]),
    (core_event(firstTimestamp=None, lastTimestamp=None),
     ["<unknown>", "Warning", "BackOff", "pod/web", "spec.containers{nginx}", "kubelet, node-1",
      "Back-off restarting failed container", "<unknown>", 12, "web.17d2"]),
])
def test_core_event_cells(obj: dict, expected: list) -> None:
    assert row_cells("", "events", obj, NOW) == expected


def test_events_api_event_prints_like_its_core_twin() -> None:
    new = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta("web.17d2", ago(minutes=30)),
        "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"},
        "reason": "ScalingReplicaSet", "type": "Normal", "note": "Scaled up replica set web-5d9 to 3",
        "eventTime": "2024-06-01T11:55:00.000000Z", "reportingController": "deployment-controller",
        "reportingInstance": "", "deprecatedSource": {"component": "deployment-controller"},
        "deprecatedFirstTimestamp": ago(minutes=20), "deprecatedLastTimestamp": ago(minutes=4),
        "deprecatedCount": 3,
    }
    assert row_cells("events.k8s.io", "events", new, NOW) == [
        "4m", "Normal", "ScalingReplicaSet", "deployment/web", "", "deployment-controller",
        "Scaled up replica set web-5d9 to 3", "20m", 3, "web.17d2"]
    singleton = {k: v for k, v in new.items() if not k.startswith("deprecated")}
    assert row_cells("events.k8s.io", "events", singleton, NOW)[:3] == ["5m", "Normal", "ScalingReplicaSet"]
    assert row_cells("events.k8s.io", "events", singleton, NOW)[7:9] == ["5m", 1]


# ============================================================================ config, identity, namespaces


@pytest.mark.parametrize(("resource", "obj", "expected"), [
    ("configmaps", {"metadata": meta("cfg", ago(days=45)), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
     ["cfg", 3, "45d"]),
    ("configmaps", {"metadata": meta("empty", ago(days=45))}, ["empty", 0, "45d"]),
    ("secrets", {"metadata": meta("tls", ago(hours=5)), "type": "kubernetes.io/tls",
                 "data": {"tls.crt": "x", "tls.key": "y"}}, ["tls", "kubernetes.io/tls", 2, "5h"]),
    ("serviceaccounts", {"metadata": meta("default", ago(days=800))}, ["default", 0, "2y70d"]),
    ("serviceaccounts", {"metadata": meta("builder", ago(days=1)), "secrets": [{"name": "t"}]}, ["builder", 1, "24h"]),
    ("namespaces", {"metadata": meta("kube-system", ago(days=3)), "status": {"phase": "Active"}},
     ["kube-system", "Active", "3d"]),
    ("namespaces", {"metadata": meta("old", ago(days=3)), "status": {"phase": "Terminating"}},
     ["old", "Terminating", "3d"]),
])
def test_simple_core_cells(resource: str, obj: dict, expected: list) -> None:
    assert row_cells("", resource, obj, NOW) == expected


# ============================================================================ storage


def test_persistent_volume_cells() -> None:
    bound = {"metadata": meta("pv-1", ago(days=2)),
             "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                      "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
                      "claimRef": {"namespace": "db", "name": "data-pg-0"}, "volumeMode": "Filesystem"},
             "status": {"phase": "Bound"}}
    assert row_cells("", "persistentvolumes", bound, NOW) == [
        "pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "db/data-pg-0", "standard", "<unset>", "", "2d", "Filesystem"]
    failing = {"metadata": meta("pv-2", ago(days=2), deletionTimestamp=ago(1),
                                annotations={"volume.beta.kubernetes.io/storage-class": "legacy"}),
               "spec": {"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"], "storageClassName": "ignored",
                        "volumeAttributesClassName": "gold"},
               "status": {"phase": "Failed", "reason": "Recycler failed"}}
    assert row_cells("", "persistentvolumes", failing, NOW) == [
        "pv-2", "0", "ROX,RWOP", "", "Terminating", "", "legacy", "gold", "Recycler failed", "2d", "<unset>"]


def test_persistent_volume_claim_cells() -> None:
    bound = {"metadata": meta("data", ago(minutes=90)),
             "spec": {"volumeName": "pv-1", "storageClassName": "standard",
                      "resources": {"requests": {"storage": "5Gi"}}, "volumeMode": "Block"},
             "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}}
    assert row_cells("", "persistentvolumeclaims", bound, NOW) == [
        "data", "Bound", "pv-1", "10Gi", "RWO", "standard", "<unset>", "90m", "Block"]
    pending = {"metadata": meta("wait", ago(minutes=1)), "spec": {"resources": {"requests": {"storage": "5Gi"}}},
               "status": {"phase": "Pending"}}
    assert row_cells("", "persistentvolumeclaims", pending, NOW) == [
        "wait", "Pending", "", "", "", "", "<unset>", "60s", "<unset>"]


# ============================================================================ replication controllers and quotas


def pod_template(*containers: tuple[str, str], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": n, "image": i} for n, i in containers], **spec}}


def test_replication_controller_cells() -> None:
    rc = {"metadata": meta("legacy", ago(days=9)),
          "spec": {"replicas": 3, "selector": {"app": "web", "env": "prod"},
                   "template": pod_template(("nginx", "nginx:1.25"), ("log", "fluent-bit:3"))},
          "status": {"replicas": 3, "readyReplicas": 2}}
    assert row_cells("", "replicationcontrollers", rc, NOW) == [
        "legacy", 3, 3, 2, "9d", "nginx,log", "nginx:1.25,fluent-bit:3", "app=web,env=prod"]


def test_resource_quota_cells() -> None:
    quota = {"metadata": meta("compute", ago(hours=30)),
             "status": {"hard": {"requests.cpu": "4", "limits.memory": "8Gi", "pods": "10", "limits.cpu": "8",
                                 "requests.memory": "4Gi"},
                        "used": {"requests.cpu": "500m", "limits.cpu": "1", "pods": "3", "limits.memory": "1Gi"}}}
    assert row_cells("", "resourcequotas", quota, NOW) == [
        "compute", "30h", "pods: 3/10, requests.cpu: 500m/4, requests.memory: 0/4Gi",
        "limits.cpu: 1/8, limits.memory: 1Gi/8Gi"]


def test_limit_ranges_use_the_default_table() -> None:
    limits = {"metadata": meta("mem-limits", "2024-05-01T08:00:00Z"), "spec": {"limits": [{"type": "Container"}]}}
    assert row_cells("", "limitranges", limits, NOW) == ["mem-limits", "2024-05-01T08:00:00Z"]
    assert row_cells("", "limitranges", {"metadata": meta("bare")}, NOW) == ["bare", "0001-01-01T00:00:00Z"]


# ============================================================================ apps


def workload(name: str, spec: dict, status: dict, created: str | None = None, **metadata: Any) -> dict[str, Any]:
    return {"metadata": meta(name, created or ago(days=4), **metadata), "spec": spec, "status": status}


SELECTOR = {"matchLabels": {"app": "web"}}


def test_deployment_mid_rollout() -> None:
    deploy = workload("web", {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "frontend"}},
                              "template": pod_template(("nginx", "nginx:1.26"))},
                      {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 1, "availableReplicas": 2})
    assert row_cells("apps", "deployments", deploy, NOW) == [
        "web", "2/3", 1, 2, "4d", "nginx", "nginx:1.26", "app=web,tier=frontend"]


@pytest.mark.parametrize(("spec", "ready", "selector"), [
    ({"template": pod_template(("a", "a:1"))}, "0/1", ""),
    ({"replicas": 0, "selector": {"matchExpressions": [{"key": "app", "operator": "Bogus"}]},
      "template": pod_template(("a", "a:1"))}, "0/0", "<invalid>"),
])
def test_deployment_defaults_and_selector_edge_cases(spec: dict, ready: str, selector: str) -> None:
    cells = row_cells("apps", "deployments", workload("d", spec, {}), NOW)
    assert (cells[1], cells[-1]) == (ready, selector)


@pytest.mark.parametrize(("selector", "expected"), [
    (None, "<none>"),
    ({}, "<none>"),
    ({"matchLabels": {"tier": "fe", "app": "web"}}, "app=web,tier=fe"),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["qa", "prod"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "zone", "operator": "NotIn", "values": ["b"]},
        {"key": "team", "operator": "Exists"}]},
     "app=web,!canary,env in (prod,qa),team,zone notin (b)"),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": []}]}, "<error>"),
    ({"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["x"]}]}, "<error>"),
    ({"matchLabels": {"bad key": "x"}}, "<error>"),
])
def test_replicaset_selector_formatting(selector: Any, expected: str) -> None:
    rs = workload("web-5d9", {"replicas": 2, "selector": selector, "template": pod_template(("c", "i"))},
                  {"replicas": 2, "readyReplicas": 1})
    assert row_cells("apps", "replicasets", rs, NOW) == ["web-5d9", 2, 2, 1, "4d", "c", "i", expected]


def test_statefulset_cells() -> None:
    sts = workload("pg", {"replicas": 3, "template": pod_template(("postgres", "postgres:16"), ("exporter", "pg-exp"))},
                   {"replicas": 2, "readyReplicas": 2})
    assert row_cells("apps", "statefulsets", sts, NOW) == [
        "pg", "2/3", "4d", "postgres,exporter", "postgres:16,pg-exp"]


def test_daemonset_cells() -> None:
    ds = workload("agent", {"selector": SELECTOR, "template": pod_template(
        ("agent", "agent:2"), nodeSelector={"kubernetes.io/os": "linux"})},
        {"desiredNumberScheduled": 5, "currentNumberScheduled": 5, "numberReady": 4,
         "updatedNumberScheduled": 3, "numberAvailable": 4})
    assert row_cells("apps", "daemonsets", ds, NOW) == [
        "agent", 5, 5, 4, 3, 4, "kubernetes.io/os=linux", "4d", "agent", "agent:2", "app=web"]
    bare = workload("bare", {"selector": SELECTOR, "template": pod_template(("a", "b"))}, {})
    assert row_cells("apps", "daemonsets", bare, NOW)[1:7] == [0, 0, 0, 0, 0, "<none>"]


@pytest.mark.parametrize(("owners", "expected"), [
    ([{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "pg", "controller": True}], "statefulset.apps/pg"),
    ([{"apiVersion": "v1", "kind": "Pod", "name": "p", "controller": True}], "pod/p"),
    ([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds"}], "<none>"),
    ([], "<none>"),
])
def test_controller_revision_cells(owners: list, expected: str) -> None:
    rev = {"metadata": meta("pg-7b9", ago(hours=4), ownerReferences=owners), "revision": 4, "data": {}}
    assert row_cells("apps", "controllerrevisions", rev, NOW) == ["pg-7b9", expected, 4, "4h"]


# ============================================================================ batch


def job(spec: dict | None = None, status: dict | None = None, deleting_: bool = False) -> dict[str, Any]:
    body = {"template": pod_template(("pi", "perl:5.34")),
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "0f1e"}}, **(spec or {})}
    obj = {"metadata": meta("pi", ago(minutes=20)), "spec": body, "status": status or {}}
    return deleting(obj) if deleting_ else obj


def job_conditions(*kinds: str, status: str = "True") -> list[dict[str, str]]:
    return [cond(kind, status) for kind in kinds]


@pytest.mark.parametrize(("obj", "expected"), [
    (job({"completions": 1, "parallelism": 1},
         {"succeeded": 1, "startTime": ago(minutes=20), "completionTime": ago(minutes=19, seconds=7),
          "conditions": job_conditions("SuccessCriteriaMet", "Complete")}),
     ["Complete", "1/1", "53s"]),
    (job({"completions": 10, "parallelism": 3}, {"succeeded": 2, "active": 3, "startTime": ago(minutes=15)}),
     ["Running", "2/10", "15m"]),
    (job({"parallelism": 3}, {"succeeded": 0, "active": 3, "startTime": ago(seconds=40)}),
     ["Running", "0/1 of 3", "40s"]),
    (job({"parallelism": 1}, {}), ["Running", "0/1", ""]),
    (job({"completions": 1}, {"failed": 7, "startTime": ago(minutes=12), "completionTime": ago(minutes=2),
                              "conditions": job_conditions("FailureTarget", "Failed")}),
     ["Failed", "0/1", "10m"]),
    (job({"completions": 1}, {"startTime": ago(minutes=12), "conditions": job_conditions("FailureTarget")}),
     ["FailureTarget", "0/1", "12m"]),
    (job({"completions": 3}, {"succeeded": 3, "startTime": ago(minutes=3),
                              "conditions": job_conditions("SuccessCriteriaMet")}),
     ["SuccessCriteriaMet", "3/3", "3m"]),
    (job({"completions": 1, "suspend": True}, {"conditions": job_conditions("Suspended")}),
     ["Suspended", "0/1", ""]),
    (job({"completions": 1}, {"conditions": job_conditions("Complete", status="False")}),
     ["Running", "0/1", ""]),
    (job({"completions": 1}, {"startTime": ago(minutes=5), "conditions": job_conditions("Suspended")}, True),
     ["Terminating", "0/1", "5m"]),
    (job({"completions": 1}, {"succeeded": 1, "startTime": ago(minutes=5), "completionTime": ago(minutes=4),
                              "conditions": job_conditions("Complete")}, True),
     ["Complete", "1/1", "60s"]),
])
def test_job_status_completions_duration(obj: dict, expected: list) -> None:
    assert row_cells("batch", "jobs", obj, NOW)[1:4] == expected


def test_job_full_row() -> None:
    assert row_cells("batch", "jobs", job({"completions": 1}), NOW) == [
        "pi", "Running", "0/1", "", "20m", "pi", "perl:5.34", "batch.kubernetes.io/controller-uid=0f1e"]


@pytest.mark.parametrize(("spec", "status", "expected"), [
    ({"schedule": "*/5 * * * *", "suspend": False}, {"active": [{"name": "report-289"}],
                                                      "lastScheduleTime": ago(minutes=3)},
     ["report", "*/5 * * * *", "<none>", "False", 1, "3m", "7d"]),
    ({"schedule": "0 3 * * *", "timeZone": "Europe/Paris", "suspend": True}, {},
     ["report", "0 3 * * *", "Europe/Paris", "True", 0, "<none>", "7d"]),
    ({"schedule": "@hourly"}, {}, ["report", "@hourly", "<none>", "<unset>", 0, "<none>", "7d"]),
])
def test_cronjob_cells(spec: dict, status: dict, expected: list) -> None:
    cj = {"metadata": meta("report", ago(days=7)),
          "spec": {**spec, "jobTemplate": {"spec": {"template": pod_template(("report", "reporter:1"))}}},
          "status": status}
    assert row_cells("batch", "cronjobs", cj, NOW) == [*expected, "report", "reporter:1", "<none>"]


# ============================================================================ autoscaling


def hpa_v2(metrics: list | None, current: list | None = None, min_replicas: int | None = 2) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                            "maxReplicas": 10}
    if metrics is not None:
        spec["metrics"] = metrics
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    status: dict[str, Any] = {"currentReplicas": 3, "desiredReplicas": 3}
    if current is not None:
        status["currentMetrics"] = current
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": meta("web", ago(hours=6)), "spec": spec, "status": status}


def cpu_target(percent: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": percent}}}


def cpu_current(percent: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": percent,
                                                                        "averageValue": "300m"}}}


MEMORY_AVG = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                             "averageValue": "512Mi"}}}
PODS_QPS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                          "averageValue": "1k"}}}
QUEUE = {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}}}
QUEUE_AVG = {"type": "External", "external": {"metric": {"name": "queue"},
                                              "target": {"type": "AverageValue", "averageValue": "5"}}}


@pytest.mark.parametrize(("obj", "targets"), [
    (hpa_v2([cpu_target(50)], [cpu_current(75)]), "cpu: 75%/50%"),
    (hpa_v2([cpu_target(50)]), "cpu: <unknown>/50%"),
    (hpa_v2([]), "<none>"),
    (hpa_v2(None), "<none>"),
    (hpa_v2([MEMORY_AVG], [{"type": "Resource", "resource": {"name": "memory",
                                                             "current": {"averageValue": "200Mi"}}}]),
     "memory: 200Mi/512Mi"),
    (hpa_v2([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]),
     "cpu: <unknown>/<auto>"),
    (hpa_v2([PODS_QPS], [{"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "250"}}}]),
     "250/1k"),
    (hpa_v2([QUEUE, QUEUE_AVG], [{"type": "External", "external": {"metric": {"name": "queue"},
                                                                   "current": {"value": "12"}}}]),
     "12/30, <unknown>/5 (avg)"),
    (hpa_v2([cpu_target(50), MEMORY_AVG, PODS_QPS, QUEUE], [cpu_current(20)]),
     "cpu: 20%/50%, memory: <unknown>/512Mi + 2 more..."),
    (hpa_v2([{"type": "Custom"}]), "<unknown type>"),
    (hpa_v2([{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}}],
        [{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app",
                                                             "current": {"averageUtilization": 61}}}]),
     "cpu: 61%/60%"),
])
def test_hpa_targets(obj: dict, targets: str) -> None:
    assert row_cells("autoscaling", "horizontalpodautoscalers", obj, NOW) == [
        "web", "Deployment/web", targets, "2", 10, 3, "6h"]


def test_hpa_v1_object_prints_like_v2() -> None:
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta("web", ago(hours=6)),
          "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                   "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80},
          "status": {"currentReplicas": 2, "desiredReplicas": 2, "currentCPUUtilizationPercentage": 33}}
    assert row_cells("autoscaling", "horizontalpodautoscalers", v1, NOW) == [
        "web", "Deployment/web", "cpu: 33%/80%", "1", 5, 2, "6h"]
    del v1["status"]["currentCPUUtilizationPercentage"]
    assert cell("autoscaling", "horizontalpodautoscalers", v1, "Targets") == "cpu: <unknown>/80%"


def test_hpa_without_min_replicas() -> None:
    assert cell("autoscaling", "horizontalpodautoscalers", hpa_v2(None, min_replicas=None), "MinPods") == "<unset>"


# ============================================================================ coordination


@pytest.mark.parametrize(("spec", "holder"), [
    ({"holderIdentity": "node-1", "leaseDurationSeconds": 40}, "node-1"),
    ({}, ""),
])
def test_lease_cells(spec: dict, holder: str) -> None:
    lease = {"metadata": meta("node-1", ago(days=20)), "spec": spec}
    assert row_cells("coordination.k8s.io", "leases", lease, NOW) == ["node-1", holder, "20d"]
