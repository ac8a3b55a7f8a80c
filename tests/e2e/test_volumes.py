"""Persistent volumes with the real kubectl on simulated nodes: the default local-path class,
WaitForFirstConsumer provisioning on the pod's node, static binding, reclaim and protection."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from helpers import Cluster, create_namespace, running_cluster, wait_until


@pytest.fixture(scope="module")
def sc(tmp_path_factory: pytest.TempPathFactory):
    with running_cluster(tmp_path_factory.mktemp("storage"), "--sim-nodes", "2", "--time-scale", "5") as c:
        yield c


@pytest.fixture
def ns(sc: Cluster) -> str:
    return create_namespace(sc)


def apply(c: Cluster, ns: str, text: str) -> None:
    c.kubectl("apply", "-n", ns, "-f", "-", input=textwrap.dedent(text))


def get(c: Cluster, kind: str, name: str, ns: str = "") -> dict:
    args = ("get", kind, name, "-o", "json") + (("-n", ns) if ns else ())
    return json.loads(c.kubectl(*args).stdout)


def exists(c: Cluster, kind: str, name: str, ns: str = "") -> bool:
    args = ("get", kind, name, "--ignore-not-found", "-o", "name") + (("-n", ns) if ns else ())
    return bool(c.kubectl(*args).stdout.strip())


def rows(c: Cluster, *args: str) -> list[list[str]]:
    """`kubectl get` output split into columns on runs of 2+ spaces."""
    lines = c.kubectl("get", *args).stdout.strip().splitlines()
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def claim(name: str, size: str = "1Gi", extra: str = "", modes: str = "[ReadWriteOnce]") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {{name: {name}}}
        spec:
          accessModes: {modes}
          resources: {{requests: {{storage: {size}}}}}
        """) + textwrap.indent(textwrap.dedent(extra), "  ")


def pod(name: str, claim_name: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          containers: [{{name: main, image: nginx, volumeMounts: [{{name: data, mountPath: /data}}]}}]
          volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim_name}}}}}]
        """)


def static_pv(name: str, size: str, cls: str = "manual", modes: str = "[ReadWriteOnce]", labels: str = "{}",
              policy: str = "Retain") -> str:
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: PersistentVolume
        metadata: {{name: {name}, labels: {labels}}}
        spec:
          capacity: {{storage: {size}}}
          accessModes: {modes}
          storageClassName: {cls}
          persistentVolumeReclaimPolicy: {policy}
          hostPath: {{path: /tmp/{name}}}
        """)


def events_of(c: Cluster, ns: str, name: str) -> list[tuple[str, str]]:
    out = c.kubectl("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}", "-o", "json").stdout
    return [(e["reason"], e["message"]) for e in json.loads(out)["items"]]


def phase(c: Cluster, kind: str, name: str, ns: str = "") -> str:
    return get(c, kind, name, ns).get("status", {}).get("phase", "")


def test_default_storage_class_listed(sc: Cluster) -> None:
    table = rows(sc, "storageclass")
    assert table[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert table[1][:5] == ["local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", "false"]
    assert get(sc, "sc", "local-path")["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_storage_class_validation(sc: Cluster) -> None:
    bad = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: bad}\nprovisioner: x/y\nreclaimPolicy: Recycle\n"
    result = sc.kubectl("apply", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert 'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"' in result.stderr


def test_wait_for_first_consumer_then_provisioned_on_pods_node(sc: Cluster, ns: str) -> None:
    apply(sc, ns, claim("data"))
    got = get(sc, "pvc", "data", ns)
    assert got["spec"]["storageClassName"] == "local-path"  # the DefaultStorageClass admission
    assert "kubernetes.io/pvc-protection" in got["metadata"]["finalizers"]
    wait_until(lambda: ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")
               in events_of(sc, ns, "data"), 30, 0.3)
    assert phase(sc, "pvc", "data", ns) == "Pending"
    apply(sc, ns, pod("user", "data"))
    wait_until(lambda: phase(sc, "pvc", "data", ns) == "Bound", 60, 0.3)
    pvc = get(sc, "pvc", "data", ns)
    node = get(sc, "pod", "user", ns)["spec"]["nodeName"]
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "rancher.io/local-path"
    assert pvc["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    volume = pvc["spec"]["volumeName"]
    assert volume == f"pvc-{pvc['metadata']['uid']}"
    pv = get(sc, "pv", volume)
    path = Path(pv["spec"]["hostPath"]["path"])
    assert pv["spec"]["hostPath"]["type"] == "DirectoryOrCreate"
    assert path.is_dir() and path == sc.data_dir.resolve() / "volumes" / volume
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [node]
    assert pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    reasons = [r for r, _ in events_of(sc, ns, "data")]
    assert "ExternalProvisioning" in reasons and "ProvisioningSucceeded" in reasons
    assert ("ProvisioningSucceeded", f"Successfully provisioned volume {volume}") in events_of(sc, ns, "data")
    table = rows(sc, "pvc", "-n", ns)
    assert table[0] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                        "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert table[1][:7] == ["data", "Bound", volume, "1Gi", "RWO", "local-path", "<unset>"]
    table = rows(sc, "pv", volume)
    assert table[0] == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
                        "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert table[1][:8] == [volume, "1Gi", "RWO", "Delete", "Bound", f"{ns}/data", "local-path", "<unset>"]
    described = sc.kubectl("describe", "pvc", "data", "-n", ns).stdout
    assert "Status:        Bound" in described and "Used By:       user" in described
    assert "ProvisioningSucceeded" in described

    # pvc-protection: deleting the claim waits for its pod
    sc.kubectl("delete", "pvc", "data", "-n", ns, "--wait=false")
    assert rows(sc, "pvc", "data", "-n", ns)[1][1] == "Terminating"
    assert exists(sc, "pvc", "data", ns)
    sc.kubectl("delete", "pod", "user", "-n", ns, "--wait=false")
    # reclaim Delete: the claim goes, then the volume and its directory
    wait_until(lambda: not exists(sc, "pvc", "data", ns), 60, 0.3)
    wait_until(lambda: not exists(sc, "pv", volume), 60, 0.3)
    assert not path.exists()


def test_pod_with_unbound_immediate_claim_is_unschedulable(sc: Cluster, ns: str) -> None:
    apply(sc, ns, claim("imm", extra="storageClassName: manual-immediate\n"))
    apply(sc, ns, pod("waiter", "imm"))

    def message() -> str:
        conds = get(sc, "pod", "waiter", ns).get("status", {}).get("conditions") or []
        return next((c.get("message", "") for c in conds if c["type"] == "PodScheduled"), "")
    wait_until(lambda: "pod has unbound immediate PersistentVolumeClaims" in message(), 30, 0.3)
    assert re.match(r"0/\d+ nodes are available: pod has unbound immediate PersistentVolumeClaims\. preemption: ",
                    message())
    # a matching static volume binds the claim, and the pod then schedules
    apply(sc, ns, static_pv(f"{ns}-imm", "2Gi", "manual-immediate"))
    wait_until(lambda: phase(sc, "pvc", "imm", ns) == "Bound", 60, 0.3)
    wait_until(lambda: get(sc, "pod", "waiter", ns)["spec"].get("nodeName"), 60, 0.3)
    sc.kubectl("delete", "pod", "waiter", "-n", ns, "--wait=false")


def test_static_binding_by_capacity_access_mode_and_selector(sc: Cluster, ns: str) -> None:
    cls = f"static-{ns}"
    for name, size, modes, labels in (("small", "1Gi", "[ReadWriteOnce]", "{tier: a}"),
                                      ("big", "10Gi", "[ReadWriteOnce]", "{tier: a}"),
                                      ("mid", "5Gi", "[ReadWriteOnce]", "{tier: a}"),
                                      ("rwx", "3Gi", "[ReadWriteMany]", "{tier: a}"),
                                      ("other", "4Gi", "[ReadWriteOnce]", "{tier: b}")):
        apply(sc, ns, static_pv(f"{ns}-{name}", size, cls, modes, labels))
    wait_until(lambda: phase(sc, "pv", f"{ns}-small") == "Available", 30, 0.3)
    apply(sc, ns, claim("fit", "2Gi", f"storageClassName: {cls}\n"))  # smallest that fits: other (4Gi)
    apply(sc, ns, claim("shared", "1Gi", f"storageClassName: {cls}\n", "[ReadWriteMany]"))
    apply(sc, ns, claim("picky", "2Gi", f"storageClassName: {cls}\nselector: {{matchLabels: {{tier: a}}}}\n"))
    apply(sc, ns, claim("huge", "20Gi", f"storageClassName: {cls}\n"))
    for name in ("fit", "shared", "picky"):
        wait_until(lambda n=name: phase(sc, "pvc", n, ns) == "Bound", 60, 0.3)
    volume_of = {n: get(sc, "pvc", n, ns)["spec"]["volumeName"] for n in ("fit", "shared", "picky")}
    assert volume_of["shared"] == f"{ns}-rwx"
    assert {volume_of["fit"], volume_of["picky"]} == {f"{ns}-other", f"{ns}-mid"}
    assert volume_of["picky"] == f"{ns}-mid"
    pv = get(sc, "pv", f"{ns}-mid")
    assert pv["status"]["phase"] == "Bound"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert phase(sc, "pvc", "huge", ns) == "Pending"
    wait_until(lambda: any(r == "ProvisioningFailed" for r, _ in events_of(sc, ns, "huge"))
               or any(r == "FailedBinding" for r, _ in events_of(sc, ns, "huge")), 30, 0.3)
    # pre-binding by volumeName
    apply(sc, ns, static_pv(f"{ns}-named", "1Gi", cls))
    apply(sc, ns, claim("named", "1Gi", f"storageClassName: {cls}\nvolumeName: {ns}-named\n"))
    wait_until(lambda: phase(sc, "pvc", "named", ns) == "Bound", 60, 0.3)
    assert get(sc, "pv", f"{ns}-named")["spec"]["claimRef"]["name"] == "named"

    # Retain: deleting the claim leaves the volume Released
    sc.kubectl("delete", "pvc", "picky", "-n", ns)
    wait_until(lambda: phase(sc, "pv", f"{ns}-mid") == "Released", 60, 0.3)
    assert rows(sc, "pv", f"{ns}-mid")[1][4] == "Released"
    # Delete on a volume no provisioner made: Failed, as upstream without a deleter plugin
    sc.kubectl("patch", "pv", f"{ns}-small", "-p", '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}')
    apply(sc, ns, claim("gone", "1Gi", f"storageClassName: {cls}\nvolumeName: {ns}-small\n"))
    wait_until(lambda: phase(sc, "pvc", "gone", ns) == "Bound", 60, 0.3)
    sc.kubectl("delete", "pvc", "gone", "-n", ns)
    wait_until(lambda: phase(sc, "pv", f"{ns}-small") == "Failed", 60, 0.3)
    for name in ("small", "big", "mid", "rwx", "other", "named"):
        sc.kubectl("delete", "pv", f"{ns}-{name}", "--wait=false")


def test_statefulset_claims_bind_and_are_reused(sc: Cluster, ns: str) -> None:
    apply(sc, ns, """\
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: web}
        spec:
          serviceName: nginx
          replicas: 3
          podManagementPolicy: Parallel
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: nginx, image: nginx, volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]}]
          volumeClaimTemplates:
          - metadata: {name: www}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {requests: {storage: 1Gi}}
        """)
    names = [f"www-web-{i}" for i in range(3)]
    wait_until(lambda: all(exists(sc, "pvc", n, ns) and phase(sc, "pvc", n, ns) == "Bound" for n in names), 90, 0.5)
    volumes = {n: get(sc, "pvc", n, ns)["spec"]["volumeName"] for n in names}
    for i, n in enumerate(names):
        node = get(sc, "pod", f"web-{i}", ns)["spec"]["nodeName"]
        pv = get(sc, "pv", volumes[n])
        assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == [node]
    sc.kubectl("scale", "sts", "web", "-n", ns, "--replicas=1")
    wait_until(lambda: not exists(sc, "pod", "web-2", ns) and not exists(sc, "pod", "web-1", ns), 60, 0.3)
    assert all(phase(sc, "pvc", n, ns) == "Bound" for n in names)
    sc.kubectl("scale", "sts", "web", "-n", ns, "--replicas=3")
    wait_until(lambda: all(get(sc, "pod", f"web-{i}", ns).get("status", {}).get("phase") == "Running"
                           for i in (1, 2) if exists(sc, "pod", f"web-{i}", ns))
               and exists(sc, "pod", "web-2", ns), 60, 0.3)
    assert {n: get(sc, "pvc", n, ns)["spec"]["volumeName"] for n in names} == volumes
    for i, n in enumerate(names):  # each pod back on its volume's node
        node = get(sc, "pod", f"web-{i}", ns)["spec"]["nodeName"]
        assert get(sc, "pv", volumes[n])["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
            "matchExpressions"][0]["values"] == [node]
