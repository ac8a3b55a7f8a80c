"""Simulated nodes renew their Leases concurrently, as separate kubelets would.

A real registry on SQLite and the real node agent; the client under the agent adds a delay to
every Lease write, standing in for a server busy with other writes. One renewal after another,
a thousand such renewals outlast the node controller's grace period and nodes go NotReady
(deployment_bench showed 79 of 1,000); concurrently they take a few delays in all.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tinykube.client.api import LEASES
from tinykube.client.informer import InformerFactory
from tinykube.client.local import LocalClient
from tinykube.clock import ManualClock
from tinykube.kubelet.agent import HEARTBEATS_AT_ONCE, NodeAgent
from tinykube.kubelet.node import LEASE_NAMESPACE
from tinykube.registry.hooks import kind_hooks
from tinykube.registry.objects import ObjectRegistry
from tinykube.server import bootstrap
from tinykube.storage.sqlite import SqliteStore

NODES = 80
WRITE_DELAY = 0.02  # seconds each Lease write waits before it reaches the registry


class BusyServerClient(LocalClient):
    """The in-process client, with every Lease write delayed; counts how many are in flight."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0
        self.most_in_flight = 0

    async def _slowly(self, call: Any) -> Any:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(WRITE_DELAY)
            return await call
        finally:
            self.in_flight -= 1

    async def patch(self, res: Any, *args: Any, **kwargs: Any) -> Any:
        call = super().patch(res, *args, **kwargs)
        return await (self._slowly(call) if res == LEASES else call)

    async def create(self, res: Any, *args: Any, **kwargs: Any) -> Any:
        call = super().create(res, *args, **kwargs)
        return await (self._slowly(call) if res == LEASES else call)


def test_lease_renewals_of_many_nodes_are_written_concurrently(tmp_path: Path) -> None:
    async def main() -> tuple[set[str], int]:
        clock = ManualClock()
        store = await SqliteStore.open(tmp_path / "state.db")
        registry = ObjectRegistry(store, clock, kind_hooks(clock))
        await bootstrap(registry)
        informers = InformerFactory(LocalClient(registry, "informers"), clock)
        client = BusyServerClient(registry, "kubelet")
        agent = NodeAgent(client, clock, informers, local_node=None, sim_nodes=NODES, record_events=False)
        informers.start()
        task = asyncio.create_task(agent.run())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60  # reached only if renewals are broken

            async def renew_times() -> dict[str, str]:
                leases = (await LocalClient.list(client, LEASES, LEASE_NAMESPACE))["items"]
                return {lease["metadata"]["name"]: lease["spec"]["renewTime"] for lease in leases}

            while len(first := await renew_times()) < NODES and loop.time() < deadline:
                clock.advance(0.5)  # registrations and first renewals trickle in
                await asyncio.sleep(0.01)
            client.most_in_flight = 0
            clock.advance(12)  # past every node's renewal interval: all are due at once
            while loop.time() < deadline:
                renewed = {name for name, t in (await renew_times()).items() if t != first.get(name)}
                if len(renewed) == NODES:
                    break
                clock.advance(0.5)  # the agent looks for due renewals every half second
                await asyncio.sleep(0.01)
            return renewed, client.most_in_flight
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await informers.stop()
            await store.close()

    renewed, most_in_flight = asyncio.run(main())
    assert len(renewed) == NODES
    assert 1 < most_in_flight <= HEARTBEATS_AT_ONCE

