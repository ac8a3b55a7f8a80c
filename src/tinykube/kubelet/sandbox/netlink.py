"""The few rtnetlink requests a pod sandbox makes: its veth pair onto the bridge, and the removal
of a leftover one (what `ip link add/del` sends the kernel, without starting `ip` per pod).

Messages are a netlink header, an ifinfomsg and attributes (type-length-value, each padded to
four bytes; nested attributes hold attributes). Building them is pure; `request` sends one on a
NETLINK_ROUTE socket and raises the kernel's answer as an OSError. A socket answers in the
network namespace it was opened in: the sandbox opens it on the host's before leaving it.

Stdlib only: the fork server imports it (through `pause`) as a sibling script.
"""

import os
import socket
import struct

RTM_NEWLINK, RTM_DELLINK, NLMSG_ERROR = 16, 17, 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 10, 18, 28
IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES = 31, 32
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER = 1, 2, 1
IFF_UP = 0x1
HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port
IFINFO = struct.Struct("=BxHiII")  # family, device type, index, flags, change
ATTR = struct.Struct("=HH")  # length, type


def attr(kind: int, payload: bytes) -> bytes:
    """One attribute, padded to a multiple of four bytes."""
    length = ATTR.size + len(payload)
    return ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def name_attr(name: str) -> bytes:
    return attr(IFLA_IFNAME, name.encode() + b"\0")


def u32_attr(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def message(kind: int, flags: int, sequence: int, body: bytes) -> bytes:
    return HEADER.pack(HEADER.size + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK, sequence, 0) + body


def single_queue() -> bytes:
    """One transmit and one receive queue: the kernel's default (one per CPU) costs an RCU grace
    period per extra queue when the pair goes."""
    return u32_attr(IFLA_NUM_TX_QUEUES, 1) + u32_attr(IFLA_NUM_RX_QUEUES, 1)


def new_veth(sequence: int, name: str, peer: str, peer_netns_fd: int, master: int) -> bytes:
    """`ip link add NAME type veth peer name PEER netns FD` with NAME on bridge MASTER and up."""
    peer_info = ifinfo() + name_attr(peer) + u32_attr(IFLA_NET_NS_FD, peer_netns_fd) + single_queue()
    link_info = attr(IFLA_INFO_KIND, b"veth\0") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_info))
    body = ifinfo(flags=IFF_UP, change=IFF_UP) + name_attr(name) + u32_attr(IFLA_MASTER, master) \
        + single_queue() + attr(IFLA_LINKINFO, link_info)
    return message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sequence, body)


def delete_link(sequence: int, name: str) -> bytes:
    return message(RTM_DELLINK, 0, sequence, ifinfo() + name_attr(name))


def parse_attrs(data: bytes) -> list:
    """[(type, payload)] of the attributes in `data` (the inverse of `attr`, for tests and acks)."""
    found, at = [], 0
    while at + ATTR.size <= len(data):
        length, kind = ATTR.unpack_from(data, at)
        if length < ATTR.size:
            break
        found.append((kind, data[at + ATTR.size:at + length]))
        at += length + (-length % 4)
    return found


def ack_error(reply: bytes, sequence: int) -> "int | None":
    """The errno of the kernel's answer to request `sequence` (0: done), None if `reply` is not it."""
    at = 0
    while at + HEADER.size <= len(reply):
        length, kind, _flags, seq, _port = HEADER.unpack_from(reply, at)
        if length < HEADER.size:
            return None
        if kind == NLMSG_ERROR and seq == sequence:
            return -struct.unpack_from("=i", reply, at + HEADER.size)[0]
        at += length + (-length % 4)
    return None


def route_socket() -> socket.socket:
    """A NETLINK_ROUTE socket of the network namespace this process is in now."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    return sock


def request(sock: socket.socket, data: bytes, what: str) -> None:
    """Send one request and wait for its answer; the kernel's refusal is raised as an OSError."""
    sequence = HEADER.unpack_from(data)[3]
    sock.send(data)
    while True:
        error = ack_error(sock.recv(65536), sequence)
        if error is not None:
            break
    if error:
        raise OSError(error, f"{what}: {os.strerror(error)}")
