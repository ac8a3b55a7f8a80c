"""Tables for the endpoint arithmetic: ports per pod, conditions, subsets, slices and their plan,
and the service environment variables."""

from __future__ import annotations

import pytest

from tinykube.controllers.endpoints.util import (
    conditions, desired_slices, endpoints_subsets, find_port, hostname, plan_slices, should_include,
)
from tinykube.kubelet.serviceenv import service_env


def pod(name: str, ip: str = "10.0.0.1", ready: bool = True, phase: str = "Running", deleting: bool = False,
        ports: list[dict] | None = None, **spec) -> dict:
    meta = {"name": name, "namespace": "ns", "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "ports": ports or []}], **spec},
            "status": status}


def svc(name: str = "s", **spec) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "uid": "svc-uid"},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}], **spec}}


@pytest.mark.parametrize("target, ports, expected", [
    (8080, [], 8080),
    ("8081", [], 8081),
    ("http", [{"name": "http", "containerPort": 9000}], 9000),
    ("http", [{"name": "http", "containerPort": 9000, "protocol": "UDP"}], None),
    ("http", [{"name": "web", "containerPort": 9000}], None),
])
def test_find_port(target, ports: list[dict], expected: int | None) -> None:
    assert find_port(pod("p", ports=ports), {"port": 80, "targetPort": target, "protocol": "TCP"}) == expected


def test_find_port_in_sidecar() -> None:
    p = pod("p")
    p["spec"]["initContainers"] = [{"name": "side", "restartPolicy": "Always",
                                    "ports": [{"name": "metrics", "containerPort": 9100}]},
                                   {"name": "init", "ports": [{"name": "setup", "containerPort": 1}]}]
    assert find_port(p, {"targetPort": "metrics"}) == 9100
    assert find_port(p, {"targetPort": "setup"}) is None


@pytest.mark.parametrize("p, terminating_ok, expected", [
    (pod("a"), False, True),
    (pod("a", ip=""), True, False),
    (pod("a", phase="Succeeded"), True, False),
    (pod("a", phase="Failed"), True, False),
    (pod("a", deleting=True), False, False),
    (pod("a", deleting=True), True, True),
])
def test_should_include(p: dict, terminating_ok: bool, expected: bool) -> None:
    assert should_include(p, terminating_ok) is expected


@pytest.mark.parametrize("publish, ready, deleting, expected", [
    (False, True, False, {"ready": True, "serving": True, "terminating": False}),
    (False, False, False, {"ready": False, "serving": False, "terminating": False}),
    (False, True, True, {"ready": False, "serving": True, "terminating": True}),
    (True, False, True, {"ready": True, "serving": True, "terminating": True}),
])
def test_conditions(publish: bool, ready: bool, deleting: bool, expected: dict) -> None:
    assert conditions(svc(publishNotReadyAddresses=publish), pod("a", ready=ready, deleting=deleting)) == expected


@pytest.mark.parametrize("spec, expected", [
    ({"hostname": "web-0", "subdomain": "s"}, "web-0"),
    ({"hostname": "web-0", "subdomain": "other"}, ""),
    ({"hostname": "web-0"}, ""),
])
def test_hostname(spec: dict, expected: str) -> None:
    assert hostname(svc(), pod("web-0", **spec)) == expected


def test_subsets_split_ready_sorted_and_by_port() -> None:
    service = svc(ports=[{"port": 80, "targetPort": "http", "protocol": "TCP"}])
    pods = [pod("a", "10.0.0.10", ports=[{"name": "http", "containerPort": 80}]),
            pod("b", "10.0.0.9", ports=[{"name": "http", "containerPort": 80}]),
            pod("c", "10.0.0.2", ready=False, ports=[{"name": "http", "containerPort": 80}]),
            pod("d", "10.0.0.3", ports=[{"name": "http", "containerPort": 8080}]),
            pod("e", "10.0.0.4", ports=[]),  # no such port: left out
            pod("f", "10.0.0.5", deleting=True, ports=[{"name": "http", "containerPort": 80}])]
    subsets = endpoints_subsets(service, pods)
    assert [[a["ip"] for a in s.get("addresses", [])] for s in subsets] == [["10.0.0.9", "10.0.0.10"], ["10.0.0.3"]]
    assert [a["ip"] for a in subsets[0]["notReadyAddresses"]] == ["10.0.0.2"]
    assert [s["ports"] for s in subsets] == [[{"port": 80, "protocol": "TCP"}], [{"port": 8080, "protocol": "TCP"}]]


def test_headless_without_ports_lists_addresses() -> None:
    subsets = endpoints_subsets(svc(clusterIP="None", ports=[]), [pod("a", "10.0.0.1")])
    assert subsets == [{"addresses": [{"ip": "10.0.0.1", "targetRef": {
        "kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}}]}]


def test_desired_slices_chunks_and_keeps_terminating() -> None:
    pods = [pod(f"p{i:03}", f"10.0.{i // 250}.{i % 250 + 1}") for i in range(150)] + [pod("t", "10.9.9.9", deleting=True)]
    slices = desired_slices(svc(), pods)
    assert [len(e) for _, e in slices] == [100, 51]
    assert any(e["conditions"]["terminating"] for _, eps in slices for e in eps)
    assert desired_slices(svc(), []) == [([], [])]


def test_plan_slices_reuses_existing() -> None:
    ports = [{"name": "", "port": 80, "protocol": "TCP"}]
    existing = [{"metadata": {"name": "s-a"}, "ports": ports}, {"metadata": {"name": "s-b"}, "ports": []}]
    updates, creates, deletes = plan_slices(existing, [(ports, ["x"])])
    assert [u[0]["metadata"]["name"] for u in updates] == ["s-a"] and not creates
    assert [d["metadata"]["name"] for d in deletes] == ["s-b"]
    updates, creates, deletes = plan_slices(existing[1:], [(ports, ["x"]), (ports, ["y"])])
    assert [u[0]["metadata"]["name"] for u in updates] == ["s-b"] and len(creates) == 1 and not deletes


KUBERNETES = {"metadata": {"name": "kubernetes", "namespace": "default"},
              "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}}
REDIS = {"metadata": {"name": "redis-primary", "namespace": "ns"},
         "spec": {"clusterIP": "10.96.5.5", "ports": [{"name": "redis", "port": 6379, "protocol": "TCP"},
                                                      {"name": "dns", "port": 53, "protocol": "UDP"}]}}
HEADLESS = {"metadata": {"name": "h", "namespace": "ns"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}}
ELSEWHERE = {"metadata": {"name": "other", "namespace": "x"}, "spec": {"clusterIP": "10.96.6.6", "ports": [{"port": 1}]}}


def test_service_env() -> None:
    env = service_env(pod("p"), [KUBERNETES, REDIS, HEADLESS, ELSEWHERE])
    assert env == {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
        "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
        "REDIS_PRIMARY_SERVICE_HOST": "10.96.5.5", "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_REDIS": "6379", "REDIS_PRIMARY_SERVICE_PORT_DNS": "53",
        "REDIS_PRIMARY_PORT": "tcp://10.96.5.5:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.96.5.5:6379", "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379", "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.96.5.5",
        "REDIS_PRIMARY_PORT_53_UDP": "udp://10.96.5.5:53", "REDIS_PRIMARY_PORT_53_UDP_PROTO": "udp",
        "REDIS_PRIMARY_PORT_53_UDP_PORT": "53", "REDIS_PRIMARY_PORT_53_UDP_ADDR": "10.96.5.5",
    }
    links_off = service_env(pod("p", enableServiceLinks=False), [KUBERNETES, REDIS])
    assert set(links_off) == {k for k in env if k.startswith("KUBERNETES_")}
