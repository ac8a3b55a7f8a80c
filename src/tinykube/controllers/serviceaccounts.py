"""Every namespace has a `default` ServiceAccount, as upstream's serviceaccounts controller ensures."""

from __future__ import annotations

import asyncio
import logging

from tinykube.clock import Clock
from tinykube.machinery.errors import StatusError
from tinykube.registry.objects import ListOptions, ObjectRegistry, WriteOptions
from tinykube.registry.resources import RESOURCE_INDEX

log = logging.getLogger(__name__)

NAMESPACES = RESOURCE_INDEX.lookup("", "v1", "namespaces")
SERVICE_ACCOUNTS = RESOURCE_INDEX.lookup("", "v1", "serviceaccounts")
MANAGER = "kube-controller-manager"


async def ensure_default_service_account(registry: ObjectRegistry, namespace: str) -> None:
    assert SERVICE_ACCOUNTS is not None
    try:
        await registry.get(SERVICE_ACCOUNTS, namespace, "default")
        return
    except StatusError as exc:
        if exc.code != 404:
            raise
    try:
        await registry.create(SERVICE_ACCOUNTS, namespace, {"metadata": {"name": "default"}},
                              WriteOptions(field_manager=MANAGER))
    except StatusError as exc:
        if exc.code not in (403, 404, 409):  # namespace terminating or gone, or created meanwhile
            raise


async def run_serviceaccounts_controller(registry: ObjectRegistry, clock: Clock) -> None:
    """Watch namespaces (and default SAs being deleted) and keep a `default` SA in each live one."""
    assert NAMESPACES is not None and SERVICE_ACCOUNTS is not None
    while True:
        try:
            listed = await registry.list(NAMESPACES, "", ListOptions())
            for ns in listed["items"]:
                if not ns["metadata"].get("deletionTimestamp"):
                    await ensure_default_service_account(registry, ns["metadata"]["name"])
            events = await registry.watch(NAMESPACES, "", ListOptions(resource_version=listed["metadata"]["resourceVersion"]))
            sa_events = await registry.watch(SERVICE_ACCOUNTS, "", ListOptions(
                field_selector="metadata.name=default", resource_version=listed["metadata"]["resourceVersion"]))
            await asyncio.gather(_follow_namespaces(registry, events), _follow_default_sas(registry, sa_events))
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the controller alive; retry with a fresh list
            log.exception("serviceaccounts controller failed; restarting")
            await clock.sleep(1)


async def _follow_namespaces(registry: ObjectRegistry, events) -> None:
    async for kind, ns in events:
        if kind in ("ADDED", "MODIFIED") and not ns["metadata"].get("deletionTimestamp"):
            await ensure_default_service_account(registry, ns["metadata"]["name"])


async def _follow_default_sas(registry: ObjectRegistry, events) -> None:
    async for kind, sa in events:
        if kind == "DELETED":
            await ensure_default_service_account(registry, sa["metadata"]["namespace"])
