"""The cluster DNS server inside `tinykube server` (what CoreDNS is on a real cluster): UDP and
TCP on a loopback port, and as root also on kube-dns's ClusterIP port 53. Names in the cluster
zone are answered from the shared informers (`records.answer`); other names are forwarded to
the host's resolver, or REFUSED when there is none."""

from __future__ import annotations

import asyncio
import logging
import struct
from pathlib import Path
from typing import Any

from dnslib import CNAME, QTYPE, RCODE, RR, SRV, A, DNSRecord

from tinykube.client.api import resource
from tinykube.client.informer import InformerFactory
from tinykube.dns.records import NXDOMAIN, Answer, ClusterView, Record, answer, in_zone

log = logging.getLogger(__name__)

SERVICES = resource("v1", "services")
ENDPOINT_SLICES = resource("discovery.k8s.io/v1", "endpointslices")
TTL = 5  # CoreDNS kubernetes plugin default
FORWARD_TIMEOUT = 2.0
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def by_service_name(eps: dict[str, Any]) -> list[str]:
    name = (eps["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{eps['metadata'].get('namespace', '')}/{name}"] if name else []


def host_nameservers(path: Path = Path("/etc/resolv.conf"), exclude: tuple[str, ...] = ()) -> list[str]:
    """The host's upstream resolvers, for names outside the cluster zone."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    found = [parts[1] for parts in (line.split() for line in lines) if len(parts) >= 2 and parts[0] == "nameserver"]
    return [ns for ns in found if ns not in exclude]


def to_rr(record: Record) -> RR:
    if record.rtype == "A":
        rdata: Any = A(record.value)
    elif record.rtype == "CNAME":
        rdata = CNAME(record.value)
    else:
        priority, weight, port, target = record.value.split()
        rdata = SRV(int(priority), int(weight), int(port), target)
    return RR(record.name, getattr(QTYPE, record.rtype), rdata=rdata, ttl=TTL)


class ClusterDNS:
    def __init__(self, informers: InformerFactory, zone: str = "cluster.local",
                 upstreams: list[str] | None = None) -> None:
        self.zone = zone
        self.services = informers.informer(SERVICES)
        self.slices = informers.informer(ENDPOINT_SLICES, {"dns-service": by_service_name})
        self.view = ClusterView(service=lambda ns, name: self.services.cache.get(f"{ns}/{name}"),
                                slices=lambda ns, name: self.slices.cache.by_index("dns-service", f"{ns}/{name}"))
        self.upstreams = upstreams if upstreams is not None else host_nameservers()
        self._transports: list[Any] = []
        self._servers: list[asyncio.AbstractServer] = []

    # ------------------------------------------------------------------ answering

    async def resolve(self, data: bytes) -> bytes | None:
        try:
            request = DNSRecord.parse(data)
        except Exception:
            return None  # not DNS: no answer, as CoreDNS drops garbage
        reply = request.reply()
        if not request.questions:
            reply.header.rcode = RCODE.FORMERR
            return reply.pack()
        question = request.questions[0]
        qname, qtype = str(question.qname), QTYPE.get(question.qtype)
        if in_zone(qname, self.zone):
            if not (self.services.has_synced and self.slices.has_synced):
                reply.header.rcode = RCODE.SERVFAIL
                return reply.pack()
            self._fill(reply, answer(qname, str(qtype), self.view, self.zone))
            return reply.pack()
        forwarded = await self._forward(data)
        if forwarded is not None:
            return forwarded
        reply.header.rcode = RCODE.REFUSED
        return reply.pack()

    def _fill(self, reply: DNSRecord, result: Answer) -> None:
        reply.header.aa = 1
        if result.rcode == NXDOMAIN:
            reply.header.rcode = RCODE.NXDOMAIN
        for record in result.records:
            reply.add_answer(to_rr(record))
        for record in result.additional:
            reply.add_ar(to_rr(record))

    async def _forward(self, data: bytes) -> bytes | None:
        loop = asyncio.get_running_loop()
        for upstream in self.upstreams:
            future: asyncio.Future[bytes] = loop.create_future()

            class Client(asyncio.DatagramProtocol):
                def datagram_received(self, reply: bytes, addr: Any) -> None:
                    if not future.done():
                        future.set_result(reply)

            try:
                transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(upstream, 53))
            except OSError:
                continue
            try:
                transport.sendto(data)
                return await asyncio.wait_for(future, FORWARD_TIMEOUT)
            except (asyncio.TimeoutError, OSError):
                continue
            finally:
                transport.close()
        return None

    # ------------------------------------------------------------------ serving

    async def listen(self, host: str, port: int) -> int:
        """Serve UDP and TCP on host:port (port 0: a free one, the same for both); returns the port."""
        loop = asyncio.get_running_loop()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                async def reply() -> None:
                    out = await server.resolve(data)
                    if out is not None:
                        self.transport.sendto(out, addr)
                asyncio.ensure_future(reply())

        tcp = await asyncio.start_server(self._serve_tcp, host, port, reuse_address=True)
        self._servers.append(tcp)
        bound = tcp.sockets[0].getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=(host, bound))
        self._transports.append(transport)
        return int(bound)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(2)
                data = await reader.readexactly(struct.unpack("!H", header)[0])
                out = await self.resolve(data)
                if out is None:
                    break
                writer.write(struct.pack("!H", len(out)) + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.close()
        self._transports.clear()
        self._servers.clear()
