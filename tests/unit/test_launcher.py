"""The agent's end of the pod fork server (kubelet/sandbox/launcher.py) with a real fork server.

The commands join this test's own namespaces (a plan with "join"), which takes root, as pod
sandboxes do."""

from __future__ import annotations

import asyncio
import errno
import os

import psutil
import pytest

from tinykube.kubelet import spawn
from tinykube.kubelet.sandbox.launcher import Launcher

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="entering namespaces takes root")


def plan(*argv: str) -> dict:
    return {"argv": list(argv), "cwd": "/", "join": True}


async def enter(launcher: Launcher, *argv: str) -> spawn.ChildProcess:
    return await launcher.enter(plan(*argv), os.getpid(), {"PATH": os.defpath}, stdin=spawn.DEVNULL,
                                stdout=spawn.PIPE, stderr=spawn.STDOUT)


def test_a_process_started_through_the_fork_server_reports_its_output_and_exit():
    async def main():
        launcher = Launcher()
        try:
            child = await enter(launcher, "sh", "-c", "echo hello; exit 3")
            return await child.communicate(), child.returncode
        finally:
            await launcher.close()

    assert asyncio.run(main()) == ((b"hello\n", None), 3)


def test_a_command_that_cannot_start_raises_as_a_direct_spawn_does():
    async def main():
        launcher = Launcher()
        try:
            with pytest.raises(OSError) as caught:
                await enter(launcher, "no-such-command-here")
            return caught.value.errno
        finally:
            await launcher.close()

    assert asyncio.run(main()) == errno.ENOENT


def test_a_start_that_fails_after_the_fork_kills_the_process_and_keeps_no_stale_exit(monkeypatch):
    """Our end of its pipes cannot be connected: the process is killed, and its exit is taken
    when it comes (left over, it would mark a later process with the same pid as exited)."""
    async def refuse(self, *files):
        raise OSError(errno.EMFILE, "no more files")

    async def main():
        launcher = Launcher()
        try:
            await (await enter(launcher, "true")).wait()  # the fork server runs (its own start is not refused)
            monkeypatch.setattr(spawn.ChildProcess, "_connect", refuse)
            with pytest.raises(OSError):
                await enter(launcher, "sleep", "31.5")
            monkeypatch.undo()
            for _ in range(100):
                if not launcher._children and not sleepers():
                    break
                await asyncio.sleep(0.05)
            return sleepers(), dict(launcher._children), dict(launcher._early_exits)
        finally:
            await launcher.close()

    assert asyncio.run(main()) == ([], {}, {})


def sleepers() -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline", "status"])
            if p.info["cmdline"] == ["sleep", "31.5"] and p.info["status"] != psutil.STATUS_ZOMBIE]
