"""`kubectl attach`: a running container's output from now on, followed in its log file.

A container's stdout and stderr already go to its CRI log file (`procutil.pump`), so attaching
follows that file from its current end, as `logs -f` does, and ends when the container's run
ends. Containers run with stdin from /dev/null and no terminal, so stdin, tty and resizes are
accepted and ignored. A simulated container prints nothing: its attachment stays silent.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, Callable

from tinykube.kubelet import logfiles

FOLLOW_POLL = 0.1  # wall seconds between looks at the log file


class Attachment:
    """The `streaming.Session` of an attach: output chunks until the container's run ends."""

    def __init__(self, clock: Any, path: Path | None, running: Callable[[], bool]) -> None:
        self.clock = clock
        self.path = path
        self.running = running
        self.offset = path.stat().st_size if path is not None and path.exists() else 0
        self.pending: collections.deque[tuple[str, bytes]] = collections.deque()

    def _read_new(self) -> None:
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in logfiles.parse_lines(data[:end]):
            self.pending.append((line.stream, line.render(False)))

    async def read(self) -> tuple[str, bytes] | None:
        while not self.pending:
            alive = self.running()
            self._read_new()
            if self.pending:
                break
            if not alive:
                return None
            await self.clock.sleep(FOLLOW_POLL * self.clock.scale)
        return self.pending.popleft()

    async def write(self, data: bytes) -> None:
        return None

    def close_stdin(self) -> None:
        return None

    def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        return 0  # attach reports success when the stream ends, whatever the container's exit

    def kill(self) -> None:
        self.running = lambda: False

    async def close(self) -> None:
        return None
