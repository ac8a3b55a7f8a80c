"""Nothing acknowledged is lost: clean restarts and kill -9 in the middle of a stream of writes."""

from __future__ import annotations

import signal
import ssl
import threading
import time

import httpx

from helpers import Cluster


def auth(cluster: Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.token}"}


def test_restart_keeps_every_object(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.start()
    c.kubectl("create", "namespace", "keep")
    c.kubectl("create", "deployment", "msa-web", "--image=nginx:1.17", "--replicas=2", "-n", "keep")
    c.kubectl("create", "configmap", "cfg", "--from-literal=k=v", "-n", "keep")
    # configmaps no controller touches: uid and resourceVersion; the deployment: uid, spec, generation
    # (its status keeps changing as the controllers work)
    query = ("jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}@{.metadata.resourceVersion} {end}",
             "jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}/{.metadata.generation}/{.spec} {end}")
    before = c.kubectl("get", "cm", "-n", "keep", "-o", query[0]).stdout
    before_deploy = c.kubectl("get", "deploy", "-n", "keep", "-o", query[1]).stdout
    assert c.stop() == 0  # SIGTERM is a clean exit
    c.start()
    assert c.kubectl("get", "cm", "-n", "keep", "-o", query[0]).stdout == before
    assert c.kubectl("get", "deploy", "-n", "keep", "-o", query[1]).stdout == before_deploy
    # the revision counter continues past what was there
    c.kubectl("create", "configmap", "later", "-n", "keep")
    rv = int(c.kubectl("get", "cm", "later", "-n", "keep", "-o=jsonpath={.metadata.resourceVersion}").stdout)
    assert rv > max(int(part.split("@")[1]) for part in before.split())


def test_kill_9_mid_stream_loses_no_acknowledged_write(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.start()
    url = c.url + "/api/v1/namespaces/default/configmaps"
    headers = auth(c)
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        with httpx.Client(headers=headers, timeout=5, verify=ssl.create_default_context(cafile=c.ca_file)) as client:
            i = 0
            while not stop.is_set():
                name = f"w{worker}-{i}"
                try:
                    r = client.post(url, json={"metadata": {"name": name}, "data": {"i": str(i)}})
                except httpx.HTTPError:
                    return  # the server died under us: this write was never acknowledged
                if r.status_code == 201:
                    with lock:
                        acknowledged[name] = r.json()["metadata"]["uid"]
                i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    c.process.send_signal(signal.SIGKILL)
    c.process.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 300
    c.start()
    r = httpx.get(url, headers=headers, timeout=30, verify=ssl.create_default_context(cafile=c.ca_file))
    stored = {item["metadata"]["name"]: item["metadata"]["uid"] for item in r.json()["items"]}
    lost = {name for name in acknowledged if stored.get(name) != acknowledged[name]}
    assert not lost, f"{len(lost)} acknowledged writes lost after kill -9"
    revisions = [int(item["metadata"]["resourceVersion"]) for item in r.json()["items"]]
    assert len(set(revisions)) == len(revisions)
