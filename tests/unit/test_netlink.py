"""The sandbox's rtnetlink requests: their bytes (pure), and the kernel taking them (as root, in
a network namespace of the test's own, which goes with the child process that made it)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest

from tinykube.kubelet.sandbox import netlink


def attrs(data: bytes) -> dict[int, bytes]:
    return dict(netlink.parse_attrs(data))


def body(request: bytes) -> tuple[tuple[int, ...], tuple[int, ...], bytes]:
    """(header fields, ifinfomsg fields, attributes) of one request."""
    header = netlink.HEADER.unpack_from(request)
    info = netlink.IFINFO.unpack_from(request, netlink.HEADER.size)
    return header, info, request[netlink.HEADER.size + netlink.IFINFO.size:]


@pytest.mark.parametrize("payload, padded", [(b"", 4), (b"a", 8), (b"abcd", 8), (b"abcde", 12)])
def test_an_attribute_is_padded_to_four_bytes_and_parses_back(payload: bytes, padded: int):
    data = netlink.attr(7, payload)
    assert len(data) == padded
    assert netlink.parse_attrs(data + netlink.attr(9, b"xy")) == [(7, payload), (9, b"xy")]


def test_a_new_veth_pair_on_the_bridge_with_its_peer_in_another_namespace():
    request = netlink.new_veth(5, "tkv0123456789", "eth0", 17, 42)
    header, info, rest = body(request)
    assert header[0] == len(request) and header[1] == netlink.RTM_NEWLINK and header[3] == 5
    assert header[2] == netlink.NLM_F_REQUEST | netlink.NLM_F_ACK | netlink.NLM_F_CREATE | netlink.NLM_F_EXCL
    assert info[3:] == (netlink.IFF_UP, netlink.IFF_UP)  # up at once
    top = attrs(rest)
    assert top[netlink.IFLA_IFNAME] == b"tkv0123456789\0"
    assert struct.unpack("=I", top[netlink.IFLA_MASTER]) == (42,)
    assert struct.unpack("=I", top[netlink.IFLA_NUM_TX_QUEUES]) == struct.unpack("=I", top[netlink.IFLA_NUM_RX_QUEUES]) == (1,)
    link = attrs(top[netlink.IFLA_LINKINFO])
    assert link[netlink.IFLA_INFO_KIND] == b"veth\0"
    peer = attrs(link[netlink.IFLA_INFO_DATA])[netlink.VETH_INFO_PEER]
    peer_attrs = attrs(peer[netlink.IFINFO.size:])
    assert peer_attrs[netlink.IFLA_IFNAME] == b"eth0\0"
    assert struct.unpack("=I", peer_attrs[netlink.IFLA_NET_NS_FD]) == (17,)


def test_deleting_a_link_names_it():
    header, info, rest = body(netlink.delete_link(3, "tkvx"))
    assert header[1] == netlink.RTM_DELLINK and header[3] == 3 and info[2] == 0
    assert attrs(rest) == {netlink.IFLA_IFNAME: b"tkvx\0"}


def error_reply(sequence: int, errno: int) -> bytes:
    payload = struct.pack("=i", -errno) + netlink.HEADER.pack(16, 0, 0, sequence, 0)
    return netlink.HEADER.pack(netlink.HEADER.size + len(payload), netlink.NLMSG_ERROR, 0, sequence, 0) + payload


@pytest.mark.parametrize("reply, sequence, expected", [
    (error_reply(4, 0), 4, 0),
    (error_reply(4, 17), 4, 17),
    (error_reply(3, 17), 4, None),  # an answer to another request
    (netlink.HEADER.pack(16, 16, 0, 4, 0) + error_reply(4, 1), 4, 1),  # after a message of another kind
    (b"", 4, None),
])
def test_the_answer_to_a_request(reply: bytes, sequence: int, expected):
    assert netlink.ack_error(reply, sequence) == expected


KERNEL_CHECK = r"""
import ctypes, os, socket, subprocess
from tinykube.kubelet.sandbox import netlink
libc = ctypes.CDLL(None, use_errno=True)
def links():
    return subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
assert libc.unshare(0x40000000) == 0  # a network namespace of this process's own: the "host"
subprocess.run(["ip", "link", "add", "br-test", "type", "bridge"], check=True)
route = netlink.route_socket()
bridge = socket.if_nametoindex("br-test")
made, done = os.pipe(), os.pipe()
pid = os.fork()
if pid == 0:  # the "pod": a namespace of its own, its end of the pair made from the host's socket
    assert libc.unshare(0x40000000) == 0
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    netlink.request(route, netlink.new_veth(1, "tkvtest", "eth0", own, bridge), "veth")
    try:
        netlink.request(route, netlink.new_veth(2, "tkvtest", "eth0", own, bridge), "veth")
    except OSError as exc:
        print("again:", exc.strerror, flush=True)
    print("pod has eth0:", " eth0@" in links(), flush=True)
    os.write(made[1], b"x")
    os.read(done[0], 1)
    os._exit(0)
os.close(made[1])
assert os.read(made[0], 1) == b"x", "the pod side failed"
host = next(line for line in links().splitlines() if " tkvtest@" in line)
print("host end on the bridge and up:", "master br-test" in host, "UP" in host.split(">")[0])
netlink.request(route, netlink.delete_link(3, "tkvtest"), "delete")
print("gone:", " tkvtest@" not in links())
os.write(done[1], b"x")
os.waitpid(pid, 0)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="making network devices takes root")
def test_the_kernel_makes_the_pair_refuses_it_twice_and_deletes_it():
    done = subprocess.run([sys.executable, "-c", KERNEL_CHECK], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["again: veth: File exists", "pod has eth0: True",
                                        "host end on the bridge and up: True True", "gone: True"]
