"""A port-forward session over an in-memory socket: stream pairing, pings, dial errors, FINs."""

from __future__ import annotations

import asyncio

from tinykube.kubelet import spdy
from tinykube.kubelet.portforward import PortForwardSession

POD = {"metadata": {"name": "web", "namespace": "ns", "uid": "u-1"}, "status": {"podIP": "127.1.0.9"}}


class Socket:
    """The client's end: frames it sends in, bytes the session sends out."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.reader = spdy.FrameReader()
        self.received: list[spdy.Frame] = []

    async def receive(self) -> bytes | None:
        return await self.inbox.get()

    async def send(self, data: bytes) -> None:
        self.received += self.reader.feed(data)


def pair_frames(writer: spdy.FrameWriter, request: str, port: str, first: int) -> bytes:
    return (writer.syn_stream(first, {"streamType": ["error"], "port": [port], "requestID": [request]})
            + writer.syn_stream(first + 2, {"streamType": ["data"], "port": [port], "requestID": [request]}))


async def run_session(frames: bytes, dial, settle) -> Socket:
    sock = Socket()
    session = PortForwardSession(sock, POD, dial)
    task = asyncio.create_task(session.run())
    await sock.inbox.put(frames)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if settle(sock):
            break
    await sock.inbox.put(None)
    await task
    return sock


def data_of(sock: Socket, stream_id: int) -> tuple[bytes, bool]:
    frames = [f for f in sock.received if isinstance(f, spdy.DataFrame) and f.stream_id == stream_id]
    return b"".join(f.data for f in frames), any(f.fin for f in frames)


def test_a_refused_dial_is_reported_on_the_error_stream_and_both_streams_end() -> None:
    async def refuse(host: str, port: int):
        raise ConnectionRefusedError(111, "Connection refused")

    writer = spdy.FrameWriter()
    sock = asyncio.run(run_session(pair_frames(writer, "0", "81", 1) + writer.ping(5), refuse,
                                   lambda s: data_of(s, 1)[1] and data_of(s, 3)[1]))
    replies = [f.stream_id for f in sock.received if isinstance(f, spdy.ControlFrame) and f.type == spdy.SYN_REPLY]
    assert replies == [1, 3]
    assert any(isinstance(f, spdy.ControlFrame) and f.type == spdy.PING and f.ping_id == 5 for f in sock.received)
    message, fin = data_of(sock, 1)
    assert message.decode() == ("error forwarding port 81 to pod web_ns, uid u-1: "
                                "dial tcp 127.1.0.9:81: connect: connection refused")
    assert fin and data_of(sock, 3) == (b"", True)


def test_bytes_flow_both_ways_and_half_closes_pass_through() -> None:
    dialed: list[tuple[str, int]] = []

    async def echo_server() -> tuple[asyncio.AbstractServer, int]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.read()  # until the forwarded FIN
            writer.write(data.upper())
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        return server, server.sockets[0].getsockname()[1]

    async def scenario() -> Socket:
        server, port = await echo_server()

        async def dial(host: str, wanted: int):
            dialed.append((host, wanted))
            return await asyncio.open_connection("127.0.0.1", port)

        writer = spdy.FrameWriter()
        frames = pair_frames(writer, "7", "80", 1) + writer.data(3, b"hello ") + writer.data(3, b"pod", fin=True)
        try:
            return await run_session(frames, dial, lambda s: data_of(s, 3)[1] and data_of(s, 1)[1])
        finally:
            server.close()

    sock = asyncio.run(scenario())
    assert dialed == [("127.1.0.9", 80)]
    assert data_of(sock, 3) == (b"HELLO POD", True)
    assert data_of(sock, 1) == (b"", True)  # no error: the error stream just ends
