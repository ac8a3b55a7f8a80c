"""The pod sandbox's long-lived process (what the pause container is upstream).

Started by `sandbox.py` as PID 1 of the pod's new UTS, mount and PID namespaces (inside the
pod's network namespace), it holds them open for the containers to join. It sets the pod's
hostname, mounts the pod's memory-backed emptyDirs (tmpfs, so they live and die with the
pod's mount namespace), reaps the orphans every PID 1 inherits, says "ready" on stdout and
then waits; SIGTERM ends it, and with it every process of the pod's PID namespace.

Standalone on purpose (stdlib only, run as `python -I -S pause.py ...`): it starts once per pod
and must start fast.

argv: hostname, then the directories to mount a tmpfs on.
"""

import ctypes
import os
import signal
import socket
import sys


def _reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    hostname, tmpfs_dirs = sys.argv[1], sys.argv[2:]
    socket.sethostname(hostname)
    libc = ctypes.CDLL(None, use_errno=True)
    for path in tmpfs_dirs:
        os.makedirs(path, exist_ok=True)
        if libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, b"mode=0777") != 0:
            err = ctypes.get_errno()
            sys.stderr.write(f"tmpfs on {path}: {os.strerror(err)}\n")
            sys.exit(1)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    signal.signal(signal.SIGCHLD, _reap)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    os.close(1)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
