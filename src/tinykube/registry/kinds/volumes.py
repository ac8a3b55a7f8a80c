"""Validation of a PodSpec's volumes (ValidateVolumes and validateVolumeSource)."""

from __future__ import annotations

from typing import Any, Callable

from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import Obj, child, dicts, index, is_int
from tinykube.registry.kinds.containers import validate_field_ref, validate_resource_field_ref

FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                   "FileOrCreate", "Socket"]
VOLUME_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                      "metadata.uid"]

Check = Callable[[FieldErrors, Obj, str], None]


def validate_volumes(errs: FieldErrors, volumes: Any, path: str) -> set[str]:
    """Each volume's source and its unique DNS-label name; returns the names of the valid ones."""
    names: set[str] = set()
    for i, volume in dicts(volumes):
        at = index(path, i)
        found = FieldErrors()
        _validate_source(found, volume, at)
        name = volume.get("name") or ""
        if not name:
            found.required(child(at, "name"))
        else:
            checks.dns1123_label(found, name, child(at, "name"))
        if name in names:
            found.duplicate(child(at, "name"), name)
        if found:
            errs.extend(found)
        else:
            names.add(name)
    return names


def _validate_source(errs: FieldErrors, volume: Obj, path: str) -> None:
    count = 0
    for source, forbidden_name, check in SOURCES:
        value = volume.get(source)
        if value is None:
            continue
        if count > 0:
            errs.forbidden(child(path, forbidden_name), "may not specify more than 1 volume type")
            continue
        count += 1
        if check is not None and isinstance(value, dict):
            check(errs, value, child(path, source))
    if count == 0:
        errs.required(path, "must specify a volume type")


# ----------------------------------------------------------------------------- sources


def _empty_dir(errs: FieldErrors, source: Obj, path: str) -> None:
    from tinykube.registry.kinds import quantities
    limit = source.get("sizeLimit")
    if limit is not None:
        amount = quantities.parse(limit)
        if amount is not None and amount < 0:
            errs.forbidden(child(path, "sizeLimit"), "SizeLimit field must be a valid resource quantity")


def _host_path(errs: FieldErrors, source: Obj, path: str) -> None:
    host_path = source.get("path") or ""
    if not host_path:
        errs.required(child(path, "path"))
        return
    checks.no_backsteps(errs, host_path, child(path, "path"))
    kind = source.get("type")
    if kind is not None and kind not in HOST_PATH_TYPES:
        errs.unsupported(child(path, "type"), kind, HOST_PATH_TYPES)


def _file_mode(errs: FieldErrors, mode: Any, path: str) -> None:
    if is_int(mode) and not 0 <= mode <= 0o777:
        errs.invalid(path, mode, FILE_MODE_ERROR)


def _key_to_paths(errs: FieldErrors, items: Any, path: str) -> None:
    for i, item in dicts(items):
        at = index(path, i)
        if not item.get("key"):
            errs.required(child(at, "key"))
        item_path = item.get("path") or ""
        if not item_path:
            errs.required(child(at, "path"))
        checks.local_non_reserved_path(errs, item_path, child(at, "path"))
        _file_mode(errs, item.get("mode"), child(at, "mode"))


def _secret(errs: FieldErrors, source: Obj, path: str) -> None:
    if not source.get("secretName"):
        errs.required(child(path, "secretName"))
    _file_mode(errs, source.get("defaultMode"), child(path, "defaultMode"))
    _key_to_paths(errs, source.get("items"), child(path, "items"))


def _config_map(errs: FieldErrors, source: Obj, path: str) -> None:
    if not source.get("name"):
        errs.required(child(path, "name"))
    _file_mode(errs, source.get("defaultMode"), child(path, "defaultMode"))
    _key_to_paths(errs, source.get("items"), child(path, "items"))


def _claim(errs: FieldErrors, source: Obj, path: str) -> None:
    if not source.get("claimName"):
        errs.required(child(path, "claimName"))


def _nfs(errs: FieldErrors, source: Obj, path: str) -> None:
    if not source.get("server"):
        errs.required(child(path, "server"))
    nfs_path = source.get("path") or ""
    if not nfs_path:
        errs.required(child(path, "path"))
    if not nfs_path.startswith("/"):
        errs.invalid(child(path, "path"), nfs_path, "must be an absolute path")


def _downward_api(errs: FieldErrors, source: Obj, path: str) -> None:
    _file_mode(errs, source.get("defaultMode"), child(path, "defaultMode"))
    for _, item in dicts(source.get("items")):
        validate_downward_file(errs, item, path)


def validate_downward_file(errs: FieldErrors, item: Obj, path: str) -> None:
    """validateDownwardAPIVolumeFile (upstream reports at the volume's path, without an index)."""
    file_path = item.get("path") or ""
    if not file_path:
        errs.required(child(path, "path"))
    checks.local_non_reserved_path(errs, file_path, child(path, "path"))
    field_ref, resource_ref = item.get("fieldRef"), item.get("resourceFieldRef")
    if isinstance(field_ref, dict):
        validate_field_ref(errs, field_ref, VOLUME_FIELD_PATHS, child(path, "fieldRef"))
        if resource_ref is not None:
            errs.invalid(path, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously")
    elif isinstance(resource_ref, dict):
        validate_resource_field_ref(errs, resource_ref, child(path, "resourceFieldRef"), volume=True)
    else:
        errs.required(path, "one of fieldRef and resourceFieldRef is required")
    _file_mode(errs, item.get("mode"), child(path, "mode"))


def _projected(errs: FieldErrors, source: Obj, path: str) -> None:
    _file_mode(errs, source.get("defaultMode"), child(path, "defaultMode"))
    for i, projection in dicts(source.get("sources")):
        at = index(child(path, "sources"), i)
        kinds = [k for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
                 if isinstance(projection.get(k), dict)]
        for kind in ("secret", "configMap"):
            if kind in kinds:
                if not projection[kind].get("name"):
                    errs.required(child(at, kind, "name"))
                _key_to_paths(errs, projection[kind].get("items"), child(at, kind, "items"))
        if "serviceAccountToken" in kinds:
            _service_account_token(errs, projection["serviceAccountToken"], path,
                                   child(at, "serviceAccountToken"))
        if len(kinds) > 1:
            errs.forbidden(at, "may not specify more than 1 volume type")


def _service_account_token(errs: FieldErrors, token: Obj, volume_path: str, path: str) -> None:
    expiration = token.get("expirationSeconds")
    if is_int(expiration):
        if expiration < 600:
            errs.invalid(child(path, "expirationSeconds"), expiration,
                         "may not specify a duration less than 10 minutes")
        if expiration > 1 << 32:
            errs.invalid(child(path, "expirationSeconds"), expiration,
                         "may not specify a duration larger than 2^32 seconds")
    if not token.get("path"):
        errs.required(child(volume_path, "path"))
    else:
        checks.local_non_reserved_path(errs, token["path"], child(volume_path, "path"))


def _csi(errs: FieldErrors, source: Obj, path: str) -> None:
    driver = source.get("driver") or ""
    if not driver:
        errs.required(child(path, "driver"))


def _git_repo(errs: FieldErrors, source: Obj, path: str) -> None:
    if not source.get("repository"):
        errs.required(child(path, "repository"))
    directory = source.get("directory") or ""
    checks.local_descending_path(errs, directory, child(path, "directory"))


# (volume source, name used in the "more than 1 volume type" error, its checks), in upstream's order
SOURCES: tuple[tuple[str, str, Check | None], ...] = (
    ("emptyDir", "emptyDir", _empty_dir),
    ("hostPath", "hostPath", _host_path),
    ("gitRepo", "gitRepo", _git_repo),
    ("gcePersistentDisk", "gcePersistentDisk", None),
    ("awsElasticBlockStore", "awsElasticBlockStore", None),
    ("secret", "secret", _secret),
    ("nfs", "nfs", _nfs),
    ("iscsi", "iscsi", None),
    ("glusterfs", "glusterfs", None),
    ("flocker", "flocker", None),
    ("persistentVolumeClaim", "persistentVolumeClaim", _claim),
    ("rbd", "rbd", None),
    ("cinder", "cinder", None),
    ("cephfs", "cephFS", None),
    ("quobyte", "quobyte", None),
    ("downwardAPI", "downwarAPI", _downward_api),
    ("fc", "fc", None),
    ("flexVolume", "flexVolume", None),
    ("configMap", "configMap", _config_map),
    ("azureFile", "azureFile", None),
    ("vsphereVolume", "vsphereVolume", None),
    ("photonPersistentDisk", "photonPersistentDisk", None),
    ("portworxVolume", "portworxVolume", None),
    ("azureDisk", "azureDisk", None),
    ("storageos", "storageos", None),
    ("projected", "projected", _projected),
    ("scaleIO", "scaleIO", None),
    ("csi", "csi", _csi),
    ("ephemeral", "ephemeral", None),
    ("image", "image", None),
)
