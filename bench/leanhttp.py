"""A lean keep-alive HTTP/1.1 client over TLS for load generation in the benchmarks.

httpx costs the client about a millisecond of CPU per request; on a 2-core machine the load
generator then takes the CPU the server under test needs. This one writes the request bytes
itself and reads only the status line, the headers and a Content-Length body: enough for the
JSON the API server answers, nothing more (no chunked bodies, no redirects, no retries).
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import orjson


class LeanConnection:
    """One connection; requests on it go one at a time (callers use one per concurrent worker)."""

    def __init__(self, base: str, token: str, ca_file: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.token = token
        self.context = ssl.create_default_context(cafile=ca_file)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> LeanConnection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=self.context,
                                                                 server_hostname=self.host)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()

    async def post(self, path: str, body: object) -> tuple[int, bytes]:
        """POST a JSON body; returns the status code and the response body."""
        data = orjson.dumps(body)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nAccept: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        assert self.writer is not None and self.reader is not None
        self.writer.write(head + data)
        status_line = await self.reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)
