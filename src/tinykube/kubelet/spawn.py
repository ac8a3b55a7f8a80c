"""Starting child processes from a big server process, fast, on any event loop.

uvloop starts subprocesses with libuv, which fork()s: the kernel copies the page tables of the
whole server first, so a server holding a few hundred MB spawns only tens of processes a
second (measured: 29/s at 870 MB, against 1,290/s for CPython's vfork-based `subprocess`).
The process runtime starts several processes per pod, so it spawns with `subprocess.Popen`
(vfork: no copy) and hands the pipes to the event loop itself. The child's exit is noticed
through a pidfd the loop watches (no thread per child); where the kernel has no pidfd, a
thread waits instead.

`create_subprocess_exec` takes the arguments of asyncio's and returns a `ChildProcess` with the
parts of `asyncio.subprocess.Process` the runtime uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from typing import Any

PIPE = subprocess.PIPE
STDOUT = subprocess.STDOUT
DEVNULL = subprocess.DEVNULL
STREAM_LIMIT = 2 ** 16  # asyncio's default StreamReader limit


class ChildProcess:
    """A started process: its pid, its pipes as asyncio streams, and an awaitable exit.

    Whoever started it reports the exit (`_set_exited`): a pidfd watch for our own children
    (`_PopenChild`), the fork server's message for processes it forked (`sandbox/launcher.py`)."""

    def __init__(self, pid: int, loop: asyncio.AbstractEventLoop) -> None:
        self._pid = pid
        self._loop = loop
        self._exited: asyncio.Future[int] = loop.create_future()
        self.stdin: asyncio.StreamWriter | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has been reaped (negative: killed by that signal)."""
        return self._exited.result() if self._exited.done() else None

    async def _connect(self, stdin: Any, stdout: Any, stderr: Any) -> None:
        """Our ends of the child's pipes (files, or None) as asyncio streams."""
        if stdout is not None:
            self.stdout = await self._reader(stdout)
        if stderr is not None:
            self.stderr = await self._reader(stderr)
        if stdin is not None:
            transport, protocol = await self._loop.connect_write_pipe(_WriteProtocol, stdin)
            self.stdin = asyncio.StreamWriter(transport, protocol, None, self._loop)

    async def _reader(self, pipe: Any) -> asyncio.StreamReader:
        reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=self._loop)
        await self._loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=self._loop), pipe)
        return reader

    def _set_exited(self, code: int) -> None:
        if not self._exited.done():
            self._exited.set_result(code)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    async def communicate(self, input: bytes | None = None) -> tuple[bytes | None, bytes | None]:
        """Write `input` (then close stdin), read stdout and stderr to their ends, wait for the exit."""
        if self.stdin is not None:
            if input:
                self.stdin.write(input)
                with contextlib.suppress(ConnectionError):
                    await self.stdin.drain()
            self.stdin.close()
        out, err = await asyncio.gather(_read_to_end(self.stdout), _read_to_end(self.stderr))
        await self.wait()
        return out, err

    def send_signal(self, sig: int) -> None:
        if self._exited.done():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _PopenChild(ChildProcess):
    """A child of this process, started by `subprocess.Popen`; its exit seen through a pidfd."""

    def __init__(self, popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(popen.pid, loop)
        self._popen = popen

    def _watch_exit(self) -> None:
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfd here: a thread waits for this child
            waiting = self._loop.run_in_executor(None, self._popen.wait)
            waiting.add_done_callback(lambda f: self._set_exited(f.result()))
            return

        def on_exit() -> None:
            code = self._popen.poll()
            if code is not None:
                self._loop.remove_reader(pidfd)
                os.close(pidfd)
                self._set_exited(code)

        self._loop.add_reader(pidfd, on_exit)
        on_exit()  # it may have exited already


async def fd_ready(fd: Any, *, write: bool = False) -> None:
    """Wait until `fd` (a file descriptor or socket) can be read, or written, without blocking."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)
    add(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        remove(fd)


class _WriteProtocol(asyncio.streams.FlowControlMixin, asyncio.Protocol):
    """What a StreamWriter over a pipe needs from its protocol (drain, close)."""

    def __init__(self) -> None:
        super().__init__()
        self._closed_future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self._closed_future.done():
            self._closed_future.set_result(None)

    def _get_close_waiter(self, stream: Any) -> asyncio.Future[None]:
        return self._closed_future


async def _read_to_end(reader: asyncio.StreamReader | None) -> bytes | None:
    return None if reader is None else await reader.read()


async def create_subprocess_exec(program: str, *args: str, stdin: Any = None, stdout: Any = None,
                                 stderr: Any = None, **kwargs: Any) -> ChildProcess:
    """Start `program` as asyncio's function of that name would, without forking the server.

    stdin/stdout/stderr take PIPE, DEVNULL, STDOUT (stderr only), a file descriptor or a file;
    the other keyword arguments (env, cwd, start_new_session, pass_fds, preexec_fn) are Popen's.
    OSError when the program cannot be started, as from asyncio."""
    loop = asyncio.get_running_loop()
    popen = subprocess.Popen([program, *args], stdin=stdin, stdout=stdout, stderr=stderr, bufsize=0, **kwargs)
    child = _PopenChild(popen, loop)
    try:
        await child._connect(popen.stdin, popen.stdout, popen.stderr)
        child._watch_exit()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            popen.kill()
        raise
    return child
