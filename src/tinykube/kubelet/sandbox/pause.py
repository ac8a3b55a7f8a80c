"""The pod sandbox's long-lived process (what the pause container is upstream).

Forked by the fork server (`forkserver.py`), whose child makes the pod's namespaces and its
veth pair (`make_namespaces`) and forks it as PID 1 of the new PID namespace (`become_init`),
it holds them open for the containers to join. It sets the pod's hostname, configures the pod's
network from the inside (lo and eth0 up, eth0's address, the default route: a few ioctls,
cheaper than an `ip` process per pod), mounts the pod's memory-backed emptyDirs (tmpfs, so they
live and die with the pod's mount namespace), reaps the orphans every PID 1 inherits, says
"ready" on stdout and then waits; SIGTERM ends it, and with it every process of the pod's PID
namespace.

Stdlib only: the fork server imports it as a sibling script.

`main`'s arguments: hostname, eth0's address with prefix length ("10.244.0.2/24", "-": none),
the gateway, then the directories to mount a tmpfs on.
"""

import ctypes
import fcntl
import os
import signal
import struct
import sys

AF_INET, SOCK_DGRAM = 2, 2
SIOCADDRT, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFNETMASK = 0x890B, 0x8913, 0x8914, 0x8916, 0x891C
IFF_UP, RTF_UP, RTF_GATEWAY = 0x1, 0x1, 0x2
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = \
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NAME = 1, 15


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


def _check(libc: ctypes.CDLL, result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def host_side_lines(veth: str, bridge: str, pid: int, leftover: bool) -> list:
    """`ip -batch` lines for the host side of a pod's network (pure): a veth pair whose other
    end is eth0 in the network namespace of `pid`, on the bridge; a leftover of the same name
    (a sandbox of the same pod whose namespace the kernel has not freed yet) goes first. One
    queue per end: the kernel's default (one per CPU, cut to one) costs an RCU grace period."""
    add = f"link add {veth} numtxqueues 1 numrxqueues 1 type veth peer name eth0 numtxqueues 1 numrxqueues 1 netns {pid}"
    return ([f"link del {veth}"] if leftover else []) + [add, f"link set {veth} master {bridge} up"]


def make_namespaces(veth: str, bridge: str) -> None:
    """New network, UTS, IPC, mount and PID namespaces (the PID one is for the next child: it
    becomes its PID 1), mounts private as `unshare` makes them, and the pod's veth pair made
    from the host's network namespace into the new one. Nothing names the network namespace:
    it ends, and its veth pair with it, when the pod's last process does."""
    libc = ctypes.CDLL(None, use_errno=True)
    leftover = os.path.exists(f"/sys/class/net/{veth}")
    host = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        _check(libc, libc.unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS), "unshare")
        _check(libc, libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        _run_ip(libc, host, host_side_lines(veth, bridge, os.getpid(), leftover))  # before the PID namespace:
        _check(libc, libc.unshare(CLONE_NEWPID), "unshare PID namespace")  # `ip` must not become its PID 1
    finally:
        os.close(host)


def _run_ip(libc: ctypes.CDLL, netns_fd: int, lines: list) -> None:
    """`ip -batch -` in the network namespace `netns_fd` (its errors go to our stderr)."""
    read_end, write_end = os.pipe()
    os.write(write_end, ("\n".join(lines) + "\n").encode())
    os.close(write_end)
    pid = os.fork()
    if pid == 0:
        try:
            if libc.setns(netns_fd, CLONE_NEWNET) == 0:
                os.dup2(read_end, 0)
                os.execvp("ip", ["ip", "-batch", "-"])
        finally:
            os._exit(127)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise OSError(0, "the pod's veth pair could not be made (ip -batch failed)")


def become_init() -> None:
    """In the new PID namespace's first process: die with the parent that waits for it (as
    `unshare --kill-child`), be called "pause", and mount a /proc that shows this namespace's
    processes."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc, libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    libc.prctl(PR_SET_NAME, b"pause", 0, 0, 0)  # what `ps` in the pod shows as PID 1, as upstream
    _check(libc, libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")


def main(argv: list) -> None:
    """Be the pod's PID 1 until SIGTERM (see the module docstring for `argv`)."""
    hostname, address, gateway, tmpfs_dirs = argv[0], argv[1], argv[2], argv[3:]
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
    os.write(1, b"ready\n")
    os.close(1)
    while True:
        signal.pause()
