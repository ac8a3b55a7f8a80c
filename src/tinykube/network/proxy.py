"""The node's service proxy (kube-proxy's job, in userspace): a TCP listener on every
ClusterIP:port and on 127.0.0.1:nodePort of Services that have ready endpoints, forwarding
each connection to the next ready endpoint in turn. Endpoints are read from the EndpointSlice
informer at connect time, so a pod that stops being ready gets no new connections at once;
listeners follow Service and slice changes.

A ClusterIP can only be bound once it is a local address: as root the proxy adds it to `lo`
(and removes it when the Service goes, and at shutdown). Without root only NodePorts are served.
UDP ports are not proxied. With no ready endpoint a port is not listened on, so connections are
refused, as kube-proxy's reject rule does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from tinykube.client.api import Obj, object_key, resource
from tinykube.client.informer import EventHandler, InformerFactory
from tinykube.dns.server import by_service_name
from tinykube.network.addresses import LoopbackAddresses

log = logging.getLogger(__name__)

SERVICES = resource("v1", "services")
ENDPOINT_SLICES = resource("discovery.k8s.io/v1", "endpointslices")
COPY_CHUNK = 65536


@dataclass(frozen=True)
class Frontend:
    host: str
    port: int
    service: str  # namespace/name
    port_name: str


def frontends(svc: Obj, cluster_ips: bool) -> list[Frontend]:
    """The TCP addresses a Service is reached at on this node."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return []
    key = object_key(svc)
    out = []
    ip = spec.get("clusterIP")
    for port in spec.get("ports") or []:
        if (port.get("protocol") or "TCP") != "TCP":
            continue
        if cluster_ips and ip and ip != "None":
            out.append(Frontend(str(ip), int(port["port"]), key, port.get("name") or ""))
        if port.get("nodePort"):
            out.append(Frontend("127.0.0.1", int(port["nodePort"]), key, port.get("name") or ""))
    return out


def backends(slices: list[Obj], port_name: str) -> list[tuple[str, int]]:
    """Ready endpoint addresses with the port named as the Service port, in a stable order."""
    out = []
    for eps in slices:
        port = next((p for p in eps.get("ports") or [] if (p.get("name") or "") == port_name
                     and (p.get("protocol") or "TCP") == "TCP" and p.get("port")), None)
        if port is None:
            continue
        for endpoint in eps.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            out.extend((str(a), int(port["port"])) for a in endpoint.get("addresses") or [])
    return sorted(set(out))


class ServiceProxy:
    def __init__(self, informers: InformerFactory, addresses: LoopbackAddresses) -> None:
        self.services = informers.informer(SERVICES)
        self.slices = informers.informer(ENDPOINT_SLICES, {"dns-service": by_service_name})
        self.addresses = addresses
        self.cluster_ips = addresses.enabled
        self._changed = asyncio.Event()
        self._listeners: dict[Frontend, asyncio.AbstractServer] = {}
        self._failed: set[Frontend] = set()
        self._turns: dict[Frontend, itertools.count[int]] = {}
        kick = EventHandler(lambda o: self._changed.set(), lambda o, n: self._changed.set(),
                            lambda o: self._changed.set())
        self.services.add_handler(kick)
        self.slices.add_handler(kick)

    def backends_of(self, front: Frontend) -> list[tuple[str, int]]:
        return backends(self.slices.cache.by_index("dns-service", front.service), front.port_name)

    async def run(self) -> None:
        if not self.cluster_ips:
            log.info("service proxy: not root, so ClusterIPs are not served on this host (NodePorts are)")
        await self.services.wait_synced()
        await self.slices.wait_synced()
        try:
            while True:
                self._changed.clear()
                await self._reconcile()
                await self._changed.wait()
        finally:
            for server in self._listeners.values():
                server.close()
            self._listeners.clear()

    async def _reconcile(self) -> None:
        wanted = {f for svc in self.services.cache.list() for f in frontends(svc, self.cluster_ips)
                  if self.backends_of(f)}
        for front in [f for f in self._listeners if f not in wanted]:
            self._listeners.pop(front).close()
            self._turns.pop(front, None)
        self._failed &= wanted
        hosts = {f.host for f in wanted if f.host != "127.0.0.1"}
        for front in sorted(wanted - set(self._listeners) - self._failed, key=lambda f: (f.host, f.port)):
            if front.host != "127.0.0.1" and not self.addresses.add(front.host):
                self._failed.add(front)
                continue
            try:
                self._listeners[front] = await asyncio.start_server(
                    lambda r, w, f=front: self._forward(f, r, w), front.host, front.port, reuse_address=True)
            except OSError as exc:
                log.warning("service proxy: cannot listen on %s:%d for %s: %s", front.host, front.port,
                            front.service, exc)
                self._failed.add(front)
        for ip in sorted(self.addresses.owned - hosts - self.addresses.reserved):
            self.addresses.remove(ip)

    async def _forward(self, front: Frontend, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        targets = self.backends_of(front)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        turn = next(self._turns.setdefault(front, itertools.count()))
        for i in range(len(targets)):  # round robin; an endpoint that refuses is skipped
            host, port = targets[(turn + i) % len(targets)]
            try:
                upstream = await asyncio.open_connection(host, port)
                break
            except OSError:
                continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)
        finally:
            writer.close()
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(COPY_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass
