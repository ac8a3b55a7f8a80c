"""The kubelet's side of `kubectl exec` and `attach`: a session's streams over a message socket.

The API server accepts the WebSocket and hands it here with the process the runtime started
(`Runtime.exec_stream`). Client messages feed stdin, resize the terminal and (v5) half-close
stdin; output goes out on the stdout/stderr channels; when both have ended the exit code goes
out as the error channel's Status and the socket closes. A client that goes away kills the
command, as the kubelet's streaming server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from tinykube.kubelet import channels

log = logging.getLogger(__name__)


class MessageSocket(Protocol):
    async def receive(self) -> bytes | None:
        """The next binary message; None once the peer has closed."""

    async def send(self, data: bytes) -> None: ...


class Session(Protocol):
    """What runs at the pod's end: an exec'd process (`execproc`) or an attachment (`attach`)."""

    async def read(self) -> tuple[str, bytes] | None:
        """The next ("stdout" | "stderr", bytes); None once the output has ended."""

    async def write(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int:
        """The exit code."""

    def kill(self) -> None: ...

    async def close(self) -> None: ...


async def _feed_input(sock: MessageSocket, proc: Session) -> None:
    while (message := await sock.receive()) is not None:
        channel, payload = channels.decode(message)
        if channel == channels.STDIN:
            await proc.write(payload)
        elif channel == channels.RESIZE:
            size = channels.parse_resize(payload)
            if size is not None:
                proc.resize(*size)
        elif channel == channels.CLOSE and channels.close_target(payload) == channels.STDIN:
            proc.close_stdin()
    proc.kill()  # the client went away


async def serve_exec(sock: MessageSocket, proc: Session, argv: list[str], *, stdout: bool = True,
                     stderr: bool = True) -> int | None:
    """Pump one exec session to its end; the command's exit code (None if the client left first)."""
    wanted = {"stdout": stdout, "stderr": stderr}
    feeder = asyncio.create_task(_feed_input(sock, proc))
    try:
        while (chunk := await proc.read()) is not None:
            stream, data = chunk
            if wanted[stream]:
                await sock.send(channels.encode(channels.STREAM_CHANNELS[stream], data))
        code = await proc.wait()
        if feeder.done() and feeder.exception() is None:
            return None
        await sock.send(channels.status_message(channels.exit_status(code, argv)))
        return code
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeder
        await proc.close()
