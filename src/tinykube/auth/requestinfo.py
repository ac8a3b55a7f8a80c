"""What a request asks to do, in authorizer terms: upstream's RequestInfoFactory, pure.

The verb comes from the HTTP method and the URL (a GET without a name is a list, or a watch
with `watch=true`; a DELETE without a name is a deletecollection); resource, subresource,
namespace and name come from the path. Paths outside /api and /apis are non-resource requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}
NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Attributes:
    """One authorization question: may this user do `verb` on this resource or path?"""

    verb: str
    resource_request: bool = True
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")


def _exact_name(field_selector: str) -> str:
    """The name a `metadata.name=X` field selector pins, as upstream's RequiresExactMatch."""
    for term in field_selector.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == "metadata.name" and not key.endswith("!"):
            value = value.strip()
            if value and "/" not in value and value not in (".", ".."):
                return value
    return ""


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis") or (parts[0] == "api" and len(parts) < 2) or \
            (parts[0] == "apis" and len(parts) < 3):
        return Attributes(method.lower(), resource_request=False, path=path)
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:  # /api/v1, /apis/apps/v1: discovery documents
        return Attributes(method.lower(), resource_request=False, path=path)
    verb = METHOD_VERBS.get(method.upper(), method.lower())
    if rest[0] == "watch":
        verb, rest = "watch", rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if _truthy(query.get("watch")) else "list"
        name = _exact_name(query.get("fieldSelector", "") or "")
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb, True, group, version, resource, subresource, namespace, name, path)
