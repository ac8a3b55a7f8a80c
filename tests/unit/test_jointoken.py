"""Join tokens (k3s's K10 format) and the cluster secrets sealed with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykube import clustersecrets
from tinykube.jointoken import JoinToken, ca_hash, format_token, parse_token

HASH = "ab" * 32


@pytest.mark.parametrize("text,expected", [
    (f"K10{HASH}::server:s3cret", JoinToken("s3cret", HASH)),
    (f"K10{HASH.upper()}::node:abc", JoinToken("abc", HASH)),
    ("plain-secret", JoinToken("plain-secret")),
    ("  K10notatoken  ", JoinToken("K10notatoken")),
])
def test_parse_token(text: str, expected: JoinToken) -> None:
    assert parse_token(text) == expected


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    ("K10abc::server:x", "sha256"),
    (f"K10{HASH}::server:", "no secret"),
])
def test_parse_token_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_token(text)


def test_format_round_trips() -> None:
    token = format_token("s", ca_hash(b"pem"))
    assert str(parse_token(token)) == token and parse_token(token).ca_hash == ca_hash(b"pem")


def test_secrets_seal_and_unseal(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "pki" / "ca.key").write_bytes(b"key")
    (tmp_path / "pki" / "ca.crt").write_bytes(b"crt")
    (tmp_path / "pki" / "serving.key").write_bytes(b"mine only")
    files = clustersecrets.secret_files(tmp_path)
    assert files == {"token": b"t\n", "pki/ca.crt": b"crt", "pki/ca.key": b"key"}
    sealed = clustersecrets.seal(files, "t")
    assert b"key" not in sealed.replace(b"\"salt\"", b"")
    assert clustersecrets.unseal(sealed, "t") == files
    with pytest.raises(clustersecrets.SecretsError, match="does not match"):
        clustersecrets.unseal(sealed, "other")


def test_publish_then_join_and_merge_new_key_files(tmp_path: Path) -> None:
    """The first server stores its set; a later server adds a file the set lacked; a third gets both."""
    import asyncio

    from tinykube.storage.sqlite import SqliteStore

    def data_dir(name: str, files: dict[str, bytes]) -> Path:
        d = tmp_path / name
        clustersecrets.write_files(d, files)
        return d

    async def main() -> None:
        store = await SqliteStore.open(tmp_path / "state.db")
        first = data_dir("a", {"token": b"t\n", "pki/ca.crt": b"crt", "pki/ca.key": b"key"})
        assert await clustersecrets.join(store, first, None) is False
        assert await clustersecrets.publish(store, first, "t")
        second = tmp_path / "b"
        assert await clustersecrets.join(store, second, "t")
        assert clustersecrets.secret_files(second) == clustersecrets.secret_files(first)
        clustersecrets.write_files(second, {"pki/sa.key": b"signing"})
        assert await clustersecrets.publish(store, second, "t")
        third = tmp_path / "c"
        assert await clustersecrets.join(store, third, "t")
        assert clustersecrets.secret_files(third)["pki/sa.key"] == b"signing"
        with pytest.raises(clustersecrets.SecretsError, match="start this server with --token"):
            await clustersecrets.join(store, tmp_path / "d", None)
        await store.close()
    asyncio.run(main())
