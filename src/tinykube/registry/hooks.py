"""The per-kind hooks the generic registry calls: defaults, validation, managed fields."""

from __future__ import annotations

from typing import Any

from tinykube.clock import Clock
from tinykube.machinery.errors import Cause
from tinykube.machinery.schema import SchemaNode
from tinykube.registry.objects import Hooks
from tinykube.registry.resources import Resource


def kind_hooks(clock: Clock, services: Any = None) -> Hooks:
    """`services`: the ServiceAllocator that hands out clusterIPs and nodePorts (none: no allocation)."""
    from tinykube.machinery.apply import update_managed_fields
    from tinykube.registry import kinds

    def apply_defaults(res: Resource, obj: dict[str, Any]) -> None:
        kinds.apply_defaults(res.group, res.kind, obj)

    def apply_status_defaults(res: Resource, obj: dict[str, Any]) -> None:
        kinds.apply_status_defaults(res.group, res.kind, obj)

    def validate(res: Resource, obj: dict[str, Any], old: dict[str, Any] | None) -> list[Cause]:
        return kinds.validate(res.group, res.kind, obj, old)

    def validate_status(res: Resource, obj: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
        return kinds.validate_status(res.group, res.kind, obj, old)

    def track_fields(res: Resource, old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                     operation: str, subresource: str) -> None:
        node = SchemaNode.for_kind(res.group, res.version, res.kind)
        if node is None or not manager:
            return
        update_managed_fields(old, new, manager=manager, operation=operation, node=node,
                              api_version=res.api_version, now=clock.rfc3339(),
                              subresource=subresource if subresource in ("status", "scale") else "")

    def allocate(res: Resource, obj: dict[str, Any], old: dict[str, Any] | None) -> Any:
        if services is None or res.group != "" or res.plural != "services":
            return None
        return services.allocate(obj, old)

    return Hooks(apply_defaults=apply_defaults, apply_status_defaults=apply_status_defaults, validate=validate,
                 validate_status=validate_status, track_fields=track_fields, allocate=allocate)
