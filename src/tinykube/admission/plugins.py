"""The admission plug-ins that live beside their own concerns, as chain plug-ins: the
ServiceAccount plug-in and RBAC escalation prevention (`auth/`), and DefaultStorageClass with
the volume-protection finalizers (`registry/storageadmission.py`)."""

from __future__ import annotations

from typing import Any

from tinykube.admission.chain import Attributes, Plugin


class ServiceAccountAdmission(Plugin):
    """Pods run as a ServiceAccount and get its token volume (upstream's ServiceAccount plug-in)."""

    name = "ServiceAccount"

    def __init__(self, registry: Any, clock: Any) -> None:
        from tinykube.auth.admission import pod_admission

        self.registry = registry
        self._admit = pod_admission(registry, clock)

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == "CREATE" and not attrs.subresource and not attrs.resource.group \
            and attrs.resource.plural == "pods"

    async def mutate(self, attrs: Attributes) -> None:
        await self._admit(attrs.resource, attrs.namespace, attrs.obj, None)
        self.registry.hooks.apply_defaults(attrs.resource, attrs.obj)  # the added volume's defaults


class DefaultStorageClass(Plugin):
    """Claims without a class get the default one; claims and volumes get protection finalizers."""

    name = "DefaultStorageClass"

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def handles(self, attrs: Attributes) -> bool:
        return attrs.operation == "CREATE" and not attrs.subresource and not attrs.resource.group \
            and attrs.resource.plural in ("persistentvolumeclaims", "persistentvolumes")

    async def mutate(self, attrs: Attributes) -> None:
        from tinykube.registry.storageadmission import admit_storage

        await admit_storage(self.registry, attrs.resource, attrs.obj)


class RBACEscalation(Plugin):
    """Nobody grants, by a role or a binding, permissions they do not hold themselves."""

    name = "RBACEscalation"

    def __init__(self, authorizer: Any, registry: Any) -> None:
        from tinykube.auth.escalation import escalation_admission

        self._check = escalation_admission(authorizer, registry)

    def handles(self, attrs: Attributes) -> bool:
        return not attrs.subresource and attrs.resource.group == "rbac.authorization.k8s.io"

    async def validate(self, attrs: Attributes) -> None:
        await self._check(attrs.resource, attrs.namespace, attrs.obj, attrs.old)
