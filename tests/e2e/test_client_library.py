"""The client library over HTTP against a real server: CRUD, watch, informers, leader election."""

from __future__ import annotations

import asyncio

import pytest

from helpers import Cluster
from tinykube.client.api import LEASES, resource
from tinykube.client.http import HttpClient
from tinykube.client.informer import EventHandler, Informer, by_namespace
from tinykube.client.leaderelection import LeaderElector
from tinykube.clock import Clock
from tinykube.machinery.errors import StatusError

CONFIGMAPS = resource("v1", "configmaps")


def client_for(cluster: Cluster, manager: str = "client-test") -> HttpClient:
    return HttpClient.from_kubeconfig(str(cluster.kubeconfig), field_manager=manager)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_crud_patch_and_errors_are_status_errors(cluster: Cluster, ns: str):
    async def scenario():
        client = client_for(cluster)
        try:
            created = await client.create(CONFIGMAPS, {"metadata": {"name": "a", "namespace": ns}, "data": {"k": "v"}})
            assert created["metadata"]["uid"]
            got = await client.get(CONFIGMAPS, "a", ns)
            got["data"]["k"] = "w"
            updated = await client.update(CONFIGMAPS, got)
            assert updated["data"] == {"k": "w"}
            with pytest.raises(StatusError) as stale:
                await client.update(CONFIGMAPS, got)  # resourceVersion is now stale
            assert stale.value.code == 409 and stale.value.reason == "Conflict"
            patched = await client.patch(CONFIGMAPS, "a", {"data": {"x": "y"}}, ns)
            assert patched["data"] == {"k": "w", "x": "y"}
            assert patched["metadata"]["managedFields"][-1]["manager"] == "client-test"
            listed = await client.list(CONFIGMAPS, ns)
            assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "kube-root-ca.crt"]
            await client.delete(CONFIGMAPS, "a", ns)
            with pytest.raises(StatusError) as missing:
                await client.get(CONFIGMAPS, "a", ns)
            assert missing.value.code == 404 and missing.value.message == 'configmaps "a" not found'
        finally:
            await client.close()
    run(scenario())


def test_watch_from_resource_version_and_too_old(cluster: Cluster, ns: str):
    async def scenario():
        client = client_for(cluster)
        try:
            start = (await client.list(CONFIGMAPS, ns))["metadata"]["resourceVersion"]
            await client.create(CONFIGMAPS, {"metadata": {"name": "w1", "namespace": ns}})
            await client.patch(CONFIGMAPS, "w1", {"data": {"a": "b"}}, ns)
            events = await client.watch(CONFIGMAPS, ns, resource_version=start)
            seen = []
            async for kind, obj in events:
                seen.append((kind, obj["metadata"]["name"]))
                if len(seen) == 2:
                    break
            await events.aclose()
            assert seen == [("ADDED", "w1"), ("MODIFIED", "w1")]
            with pytest.raises(StatusError) as too_large:
                await client.watch(CONFIGMAPS, ns, resource_version="999999999")
            assert too_large.value.code in (410, 504)
        finally:
            await client.close()
    run(scenario())


def test_informer_caches_indexes_and_reports_changes(cluster: Cluster, ns: str):
    async def scenario():
        client = client_for(cluster)
        informer = Informer(client, CONFIGMAPS, Clock(), namespace=ns, indexers={"namespace": by_namespace})
        changes: list[tuple[str, str]] = []

        def note(kind: str, obj: dict) -> None:
            if obj["metadata"]["name"] != "kube-root-ca.crt":  # every namespace's own ConfigMap
                changes.append((kind, obj["metadata"]["name"]))

        informer.add_handler(EventHandler(lambda o: note("add", o), lambda old, new: note("update", new),
                                          lambda o: note("delete", o)))
        await client.create(CONFIGMAPS, {"metadata": {"name": "before", "namespace": ns}})
        task = asyncio.create_task(informer.run())
        try:
            await informer.wait_synced()
            assert informer.cache.get(f"{ns}/before") is not None
            await client.create(CONFIGMAPS, {"metadata": {"name": "after", "namespace": ns}})
            await client.patch(CONFIGMAPS, "after", {"data": {"x": "1"}}, ns)
            await client.delete(CONFIGMAPS, "before", ns)
            for _ in range(200):
                if ("delete", "before") in changes:
                    break
                await asyncio.sleep(0.02)
            assert changes == [("add", "before"), ("add", "after"), ("update", "after"), ("delete", "before")]
            assert sorted(o["metadata"]["name"] for o in informer.cache.by_index("namespace", ns)) == \
                ["after", "kube-root-ca.crt"]
            assert informer.cache.get(f"{ns}/after")["data"] == {"x": "1"}
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.close()
    run(scenario())


def test_leader_election_is_exclusive_and_hands_over_on_release(cluster: Cluster, ns: str):
    async def scenario():
        clock = Clock()
        a_client, b_client = client_for(cluster, "a"), client_for(cluster, "b")
        lease_name = "election-" + ns
        a = LeaderElector(a_client, clock, lease_name, "candidate-a", namespace=ns,
                          lease_duration=3, renew_deadline=2, retry_period=0.2)
        b = LeaderElector(b_client, clock, lease_name, "candidate-b", namespace=ns,
                          lease_duration=3, renew_deadline=2, retry_period=0.2)
        leading: list[str] = []

        def work(who: str):
            async def lead():
                leading.append(who)
                await asyncio.Event().wait()
            return lead

        a_task = asyncio.create_task(a.run(work("a")))
        await asyncio.sleep(0.5)
        b_task = asyncio.create_task(b.run(work("b")))
        await asyncio.sleep(1.0)
        assert leading == ["a"] and a.is_leader and not b.is_leader
        lease = await a_client.get(LEASES, lease_name, ns)
        assert lease["spec"]["holderIdentity"] == "candidate-a"
        a_task.cancel()
        await asyncio.gather(a_task, return_exceptions=True)  # releases the lease
        for _ in range(50):
            if b.is_leader:
                break
            await asyncio.sleep(0.1)
        assert leading == ["a", "b"]  # b took over well before the 3 s lease would have expired
        lease = await b_client.get(LEASES, lease_name, ns)
        assert lease["spec"]["holderIdentity"] == "candidate-b" and lease["spec"]["leaseTransitions"] == 1
        b_task.cancel()
        await asyncio.gather(b_task, return_exceptions=True)
        await a_client.close()
        await b_client.close()
    run(scenario())
