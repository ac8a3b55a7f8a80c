"""The agent's end of the fork server (`forkserver.py`): it starts pod sandboxes and the
processes that run inside them, and reports their exits.

One fork server per agent, started on first use. A started process is a `spawn.ChildProcess`
like any other (pid, pipes, awaitable exit), except that its exit arrives as the fork server's
message rather than through a pidfd (it is the fork server's child, not ours). Should the fork
server die, every process it started is killed with its process group and reported killed
(SIGKILL, 137: the runtime restarts them as after any kill), and the next start makes a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from tinykube.kubelet import procutil, spawn

log = logging.getLogger(__name__)

FORKSERVER = str(Path(__file__).resolve().parent / "forkserver.py")
ERROR_FD = 3  # where a container's error pipe is in the child (`enter.py` writes start failures there)
RECEIVE_LIMIT = 1 << 16


class Launcher:
    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._server: spawn.ChildProcess | None = None
        self._starting: asyncio.Lock | None = None
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._children: dict[int, spawn.ChildProcess] = {}
        self._early_exits: dict[int, int] = {}  # exits read before the start reply was handled

    async def enter(self, plan: dict[str, Any], target: int, env: dict[str, str], *, stdin: Any, stdout: Any,
                    stderr: Any, tty: bool = False) -> spawn.ChildProcess:
        """Run `plan` (see `plan_arguments`) inside the sandbox or container whose process
        is `target`. A failure to exec there is raised as the OSError a direct spawn raises."""
        read_end, write_end = os.pipe()
        try:
            try:
                child = await self.start("container", plan_arguments(plan, target, ERROR_FD), env=env,
                                         stdin=stdin, stdout=stdout, stderr=stderr, extra_fds=(write_end,),
                                         tty=tty)
            finally:
                os.close(write_end)
        except BaseException:
            os.close(read_end)
            raise
        await procutil.raise_start_report(read_end, child)
        return child

    async def start(self, kind: str, args: list[str], *, env: dict[str, str] | None = None, stdin: Any = None,
                    stdout: Any = None, stderr: Any = None, extra_fds: tuple[int, ...] = (),
                    tty: bool = False) -> spawn.ChildProcess:
        """Have the fork server start a `kind` ("container" or "sandbox") process. stdin, stdout
        and stderr take what `spawn.create_subprocess_exec` takes (None: /dev/null)."""
        ends = _ChildEnds(stdin, stdout, stderr)
        try:
            pid = await self._request({"kind": kind, "args": args, "env": env or {}, "tty": tty},
                                      [*ends.child_fds, *extra_fds])
        except BaseException:
            ends.close_all()
            raise
        ends.close_child_fds()
        child = spawn.ChildProcess(pid, asyncio.get_running_loop())
        early = self._early_exits.pop(pid, None)  # read in the same batch as the reply
        if early is not None:
            child._set_exited(early)
        else:
            self._children[pid] = child  # before any await: its exit may come at any time now
        try:
            await child._connect(*ends.parent_files())
        except BaseException:
            _kill(pid)  # unusable without its pipes
            raise
        return child

    async def _request(self, message: dict[str, Any], fds: list[int]) -> int:
        sock = await self._connected()
        loop = asyncio.get_running_loop()
        ident = next(self._ids)
        reply = self._replies[ident] = loop.create_future()
        data = orjson.dumps({**message, "id": ident})
        while True:
            try:
                socket.send_fds(sock, [data], fds)
                break
            except BlockingIOError:
                await spawn.fd_ready(sock, write=True)
            except OSError as exc:
                self._replies.pop(ident, None)
                raise OSError(exc.errno, f"the fork server is gone: {exc.strerror}") from None
        answer = await reply
        if "error" in answer:
            raise OSError(answer["error"])
        return int(answer["pid"])

    async def _connected(self) -> socket.socket:
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._sock is None:
                ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                try:
                    self._server = await spawn.create_subprocess_exec(
                        sys.executable, "-I", "-S", FORKSERVER, str(theirs.fileno()), pass_fds=(theirs.fileno(),),
                        stdin=subprocess.DEVNULL, start_new_session=True)
                finally:
                    theirs.close()
                ours.setblocking(False)
                asyncio.get_running_loop().add_reader(ours, self._readable)
                self._sock = ours
            return self._sock

    def _readable(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                data = sock.recv(RECEIVE_LIMIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            message = orjson.loads(data)
            if "exit" in message:
                self._exited(int(message["exit"]), os.waitstatus_to_exitcode(int(message["status"])))
            else:
                future = self._replies.pop(int(message["id"]), None)
                if future is not None and not future.done():
                    future.set_result(message)

    def _exited(self, pid: int, code: int) -> None:
        child = self._children.pop(pid, None)
        if child is None:
            self._early_exits[pid] = code
        else:
            child._set_exited(code)

    def _lost(self) -> None:
        """The fork server ended (or its socket broke): what it started is orphaned; end it."""
        log.error("the pod fork server ended; killing the %d process(es) it started", len(self._children))
        self._disconnect()
        for pid, child in self._children.items():
            _kill(pid)
            child._set_exited(-signal.SIGKILL)
        self._children.clear()
        for future in self._replies.values():
            if not future.done():
                future.set_exception(OSError("the pod fork server ended"))
        self._replies.clear()

    def _disconnect(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock)
            self._sock.close()
            self._sock = None

    async def close(self) -> None:
        """End the fork server (after the runtime has stopped what it started)."""
        self._disconnect()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait(), 5)
            self._server.kill()
            self._server = None


def _kill(pid: int) -> None:
    """SIGKILL to a process the fork server started and to its process group (the command it
    started is in it; the process may not have made the group yet, hence both)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    procutil.signal_group(pid, signal.SIGKILL)


def plan_arguments(plan: dict[str, Any], sandbox_pid: int, error_fd: int | None) -> list[str]:
    """`enter.py`'s arguments for a plan, in the order its `parse_plan` reads them (pure)."""
    cgroups = list(plan.get("cgroups") or [])
    mounts = plan.get("mounts") or []
    out = ["-" if error_fd is None else str(error_fd), str(sandbox_pid), "1" if plan.get("join") else "0",
           plan.get("cwd") or "/", str(len(cgroups)), *cgroups, str(len(mounts))]
    for m in mounts:
        out += [m["source"], m["target"], "1" if m.get("readOnly") else "0"]
    return out + list(plan["argv"])


class _ChildEnds:
    """The two ends of a child's stdin, stdout and stderr: pipes made here, /dev/null, or a
    file descriptor (or file) given."""

    def __init__(self, stdin: Any, stdout: Any, stderr: Any) -> None:
        self._opened: list[int] = []  # child-side fds made here (closed once sent)
        self._parent: list[Any] = [None, None, None]
        self.child_fds = [self._child_end(0, stdin), self._child_end(1, stdout)]
        if stderr == subprocess.STDOUT:
            self.child_fds.append(self.child_fds[1])
        else:
            self.child_fds.append(self._child_end(2, stderr))

    def _child_end(self, index: int, spec: Any) -> int:
        if spec is None or spec == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
        elif spec == subprocess.PIPE:
            read_end, write_end = os.pipe()
            fd, ours = (read_end, write_end) if index == 0 else (write_end, read_end)
            self._parent[index] = open(ours, "wb" if index == 0 else "rb", buffering=0)
        else:
            return spec if isinstance(spec, int) else spec.fileno()
        self._opened.append(fd)
        return fd

    def parent_files(self) -> list[Any]:
        return self._parent

    def close_child_fds(self) -> None:
        for fd in self._opened:
            os.close(fd)
        self._opened = []

    def close_all(self) -> None:
        self.close_child_fds()
        for file in self._parent:
            if file is not None:
                file.close()
