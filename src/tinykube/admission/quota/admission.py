"""The ResourceQuota admission plug-in: refuse what would exceed a quota, else charge it.

For every quota of the namespace that covers the object: the containers must state what the
quota limits (cpu, memory), and used + requested must stay within spec.hard. The charge is
a compare-and-swap on each quota's status.used, made under the namespace's charging lock that
is held until the object is written, so two concurrent creates never both take the last slot.
A quota the controller has not counted yet is counted here, in place of upstream's
"status unknown" refusal.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable

from tinykube.admission import resourcelist as rl
from tinykube.admission.chain import Attributes, Plugin
from tinykube.admission.quota import usage as qu
from tinykube.admission.quota.locks import namespace_lock
from tinykube.admission.resourcelist import ResourceList
from tinykube.machinery import errors
from tinykube.machinery.errors import StatusError

if TYPE_CHECKING:
    from tinykube.registry.objects import ObjectRegistry
    from tinykube.registry.resources import Resource

Obj = dict[str, Any]


def quotas_resource() -> "Resource":
    from tinykube.registry.resources import RESOURCE_INDEX

    res = RESOURCE_INDEX.lookup("", "v1", "resourcequotas")
    assert res is not None
    return res


Lister = Callable[["Resource", str], Awaitable[list[Obj]]]


def registry_lister(registry: "ObjectRegistry") -> Lister:
    async def list_items(res: "Resource", namespace: str) -> list[Obj]:
        from tinykube.registry.objects import ListOptions
        return (await registry.list(res, namespace, ListOptions()))["items"]
    return list_items


async def count_used(list_items: Lister, quota: Obj, now: float) -> ResourceList:
    """Recount everything a quota covers (latest objects of each resource it names)."""
    from tinykube.registry.resources import RESOURCE_INDEX

    namespace = quota["metadata"].get("namespace", "")
    names = list(qu.hard_of(quota))
    used = rl.zeros(names)
    seen: set[tuple[str, str]] = set()
    for res in RESOURCE_INDEX.resources:
        if not res.namespaced or not res.stored or (res.group, res.plural) in seen:
            continue
        if not any(qu.tracks(res.group, res.plural, n) for n in names):
            continue
        seen.add((res.group, res.plural))
        items = await list_items(res, namespace)
        used.update({k: v for k, v in qu.total_usage(quota, res.group, res.plural, items, now).items()
                     if k in used})
    return used


def charged(quota: Obj, requested: ResourceList, used: ResourceList) -> Obj:
    """The quota with status.hard = spec.hard and status.used raised by `requested`."""
    hard = qu.hard_of(quota)
    status = quota.get("status") if isinstance(quota.get("status"), dict) else {}
    new_used = rl.add(rl.mask(used, hard), requested)
    quota["status"] = dict(status, hard=hard, used=rl.mask(new_used, hard))
    return quota


def check(quota: Obj, requested: ResourceList, used: ResourceList) -> str | None:
    """upstream's "exceeded quota" text, or None when used + requested fits."""
    hard = qu.hard_of(quota)
    new_usage = rl.mask(rl.add(used, requested), requested)
    fits, exceeded = rl.less_than_or_equal(new_usage, hard)
    if fits:
        return None
    return (f"exceeded quota: {quota['metadata']['name']}, requested: {rl.pretty(rl.mask(requested, exceeded))}, "
            f"used: {rl.pretty(rl.mask(used, exceeded))}, limited: {rl.pretty(rl.mask(hard, exceeded))}")


class ResourceQuotaAdmission(Plugin):
    name = "ResourceQuota"

    def __init__(self, registry: "ObjectRegistry") -> None:
        self.registry = registry

    def handles(self, attrs: Attributes) -> bool:
        if not attrs.resource.namespaced or attrs.subresource or attrs.dry_run:
            return False
        if attrs.operation == "UPDATE":  # only what can grow in place
            return (attrs.resource.group, attrs.resource.plural) in (("", "persistentvolumeclaims"),
                                                                      ("", "services"))
        return True

    def guard(self, attrs: Attributes) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locked(attrs.namespace)

    async def _quotas(self, namespace: str) -> list[Obj]:
        from tinykube.registry.objects import ListOptions
        if not await self.registry.has_any(quotas_resource(), namespace):  # most namespaces: no decoding
            return []
        return (await self.registry.list(quotas_resource(), namespace, ListOptions()))["items"]

    @contextlib.asynccontextmanager
    async def _locked(self, namespace: str) -> AsyncIterator[None]:
        """Only namespaces with quotas serialize their writes (the rest keep group commit)."""
        if not await self._quotas(namespace):
            yield
            return
        async with namespace_lock(namespace):
            yield

    def _delta(self, attrs: Attributes, now: float) -> ResourceList:
        res = attrs.resource
        new = qu.usage(res.group, res.plural, attrs.obj, now)
        if attrs.old is None:
            return new
        return rl.subtract(new, qu.usage(res.group, res.plural, attrs.old, now))

    async def validate(self, attrs: Attributes) -> None:
        res = attrs.resource
        quotas = await self._quotas(attrs.namespace)
        if not quotas:
            return
        now = self.registry.clock.time()
        delta = self._delta(attrs, now)
        prefix = f'{res.group_resource} "{attrs.name}" is forbidden: '
        charges: list[tuple[str, ResourceList]] = []
        for quota in quotas:
            if not qu.matches_scopes(quota, res.group, res.plural, attrs.obj):
                continue
            tracked = [n for n in qu.hard_of(quota) if qu.tracks(res.group, res.plural, n)]
            if not tracked:
                continue
            if (res.group, res.plural) == ("", "pods"):
                missing = qu.missing_container_resources(attrs.obj, tracked)
                if missing:
                    raise errors.forbidden(f"{prefix}failed quota: {quota['metadata']['name']}: {missing}")
            requested = rl.remove_zeros(rl.mask(delta, tracked))
            requested = {k: v for k, v in requested.items() if rl.amount(v).value > 0}
            if requested:
                charges.append((quota["metadata"]["name"], requested))
        for name, requested in charges:
            await self._charge(attrs.namespace, name, requested, prefix, now)

    async def _charge(self, namespace: str, name: str, requested: ResourceList, prefix: str, now: float) -> None:
        """Compare-and-swap status.used += requested on one quota, refusing if it would exceed."""
        recounted: dict[str, ResourceList] = {}

        async def current_used(quota: Obj) -> ResourceList:
            status = quota.get("status") if isinstance(quota.get("status"), dict) else {}
            used = status.get("used") if isinstance(status.get("used"), dict) else None
            hard = qu.hard_of(quota)
            if used is not None and set(hard) <= set(used):
                return {str(k): str(v) for k, v in used.items()}
            rv = quota["metadata"]["resourceVersion"]
            if rv not in recounted:
                recounted[rv] = await count_used(registry_lister(self.registry), quota, now)
            return recounted[rv]

        res = quotas_resource()
        for _ in range(16):
            quota = await self.registry.get(res, namespace, name)
            used = await current_used(quota)
            refusal = check(quota, requested, used)
            if refusal:
                raise errors.forbidden(prefix + refusal)
            expected = quota["metadata"]["resourceVersion"]

            def mutate(current: Obj) -> Obj | None:
                if current["metadata"]["resourceVersion"] != expected:
                    raise _Raced()
                return charged(current, requested, used)
            try:
                await self.registry.system_update(res, namespace, name, mutate)
                return
            except _Raced:
                continue
            except StatusError as exc:
                if exc.code == 404:
                    return  # the quota went away meanwhile: nothing to charge
                raise
        raise errors.conflict("", "resourcequotas", name, errors.OPTIMISTIC_LOCK_MESSAGE)


class _Raced(Exception):
    """The quota changed between reading it and charging it: read again."""
