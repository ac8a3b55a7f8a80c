"""The ServiceAccount admission plugin: every pod runs as a ServiceAccount (`default` unless it
names one that exists) and, unless automounting is off, gets the `kube-api-access-<5>` projected
volume (token, CA bundle, namespace) mounted in each container, as upstream's plugin adds it."""

from __future__ import annotations

import secrets
from typing import Any, Awaitable, Callable

from tinykube.machinery import errors

Obj = dict[str, Any]
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION = 3607  # upstream's: an hour and a bit, so the kubelet's refresh is visible
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery rand.String's alphabet


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(ALPHANUMS) for _ in range(n))


def api_access_volume(name: str) -> Obj:
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def should_automount(pod: Obj, service_account: Obj) -> bool:
    """The pod's automountServiceAccountToken wins over the ServiceAccount's; both unset means yes."""
    spec_value = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if spec_value is not None:
        return bool(spec_value)
    sa_value = service_account.get("automountServiceAccountToken")
    return True if sa_value is None else bool(sa_value)


def mount_token(pod: Obj, suffix: str) -> None:
    """Add the projected volume (once) and mount it read-only in every container that has nothing
    mounted at the ServiceAccount path yet."""
    spec = pod.setdefault("spec", {})
    volumes = spec.setdefault("volumes", [])
    name = next((v.get("name") for v in volumes if isinstance(v, dict)
                 and str(v.get("name", "")).startswith(VOLUME_PREFIX)), None)
    if name is None:
        name = VOLUME_PREFIX + suffix
        volumes.append(api_access_volume(name))
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            if not isinstance(container, dict):
                continue
            mounts = container.setdefault("volumeMounts", [])
            if not any(isinstance(m, dict) and m.get("mountPath") == MOUNT_PATH for m in mounts):
                mounts.append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})


def service_account_name(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


# (namespace, name) -> the ServiceAccount or None
Lookup = Callable[[str, str], Awaitable[Obj | None]]


async def admit_pod(pod: Obj, namespace: str, lookup: Lookup) -> None:
    """Mutate a pod being created; 403 when its ServiceAccount does not exist."""
    if (pod.get("metadata", {}).get("annotations") or {}).get(MIRROR_ANNOTATION) is not None:
        return
    spec = pod.setdefault("spec", {})
    name = service_account_name(pod)
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name  # the deprecated field mirrors it, as v1 conversion does
    service_account = await lookup(namespace, name)
    if service_account is None:
        pod_name = pod.get("metadata", {}).get("name", "")
        why = f'error looking up service account {namespace}/{name}: serviceaccount "{name}" not found'
        prefix = f'pods "{pod_name}"' if pod_name else "pods"
        raise errors.StatusError(403, "Forbidden", f"{prefix} is forbidden: {why}",
                                 {"name": pod_name, "kind": "pods"} if pod_name else {"kind": "pods"})
    if should_automount(pod, service_account):
        mount_token(pod, random_suffix())


LOOKUP_PATIENCE = 3.0  # wall seconds a missing ServiceAccount is waited for


def pod_admission(registry: Any, clock: Any) -> Callable[[Any, str, Obj], Awaitable[None]]:
    """The registry's create-admission hook for pods. A namespace's `default` ServiceAccount is
    made just after the namespace, so a missing one is looked up again for a moment first
    (measured in wall time: the wait is for the controller, not for cluster time)."""
    from tinykube.registry.resources import RESOURCE_INDEX

    accounts = RESOURCE_INDEX.lookup("", "v1", "serviceaccounts")

    async def lookup(namespace: str, name: str) -> Obj | None:
        deadline = clock.real_time() + LOOKUP_PATIENCE
        while True:
            try:
                return await registry.get(accounts, namespace, name)
            except errors.StatusError as exc:
                if exc.code != 404:
                    raise
            if clock.real_time() >= deadline:
                return None
            await clock.sleep(0.05 * clock.scale)

    async def admit(res: Any, namespace: str, obj: Obj, old: Obj | None) -> None:
        if old is None and res.group == "" and res.plural == "pods":
            await admit_pod(obj, namespace, lookup)

    return admit
