"""Defaults of a PodSpec and everything nested in it (core/v1 defaults.go and the generated
SetObjectDefaults that walk containers, probes, volumes and env for every PodSpec, whether in a
Pod or in a workload's pod template)."""

from __future__ import annotations

from typing import Any

from tinykube.registry.kinds.common import (
    Obj, default, default_zero, dicts, ensure_dict, for_each_dict, sub,
)
from tinykube.registry.kinds.images import default_pull_policy
from tinykube.registry.kinds.quantities import round_resource_list

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
FILE_MODE_DEFAULT = 0o644  # 420: secret, configMap, downwardAPI and projected volumes
TOKEN_EXPIRATION_DEFAULT = 3600


def default_pod_template(template: Any) -> None:
    """A workload's `spec.template`: only its pod spec has defaults."""
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        default_pod_spec(template["spec"])


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and the nested defaults of every PodSpec."""
    default_zero(spec, "dnsPolicy", "ClusterFirst")
    default_zero(spec, "restartPolicy", "Always")
    default(spec, "securityContext", dict)
    default(spec, "terminationGracePeriodSeconds", 30)
    default_zero(spec, "schedulerName", "default-scheduler")
    for list_name in CONTAINER_LISTS:
        for_each_dict(spec.get(list_name), default_container)
    for_each_dict(spec.get("volumes"), default_volume)
    overhead = spec.get("overhead")
    if isinstance(overhead, dict):
        round_resource_list(overhead)


# ----------------------------------------------------------------------------- containers


def default_container(container: Obj) -> None:
    """SetDefaults_Container plus its ports, env, resources, probes and lifecycle hooks."""
    default_zero(container, "imagePullPolicy", default_pull_policy(str(container.get("image") or "")))
    default_zero(container, "terminationMessagePath", "/dev/termination-log")
    default_zero(container, "terminationMessagePolicy", "File")
    for _, port in dicts(container.get("ports")):
        default_zero(port, "protocol", "TCP")
    for _, env in dicts(container.get("env")):
        default_field_ref(sub(env, "valueFrom", "fieldRef"))
    resources = ensure_dict(container, "resources")
    for name in ("limits", "requests"):
        if isinstance(resources.get(name), dict):
            round_resource_list(resources[name])
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            default_probe(container[probe])
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                default_handler(lifecycle[hook])


def default_probe(probe: Obj) -> None:
    """SetDefaults_Probe: timeouts and thresholds that are 0 take their documented defaults."""
    default_zero(probe, "timeoutSeconds", 1)
    default_zero(probe, "periodSeconds", 10)
    default_zero(probe, "successThreshold", 1)
    default_zero(probe, "failureThreshold", 3)
    default_handler(probe)


def default_handler(handler: Obj) -> None:
    """HTTPGetAction path and scheme; a gRPC probe's service defaults to ""."""
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        default_zero(http_get, "path", "/")
        default_zero(http_get, "scheme", "HTTP")
    grpc = handler.get("grpc")
    if isinstance(grpc, dict):
        default(grpc, "service", "")


def default_field_ref(field_ref: Any) -> None:
    """SetDefaults_ObjectFieldSelector."""
    if isinstance(field_ref, dict):
        default_zero(field_ref, "apiVersion", "v1")


# ----------------------------------------------------------------------------- volumes

# Every volume source a Volume may carry; one with none of them is an emptyDir.
VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs",
    "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker",
    "downwardAPI", "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
    "image",
)


def default_volume(volume: Obj) -> None:
    """SetDefaults_Volume and the defaults of each volume source."""
    if not any(volume.get(source) is not None for source in VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict):
            default(volume[source], "defaultMode", FILE_MODE_DEFAULT)
    if isinstance(volume.get("downwardAPI"), dict):
        _default_downward_items(volume["downwardAPI"].get("items"))
    if isinstance(volume.get("projected"), dict):
        _default_projected_sources(volume["projected"].get("sources"))
    if isinstance(volume.get("hostPath"), dict):
        default(volume["hostPath"], "type", "")
    if isinstance(volume.get("iscsi"), dict):
        default_zero(volume["iscsi"], "iscsiInterface", "default")
    if isinstance(volume.get("azureDisk"), dict):
        _default_azure_disk(volume["azureDisk"])
    if isinstance(volume.get("rbd"), dict):
        default_rbd(volume["rbd"])
    if isinstance(volume.get("scaleIO"), dict):
        default_scale_io(volume["scaleIO"])
    template = sub(volume, "ephemeral", "volumeClaimTemplate", "spec")
    if isinstance(template, dict):
        default_claim_spec(template)


def _default_downward_items(items: Any) -> None:
    for _, item in dicts(items):
        default_field_ref(item.get("fieldRef"))


def _default_projected_sources(sources: Any) -> None:
    for _, source in dicts(sources):
        if isinstance(source.get("downwardAPI"), dict):
            _default_downward_items(source["downwardAPI"].get("items"))
        if isinstance(source.get("serviceAccountToken"), dict):
            default(source["serviceAccountToken"], "expirationSeconds", TOKEN_EXPIRATION_DEFAULT)


def _default_azure_disk(disk: Obj) -> None:
    default(disk, "cachingMode", "ReadWrite")
    default(disk, "kind", "Shared")
    default(disk, "fsType", "ext4")
    default(disk, "readOnly", False)


def default_rbd(rbd: Obj) -> None:
    default_zero(rbd, "pool", "rbd")
    default_zero(rbd, "user", "admin")
    default_zero(rbd, "keyring", "/etc/ceph/keyring")


def default_scale_io(scale_io: Obj) -> None:
    default_zero(scale_io, "storageMode", "ThinProvisioned")
    default_zero(scale_io, "fsType", "xfs")


def default_claim_spec(spec: Obj) -> None:
    """SetDefaults_PersistentVolumeClaimSpec (also inside templates)."""
    default(spec, "volumeMode", "Filesystem")
    resources = spec.get("resources")
    if isinstance(resources, dict):
        for name in ("limits", "requests"):
            if isinstance(resources.get(name), dict):
                round_resource_list(resources[name])
