"""Join tokens as k3s writes them: `K10<sha256 of the CA certificate>::server:<secret>`.

The secret is the cluster's bearer token; the CA hash lets a joining agent or server trust the
CA it downloads from `/cacerts` before it has any certificate (pinning, as kubeadm's
`--discovery-token-ca-cert-hash`). A bare secret is accepted too (then the CA must come from
elsewhere: a file, or the shared datastore).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

PREFIX = "K10"


@dataclass(frozen=True)
class JoinToken:
    secret: str
    ca_hash: str = ""  # hex sha256 of the CA certificate's PEM, "" when the token has none

    def __str__(self) -> str:
        return format_token(self.secret, self.ca_hash) if self.ca_hash else self.secret


def ca_hash(ca_pem: bytes) -> str:
    return hashlib.sha256(ca_pem).hexdigest()


def format_token(secret: str, ca_hash_hex: str) -> str:
    return f"{PREFIX}{ca_hash_hex}::server:{secret}"


def parse_token(text: str) -> JoinToken:
    """`K10<hash>::<user>:<secret>` or a bare secret; ValueError for a malformed K10 token."""
    text = text.strip()
    if not text:
        raise ValueError("the token is empty")
    if not text.startswith(PREFIX) or "::" not in text:
        return JoinToken(text)
    digest, _, credentials = text[len(PREFIX):].partition("::")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise ValueError("the token's CA hash is not a sha256 hex digest")
    _, _, secret = credentials.partition(":")
    if not secret:
        raise ValueError("the token has no secret after '::server:'")
    return JoinToken(secret, digest.lower())
