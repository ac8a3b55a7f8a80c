"""Process plumbing for the process runtime: spawning, log pumps, signals, pid files, exec.

Each container runs in its own session (so its own process group); stopping a container
signals the whole group, and once its main process has exited the rest of the group is killed,
so nothing a container started outlives it. Pid files (`<pid> <start time>`) let a restarted
agent find and kill what an agent that died without cleaning up left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import signal
import termios
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol, TypeVar

import psutil

from tinykube.kubelet import logfiles
from tinykube.kubelet import spawn as children  # procutil.spawn is the container start

log = logging.getLogger(__name__)

T = TypeVar("T")
READ_CHUNK = 64 * 1024


def exit_code_of(returncode: int) -> int:
    """A process's exit status as container runtimes report it: 128 + N when killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


async def within(clock: Any, seconds: float, awaitable: Awaitable[T]) -> tuple[bool, T | None]:
    """Await `awaitable` for at most `seconds` of cluster time: (finished, result)."""
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if task.done():
        return True, task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False, None


def signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class Start(Protocol):
    """How a process of a container starts: on the host (`host_start`) or inside the pod's
    sandbox (`sandbox/launcher.py`). Raises the OSError of a command that cannot be exec'd.
    stdin/stdout/stderr take `spawn.create_subprocess_exec`'s values; with `tty`, the three
    are one pty's slave end, which becomes the process's controlling terminal."""

    async def __call__(self, argv: list[str], env: dict[str, str], cwd: str, *, stdin: Any, stdout: Any,
                       stderr: Any, tty: bool = False) -> children.ChildProcess: ...


async def host_start(argv: list[str], env: dict[str, str], cwd: str, *, stdin: Any, stdout: Any, stderr: Any,
                     tty: bool = False) -> children.ChildProcess:
    """Start a process beside the agent, in a session of its own."""
    return await children.create_subprocess_exec(
        *argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env, cwd=cwd, start_new_session=not tty,
        preexec_fn=_controlling_tty(os.ttyname(stdin)) if tty else None)


def _controlling_tty(slave_name: str) -> Callable[[], None]:
    """A preexec function: a session of its own whose controlling terminal is the pty (opened by
    name, so it works whatever the event loop has done to the child's fds by then)."""
    def take_terminal() -> None:
        with contextlib.suppress(OSError):
            os.setsid()
        fd = os.open(slave_name, os.O_RDWR)
        with contextlib.suppress(OSError):
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
        if fd > 2:
            os.close(fd)
    return take_terminal


async def spawn(argv: list[str], env: dict[str, str], cwd: str, start: Start = host_start) -> children.ChildProcess:
    """Start a container's main process, stdin from /dev/null, output piped."""
    return await start(argv, env, cwd, stdin=children.DEVNULL, stdout=children.PIPE, stderr=children.PIPE)


async def raise_start_report(read_end: int, process: children.ChildProcess) -> None:
    """Read (and close) the error pipe of a process started by `sandbox/enter.py`'s code: empty
    when the command was exec'd, else the OSError a direct spawn would have raised."""
    try:
        report = await _read_all(read_end)
    finally:
        os.close(read_end)
    if report:
        await process.wait()
        head, _, text = report.decode(errors="replace").partition("\n")
        errno_text, _, filename = head.partition(" ")
        raise OSError(int(errno_text or 1), text, filename or None)


async def _read_all(fd: int) -> bytes:
    """Read a pipe to its end on the event loop (no thread per waiting container start)."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            await children.fd_ready(fd)
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


async def pump(reader: asyncio.StreamReader, stream: str, out: Any, now: Callable[[], float]) -> None:
    """Copy one output stream into the CRI log file, line by line with timestamps."""
    rest = b""
    while True:
        chunk = await reader.read(READ_CHUNK)
        stamp = logfiles.rfc3339_nano(now())
        if not chunk:
            out.write(logfiles.flush_partial(rest, stream, stamp))
            out.flush()
            return
        lines, rest = logfiles.format_lines(rest + chunk, stream, stamp)
        if lines:
            out.write(lines)
            out.flush()


async def run_exec(clock: Any, argv: list[str], env: dict[str, str], cwd: str, timeout: float,
                   start: Start = host_start) -> tuple[int | None, str]:
    """Run a probe or hook command beside the container (or inside its sandbox, as `start`
    starts it): (exit code or None on timeout, output)."""
    try:
        proc = await start(argv, env, cwd, stdin=children.DEVNULL, stdout=children.PIPE, stderr=children.STDOUT)
    except OSError as exc:
        return 126 if not isinstance(exc, FileNotFoundError) else 127, start_error(argv, exc)
    done, result = await within(clock, timeout, proc.communicate())
    signal_group(proc.pid, signal.SIGKILL)
    if not done:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None, f"command {' '.join(argv)!r} timed out"
    output = (result[0] if result else b"") or b""
    return exit_code_of(proc.returncode or 0), output.decode(errors="replace")


def start_error(argv: list[str], exc: OSError) -> str:
    """Why a process could not start, worded as runc words it."""
    name = argv[0] if argv else ""
    if isinstance(exc, FileNotFoundError) and "/" not in name:
        return f'exec: "{name}": executable file not found in $PATH'
    if isinstance(exc, FileNotFoundError) and exc.filename and exc.filename != name:
        return f"chdir to cwd (\"{exc.filename}\") set in config.json failed: no such file or directory"
    return f'exec: "{name}": {exc.strerror or exc}'


# ---------------------------------------------------------------------------------------------
# pid files


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@functools.lru_cache(maxsize=1)
def _boot_time() -> float:
    return psutil.boot_time()


def start_time(pid: int) -> float | None:
    """When process `pid` started, as psutil's create_time() says (seconds since the epoch); None
    when it is gone. Read from /proc/<pid>/stat where there is one: psutil builds a Process object
    for it first, which costs a pod start several times as much."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()  # after the command name, which may hold spaces
        return int(fields[19]) / CLOCK_TICKS + _boot_time()  # field 22 of proc(5): starttime in ticks
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError):
        try:
            return psutil.Process(pid).create_time()
        except psutil.Error:
            return None


def write_pid_file(path: Path, pid: int) -> None:
    started = start_time(pid)
    if started is not None:
        path.write_text(f"{pid} {started!r}\n")


def kill_stale(root: Path) -> int:
    """Kill the process groups recorded in pid files under `root` that still run; remove the files."""
    killed = 0
    for path in root.glob("*/*/pid"):
        try:
            pid_text, started_text = path.read_text().split()
            proc = psutil.Process(int(pid_text))
            if abs(proc.create_time() - float(started_text)) < 0.01:
                signal_group(proc.pid, signal.SIGKILL)
                with contextlib.suppress(psutil.Error):
                    proc.kill()
                killed += 1
        except (ValueError, OSError, psutil.Error):
            pass
        with contextlib.suppress(OSError):
            path.unlink()
    if killed:
        log.warning("killed %d container process(es) left by an earlier run of the node agent", killed)
    return killed
