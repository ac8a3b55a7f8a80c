"""Credentials of the cluster: the bearer token made at first start and the kubeconfig file."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import yaml

NAME = "tinykube"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_or_create_token(data_dir: Path) -> str:
    path = data_dir / "token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    _write_private(path, token + "\n")
    return token


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig_text(server_url: str, token: str, ca_pem: bytes, client_cert: bytes | None = None,
                    client_key: bytes | None = None) -> str:
    """The admin's kubeconfig: the CA to verify the server, the admin client certificate (user
    tinykube-admin in system:masters) and the static token, either of which authenticates."""
    cluster = {"server": server_url, "certificate-authority-data": _b64(ca_pem)}
    user: dict[str, str] = {}
    if client_cert and client_key:
        user = {"client-certificate-data": _b64(client_cert), "client-key-data": _b64(client_key)}
    user["token"] = token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": NAME, "user": user}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(path: Path, server_url: str, token: str, ca_pem: bytes, client_cert: bytes | None = None,
                     client_key: bytes | None = None) -> None:
    _write_private(path, kubeconfig_text(server_url, token, ca_pem, client_cert, client_key))
