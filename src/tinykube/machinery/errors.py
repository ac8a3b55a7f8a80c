"""Kubernetes `Status` errors: the one way every failure reaches a client.

Constructors mirror apimachinery's pkg/api/errors so that kubectl prints the same text
as against a real cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cause:
    """One field-level reason (StatusCause)."""

    reason: str
    message: str
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class StatusError(Exception):
    """An API error carrying a complete metav1.Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str, group: str, kind: str, causes: list[Cause] | None = None,
             retry_after: int = 0) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    if causes:
        d["causes"] = [c.to_dict() for c in causes]
    if retry_after:
        d["retryAfterSeconds"] = retry_after
    return d


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> StatusError:
    return StatusError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found',
                       _details(name, group, resource))


def already_exists(group: str, resource: str, name: str) -> StatusError:
    return StatusError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
                       _details(name, group, resource))


def conflict(group: str, resource: str, name: str, why: str) -> StatusError:
    return StatusError(409, "Conflict",
                       f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
                       _details(name, group, resource))


OPTIMISTIC_LOCK_MESSAGE = ("the object has been modified; please apply your changes to the latest "
                           "version and try again")


def invalid(group: str, kind: str, name: str, causes: list[Cause]) -> StatusError:
    """422 Invalid: `Deployment.apps "x" is invalid: [a: ..., b: ...]` with one cause per field."""
    qualified = f"{kind}.{group}" if group else kind
    texts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return StatusError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}',
                       _details(name, group, kind, causes))


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed(message: str) -> StatusError:
    return StatusError(405, "MethodNotAllowed", message)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str) -> StatusError:
    return StatusError(403, "Forbidden", message)


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def too_large(message: str = "Request entity too large: limit is 3145728") -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", message)


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(415, "UnsupportedMediaType",
                       f'the body of the request was in an unknown format - accepted media types include: '
                       f'application/json, application/yaml, application/vnd.kubernetes.protobuf '
                       f'(got "{content_type}")')


def not_acceptable(message: str) -> StatusError:
    return StatusError(406, "NotAcceptable", message)


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)


def too_many_requests(message: str, retry_after: int = 1) -> StatusError:
    return StatusError(429, "TooManyRequests", message, _details("", "", "", retry_after=retry_after))


@dataclass
class FieldErrors:
    """Collects field causes during validation (field.ErrorList)."""

    causes: list[Cause] = field(default_factory=list)

    def add(self, reason: str, path: str, message: str) -> None:
        self.causes.append(Cause(reason, message, path))

    def required(self, path: str, detail: str = "") -> None:
        self.add("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        from tinykube.machinery.gorepr import go_repr
        self.add("FieldValueInvalid", path, f"Invalid value: {go_repr(value)}: {detail}")

    def unsupported(self, path: str, value: Any, supported: list[str]) -> None:
        from tinykube.machinery.gorepr import go_repr
        quoted = ", ".join(f'"{s}"' for s in supported)
        self.add("FieldValueNotSupported", path,
                 f"Unsupported value: {go_repr(value)}: supported values: {quoted}")

    def forbidden(self, path: str, detail: str) -> None:
        self.add("FieldValueForbidden", path, f"Forbidden: {detail}")

    def duplicate(self, path: str, value: Any) -> None:
        from tinykube.machinery.gorepr import go_repr
        self.add("FieldValueDuplicate", path, f"Duplicate value: {go_repr(value)}")

    def too_long(self, path: str, value: Any, max_len: int) -> None:
        self.add("FieldValueTooLong", path, f"Too long: may not be more than {max_len} bytes")

    def extend(self, other: FieldErrors) -> None:
        self.causes.extend(other.causes)

    def __bool__(self) -> bool:
        return bool(self.causes)
