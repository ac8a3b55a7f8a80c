"""The pod sandbox's long-lived process (what the pause container is upstream).

Started by `sandbox.py` as PID 1 of the pod's new UTS, mount and PID namespaces (inside the
pod's network namespace), it holds them open for the containers to join. It sets the pod's
hostname, configures the pod's network from the inside (lo and eth0 up, eth0's address, the
default route: a few ioctls, cheaper than an `ip` process per pod), mounts the pod's memory-backed emptyDirs (tmpfs, so they live and die with the
pod's mount namespace), reaps the orphans every PID 1 inherits, says "ready" on stdout and
then waits; SIGTERM ends it, and with it every process of the pod's PID namespace.

Standalone on purpose (stdlib only, run as `python -I -S pause.py ...`): it starts once per pod
and must start fast, so it calls libc rather than import `socket` (which alone doubles the start).

argv: hostname, eth0's address with prefix length ("10.244.0.2/24", "-": none), the gateway,
then the directories to mount a tmpfs on.
"""

import ctypes
import fcntl
import os
import _signal as signal  # the C module: `signal` would import enum, a third of the start time
import struct
import sys

AF_INET, SOCK_DGRAM = 2, 2
SIOCADDRT, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFNETMASK = 0x890B, 0x8913, 0x8914, 0x8916, 0x891C
IFF_UP, RTF_UP, RTF_GATEWAY = 0x1, 0x1, 0x2


def inet_aton(address: str) -> bytes:
    return bytes(int(part) for part in address.split("."))


def _sockaddr(address: str) -> bytes:
    return struct.pack("=HH4s8x", AF_INET, 0, inet_aton(address))


def _ifreq(name: str, payload: bytes) -> bytes:
    return struct.pack("16s24s", name.encode(), payload)


def netmask(prefix: int) -> str:
    return ".".join(str(b) for b in struct.pack("!I", (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF))


def configure_network(libc: ctypes.CDLL, address: str, gateway: str) -> None:
    """lo and eth0 up, eth0 = address/prefix, default route via the gateway."""
    ip, prefix = address.split("/")
    mask = netmask(int(prefix))
    sock = libc.socket(AF_INET, SOCK_DGRAM, 0)
    if sock < 0:
        raise OSError(ctypes.get_errno(), "socket")
    try:
        fcntl.ioctl(sock, SIOCSIFADDR, _ifreq("eth0", _sockaddr(ip)))
        fcntl.ioctl(sock, SIOCSIFNETMASK, _ifreq("eth0", _sockaddr(mask)))
        for name in ("lo", "eth0"):
            flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, _ifreq(name, b"")))[1]
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", name.encode(), flags | IFF_UP))
        any_address = _sockaddr("0.0.0.0")
        route = struct.pack("@L16s16s16sHhLPhPLLH0L", 0, any_address, _sockaddr(gateway), any_address,
                            RTF_UP | RTF_GATEWAY, 0, 0, 0, 0, 0, 0, 0, 0)
        fcntl.ioctl(sock, SIOCADDRT, route)
    finally:
        os.close(sock)


def _reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    hostname, address, gateway, tmpfs_dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    libc = ctypes.CDLL(None, use_errno=True)
    name = hostname.encode()
    if libc.sethostname(name, len(name)) != 0:
        sys.stderr.write(f"hostname {hostname}: {os.strerror(ctypes.get_errno())}\n")
        sys.exit(1)
    if address != "-":
        try:
            configure_network(libc, address, gateway)
        except OSError as exc:
            sys.stderr.write(f"network {address} via {gateway}: {exc}\n")
            sys.exit(1)
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
