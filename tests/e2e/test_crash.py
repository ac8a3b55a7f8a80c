"""kill -9 during a rolling update: 20 crashes at random moments while a 100-replica Deployment
rolls out on simulated nodes. After every restart nothing acknowledged is lost, no object is
duplicated, resourceVersions only grow, the ReplicaSets stay within maxSurge; at the end the
rollout completes with exactly the desired pods, all from the newest ReplicaSet."""

from __future__ import annotations

import random
import signal
import time

import pytest

from helpers import Cluster, wait_until

REPLICAS = 100
MAX_SURGE = 25  # the default 25% of 100
KILLS = 20
NS = "crash"


def snapshot(c: Cluster) -> dict:
    """Deployments, ReplicaSets and pods of the namespace, with the list revision."""
    out: dict = {}
    with c.http(timeout=60) as http:
        for kind, path in (("deploy", f"/apis/apps/v1/namespaces/{NS}/deployments"),
                           ("rs", f"/apis/apps/v1/namespaces/{NS}/replicasets"),
                           ("pods", f"/api/v1/namespaces/{NS}/pods")):
            r = http.get(path)
            assert r.status_code == 200, r.text
            body = r.json()
            names = [i["metadata"]["name"] for i in body["items"]]
            assert len(names) == len(set(names)), f"duplicate {kind}"
            out[kind] = {i["metadata"]["name"]: i for i in body["items"]}
            out[f"{kind}_rv"] = int(body["metadata"]["resourceVersion"])
    return out


def max_rv(snap: dict) -> int:
    rvs = [int(o["metadata"]["resourceVersion"]) for kind in ("deploy", "rs", "pods") for o in snap[kind].values()]
    return max(rvs + [snap["deploy_rv"], snap["rs_rv"], snap["pods_rv"]])


def check_consistent(snap: dict, settled: bool = False) -> None:
    """Every pod belongs to a ReplicaSet that exists; the ReplicaSets stay within maxSurge. Live
    pods may briefly exceed it after a crash (an old ReplicaSet scaled down whose surplus pods
    its controller has not deleted yet), so that bound is checked once the rollout settled."""
    rs_uids = {rs["metadata"]["uid"] for rs in snap["rs"].values()}
    for pod in snap["pods"].values():
        owners = [o["uid"] for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")]
        assert owners and owners[0] in rs_uids, f"pod {pod['metadata']['name']} has no live owner"
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in snap["rs"].values())
    assert total <= REPLICAS + MAX_SURGE, f"ReplicaSets want {total} pods"
    if settled:
        live = [p for p in snap["pods"].values() if not p["metadata"].get("deletionTimestamp")]
        assert len(live) <= REPLICAS + MAX_SURGE, f"{len(live)} live pods"


def cleaned_up(rs: dict) -> bool:
    """An old ReplicaSet the Deployment controller may delete (revisionHistoryLimit): no pods."""
    return int(rs["spec"].get("replicas", 0)) == 0 and int((rs.get("status") or {}).get("replicas", 0)) == 0


def check_nothing_lost(before: dict, after: dict) -> None:
    """The Deployment and the ReplicaSets survive a crash with the same uid and a resourceVersion
    at least as new (controllers may have written since); pods only go by deletion, which a
    crash cannot acknowledge without the revision moving past it."""
    for kind in ("deploy", "rs"):
        for name, obj in before[kind].items():
            if kind == "rs" and name not in after[kind] and cleaned_up(obj):
                continue  # beyond revisionHistoryLimit: the controller deleted it before the kill
            assert name in after[kind], f"{kind} {name} lost"
            assert after[kind][name]["metadata"]["uid"] == obj["metadata"]["uid"]
            assert int(after[kind][name]["metadata"]["resourceVersion"]) >= int(obj["metadata"]["resourceVersion"])
    for name, pod in after["pods"].items():
        if name in before["pods"]:
            assert pod["metadata"]["uid"] == before["pods"][name]["metadata"]["uid"], f"pod {name} replaced"
    assert after["pods_rv"] >= max_rv(before), "the revision went backwards across the restart"


@pytest.mark.timeout(180)
def rollout_done(deployment: dict) -> bool:
    """The rollout of the deployment's current template has finished (and was seen doing so)."""
    status = deployment.get("status") or {}
    return status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0) and \
        status.get("updatedReplicas") == REPLICAS and status.get("availableReplicas") == REPLICAS


def test_kill_9_during_rolling_update(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    args = ("--sim-nodes", "5", "--time-scale", "20")
    c.start(args)
    c.kubectl("create", "namespace", NS)
    c.kubectl("create", "deployment", "web", "--image=nginx:1.17", f"--replicas={REPLICAS}", "-n", NS)
    c.kubectl("rollout", "status", "deployment/web", "-n", NS, "--timeout=90s", timeout=100)
    rng = random.Random(9)
    images = iter(f"nginx:1.{n}" for n in range(18, 40))
    image = next(images)
    c.kubectl("set", "image", "deployment/web", f"nginx={image}", "-n", NS)
    highest = 0
    mid_rollout = 0
    for kill in range(KILLS):
        time.sleep(rng.uniform(0.05, 1.2))
        before = snapshot(c)
        highest = max(highest, max_rv(before))
        if rollout_done(before["deploy"]["web"]):
            image = next(images)  # that rollout finished: start another, so every kill lands mid-rollout
            c.kubectl("set", "image", "deployment/web", f"nginx={image}", "-n", NS)
            time.sleep(rng.uniform(0.05, 0.5))
            before = snapshot(c)
            highest = max(highest, max_rv(before))
        if not rollout_done(before["deploy"]["web"]):
            mid_rollout += 1
        assert c.process is not None
        c.process.send_signal(signal.SIGKILL)
        c.process.wait()
        c.start(args)
        after = snapshot(c)
        check_nothing_lost(before, after)
        check_consistent(after)
        assert max_rv(after) >= highest
        highest = max_rv(after)
    assert mid_rollout >= KILLS // 2, f"only {mid_rollout} kills landed during a rollout"
    c.kubectl("rollout", "status", "deployment/web", "-n", NS, "--timeout=120s", timeout=130)

    def settled() -> dict | None:
        snap = snapshot(c)
        live = [p for p in snap["pods"].values() if not p["metadata"].get("deletionTimestamp")]
        return snap if len(snap["pods"]) == REPLICAS and len(live) == REPLICAS else None
    final = wait_until(settled, timeout=60, interval=0.5)
    check_consistent(final, settled=True)
    assert final["deploy"]["web"]["spec"]["template"]["spec"]["containers"][0]["image"] == image
    newest = [rs for rs in final["rs"].values()
              if rs["spec"]["template"]["spec"]["containers"][0]["image"] == image]
    assert len(newest) == 1 and int(newest[0]["spec"]["replicas"]) == REPLICAS
    assert all(int(rs["spec"]["replicas"]) == 0 for rs in final["rs"].values() if rs is not newest[0])
    uid = newest[0]["metadata"]["uid"]
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == uid for p in final["pods"].values())
    assert all(p["spec"]["containers"][0]["image"] == image for p in final["pods"].values())
    names = [p["metadata"]["name"] for p in final["pods"].values()]
    assert len(set(names)) == REPLICAS
