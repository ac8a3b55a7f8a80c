"""The LimitRanger admission plug-in: the namespace's LimitRanges default and bound pods and claims."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tinykube.admission import limits
from tinykube.admission.chain import Attributes, Plugin
from tinykube.machinery import errors

if TYPE_CHECKING:
    from tinykube.registry.objects import ObjectRegistry

Obj = dict[str, Any]


class LimitRanger(Plugin):
    name = "LimitRanger"

    def __init__(self, registry: "ObjectRegistry") -> None:
        self.registry = registry

    def handles(self, attrs: Attributes) -> bool:
        if attrs.resource.group or attrs.subresource:
            return False
        if attrs.resource.plural == "pods":
            return attrs.operation == "CREATE"  # a pod's containers cannot change afterwards
        return attrs.resource.plural == "persistentvolumeclaims"

    async def _ranges(self, attrs: Attributes) -> list[Obj]:
        """The namespace's LimitRanges by name, read once per request."""
        from tinykube.registry.objects import ListOptions
        from tinykube.registry.resources import RESOURCE_INDEX

        known = attrs.lookups.get(self.name)
        if known is not None:
            return known  # type: ignore[no-any-return]
        res = RESOURCE_INDEX.lookup("", "v1", "limitranges")
        assert res is not None
        listed = await self.registry.list(res, attrs.namespace, ListOptions())
        ranges = attrs.lookups[self.name] = sorted(listed["items"], key=lambda o: o["metadata"]["name"])
        return ranges

    async def mutate(self, attrs: Attributes) -> None:
        if attrs.resource.plural != "pods":
            return
        for limit_range in await self._ranges(attrs):
            limits.apply_defaults(attrs.obj, limit_range)

    async def validate(self, attrs: Attributes) -> None:
        check = limits.pod_violations if attrs.resource.plural == "pods" else limits.claim_violations
        found: list[str] = []
        for limit_range in await self._ranges(attrs):
            found += check(attrs.obj, limit_range)
        if found:
            raise errors.forbidden(f'{attrs.resource.group_resource} "{attrs.name}" is forbidden: '
                                   f"{limits.aggregate(found)}")
