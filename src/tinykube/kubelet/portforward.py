"""The kubelet's side of `kubectl port-forward`: SPDY streams over the tunnel, TCP to the pod.

For every local connection kubectl opens two SPDY streams with the same `requestID`: an error
stream and a data stream, each naming the pod `port`. Once both exist the kubelet dials the
pod's IP and port and copies bytes both ways, half-closing each side as the other ends; a dial
error goes back on the error stream as "error forwarding port N to pod ..., uid ...: dial tcp
...", which kubectl prints. When forwarding ends both streams are closed (FIN). Pings are
answered; every stream is acknowledged with SYN_REPLY, which kubectl waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from tinykube.kubelet import spdy
from tinykube.kubelet.probes import dial_error
from tinykube.kubelet.streaming import MessageSocket

log = logging.getLogger(__name__)

Obj = dict[str, Any]
DIAL_TIMEOUT = 5.0  # wall seconds
READ_CHUNK = 32 * 1024
Dial = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def dial_tcp(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(host, port), DIAL_TIMEOUT)


@dataclass
class Stream:
    id: int
    headers: spdy.Headers
    incoming: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)  # None: the peer's FIN
    reset: bool = False

    def header(self, name: str) -> str:
        return (self.headers.get(name) or [""])[0]


@dataclass
class Pair:
    error: Stream | None = None
    data: Stream | None = None


class PortForwardSession:
    def __init__(self, sock: MessageSocket, pod: Obj, dial: Dial = dial_tcp) -> None:
        self.sock = sock
        self.pod = pod
        self.dial = dial
        self.writer = spdy.FrameWriter()
        self.reader = spdy.FrameReader()
        self.streams: dict[int, Stream] = {}
        self.pairs: dict[str, Pair] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self._send_lock = asyncio.Lock()

    async def _send(self, build: Callable[[spdy.FrameWriter], bytes]) -> None:
        """Frames are built and sent under one lock: header compression state follows send order."""
        async with self._send_lock:
            await self.sock.send(build(self.writer))

    async def run(self) -> None:
        try:
            while (message := await self.sock.receive()) is not None:
                for frame in self.reader.feed(message):
                    if await self._handle(frame) is False:
                        return
        except spdy.ProtocolError as exc:
            log.warning("port-forward to %s: %s", self.pod["metadata"].get("name"), exc)
        finally:
            for task in list(self.tasks):
                task.cancel()
            for task in list(self.tasks):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _handle(self, frame: spdy.Frame) -> bool:
        if isinstance(frame, spdy.DataFrame):
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                if frame.data:
                    stream.incoming.put_nowait(frame.data)
                if frame.fin:
                    stream.incoming.put_nowait(None)
            return True
        if frame.type == spdy.SYN_STREAM:
            await self._open(frame)
        elif frame.type == spdy.RST_STREAM:
            stream = self.streams.pop(frame.stream_id, None)
            if stream is not None:
                stream.reset = True
                stream.incoming.put_nowait(None)
        elif frame.type == spdy.PING:
            await self._send(lambda w: w.ping(frame.ping_id))
        elif frame.type == spdy.GOAWAY:
            return False
        return True

    async def _open(self, frame: spdy.ControlFrame) -> None:
        stream = Stream(frame.stream_id, frame.headers)
        self.streams[stream.id] = stream
        await self._send(lambda w: w.syn_reply(stream.id))
        if frame.fin:
            stream.incoming.put_nowait(None)
        request = stream.header("requestid") or str(stream.id)
        kind = stream.header("streamtype")
        if kind not in ("error", "data"):
            await self._send(lambda w: w.rst_stream(stream.id, spdy.RST_PROTOCOL_ERROR))
            return
        pair = self.pairs.setdefault(request, Pair())
        setattr(pair, kind, stream)
        if pair.error is not None and pair.data is not None:
            del self.pairs[request]
            task = asyncio.create_task(self._forward(pair.error, pair.data))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _forward(self, error: Stream, data: Stream) -> None:
        port_text = data.header("port")
        host = (self.pod.get("status") or {}).get("podIP") or ""
        try:
            try:
                port = int(port_text)
                reader, writer = await self.dial(host, port)
            except ValueError:
                raise ConnectionError(f'invalid port "{port_text}"') from None
            except (OSError, asyncio.TimeoutError) as exc:
                raise ConnectionError(dial_error(exc, f"{host}:{port_text}")) from None
            await self._copy(data, reader, writer)
        except ConnectionError as exc:
            meta = self.pod["metadata"]
            message = (f"error forwarding port {port_text} to pod {meta.get('name')}_{meta.get('namespace')}, "
                       f"uid {meta.get('uid', '')}: {exc}")
            with contextlib.suppress(Exception):
                await self._send(lambda w: w.data(error.id, message.encode()))
        finally:
            with contextlib.suppress(Exception):
                if not data.reset:
                    await self._send(lambda w: w.data(data.id, fin=True))
                if not error.reset:
                    await self._send(lambda w: w.data(error.id, fin=True))

    async def _copy(self, data: Stream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def to_pod() -> None:
            while (chunk := await data.incoming.get()) is not None:
                writer.write(chunk)
                await writer.drain()
            if data.reset:
                writer.close()  # kubectl gave up on the connection: so does the pod's side
            elif writer.can_write_eof():
                writer.write_eof()

        async def from_pod() -> None:
            while chunk := await reader.read(READ_CHUNK):
                await self._send(lambda w: w.data(data.id, chunk))

        upstream = asyncio.create_task(to_pod())
        try:
            await from_pod()
            await asyncio.wait([upstream], timeout=1.0)  # let the client's FIN arrive, then stop
        except (OSError, ConnectionError):
            pass
        finally:
            upstream.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await upstream
            writer.close()


async def serve_port_forward(sock: MessageSocket, pod: Obj) -> None:
    await PortForwardSession(sock, pod).run()
