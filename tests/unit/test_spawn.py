"""Child processes started without forking the server (kubelet/spawn.py), on both event loops."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import uvloop

from tinykube.kubelet import spawn

LOOPS = [pytest.param(asyncio.run, id="asyncio"), pytest.param(uvloop.run, id="uvloop")]


@pytest.mark.parametrize("run", LOOPS)
@pytest.mark.parametrize("script, code", [("exit 0", 0), ("exit 3", 3), ("kill -TERM $$", -signal.SIGTERM),
                                          ("kill -KILL $$", -signal.SIGKILL)])
def test_exit_status_as_asyncio_reports_it(run, script, code):
    async def main():
        child = await spawn.create_subprocess_exec("sh", "-c", script, stdin=spawn.DEVNULL)
        assert child.returncode is None or child.returncode == code
        return await child.wait(), child.returncode

    assert run(main()) == (code, code)


@pytest.mark.parametrize("run", LOOPS)
def test_pipes_carry_stdin_stdout_and_stderr(run):
    async def main():
        child = await spawn.create_subprocess_exec("sh", "-c", "tr a-z A-Z; echo oops >&2",
                                                   stdin=spawn.PIPE, stdout=spawn.PIPE, stderr=spawn.PIPE)
        return await child.communicate(b"hello\n"), child.returncode

    assert run(main()) == ((b"HELLO\n", b"oops\n"), 0)


@pytest.mark.parametrize("run", LOOPS)
def test_stderr_into_stdout_and_a_new_session(run):
    async def main():
        child = await spawn.create_subprocess_exec("sh", "-c", "echo a; echo b >&2; ps -o sid= -p $$",
                                                   stdout=spawn.PIPE, stderr=spawn.STDOUT, start_new_session=True)
        out, err = await child.communicate()
        return child.pid, out, err

    pid, out, err = run(main())
    lines = out.decode().split()
    assert lines[:2] == ["a", "b"] and int(lines[2]) == pid and err is None


@pytest.mark.parametrize("run", LOOPS)
def test_signals_reach_the_child_and_readline_works(run):
    async def main():
        child = await spawn.create_subprocess_exec("sh", "-c", "echo ready; exec sleep 30", stdout=spawn.PIPE)
        assert await child.stdout.readline() == b"ready\n"
        child.terminate()
        code = await child.wait()
        child.kill()  # after the exit: a no-op, not an error
        return code

    assert run(main()) == -signal.SIGTERM


@pytest.mark.parametrize("run", LOOPS)
def test_a_missing_program_raises_as_asyncio_does(run):
    async def main():
        await spawn.create_subprocess_exec("/nonexistent/program")

    with pytest.raises(FileNotFoundError):
        run(main())


def test_many_children_at_once_are_all_reaped():
    async def main():
        children = [await spawn.create_subprocess_exec("sh", "-c", f"exit {i % 7}") for i in range(60)]
        return [await c.wait() for c in children], [c.pid for c in children]

    codes, pids = uvloop.run(main())
    assert codes == [i % 7 for i in range(60)]
    for pid in pids:  # each one reaped already: no zombies left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
