"""Services through the real kubectl on simulated nodes: ClusterIP and NodePort allocation (and
its errors, across restarts), Endpoints and EndpointSlices following pod readiness, headless
Services of StatefulSets with per-pod hostnames, and the cluster DNS server's answers."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from helpers import (
    Cluster, WatchRecorder, apply_manifest as apply, create_namespace, is_ready, new_cluster, running_cluster,
    wait_until,
)

SCALE = "10"


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("svc"), "--sim-nodes", "3", "--time-scale", SCALE) as c:
        yield c


@pytest.fixture
def ns(sc: Cluster) -> str:
    return create_namespace(sc)


def get(c: Cluster, ns: str, what: str) -> dict:
    return json.loads(c.kubectl("get", what, "-n", ns, "-o", "json").stdout)


def dns_port(c: Cluster) -> int:
    found = re.search(r"cluster DNS: 127\.0\.0\.1:(\d+)", "".join(c.output))
    assert found, "".join(c.output)
    return int(found.group(1))


def query(c: Cluster, name: str, rtype: str = "A", tcp: bool = False) -> tuple[str, list[str], list[str]]:
    """rcode, answer values and additional records of one query to the cluster DNS server."""
    message = dns.message.make_query(name, rtype)
    send = dns.query.tcp if tcp else dns.query.udp
    reply = send(message, "127.0.0.1", port=dns_port(c), timeout=5)
    answers = sorted(item.to_text() for rrset in reply.answer for item in rrset)
    extra = sorted(f"{rrset.name} {item.to_text()}" for rrset in reply.additional for item in rrset)
    return dns.rcode.to_text(reply.rcode()), answers, extra


def ready_ips(c: Cluster, ns: str, selector: str) -> set[str]:
    pods = json.loads(c.kubectl("get", "pods", "-n", ns, "-l", selector, "-o", "json").stdout)["items"]
    return {p["status"]["podIP"] for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp")}


def endpoint_ips(ep: dict, field: str = "addresses") -> set[str]:
    return {a["ip"] for s in ep.get("subsets") or [] for a in s.get(field) or []}


# ----------------------------------------------------------------------------- allocation


def test_builtin_services(sc: Cluster) -> None:
    out = sc.kubectl("get", "svc", "-A").stdout.splitlines()
    assert out[0].split() == ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    rows = {tuple(line.split()[:6]) for line in out[1:]}
    assert ("default", "kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP") in rows
    assert ("kube-system", "kube-dns", "ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP") in rows
    ep = get(sc, "default", "endpoints/kubernetes")
    assert ep["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]
    assert ep["subsets"][0]["ports"][0]["port"] == sc.port
    slices = sc.kubectl("get", "endpointslices", "-n", "default", "kubernetes").stdout.splitlines()
    assert slices[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert slices[1].split()[:4] == ["kubernetes", "IPv4", str(sc.port), "127.0.0.1"]


def test_expose_deployment_gets_ready_endpoints(sc: Cluster, ns: str) -> None:
    sc.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=80", "-n", ns)
    sc.kubectl("expose", "deployment", "web", "--port=8080", "--target-port=80", "-n", ns)
    svc = get(sc, ns, "svc/web")
    ip = svc["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/12")
    assert svc["spec"]["clusterIPs"] == [ip]
    assert svc["spec"]["ipFamilies"] == ["IPv4"] and svc["spec"]["ipFamilyPolicy"] == "SingleStack"
    row = sc.kubectl("get", "svc", "web", "-n", ns, "--no-headers").stdout.split()
    assert row[:5] == ["web", "ClusterIP", ip, "<none>", "8080/TCP"]
    sc.kubectl("rollout", "status", "deploy/web", "-n", ns, "--timeout=60s", timeout=90)
    ips = wait_until(lambda: len(r := ready_ips(sc, ns, "app=web")) == 3 and r, 30)
    wait_until(lambda: endpoint_ips(get(sc, ns, "endpoints/web")) == ips, 30)
    ep = get(sc, ns, "endpoints/web")
    assert ep["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]
    assert all(a["targetRef"]["kind"] == "Pod" and a["nodeName"] for a in ep["subsets"][0]["addresses"])
    shown = sc.kubectl("get", "endpoints", "web", "-n", ns, "--no-headers").stdout.split()
    assert set(shown[1].split(",")) == {f"{i}:80" for i in ips}
    described = sc.kubectl("describe", "svc", "web", "-n", ns).stdout
    assert re.search(r"Endpoints:\s+\S*:80", described), described
    slices = json.loads(sc.kubectl("get", "endpointslices", "-n", ns, "-l", "kubernetes.io/service-name=web",
                                   "-o", "json").stdout)["items"]
    assert len(slices) == 1
    eps = slices[0]
    assert eps["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert eps["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert eps["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    assert {e["addresses"][0] for e in eps["endpoints"]} == ips
    assert all(e["conditions"] == {"ready": True, "serving": True, "terminating": False} for e in eps["endpoints"])
    assert query(sc, f"web.{ns}.svc.cluster.local")[:2] == ("NOERROR", [ip])
    # deleting the Service takes its Endpoints and slices with it
    sc.kubectl("delete", "svc", "web", "-n", ns)
    wait_until(lambda: sc.kubectl("get", "endpoints,endpointslices", "-n", ns, "-o", "name").stdout.strip() == "", 30)
    assert query(sc, f"web.{ns}.svc.cluster.local")[0] == "NXDOMAIN"


def test_readiness_loss_moves_address_to_not_ready(sc: Cluster, ns: str) -> None:
    """A pod whose readiness flaps leaves `addresses` for `notReadyAddresses` and back, and on every
    watch event an address is in exactly one of the two lists."""
    apply(sc, ns, """
        apiVersion: v1
        kind: Pod
        metadata: {name: flappy, labels: {app: flap}, annotations: {sim.tinykube.io/ready-flap: 20s}}
        spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80, name: http}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: flap}
        spec: {selector: {app: flap}, ports: [{port: 80, targetPort: http}]}
        """)
    seen = {"ready": 0, "not_ready": 0}

    def check(kind: str, ep: dict, state: dict) -> None:
        if ep["metadata"]["name"] != "flap":
            return
        ready, not_ready = endpoint_ips(ep), endpoint_ips(ep, "notReadyAddresses")
        assert not ready & not_ready, ep
        seen["ready"] += bool(ready)
        seen["not_ready"] += bool(not_ready) and seen["ready"] > 0

    with WatchRecorder(sc, f"/api/v1/namespaces/{ns}/endpoints", check):
        wait_until(lambda: seen["not_ready"] > 0, 60, 0.2)
    def slice_conditions() -> list[dict]:
        items = json.loads(sc.kubectl("get", "endpointslices", "-n", ns, "-o", "json").stdout)["items"]
        assert items and items[0]["ports"][0]["port"] == 80  # the named targetPort resolved per pod
        return [e["conditions"] for e in items[0].get("endpoints") or []]

    wait_until(lambda: slice_conditions() == [{"ready": False, "serving": False, "terminating": False}], 60, 0.2)


def test_publish_not_ready_and_unresolvable_named_port(sc: Cluster, ns: str) -> None:
    apply(sc, ns, """
        apiVersion: v1
        kind: Pod
        metadata: {name: slow, labels: {app: slow}, annotations: {sim.tinykube.io/ready-after: 3000s}}
        spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 8080, name: web}]}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: eager}
        spec: {selector: {app: slow}, publishNotReadyAddresses: true, ports: [{port: 80, targetPort: web}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: nameless}
        spec: {selector: {app: slow}, ports: [{port: 80, targetPort: missing}]}
        """)
    wait_until(lambda: get(sc, ns, "pod/slow")["status"].get("podIP"), 30)
    ep = wait_until(lambda: (e := get(sc, ns, "endpoints/eager")).get("subsets") and e, 30)
    assert ep["subsets"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert endpoint_ips(ep) and not endpoint_ips(ep, "notReadyAddresses")
    assert not get(sc, ns, "endpoints/nameless").get("subsets")  # the pod has no port named `missing`


def test_headless_statefulset_hostnames_and_dns(sc: Cluster, ns: str) -> None:
    apply(sc, ns, """
        apiVersion: v1
        kind: Service
        metadata: {name: nginx, labels: {app: nginx}}
        spec: {clusterIP: None, selector: {app: nginx}, ports: [{port: 80, name: web}]}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: web}
        spec:
          serviceName: nginx
          replicas: 2
          selector: {matchLabels: {app: nginx}}
          template:
            metadata: {labels: {app: nginx}}
            spec: {containers: [{name: nginx, image: nginx, ports: [{containerPort: 80, name: web}]}]}
        """)
    row = sc.kubectl("get", "svc", "nginx", "-n", ns, "--no-headers").stdout.split()
    assert row[:5] == ["nginx", "ClusterIP", "None", "<none>", "80/TCP"]
    sc.kubectl("rollout", "status", "sts/web", "-n", ns, "--timeout=60s", timeout=90)
    ep = wait_until(lambda: len(endpoint_ips(e := get(sc, ns, "endpoints/nginx"))) == 2 and e, 30)
    hosts = {a["hostname"]: a["ip"] for a in ep["subsets"][0]["addresses"]}
    assert set(hosts) == {"web-0", "web-1"}
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    zone = f"nginx.{ns}.svc.cluster.local"
    assert query(sc, zone) == ("NOERROR", sorted(hosts.values()), [])
    assert query(sc, f"web-0.{zone}")[:2] == ("NOERROR", [hosts["web-0"]])
    assert query(sc, f"web-1.{zone}", tcp=True)[:2] == ("NOERROR", [hosts["web-1"]])
    assert query(sc, f"web-7.{zone}")[0] == "NXDOMAIN"
    rcode, srv, extra = query(sc, f"_web._tcp.{zone}", "SRV")
    assert rcode == "NOERROR"
    assert srv == sorted(f"0 100 80 web-{i}.{zone}." for i in range(2))
    assert f"web-0.{zone}. {hosts['web-0']}" in extra


def test_dns_answers(sc: Cluster, ns: str) -> None:
    sc.kubectl("create", "service", "clusterip", "api", "--tcp=443:8443", "-n", ns)
    sc.kubectl("create", "service", "externalname", "ext", "--external-name=example.org", "-n", ns)
    ip = get(sc, ns, "svc/api")["spec"]["clusterIP"]
    assert query(sc, f"api.{ns}.svc.cluster.local")[:2] == ("NOERROR", [ip])
    assert query(sc, f"API.{ns.upper()}.svc.cluster.local.")[:2] == ("NOERROR", [ip])  # names are case-blind
    assert query(sc, f"api.{ns}.svc.cluster.local", "AAAA")[:2] == ("NOERROR", [])
    assert query(sc, f"_443-8443._tcp.api.{ns}.svc.cluster.local", "SRV")[:2] == \
        ("NOERROR", [f"0 100 443 api.{ns}.svc.cluster.local."])
    assert query(sc, f"_nope._tcp.api.{ns}.svc.cluster.local", "SRV")[0] == "NXDOMAIN"
    assert query(sc, f"ext.{ns}.svc.cluster.local")[1] == ["example.org."]
    assert query(sc, f"missing.{ns}.svc.cluster.local")[0] == "NXDOMAIN"
    assert query(sc, "nothing.cluster.local")[0] == "NXDOMAIN"
    assert query(sc, f"10-1-2-3.{ns}.pod.cluster.local")[:2] == ("NOERROR", ["10.1.2.3"])
    assert query(sc, "kubernetes.default.svc.cluster.local", tcp=True)[:2] == ("NOERROR", ["10.96.0.1"])


def test_cluster_ip_and_node_port_errors(sc: Cluster, ns: str) -> None:
    taken = sc.kubectl("create", "service", "clusterip", "one", "--tcp=80", "-n", ns, "--clusterip=10.96.1.50")
    assert taken.returncode == 0
    dup = sc.kubectl("create", "service", "clusterip", "two", "--tcp=80", "-n", ns, "--clusterip=10.96.1.50",
                     check=False)
    assert dup.returncode != 0
    assert 'Service "two" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.1.50"}: failed to ' \
        'allocate IP 10.96.1.50: provided IP is already allocated' in dup.stderr
    outside = sc.kubectl("create", "service", "clusterip", "three", "--tcp=80", "-n", ns, "--clusterip=10.1.0.1",
                         check=False)
    assert "the provided IP (10.1.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12" \
        in outside.stderr
    bad = sc.kubectl("create", "service", "clusterip", "four", "--tcp=80", "-n", ns, "--clusterip=not-an-ip",
                     check=False)
    assert 'spec.clusterIPs[0]: Invalid value: "not-an-ip"' in bad.stderr
    sc.kubectl("create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080", "-n", ns)
    row = sc.kubectl("get", "svc", "np", "-n", ns, "--no-headers").stdout.split()
    assert row[1] == "NodePort" and row[4] == "80:30080/TCP"
    again = sc.kubectl("create", "service", "nodeport", "np2", "--tcp=80:8080", "--node-port=30080", "-n", ns,
                       check=False)
    assert 'spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated' in again.stderr
    low = sc.kubectl("create", "service", "nodeport", "np3", "--tcp=80:8080", "--node-port=80", "-n", ns, check=False)
    assert "provided port is not in the valid range. The range of valid ports is 30000-32767" in low.stderr
    auto = sc.kubectl("create", "service", "nodeport", "np4", "--tcp=81:8080", "-n", ns)
    assert auto.returncode == 0
    node_port = get(sc, ns, "svc/np4")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767 and node_port != 30080
    # the clusterIP stays when an update leaves it out, and cannot be changed
    sc.kubectl("patch", "svc", "np4", "-n", ns, "-p", '{"spec":{"type":"ClusterIP"}}')
    svc = get(sc, ns, "svc/np4")
    assert svc["spec"]["type"] == "ClusterIP" and "nodePort" not in svc["spec"]["ports"][0]
    change = sc.kubectl("patch", "svc", "np4", "-n", ns, "-p", '{"spec":{"clusterIP":"10.96.9.9","clusterIPs":["10.96.9.9"]}}',
                        check=False)
    assert "may not change once set" in change.stderr


def test_allocations_survive_restart(tmp_path) -> None:
    """A /28 leaves 12 free addresses: 6 before a restart and 6 after are all distinct, and the
    13th finds the range full."""
    c = new_cluster(tmp_path)
    args = ("--sim-nodes", "0", "--service-cluster-ip-range", "10.100.0.0/28")
    c.start(args)
    try:
        for i in range(6):
            c.kubectl("create", "service", "clusterip", f"s{i}", "--tcp=80")
        c.stop()
        c.start(args)
        for i in range(6, 12):
            c.kubectl("create", "service", "clusterip", f"s{i}", "--tcp=80")
        items = json.loads(c.kubectl("get", "svc", "-A", "-o", "json").stdout)["items"]
        ips = [s["spec"]["clusterIP"] for s in items]
        assert len(ips) == 14 and len(set(ips)) == 14
        assert {ip for ip in ips} == {f"10.100.0.{i}" for i in range(1, 15)}
        full = c.kubectl("create", "service", "clusterip", "s12", "--tcp=80", check=False)
        assert "failed to allocate a serviceIP: range is full" in full.stderr
    finally:
        c.stop()


@pytest.mark.parametrize("flag, value", [("--service-cluster-ip-range", "10.96.0.0/33"),
                                         ("--service-cluster-ip-range", "fd00::/108"),
                                         ("--service-node-port-range", "32000-31000"),
                                         ("--cluster-dns-port", "70000")])
def test_bad_flags(tmp_path, flag: str, value: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tinykube.cli", "server", "--data-dir", str(tmp_path), flag, value],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")
