"""The authorization step of every request: system:masters may do anything (upstream's
privileged-group authorizer), everyone else what RBAC grants; a refusal is upstream's 403."""

from __future__ import annotations

import asyncio
from typing import Any, Iterable

from tinykube.auth import rbac
from tinykube.auth.requestinfo import Attributes
from tinykube.auth.user import MASTERS, UserInfo
from tinykube.machinery.errors import StatusError

Obj = dict[str, Any]
SYNC_TIMEOUT = 30.0


def forbidden_message(user: UserInfo, attrs: Attributes) -> str:
    """Upstream's words (authorization filters' forbiddenMessage)."""
    if not attrs.resource_request:
        return f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" {where}'


def forbidden(user: UserInfo, attrs: Attributes, reason: str = "") -> StatusError:
    """403 as apierrors.NewForbidden words it, with the group-resource and name in its details."""
    why = forbidden_message(user, attrs) + (f": {reason}" if reason else "")
    resource = attrs.resource if attrs.resource_request else ""
    qualified = f"{resource}.{attrs.api_group}" if resource and attrs.api_group else resource
    if not qualified:
        message = f"forbidden: {why}"
    elif attrs.name:
        message = f'{qualified} "{attrs.name}" is forbidden: {why}'
    else:
        message = f"{qualified} is forbidden: {why}"
    details: dict[str, Any] = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.api_group:
        details["group"] = attrs.api_group
    if resource:
        details["kind"] = resource
    return StatusError(403, "Forbidden", message, details)


class InformerPolicy:
    """RBAC objects from the shared informer caches (rbac.PolicySource)."""

    def __init__(self, informers: Any) -> None:
        from tinykube.client.informer import by_namespace
        from tinykube.registry.resources import RESOURCE_INDEX

        def lookup(plural: str) -> Any:
            res = RESOURCE_INDEX.lookup("rbac.authorization.k8s.io", "v1", plural)
            assert res is not None
            return res

        self._roles = informers.informer(lookup("roles"))
        self._cluster_roles = informers.informer(lookup("clusterroles"))
        self._bindings = informers.informer(lookup("rolebindings"), {"namespace": by_namespace})
        self._cluster_bindings = informers.informer(lookup("clusterrolebindings"))
        self.informers = (self._roles, self._cluster_roles, self._bindings, self._cluster_bindings)

    async def wait_synced(self) -> None:
        await asyncio.wait_for(asyncio.gather(*(i.wait_synced() for i in self.informers)), SYNC_TIMEOUT)

    def cluster_role_bindings(self) -> Iterable[Obj]:
        return self._cluster_bindings.cache.list()

    def role_bindings(self, namespace: str) -> Iterable[Obj]:
        return self._bindings.cache.by_index("namespace", namespace)

    def cluster_role(self, name: str) -> Obj | None:
        return self._cluster_roles.cache.get(name)

    def role(self, namespace: str, name: str) -> Obj | None:
        return self._roles.cache.get(f"{namespace}/{name}")


class Authorizer:
    def __init__(self) -> None:
        self.policy: InformerPolicy | None = None  # set once the components' informers exist

    async def source(self) -> rbac.PolicySource | None:
        if self.policy is None:
            return None
        if not all(i.has_synced for i in self.policy.informers):
            await self.policy.wait_synced()
        return self.policy

    async def decide(self, user: UserInfo, attrs: Attributes) -> tuple[bool, str]:
        """(allowed, reason)."""
        if MASTERS in user.groups:
            return True, ""
        source = await self.source()
        if source is None:
            return False, ""
        return rbac.authorize(source, user, attrs)

    async def check(self, user: UserInfo, attrs: Attributes) -> None:
        allowed, _ = await self.decide(user, attrs)
        if not allowed:
            raise forbidden(user, attrs)

    async def rules(self, user: UserInfo, namespace: str) -> list[Any]:
        source = await self.source()
        return [] if source is None else rbac.rules_for(source, user, namespace)
