"""The remote-command channel protocol of `kubectl exec`/`attach` over WebSockets, pure.

Every binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error (one
metav1.Status once the command is over), 4 resize (`{"Width":…,"Height":…}`). v5 adds a close
signal, `[255, channel]`, by which the client half-closes its stdin. The exit code travels in
the error channel's Status, which kubectl turns into "command terminated with exit code N".
"""

from __future__ import annotations

import json
from typing import Any

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
EXEC_PROTOCOLS = (V5, V4)  # in our order of preference
STREAM_CHANNELS = {"stdout": STDOUT, "stderr": STDERR}


def choose_protocol(offered: list[str] | str, supported: tuple[str, ...] = EXEC_PROTOCOLS) -> str | None:
    """The subprotocol to answer with: ours in preference order among those the client offers."""
    if isinstance(offered, str):
        offered = [p.strip() for p in offered.split(",")]
    wanted = {p.strip() for p in offered}
    return next((p for p in supported if p in wanted), None)


def encode(channel: int, data: bytes = b"") -> bytes:
    return bytes([channel]) + data


def decode(message: bytes) -> tuple[int, bytes]:
    """(channel, payload); an empty message is channel -1."""
    if not message:
        return -1, b""
    return message[0], message[1:]


def close_target(payload: bytes) -> int | None:
    """The channel a v5 close signal closes."""
    return payload[0] if payload else None


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message; None when it is not one."""
    try:
        size = json.loads(payload)
        width, height = int(size.get("Width", 0)), int(size.get("Height", 0))
    except (ValueError, TypeError, AttributeError):
        return None
    return (width, height) if width >= 0 and height >= 0 else None


def exit_status(code: int, argv: list[str]) -> dict[str, Any]:
    """The error channel's Status for a command that exited with `code`."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(argv)}], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def internal_error_status(message: str) -> dict[str, Any]:
    """The error channel's Status for a command that could not be run at all."""
    return {"metadata": {}, "status": "Failure",
            "message": f"Internal error occurred: error executing command in container: {message}",
            "reason": "InternalError",
            "details": {"causes": [{"message": f"error executing command in container: {message}"}]},
            "code": 500}


def status_message(status: dict[str, Any]) -> bytes:
    return encode(ERROR, json.dumps(status, separators=(",", ":")).encode())
