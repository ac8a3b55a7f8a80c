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


def kubeconfig_text(server_url: str, token: str, ca_pem: bytes) -> str:
    cluster = {"server": server_url, "certificate-authority-data": base64.b64encode(ca_pem).decode()}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": cluster}],
        "users": [{"name": NAME, "user": {"token": token}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME, "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(path: Path, server_url: str, token: str, ca_pem: bytes) -> None:
    _write_private(path, kubeconfig_text(server_url, token, ca_pem))
