"""The local node's process runtime as a user meets it: real processes, the real kubectl.

One server without simulated nodes (every pod lands on the local node), cluster time 10x
faster than wall time, so probe periods (10 s), back-offs (10 s) and grace periods (30 s) pass
in about a second. Tests that stop the server start their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from helpers import (
    Cluster, create_namespace, free_port, new_cluster, running_cluster, wait_until, apply_manifest as apply,
)

SCALE = 10
SANDBOXED = sys.platform == "linux" and os.geteuid() == 0  # pods get namespaces and addresses from the podCIDR
ARGS = ("--local-runtime", "process", "--time-scale", str(SCALE))


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("proc"), *ARGS) as c:
        yield c


@pytest.fixture
def ns(proc: Cluster) -> str:
    return create_namespace(proc)



def pod(c: Cluster, ns: str, name: str) -> dict:
    return json.loads(c.kubectl("get", "pod", name, "-n", ns, "-o", "json").stdout)


def row(c: Cluster, ns: str, name: str) -> list[str]:
    """NAME READY STATUS RESTARTS AGE of `kubectl get pod` (RESTARTS may carry "(3s ago)")."""
    return c.kubectl("get", "pod", name, "-n", ns, "--no-headers").stdout.split()


def wait_phase(c: Cluster, ns: str, name: str, phase: str, timeout: float = 30) -> dict:
    return wait_until(lambda: (p := pod(c, ns, name))["status"].get("phase") == phase and p, timeout, 0.2)


def conditions(p: dict) -> dict[str, str]:
    return {x["type"]: x["status"] for x in p["status"].get("conditions", [])}


def events(c: Cluster, ns: str, name: str) -> list[dict]:
    out = c.kubectl("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}", "-o", "json")
    return json.loads(out.stdout)["items"]


def event_messages(c: Cluster, ns: str, name: str) -> set[str]:
    return {f"{e['reason']}: {e['message']}" for e in events(c, ns, name)}


def simple_pod(name: str, command: str, policy: str = "Always") -> str:
    return f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}}}
    spec:
      restartPolicy: {policy}
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", {json.dumps(command)}]
    """


def test_hello_runs_and_logs(proc: Cluster, ns: str):
    apply(proc, ns, simple_pod("hello", "echo hello; echo oops >&2; sleep 3600"))
    p = wait_phase(proc, ns, "hello", "Running")
    assert conditions(p)["Ready"] == "True"
    assert p["status"]["podIP"].startswith("10.244." if SANDBOXED else "127.1.") and p["status"]["hostIP"] == "127.0.0.1"
    cells = row(proc, ns, "hello")
    assert cells[1:4] == ["1/1", "Running", "0"]
    assert wait_until(lambda: proc.kubectl("logs", "hello", "-n", ns).stdout == "hello\noops\n", 10, 0.2)
    stamped = proc.kubectl("logs", "hello", "-n", ns, "--timestamps").stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["hello", "oops"]
    assert stamped[0].split(" ")[0].endswith("Z") and "T" in stamped[0]
    assert proc.kubectl("logs", "hello", "-n", ns, "--tail", "1").stdout == "oops\n"
    assert proc.kubectl("logs", "hello", "-n", ns, "--since", "1h").stdout == "hello\noops\n"
    previous = proc.kubectl("logs", "hello", "-n", ns, "--previous", check=False)
    assert previous.returncode != 0
    assert 'previous terminated container "c" in pod "hello" not found' in previous.stderr
    wrong = proc.kubectl("logs", "hello", "-n", ns, "-c", "nope", check=False)
    assert "container nope is not valid for pod hello" in wrong.stderr
    names = {e["reason"] for e in events(proc, ns, "hello")}
    assert {"Scheduled", "Pulled", "Created", "Started"} <= names


def test_logs_follow_ends_with_the_container(proc: Cluster, ns: str):
    apply(proc, ns, simple_pod("counter", "for i in 1 2 3; do echo line $i; sleep 0.5; done", "Never"))
    wait_until(lambda: pod(proc, ns, "counter")["status"].get("phase") in ("Running", "Succeeded"), 20, 0.1)
    follow = subprocess.run([*kubectl_base(proc), "logs", "-f", "counter", "-n", ns], capture_output=True,
                            text=True, timeout=30)
    assert follow.returncode == 0, follow.stderr
    assert follow.stdout.endswith("line 3\n") and "line 1\n" in follow.stdout
    assert wait_phase(proc, ns, "counter", "Succeeded")


def kubectl_base(c: Cluster) -> list[str]:
    from helpers import KUBECTL
    return [KUBECTL, "--kubeconfig", str(c.kubeconfig), "--cache-dir", str(c.cache_dir)]


def test_env_from_configmap_and_field_refs(proc: Cluster, ns: str):
    proc.kubectl("create", "configmap", "settings", "-n", ns, "--from-literal=GREETING=hi",
                 "--from-literal=TARGET=world")
    proc.kubectl("create", "secret", "generic", "creds", "-n", ns, "--from-literal=password=s3cret")
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: envy, labels: {app: shop}}
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "echo $GREETING $(TARGET) name=$MY_NAME ns=$MY_NS app=$APP node=$NODE ip=$IP pw=$PW mem=$MEM cpu=$CPU; echo $1 $2 $3", "--", "$(MISSING)", "$$(TARGET)", "$(TARGET)"]
        envFrom: [{configMapRef: {name: settings}}]
        resources: {limits: {memory: 64Mi, cpu: 250m}}
        env:
        - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: PW, valueFrom: {secretKeyRef: {name: creds, key: password}}}
        - {name: OPTIONAL, valueFrom: {configMapKeyRef: {name: absent, key: x, optional: true}}}
        - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
        - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
    """)
    p = wait_phase(proc, ns, "envy", "Succeeded")
    node = p["spec"]["nodeName"]
    out = proc.kubectl("logs", "envy", "-n", ns).stdout
    assert out == (f"hi world name=envy ns={ns} app=shop node={node} ip={p['status']['podIP']} pw=s3cret mem=64 cpu=250\n"
                   "$(MISSING) $(TARGET) world\n")
    logs = proc.data_dir / "pods" / f"{ns}_envy_{p['metadata']['uid']}"
    assert (logs / "c" / "0.log").exists()
    proc.kubectl("delete", "pod", "envy", "-n", ns)
    wait_until(lambda: not logs.exists(), 10, 0.1)  # a deleted pod's logs go with it


def test_missing_configmap_waits_with_config_error(proc: Cluster, ns: str):
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: needs-config}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "echo $KEY; sleep 3600"]
        env: [{name: KEY, valueFrom: {configMapKeyRef: {name: later, key: k}}}]
    """)
    def waiting():
        state = (pod(proc, ns, "needs-config")["status"].get("containerStatuses") or [{}])[0].get("state", {})
        return state.get("waiting") if state.get("waiting", {}).get("reason") == "CreateContainerConfigError" else None
    assert wait_until(waiting, 20, 0.2)["message"] == 'configmap "later" not found'
    assert row(proc, ns, "needs-config")[2] == "CreateContainerConfigError"
    proc.kubectl("create", "configmap", "later", "-n", ns, "--from-literal=k=v")
    wait_phase(proc, ns, "needs-config", "Running", 30)
    assert wait_until(lambda: proc.kubectl("logs", "needs-config", "-n", ns).stdout == "v\n", 10, 0.2)


def test_image_without_entrypoint_waits_with_a_reason(proc: Cluster, ns: str):
    proc.kubectl("run", "unknown", "-n", ns, "--image=kbzjung359/kia-unhealthy")
    def waiting():
        statuses = pod(proc, ns, "unknown")["status"].get("containerStatuses") or [{}]
        return statuses[0].get("state", {}).get("waiting", {}).get("reason") == "ImageNotRunnable" and statuses[0]
    status = wait_until(waiting, 20, 0.2)
    assert 'image "kbzjung359/kia-unhealthy" has no entrypoint' in status["state"]["waiting"]["message"]
    assert "--image-table" in status["state"]["waiting"]["message"]
    assert pod(proc, ns, "unknown")["status"]["phase"] == "Pending"
    assert row(proc, ns, "unknown")[2] == "ImageNotRunnable"


def test_nginx_serves_its_web_root(proc: Cluster, ns: str):
    port = free_port()
    apply(proc, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.17
        ports: [{{containerPort: {port}, name: http}}]
        readinessProbe: {{httpGet: {{path: /, port: http}}, periodSeconds: 2}}
    """)
    wait_until(lambda: conditions(pod(proc, ns, "web")).get("Ready") == "True", 30, 0.2)
    ip = pod(proc, ns, "web")["status"]["podIP"]
    body = urllib.request.urlopen(f"http://{ip}:{port}/", timeout=5).read().decode()
    assert "Welcome to nginx!" in body


def test_seed_nginx_replicas_each_serve_port_80_at_their_own_ip(proc: Cluster, ns: str):
    """The seeds' first command: two nginx replicas on port 80 on one node, both Running and Ready."""
    proc.kubectl("create", "deployment", "msa-web", "--image=nginx:1.17", "--port=80", "--replicas=2", "-n", ns)
    proc.kubectl("rollout", "status", "deployment/msa-web", "-n", ns, "--timeout=60s", timeout=90)
    pods = json.loads(proc.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 2
    for ip in ips:
        assert "Welcome to nginx!" in urllib.request.urlopen(f"http://{ip}:80/", timeout=5).read().decode()
    time.sleep(1)  # and they stay up: neither crash-loops on a taken port
    assert all(r.split()[3] == "0" for r in proc.kubectl("get", "pods", "-n", ns, "--no-headers").stdout.splitlines())


LIVENESS_SERVER = """
import http.server, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as the seeds' node app, PID 1 of its container
count = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        print(f"Received request {count}", flush=True)
        self.send_response(200 if count <= 5 else 500)
        self.end_headers()
        self.wfile.write(b"ok" if count <= 5 else b"I'm not well. Please restart me!")
    def log_message(self, *args):
        pass
print("Kubia server starting...", flush=True)
http.server.HTTPServer(("", int(sys.argv[1])), H).serve_forever()
"""


def test_liveness_probe_restarts_the_container(proc: Cluster, ns: str):
    port = free_port()
    apply(proc, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: liveness}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: unhealthy
        image: kbzjung359/kia-unhealthy
        command: ["python3", "-c", {json.dumps(LIVENESS_SERVER)}, "{port}"]
        livenessProbe:
          httpGet: {{path: /, port: {port}}}
    """)
    wait_phase(proc, ns, "liveness", "Running")

    def restarted():
        statuses = pod(proc, ns, "liveness")["status"]["containerStatuses"][0]
        return statuses["restartCount"] >= 1 and "running" in statuses["state"] and statuses
    status = wait_until(restarted, 60, 0.3)
    assert status["restartCount"] == 1
    last = status["lastState"]["terminated"]
    assert last["exitCode"] == 137 and last["reason"] == "Error"
    assert last["startedAt"] and last["finishedAt"]
    cells = row(proc, ns, "liveness")
    assert cells[1:4] == ["1/1", "Running", "1"]
    messages = event_messages(proc, ns, "liveness")
    assert "Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500" in messages
    assert "Killing: Container unhealthy failed liveness probe, will be restarted" in messages
    previous = proc.kubectl("logs", "liveness", "-n", ns, "--previous").stdout.splitlines()
    assert previous[0] == "Kubia server starting..."
    assert previous[1:9] == [f"Received request {i}" for i in range(1, 9)]
    current = proc.kubectl("logs", "liveness", "-n", ns).stdout.splitlines()
    assert current[0] == "Kubia server starting..." and "Received request 8" not in current


def test_readiness_gates_ready(proc: Cluster, ns: str, tmp_path: Path):
    flag = tmp_path / "ready"
    apply(proc, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: gated}}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
        readinessProbe:
          exec: {{command: ["test", "-f", "{flag}"]}}
          periodSeconds: 5
    """)
    p = wait_phase(proc, ns, "gated", "Running")
    time.sleep(1.5)  # a few probe periods at 10x
    p = pod(proc, ns, "gated")
    assert conditions(p)["Ready"] == "False" and conditions(p)["ContainersReady"] == "False"
    ready = [c for c in p["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["reason"] == "ContainersNotReady" and ready["message"] == "containers with unready status: [c]"
    assert row(proc, ns, "gated")[1:3] == ["0/1", "Running"]
    assert any(m.startswith("Unhealthy: Readiness probe failed") for m in event_messages(proc, ns, "gated"))
    flag.write_text("yes")
    wait_until(lambda: conditions(pod(proc, ns, "gated")).get("Ready") == "True", 20, 0.2)
    flag.unlink()
    wait_until(lambda: conditions(pod(proc, ns, "gated")).get("Ready") == "False", 20, 0.2)
    assert pod(proc, ns, "gated")["status"]["containerStatuses"][0]["restartCount"] == 0


def test_init_containers_run_in_order(proc: Cluster, ns: str, tmp_path: Path):
    trail = tmp_path / "trail"
    apply(proc, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: inits}}
    spec:
      initContainers:
      - {{name: first, image: busybox, command: ["sh", "-c", "sleep 1; echo first >> {trail}"]}}
      - {{name: second, image: busybox, command: ["sh", "-c", "echo second >> {trail}"]}}
      containers:
      - {{name: app, image: busybox, command: ["sh", "-c", "cat {trail}; sleep 3600"]}}
    """)
    seen = set()

    def running():
        cells = row(proc, ns, "inits")
        seen.add(cells[2])
        return cells[2] == "Running"
    wait_until(running, 30, 0.1)
    assert "Init:0/2" in seen
    assert wait_until(lambda: proc.kubectl("logs", "inits", "-n", ns, "-c", "app").stdout == "first\nsecond\n",
                      10, 0.2)
    p = pod(proc, ns, "inits")
    inits = p["status"]["initContainerStatuses"]
    assert [s["state"]["terminated"]["reason"] for s in inits] == ["Completed", "Completed"]
    assert conditions(p)["Initialized"] == "True"


def test_failing_init_container_fails_a_never_pod(proc: Cluster, ns: str):
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: badinit}
    spec:
      restartPolicy: Never
      initContainers:
      - {name: check, image: busybox, command: ["sh", "-c", "echo no database; exit 3"]}
      containers:
      - {name: app, image: busybox, command: ["sh", "-c", "echo never runs"]}
    """)
    p = wait_phase(proc, ns, "badinit", "Failed")
    init = p["status"]["initContainerStatuses"][0]["state"]["terminated"]
    assert init["exitCode"] == 3 and init["reason"] == "Error"
    app = p["status"]["containerStatuses"][0]
    assert app["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert row(proc, ns, "badinit")[2] == "Init:Error"
    assert proc.kubectl("logs", "badinit", "-n", ns, "-c", "check").stdout == "no database\n"


@pytest.mark.parametrize("policy,code,phase,statuses", [
    ("Always", 0, "Running", {"CrashLoopBackOff"}),
    ("Always", 1, "Running", {"CrashLoopBackOff"}),
    ("OnFailure", 0, "Succeeded", {"Completed"}),
    ("OnFailure", 1, "Running", {"CrashLoopBackOff"}),
    ("Never", 0, "Succeeded", {"Completed"}),
    ("Never", 1, "Failed", {"Error"}),
])
def test_restart_policy_matrix(proc: Cluster, ns: str, policy: str, code: int, phase: str, statuses: set[str]):
    apply(proc, ns, simple_pod("p", f"echo run; exit {code}", policy))
    restarts = policy == "Always" or (policy == "OnFailure" and code != 0)

    def settled():
        p = pod(proc, ns, "p")
        status = (p["status"].get("containerStatuses") or [{}])[0]
        cells = row(proc, ns, "p")
        if restarts:
            waiting = status.get("state", {}).get("waiting", {})
            return (waiting.get("reason") == "CrashLoopBackOff" and status["restartCount"] >= 1
                    and cells[2] in statuses and p)
        return p["status"].get("phase") == phase and cells[2] in statuses and p
    p = wait_until(settled, 40, 0.1)
    assert p["status"]["phase"] == phase
    status = p["status"]["containerStatuses"][0]
    if restarts:
        last = status["lastState"]["terminated"]
        assert last["exitCode"] == code and last["reason"] == ("Completed" if code == 0 else "Error")
        assert "back-off 10s restarting failed container=c pod=p_" in status["state"]["waiting"]["message"] or \
            "back-off 20s" in status["state"]["waiting"]["message"]
        assert any(e["reason"] == "BackOff" for e in events(proc, ns, "p"))
    else:
        assert status["state"]["terminated"]["exitCode"] == code and status["restartCount"] == 0


def test_delete_sends_sigterm(proc: Cluster, ns: str, tmp_path: Path):
    marker = tmp_path / "term"
    apply(proc, ns, simple_pod("polite", f"trap 'echo got TERM > {marker}; exit 0' TERM; "
                                         "while true; do sleep 0.1; done"))
    wait_phase(proc, ns, "polite", "Running")
    pids = container_pids(proc, str(marker))
    assert pids
    proc.kubectl("delete", "pod", "polite", "-n", ns, "--timeout=60s")
    assert marker.read_text() == "got TERM\n"
    wait_until(lambda: not any(alive(pid) for pid in pids), 10, 0.1)


def alive(pid: int) -> bool:
    """The process runs (a zombie, or one gone between the checks, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_process_ignoring_sigterm_is_killed_after_the_grace_period(proc: Cluster, ns: str):
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: stubborn, finalizers: [tinykube.test/hold]}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: c
        image: busybox
        command: ["sh", "-c", "trap '' TERM; echo started; while true; do sleep 0.1; done"]
    """)
    wait_phase(proc, ns, "stubborn", "Running")
    began = time.monotonic()
    proc.kubectl("delete", "pod", "stubborn", "-n", ns, "--wait=false")

    def killed():
        status = pod(proc, ns, "stubborn")["status"]["containerStatuses"][0]
        return status["state"].get("terminated")
    terminated = wait_until(killed, 30, 0.1)
    elapsed = time.monotonic() - began
    assert terminated["exitCode"] == 137 and terminated["reason"] == "Error"
    assert elapsed >= 20 / SCALE * 0.9, elapsed  # not before the grace period
    assert pod(proc, ns, "stubborn")["status"]["phase"] == "Failed"
    assert "Killing: Stopping container c" in event_messages(proc, ns, "stubborn")
    proc.kubectl("patch", "pod", "stubborn", "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    wait_until(lambda: proc.kubectl("get", "pod", "stubborn", "-n", ns, check=False).returncode != 0, 20, 0.2)


def test_logs_of_job_and_deployment(proc: Cluster, ns: str):
    proc.kubectl("create", "job", "hello-job", "-n", ns, "--image=busybox", "--", "echo", "Hello I'm running job")
    wait_until(lambda: proc.kubectl("get", "job", "hello-job", "-n", ns, "-o",
                                    "jsonpath={.status.succeeded}").stdout == "1", 40, 0.3)
    assert proc.kubectl("logs", "job/hello-job", "-n", ns).stdout == "Hello I'm running job\n"
    proc.kubectl("create", "deployment", "talker", "-n", ns, "--image=busybox", "--",
                 "sh", "-c", "echo from deploy; sleep 3600")
    proc.kubectl("rollout", "status", "deployment/talker", "-n", ns, "--timeout=60s")
    assert wait_until(lambda: proc.kubectl("logs", "deploy/talker", "-n", ns).stdout == "from deploy\n", 10, 0.2)


def test_multi_container_logs_need_a_name(proc: Cluster, ns: str):
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: duo}
    spec:
      containers:
      - {name: a, image: busybox, command: ["sh", "-c", "echo from a; sleep 3600"]}
      - {name: b, image: busybox, command: ["sh", "-c", "echo from b; sleep 3600"]}
    """)
    wait_phase(proc, ns, "duo", "Running")
    assert wait_until(lambda: proc.kubectl("logs", "duo", "-n", ns, "-c", "b").stdout == "from b\n", 10, 0.2)
    with proc.http() as client:
        response = client.get(f"/api/v1/namespaces/{ns}/pods/duo/log")
    assert response.status_code == 400
    assert response.json()["message"] == "a container name must be specified for pod duo, choose one of: [a b]"


def container_pids(c: Cluster, needle: str = "") -> list[int]:
    """The server's child processes (whose command line contains `needle`)."""
    assert c.process is not None
    out = []
    for p in psutil.Process(c.process.pid).children(recursive=True):
        try:
            if needle in " ".join(p.cmdline()):
                out.append(p.pid)
        except psutil.NoSuchProcess:  # a probe or hook that ended meanwhile
            pass
    return out


def _alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def test_no_process_outlives_the_server(tmp_path: Path):
    c = new_cluster(tmp_path)
    c.start(ARGS)
    try:
        ns = create_namespace(c)
        apply(c, ns, simple_pod("sleeper", "sleep 3600"))
        apply(c, ns, simple_pod("stubborn", "trap '' TERM; sleep 3600"))
        wait_phase(c, ns, "sleeper", "Running")
        wait_phase(c, ns, "stubborn", "Running")
        pids = wait_until(lambda: len(p := container_pids(c)) >= 4 and p, 10, 0.1)
    finally:
        assert c.stop(signal.SIGTERM) == 0
    assert _alive(pids) == []


def test_restarted_server_kills_stale_containers_and_does_not_duplicate(tmp_path: Path):
    c = new_cluster(tmp_path)
    c.start(ARGS)
    ns = create_namespace(c)
    apply(c, ns, simple_pod("sleeper", "exec sleep 4321"))
    wait_phase(c, ns, "sleeper", "Running")
    before = wait_until(lambda: container_pids(c), 10, 0.1)
    fork_server = [p.pid for p in psutil.Process(c.process.pid).children() if "forkserver.py" in " ".join(p.cmdline())]
    before = [pid for pid in before if pid not in fork_server]
    c.stop(signal.SIGKILL)  # no chance to clean up: the container lives on
    assert _alive(before) == before
    wait_until(lambda: _alive(fork_server) == [], 5, 0.1)  # the pod fork server ends with its agent
    c.start(ARGS)
    try:
        wait_until(lambda: _alive(before) == [], 15, 0.1)

        def restarted():
            status = pod(c, ns, "sleeper")["status"]["containerStatuses"][0]
            return "running" in status["state"] and status["restartCount"] == 1 and status
        status = wait_until(restarted, 30, 0.2)
        assert status["lastState"]["terminated"]["exitCode"] == 137
        time.sleep(1)
        sleeps = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "4321"]]
        assert len(sleeps) == 1
    finally:
        c.stop()


def test_seed_pi_job_prints_2000_digits(proc: Cluster, ns: str):
    """The seeds' Job: perl computes pi to 2000 digits; `kubectl logs job/pi` prints them."""
    apply(proc, ns, """\
        apiVersion: batch/v1
        kind: Job
        metadata: {name: pi}
        spec:
          backoffLimit: 4
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: pi
                image: perl:5.34.0
                command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
        """)
    wait_until(lambda: proc.kubectl("get", "job", "pi", "-n", ns, "-o",
                                    "jsonpath={.status.succeeded}").stdout == "1", 90, 0.5)
    digits = proc.kubectl("logs", "job/pi", "-n", ns).stdout.strip()
    assert digits.startswith("3.14159265358979323846264338327950288419716939937510")
    assert len(digits) == 2001  # "3." and 1999 more digits: 2000 significant digits
    row = proc.kubectl("get", "job", "pi", "-n", ns, "--no-headers").stdout.split()
    assert row[1:3] == ["Complete", "1/1"]


BURNER = "import time\nwhile True:\n    t = time.time()\n    while time.time() - t < 0.03: pass\n    time.sleep(0.07)\n"


def test_kubectl_top_and_hpa_on_real_processes(proc: Cluster, ns: str):
    """Pods that burn about 300m of CPU against a 100m request scale up; idle ones scale back down."""
    apply(proc, ns, f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: burner}}
        spec:
          replicas: 1
          selector: {{matchLabels: {{app: burner}}}}
          template:
            metadata: {{labels: {{app: burner}}}}
            spec:
              containers:
              - name: burn
                image: python:3.12
                command: ["python3", "-c", {BURNER!r}]
                resources: {{requests: {{cpu: 100m}}}}
        """.replace("'", '"'))
    proc.kubectl("rollout", "status", "deployment/burner", "-n", ns, "--timeout=60s", timeout=90)

    def busy():
        result = proc.kubectl("top", "pods", "-n", ns, "--no-headers", check=False)
        rows = [r.split() for r in result.stdout.splitlines()] if result.returncode == 0 else []
        # about 300m: a burner that sleeps 70% of the time can never reach a whole core
        return rows and all(150 <= int(r[1].rstrip("m")) < 1000 for r in rows) and rows
    wait_until(busy, 30, 0.5)
    apply(proc, ns, """\
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: burner}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burner}
          minReplicas: 1
          maxReplicas: 2
          metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
          behavior: {scaleDown: {stabilizationWindowSeconds: 30}}
        """)
    replicas = lambda: json.loads(proc.kubectl(  # noqa: E731
        "get", "deploy", "burner", "-n", ns, "-o", "json").stdout)["spec"]["replicas"]
    wait_until(lambda: replicas() == 2, 60, 0.5)
    proc.kubectl("patch", "deployment", "burner", "-n", ns, "--type=json", "-p",
                 '[{"op": "replace", "path": "/spec/template/spec/containers/0/command", '
                 '"value": ["sleep", "3600"]}]')
    wait_until(lambda: replicas() == 1, 90, 0.5)
    assert "reason: All metrics below target" in proc.kubectl("describe", "hpa", "burner", "-n", ns).stdout
