"""The parts a process pod meets at once, as the seeds use them: a StatefulSet's claims provisioned
by local-path and mounted in its sandbox, `kubectl exec` inside it, cluster DNS as its resolver
(the seeds' init containers wait on `nslookup`), and the API reached from inside with the pod's
ServiceAccount token. Needs root (pod sandboxes); `.ci/run` installs nslookup (bind9-dnsutils)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sys

import httpx
import pytest

from helpers import Cluster, create_namespace, is_ready, running_cluster, wait_until, apply_manifest as apply

pytestmark = pytest.mark.skipif(not (sys.platform == "linux" and os.geteuid() == 0),
                                reason="pod sandboxes, cluster DNS on kube-dns's ClusterIP and ClusterIPs need root")

WEB = """
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec:
  ports: [{port: 80, name: web}]
  clusterIP: None
  selector: {app: nginx}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: nginx}}
  serviceName: nginx
  replicas: 2
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


# a service range of its own, so kube-dns's ClusterIP (.10) meets nothing an earlier server on
# this host left behind
SUBNET = f"10.{random.randint(111, 126)}.{random.randint(0, 255)}.0/24"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    assert shutil.which("nslookup"), "nslookup is missing: .ci/run installs bind9-dnsutils"
    with running_cluster(tmp_path_factory.mktemp("together"), "--local-runtime", "process",
                         "--service-cluster-ip-range", SUBNET) as c:
        yield c


def dns_diagnosis(c: Cluster, ns: str, pod_name: str) -> str:
    """What to look at when a name does not resolve in a pod: its resolv.conf and the server's DNS lines."""
    conf = c.kubectl("exec", pod_name, "-n", ns, "--", "cat", "/etc/resolv.conf", check=False).stdout
    lines = [line for line in c.output if "DNS" in line or "dns" in line or "WARNING" in line]
    return f"resolv.conf:\n{conf}\nserver:\n{''.join(lines[-20:])}"



def pod(c: Cluster, ns: str, name: str) -> dict | None:
    out = c.kubectl("get", "pod", name, "-n", ns, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def ready(c: Cluster, ns: str, name: str) -> bool:
    p = pod(c, ns, name)
    return p is not None and is_ready(p)


def test_statefulset_volume_survives_its_pod_and_names_resolve(cluster: Cluster, tmp_path) -> None:
    ns = create_namespace(cluster)
    apply(cluster, ns, WEB)
    wait_until(lambda: ready(cluster, ns, "web-1"), timeout=90, interval=0.5)
    assert cluster.kubectl("exec", "web-0", "-n", ns, "--", "hostname").stdout.strip() == "web-0"
    claims = json.loads(cluster.kubectl("get", "pvc", "-n", ns, "-o", "json").stdout)["items"]
    assert sorted((c["metadata"]["name"], c["status"]["phase"]) for c in claims) == \
        [("www-web-0", "Bound"), ("www-web-1", "Bound")]
    # the seeds' session: a file written into the mounted claim outlives the pod
    cluster.kubectl("exec", "web-0", "-n", ns, "--", "sh", "-c",
                    "echo hello from web-0 > /usr/share/nginx/html/sample.html")
    uid = pod(cluster, ns, "web-0")["metadata"]["uid"]
    cluster.kubectl("delete", "pod", "web-0", "-n", ns)
    wait_until(lambda: (p := pod(cluster, ns, "web-0")) is not None and p["metadata"]["uid"] != uid and is_ready(p),
               timeout=90, interval=0.5)
    again = cluster.kubectl("exec", "web-0", "-n", ns, "--", "cat", "/usr/share/nginx/html/sample.html")
    assert again.stdout == "hello from web-0\n"
    # the built-in nginx serves the claim, on the pod's own IP
    ip = pod(cluster, ns, "web-0")["status"]["podIP"]
    assert httpx.get(f"http://{ip}/sample.html", timeout=10).text == "hello from web-0\n"
    # cluster DNS is the pod's resolver: the headless Service's per-pod names, short and full
    web1_ip = pod(cluster, ns, "web-1")["status"]["podIP"]
    short = cluster.kubectl("exec", "web-0", "-n", ns, "--", "getent", "hosts", "web-1.nginx", check=False)
    assert short.stdout.split()[:1] == [web1_ip], dns_diagnosis(cluster, ns, "web-0")
    full = cluster.kubectl("exec", "web-0", "-n", ns, "--", "nslookup", f"web-1.nginx.{ns}.svc.cluster.local")
    assert web1_ip in full.stdout


def test_seed_init_containers_wait_for_their_services(cluster: Cluster) -> None:
    ns = create_namespace(cluster)
    apply(cluster, ns, """
    apiVersion: v1
    kind: Pod
    metadata: {name: myapp-pod, labels: {app: myapp}}
    spec:
      containers:
      - name: myapp-container
        image: busybox:1.28
        command: ['sh', '-c', 'echo The app is running! && sleep 3600']
      initContainers:
      - name: init-myservice
        image: busybox:1.28
        command: ['sh', '-c', "until nslookup myservice.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; do echo waiting for myservice; sleep 2; done"]
      - name: init-mydb
        image: busybox:1.28
        command: ['sh', '-c', "until nslookup mydb.$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace).svc.cluster.local; do echo waiting for mydb; sleep 2; done"]
    """)
    wait_until(lambda: "waiting for myservice" in cluster.kubectl("logs", "myapp-pod", "-n", ns, "-c", "init-myservice",
                                                                  check=False).stdout, timeout=60, interval=0.5)
    status = lambda: cluster.kubectl("get", "pod", "myapp-pod", "-n", ns, "--no-headers").stdout.split()[2]  # noqa: E731
    assert status() == "Init:0/2"
    for name, port in (("myservice", 80), ("mydb", 9377)):
        apply(cluster, ns, f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: {name}}}
        spec:
          ports: [{{protocol: TCP, port: {port}, targetPort: {port + 9000}}}]
        """)
    try:
        wait_until(lambda: ready(cluster, ns, "myapp-pod"), timeout=60, interval=0.5)
    except AssertionError:
        raise AssertionError(dns_diagnosis(cluster, ns, "myapp-pod")) from None
    assert cluster.kubectl("logs", "myapp-pod", "-n", ns).stdout == "The app is running!\n"


IN_CLUSTER = r"""
import json, os, ssl, urllib.error, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount"
token = open(f"{sa}/token").read()
ns = open(f"{sa}/namespace").read()
ctx = ssl.create_default_context(cafile=f"{sa}/ca.crt")
url = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
req = urllib.request.Request(f"{url}/api/v1/namespaces/{ns}/pods", headers={"Authorization": f"Bearer {token}"})
try:
    with urllib.request.urlopen(req, context=ctx) as r:
        print(r.status, len(json.load(r)["items"]))
except urllib.error.HTTPError as e:
    print(e.code, json.load(e)["message"])
"""


def test_the_api_from_inside_a_pod_with_its_service_account(cluster: Cluster) -> None:
    ns = create_namespace(cluster)

    def run(name: str) -> str:
        apply(cluster, ns, f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          restartPolicy: Never
          containers:
          - name: c
            image: python
            command: ["python3", "-c", {json.dumps(IN_CLUSTER)}]
        """)
        wait_until(lambda: (p := pod(cluster, ns, name)) is not None and p["status"].get("phase") == "Succeeded",
                   timeout=60, interval=0.5)
        return cluster.kubectl("logs", name, "-n", ns).stdout.strip()

    assert run("before") == (f'403 pods is forbidden: User "system:serviceaccount:{ns}:default" cannot list '
                             f'resource "pods" in API group "" in the namespace "{ns}"')
    cluster.kubectl("create", "rolebinding", "view", "--clusterrole=view", f"--serviceaccount={ns}:default",
                    "-n", ns)
    assert run("after") == "200 2"
