"""One-time login links and the browser sessions they open.

The link printed at server start carries a random nonce that can be redeemed once; redeeming
it opens a session whose id travels only in an HttpOnly cookie. Both live in memory: a server
restart prints a new link and forgets old sessions, which is what a local cluster wants.
"""

from __future__ import annotations

import hmac
import secrets
import threading

COOKIE = "tinykube-ui-session"
# A cookie-authenticated API request must carry this header: a cross-site page cannot add a
# custom header without a CORS preflight, which this server never grants (CSRF defence).
UI_HEADER = "x-tinykube-ui"


class UISessions:
    """Nonces of unused login links, and ids of open sessions."""

    def __init__(self) -> None:
        self._nonces: set[str] = set()
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    def issue_link_nonce(self) -> str:
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            self._nonces.add(nonce)
        return nonce

    def redeem(self, nonce: str) -> str | None:
        """The new session id for an unused nonce (which is then spent), else None."""
        with self._lock:
            match = next((n for n in self._nonces if hmac.compare_digest(n.encode(), nonce.encode())), None)
            if match is None:
                return None
            self._nonces.discard(match)
            session = secrets.token_urlsafe(32)
            self._sessions.add(session)
            return session

    def valid(self, session: str) -> bool:
        with self._lock:
            return any(hmac.compare_digest(s.encode(), session.encode()) for s in self._sessions)

    def end(self, session: str) -> None:
        with self._lock:
            self._sessions.discard(session)


def same_origin(headers: dict[str, str] | object) -> bool:
    """Whether the browser says the request comes from our own page (Fetch Metadata, Origin)."""
    get = headers.get  # type: ignore[attr-defined]
    site = get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False
    origin = get("origin")
    if origin is not None:
        host = get("host", "")
        return origin.split("://", 1)[-1] == host
    return True
