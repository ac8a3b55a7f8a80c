"""What a pod's volumes hold and where they go (pure): the kubelet volume plugins' rules.

`key_files` and `downward_files` give the files (path, bytes, mode) a configMap, secret,
downwardAPI or projected volume holds; `container_mounts` maps a container's volumeMounts
(mountPath, subPath, readOnly) onto the volume directories; `hosts_file` is the /etc/hosts the
kubelet writes. The I/O around them is in `volumes.py`.
"""

from __future__ import annotations

import base64
import posixpath
from dataclasses import dataclass
from typing import Any

from tinykube.kubelet import envvars

Obj = dict[str, Any]
DEFAULT_MODE = 0o644
CLUSTER_DOMAIN = "cluster.local"


class VolumeError(Exception):
    """A volume cannot be set up now (the pod waits; the message goes into a FailedMount event)."""


@dataclass(frozen=True)
class File:
    path: str  # relative to the volume's directory
    data: bytes
    mode: int


@dataclass(frozen=True)
class Mount:
    source: str  # on the host
    target: str  # inside the container
    read_only: bool = False

    def plan(self) -> Obj:
        return {"source": self.source, "target": self.target, "readOnly": self.read_only}


def object_data(kind: str, obj: Obj) -> dict[str, bytes]:
    """A ConfigMap's data and binaryData or a Secret's data and stringData, as file contents."""
    if kind == "configMap":
        out = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        return out
    out = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    out.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
    return out


def key_files(kind: str, source: Obj, obj: Obj | None, default_mode: int | None) -> list[File]:
    """The files of a configMap/secret volume (or projected source); VolumeError when required
    data is missing, in the kubelet's words."""
    name = source.get("name") or source.get("secretName") or ""
    optional = bool(source.get("optional"))
    mode = source.get("defaultMode", default_mode)
    mode = DEFAULT_MODE if mode is None else int(mode)
    word = "configmap" if kind == "configMap" else "secret"
    if obj is None:
        if optional:
            return []
        raise VolumeError(f'{word} "{name}" not found')
    data = object_data(kind, obj)
    items = source.get("items")
    if not items:
        return [File(key, value, mode) for key, value in sorted(data.items())]
    files = []
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise VolumeError(f"configmap references non-existent config key: {key}" if kind == "configMap"
                              else f"references non-existent secret key: {key}")
        files.append(File(item.get("path") or key, data[key], int(item.get("mode", mode))))
    return files


def downward_files(pod: Obj, source: Obj, default_mode: int | None, facts: envvars.PodFacts) -> list[File]:
    """The files of a downwardAPI volume: fieldRef and resourceFieldRef values."""
    mode = source.get("defaultMode", default_mode)
    mode = DEFAULT_MODE if mode is None else int(mode)
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    files = []
    for item in source.get("items") or []:
        try:
            if item.get("fieldRef"):
                value = envvars.field_ref(pod, item["fieldRef"].get("fieldPath", ""), facts)
            elif item.get("resourceFieldRef"):
                value = envvars.resource_field_ref(pod, containers[0], item["resourceFieldRef"], facts)
            else:
                continue
        except envvars.EnvError as exc:
            raise VolumeError(str(exc)) from None
        files.append(File(item.get("path", ""), value.encode(), int(item.get("mode", mode))))
    return files


def safe_path(path: str) -> str:
    """A relative path inside the volume (no absolute paths, no '..' escapes)."""
    norm = posixpath.normpath(path)
    if not path or posixpath.isabs(path) or norm == ".." or norm.startswith("../"):
        raise VolumeError(f"invalid path {path!r}: must be relative and may not contain '..'")
    return norm


def container_mounts(container: Obj, volume_dirs: dict[str, str], read_only: set[str]) -> list[Mount]:
    """The bind mounts of a container's volumeMounts, parents before children.

    `volume_dirs`: volume name → its directory (or file) on the host; `read_only`: volumes
    that are always read-only (configMap, secret, downwardAPI, projected are, upstream)."""
    mounts = []
    for vm in container.get("volumeMounts") or []:
        name = vm.get("name", "")
        if name not in volume_dirs:
            raise VolumeError(f'volume "{name}" not found for mount {vm.get("mountPath", "")}')
        source = volume_dirs[name]
        if vm.get("subPath"):
            source = posixpath.join(source, safe_path(vm["subPath"]))
        mounts.append(Mount(source, posixpath.normpath(vm.get("mountPath", "/")),
                            bool(vm.get("readOnly")) or name in read_only))
    return sorted(mounts, key=lambda m: m.target.count("/"))


def pod_hostname(pod: Obj) -> str:
    """The pod's hostname: spec.hostname, else its name (at most 63 characters, as upstream)."""
    spec = pod.get("spec") or {}
    name = spec.get("hostname") or (pod.get("metadata") or {}).get("name", "")
    return name[:63].rstrip("-.")


def hosts_file(pod: Obj, pod_ip: str, cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """The /etc/hosts the kubelet writes for a pod on the pod network."""
    spec = pod.get("spec") or {}
    hostname = pod_hostname(pod)
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix",
             "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    if spec.get("subdomain"):
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        lines.append(f"{pod_ip}\t{hostname}.{spec['subdomain']}.{namespace}.svc.{cluster_domain}\t{hostname}")
    else:
        lines.append(f"{pod_ip}\t{hostname}")
    aliases = spec.get("hostAliases") or []
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        for alias in aliases:
            lines.append(f"{alias.get('ip', '')}\t" + "\t".join(alias.get("hostnames") or []))
    return "\n".join(lines) + "\n"
