"""A command run inside a running container for `kubectl exec`: its process, pty and streams.

A pod with a sandbox is entered through its fork server (the `start` the runtime passes, as
for container starts); a pod on the host runs the command beside the container. `ExecProcess` runs the command with the container's environment and
working directory, its output read as (stream, bytes) chunks: with a tty on a pty of its own
(the command's controlling terminal, so shells and ^C work), else on pipes, stdin from a pipe
only when the client sends stdin.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import termios
from typing import Any

from tinykube.kubelet import procutil, spawn

STDOUT, STDERR = "stdout", "stderr"
READ_CHUNK = 32 * 1024


class ExecError(Exception):
    """The command did not start; the message is what the CRI reports for it."""


def exec_failure(container_id: str, argv: list[str], exc: OSError) -> str:
    """The error containerd/runc give for a command that cannot start."""
    exec_id = container_id.split("://", 1)[-1][:12] or "exec"
    return (f'failed to exec in container: failed to start exec "{exec_id}": OCI runtime exec failed: exec failed: '
            f"unable to start container process: {procutil.start_error(argv, exc)}: unknown")


class ExecProcess:
    """One exec'd command; `read()` returns output chunks until both streams end (None)."""

    def __init__(self) -> None:
        self.process: spawn.ChildProcess | None = None
        self.master: int | None = None  # the pty's master end (tty sessions)
        self._chunks: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        self._open_streams = 0
        self._pumps: list[asyncio.Task[None]] = []

    @classmethod
    async def start(cls, argv: list[str], env: dict[str, str], cwd: str, *, tty: bool, stdin: bool,
                    container_id: str = "", start: procutil.Start = procutil.host_start) -> "ExecProcess":
        """Start `argv` as `start` starts a container's processes (beside it, or in its sandbox)."""
        self = cls()
        try:
            if tty:
                await self._start_tty(start, argv, env, cwd)
            else:
                await self._start_pipes(start, argv, env, cwd, stdin)
        except OSError as exc:
            await self.close()
            raise ExecError(exec_failure(container_id, argv, exc)) from None
        return self

    async def _start_pipes(self, start: procutil.Start, argv: list[str], env: dict[str, str], cwd: str,
                           stdin: bool) -> None:
        self.process = await start(argv, env, cwd, stdin=spawn.PIPE if stdin else spawn.DEVNULL,
                                   stdout=spawn.PIPE, stderr=spawn.PIPE)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._open_streams = 2
        self._pumps = [asyncio.create_task(self._pump(self.process.stdout, STDOUT)),
                       asyncio.create_task(self._pump(self.process.stderr, STDERR))]

    async def _start_tty(self, start: procutil.Start, argv: list[str], env: dict[str, str], cwd: str) -> None:
        master, slave = pty.openpty()
        try:
            self.process = await start(argv, {"TERM": "xterm", **env}, cwd, stdin=slave, stdout=slave, stderr=slave,
                                       tty=True)
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        os.set_blocking(master, False)
        self._open_streams = 1
        asyncio.get_running_loop().add_reader(master, self._read_master)

    def _read_master(self) -> None:
        assert self.master is not None
        try:
            data = os.read(self.master, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:  # EIO: every holder of the pty's slave end has closed it
            data = b""
        if data:
            self._chunks.put_nowait((STDOUT, data))
            return
        asyncio.get_running_loop().remove_reader(self.master)
        self._stream_ended()

    async def _pump(self, reader: asyncio.StreamReader, stream: str) -> None:
        while chunk := await reader.read(READ_CHUNK):
            await self._chunks.put((stream, chunk))
        self._stream_ended()

    def _stream_ended(self) -> None:
        self._open_streams -= 1
        if self._open_streams == 0:
            self._chunks.put_nowait(None)

    async def read(self) -> tuple[str, bytes] | None:
        return await self._chunks.get()

    async def write(self, data: bytes) -> None:
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, data)
            return
        pipe = self.process.stdin if self.process is not None else None
        if pipe is None or pipe.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            pipe.write(data)
            await pipe.drain()

    def close_stdin(self) -> None:
        """The client's stdin ended: EOF for a pipe, ^D for a terminal."""
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, b"\x04")
            return
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()

    def resize(self, width: int, height: int) -> None:
        if self.master is not None and width > 0 and height > 0:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        assert self.process is not None
        return procutil.exit_code_of(await self.process.wait())

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            procutil.signal_group(self.process.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill what still runs and release the pty."""
        self.kill()
        for task in self._pumps:
            task.cancel()
        if self.master is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.master)
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = None
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                await self.process.wait()


async def start_in_container(container: Any, argv: list[str], *, tty: bool, stdin: bool,
                             start: procutil.Start = procutil.host_start) -> ExecProcess:
    """Run `argv` in a container, with its env and cwd (`start`: in its sandbox)."""
    return await ExecProcess.start(argv, dict(container.env), container.cwd, tty=tty, stdin=stdin,
                                   container_id=container.container_id, start=start)
