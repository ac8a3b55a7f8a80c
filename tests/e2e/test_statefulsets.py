"""StatefulSets as the seeds' sessions drive them: ordered creation, stable names, claims kept
on scale-down, ordered scale-down, partitioned and OnDelete updates, Parallel, and the rollout
commands (status, history, undo) through the real kubectl."""

from __future__ import annotations

import json

import httpx
import pytest

from helpers import Cluster, WatchRecorder, create_namespace, is_ready, running_cluster, wait_until

SCALE = "10"  # readiness of `ready-after: 3s` takes 0.3 wall seconds


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("sts"), "--sim-nodes", "3", "--time-scale", SCALE) as c:
        yield c


@pytest.fixture
def ns(sc: Cluster) -> str:
    return create_namespace(sc)


def manifest(name: str = "web", replicas: int = 3, ready_after: str = "3s", image: str = "registry.k8s.io/nginx-slim:0.8",
             claims: bool = True, extra: str = "") -> str:
    """The seeds' headless Service and StatefulSet; `extra` is more YAML under spec."""
    out = (f"apiVersion: v1\nkind: Service\nmetadata: {{name: nginx, labels: {{app: {name}}}}}\n"
           f"spec:\n  ports: [{{port: 80, name: web}}]\n  clusterIP: None\n  selector: {{app: {name}}}\n---\n"
           f"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: {name}}}\nspec:\n"
           f"  selector: {{matchLabels: {{app: {name}}}}}\n  serviceName: nginx\n  replicas: {replicas}\n{extra}"
           f"  template:\n    metadata:\n      labels: {{app: {name}}}\n"
           f"      annotations: {{sim.tinykube.io/ready-after: {ready_after}}}\n"
           f"    spec:\n      terminationGracePeriodSeconds: 10\n      containers:\n"
           f"      - name: nginx\n        image: {image}\n        ports: [{{containerPort: 80, name: web}}]\n")
    if claims:
        out += ("        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]\n"
                "  volumeClaimTemplates:\n  - metadata: {name: www}\n    spec:\n"
                "      accessModes: [ReadWriteOnce]\n"
                "      resources: {requests: {storage: 1Gi}}\n")
    return out


def rollout(c: Cluster, ns: str, name: str = "web") -> str:
    return c.kubectl("rollout", "status", f"sts/{name}", "-n", ns, "--timeout=90s", timeout=120).stdout


def pods(c: Cluster, ns: str) -> dict[str, dict]:
    """The namespace's pods (polled over HTTP; the behaviour under test goes through kubectl).
    A read is retried on a broken TLS stream: right after a WatchRecorder closes its watch the
    server's TLS layer now and then garbles the next response (reported, not ours to fix here)."""
    for attempt in range(3):
        try:
            with c.http() as client:
                items = client.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
            return {p["metadata"]["name"]: p for p in items}
        except httpx.TransportError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def claims(c: Cluster, ns: str) -> list[str]:
    return sorted(c.kubectl("get", "pvc", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}").stdout.split())


def images(c: Cluster, ns: str) -> dict[str, str]:
    return {n: p["spec"]["containers"][0]["image"] for n, p in pods(c, ns).items()}


def ordinal(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def all_ready(c: Cluster, ns: str, count: int) -> bool:
    live = [p for p in pods(c, ns).values() if not p["metadata"].get("deletionTimestamp")]
    return len(live) == count and all(is_ready(p) and p["status"].get("phase") == "Running" for p in live)


class Ordered:
    """Checks on every pod event: a pod appears only when every lower ordinal is Running and
    Ready; a pod starts terminating only when no higher ordinal is left."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.terminating: list[str] = []
        self.violations: list[str] = []

    def __call__(self, kind: str, pod: dict, state: dict) -> None:
        name = pod["metadata"]["name"]
        n = ordinal(name)
        if kind == "ADDED":
            self.added.append(name)
            for lower in range(n):
                other = state.get(f"web-{lower}")
                if other is None or not is_ready(other) or other["status"].get("phase") != "Running":
                    self.violations.append(f"{name} created while web-{lower} was not Running and Ready")
        if pod["metadata"].get("deletionTimestamp") and name not in self.terminating:
            self.terminating.append(name)
            higher = [m for m in state if ordinal(m) > n]
            if higher:
                self.violations.append(f"{name} deleted while {higher} still existed")


def test_seed_session_ordered_create_scale_claims_and_identity(sc: Cluster, ns: str):
    c = sc
    order = Ordered()
    with WatchRecorder(c, f"/api/v1/namespaces/{ns}/pods", order) as watch:
        c.kubectl("apply", "-n", ns, "-f", "-", input=manifest())
        out = rollout(c, ns)
        assert "Waiting for" in out and "partitioned roll out complete: 3 new pods have been updated..." in out
        rows = c.kubectl("get", "sts", "-n", ns).stdout.splitlines()
        assert rows[0].split() == ["NAME", "READY", "AGE"] and rows[1].split()[:2] == ["web", "3/3"]
        assert claims(c, ns) == ["www-web-0", "www-web-1", "www-web-2"]
        web1 = pods(c, ns)["web-1"]
        assert (web1["spec"]["hostname"], web1["spec"]["subdomain"]) == ("web-1", "nginx")
        assert web1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
        assert web1["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
        assert web1["metadata"]["labels"]["controller-revision-hash"].startswith("web-")
        assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}} in web1["spec"]["volumes"]

        c.kubectl("scale", "sts", "web", "--replicas=4", "-n", ns)
        wait_until(lambda: all_ready(c, ns, 4), 60, 0.2)
        c.kubectl("scale", "sts", "web", "--replicas=2", "-n", ns)
        wait_until(lambda: set(watch.state) == {"web-0", "web-1"}, 60, 0.2)
    assert order.violations == []
    assert order.added == ["web-0", "web-1", "web-2", "web-3"]
    assert order.terminating == ["web-3", "web-2"]
    assert claims(c, ns) == ["www-web-0", "www-web-1", "www-web-2", "www-web-3"]  # kept on scale-down

    # scale up again: the old claims are reused, not recreated
    c.kubectl("scale", "sts", "web", "--replicas=3", "-n", ns)
    wait_until(lambda: all_ready(c, ns, 3), 60, 0.2)
    events = c.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.kind=StatefulSet",
                       "-o", "jsonpath={range .items[*]}{.reason}: {.message}|{.count}{\"\\n\"}{end}").stdout
    assert "SuccessfulCreate: create Pod web-0 in StatefulSet web successful|1" in events
    assert "SuccessfulCreate: create Claim www-web-0 Pod web-0 in StatefulSet web success|1" in events
    assert "SuccessfulCreate: create Claim www-web-2 Pod web-2 in StatefulSet web success|1" in events
    assert "SuccessfulDelete: delete Pod web-3 in StatefulSet web successful|1" in events

    # stable identity: deleting web-0 brings back web-0
    uid = pods(c, ns)["web-0"]["metadata"]["uid"]
    c.kubectl("delete", "pod", "web-0", "-n", ns)
    wait_until(lambda: (p := pods(c, ns).get("web-0")) is not None and p["metadata"]["uid"] != uid and is_ready(p), 60, 0.2)
    assert sorted(pods(c, ns)) == ["web-0", "web-1", "web-2"]

    # deleting the StatefulSet keeps the claims (whenDeleted: Retain by default)
    c.kubectl("delete", "sts", "web", "-n", ns)
    wait_until(lambda: not pods(c, ns), 60, 0.2)
    assert claims(c, ns) == ["www-web-0", "www-web-1", "www-web-2", "www-web-3"]


def test_partitioned_rollout_then_full(sc: Cluster, ns: str):
    c = sc
    c.kubectl("apply", "-n", ns, "-f", "-", input=manifest(claims=False, extra=(
        "  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}\n")))
    rollout(c, ns)
    c.kubectl("set", "image", "sts/web", "nginx=nginx:1.25", "-n", ns)
    out = rollout(c, ns)
    assert "partitioned roll out complete: 1 new pods have been updated..." in out
    assert images(c, ns) == {"web-0": "registry.k8s.io/nginx-slim:0.8", "web-1": "registry.k8s.io/nginx-slim:0.8",
                             "web-2": "nginx:1.25"}
    # below the partition a deleted pod comes back at the old revision
    uid = pods(c, ns)["web-1"]["metadata"]["uid"]
    c.kubectl("delete", "pod", "web-1", "-n", ns)
    wait_until(lambda: (p := pods(c, ns).get("web-1")) is not None and p["metadata"]["uid"] != uid and is_ready(p), 60, 0.2)
    assert images(c, ns)["web-1"] == "registry.k8s.io/nginx-slim:0.8"
    status = json.loads(c.kubectl("get", "sts", "web", "-n", ns, "-o", "json").stdout)["status"]
    assert status["updatedReplicas"] == 1 and status["currentReplicas"] == 2
    assert status["currentRevision"] != status["updateRevision"]

    order = Ordered()
    with WatchRecorder(c, f"/api/v1/namespaces/{ns}/pods", lambda k, p, s: (
            order.terminating.append(p["metadata"]["name"])
            if p["metadata"].get("deletionTimestamp") and p["metadata"]["name"] not in order.terminating else None,
            check_one_at_a_time(k, p, s, order))):
        c.kubectl("patch", "sts", "web", "-n", ns, "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
        rollout(c, ns)
        wait_until(lambda: all_ready(c, ns, 3), 60, 0.2)
    assert order.terminating == ["web-1", "web-0"] and order.violations == []
    assert set(images(c, ns).values()) == {"nginx:1.25"}
    status = json.loads(c.kubectl("get", "sts", "web", "-n", ns, "-o", "json").stdout)["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["currentReplicas"] == 3


def check_one_at_a_time(kind: str, pod: dict, state: dict, order: Ordered) -> None:
    """During an update at most one pod is missing, terminating or not ready."""
    unhealthy = [n for n in ("web-0", "web-1", "web-2") if n not in state or state[n]["metadata"].get("deletionTimestamp")
                 or not is_ready(state[n])]
    if len(unhealthy) > 1:
        order.violations.append(f"{unhealthy} down together")


def test_on_delete_replaces_only_deleted_pods(sc: Cluster, ns: str):
    c = sc
    c.kubectl("apply", "-n", ns, "-f", "-", input=manifest(claims=False, extra="  updateStrategy: {type: OnDelete}\n"))
    wait_until(lambda: all_ready(c, ns, 3), 60, 0.2)
    before = {n: p["metadata"]["uid"] for n, p in pods(c, ns).items()}
    c.kubectl("set", "image", "sts/web", "nginx=nginx:1.25", "-n", ns)

    def observed():
        sts = json.loads(c.kubectl("get", "sts", "web", "-n", ns, "-o", "json").stdout)
        s = sts["status"]
        return s.get("observedGeneration") == sts["metadata"]["generation"] and s["updateRevision"] != s["currentRevision"]
    wait_until(observed, 30, 0.2)
    wait_until(lambda: all_ready(c, ns, 3), 10, 0.5)
    assert {n: p["metadata"]["uid"] for n, p in pods(c, ns).items()} == before
    rs = c.kubectl("rollout", "status", "sts/web", "-n", ns, check=False)
    assert rs.returncode != 0 and "rollout status is only available for RollingUpdate strategy type" in rs.stderr
    c.kubectl("delete", "pod", "web-1", "-n", ns)
    wait_until(lambda: (p := pods(c, ns).get("web-1")) is not None and p["metadata"]["uid"] != before["web-1"]
               and is_ready(p), 60, 0.2)
    assert images(c, ns) == {"web-0": "registry.k8s.io/nginx-slim:0.8", "web-1": "nginx:1.25",
                             "web-2": "registry.k8s.io/nginx-slim:0.8"}
    assert {n: p["metadata"]["uid"] for n, p in pods(c, ns).items() if n != "web-1"} == \
        {n: u for n, u in before.items() if n != "web-1"}


def test_parallel_creates_all_at_once(sc: Cluster, ns: str):
    c = sc
    seen = {"most_unready": 0}

    def check(kind, pod, state):
        unready = [p for p in state.values() if not is_ready(p)]
        seen["most_unready"] = max(seen["most_unready"], len(unready))

    with WatchRecorder(c, f"/api/v1/namespaces/{ns}/pods", check):
        c.kubectl("apply", "-n", ns, "-f", "-", input=manifest(ready_after="20s", extra="  podManagementPolicy: Parallel\n"))
        wait_until(lambda: all_ready(c, ns, 3), 60, 0.2)
    assert seen["most_unready"] == 3
    assert claims(c, ns) == ["www-web-0", "www-web-1", "www-web-2"]


def test_rollout_history_and_undo(sc: Cluster, ns: str):
    c = sc
    c.kubectl("apply", "-n", ns, "-f", "-", input=manifest(replicas=2, claims=False))
    rollout(c, ns)
    c.kubectl("set", "image", "sts/web", "nginx=nginx:1.25", "-n", ns)
    rollout(c, ns)
    out = c.kubectl("rollout", "history", "sts/web", "-n", ns).stdout
    assert [line.split()[0] for line in out.splitlines() if line[:1].isdigit()] == ["1", "2"]
    one = c.kubectl("rollout", "history", "sts/web", "-n", ns, "--revision=1").stdout
    assert "registry.k8s.io/nginx-slim:0.8" in one and "nginx:1.25" not in one
    skipped = c.kubectl("rollout", "undo", "sts/web", "-n", ns, "--to-revision=2").stdout
    assert "skipped rollback (current template already matches revision 2)" in skipped
    c.kubectl("rollout", "undo", "sts/web", "-n", ns)
    rollout(c, ns)
    wait_until(lambda: set(images(c, ns).values()) == {"registry.k8s.io/nginx-slim:0.8"} and all_ready(c, ns, 2), 60, 0.2)
    out = c.kubectl("rollout", "history", "sts/web", "-n", ns).stdout
    assert [line.split()[0] for line in out.splitlines() if line[:1].isdigit()] == ["2", "3"]
    revs = c.kubectl("get", "controllerrevisions", "-n", ns, "--no-headers").stdout.splitlines()
    assert len(revs) == 2 and all("statefulset.apps/web" in r for r in revs)
    status = json.loads(c.kubectl("get", "sts", "web", "-n", ns, "-o", "json").stdout)["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["collisionCount"] == 0


def test_claim_retention_delete(sc: Cluster, ns: str):
    c = sc
    c.kubectl("apply", "-n", ns, "-f", "-", input=manifest(extra=(
        "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}\n")))
    rollout(c, ns)
    owners = json.loads(c.kubectl("get", "pvc", "www-web-0", "-n", ns, "-o", "json").stdout)["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o["controller"]) for o in owners] == [("StatefulSet", "web", True)]
    c.kubectl("scale", "sts", "web", "--replicas=1", "-n", ns)
    wait_until(lambda: claims(c, ns) == ["www-web-0"], 60, 0.2)
    c.kubectl("delete", "sts", "web", "-n", ns)
    wait_until(lambda: not claims(c, ns) and not pods(c, ns), 60, 0.2)
