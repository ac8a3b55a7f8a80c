"""Test support: start a real `tinykube server` on a free port and drive the real `kubectl`."""

from __future__ import annotations

import os
import ssl
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator
from pathlib import Path

import yaml

if TYPE_CHECKING:
    import httpx

READY_TIMEOUT = 60.0
# Which kubectl the tests drive (default: the one on PATH); set e.g. to a kubectl 1.31 binary
# to run the suite against another client version.
KUBECTL = os.environ.get("TINYKUBE_TEST_KUBECTL", "kubectl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class KubectlResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cluster:
    """A running server process and the kubeconfig it wrote."""

    data_dir: Path
    port: int
    kubeconfig: Path
    cache_dir: Path
    process: subprocess.Popen | None = None
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.data_dir / "pki" / "ca.crt")

    def http(self, authenticated: bool = True, **kwargs) -> "httpx.Client":
        """An HTTP client that trusts the cluster's CA (and sends the token unless told not to)."""
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if authenticated else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=self.ca_file), headers=headers,
                            timeout=kwargs.pop("timeout", 30), **kwargs)

    @property
    def token(self) -> str:
        config = yaml.safe_load(self.kubeconfig.read_text())
        return config["users"][0]["user"]["token"]

    def start(self, extra_args: tuple[str, ...] = ()) -> None:
        if "--local-runtime" not in extra_args:
            # Tests that only need pods scheduled and running keep the local node simulated:
            # their pods' images (nginx on port 80, busybox without a command) would otherwise
            # run, or crash-loop, for real. tests/e2e/test_process_runtime.py asks for processes.
            extra_args = ("--local-runtime", "sim", *extra_args)
        cmd = [sys.executable, "-m", "tinykube.cli", "server", "--data-dir", str(self.data_dir),
               "--port", str(self.port), "--kubeconfig", str(self.kubeconfig), *extra_args]
        self.output = []
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ready = threading.Event()

        def pump(proc: subprocess.Popen) -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.output.append(line)
                if line.startswith("tinykube ready"):
                    ready.set()

        threading.Thread(target=pump, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("tinykube server did not become ready:\n" + "".join(self.output))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def user_kubeconfig(self, name: str, user: dict) -> Path:
        """A copy of the admin kubeconfig whose user is `user` (e.g. {"token": ...}), for acting as others."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        config["users"][0]["user"] = user
        path = self.kubeconfig.with_name(f"kubeconfig-{name}")
        path.write_text(yaml.safe_dump(config))
        return path

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60,
                env: dict[str, str] | None = None, kubeconfig: Path | None = None) -> KubectlResult:
        cmd = [KUBECTL, "--kubeconfig", str(kubeconfig or self.kubeconfig), "--cache-dir", str(self.cache_dir),
               *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
        result = KubectlResult(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return result

    def kubectl_bg(self, *args: str) -> subprocess.Popen:
        cmd = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir), *args]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def new_cluster(tmp: Path) -> Cluster:
    return Cluster(data_dir=tmp / "data", port=free_port(), kubeconfig=tmp / "kubeconfig",
                   cache_dir=tmp / "kubecache")


def unique_namespace() -> str:
    return "t-" + uuid.uuid4().hex[:8]


@contextmanager
def running_cluster(tmp: Path, *args: str) -> Iterator[Cluster]:
    """A server started with `args` for the duration of the block (module fixtures)."""
    c = new_cluster(tmp)
    c.start(args)
    try:
        yield c
    finally:
        c.stop()


def create_namespace(c: Cluster) -> str:
    name = unique_namespace()
    c.kubectl("create", "namespace", name)
    wait_namespace_ready(c, name)
    return name


def wait_namespace_ready(c: Cluster, name: str, timeout: float = 30.0) -> None:
    """Wait for what controllers add to a new namespace (its `default` ServiceAccount, which pods
    need, and the kube-root-ca.crt ConfigMap), as upstream's e2e framework waits for the SA."""
    with c.http() as http:
        for path in (f"/api/v1/namespaces/{name}/serviceaccounts/default",
                     f"/api/v1/namespaces/{name}/configmaps/kube-root-ca.crt"):
            wait_until(lambda: http.get(path).status_code == 200, timeout)
def apply_manifest(c: Cluster, ns: str, manifest: str) -> None:
    """`kubectl apply -n ns -f -` of an indented YAML manifest."""
    import textwrap
    c.kubectl("apply", "-n", ns, "-f", "-", input=textwrap.dedent(manifest))


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class WatchRecorder:
    """Follows a watch over HTTP in a thread and calls `on_event(type, object, state)` for every
    event, with `state` the live objects by name after it: invariants checked on every event,
    not on samples."""

    def __init__(self, c: Cluster, path: str, on_event) -> None:
        self.c = c
        self.path = path
        self.on_event = on_event
        self.state: dict[str, dict] = {}
        self.events = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "WatchRecorder":
        self._thread.start()
        if not self._started.wait(15):
            raise AssertionError("watch did not start")
        return self

    def __exit__(self, *exc) -> None:
        # The reader stops by itself within one short server-side watch (timeoutSeconds): a TLS
        # connection must never be closed from another thread while it is being read.
        self._stop.set()
        self._thread.join(15)
        if self.error is not None and exc[0] is None:
            raise self.error

    def _run(self) -> None:
        import json as _json
        try:
            with self.c.http(timeout=None) as client:
                listing = client.get(self.path).json()
                for item in listing.get("items") or []:
                    self.state[item["metadata"]["name"]] = item
                rv = listing["metadata"]["resourceVersion"]
                sep = "&" if "?" in self.path else "?"
                while not self._stop.is_set():
                    url = f"{self.path}{sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion={rv}"
                    with client.stream("GET", url) as stream:
                        self._started.set()
                        for line in stream.iter_lines():
                            if not line:
                                continue
                            event = _json.loads(line)
                            obj = event["object"]
                            rv = obj["metadata"].get("resourceVersion", rv)
                            if event["type"] == "DELETED":
                                self.state.pop(obj["metadata"]["name"], None)
                            elif event["type"] in ("ADDED", "MODIFIED"):
                                self.state[obj["metadata"]["name"]] = obj
                            else:
                                continue  # bookmarks only move the resourceVersion on
                            self.events += 1
                            self.on_event(event["type"], obj, self.state)
        except BaseException as exc:  # reported by __exit__
            self.error = exc
            self._started.set()


def is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])
