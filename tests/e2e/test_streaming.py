"""kubectl exec, cp and port-forward, and grpc probes, with the real kubectl and real processes.

kubectl 1.31+ speaks WebSockets: exec on the v5 channel protocol, port-forward as SPDY/3.1
inside binary messages. The cluster's time runs 10x faster than wall time, so probe periods
pass in a fraction of a second.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import KUBECTL, Cluster, create_namespace, free_port, running_cluster, wait_until, apply_manifest as apply

ARGS = ("--local-runtime", "process", "--time-scale", "10")


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("stream"), *ARGS) as c:
        yield c


@pytest.fixture
def ns(proc: Cluster) -> str:
    return create_namespace(proc)



def wait_running(c: Cluster, ns: str, name: str, timeout: float = 30) -> dict:
    def running():
        pod = json.loads(c.kubectl("get", "pod", name, "-n", ns, "-o", "json").stdout)
        statuses = pod["status"].get("containerStatuses") or []
        return pod if statuses and all("running" in s["state"] for s in statuses) else None
    return wait_until(running, timeout, 0.2)


def sleeper(c: Cluster, ns: str, name: str = "box", extra: str = "") -> None:
    apply(c, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}}}
    spec:
      containers:
      - name: main
        image: busybox
        command: ["sleep", "3600"]
        workingDir: /tmp
        env: [{{name: GREETING, value: hello-from-env}}]
    {extra}""")
    wait_running(c, ns, name)


def test_exec_runs_in_the_container_environment_with_its_exit_code(proc: Cluster, ns: str) -> None:
    sleeper(proc, ns)
    out = proc.kubectl("exec", "box", "-n", ns, "--", "sh", "-c", 'echo "$GREETING"; pwd; echo oops >&2; exit 3',
                       check=False)
    assert out.returncode == 3
    assert out.stdout == "hello-from-env\n/tmp\n"
    assert "oops" in out.stderr
    assert "command terminated with exit code 3" in out.stderr
    assert proc.kubectl("exec", "box", "-n", ns, "-c", "main", "--", "true").returncode == 0


def test_exec_with_stdin(proc: Cluster, ns: str) -> None:
    sleeper(proc, ns)
    out = proc.kubectl("exec", "-i", "box", "-n", ns, "--", "sh", "-c", "wc -l; echo done", input="a\nb\nc\n")
    assert out.stdout.split() == ["3", "done"]


def run_under_pty(args: list[str], keys: list[bytes], rows: int = 33, cols: int = 101,
                  timeout: float = 30) -> tuple[int, bytes]:
    """Run a command on a terminal of its own of the given size, typing each of `keys` at a prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kubectl on the pty
        os.execvp(args[0], args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    output = b""
    deadline = time.monotonic() + timeout

    def read_until(done) -> None:
        nonlocal output
        while not done() and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    output += os.read(fd, 4096)
                except OSError:  # kubectl exited: the pty is gone
                    return

    for key in keys:
        mark = len(output)
        read_until(lambda: output[mark:].rstrip().endswith((b"#", b"$")))
        os.write(fd, key)
    read_until(lambda: False)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output


def test_exec_with_a_terminal(proc: Cluster, ns: str) -> None:
    sleeper(proc, ns)
    code, output = run_under_pty(
        [KUBECTL, "--kubeconfig", str(proc.kubeconfig), "exec", "-it", "box", "-n", ns, "--", "sh"],
        [b"tty; stty size; echo $((6*7))\n", b"exit 5\n"])
    text = output.decode(errors="replace")
    assert code == 5, text
    assert "/dev/pts/" in text  # a terminal of its own
    assert "33 101" in text  # sized as kubectl's terminal (the resize channel)
    assert "42" in text
    assert "command terminated with exit code 5" in text


def test_exec_refusals_as_upstream(proc: Cluster, ns: str) -> None:
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: two}
    spec:
      restartPolicy: Never
      containers:
      - {name: main, image: busybox, command: ["sleep", "3600"]}
      - {name: done, image: busybox, command: ["true"]}
    """)
    def settled():
        pod = json.loads(proc.kubectl("get", "pod", "two", "-n", ns, "-o", "json").stdout)
        states = {s["name"]: s["state"] for s in pod["status"].get("containerStatuses") or []}
        return "running" in states.get("main", {}) and "terminated" in states.get("done", {})
    wait_until(settled, 30, 0.2)
    wrong = proc.kubectl("exec", "two", "-n", ns, "-c", "nope", "--", "ls", check=False)
    assert wrong.returncode == 1
    assert "Error from server (BadRequest): container nope is not valid for pod two" in wrong.stderr
    stopped = proc.kubectl("exec", "two", "-n", ns, "-c", "done", "--", "ls", check=False)
    assert stopped.returncode == 1
    assert 'error: unable to upgrade connection: container not found ("done")' in stopped.stderr
    missing = proc.kubectl("exec", "two", "-n", ns, "-c", "main", "--", "no-such-binary", check=False)
    assert missing.returncode == 1
    assert 'exec: "no-such-binary": executable file not found in $PATH' in missing.stderr
    assert "Internal error occurred: error executing command in container" in missing.stderr


def test_attach_follows_the_containers_output_until_it_exits(proc: Cluster, ns: str) -> None:
    apply(proc, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: ticker}
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: ["sh", "-c", "i=0; while [ $i -lt 25 ]; do i=$((i+1)); echo tick $i; echo err $i >&2; sleep 0.2; done"]
    """)
    wait_running(proc, ns, "ticker")
    out = proc.kubectl("attach", "ticker", "-n", ns, timeout=30)
    assert out.stdout.splitlines()[-1] == "tick 25"  # to the container's last line, then it ends
    assert "err 25" in out.stderr and "tick" not in out.stderr


def test_cp_into_and_out_of_a_pod(proc: Cluster, ns: str, tmp_path: Path) -> None:
    sleeper(proc, ns)
    inside = tmp_path / "inside"  # pods share the host's filesystem until they get mount namespaces
    inside.mkdir()
    source = tmp_path / "notes.txt"
    source.write_text("line one\nline two\n")
    proc.kubectl("cp", str(source), f"{ns}/box:{inside}/copied.txt")
    assert proc.kubectl("exec", "box", "-n", ns, "--", "cat", f"{inside}/copied.txt").stdout == "line one\nline two\n"
    proc.kubectl("exec", "box", "-n", ns, "--", "sh", "-c", f"echo made-in-pod > {inside}/out.txt")
    back = tmp_path / "back.txt"
    proc.kubectl("cp", f"{ns}/box:{inside}/out.txt", str(back))
    assert back.read_text() == "made-in-pod\n"


class PortForward:
    """`kubectl port-forward` in the background until the block ends."""

    def __init__(self, c: Cluster, ns: str, target: str, remote: int) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen([KUBECTL, "--kubeconfig", str(c.kubeconfig), "port-forward", "-n", ns, target,
                                      f"{self.port}:{remote}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def __enter__(self) -> "PortForward":
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("Forwarding from"), line + (self.proc.stderr.read() if self.proc.stderr else "")
        return self

    def get(self, path: str = "/") -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=20) as response:
            return response.read().decode()

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def test_port_forward_to_nginx_by_pod_deployment_and_service(proc: Cluster, ns: str) -> None:
    apply(proc, ns, """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 1
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers:
          - {name: nginx, image: nginx, ports: [{containerPort: 80}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{port: 8080, targetPort: 80}]
    """)
    pods = wait_until(lambda: (items := json.loads(proc.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)["items"])
                      and items, 30, 0.2)
    name = pods[0]["metadata"]["name"]
    wait_running(proc, ns, name)
    for target, remote in ((f"pod/{name}", 80), ("deploy/web", 80), ("svc/web", 8080)):
        with PortForward(proc, ns, target, remote) as forward:
            assert "Welcome to nginx!" in forward.get()
            assert "Welcome to nginx!" in forward.get()  # a second connection over the same tunnel


def test_port_forward_to_a_python_server_and_a_closed_port(proc: Cluster, ns: str, tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("0123456789abcdef" * 200_000)  # 3.2 MB through the tunnel
    apply(proc, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: py}}
    spec:
      containers:
      - name: server
        image: python
        command: [{json.dumps(sys.executable)}, "-m", "http.server", "8000", "--bind", "$(POD_IP)",
                  "--directory", {json.dumps(str(tmp_path))}]
        env: [{{name: POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}]
        readinessProbe: {{tcpSocket: {{port: 8000}}, periodSeconds: 1}}
    """)
    wait_until(lambda: "1/1" in proc.kubectl("get", "pod", "py", "-n", ns, "--no-headers").stdout, 30, 0.2)
    with PortForward(proc, ns, "pod/py", 8000) as forward:
        assert forward.get("/big.txt") == (tmp_path / "big.txt").read_text()
    with PortForward(proc, ns, "pod/py", 8001) as forward:
        with pytest.raises(Exception):
            forward.get()
        forward.proc.wait(20)
        assert forward.proc.stderr is not None
        err = forward.proc.stderr.read()
    uid = json.loads(proc.kubectl("get", "pod", "py", "-n", ns, "-o", "json").stdout)["metadata"]["uid"]
    assert f"error forwarding port 8001 to pod py_{ns}, uid {uid}: dial tcp " in err
    assert ":8001: connect: connection refused" in err


GRPC_SERVER = """
import os, time
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(2))
servicer = health.HealthServicer()
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
server.add_insecure_port(os.environ["POD_IP"] + ":9090")
server.start()
servicer.set("", health_pb2.HealthCheckResponse.SERVING)
print("serving", flush=True)
time.sleep(float(os.environ["HEALTHY_FOR"]))
servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
print("not serving", flush=True)
server.wait_for_termination()
"""


def test_grpc_liveness_probe_restarts_a_container_that_stops_serving(proc: Cluster, ns: str) -> None:
    apply(proc, ns, f"""
    apiVersion: v1
    kind: Pod
    metadata: {{name: rpc}}
    spec:
      containers:
      - name: grpc
        image: python
        command: [{json.dumps(sys.executable)}, "-c", {json.dumps(GRPC_SERVER)}]
        env:
        - {{name: POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
        - {{name: HEALTHY_FOR, value: "4"}}
        livenessProbe:
          grpc: {{port: 9090}}
          initialDelaySeconds: 5
          periodSeconds: 5
          failureThreshold: 2
          timeoutSeconds: 5
    """)

    def restarted():
        pod = json.loads(proc.kubectl("get", "pod", "rpc", "-n", ns, "-o", "json").stdout)
        status = {s["name"]: s for s in pod["status"].get("containerStatuses") or []}.get("grpc") or {}
        return status if status.get("restartCount", 0) >= 1 else None

    status = wait_until(restarted, 90, 0.5)
    assert status["lastState"]["terminated"]["exitCode"] == 143  # SIGTERM ended it within the grace period
    events = json.loads(proc.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=rpc",
                                     "-o", "json").stdout)["items"]
    messages = {f"{e['reason']}: {e['message']}" for e in events}
    assert 'Unhealthy: Liveness probe failed: service unhealthy (responded with "NOT_SERVING")' in messages
    assert "Killing: Container grpc failed liveness probe, will be restarted" in messages
