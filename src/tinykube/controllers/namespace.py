"""Namespace deletion: empty a terminating namespace, then release its `kubernetes` finalizer.

Upstream's namespace controller does this; without it `kubectl delete namespace` never ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tinykube.clock import Clock
from tinykube.machinery.errors import StatusError
from tinykube.registry.objects import DeleteOptions, ListOptions, ObjectRegistry, WriteOptions
from tinykube.registry.resources import RESOURCE_INDEX, Resource

log = logging.getLogger(__name__)

NAMESPACES = RESOURCE_INDEX.lookup("", "v1", "namespaces")
RETRY_SECONDS = 1.0


def namespaced_storage_resources() -> list[Resource]:
    """One served version per stored resource (HPA v1 and events.k8s.io share storage with others)."""
    return [r for r in RESOURCE_INDEX.resources
            if r.namespaced and r.stored and not r.storage_version and r.group != "events.k8s.io"]


async def remaining_content(registry: ObjectRegistry, namespace: str) -> int:
    total = 0
    for res in namespaced_storage_resources():
        listed = await registry.list(res, namespace, ListOptions(limit=1))
        total += len(listed["items"])
    return total


async def empty_namespace(registry: ObjectRegistry, namespace: str) -> int:
    """Delete everything in the namespace; return how many objects are still there."""
    for res in namespaced_storage_resources():
        try:
            await registry.delete_collection(res, namespace, ListOptions(), DeleteOptions(propagation_policy="Background"))
        except StatusError as exc:
            if exc.code not in (404, 409):
                raise
    return await remaining_content(registry, namespace)


async def finalize(registry: ObjectRegistry, namespace: dict[str, Any]) -> None:
    assert NAMESPACES is not None
    name = namespace["metadata"]["name"]

    def release(ns: dict[str, Any]) -> dict[str, Any]:
        finalizers = [f for f in (ns.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"]
        ns.setdefault("spec", {})["finalizers"] = finalizers
        return ns

    await registry.guaranteed_update(NAMESPACES, "", name, release, WriteOptions(field_manager="kube-controller-manager"),
                                     "finalize", operation="")


async def run_namespace_controller(registry: ObjectRegistry, clock: Clock) -> None:
    assert NAMESPACES is not None
    terminating: set[str] = set()
    while True:
        try:
            listed = await registry.list(NAMESPACES, "", ListOptions())
            for ns in listed["items"]:
                if ns["metadata"].get("deletionTimestamp"):
                    terminating.add(ns["metadata"]["name"])
            events = await registry.watch(NAMESPACES, "", ListOptions(resource_version=listed["metadata"]["resourceVersion"]))
            wake = asyncio.Event()
            follower = asyncio.create_task(_follow(events, terminating, wake))
            try:
                while not follower.done():
                    for name in sorted(terminating):
                        await _sync(registry, name, terminating)
                    wake.clear()
                    waiter = asyncio.create_task(wake.wait())
                    timeout = RETRY_SECONDS / clock.scale if terminating else None
                    await asyncio.wait({waiter, follower}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
            finally:
                follower.cancel()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("namespace controller failed; restarting")
            await clock.sleep(RETRY_SECONDS)


async def _follow(events, terminating: set[str], wake: asyncio.Event) -> None:
    async for kind, ns in events:
        if kind != "DELETED" and ns["metadata"].get("deletionTimestamp"):
            terminating.add(ns["metadata"]["name"])
            wake.set()


async def _sync(registry: ObjectRegistry, name: str, terminating: set[str]) -> None:
    assert NAMESPACES is not None
    try:
        ns = await registry.get(NAMESPACES, "", name)
    except StatusError as exc:
        if exc.code == 404:
            terminating.discard(name)
            return
        raise
    if await empty_namespace(registry, name) == 0:
        await finalize(registry, ns)
        terminating.discard(name)
