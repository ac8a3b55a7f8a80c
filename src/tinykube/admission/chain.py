"""The admission chain: mutating plug-ins, then validating ones, then the write.

The registry calls `mutate` after decoding defaults and before validation (upstream's
mutating admission), and wraps its store write in `validating`, which runs every plug-in's
`validate` under the plug-ins' guards. A guard (the quota plug-in's per-namespace lock)
is held across the write, so what a plug-in checked is still true when the object lands.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Sequence

if TYPE_CHECKING:
    from tinykube.registry.objects import ObjectRegistry
    from tinykube.registry.resources import Resource

Obj = dict[str, Any]


@dataclass
class Attributes:
    """One admission request: what is written, over what, by which operation."""

    operation: str  # CREATE | UPDATE
    resource: "Resource"
    namespace: str
    name: str
    obj: Obj
    old: Obj | None = None
    dry_run: bool = False
    subresource: str = ""
    # what plug-ins read from the store for this request, so mutating and validating read it once
    lookups: dict[str, Any] = field(default_factory=dict)


class Plugin:
    """A named admission plug-in; each method is a no-op unless the plug-in overrides it."""

    name = "Plugin"

    def handles(self, attrs: Attributes) -> bool:
        return False

    async def mutate(self, attrs: Attributes) -> None:
        """Change `attrs.obj` in place (defaults); runs before validation."""

    async def validate(self, attrs: Attributes) -> None:
        """Raise a StatusError to refuse the write; runs after validation, under the guards."""

    def guard(self, attrs: Attributes) -> contextlib.AbstractAsyncContextManager[None]:
        """Held from `validate` until the write is done."""
        return contextlib.nullcontext()


class AdmissionChain:
    def __init__(self, plugins: Sequence[Plugin] = ()) -> None:
        self.plugins = list(plugins)

    async def mutate(self, attrs: Attributes) -> None:
        for plugin in self.plugins:
            if plugin.handles(attrs):
                await plugin.mutate(attrs)

    @contextlib.asynccontextmanager
    async def validating(self, attrs: Attributes) -> AsyncIterator[None]:
        active = [p for p in self.plugins if p.handles(attrs)]
        async with contextlib.AsyncExitStack() as stack:
            for plugin in active:
                await stack.enter_async_context(plugin.guard(attrs))
            for plugin in active:
                await plugin.validate(attrs)
            yield


def default_plugins(registry: "ObjectRegistry", clock: Any = None, authorizer: Any = None) -> list[Plugin]:
    """Upstream's order: ServiceAccount and DefaultStorageClass (mutating), LimitRanger (defaults,
    then limits), RBAC escalation, and ResourceQuota last, so it charges what the others let
    through. The ServiceAccount and escalation plug-ins need the clock and the authorizer."""
    from tinykube.admission.limitranger import LimitRanger
    from tinykube.admission.plugins import DefaultStorageClass, RBACEscalation, ServiceAccountAdmission
    from tinykube.admission.quota.admission import ResourceQuotaAdmission

    plugins: list[Plugin] = []
    if clock is not None:
        plugins.append(ServiceAccountAdmission(registry, clock))
    plugins += [DefaultStorageClass(registry), LimitRanger(registry)]
    if authorizer is not None:
        plugins.append(RBACEscalation(authorizer, registry))
    plugins.append(ResourceQuotaAdmission(registry))
    return plugins
