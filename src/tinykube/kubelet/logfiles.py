"""Container log files in the CRI format, and reading them back as `kubectl logs` asks.

Layout (as the kubelet's /var/log/pods): DATA_DIR/pods/<namespace>_<pod>_<uid>/<container>/
<restartCount>.log, one file per run of a container, so `--previous` is the file before the
current one. Each line is `<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>`: F ends a
line of output, P is part of a longer line (no newline at the end of its content), exactly
what containerd writes and the kubelet parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

MAX_LINE = 16 * 1024  # containerd's maximum line length before it splits a line with P


def pod_dir(root: Path, namespace: str, name: str, uid: str) -> Path:
    return root / f"{namespace}_{name}_{uid}"


def log_path(root: Path, namespace: str, name: str, uid: str, container: str, restart_count: int) -> Path:
    return pod_dir(root, namespace, name, uid) / container / f"{restart_count}.log"


def rfc3339_nano(seconds: float) -> str:
    """A timestamp as Go's RFC3339Nano prints it in UTC (trailing zeros of the fraction dropped)."""
    whole = int(seconds // 1)
    nanos = int(round((seconds - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base = datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC3339(Nano) timestamp (nanoseconds kept to float precision)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    main, dot, rest = text.partition(".")
    fraction = 0.0
    if dot:
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits):]
        fraction = float("0." + digits) if digits else 0.0
        text = main + zone
    return datetime.fromisoformat(text).timestamp() + fraction


def format_lines(data: bytes, stream: str, timestamp: str) -> tuple[bytes, bytes]:
    """CRI lines for the complete lines in `data`, and the unterminated rest (kept for later).

    A rest longer than MAX_LINE is written at once as a partial (P) line.
    """
    out = bytearray()
    start = 0
    prefix = f"{timestamp} {stream} ".encode()
    while True:
        end = data.find(b"\n", start)
        if end < 0:
            break
        line = data[start:end]
        while len(line) > MAX_LINE:
            out += prefix + b"P " + line[:MAX_LINE] + b"\n"
            line = line[MAX_LINE:]
        out += prefix + b"F " + line + b"\n"
        start = end + 1
    rest = data[start:]
    while len(rest) > MAX_LINE:
        out += prefix + b"P " + rest[:MAX_LINE] + b"\n"
        rest = rest[MAX_LINE:]
    return bytes(out), rest


def flush_partial(rest: bytes, stream: str, timestamp: str) -> bytes:
    """The last output of a stream that ended without a newline, as a partial line."""
    return f"{timestamp} {stream} P ".encode() + rest + b"\n" if rest else b""


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    stream: str
    partial: bool
    content: bytes

    def seconds(self) -> float:
        return parse_timestamp(self.timestamp)

    def render(self, timestamps: bool) -> bytes:
        body = self.content + (b"" if self.partial else b"\n")
        return (self.timestamp.encode() + b" " + body) if timestamps else body


def parse_line(raw: bytes) -> LogLine | None:
    """One CRI line (without its newline); None for a line that is not one."""
    parts = raw.split(b" ", 3)
    if len(parts) < 3:
        return None
    timestamp, stream, tag = parts[0].decode(errors="replace"), parts[1].decode(errors="replace"), parts[2]
    if stream not in ("stdout", "stderr") or tag not in (b"F", b"P"):
        return None
    return LogLine(timestamp, stream, tag == b"P", parts[3] if len(parts) > 3 else b"")


def parse_lines(data: bytes) -> list[LogLine]:
    out = []
    for raw in data.split(b"\n"):
        if raw:
            line = parse_line(raw)
            if line is not None:
                out.append(line)
    return out


@dataclass(frozen=True)
class LogQuery:
    """The log options of the pods/log subresource that shape the output."""

    timestamps: bool = False
    tail_lines: int | None = None
    since: float | None = None  # seconds since the epoch: only lines at or after it
    limit_bytes: int | None = None


def select(lines: list[LogLine], query: LogQuery) -> list[LogLine]:
    """since, then tail: the last N lines of output (a line split into P parts counts once)."""
    if query.since is not None:
        lines = [line for line in lines if line.seconds() >= query.since]
    if query.tail_lines is not None:
        if query.tail_lines <= 0:
            return []
        count = 0
        for index in range(len(lines) - 1, -1, -1):
            if not lines[index].partial:
                count += 1
            if count > query.tail_lines:
                return lines[index + 1:]
    return lines


def render(lines: list[LogLine], query: LogQuery) -> bytes:
    out = b"".join(line.render(query.timestamps) for line in lines)
    if query.limit_bytes is not None:
        out = out[:query.limit_bytes]
    return out


def read_log(path: Path, query: LogQuery) -> tuple[bytes, int]:
    """The selected output of a log file and the file offset read up to."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b"", 0
    end = data.rfind(b"\n") + 1  # a half-written last line is read on the next call
    return render(select(parse_lines(data[:end]), query), query), end
