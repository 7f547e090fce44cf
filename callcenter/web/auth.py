"""The bearer token that guards ``/api/*`` when ``web.api_token`` is set.

``/healthz`` never needs it (a load balancer or a monitoring probe has no token). A refused
request gets 401 with ``WWW-Authenticate: Bearer`` and one warning line naming the client's
address (behind a reverse proxy on the same host, the address it forwarded) and never the token.
The comparison takes the same time whatever the token offered: both sides are hashed first, so
not even the token's length leaks.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("callcenter.web")

REFUSED = "missing or wrong bearer token"
GUARDED = "/api"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def offered_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme in any case), else None."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_matches(offered: object, expected: bytes | Sequence[bytes]) -> bool:
    """The offered token (any JSON value a client sent) is an expected one, by their digests
    (each compared, whichever matches: the time does not tell which)."""
    if not isinstance(offered, str):
        return False
    mine = digest(offered)
    wanted = [expected] if isinstance(expected, bytes) else list(expected)
    return sum(hmac.compare_digest(mine, e) for e in wanted) > 0


def guarded(path: str) -> bool:
    return path == GUARDED or path.startswith(GUARDED + "/")


class BearerTokenGuard:
    """ASGI middleware: HTTP requests under ``/api`` need the token; everything else passes."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = digest(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # HTTP only: a browser cannot set headers on a websocket, so the agents' screens
        # (/ws/agent) show the token in their first message (callcenter.web.screens).
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        offered = offered_token(Headers(scope=scope).get("authorization"))
        if offered is not None and hmac.compare_digest(digest(offered), self._expected):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        log.warning(
            "web: refused %s %r from %s: %s bearer token",
            scope["method"],
            scope["path"],
            client[0] if client else "an unknown address",
            "no" if offered is None else "a wrong",
        )
        response = JSONResponse({"error": REFUSED}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
