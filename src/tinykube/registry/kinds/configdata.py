"""core/v1 ConfigMap and Secret: key names, sizes, secret types, immutability, and the
Secret's stringData folded into data as upstream's conversion does."""

from __future__ import annotations

import base64
from typing import Any

from tinykube.machinery import errors
from tinykube.machinery.errors import FieldErrors
from tinykube.registry.kinds import checks
from tinykube.registry.kinds.common import Obj, as_dict, default_zero, key, semantic_equal

MAX_SIZE = 1 * 1024 * 1024
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


# ----------------------------------------------------------------------------- Secret


def default_secret(secret: Obj) -> None:
    """Type Opaque; stringData overwrites data (base64) and is never stored."""
    default_zero(secret, "type", "Opaque")
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = secret.get("data") if isinstance(secret.get("data"), dict) else {}
        for name, value in string_data.items():
            data[name] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data


def base64_error(text: str) -> str | None:
    """None when Go's base64.StdEncoding accepts `text`, else its error (CR and LF are skipped)."""
    src, pos = text.encode(), 0

    def skip_newlines(at: int) -> int:
        while at < len(src) and src[at] in (0x0A, 0x0D):
            at += 1
        return at

    def corrupt(offset: int) -> str:
        return f"illegal base64 data at input byte {offset}"

    while True:
        for count in range(4):
            pos = skip_newlines(pos)
            if pos == len(src):
                return None if count == 0 else corrupt(pos - count)
            char, pos = src[pos], pos + 1
            if char == ord("="):
                return _padding_error(src, pos, count, skip_newlines, corrupt)
            if char not in _BASE64_ALPHABET:
                return corrupt(pos - 1)


def _padding_error(src: bytes, pos: int, count: int, skip_newlines: Any, corrupt: Any) -> str | None:
    """After a `=` in a quantum: `xx==` or `xxx=`, then nothing but newlines."""
    if count < 2:
        return corrupt(pos - 1)
    if count == 2:
        pos = skip_newlines(pos)
        if pos == len(src):
            return corrupt(len(src))
        if src[pos] != ord("="):
            return corrupt(pos - 1)
        pos += 1
    pos = skip_newlines(pos)
    return corrupt(pos) if pos < len(src) else None


def check_secret_data(secret: Obj) -> None:
    """Secret data is []byte on the wire: undecodable base64 fails decoding (400) upstream."""
    for value in as_dict(secret.get("data")).values():
        problem = base64_error(value) if isinstance(value, str) else "json: cannot unmarshal into []byte"
        if problem:
            raise errors.bad_request(f'Secret in version "v1" cannot be handled as a Secret: {problem}')


def _decoded_size(value: Any) -> int:
    try:
        return len(base64.b64decode(value)) if isinstance(value, str) else 0
    except ValueError:
        return 0


def validate_secret(secret: Obj, old: Obj | None) -> FieldErrors:
    check_secret_data(secret)
    errs = FieldErrors()
    if old is not None:
        _validate_secret_update(errs, secret, old)
    data = as_dict(secret.get("data"))
    for name in data:
        for msg in checks.config_map_key_messages(name):
            errs.invalid(key("data", name), name, msg)
    if sum(_decoded_size(v) for v in data.values()) > MAX_SIZE:
        errs.too_long("data", "", MAX_SIZE)
    _validate_secret_type(errs, secret, data)
    return errs


def _validate_secret_update(errs: FieldErrors, secret: Obj, old: Obj) -> None:
    if secret.get("type") != old.get("type"):
        errs.invalid("type", secret.get("type") or "", "field is immutable")
    if old.get("immutable") is True:
        if secret.get("immutable") is not True:
            errs.forbidden("immutable", "field is immutable when `immutable` is set")
        if not semantic_equal(secret.get("data"), old.get("data")):
            errs.forbidden("data", "field is immutable when `immutable` is set")


SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def _validate_secret_type(errs: FieldErrors, secret: Obj, data: Obj) -> None:
    kind = secret.get("type") or ""
    if kind == "kubernetes.io/service-account-token":
        annotations = as_dict(as_dict(secret.get("metadata")).get("annotations"))
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.required("metadata.annotations[kubernetes.io/service-account.name]")
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs.required("data[username]")
            errs.required("data[password]")
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            errs.required("data[ssh-privatekey]")
    elif kind in SECRET_REQUIRED_KEYS:
        for name in SECRET_REQUIRED_KEYS[kind]:
            if name not in data:
                errs.required(key("data", name))


# ----------------------------------------------------------------------------- ConfigMap


def validate_config_map(cfg: Obj, old: Obj | None) -> FieldErrors:
    errs = FieldErrors()
    if old is not None and old.get("immutable") is True:
        if cfg.get("immutable") is not True:
            errs.forbidden("immutable", "field is immutable when `immutable` is set")
        for name in ("data", "binaryData"):
            if not semantic_equal(cfg.get(name), old.get(name)):
                errs.forbidden(name, "field is immutable when `immutable` is set")
    data, binary = as_dict(cfg.get("data")), as_dict(cfg.get("binaryData"))
    for name, value in data.items():
        for msg in checks.config_map_key_messages(name):
            errs.invalid(key("data", name), name, msg)
        if name in binary:
            errs.invalid(key("data", name), name, "duplicate of key present in binaryData")
    for name in binary:
        for msg in checks.config_map_key_messages(name):
            errs.invalid(key("binaryData", name), name, msg)
    size = sum(len(str(v).encode()) for v in data.values()) + sum(_decoded_size(v) for v in binary.values())
    if size > MAX_SIZE:
        errs.too_long("", "", MAX_SIZE)
    return errs
