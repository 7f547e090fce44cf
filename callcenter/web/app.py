"""The web's routes: ``/healthz``, ``/api/queues``, ``/api/export/...`` and the agents' screen
(the page ``/agent`` and its websocket ``/ws/agent``) and the supervisors' wallboard (``/wallboard``,
``/ws/wallboard``), JSON errors for the rest.

Built from a :class:`~callcenter.web.view.CallCenterView`; the handlers read one snapshot and
serialise it with :mod:`callcenter.web.payloads`, nothing more. Unknown paths get 404 and wrong
methods 405, both as ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from callcenter.store import StoreError
from callcenter.web import export, payloads
from callcenter.web.auth import BearerTokenGuard, digest
from callcenter.web.screens import agent_screen
from callcenter.web.view import CallCenterView
from callcenter.web.wallboard import wallboard_feed

NO_STORE = {"Cache-Control": "no-store"}  # live figures: a cache would show old ones
# The page runs its own inline script and talks to this origin only (its websocket included).
PAGE_POLICY = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
}


def build_app(
    view: CallCenterView,
    *,
    api_token: str | None = None,
    agent_token: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    async def healthz(request: Request) -> Response:
        status, body = payloads.health(view.link_views())
        return JSONResponse(body, status_code=status, headers=NO_STORE)

    async def api_queues(request: Request) -> Response:
        return JSONResponse(payloads.queues(view.servers(), clock()), headers=NO_STORE)

    async def api_export(request: Request) -> Response:
        source = view.export_source()
        if source is None:
            return JSONResponse(
                {"error": "no store (store.enabled is false): nothing to export"}, status_code=404
            )
        target, zone = source
        name = request.path_params["name"]
        try:
            table, fmt, options = export.parse(name, dict(request.query_params), zone)
            columns, rows = await asyncio.to_thread(export.build, target, table, options)
        except export.BadExport as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except StoreError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        disposition = {"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE}
        return StreamingResponse(
            export.stream(fmt, columns, rows), media_type=export.FORMATS[fmt], headers=disposition
        )

    # Two roles: the API token (supervisors, analysts: the API, exports, the wallboard, and the
    # screens), and the agents' token (their screens only).
    expected = None if api_token is None else digest(api_token)
    for_agents = None if expected is None else [expected, *([digest(agent_token)] if agent_token else [])]
    pages = resources.files("callcenter.web").joinpath("pages")
    agent_page = pages.joinpath("agent.html").read_text(encoding="utf-8")
    wallboard_page = pages.joinpath("wallboard.html").read_text(encoding="utf-8")

    async def agent(request: Request) -> Response:
        return HTMLResponse(agent_page, headers=PAGE_POLICY)

    async def wallboard(request: Request) -> Response:
        return HTMLResponse(wallboard_page, headers=PAGE_POLICY)

    def board() -> dict[str, Any]:
        now = clock()
        return view.wallboard().snapshot(payloads.queues(view.servers(), now), now, view.asterisk_clocks())

    async def ws_wallboard(ws: WebSocket) -> None:
        await wallboard_feed(ws, board, expected)

    async def ws_agent(ws: WebSocket) -> None:
        await agent_screen(ws, view.agent_hub(), for_agents)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/agent", agent, methods=["GET"]),
        WebSocketRoute("/ws/agent", ws_agent),
        Route("/wallboard", wallboard, methods=["GET"]),
        WebSocketRoute("/ws/wallboard", ws_wallboard),
        Route("/api/queues", api_queues, methods=["GET"]),
        Route("/api/export/{name}", api_export, methods=["GET"]),
    ]
    middleware = [] if api_token is None else [Middleware(BearerTokenGuard, token=api_token)]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: _http_error})


def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"not found: {request.url.path} (try /healthz, /api/queues, /agent or /wallboard)"
    elif exc.status_code == 405:
        # Starlette lists a route's methods in set order; sorted, the answer is the same every time.
        allowed = sorted(method.strip() for method in headers.get("Allow", "").split(",") if method.strip())
        headers["Allow"] = ", ".join(allowed)
        message = f"method not allowed: {request.method} (allowed: {headers['Allow']})"
    else:
        message = exc.detail
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers)
