"""ReplicaSets, ReplicationControllers and the garbage collector, as the seeds' sessions use them."""

from __future__ import annotations

import json
import textwrap

import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until


@pytest.fixture(scope="module")
def rc_cluster(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("rs"), "--sim-nodes", "2") as c:
        yield c


@pytest.fixture
def rns(rc_cluster: Cluster) -> str:
    return create_namespace(rc_cluster)


def replicaset(name: str, replicas: int = 3, app: str | None = None) -> str:
    app = app or name
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata:
          name: {name}
        spec:
          replicas: {replicas}
          selector:
            matchExpressions:
            - {{key: app, operator: In, values: [{app}]}}
          template:
            metadata:
              labels: {{app: {app}}}
            spec:
              containers: [{{name: nginx, image: nginx}}]
        """)


def pods(c: Cluster, ns: str, selector: str = "") -> list[dict]:
    args = ["get", "pods", "-n", ns, "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(c.kubectl(*args).stdout)["items"]


def live(items: list[dict]) -> list[dict]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def rs_row(c: Cluster, ns: str, name: str, kind: str = "rs") -> list[str]:
    return c.kubectl("get", kind, name, "-n", ns, "--no-headers").stdout.split()


def test_replicaset_creates_heals_and_reports(rc_cluster: Cluster, rns: str):
    c = rc_cluster
    c.kubectl("apply", "-n", rns, "-f", "-", input=replicaset("web"))
    wait_until(lambda: rs_row(c, rns, "web")[1:4] == ["3", "3", "3"], 20, 0.2)
    items = pods(c, rns)
    assert len(items) == 3 and all(p["metadata"]["name"].startswith("web-") and len(p["metadata"]["name"]) == 9
                                   for p in items)
    ref = items[0]["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "ReplicaSet" and ref["name"] == "web" and ref["controller"] and ref["blockOwnerDeletion"]
    victim = items[0]["metadata"]["name"]
    c.kubectl("delete", "pod", victim, "-n", rns)
    wait_until(lambda: len(live(pods(c, rns))) == 3 and victim not in {p["metadata"]["name"] for p in pods(c, rns)},
               20, 0.2)
    status = wait_until(lambda: (s := json.loads(c.kubectl("get", "rs", "web", "-n", rns, "-o", "json").stdout)
                                  ["status"]).get("readyReplicas") == 3 and s, 20, 0.2)
    assert status["replicas"] == 3 and status["readyReplicas"] == 3 and status["fullyLabeledReplicas"] == 3
    assert status["observedGeneration"] == 1
    describe = c.kubectl("describe", "rs", "web", "-n", rns).stdout
    assert "SuccessfulCreate" in describe and "Created pod: web-" in describe
    assert "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in describe


def test_relabelled_pod_is_released_and_replaced(rc_cluster: Cluster, rns: str):
    c = rc_cluster
    c.kubectl("apply", "-n", rns, "-f", "-", input=replicaset("hostname", 2))
    wait_until(lambda: len(pods(c, rns)) == 2, 20, 0.2)
    victim = pods(c, rns)[0]["metadata"]["name"]
    c.kubectl("label", "pods", victim, "app=deprec", "--overwrite", "-n", rns)
    wait_until(lambda: len(pods(c, rns, "app=hostname")) == 2, 20, 0.2)
    released = json.loads(c.kubectl("get", "pod", victim, "-n", rns, "-o", "json").stdout)
    assert not released["metadata"].get("ownerReferences")
    assert len(pods(c, rns)) == 3
    # relabelling it back: the ReplicaSet adopts it and removes one to stay at 2
    c.kubectl("label", "pods", victim, "app=hostname", "--overwrite", "-n", rns)
    wait_until(lambda: len(live(pods(c, rns))) == 2, 20, 0.2)


def test_scale_down_removes_the_least_valuable_pods(rc_cluster: Cluster, rns: str):
    c = rc_cluster
    c.kubectl("apply", "-n", rns, "-f", "-", input=replicaset("scaler", 4))
    wait_until(lambda: rs_row(c, rns, "scaler")[3] == "4", 20, 0.2)
    c.kubectl("apply", "-n", rns, "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: pending-one, labels: {app: scaler}}
        spec:
          nodeSelector: {nowhere: "true"}
          containers: [{name: c, image: nginx}]
        """))
    # the pending orphan is adopted (5 > 4) and, being unscheduled, is the one removed
    wait_until(lambda: c.kubectl("get", "pod", "pending-one", "-n", rns, check=False).returncode != 0
               or json.loads(c.kubectl("get", "pod", "pending-one", "-n", rns, "-o", "json").stdout)["metadata"]
               .get("deletionTimestamp"), 20, 0.2)
    c.kubectl("scale", "rs", "scaler", "--replicas=1", "-n", rns)
    wait_until(lambda: len(live(pods(c, rns))) == 1 and rs_row(c, rns, "scaler")[1:3] == ["1", "1"], 20, 0.2)


def test_replication_controller_defaults_its_selector_from_the_template(rc_cluster: Cluster, rns: str):
    c = rc_cluster
    c.kubectl("apply", "-n", rns, "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: ReplicationController
        metadata: {name: hostname-rc}
        spec:
          replicas: 2
          template:
            metadata:
              labels: {app: hostname}
            spec:
              containers: [{name: c, image: nginx}]
        """))
    out = wait_until(lambda: (r := c.kubectl("get", "rc", "-n", rns).stdout.splitlines()) and
                     r[1].split()[1:4] == ["2", "2", "2"] and r, 20, 0.2)
    assert out[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert pods(c, rns)[0]["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"


def test_cascading_deletion_background_orphan_foreground(rc_cluster: Cluster, rns: str):
    c = rc_cluster
    for name in ("bg", "orph", "fg"):
        c.kubectl("apply", "-n", rns, "-f", "-", input=replicaset(name, 2))
    wait_until(lambda: len(pods(c, rns)) == 6 and all(p.get("status", {}).get("phase") == "Running"
                                                      for p in pods(c, rns)), 20, 0.2)
    c.kubectl("delete", "rs", "bg", "-n", rns)
    c.kubectl("delete", "rs", "orph", "--cascade=orphan", "-n", rns)
    c.kubectl("delete", "rs", "fg", "--cascade=foreground", "-n", rns)
    assert c.kubectl("get", "rs", "fg", "-n", rns, check=False).returncode != 0  # kubectl waited for it
    wait_until(lambda: {p["metadata"]["labels"]["app"] for p in pods(c, rns)} == {"orph"}, 20, 0.2)
    orphans = pods(c, rns)
    assert len(orphans) == 2 and all(not p["metadata"].get("ownerReferences") for p in orphans)
    names = {p["metadata"]["name"] for p in orphans}
    c.kubectl("apply", "-n", rns, "-f", "-", input=replicaset("orph", 2))  # a new RS adopts them
    wait_until(lambda: all(p["metadata"].get("ownerReferences") for p in pods(c, rns)), 20, 0.2)
    assert {p["metadata"]["name"] for p in pods(c, rns)} == names


def test_ready_pods_count_as_available_only_after_min_ready_seconds(rc_cluster: Cluster, rns: str):
    """availableReplicas waits out minReadySeconds, then catches up with no pod event to prompt it."""
    c = rc_cluster
    manifest = replicaset("slow", replicas=2).replace("  replicas: 2\n", "  replicas: 2\n  minReadySeconds: 8\n")
    c.kubectl("apply", "-n", rns, "-f", "-", input=manifest)

    def status() -> dict:
        return json.loads(c.kubectl("get", "rs", "slow", "-n", rns, "-o", "json").stdout).get("status") or {}

    ready = wait_until(lambda: (s := status()).get("readyReplicas") == 2 and s, 20, 0.2)
    assert not ready.get("availableReplicas")  # ready for less than 8 s
    wait_until(lambda: status().get("availableReplicas") == 2, 30, 0.2)
    assert status()["readyReplicas"] == 2


def test_a_busy_replicaset_gets_its_events_combined_and_capped_as_upstream(rc_cluster: Cluster, rns: str):
    """client-go's correlator: nine SuccessfulCreate events apart, the rest of a 25-event burst
    combined into one counted Event, the 26th and later about the same ReplicaSet dropped."""
    c = rc_cluster
    c.kubectl("apply", "-n", rns, "-f", "-", input=replicaset("busy", replicas=30))
    wait_until(lambda: len(live(pods(c, rns, "app=busy"))) == 30, 60, 0.3)

    def created_events() -> list[dict]:
        out = c.kubectl("get", "events", "-n", rns, "-o", "json",
                        "--field-selector", "involvedObject.name=busy,reason=SuccessfulCreate").stdout
        return json.loads(out)["items"]

    def all_25_recorded() -> list[dict] | None:
        events = created_events()
        return events if sum(e.get("count", 1) for e in events) == 25 else None

    events = wait_until(all_25_recorded, 30, 0.3)
    combined = [e for e in events if e["message"].startswith("(combined from similar events): Created pod: busy-")]
    assert len(combined) == 1 and combined[0]["count"] == 16
    apart = [e for e in events if e not in combined]
    assert len(apart) == 9 and all(e["count"] == 1 and e["message"].startswith("Created pod: busy-") for e in apart)
    described = c.kubectl("describe", "rs", "busy", "-n", rns).stdout
    assert "(x16 over" in described and "(combined from similar events): Created pod: busy-" in described
