"""HTTP side of the web view: the static page under /ui/, the one-time login link, logout,
and the cookie check the API server's authentication consults."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.websockets import WebSocket

from tinykube.auth.user import ADMIN, UserInfo
from tinykube.ui.sessions import COOKIE, UI_HEADER, UISessions, same_origin

STATIC = Path(__file__).parent / "static"
LOGIN_PATH = "/ui/login"
# Who a UI session acts as: the kubeconfig's admin, since only its holder sees the link.


def _inline_script_hashes(html: str) -> str:
    """CSP hashes of the page's inline scripts (the import map), so no 'unsafe-inline' is needed."""
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
                    for s in scripts if s.strip())


def static_file(rel: str) -> Path | None:
    """The packaged file for a path below /ui/, never one outside the static directory."""
    candidate = (STATIC / (rel or "index.html")).resolve()
    if not candidate.is_relative_to(STATIC.resolve()) or not candidate.is_file():
        return None
    return candidate


class UIRoutes:
    """Serves /ui and keeps the login sessions."""

    def __init__(self) -> None:
        self.sessions = UISessions()
        index = (STATIC / "index.html").read_text()
        self.csp = ("default-src 'self'; script-src 'self' " + _inline_script_hashes(index) +
                    "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
                    "form-action 'self'; base-uri 'none'")

    def login_link(self, base_url: str) -> str:
        return f"{base_url}{LOGIN_PATH}?once={self.sessions.issue_link_nonce()}"

    def handles(self, path: str) -> bool:
        return path == "/ui" or path.startswith("/ui/")

    async def handle(self, request: Request, path: str) -> Response:
        if path == "/ui":
            return RedirectResponse("/ui/", 308)
        if path == LOGIN_PATH:
            return self.login(request)
        if path == "/ui/logout" and request.method == "POST":
            return self.logout(request)
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed", 405)
        found = static_file(path[len("/ui/"):])
        if found is None:
            return Response("not found", 404, media_type="text/plain")
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        if found.suffix in (".js", ".mjs"):
            media = "text/javascript"
        return FileResponse(found, media_type=media, headers=self.security_headers())

    def security_headers(self) -> dict[str, str]:
        return {"Content-Security-Policy": self.csp, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}

    def login(self, request: Request) -> Response:
        session = self.sessions.redeem(request.query_params.get("once", ""))
        if session is None:
            return HTMLResponse("<!doctype html><title>tinykube: login link refused</title>"
                                "<h1>This login link was already used or is not known</h1>"
                                "<p>Each link printed by <code>tinykube server</code> works once. "
                                "<a href=\"/ui/\">Log in with the kubeconfig's token</a>.</p>", 401,
                                headers=self.security_headers())
        response = RedirectResponse("/ui/", 303, headers={"Referrer-Policy": "no-referrer"})
        response.set_cookie(COOKIE, session, httponly=True, secure=True, samesite="strict", path="/")
        return response

    def logout(self, request: Request) -> Response:
        if not request.headers.get(UI_HEADER) or not same_origin(request.headers):
            return Response("forbidden", 403)
        session = request.cookies.get(COOKIE)
        if session:
            self.sessions.end(session)
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    def cookie_user(self, request: Request) -> UserInfo | None:
        """The user of a request authenticated by a UI session cookie: only the page's own
        same-origin requests, which carry the UI header a cross-site form or fetch cannot send."""
        session = request.cookies.get(COOKIE)
        if not session or not request.headers.get(UI_HEADER) or not same_origin(request.headers):
            return None
        return ADMIN if self.sessions.valid(session) else None  # a link's session acts as the admin

    def websocket_user(self, ws: WebSocket) -> UserInfo | None:
        """The same for a WebSocket, which cannot carry the UI header: a browser always sends
        Origin on one, and only the page's own origin may use the cookie (no cross-site hijack)."""
        session = ws.cookies.get(COOKIE)
        if not session or "origin" not in ws.headers or not same_origin(ws.headers):
            return None
        return ADMIN if self.sessions.valid(session) else None  # a link's session acts as the admin
