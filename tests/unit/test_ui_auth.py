"""The web view's login pieces: one-time link nonces, the same-origin rule, the WebSocket bearer subprotocol."""

from __future__ import annotations

import base64

import pytest

from tinykube.apiserver.watch_ws import bearer_token, chosen_protocol
from tinykube.ui.routes import static_file
from tinykube.ui.sessions import UISessions, same_origin


def test_a_link_nonce_opens_one_session_once() -> None:
    sessions = UISessions()
    nonce = sessions.issue_link_nonce()
    session = sessions.redeem(nonce)
    assert session and sessions.valid(session)
    assert sessions.redeem(nonce) is None
    assert not sessions.valid(nonce)
    sessions.end(session)
    assert not sessions.valid(session)


def test_unknown_nonces_open_nothing() -> None:
    sessions = UISessions()
    sessions.issue_link_nonce()
    assert sessions.redeem("") is None
    assert sessions.redeem("guess") is None


@pytest.mark.parametrize("headers, same", [
    ({}, True),  # a non-browser client with the header and cookie: nothing cross-site about it
    ({"sec-fetch-site": "same-origin"}, True),
    ({"sec-fetch-site": "cross-site"}, False),
    ({"sec-fetch-site": "same-site"}, False),
    ({"sec-fetch-site": "none"}, False),
    ({"origin": "https://127.0.0.1:6443", "host": "127.0.0.1:6443"}, True),
    ({"origin": "https://evil.example", "host": "127.0.0.1:6443"}, False),
    ({"origin": "null", "host": "127.0.0.1:6443"}, False),
])
def test_same_origin(headers: dict[str, str], same: bool) -> None:
    assert same_origin(headers) is same


def _proto(token: str) -> str:
    return "base64url.bearer.authorization.k8s.io." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


@pytest.mark.parametrize("protocols, token", [
    ([], None),
    (["tinykube.watch"], None),
    ([_proto("abc"), "tinykube.watch"], "abc"),
    ([_proto("a-token_with+/chars=")], "a-token_with+/chars="),
    (["base64url.bearer.authorization.k8s.io.%%%"], None),
])
def test_bearer_token_from_subprotocol(protocols: list[str], token: str | None) -> None:
    assert bearer_token(protocols) == token


@pytest.mark.parametrize("protocols, chosen", [
    ([], None),
    ([_proto("abc")], None),
    ([_proto("abc"), "tinykube.watch"], "tinykube.watch"),
])
def test_the_answered_subprotocol_is_never_the_credential(protocols: list[str], chosen: str | None) -> None:
    assert chosen_protocol(protocols) == chosen


@pytest.mark.parametrize("rel, found", [
    ("", "index.html"), ("app.js", "app.js"), ("vendor/uPlot.esm.js", "uPlot.esm.js"),
    ("../routes.py", None), ("../../server.py", None), ("missing.js", None), ("vendor", None),
])
def test_static_files_stay_inside_the_package_directory(rel: str, found: str | None) -> None:
    path = static_file(rel)
    assert (path.name if path else None) == found
