"""SPDY/3.1 framing, pure: just what `kubectl port-forward` needs (no Python library keeps it).

A frame is 8 header bytes then its payload. Control frames: `1 | version(15) | type(16)`,
`flags(8) | length(24)`; data frames: `0 | stream id(31)`, `flags(8) | length(24)`. Header blocks
(SYN_STREAM, SYN_REPLY, HEADERS) are `count(32)` then `len(32) name len(32) value` pairs,
compressed by one zlib stream per direction for the whole connection, primed with the spec's
dictionary and sync-flushed after each block. `FrameReader` turns bytes into frames (keeping
partial frames and the inflate state); `FrameWriter` turns frames into bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_LENGTH = 0xFFFFFF
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_REFUSED_STREAM, RST_CANCEL = 1, 2, 3, 5

_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age "
    "allow authorization cache-control connection content-base content-encoding content-language content-length "
    "content-location content-md5 content-range content-type date etag expect expires from host if-match "
    "if-modified-since if-none-match if-range if-unmodified-since last-modified location max-forwards pragma "
    "proxy-authenticate proxy-authorization range referer retry-after server te trailer transfer-encoding "
    "upgrade user-agent vary via warning www-authenticate method get status").split() + ["200 OK"] + \
    "version HTTP/1.1 url public set-cookie keep-alive origin".split()
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
# The SPDY/3 header compression dictionary (spec section 2.6.10.1): length-prefixed words, then text.
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3."""


@dataclass
class DataFrame:
    stream_id: int
    data: bytes = b""
    flags: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass
class ControlFrame:
    """Any control frame; which fields mean something depends on `type`."""

    type: int
    flags: int = 0
    stream_id: int = 0
    associated_id: int = 0  # SYN_STREAM
    priority: int = 0  # SYN_STREAM
    headers: Headers = field(default_factory=dict)  # SYN_STREAM, SYN_REPLY, HEADERS
    status: int = 0  # RST_STREAM, GOAWAY
    ping_id: int = 0  # PING
    delta: int = 0  # WINDOW_UPDATE
    settings: list[tuple[int, int, int]] = field(default_factory=list)  # (flags, id, value)
    last_good_id: int = 0  # GOAWAY

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = DataFrame | ControlFrame


def encode_header_block(headers: Headers) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        raw_name, raw_value = name.lower().encode(), "\x00".join(values).encode()
        out += [struct.pack(">I", len(raw_name)), raw_name, struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def decode_header_block(raw: bytes) -> Headers:
    try:
        (count,), pos = struct.unpack_from(">I", raw), 4
        headers: Headers = {}
        for _ in range(count):
            (size,) = struct.unpack_from(">I", raw, pos)
            name, pos = raw[pos + 4:pos + 4 + size].decode(), pos + 4 + size
            (size,) = struct.unpack_from(">I", raw, pos)
            value, pos = raw[pos + 4:pos + 4 + size].decode(), pos + 4 + size
            headers[name] = value.split("\x00")
    except (struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"bad header block: {exc}") from None
    return headers


class FrameReader:
    """Bytes in, frames out, across arbitrary chunking."""

    def __init__(self) -> None:
        self._buffer = b""
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, payload = self._buffer[:8], self._buffer[8:8 + length]
            self._buffer = self._buffer[8 + length:]
            frames.append(self._frame(head, payload))
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            return decode_header_block(self._inflate.decompress(block))
        except zlib.error as exc:
            raise ProtocolError(f"bad compressed header block: {exc}") from None

    def _frame(self, head: bytes, payload: bytes) -> Frame:
        flags = head[4]
        if not head[0] & 0x80:
            return DataFrame(int.from_bytes(head[:4], "big") & 0x7FFFFFFF, payload, flags)
        version, kind = struct.unpack(">HH", head[:4])
        if version & 0x7FFF != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version & 0x7FFF}")
        frame = ControlFrame(kind, flags)
        try:
            if kind == SYN_STREAM:
                sid, assoc = struct.unpack_from(">II", payload)
                frame.stream_id, frame.associated_id = sid & 0x7FFFFFFF, assoc & 0x7FFFFFFF
                frame.priority = payload[8] >> 5
                frame.headers = self._headers(payload[10:])
            elif kind in (SYN_REPLY, HEADERS):
                frame.stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
                frame.headers = self._headers(payload[4:])
            elif kind == RST_STREAM:
                sid, frame.status = struct.unpack_from(">II", payload)
                frame.stream_id = sid & 0x7FFFFFFF
            elif kind == SETTINGS:
                (count,) = struct.unpack_from(">I", payload)
                for i in range(count):
                    word, value = struct.unpack_from(">II", payload, 4 + 8 * i)
                    frame.settings.append((word >> 24, word & 0xFFFFFF, value))
            elif kind == PING:
                (frame.ping_id,) = struct.unpack_from(">I", payload)
            elif kind == GOAWAY:
                last, frame.status = struct.unpack_from(">II", payload)
                frame.last_good_id = last & 0x7FFFFFFF
            elif kind == WINDOW_UPDATE:
                sid, delta = struct.unpack_from(">II", payload)
                frame.stream_id, frame.delta = sid & 0x7FFFFFFF, delta & 0x7FFFFFFF
        except struct.error:
            raise ProtocolError(f"short control frame of type {kind}") from None
        return frame


class FrameWriter:
    """Frames out as bytes; owns this direction's header compression."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                         zlib.Z_DEFAULT_STRATEGY, zdict=DICTIONARY)

    def _compress(self, headers: Headers) -> bytes:
        block = encode_header_block(headers)
        return self._deflate.compress(block) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def data(self, stream_id: int, data: bytes = b"", fin: bool = False) -> bytes:
        """One data frame per MAX_LENGTH bytes (FIN on the last)."""
        chunks = [data[i:i + MAX_LENGTH] for i in range(0, len(data), MAX_LENGTH)] or [b""]
        out = []
        for i, chunk in enumerate(chunks):
            flags = FLAG_FIN if fin and i == len(chunks) - 1 else 0
            out.append(struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(chunk)) + chunk)
        return b"".join(out)

    def syn_stream(self, stream_id: int, headers: Headers, fin: bool = False, associated_id: int = 0,
                   priority: int = 0) -> bytes:
        payload = struct.pack(">IIBB", stream_id, associated_id, (priority & 7) << 5, 0) + self._compress(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def syn_reply(self, stream_id: int, headers: Headers | None = None, fin: bool = False) -> bytes:
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0,
                             struct.pack(">I", stream_id) + self._compress(headers or {}))

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_good_id: int, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_good_id, status))
