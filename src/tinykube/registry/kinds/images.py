"""Container image references, as far as defaulting needs them.

Upstream defaults `imagePullPolicy` from the image's tag (parsers.ParseImageName over the
docker reference grammar): `Always` for `:latest` or no tag at all, `IfNotPresent` otherwise,
including for a digest-only reference or a reference the grammar refuses.
"""

from __future__ import annotations

import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_HEX64 = re.compile(r"[a-f0-9]{64}")
MAX_NAME_LENGTH = 255


def image_tag(image: str) -> str | None:
    """The tag ParseImageName reports: `latest` when none and no digest; None if unparsable."""
    name, digest = image, ""
    if "@" in image:
        name, digest = image.split("@", 1)
        if not _DIGEST.fullmatch(digest):
            return None
    tag = ""
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.fullmatch(tag):
            return None
    if not _valid_name(name):
        return None
    if not tag and not digest:
        return "latest"
    return tag


def _valid_name(name: str) -> bool:
    if not name or len(name) > MAX_NAME_LENGTH or _HEX64.fullmatch(name):
        return False
    first, _, rest = name.partition("/")
    if rest and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        return bool(_DOMAIN.fullmatch(first)) and bool(_PATH.fullmatch(rest))
    return bool(_PATH.fullmatch(name))


def default_pull_policy(image: str) -> str:
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"
