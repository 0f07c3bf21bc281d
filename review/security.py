"""Who may talk to the review server: only this machine's browser, holding the access token.

- The Host header must name the loopback address the server is bound to, so a web page on some
  other site cannot reach it through DNS rebinding (Starlette's ``TrustedHostMiddleware``).
- Every request except the static assets needs the token: from the address printed at start
  (``?token=``, which then sets a cookie for this port), the cookie, or the ``X-Tonescribe-Token``
  header. Requests that change data need the header itself: a cookie alone is not enough there,
  so another site's form cannot post edits on the user's behalf.
"""

from __future__ import annotations

import hmac
import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

TOKEN_HEADER = "x-tonescribe-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PREFIXES = ("/static/", "/favicon.ico")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def cookie_name(port: int) -> str:
    return f"tonescribe_token_{port}"  # cookies are shared across ports: one name per server


class TokenMiddleware:
    """Pure ASGI (so audio streams pass through untouched)."""

    def __init__(self, app, *, token: str, port: int):
        self.app = app
        self.token = token
        self.cookie = cookie_name(port)

    def _same(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(candidate.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(OPEN_PREFIXES):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        if self._same(headers.get(TOKEN_HEADER)):
            return await self.app(scope, receive, send)
        if method not in SAFE_METHODS:
            return await _refuse(send, 403, "this request changes data and needs the X-Tonescribe-Token header")
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if self._same(query.get("token")):
            rest = {k: v for k, v in query.items() if k != "token"}
            location = scope["path"] + (f"?{urlencode(rest)}" if rest else "")
            await send({"type": "http.response.start", "status": 303, "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()),
                (b"cache-control", b"no-store"), (b"content-length", b"0")]})
            return await send({"type": "http.response.body", "body": b""})
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:
            pass
        morsel = cookies.get(self.cookie)
        if morsel is not None and self._same(morsel.value):
            return await self.app(scope, receive, send)
        return await _refuse(send, 403, "open the address that `tonescribe review` printed (it carries ?token=...)")


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
