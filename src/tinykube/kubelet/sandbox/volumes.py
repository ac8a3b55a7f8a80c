"""A pod's volumes on disk: the directories `enter.py` bind-mounts into its containers.

emptyDirs live under the pod's directory (`<pod dir>/volumes/<name>`, on disk), the written
kinds under its state directory (in memory, as the kubelet keeps secret and projected volumes
on tmpfs; see `statedir`); hostPath and persistentVolumeClaim volumes are host directories.
emptyDir directories are made once
and shared by the pod's containers (medium Memory: the sandbox mounts a tmpfs on it inside the
pod's mount namespace); configMap, secret, downwardAPI and projected volumes are (re)written
before each container start. A volume that cannot be set up raises `VolumeError` with the
kubelet's wording, and the pod's containers wait.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any, Awaitable, Callable

from tinykube.client.api import Client, resource
from tinykube.kubelet import envvars
from tinykube.kubelet.sandbox.mounts import File, VolumeError, downward_files, key_files, safe_path
from tinykube.machinery.errors import StatusError

Obj = dict[str, Any]
CONFIGMAPS = resource("v1", "configmaps")
SECRETS = resource("v1", "secrets")
PVCS = resource("v1", "persistentvolumeclaims")
PVS = resource("v1", "persistentvolumes")
TokenSource = Callable[[Obj, str, int], "str | None | Awaitable[str | None]"]
WRITTEN = ("configMap", "secret", "downwardAPI", "projected")  # always mounted read-only upstream
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"  # in every kube-api-access volume; tolerated when absent


def memory_dirs(pod: Obj, pod_dir: Path) -> list[str]:
    """The emptyDirs with medium Memory (the sandbox mounts a tmpfs on each)."""
    return [str(volume_dir(pod_dir, v["name"])) for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("emptyDir") or {}).get("medium") == "Memory"]


def volume_dir(pod_dir: Path, name: str) -> Path:
    return pod_dir / "volumes" / name


class VolumeSetup:
    def __init__(self, client: Client, token_source: TokenSource | None = None) -> None:
        self.client = client
        self.token_source = token_source

    async def prepare(self, pod: Obj, pod_dir: Path, state_dir: Path,
                      facts: envvars.PodFacts) -> tuple[dict[str, str], set[str]]:
        """Every volume of the pod ready: (name → host path, names mounted read-only)."""
        dirs: dict[str, str] = {}
        read_only: set[str] = set()
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            name = volume.get("name", "")
            try:
                dirs[name] = await self._one(pod, pod_dir, state_dir, volume, facts)
            except VolumeError as exc:
                raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {exc}') from None
            if any(volume.get(kind) for kind in WRITTEN):
                read_only.add(name)
        return dirs, read_only

    async def _one(self, pod: Obj, pod_dir: Path, state_dir: Path, volume: Obj, facts: envvars.PodFacts) -> str:
        if "emptyDir" in volume:
            target = volume_dir(pod_dir, volume.get("name", ""))
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o777)
            return str(target)
        if volume.get("hostPath"):
            return host_path(volume["hostPath"])
        if volume.get("persistentVolumeClaim"):
            return await self._claim(pod, volume["persistentVolumeClaim"])
        files: list[File] = []
        if volume.get("configMap"):
            files = key_files("configMap", volume["configMap"], await self._get(pod, CONFIGMAPS,
                                                                                volume["configMap"].get("name")), None)
        elif volume.get("secret"):
            files = key_files("secret", volume["secret"], await self._get(pod, SECRETS,
                                                                          volume["secret"].get("secretName")), None)
        elif volume.get("downwardAPI"):
            files = downward_files(pod, volume["downwardAPI"], None, facts)
        elif volume.get("projected"):
            files = await self._projected(pod, volume["projected"], facts)
        else:
            raise VolumeError("volume type not supported by tinykube's process runtime")
        target = volume_dir(state_dir, volume.get("name", ""))
        write_files(target, files)
        return str(target)

    async def _projected(self, pod: Obj, projected: Obj, facts: envvars.PodFacts) -> list[File]:
        mode = projected.get("defaultMode")
        files: list[File] = []
        for source in projected.get("sources") or []:
            if source.get("configMap"):
                ref = source["configMap"]
                obj = await self._get(pod, CONFIGMAPS, ref.get("name"))
                if obj is None and ref.get("name") == ROOT_CA_CONFIGMAP:
                    continue
                files += key_files("configMap", ref, obj, mode)
            elif source.get("secret"):
                files += key_files("secret", source["secret"], await self._get(pod, SECRETS,
                                                                               source["secret"].get("name")), mode)
            elif source.get("downwardAPI"):
                files += downward_files(pod, source["downwardAPI"], mode, facts)
            elif source.get("serviceAccountToken") and self.token_source is not None:
                sat = source["serviceAccountToken"]
                token = self.token_source(pod, sat.get("audience") or "", int(sat.get("expirationSeconds") or 3600))
                if hasattr(token, "__await__"):
                    token = await token  # type: ignore[misc]
                if token:
                    files.append(File(sat.get("path") or "token", str(token).encode(),
                                      0o644 if mode is None else int(mode)))
        return files

    async def _get(self, pod: Obj, what: Any, name: str | None) -> Obj | None:
        try:
            return await self.client.get(what, name or "", pod["metadata"].get("namespace", ""))
        except StatusError as exc:
            if exc.code != 404:
                raise
            return None

    async def _claim(self, pod: Obj, ref: Obj) -> str:
        namespace = pod["metadata"].get("namespace", "")
        name = ref.get("claimName", "")
        claim = await self._get(pod, PVCS, name)
        if claim is None:
            raise VolumeError(f'persistentvolumeclaim "{name}" not found')
        volume_name = (claim.get("spec") or {}).get("volumeName") or ""
        phase = (claim.get("status") or {}).get("phase") or "Pending"
        if not volume_name or phase == "Lost":
            raise VolumeError(f"error processing PVC {namespace}/{name}: PVC {namespace}/{name} has non-bound phase "
                              f'("{phase}") or empty pvc.Spec.VolumeName ("{volume_name}")')
        try:
            pv = await self.client.get(PVS, volume_name)
        except StatusError as exc:
            if exc.code != 404:
                raise
            raise VolumeError(f'persistentvolume "{volume_name}" not found') from None
        spec = pv.get("spec") or {}
        if spec.get("hostPath"):
            return host_path(spec["hostPath"])
        if spec.get("local"):
            path = spec["local"].get("path", "")
            if not os.path.isdir(path):
                raise VolumeError(f"path {path} does not exist")
            return path
        raise VolumeError(f"persistentvolume {volume_name}: only hostPath and local volumes can be mounted")


def write_files(target: Path, files: list[File]) -> None:
    """Replace the directory's contents with `files` (modes as given)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    target.chmod(0o755)
    for f in files:
        path = target / safe_path(f.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)
        path.chmod(f.mode & 0o777)


_TYPE_CHECKS = {"Directory": (stat.S_ISDIR, "is not a directory"), "File": (stat.S_ISREG, "is not a file"),
                "Socket": (stat.S_ISSOCK, "is not a socket file"),
                "CharDevice": (stat.S_ISCHR, "is not a character device"),
                "BlockDevice": (stat.S_ISBLK, "is not a block device")}


def host_path(source: Obj) -> str:
    """A hostPath volume's path after its type check (creating it for *OrCreate), as upstream."""
    path = source.get("path", "")
    kind = source.get("type") or ""
    if kind == "DirectoryOrCreate" and not os.path.exists(path):
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        Path(path).touch(mode=0o644)
    check = _TYPE_CHECKS.get(kind.removesuffix("OrCreate"))
    if check is not None:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise VolumeError(f"hostPath type check failed: {path} is not a "
                              f"{'directory' if kind == 'Directory' else kind.lower()}") from None
        if not check[0](mode):
            raise VolumeError(f"hostPath type check failed: {path} {check[1]}")
    elif not os.path.exists(path):
        os.makedirs(path, mode=0o755, exist_ok=True)  # type "": the kubelet's runtime creates it
    return path
