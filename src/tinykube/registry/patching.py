"""Apply a PATCH body of any of the three non-apply patch types to a stored object.

Shared by the HTTP handlers and the in-process client, so a controller's patch and kubectl's
behave the same and fail with the same Status.
"""

from __future__ import annotations

from typing import Any

from tinykube.machinery import errors, patches
from tinykube.machinery.schema import SchemaNode
from tinykube.registry.resources import Resource

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def apply_patch(res: Resource, current: dict[str, Any], patch_type: str, body: Any) -> dict[str, Any]:
    """The patched object; a malformed patch is a 400 (a failing JSON patch test/op a 422)."""
    try:
        if patch_type == JSON_PATCH:
            patched = patches.apply_json_patch(current, body)
        elif patch_type == MERGE_PATCH:
            patched = patches.apply_merge_patch(current, body)
        elif patch_type == STRATEGIC_PATCH:
            if not isinstance(body, dict):
                raise patches.PatchError("strategic merge patch body must be a JSON object")
            node = SchemaNode.for_kind(res.group, res.version, res.kind)
            patched = patches.apply_strategic_merge_patch(current, body, node)
        else:
            raise errors.StatusError(415, "UnsupportedMediaType", f"unsupported patch type {patch_type!r}")
    except patches.PatchError as exc:
        raise errors.StatusError(422 if patch_type == JSON_PATCH else 400,
                                 "Invalid" if patch_type == JSON_PATCH else "BadRequest",
                                 str(getattr(exc, "message", exc))) from None
    if not isinstance(patched, dict):
        raise errors.bad_request("the patch did not produce an object")
    return patched
