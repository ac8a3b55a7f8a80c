"""The node agent's fork server: starts pod sandboxes and sandboxed containers by forking.

A Python interpreter takes about 12 ms of CPU to start, and a sandboxed pod needed two (its
PID 1, and the helper that enters the sandbox for each container and exec probe): most of
what a sandboxed pod cost to start. This process starts once per agent and forks itself for
each request instead (well under a millisecond for a process this small); the forked child
runs `pause.py`'s or `enter.py`'s code where an interpreter used to run the script. Each child
is born in the PID namespace it belongs to (a new one for a sandbox, the sandbox's for a
container), so a pod costs one fork for its sandbox and one per container, and each is the
fork server's own child: the exit it reports is the container's.

Run as `python -I -S forkserver.py FD` (stdlib only), FD a SOCK_SEQPACKET socket to the agent
(`launcher.py`). A request is one JSON message with file descriptors attached:
  {"id": n, "kind": "container" | "sandbox", "args": [...], "env": {...}, "tty": bool}
  fds: the child's stdin, stdout and stderr, then for a container its error pipe (fd 3 there).
The reply is {"id": n, "pid": pid} or {"id": n, "error": message}; when a started process
exits, {"exit": pid, "status": its wait status}. The agent closing the socket ends the server;
what it started runs on (the agent kills leftovers by their pid files when it starts again).
"""

import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys
import termios
import traceback
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's own directory out
import enter  # noqa: E402
import pause  # noqa: E402

OWN_PID_NAMESPACE = os.open("/proc/self/ns/pid", os.O_RDONLY)  # children close it (closerange)
MAX_MESSAGE = 1 << 20
MAX_FDS = 8
HIGH_FD = 100  # received fds are moved above the 0-3 they are dup'ed onto
FD_LIMIT = 1 << 20


def child_main(request: dict, fds: list) -> int:
    """In the forked child: the request's fds as 0, 1, 2 (and 3), a session of its own, then
    the container's or the sandbox's code. Returns the exit code."""
    gc.disable()  # a collection would write to (and so copy) pages shared with the fork server
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, HIGH_FD) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(high), FD_LIMIT)  # the socket, the selector, the received fds (close_range: cheap)
    os.setsid()
    if request.get("tty"):
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    if request["kind"] == "sandbox":
        return run_sandbox(request["args"])
    return enter.run(request["args"], request.get("env") or {})


def run_sandbox(args: list) -> int:
    """As PID 1 of the pod's new PID namespace: `args` are the pod's host-side veth name and the
    bridge, then `pause.main`'s arguments."""
    try:
        pause.make_namespaces(args[0], args[1])
        pause.become_init()
    except OSError as exc:
        sys.stderr.write(f"pod namespaces: {exc.strerror or exc}\n")
        return 1
    pause.main(args[2:])
    return 0


def start(request: dict, fds: list) -> int:
    """Fork a child for the request: its pid. A sandbox's child is born PID 1 of a new PID
    namespace, a container's in its sandbox's: one process each, whose exit this process
    reports (no helper outside the pod waiting for it)."""
    if request["kind"] == "sandbox":
        pause.pid_namespace_for_next_child()
    else:
        pause.sandbox_pid_namespace_for_children(int(request["args"][1]))
    try:
        return fork_running(lambda: child_main(request, fds))
    finally:
        pause.own_pid_namespace_for_children(OWN_PID_NAMESPACE)


def fork_running(body: Callable[[], int]) -> int:
    """Fork; the child runs `body` and exits with the code it returns (or 1 if it raises), never
    coming back into the caller: the child's pid."""
    pid = os.fork()
    if pid != 0:
        return pid
    code = 1
    try:
        code = body()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def send(sock: socket.socket, message: dict) -> None:
    sock.sendall(json.dumps(message).encode())


def reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        send(sock, {"exit": pid, "status": status})


def serve(sock: socket.socket) -> None:
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C in the server's terminal is the agent's to handle
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    gc.freeze()  # forked children share this process's pages; a collection would copy them
    while True:
        for key, _ in selector.select():
            if key.fileobj is sock:
                message, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, MAX_FDS)
                if not message:
                    return
                request = json.loads(message)
                try:
                    send(sock, {"id": request["id"], "pid": start(request, fds)})
                except OSError as exc:
                    send(sock, {"id": request["id"], "error": str(exc)})
                finally:
                    for fd in fds:
                        os.close(fd)
            else:
                while True:
                    try:
                        if not os.read(wake_read, 512):
                            break
                    except BlockingIOError:
                        break
                reap(sock)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(sock)
    except (ConnectionError, EOFError):
        pass


if __name__ == "__main__":
    main()
