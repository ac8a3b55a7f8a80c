"""The cluster's secrets shared by every server on one datastore, the k3s way.

The first server on an empty datastore makes the token and the CA as a lone server does, then
stores them in the datastore encrypted with a key derived from the token. A later server
started with `--token` finds them there, decrypts them into its own data dir and so serves
with the same CA and token: one kubeconfig works against every server. Without the token the
stored secrets cannot be read, and a wrong token is refused.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from tinykube.storage.interface import KeyExistsError, KeyNotFoundError, RevisionMismatchError, Store

KEY = "/tinykube/bootstrap"
ITERATIONS = 100_000
SKIPPED = ("serving.",)  # per-server files: each server issues its own serving certificate


class SecretsError(Exception):
    pass


def secret_files(data_dir: Path) -> dict[str, bytes]:
    """The files every server must share: the token and the CA (and any other key in pki/)."""
    files: dict[str, bytes] = {}
    token = data_dir / "token"
    if token.exists():
        files["token"] = token.read_bytes()
    pki = data_dir / "pki"
    if pki.is_dir():
        for path in sorted(pki.iterdir()):
            if path.is_file() and not path.name.startswith(SKIPPED):
                files[f"pki/{path.name}"] = path.read_bytes()
    return files


def _fernet(secret: str, salt: bytes) -> Fernet:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=ITERATIONS)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode())))


def seal(files: dict[str, bytes], secret: str) -> bytes:
    salt = os.urandom(16)
    payload = json.dumps({name: base64.b64encode(data).decode() for name, data in files.items()}).encode()
    return json.dumps({"salt": base64.b64encode(salt).decode(),
                       "data": _fernet(secret, salt).encrypt(payload).decode()}).encode()


def unseal(blob: bytes, secret: str) -> dict[str, bytes]:
    try:
        outer = json.loads(blob)
        payload = _fernet(secret, base64.b64decode(outer["salt"])).decrypt(outer["data"].encode())
    except InvalidToken:
        raise SecretsError("the token does not match the cluster stored in the datastore") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SecretsError(f"the cluster secrets in the datastore are unreadable: {exc}") from None
    return {name: base64.b64decode(data) for name, data in json.loads(payload).items()}


def write_files(data_dir: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)


async def join(store: Store, data_dir: Path, secret: str | None) -> bool:
    """Before the server makes its own secrets: take the cluster's from the datastore if there.

    True when the datastore held secrets (now written into `data_dir`). Without them and with a
    `secret` given, the data dir's token becomes that secret, so the first server uses it.
    """
    kv = await store.get(KEY)
    if kv is None:
        if secret:
            write_files(data_dir, {"token": (secret + "\n").encode()})
        return False
    if secret is None:
        token = data_dir / "token"
        if not token.exists():
            raise SecretsError("the datastore already holds a cluster: start this server with --token "
                               "(the first server prints it and keeps it in DATA_DIR/node-token)")
        secret = token.read_text().strip()
    write_files(data_dir, unseal(kv.value, secret))
    return True


async def publish(store: Store, data_dir: Path, secret: str) -> bool:
    """Store this server's secrets: all of them on an empty datastore, else the files the stored
    set lacks (a key file a newer version makes), so every server ends up with one set.

    False if another server stored its own set first: then this one must join instead.
    """
    files = secret_files(data_dir)
    kv = await store.get(KEY)
    if kv is None:
        try:
            await store.create(KEY, seal(files, secret))
        except KeyExistsError:
            return False
        return True
    stored = unseal(kv.value, secret)
    missing = {name: data for name, data in files.items() if name not in stored}
    if missing:
        try:
            await store.update(KEY, seal({**stored, **missing}, secret), kv.mod_revision)
        except (RevisionMismatchError, KeyNotFoundError):
            pass  # another server changed them at the same moment; the next start merges again
    return True
