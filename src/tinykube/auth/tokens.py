"""ServiceAccount tokens: JWTs signed with the cluster's key, bound to an audience, an expiry and
(optionally) a pod, carrying upstream's `kubernetes.io` private claims.

Signing and decoding are pure given the clock; whether the ServiceAccount (and the bound pod)
still exist with the UIDs the token names is checked by the authenticator against the store.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tinykube.auth.user import UserInfo, service_account_groups, service_account_username

ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
ALGORITHM = "RS256"
# A pod-bound token asked for exactly this long is the kubelet's kube-api-access token: it is
# issued valid for a year with a `warnafter` claim instead, as upstream's
# --service-account-extend-token-expiration (on by default) does, so old clients keep working.
WARN_ONLY_EXPIRATION = 3607
EXTENDED_EXPIRATION = 365 * 24 * 3600

Obj = dict[str, Any]


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """The signing key, made at first start (as kubeadm's sa.key) and kept in the PKI directory."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    import os
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return key


def key_id(key: rsa.RSAPrivateKey) -> str:
    """Upstream's `kid`: unpadded base64url of the SHA-256 of the public key's DER."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says; the authenticator checks the references still hold."""

    namespace: str
    service_account: str
    service_account_uid: str
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    node_uid: str = ""
    jti: str = ""
    audiences: tuple[str, ...] = ()

    def user(self) -> UserInfo:
        extra: dict[str, tuple[str, ...]] = {}
        if self.jti:
            extra["authentication.kubernetes.io/credential-id"] = (f"JTI={self.jti}",)
        if self.pod_name:
            extra["authentication.kubernetes.io/pod-name"] = (self.pod_name,)
            extra["authentication.kubernetes.io/pod-uid"] = (self.pod_uid,)
        if self.node_name:
            extra["authentication.kubernetes.io/node-name"] = (self.node_name,)
            if self.node_uid:
                extra["authentication.kubernetes.io/node-uid"] = (self.node_uid,)
        return UserInfo(service_account_username(self.namespace, self.service_account), self.service_account_uid,
                        service_account_groups(self.namespace), extra).with_authenticated()


class TokenSigner:
    """Issues and decodes the cluster's ServiceAccount tokens."""

    def __init__(self, key: rsa.RSAPrivateKey, now: Callable[[], float], issuer: str = ISSUER) -> None:
        self.key = key
        self.public_key = key.public_key()
        self.kid = key_id(key)
        self.now = now
        self.issuer = issuer
        self.audiences: tuple[str, ...] = (issuer,)
        # set by the server once the informers exist: (namespace, name) -> ServiceAccount or None
        self.service_account_lookup: Callable[[str, str], Obj | None] = lambda ns, name: None
        self.node_lookup: Callable[[str], Obj | None] = lambda name: None

    def issue(self, service_account: Obj, audiences: list[str] | tuple[str, ...], expiration_seconds: int,
              pod: Obj | None = None, node: Obj | None = None) -> tuple[str, int]:
        """A signed token and its expiry (epoch seconds of the cluster clock; for an extended token
        the requested one, which is what TokenRequest reports)."""
        meta = service_account["metadata"]
        issued = int(self.now())
        expires = issued + int(expiration_seconds)
        private: dict[str, Any] = {"namespace": meta["namespace"],
                                   "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")}}
        if pod is not None and expiration_seconds == WARN_ONLY_EXPIRATION:
            private["warnafter"] = expires
            expires = issued + EXTENDED_EXPIRATION
        if pod is not None:
            private["pod"] = {"name": pod["metadata"]["name"], "uid": pod["metadata"].get("uid", "")}
        if node is not None:
            private["node"] = {"name": node["metadata"]["name"], "uid": node["metadata"].get("uid", "")}
        claims = {"aud": list(audiences or self.audiences), "exp": expires, "iat": issued, "iss": self.issuer,
                  "jti": str(uuid.uuid4()), "kubernetes.io": private, "nbf": issued,
                  "sub": service_account_username(meta["namespace"], meta["name"])}
        token = jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, private.get("warnafter", expires)

    def decode(self, token: str, audiences: tuple[str, ...] | None = None) -> TokenClaims | None:
        """Verified claims, or None for anything that is not a valid, current token of ours for
        one of `audiences` (the API server's own by default)."""
        wanted = audiences or self.audiences
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                return None
            claims = jwt.decode(token, self.public_key, algorithms=[ALGORITHM], issuer=self.issuer,
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_aud": False, "require": ["exp", "iss", "sub"]})
        except jwt.PyJWTError:
            return None
        now = self.now()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            return None
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 60:
            return None
        aud = claims.get("aud")
        token_audiences = tuple(aud) if isinstance(aud, list) else (aud,) if isinstance(aud, str) else ()
        if not set(token_audiences) & set(wanted):
            return None
        private = claims.get("kubernetes.io")
        if not isinstance(private, dict):
            return None
        sa = private.get("serviceaccount") or {}
        pod = private.get("pod") or {}
        node = private.get("node") or {}
        if not isinstance(sa, dict) or not sa.get("name") or not private.get("namespace"):
            return None
        if claims.get("sub") != service_account_username(private["namespace"], sa["name"]):
            return None
        return TokenClaims(private["namespace"], sa["name"], sa.get("uid", ""),
                           pod.get("name", "") if isinstance(pod, dict) else "",
                           pod.get("uid", "") if isinstance(pod, dict) else "",
                           node.get("name", "") if isinstance(node, dict) else "",
                           node.get("uid", "") if isinstance(node, dict) else "",
                           str(claims.get("jti", "")), tuple(set(token_audiences) & set(wanted)))

    def token_source(self, pod: Obj, audience: str, expiration_seconds: int) -> str:
        """A token for the pod's ServiceAccount bound to the pod, as the kubelet requests for a
        projected serviceAccountToken volume (the process runtime calls this)."""
        meta = pod["metadata"]
        sa_name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        service_account = self.service_account_lookup(meta["namespace"], sa_name)
        if service_account is None:
            raise LookupError(f'serviceaccount "{sa_name}" not found in namespace "{meta["namespace"]}"')
        node_name = (pod.get("spec") or {}).get("nodeName", "")
        node = self.node_lookup(node_name) if node_name else None
        audiences = [audience] if audience else list(self.audiences)
        token, _ = self.issue(service_account, audiences, max(expiration_seconds, MIN_EXPIRATION), pod, node)
        return token
