"""Tables for the pod resolv.conf and the cluster DNS answers."""

from __future__ import annotations

import pytest

from tinykube.dns.records import NXDOMAIN, ClusterView, answer
from tinykube.dns.resolvconf import parse_resolv_conf, pod_resolv_conf

HOST = "# host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions rotate timeout:1\n"


def pod(ns: str = "web", **spec) -> dict:
    return {"metadata": {"name": "p", "namespace": ns}, "spec": spec}


@pytest.mark.parametrize("spec, expected", [
    ({}, "search web.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
         "nameserver 10.96.0.10\noptions ndots:5\n"),
    ({"dnsPolicy": "ClusterFirst"}, "search web.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
                                    "nameserver 10.96.0.10\noptions ndots:5\n"),
    ({"dnsPolicy": "Default"}, "search corp.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n"
                               "options rotate timeout:1\n"),
    ({"dnsPolicy": "ClusterFirst", "hostNetwork": True},
     "search corp.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions rotate timeout:1\n"),
    ({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True},
     "search web.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
     "nameserver 10.96.0.10\noptions ndots:5\n"),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["a.example"],
                                         "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}},
     "search a.example\nnameserver 1.1.1.1\noptions ndots:2 edns0\n"),
    ({"dnsConfig": {"nameservers": ["10.96.0.10", "8.8.8.8", "9.9.9.9", "1.1.1.1"],
                    "searches": ["cluster.local", "x.example"], "options": [{"name": "ndots", "value": "1"}]}},
     "search web.svc.cluster.local svc.cluster.local cluster.local corp.example x.example\n"
     "nameserver 10.96.0.10\nnameserver 8.8.8.8\nnameserver 9.9.9.9\noptions ndots:1\n"),
    ({"dnsPolicy": "None"}, ""),
])
def test_pod_resolv_conf(spec: dict, expected: str) -> None:
    assert pod_resolv_conf(pod(**spec), "10.96.0.10", host_resolv_conf=HOST) == expected


def test_pod_resolv_conf_other_domain() -> None:
    text = pod_resolv_conf(pod("ns1"), "10.0.0.10", "corp.local.", host_resolv_conf="")
    assert text == "search ns1.svc.corp.local svc.corp.local corp.local\nnameserver 10.0.0.10\noptions ndots:5\n"


def test_parse_resolv_conf() -> None:
    assert parse_resolv_conf(HOST + "domain last.example\n") == (
        ["192.0.2.53", "192.0.2.54"], ["last.example"], ["rotate", "timeout:1"])


SERVICES = {
    ("default", "kubernetes"): {"metadata": {"name": "kubernetes", "namespace": "default"},
                                "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443}]}},
    ("web", "nginx"): {"metadata": {"name": "nginx", "namespace": "web"},
                       "spec": {"clusterIP": "None", "ports": [{"name": "web", "port": 80, "protocol": "TCP"}]}},
    ("web", "ext"): {"metadata": {"name": "ext", "namespace": "web"},
                     "spec": {"type": "ExternalName", "externalName": "example.org"}},
}
SLICES = {("web", "nginx"): [{"ports": [{"name": "web", "port": 8080}], "endpoints": [
    {"addresses": ["10.244.0.5"], "hostname": "web-0", "conditions": {"ready": True}},
    {"addresses": ["10.244.0.6"], "hostname": "web-1", "conditions": {"ready": False}},
    {"addresses": ["10.244.0.7"], "conditions": {"ready": True}}]}]}
VIEW = ClusterView(service=lambda ns, name: SERVICES.get((ns, name)), slices=lambda ns, name: SLICES.get((ns, name), []))


@pytest.mark.parametrize("name, qtype, rcode, values", [
    ("kubernetes.default.svc.cluster.local.", "A", "NOERROR", ["10.96.0.1"]),
    ("Kubernetes.Default.SVC.cluster.local", "A", "NOERROR", ["10.96.0.1"]),
    ("kubernetes.default.svc.cluster.local", "AAAA", "NOERROR", []),
    ("nginx.web.svc.cluster.local", "A", "NOERROR", ["10.244.0.5", "10.244.0.7"]),
    ("web-0.nginx.web.svc.cluster.local", "A", "NOERROR", ["10.244.0.5"]),
    ("web-1.nginx.web.svc.cluster.local", "A", NXDOMAIN, []),  # not ready
    ("10-244-0-7.nginx.web.svc.cluster.local", "A", "NOERROR", ["10.244.0.7"]),
    ("web-0.kubernetes.default.svc.cluster.local", "A", NXDOMAIN, []),  # not headless
    ("_web._tcp.nginx.web.svc.cluster.local", "SRV", "NOERROR",
     ["0 100 8080 10-244-0-7.nginx.web.svc.cluster.local.", "0 100 8080 web-0.nginx.web.svc.cluster.local."]),
    ("_https._tcp.kubernetes.default.svc.cluster.local", "SRV", "NOERROR",
     ["0 100 443 kubernetes.default.svc.cluster.local."]),
    ("_http._tcp.kubernetes.default.svc.cluster.local", "SRV", NXDOMAIN, []),
    ("kubernetes.default.svc.cluster.local", "SRV", "NOERROR", ["0 100 443 kubernetes.default.svc.cluster.local."]),
    ("ext.web.svc.cluster.local", "A", "NOERROR", ["example.org."]),
    ("missing.web.svc.cluster.local", "A", NXDOMAIN, []),
    ("web.svc.cluster.local", "A", "NOERROR", []),
    ("svc.cluster.local", "A", "NOERROR", []),
    ("cluster.local", "A", "NOERROR", []),
    ("1-2-3-4.web.pod.cluster.local", "A", "NOERROR", ["1.2.3.4"]),
    ("1-2-3.web.pod.cluster.local", "A", NXDOMAIN, []),
    ("a.b.c.d.svc.cluster.local", "A", NXDOMAIN, []),
    ("other.cluster.local", "A", NXDOMAIN, []),
])
def test_answers(name: str, qtype: str, rcode: str, values: list[str]) -> None:
    result = answer(name, qtype, VIEW)
    assert result.rcode == rcode
    assert sorted(r.value for r in result.records) == values
