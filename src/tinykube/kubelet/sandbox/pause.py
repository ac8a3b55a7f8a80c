"""The pod sandbox's long-lived process (what the pause container is upstream).

Forked by the fork server (`forkserver.py`) as PID 1 of a new PID namespace, it makes the
pod's other namespaces and its veth pair (`make_namespaces`), mounts the /proc of its PID
namespace (`become_init`) and holds them open for the containers to join. It also sets the
pod's hostname, configures the pod's network from the inside (lo and eth0 up, eth0's address,
the default route: a few ioctls, cheaper than an `ip` process per pod), mounts the pod's memory-backed emptyDirs (tmpfs, so they
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
import socket
import struct
import sys

try:
    from tinykube.kubelet.sandbox import netlink  # imported as part of the package (tests)
except ImportError:
    import netlink  # a sibling script of the fork server, which runs without site-packages

AF_INET, SOCK_DGRAM = 2, 2
SIOCADDRT, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFNETMASK = 0x890B, 0x8913, 0x8914, 0x8916, 0x891C
IFF_UP, RTF_UP, RTF_GATEWAY = 0x1, 0x1, 0x2
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = \
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_NAME = 15

# Made once, in the fork server before it forks, with the functions the children call already
# looked up: a child that made its own would write (and so copy) a few hundred more pages.
libc = ctypes.CDLL(None, use_errno=True)
for _function in ("unshare", "setns", "mount", "sethostname", "prctl", "socket"):
    getattr(libc, _function)


def inet_aton(address: str) -> bytes:
    return bytes(int(part) for part in address.split("."))


def _sockaddr(address: str) -> bytes:
    return struct.pack("=HH4s8x", AF_INET, 0, inet_aton(address))


def _ifreq(name: str, payload: bytes) -> bytes:
    return struct.pack("16s24s", name.encode(), payload)


def netmask(prefix: int) -> str:
    return ".".join(str(b) for b in struct.pack("!I", (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF))


def configure_network(address: str, gateway: str) -> None:
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


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def make_namespaces(veth: str, bridge: str) -> None:
    """New network, UTS, IPC and mount namespaces (this process is PID 1 of the pod's new PID
    namespace already), mounts private as `unshare` makes them, and the pod's veth pair: the
    host's end on the bridge, the other end eth0 in the new network namespace. Nothing names
    that namespace: it ends, and its veth pair with it, when the pod's last process does."""
    master = socket.if_nametoindex(bridge)
    route = netlink.route_socket()  # opened here: it makes the host's end in the host's namespace
    try:
        if os.path.exists(f"/sys/class/net/{veth}"):  # a sandbox of the same pod whose namespace
            try:                                      # the kernel has not freed yet
                netlink.request(route, netlink.delete_link(1, veth), f"remove the leftover {veth}")
            except OSError:
                pass
        _check(libc.unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNS), "unshare")
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        disable_ipv6()  # before eth0 arrives: the new namespace's devices start without it
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            netlink.request(route, netlink.new_veth(2, veth, "eth0", own, master), f"veth pair {veth}")
        finally:
            os.close(own)
    finally:
        route.close()


def pid_namespace_for_next_child() -> None:
    """The caller's next child is PID 1 of a new PID namespace (the caller stays where it is)."""
    _check(libc.unshare(CLONE_NEWPID), "unshare PID namespace")


def sandbox_pid_namespace_for_children(pid: int) -> None:
    """The caller's next children are born in the PID namespace of process `pid` (a sandbox's,
    for a container)."""
    fd = os.open(f"/proc/{pid}/ns/pid", os.O_RDONLY)
    try:
        _check(libc.setns(fd, CLONE_NEWPID), "setns PID namespace")
    finally:
        os.close(fd)


def own_pid_namespace_for_children(own: int) -> None:
    """The caller's children are born in its own PID namespace again (`own`: an fd of it)."""
    _check(libc.setns(own, CLONE_NEWPID), "setns PID namespace")


def disable_ipv6() -> None:
    """No IPv6 in this network namespace (pod networks are IPv4, as upstream's default single
    stack). Otherwise every new eth0 sends multicast listener reports, which the bridge floods
    to every other pod's eth0: work that grows with the square of the pods on the node."""
    for scope in ("all", "default"):
        try:
            with open(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6", "w") as knob:
                knob.write("1")
        except OSError:
            return  # a kernel without IPv6


def become_init() -> None:
    """In the new PID namespace's first process: be called "pause", and mount a /proc that shows
    this namespace's processes. It outlives an agent that dies (as containerd's shims do); the
    next agent kills it from the sandbox's state file."""
    libc.prctl(PR_SET_NAME, b"pause", 0, 0, 0)  # what `ps` in the pod shows as PID 1, as upstream
    _check(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")


def main(argv: list) -> None:
    """Be the pod's PID 1 until SIGTERM (see the module docstring for `argv`)."""
    hostname, address, gateway, tmpfs_dirs = argv[0], argv[1], argv[2], argv[3:]
    name = hostname.encode()
    if libc.sethostname(name, len(name)) != 0:
        sys.stderr.write(f"hostname {hostname}: {os.strerror(ctypes.get_errno())}\n")
        sys.exit(1)
    if address != "-":
        try:
            configure_network(address, gateway)
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
