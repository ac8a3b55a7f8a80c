"""Decoding Kubernetes protobuf request bodies into the JSON a JSON client would have sent.

Three kinds of evidence:
- bodies captured from real kubectl (fixtures/kubectl_protobuf.json), each compared with
  what the same kubectl prints for `--dry-run=client -o json` (or a reviewed object where
  kubectl has no dry run); regenerate with `python tests/unit/test_protobuf.py`;
- a live capture from the machine's kubectl when one is installed;
- hand-encoded bodies for the special types, Go's JSON rules and malformed input.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tinykube.machinery.protobuf import (
    MAGIC,
    ProtobufError,
    decode_kubernetes_protobuf,
    go_duration_string,
    schema,
)

Obj = dict[str, Any]
FIXTURES = Path(__file__).parent / "fixtures" / "kubectl_protobuf.json"


# ============================================================================ a tiny encoder


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def vi(number: int, value: int) -> bytes:
    """A varint field (negative ints as 10-byte two's complement, like Go)."""
    return tag(number, 0) + varint(value)


def ld(number: int, payload: bytes | str) -> bytes:
    """A length-delimited field (string, bytes or embedded message)."""
    data = payload.encode() if isinstance(payload, str) else payload
    return tag(number, 2) + varint(len(data)) + data


def entry(number: int, key: str, value: bytes | str) -> bytes:
    """One map<string, ...> entry."""
    return ld(number, ld(1, key) + ld(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """MAGIC + runtime.Unknown{typeMeta, raw}."""
    return MAGIC + ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw)


def meta(name: str, namespace: str = "", **more: bytes) -> bytes:
    """ObjectMeta as Go writes it: every non-pointer field, creationTimestamp empty."""
    out = ld(1, name) + ld(2, "") + ld(3, namespace) + ld(4, "") + ld(5, "") + ld(6, "") + vi(7, 0) + ld(8, b"")
    return out + b"".join(more.values())


def decode(api_version: str, kind: str, raw: bytes) -> Obj:
    return decode_kubernetes_protobuf(envelope(api_version, kind, raw))


# ============================================================================ a kubectl capture server

# (group, version, plural, kind, namespaced, subresources as (name, group, version, kind))
RESOURCES: list[tuple[str, str, str, str, bool, tuple[tuple[str, str, str, str], ...]]] = [
    ("", "v1", "namespaces", "Namespace", False, ()),
    ("", "v1", "nodes", "Node", False, ()),
    ("", "v1", "configmaps", "ConfigMap", True, ()),
    ("", "v1", "secrets", "Secret", True, ()),
    ("", "v1", "services", "Service", True, ()),
    ("", "v1", "serviceaccounts", "ServiceAccount", True, (("token", "authentication.k8s.io", "v1", "TokenRequest"),)),
    ("", "v1", "pods", "Pod", True, (("eviction", "policy", "v1", "Eviction"), ("binding", "", "v1", "Binding"))),
    ("", "v1", "resourcequotas", "ResourceQuota", True, ()),
    ("apps", "v1", "deployments", "Deployment", True, (("scale", "autoscaling", "v1", "Scale"),)),
    ("apps", "v1", "replicasets", "ReplicaSet", True, ()),
    ("batch", "v1", "jobs", "Job", True, ()),
    ("batch", "v1", "cronjobs", "CronJob", True, ()),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ()),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ()),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ()),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ()),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, ()),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, ()),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, ()),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, ()),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, ()),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ()),
    ("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", False,
     (("approval", "certificates.k8s.io", "v1", "CertificateSigningRequest"),)),
]


def _resource_list(group: str, version: str) -> Obj | None:
    out = []
    for g, v, plural, kind, namespaced, subs in RESOURCES:
        if (g, v) != (group, version):
            continue
        out.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        for sub, sub_group, sub_version, sub_kind in subs:
            out.append({"name": f"{plural}/{sub}", "singularName": "", "namespaced": namespaced, "kind": sub_kind,
                        "group": sub_group, "version": sub_version, "verbs": ["create"]})
    if not out:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": out}


def _group_list() -> Obj:
    versions: dict[str, list[str]] = {}
    for g, v, *_ in RESOURCES:
        if g and v not in versions.setdefault(g, []):
            versions[g].append(v)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
         "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in versions.items()]}


@dataclass
class Request:
    method: str
    path: str
    content_type: str
    body: bytes


@dataclass
class CaptureServer:
    """Answers discovery and GETs from `objects`, records every write and echoes its body back."""

    minor: str = "33"
    objects: dict[str, Obj] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    port: int = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                doc = server.get(self.path.split("?")[0])
                if doc is None:
                    doc = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                           "reason": "NotFound", "message": "not found"}
                    self.send(404, json.dumps(doc).encode())
                else:
                    self.send(200, json.dumps(doc).encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type") or ""
                path = self.path.split("?")[0]
                server.requests.append(Request(self.command, path, content_type, body))
                self.send(201, body, content_type or "application/json")

            do_PUT = do_PATCH = do_DELETE = do_POST

        return Handler

    def get(self, path: str) -> Obj | None:
        if path == "/version":
            return {"major": "1", "minor": self.minor, "gitVersion": f"v1.{self.minor}.0", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/apis":
            return _group_list()
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2:
            return _resource_list("", parts[1])
        if parts[0] == "apis" and len(parts) == 3:
            return _resource_list(parts[1], parts[2])
        return self.objects.get(path)

    @contextmanager
    def running(self) -> Iterator[CaptureServer]:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            httpd.shutdown()
            httpd.server_close()


def run_kubectl(server: CaptureServer, args: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{server.port}'}}}}]\n"
        "contexts: [{name: c, context: {cluster: c, namespace: default}}]\ncurrent-context: c\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["HOME"] = str(workdir)
    command = ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(workdir / "cache"), *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env=env, cwd=workdir)


# ============================================================================ kubectl commands

RICH_POD_SPEC: Obj = {
    "terminationGracePeriodSeconds": 0,
    "priority": 0,
    "hostname": "web-0",
    "nodeSelector": {"disk": "ssd"},
    "securityContext": {"runAsUser": 1000, "runAsNonRoot": True, "fsGroup": 2000,
                        "seccompProfile": {"type": "RuntimeDefault"}, "sysctls": [{"name": "net.core.somaxconn",
                                                                                  "value": "1024"}]},
    "affinity": {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
            "labelSelector": {"matchLabels": {"run": "web"}}, "topologyKey": "kubernetes.io/hostname"}}]}},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 0}],
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
                                   "labelSelector": {"matchLabels": {"run": "web"}}}],
    "dnsPolicy": "None",
    "dnsConfig": {"nameservers": ["1.1.1.1"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db.local"]}],
    "volumes": [
        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        {"name": "config", "configMap": {"name": "web-config", "defaultMode": 420,
                                         "items": [{"key": "a", "path": "a.conf", "mode": 256}]}},
        {"name": "creds", "secret": {"secretName": "web-creds", "optional": False}},
        {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
        {"name": "proj", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600, "audience": "api"}},
            {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "web-data", "readOnly": True}},
    ],
    "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"],
                        "restartPolicy": "Always"}],
    "containers": [{
        "name": "web",
        "image": "nginx:1.25",
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}}],
        "envFrom": [{"configMapRef": {"name": "web-env"}, "prefix": "CFG_"}],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"},
                         {"name": "config", "mountPath": "/etc/web", "readOnly": True, "subPath": "a.conf"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "httpHeaders": [
            {"name": "X-Probe", "value": "1"}]}, "initialDelaySeconds": 5, "periodSeconds": 10},
        "readinessProbe": {"tcpSocket": {"port": 80}, "failureThreshold": 3},
        "startupProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "terminationGracePeriodSeconds": 0},
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}, "postStart": {"exec": {"command": ["true"]}}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsUser": 0, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
        "stdin": False,
        "tty": True,
    }],
}

CRONJOB: Obj = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "cj1", "namespace": "default", "uid": "0b5b2a34-7f4c-4d38-9d0e-3b1f6f1f2a01",
                 "creationTimestamp": "2026-01-01T00:00:00Z", "resourceVersion": "7"},
    "spec": {"schedule": "*/5 * * * *", "jobTemplate": {
        "metadata": {"labels": {"team": "a"}},
        "spec": {"backoffLimit": 2, "template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox", "args": ["date"]}]}}}}},
}

RICH_CRONJOB: Obj = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "web", "namespace": "default", "uid": "1c5b2a34-7f4c-4d38-9d0e-3b1f6f1f2a05"},
    "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {
        "completions": 1, "ttlSecondsAfterFinished": 0, "podFailurePolicy": {"rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]},
        "template": {"metadata": {"labels": {"run": "web"}, "annotations": {"a": "b"}}, "spec": RICH_POD_SPEC}}}},
}

DEPLOYMENT: Obj = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "msa-web", "namespace": "default", "uid": "6f6c1d0e-2f6c-4a53-8d1e-9b3f1f0c1a02",
                 "labels": {"app": "msa-web"}, "resourceVersion": "9"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "msa-web"}}, "template": {
        "metadata": {"labels": {"app": "msa-web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.17", "ports": [{"containerPort": 80}]}]}}},
}

CSR: Obj = {
    "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
    "metadata": {"name": "csr1", "uid": "3a5b2a34-7f4c-4d38-9d0e-3b1f6f1f2a06", "resourceVersion": "5",
                 "creationTimestamp": "2026-01-01T00:00:00Z"},
    "spec": {"request": "LS0tLS1CRUdJTg==", "signerName": "kubernetes.io/kube-apiserver-client",
             "usages": ["client auth"], "username": "alice", "groups": ["g"], "extra": {"scopes": ["a", "b"]},
             "expirationSeconds": 3600},
    "status": {},
}

NODE: Obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}},
             "spec": {}, "status": {}}

ANY = "<any>"  # in an expected object: a value that changes from run to run (names, times)


def matches(got: Any, expected: Any) -> bool:
    """Equality, except that ANY in `expected` stands for any string."""
    if expected == ANY:
        return isinstance(got, str)
    if isinstance(expected, dict):
        return isinstance(got, dict) and got.keys() == expected.keys() and all(
            matches(got[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(matches, got, expected))
    return type(got) is type(expected) and got == expected


@dataclass
class KubectlCase:
    name: str
    args: list[str]
    objects: dict[str, Obj] = field(default_factory=dict)
    expected: Obj | None = None  # None: whatever `--dry-run=client -o json` prints
    files: dict[str, bytes] = field(default_factory=dict)  # written into the working directory


CASES: list[KubectlCase] = [
    KubectlCase("namespace", ["create", "namespace", "ns1"]),
    KubectlCase("configmap", ["create", "configmap", "cm1", "--from-literal=a=b", "--from-literal=c=d",
                              "--from-file=bin.dat"], files={"bin.dat": bytes(range(256))}),
    KubectlCase("secret-generic", ["create", "secret", "generic", "s1", "--from-literal=user=admin",
                                   "--from-file=key.bin", "--type=Opaque"], files={"key.bin": b"\x00\xff\x10secret"}),
    KubectlCase("secret-docker-registry", ["create", "secret", "docker-registry", "reg", "--docker-server=r.example",
                                           "--docker-username=u", "--docker-password=p", "--docker-email=u@e"]),
    KubectlCase("service-clusterip", ["create", "service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=8443:https"]),
    KubectlCase("service-headless", ["create", "service", "clusterip", "headless", "--clusterip=None"]),
    KubectlCase("service-nodeport", ["create", "service", "nodeport", "np1", "--tcp=80:8080", "--node-port=30080"]),
    KubectlCase("service-loadbalancer", ["create", "service", "loadbalancer", "lb1", "--tcp=80:8080"]),
    KubectlCase("service-externalname", ["create", "service", "externalname", "ext1",
                                         "--external-name=example.com"]),
    KubectlCase("serviceaccount", ["create", "serviceaccount", "sa1"]),
    KubectlCase("deployment", ["create", "deployment", "msa-web", "--image=nginx:1.17", "--port=80", "--replicas=2"]),
    KubectlCase("deployment-two-images", ["create", "deployment", "multi", "--image=nginx", "--image=redis:7"]),
    KubectlCase("job", ["create", "job", "j1", "--image=busybox", "--", "echo", "hi"]),
    KubectlCase("cronjob", ["create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *",
                            "--restart=OnFailure", "--", "date"]),
    KubectlCase("job-from-cronjob", ["create", "job", "j2", "--from=cronjob/cj1"],
                objects={"/apis/batch/v1/namespaces/default/cronjobs/cj1": CRONJOB}),
    KubectlCase("job-from-rich-cronjob", ["create", "job", "web-once", "--from=cronjob/web"],
                objects={"/apis/batch/v1/namespaces/default/cronjobs/web": RICH_CRONJOB}),
    KubectlCase("autoscale", ["autoscale", "deployment", "msa-web", "--min=2", "--max=5", "--cpu-percent=80"],
                objects={"/apis/apps/v1/namespaces/default/deployments/msa-web": DEPLOYMENT}),
    KubectlCase("quota", ["create", "quota", "q1", "--hard=cpu=1,memory=1G,pods=2,requests.storage=1.5Gi",
                          "--scopes=NotTerminating"]),
    KubectlCase("priorityclass", ["create", "priorityclass", "pc1", "--value=1000", "--description=high",
                                  "--preemption-policy=Never"]),
    KubectlCase("pdb-percent", ["create", "pdb", "pdb1", "--selector=app=x", "--min-available=50%"]),
    KubectlCase("pdb-int", ["create", "pdb", "pdb2", "--selector=app=x", "--max-unavailable=1"]),
    KubectlCase("role", ["create", "role", "r1", "--verb=get,list", "--resource=pods,deployments.apps",
                         "--resource-name=a"]),
    KubectlCase("clusterrole", ["create", "clusterrole", "cr1", "--verb=get", "--non-resource-url=/logs/*"]),
    KubectlCase("rolebinding", ["create", "rolebinding", "rb1", "--clusterrole=view", "--user=u1",
                                "--serviceaccount=default:sa1", "--group=g1"]),
    KubectlCase("clusterrolebinding", ["create", "clusterrolebinding", "crb1", "--clusterrole=view", "--user=u1"]),
    KubectlCase("ingress", ["create", "ingress", "ing1", "--rule=foo.com/bar*=svc1:8080,tls=my-cert",
                            "--rule=/api=svc2:http", "--class=nginx", "--annotation=a=b"]),
    KubectlCase("certificate-approve", ["certificate", "approve", "csr1"],
                objects={"/apis/certificates.k8s.io/v1/certificatesigningrequests/csr1": CSR},
                expected={**CSR, "status": {"conditions": [{
                    "type": "Approved", "status": "True", "reason": "KubectlApprove",
                    "message": "This CSR was approved by kubectl certificate approve.",
                    "lastUpdateTime": ANY, "lastTransitionTime": None}]}}),
    KubectlCase("debug-node", ["debug", "node/n1", "--image=busybox", "--profile=legacy"],
                objects={"/api/v1/nodes/n1": NODE},
                expected={"kind": "Pod", "apiVersion": "v1", "metadata": {"name": ANY, "creationTimestamp": None},
                          "spec": {"volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
                                   "containers": [{"name": "debugger", "image": "busybox", "resources": {},
                                                   "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
                                                   "terminationMessagePolicy": "File"}],
                                   "restartPolicy": "Never", "nodeName": "n1", "hostNetwork": True,
                                   "hostPID": True, "hostIPC": True, "tolerations": [{"operator": "Exists"}]},
                          "status": {}}),
    KubectlCase("token", ["create", "token", "sa1", "--duration=1h", "--audience=api", "--audience=vault"],
                expected={"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                          "metadata": {"creationTimestamp": None},
                          "spec": {"audiences": ["api", "vault"], "expirationSeconds": 3600, "boundObjectRef": None},
                          "status": {"token": "", "expirationTimestamp": None}}),
    KubectlCase("auth-can-i", ["auth", "can-i", "create", "pods", "--subresource=log"],
                expected={"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                          "metadata": {"creationTimestamp": None},
                          "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods",
                                                          "subresource": "log"}},
                          "status": {"allowed": False}}),
]


class NoProtobufBody(Exception):
    """kubectl wrote nothing as protobuf (kubectl < 1.32 sends JSON)."""


def capture(case: KubectlCase, workdir: Path, minor: str = "33") -> tuple[Request, Obj]:
    """Run the case against a capture server: the protobuf write request, and the expected JSON."""
    for name, data in case.files.items():
        (workdir / name).write_bytes(data)
    server = CaptureServer(minor=minor, objects=json.loads(json.dumps(case.objects)))
    with server.running():
        result = run_kubectl(server, case.args, workdir)
        writes = [r for r in server.requests if "protobuf" in r.content_type]
        sent = [(r.method, r.path, r.content_type) for r in server.requests]
        if not writes:
            raise NoProtobufBody(f"kubectl {case.args} ({result.returncode} {result.stderr.strip()}): {sent}")
        expected = case.expected
        if expected is None:
            server.objects = json.loads(json.dumps(case.objects))
            cut = case.args.index("--") if "--" in case.args else len(case.args)
            dry_args = [*case.args[:cut], "--dry-run=client", "-o", "json", *case.args[cut:]]
            dry = run_kubectl(server, dry_args, workdir)
            assert dry.returncode == 0, dry.stderr
            expected = json.loads(dry.stdout)
    return writes[-1], expected


# ============================================================================ fixture tests


def load_fixtures() -> list[Obj]:
    return json.loads(FIXTURES.read_text())["bodies"] if FIXTURES.exists() else []


@pytest.mark.parametrize("fixture", load_fixtures(), ids=lambda f: f["name"])
def test_kubectl_fixture_decodes_to_the_json_kubectl_would_send(fixture: Obj) -> None:
    body = base64.b64decode(fixture["body"])
    assert fixture["contentType"] == "application/vnd.kubernetes.protobuf"
    assert matches(decode_kubernetes_protobuf(body), fixture["expected"])


def test_fixtures_cover_every_case() -> None:
    names = {f["name"] for f in load_fixtures()}
    assert names == {c.name for c in CASES}


def test_fixture_spot_checks() -> None:
    by_name = {f["name"]: decode_kubernetes_protobuf(base64.b64decode(f["body"])) for f in load_fixtures()}
    secret = by_name["secret-generic"]
    assert base64.b64decode(secret["data"]["key.bin"]) == b"\x00\xff\x10secret"
    assert by_name["configmap"]["binaryData"]["bin.dat"] == base64.b64encode(bytes(range(256))).decode()
    assert by_name["pdb-percent"]["spec"]["minAvailable"] == "50%"
    assert by_name["pdb-int"]["spec"]["maxUnavailable"] == 1
    pod = by_name["job-from-rich-cronjob"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 0 and pod["priority"] == 0
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["port"] == "http"
    assert container["readinessProbe"]["tcpSocket"]["port"] == 80
    assert container["securityContext"]["runAsUser"] == 0
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "128Mi"}
    assert "stdin" not in container and container["tty"] is True
    assert pod["volumes"][0] == {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}
    assert pod["tolerations"][1]["tolerationSeconds"] == 0


# ============================================================================ live kubectl


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
@pytest.mark.parametrize("minor", ["32", "33"])
@pytest.mark.parametrize("name", ["deployment", "job-from-rich-cronjob", "secret-generic", "token"])
def test_live_kubectl_body_decodes_to_its_dry_run_json(name: str, minor: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == name)
    try:
        request, expected = capture(case, tmp_path, minor)
    except NoProtobufBody as exc:
        pytest.skip(f"this kubectl sends JSON: {exc}")
    assert request.content_type == "application/vnd.kubernetes.protobuf"
    assert matches(decode_kubernetes_protobuf(request.body), expected)


# ============================================================================ envelope and errors


def test_envelope_adds_kind_and_api_version_first() -> None:
    obj = decode("v1", "ConfigMap", ld(1, meta("cm", "default")) + entry(2, "k", "v"))
    assert list(obj)[:2] == ["kind", "apiVersion"]
    assert obj == {"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"name": "cm", "namespace": "default", "creationTimestamp": None},
                   "data": {"k": "v"}}


def test_envelope_defaults_fill_a_missing_type() -> None:
    body = MAGIC + ld(2, ld(1, meta("ns1")))
    with pytest.raises(ProtobufError, match="apiVersion and kind"):
        decode_kubernetes_protobuf(body)
    obj = decode_kubernetes_protobuf(body, api_version="v1", kind="Namespace")
    assert obj["kind"] == "Namespace" and obj["metadata"]["name"] == "ns1"


def test_meta_kinds_decode_in_any_group_version() -> None:
    raw = vi(1, 30) + ld(4, "Foreground") + ld(5, "All")
    assert decode("apps/v1", "DeleteOptions", raw) == {
        "kind": "DeleteOptions", "apiVersion": "apps/v1", "gracePeriodSeconds": 30,
        "propagationPolicy": "Foreground", "dryRun": ["All"]}


@pytest.mark.parametrize("body, message", [
    (b"", "empty"),
    (b"{\"kind\": \"Pod\"}", "prefix"),
    (b"k8s\x01" + ld(1, b""), "prefix"),
    (MAGIC, "no message"),
    (envelope("v1", "Pod", b"")[:-3], "end of the data|past the end"),
    (envelope("v1", "Frobnicator", b""), "no protobuf message is known"),
    (envelope("example.com/v1", "Widget", b""), "no protobuf message is known"),
    (envelope("v1", "Pod", ld(1, b"\x80")), "end of data"),
    (envelope("v1", "Pod", tag(1, 0) + varint(1)), "wrong wire type"),
    (envelope("v1", "Pod", ld(1, vi(1, 5))), "wrong wire type"),
    (envelope("v1", "Pod", b"\x80" * 11), "varint"),
    (envelope("v1", "Pod", tag(99, 3)), "wire type 3"),
    (envelope("v1", "Pod", b"\x00"), "illegal field number 0"),
    (envelope("v1", "Pod", tag(9, 1) + b"\x00\x00"), "end of data"),
    (envelope("v1", "Service", ld(2, ld(1, ld(4, vi(1, 7))))), "IntOrString"),
    (envelope("v1", "Event", ld(1, meta("e", "d", t=ld(8, vi(1, 10**13))))), "outside years"),
    (envelope("v1", "List", ld(2, ld(1, b"{not json"))), "not valid JSON"),
])
def test_malformed_bodies_raise_protobuf_error(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError, match=message):
        decode_kubernetes_protobuf(body)


def test_protobuf_error_is_a_value_error() -> None:
    assert issubclass(ProtobufError, ValueError)


def test_nesting_is_bounded() -> None:
    deep = b"{}"
    raw = b""
    for _ in range(200):  # List.items[0] is a RawExtension holding another protobuf List ...
        raw = ld(2, ld(1, MAGIC + ld(1, ld(1, "v1") + ld(2, "List")) + ld(2, raw or ld(2, ld(1, deep)))))
    with pytest.raises(ProtobufError, match="nested deeper"):
        decode("v1", "List", raw)
    with pytest.raises(ProtobufError, match="not valid JSON"):
        decode("v1", "List", ld(2, ld(1, b"[" * 100_000)))


def test_random_corruption_only_ever_raises_protobuf_error() -> None:
    rng = random.Random(1234)
    bodies = [base64.b64decode(f["body"]) for f in load_fixtures()] or [
        envelope("v1", "ConfigMap", ld(1, meta("cm")) + entry(2, "k", "v"))]
    for _ in range(3000):
        body = bytearray(rng.choice(bodies))
        for _ in range(rng.randint(1, 4)):
            choice = rng.random()
            pos = rng.randrange(4, len(body))
            if choice < 0.4:
                body[pos] = rng.randrange(256)
            elif choice < 0.7:
                del body[pos:]
            else:
                body[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 5)))
            if len(body) <= 5:
                break
        try:
            result = decode_kubernetes_protobuf(bytes(body))
        except ProtobufError:
            continue
        json.dumps(result)  # whatever decodes is JSON-serialisable


# ============================================================================ wire details


def test_unknown_fields_are_skipped() -> None:
    raw = (ld(1, meta("ns1") + ld(99, "new")) + vi(50, 1) + tag(51, 1) + b"\x00" * 8 + tag(52, 5) + b"\x00" * 4
           + ld(53, b"whatever"))
    assert decode("v1", "Namespace", raw)["metadata"] == {"name": "ns1", "creationTimestamp": None}


def test_repeated_message_field_merges_and_scalars_take_the_last_value() -> None:
    raw = ld(1, ld(1, "a") + entry(11, "x", "1")) + ld(1, ld(1, "b") + entry(11, "y", "2"))
    assert decode("v1", "Namespace", raw)["metadata"] == {
        "name": "b", "labels": {"x": "1", "y": "2"}, "creationTimestamp": None}


def test_packed_and_unpacked_repeated_scalars() -> None:
    # NodeSelectorRequirement has no ints; Container.ports[].containerPort is single. Use
    # PodSecurityContext.supplementalGroups (repeated int64, field 4).
    packed = ld(4, varint(1) + varint(2) + varint(3))
    unpacked = vi(4, 4) + vi(4, 5)
    spec = ld(14, packed + unpacked)
    pod = decode("v1", "Pod", ld(2, spec))
    assert pod["spec"]["securityContext"]["supplementalGroups"] == [1, 2, 3, 4, 5]


def test_integer_widths_and_signs() -> None:
    # Pod.spec.priority is int32 (*int32): Go writes negatives as 10-byte varints.
    assert decode("v1", "Pod", ld(2, vi(25, -5)))["spec"]["priority"] == -5
    assert decode("v1", "Pod", ld(2, vi(25, 2**32 + 7)))["spec"]["priority"] == 7
    # activeDeadlineSeconds is int64.
    assert decode("v1", "Pod", ld(2, vi(5, -(2**40))))["spec"]["activeDeadlineSeconds"] == -(2**40)
    assert decode("v1", "Pod", ld(2, vi(21, 2)))["spec"]["automountServiceAccountToken"] is True


def test_invalid_utf8_is_replaced_like_go_json() -> None:
    assert decode("v1", "Namespace", ld(1, ld(1, b"a\xffb")))["metadata"]["name"] == "a\ufffdb"


def test_double_fields() -> None:
    # No GA type in the table uses double; exercise the reader through a synthetic field.
    from tinykube.machinery.protobuf import Field, Message, _read_message

    f = Field(1, "x", "double")
    msg = Message("t", (f,), {1: f})
    assert _read_message(tag(1, 1) + struct.pack("<d", 1.5), 0, 9, msg, schema(), 0) == {1: 1.5}


# ============================================================================ Go's JSON rules


def test_zero_values_follow_go_omitempty_and_pointers() -> None:
    # Container: name has no omitempty (kept when empty), stdin/tty are omitempty bools.
    container = ld(1, "") + vi(16, 0) + vi(18, 1)
    pod = decode("v1", "Pod", ld(2, ld(2, container)))
    assert pod["spec"] == {"containers": [{"name": "", "resources": {}, "tty": True}]}
    assert pod["status"] == {}
    # Absent non-pointer structs are their zero values; absent slices without omitempty are null.
    assert decode("v1", "Pod", b"") == {"kind": "Pod", "apiVersion": "v1", "metadata": {"creationTimestamp": None},
                                        "spec": {"containers": None}, "status": {}}


def test_pointer_scalars_keep_zero_values() -> None:
    dep = decode("apps/v1", "Deployment", ld(2, vi(1, 0)))  # replicas *int32 = 0
    assert dep["spec"]["replicas"] == 0
    assert "replicas" not in decode("apps/v1", "Deployment", ld(2, b""))["spec"]
    # A set pointer to a zero time is kept as null; an unset one is left out.
    assert decode("coordination.k8s.io/v1", "Lease", ld(2, ld(4, b"")))["spec"] == {"renewTime": None}
    assert decode("coordination.k8s.io/v1", "Lease", ld(2, b""))["spec"] == {}


def test_inline_fields_merge_into_the_parent() -> None:
    volume = ld(1, "v") + ld(2, ld(2, ld(1, "Memory")))  # Volume{name, VolumeSource{emptyDir{medium}}}
    probe = ld(1, ld(1, ld(1, "true"))) + vi(2, 3)  # Probe{ProbeHandler{exec{command}}, initialDelaySeconds}
    container = ld(1, "c") + ld(10, probe)
    pod = decode("v1", "Pod", ld(2, ld(1, volume) + ld(2, container)))
    assert pod["spec"]["volumes"] == [{"name": "v", "emptyDir": {"medium": "Memory"}}]
    assert pod["spec"]["containers"][0]["livenessProbe"] == {"exec": {"command": ["true"]}, "initialDelaySeconds": 3}


def test_maps_of_strings_bytes_and_quantities() -> None:
    secret = decode("v1", "Secret", ld(1, meta("s")) + entry(2, "k", b"\x00\x01") + ld(2, ld(1, "empty"))
                    + ld(3, "Opaque") + entry(4, "plain", "text"))
    assert secret["data"] == {"k": "AAE=", "empty": ""}
    assert secret["stringData"] == {"plain": "text"}
    node = decode("v1", "Node", ld(3, entry(1, "cpu", ld(1, "4")) + ld(1, ld(1, "memory"))))
    assert node["status"]["capacity"] == {"cpu": "4", "memory": "0"}


def test_list_wrapper_types_become_arrays() -> None:
    extra = ld(5, ld(1, "scopes") + ld(2, ld(1, "a") + ld(1, "b")))
    review = decode("authorization.k8s.io/v1", "SubjectAccessReview", ld(2, ld(3, "alice") + extra))
    assert review["spec"]["extra"] == {"scopes": ["a", "b"]}


# ============================================================================ special types


def test_time_is_whole_seconds_rfc3339_and_zero_is_null() -> None:
    def created(payload: bytes) -> Any:
        return decode("v1", "Namespace", ld(1, ld(8, payload)))["metadata"]["creationTimestamp"]

    assert created(vi(1, 1767225600) + vi(2, 999)) == "2026-01-01T00:00:00Z"
    assert created(vi(1, 0)) == "1970-01-01T00:00:00Z"
    assert created(b"") is None
    assert created(vi(1, -62135596800)) is None  # Go's zero time
    assert created(vi(1, -1)) == "1969-12-31T23:59:59Z"


def test_deletion_timestamp_pointer() -> None:
    meta_ = decode("v1", "Namespace", ld(1, ld(9, vi(1, 86400))))["metadata"]
    assert meta_["deletionTimestamp"] == "1970-01-02T00:00:00Z"


def test_micro_time() -> None:
    def renew(payload: bytes) -> Any:
        return decode("coordination.k8s.io/v1", "Lease", ld(2, ld(4, payload)))["spec"]["renewTime"]

    assert renew(vi(1, 1767225600) + vi(2, 123456789)) == "2026-01-01T00:00:00.123456Z"
    assert renew(vi(1, 1767225600)) == "2026-01-01T00:00:00.000000Z"
    assert renew(b"") is None  # a set pointer to the zero time
    lease = decode("coordination.k8s.io/v1", "Lease", ld(2, ld(1, "holder") + vi(2, 15)))
    assert lease["spec"] == {"holderIdentity": "holder", "leaseDurationSeconds": 15}
    event = decode("v1", "Event", ld(1, meta("e", "d")) + ld(2, ld(1, "Pod")) + ld(10, vi(1, 0) + vi(2, 1500)))
    assert event["eventTime"] == "1970-01-01T00:00:00.000001Z"
    assert event["firstTimestamp"] is None and "count" not in event and event["reportingComponent"] == ""


@pytest.mark.parametrize("nanos, text", [
    (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (2_000_000, "2ms"), (1_500_000_000, "1.5s"),
    (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"), (3_723_000_000_001, "1h2m3.000000001s"),
    (-1_500_000_000, "-1.5s"),
])
def test_go_duration_string(nanos: int, text: str) -> None:
    assert go_duration_string(nanos) == text


def test_int_or_string() -> None:
    def target(payload: bytes) -> Any:
        svc = decode("v1", "Service", ld(2, ld(1, ld(1, "p") + vi(3, 80) + ld(4, payload))))
        return svc["spec"]["ports"][0]["targetPort"]

    assert target(vi(1, 0) + vi(2, 8080)) == 8080
    assert target(vi(1, 1) + ld(3, "http")) == "http"
    assert target(b"") == 0
    assert target(vi(1, 0) + vi(2, -1)) == -1


def test_raw_extension_and_fields_v1() -> None:
    item = ld(1, b'{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"}}')
    nested = ld(1, MAGIC + ld(1, ld(1, "v1") + ld(2, "Namespace")) + ld(2, ld(1, ld(1, "ns"))))
    listed = decode("v1", "List", ld(2, item) + ld(2, nested) + ld(2, b""))
    assert listed["items"] == [
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}},
        {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "ns", "creationTimestamp": None},
         "spec": {}, "status": {}},
        None,
    ]
    managed = ld(17, ld(1, "kubectl") + ld(2, "Apply") + ld(6, "FieldsV1") + ld(7, ld(1, b'{"f:data":{}}')))
    meta_ = decode("v1", "ConfigMap", ld(1, ld(1, "cm") + managed))["metadata"]
    assert meta_["managedFields"] == [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                                       "fieldsV1": {"f:data": {}}}]


# ============================================================================ kinds kubectl does not create


def test_statefulset_with_volume_claim_templates() -> None:
    pvc = ld(1, meta("data")) + ld(2, ld(1, "ReadWriteOnce") + ld(2, entry(2, "storage", ld(1, "1Gi"))))
    spec = vi(1, 3) + ld(2, ld(1, entry(1, "app", "db"))) + ld(4, pvc) + ld(5, "db") + ld(6, "Parallel")
    sts = decode("apps/v1", "StatefulSet", ld(1, meta("db", "default")) + ld(2, spec))
    assert sts["spec"]["volumeClaimTemplates"] == [{
        "metadata": {"name": "data", "creationTimestamp": None},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {}}]
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == "db"
    assert sts["spec"]["template"] == {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}}
    assert sts["spec"]["updateStrategy"] == {}


def test_daemonset_replicaset_and_binding() -> None:
    ds = decode("apps/v1", "DaemonSet", ld(2, ld(3, ld(1, "RollingUpdate") + ld(2, ld(1, vi(1, 1) + ld(3, "10%"))))))
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}
    rs = decode("apps/v1", "ReplicaSet", ld(3, vi(1, 2) + vi(2, 1)))
    assert rs["status"] == {"replicas": 2, "fullyLabeledReplicas": 1}
    binding = decode("v1", "Binding", ld(1, meta("p", "d")) + ld(2, ld(1, "Node") + ld(3, "n1")))
    assert binding["target"] == {"kind": "Node", "name": "n1"}


def test_hpa_v2_metrics() -> None:
    target = ld(1, "Utilization") + vi(4, 70)
    metric = ld(1, "Resource") + ld(4, ld(1, "cpu") + ld(2, target))
    behavior = ld(2, vi(3, 300) + ld(2, ld(1, "Pods") + vi(2, 4) + vi(3, 60)))
    spec = ld(1, ld(1, "Deployment") + ld(2, "web") + ld(3, "apps/v1")) + vi(2, 1) + vi(3, 10) + ld(4, metric)
    hpa = decode("autoscaling/v2", "HorizontalPodAutoscaler", ld(2, spec + ld(5, behavior)))
    assert hpa["spec"] == {
        "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
        "minReplicas": 1, "maxReplicas": 10,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                 "averageUtilization": 70}}}],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                   "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}},
    }
    assert hpa["status"] == {"desiredReplicas": 0, "currentMetrics": None}


def test_pvc_and_job_and_token_request() -> None:
    pvc = decode("v1", "PersistentVolumeClaim", ld(2, ld(1, "ReadWriteMany") + ld(5, "fast") + ld(6, "Filesystem")))
    assert pvc["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {}, "storageClassName": "fast",
                           "volumeMode": "Filesystem"}
    job = decode("batch/v1", "Job", ld(2, vi(1, 2) + vi(7, 4) + vi(3, 60)))
    assert job["spec"]["parallelism"] == 2 and job["spec"]["backoffLimit"] == 4
    assert job["spec"]["activeDeadlineSeconds"] == 60
    tr = decode("authentication.k8s.io/v1", "TokenRequest",
                ld(2, ld(1, "api") + vi(4, 600) + ld(3, ld(1, "Pod") + ld(2, "v1") + ld(3, "p") + ld(4, "u"))))
    assert tr["spec"] == {"audiences": ["api"], "expirationSeconds": 600,
                          "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "u"}}


def test_schema_covers_the_kinds_we_serve() -> None:
    tables = schema()
    for api_version, kind in [
        ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"),
        ("v1", "Pod"), ("v1", "Binding"), ("v1", "Event"), ("v1", "PersistentVolumeClaim"), ("v1", "Node"),
        ("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
        ("batch/v1", "Job"), ("batch/v1", "CronJob"), ("autoscaling/v1", "HorizontalPodAutoscaler"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "Eviction"), ("v1", "DeleteOptions"),
        ("authentication.k8s.io/v1", "TokenRequest"), ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("coordination.k8s.io/v1", "Lease"), ("events.k8s.io/v1", "Event"),
    ]:
        assert tables.message_for(api_version, kind) is not None, (api_version, kind)


# ============================================================================ fixture regeneration


def regenerate_fixtures() -> None:
    """Capture every case from the machine's kubectl into fixtures/kubectl_protobuf.json."""
    bodies = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            request, expected = capture(case, Path(tmp))
        got = decode_kubernetes_protobuf(request.body)
        status = "ok" if matches(got, expected) else "MISMATCH"
        print(f"{case.name:24} {len(request.body):5} bytes  {status}", file=sys.stderr)
        bodies.append({"name": case.name, "command": "kubectl " + " ".join(case.args), "kubectl": "1.33",
                       "method": request.method, "path": request.path, "contentType": request.content_type,
                       "body": base64.b64encode(request.body).decode(), "expected": expected})
    FIXTURES.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"comment": "Request bodies captured from kubectl 1.33 by tests/unit/test_protobuf.py; "
                                  "expected = kubectl's --dry-run=client -o json output (or a reviewed object).",
                       "bodies": bodies}, indent=1, ensure_ascii=False)
    FIXTURES.write_text(text + "\n")


if __name__ == "__main__":
    regenerate_fixtures()
