"""The exec channel protocol, SPDY/3.1 framing and the grpc probe's wording, as tables."""

from __future__ import annotations

import json
import zlib

import pytest

from tinykube.kubelet import channels, spdy
from tinykube.kubelet.probes import go_duration, grpc_code_name


@pytest.mark.parametrize("offered, chosen", [
    (["v5.channel.k8s.io"], "v5.channel.k8s.io"),
    (["v4.channel.k8s.io", "v5.channel.k8s.io"], "v5.channel.k8s.io"),
    ("v4.channel.k8s.io, channel.k8s.io", "v4.channel.k8s.io"),
    (["channel.k8s.io"], None),
    ([], None),
])
def test_choose_protocol(offered, chosen):
    assert channels.choose_protocol(offered) == chosen


@pytest.mark.parametrize("message, decoded", [
    (b"\x00hello", (channels.STDIN, b"hello")),
    (b"\x04{}", (channels.RESIZE, b"{}")),
    (b"\xff\x00", (channels.CLOSE, b"\x00")),
    (b"", (-1, b"")),
])
def test_decode(message, decoded):
    assert channels.decode(message) == decoded


def test_encode_prefixes_the_channel():
    assert channels.encode(channels.STDERR, b"x") == b"\x02x"
    assert channels.close_target(b"\x00") == channels.STDIN


@pytest.mark.parametrize("payload, size", [
    (b'{"Width":80,"Height":24}', (80, 24)),
    (b'{"Width":0,"Height":0}', (0, 0)),
    (b'{"Width":-1,"Height":3}', None),
    (b"not json", None),
    (b"[]", None),
])
def test_parse_resize(payload, size):
    assert channels.parse_resize(payload) == size


@pytest.mark.parametrize("code, status, cause", [
    (0, "Success", None),
    (3, "Failure", "3"),
    (137, "Failure", "137"),
])
def test_exit_status(code, status, cause):
    body = channels.exit_status(code, ["sh", "-c", "exit"])
    assert body["status"] == status
    if cause is None:
        assert "details" not in body
    else:
        assert body["reason"] == "NonZeroExitCode"
        assert body["details"]["causes"] == [{"reason": "ExitCode", "message": cause}]


def test_status_message_is_json_on_the_error_channel():
    message = channels.status_message(channels.internal_error_status("boom"))
    assert message[0] == channels.ERROR
    body = json.loads(message[1:])
    assert body["message"] == "Internal error occurred: error executing command in container: boom"


# ---------------------------------------------------------------------------------------------- SPDY


def test_dictionary_is_the_spdy3_one():
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


@pytest.mark.parametrize("headers, raw", [
    ({}, b"\x00\x00\x00\x00"),
    ({"Port": ["80"]}, b"\x00\x00\x00\x01\x00\x00\x00\x04port\x00\x00\x00\x0280"),
    ({"a": ["1", "2"]}, b"\x00\x00\x00\x01\x00\x00\x00\x01a\x00\x00\x00\x031\x002"),
])
def test_header_block(headers, raw):
    assert spdy.encode_header_block(headers) == raw
    assert spdy.decode_header_block(raw) == {k.lower(): v for k, v in headers.items()}


@pytest.mark.parametrize("build, head", [
    (lambda w: w.ping(7), b"\x80\x03\x00\x06\x00\x00\x00\x04\x00\x00\x00\x07"),
    (lambda w: w.rst_stream(3, spdy.RST_CANCEL), b"\x80\x03\x00\x03\x00\x00\x00\x08\x00\x00\x00\x03\x00\x00\x00\x05"),
    (lambda w: w.data(5, b"hi", fin=True), b"\x00\x00\x00\x05\x01\x00\x00\x02hi"),
    (lambda w: w.data(5), b"\x00\x00\x00\x05\x00\x00\x00\x00"),
    (lambda w: w.goaway(9), b"\x80\x03\x00\x07\x00\x00\x00\x08\x00\x00\x00\x09\x00\x00\x00\x00"),
])
def test_frame_bytes(build, head):
    assert build(spdy.FrameWriter()) == head


def test_syn_reply_header_block_is_zlib_with_the_dictionary():
    frame = spdy.FrameWriter().syn_reply(1)
    assert frame[:4] == b"\x80\x03\x00\x02"
    assert int.from_bytes(frame[5:8], "big") == len(frame) - 8
    assert frame[8:12] == b"\x00\x00\x00\x01"
    inflate = zlib.decompressobj(zdict=spdy.DICTIONARY)
    assert inflate.decompress(frame[12:]) == b"\x00\x00\x00\x00"


def test_frames_round_trip_across_chunks_and_shared_compression():
    writer, reader = spdy.FrameWriter(), spdy.FrameReader()
    wire = (writer.syn_stream(1, {"streamType": ["error"], "port": ["80"], "requestID": ["0"]})
            + writer.syn_stream(3, {"streamType": ["data"], "port": ["80"], "requestID": ["0"]}, fin=False)
            + writer.data(3, b"GET / HTTP/1.0\r\n\r\n") + writer.data(1, fin=True) + writer.ping(1))
    frames = []
    for i in range(0, len(wire), 5):  # the tunnel may cut frames anywhere
        frames += reader.feed(wire[i:i + 5])
    assert [type(f).__name__ for f in frames] == ["ControlFrame", "ControlFrame", "DataFrame", "DataFrame",
                                                  "ControlFrame"]
    first, second, data, fin, ping = frames
    assert first.type == spdy.SYN_STREAM and first.stream_id == 1
    assert first.headers == {"streamtype": ["error"], "port": ["80"], "requestid": ["0"]}
    assert second.stream_id == 3 and second.headers["streamtype"] == ["data"]
    assert data.stream_id == 3 and data.data == b"GET / HTTP/1.0\r\n\r\n" and not data.fin
    assert fin.stream_id == 1 and fin.fin and fin.data == b""
    assert ping.type == spdy.PING and ping.ping_id == 1


def test_reader_refuses_other_versions():
    with pytest.raises(spdy.ProtocolError):
        spdy.FrameReader().feed(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")


# ---------------------------------------------------------------------------------------------- grpc wording


@pytest.mark.parametrize("seconds, text", [(1, "1s"), (1.5, "1.5s"), (10.0, "10s"), (0.25, "0.25s")])
def test_go_duration(seconds, text):
    assert go_duration(seconds) == text


def test_grpc_code_names():
    import grpc

    assert grpc_code_name(grpc.StatusCode.NOT_FOUND) == "NotFound"
    assert grpc_code_name(grpc.StatusCode.UNAVAILABLE) == "Unavailable"
    assert grpc_code_name(grpc.StatusCode.OK) == "OK"


def test_grpc_probe_of_a_port_nobody_listens_on_times_out_as_upstream_words_it():
    import socket

    from tinykube.kubelet.probes import _grpc_check

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, message = _grpc_check(f"127.0.0.1:{port}", "", 0.5)
    assert not ok
    assert message == f'timeout: failed to connect service "127.0.0.1:{port}" within 0.5s: context deadline exceeded'
