"""Pure parts of the pod sandbox: addresses in a podCIDR, cgroup limits, volume files and mounts."""

from __future__ import annotations

import base64

import pytest

from tinykube.kubelet import envvars
from tinykube.kubelet.sandbox import ipam
from tinykube.kubelet.sandbox.limits import Limits, container_limits, cpu_max, cpu_quota_us, memory_bytes
from tinykube.kubelet.sandbox.mounts import (File, Mount, VolumeError, container_mounts, downward_files, hosts_file,
                                             key_files, pod_hostname, safe_path)
from tinykube.kubelet.sandbox.enter import parse_plan
from tinykube.kubelet.sandbox.pause import inet_aton, netmask
from tinykube.kubelet.sandbox.launcher import plan_arguments
from tinykube.kubelet.sandbox.sandbox import veth_name


@pytest.mark.parametrize("cidr, gateway, capacity", [
    ("10.244.0.0/24", "10.244.0.1/24", 253),
    ("10.244.3.0/24", "10.244.3.1/24", 253),
    ("10.0.0.0/30", "10.0.0.1/30", 1),
    ("10.0.0.0/16", "10.0.0.1/16", 65533),
])
def test_gateway_and_capacity(cidr: str, gateway: str, capacity: int):
    assert ipam.gateway(cidr) == gateway
    assert ipam.capacity(cidr) == capacity


@pytest.mark.parametrize("taken, cidr, expected", [
    (set(), "10.244.0.0/24", 1),
    ({1, 2, 4}, "10.244.0.0/24", 3),
    (set(range(1, 254)), "10.244.0.0/24", None),
    ({1}, "10.0.0.0/30", None),
])
def test_free_offset(taken: set[int], cidr: str, expected: int | None):
    assert ipam.free_offset(taken, cidr) == expected


@pytest.mark.parametrize("quantity, expected", [
    ("64Mi", 64 << 20), ("1Gi", 1 << 30), ("100M", 100_000_000), ("1.5Ki", 1536), ("100m", 1), ("128974848", 128974848),
    ("129e6", 129_000_000),
])
def test_memory_bytes(quantity: str, expected: int):
    assert memory_bytes(quantity) == expected


@pytest.mark.parametrize("quantity, expected", [
    ("250m", 25_000), ("1", 100_000), ("2.5", 250_000), ("1m", 1_000), ("0.0001", 1_000), ("1500m", 150_000),
])
def test_cpu_quota(quantity: str, expected: int):
    assert cpu_quota_us(quantity) == expected


@pytest.mark.parametrize("spec, expected", [
    ({}, Limits()),
    ({"resources": {"requests": {"memory": "1Gi"}}}, Limits()),
    ({"resources": {"limits": {"memory": "50Mi"}}}, Limits(memory_bytes=50 << 20)),
    ({"resources": {"limits": {"memory": "1Gi", "cpu": "500m"}}}, Limits(1 << 30, 50_000)),
])
def test_container_limits(spec: dict, expected: Limits):
    assert container_limits(spec) == expected


def test_cpu_max():
    assert cpu_max(None) == "max 100000" and cpu_max(25_000) == "25000 100000"


def test_veth_names_fit_linux_limits():
    veth = veth_name("7cfc42b1-429e-4d04-a8f5-dd8dfd7d6430")
    assert len(veth.encode()) <= 15 and veth.startswith("tkv") and veth != veth_name("other")


CM = {"data": {"a": "alpha", "b": "beta"}, "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}}
SECRET = {"data": {"pw": base64.b64encode(b"s3cret").decode()}, "stringData": {"user": "me"}}


@pytest.mark.parametrize("kind, source, obj, default, expected", [
    ("configMap", {"name": "cm"}, CM, None,
     [File("a", b"alpha", 0o644), File("b", b"beta", 0o644), File("bin", b"\x00\x01", 0o644)]),
    ("configMap", {"name": "cm", "defaultMode": 0o600, "items": [{"key": "b", "path": "x/y"}, {"key": "a", "path": "a",
                                                                                            "mode": 0o400}]}, CM, None,
     [File("x/y", b"beta", 0o600), File("a", b"alpha", 0o400)]),
    ("secret", {"secretName": "s"}, SECRET, None, [File("pw", b"s3cret", 0o644), File("user", b"me", 0o644)]),
    ("secret", {"name": "s", "items": [{"key": "pw", "path": "p"}]}, SECRET, 0o440, [File("p", b"s3cret", 0o440)]),
    ("configMap", {"name": "absent", "optional": True}, None, None, []),
    ("configMap", {"name": "cm", "optional": True, "items": [{"key": "zz", "path": "z"}]}, CM, None, []),
])
def test_key_files(kind: str, source: dict, obj: dict | None, default: int | None, expected: list[File]):
    assert key_files(kind, source, obj, default) == expected


@pytest.mark.parametrize("kind, source, obj, message", [
    ("configMap", {"name": "absent"}, None, 'configmap "absent" not found'),
    ("secret", {"secretName": "absent"}, None, 'secret "absent" not found'),
    ("configMap", {"name": "cm", "items": [{"key": "zz", "path": "z"}]}, CM,
     "configmap references non-existent config key: zz"),
    ("secret", {"secretName": "s", "items": [{"key": "zz", "path": "z"}]}, SECRET,
     "references non-existent secret key: zz"),
])
def test_key_files_errors(kind: str, source: dict, obj: dict | None, message: str):
    with pytest.raises(VolumeError, match=message):
        key_files(kind, source, obj, None)


POD = {"metadata": {"name": "web-0", "namespace": "shop", "labels": {"b": "2", "a": "1"}, "uid": "u1"},
       "spec": {"nodeName": "vm", "containers": [{"name": "c", "resources": {"limits": {"memory": "64Mi"}}}]}}


def test_downward_files():
    facts = envvars.PodFacts(pod_ip="10.244.0.2", host_ip="127.0.0.1")
    source = {"defaultMode": 0o444, "items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}, "mode": 0o400},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}}]}
    assert downward_files(POD, source, None, facts) == [
        File("labels", b'a="1"\nb="2"', 0o444), File("ip", b"10.244.0.2", 0o400), File("mem", b"64", 0o444)]
    with pytest.raises(VolumeError, match="unsupported fieldPath"):
        downward_files(POD, {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nope"}}]}, None, facts)


@pytest.mark.parametrize("path, ok", [("a", True), ("a/b", True), ("a/../b", True), ("/etc", False),
                                      ("..", False), ("../x", False), ("a/../../x", False), ("", False)])
def test_safe_path(path: str, ok: bool):
    if ok:
        assert safe_path(path)
    else:
        with pytest.raises(VolumeError):
            safe_path(path)


def test_container_mounts_order_sub_path_and_read_only():
    container = {"volumeMounts": [{"name": "cfg", "mountPath": "/etc/app/conf/"},
                                  {"name": "data", "mountPath": "/etc/app", "readOnly": True},
                                  {"name": "data", "mountPath": "/logs", "subPath": "logs/x"}]}
    mounts = container_mounts(container, {"cfg": "/v/cfg", "data": "/v/data"}, {"cfg"})
    assert mounts == [Mount("/v/data/logs/x", "/logs", False), Mount("/v/data", "/etc/app", True),
                      Mount("/v/cfg", "/etc/app/conf", True)]
    with pytest.raises(VolumeError, match='volume "nope" not found'):
        container_mounts({"volumeMounts": [{"name": "nope", "mountPath": "/x"}]}, {}, set())
    with pytest.raises(VolumeError):
        container_mounts({"volumeMounts": [{"name": "data", "mountPath": "/x", "subPath": "../../etc"}]},
                         {"data": "/v/data"}, set())


@pytest.mark.parametrize("spec, hostname", [
    ({}, "web-0"), ({"hostname": "db"}, "db"), ({"subdomain": "s"}, "web-0"),
])
def test_pod_hostname(spec: dict, hostname: str):
    assert pod_hostname({"metadata": {"name": "web-0"}, "spec": spec}) == hostname


def test_hosts_file():
    plain = hosts_file({"metadata": {"name": "web-0", "namespace": "shop"}, "spec": {}}, "10.244.0.5")
    assert plain.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert plain.endswith("fe00::2\tip6-allrouters\n10.244.0.5\tweb-0\n")
    pod = {"metadata": {"name": "web-0", "namespace": "shop"},
           "spec": {"hostname": "db", "subdomain": "backend",
                    "hostAliases": [{"ip": "1.2.3.4", "hostnames": ["foo", "bar"]}]}}
    assert hosts_file(pod, "10.244.0.5").endswith(
        "10.244.0.5\tdb.backend.shop.svc.cluster.local\tdb\n\n# Entries added by HostAliases.\n1.2.3.4\tfoo\tbar\n")


@pytest.mark.parametrize("plan, pid, fd", [
    ({"argv": ["sleep", "3600"], "cwd": "/", "mounts": [], "cgroups": []}, 41, 7),
    ({"argv": ["sh", "-c", "echo 'a b' -- 1 0 \"\""], "cwd": "/work dir", "cgroups": ["/sys/fs/cgroup/x/cgroup.procs"],
      "mounts": [{"source": "/data/a b", "target": "/etc/config", "readOnly": True},
                 {"source": "/data/c", "target": "/cache", "readOnly": False}]}, 1234, None),
    ({"argv": ["cat", ""], "cwd": "", "join": True, "cgroups": ["a", "b"]}, 9, 3),
])
def test_the_enter_plan_survives_its_trip_through_argv(plan, pid, fd):
    parsed = parse_plan(plan_arguments(plan, pid, fd))
    assert parsed == {"error_fd": -1 if fd is None else fd, "sandbox_pid": pid, "join": bool(plan.get("join")),
                      "cwd": plan["cwd"] or "/", "cgroups": plan.get("cgroups", []), "argv": plan["argv"],
                      "mounts": [dict(m, readOnly=bool(m["readOnly"])) for m in plan.get("mounts", [])]}


@pytest.mark.parametrize("prefix, mask", [(24, "255.255.255.0"), (16, "255.255.0.0"), (30, "255.255.255.252"),
                                          (32, "255.255.255.255"), (0, "0.0.0.0")])
def test_netmask(prefix, mask):
    assert netmask(prefix) == mask


def test_inet_aton():
    assert inet_aton("10.244.0.2") == bytes([10, 244, 0, 2])
