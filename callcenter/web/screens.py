"""``/ws/agent``: an agent's screen over a websocket, fed by the hub (callcenter.cti.hub).

The browser's first message says which phone it follows and, when ``web.api_token`` is set,
the token (a browser cannot put headers on a websocket): ``{"interface": "PJSIP/1001", "token":
"..."}``, within 5 s. Then the server sends ``{"type": "hello", ...}``, what rings there now, and
each screen message as JSON. The screen may then send ``{"type": "ticket", "call_id": ...,
"category": ..., ...}`` for a call its phone answered (callcenter.cti.tickets); the answer is
``ticket_saved`` or ``ticket_error`` with the reason. A refused or malformed hello is closed
with a 44xx code and its reason, and one warning line; a screen too slow to take its messages is
closed with 1013 (try again: it reconnects and gets the snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from callcenter.cti.hub import AgentHub
from callcenter.web.auth import token_matches

log = logging.getLogger("callcenter.web")

HELLO_S = 5.0
HELLO_EXAMPLE = '{"interface": "PJSIP/1001", "token": "..."}'
MAX_INTERFACE = 200


async def greeted(
    ws: WebSocket, expected: bytes | Sequence[bytes] | None, what: str, example: str
) -> dict[str, Any] | None:
    """Accept the socket and read its first message, a JSON object with the token (when one is
    set) within 5 s; None once refused (closed with 4408, 4400 or 4401 and one warning line).
    ``what`` names the page in that line, ``example`` is the hello it expects."""
    await ws.accept()
    client = _client(ws)
    try:
        first = await asyncio.wait_for(ws.receive(), HELLO_S)
    except TimeoutError:
        await _refuse(
            ws, 4408, f"no hello within {HELLO_S:.0f} s: the first message must be {example}", what, client
        )
        return None
    if first["type"] == "websocket.disconnect":
        return None
    hello = _json(first.get("text"))
    if not isinstance(hello, dict):
        await _refuse(ws, 4400, f"the first message must be {example}", what, client)
        return None
    if expected is not None and not token_matches(hello.get("token"), expected):
        await _refuse(ws, 4401, "missing or wrong token", what, client)
        return None
    return hello


async def agent_screen(ws: WebSocket, hub: AgentHub, expected: Sequence[bytes] | None) -> None:
    hello = await greeted(ws, expected, "agent screen", HELLO_EXAMPLE)
    if hello is None:
        return
    interface = hello.get("interface")
    if not isinstance(interface, str) or not 0 < len(interface) <= MAX_INTERFACE:
        return await _refuse(
            ws, 4400, f"the first message must be {HELLO_EXAMPLE}", "agent screen", _client(ws)
        )
    screen = hub.attach(interface)
    receiving: asyncio.Task[Any] = asyncio.create_task(ws.receive())
    slow = asyncio.create_task(screen.too_slow.wait())
    try:
        await ws.send_json(hub.hello(interface))
        while True:
            getting = asyncio.create_task(screen.queue.get())
            done, _ = await asyncio.wait({receiving, getting, slow}, return_when=asyncio.FIRST_COMPLETED)
            if getting in done:
                await ws.send_json(getting.result())
            else:
                getting.cancel()
            if slow in done:
                log.warning(
                    "web: agent screen of %s at %s closed: too slow to keep up", interface, _client(ws)
                )
                await ws.close(1013, "too slow: reconnect for the current state")
                return
            if receiving in done:
                message = receiving.result()
                if message["type"] == "websocket.disconnect":
                    return
                await ws.send_json(await _answer(hub, interface, message.get("text")))
                receiving = asyncio.create_task(ws.receive())
    except (WebSocketDisconnect, OSError, RuntimeError):
        return  # the browser went away mid-send
    finally:
        hub.detach(screen)
        for task in (receiving, slow):
            task.cancel()
        with contextlib.suppress(Exception):
            if ws.application_state is not WebSocketState.DISCONNECTED:
                await ws.close()


async def _answer(hub: AgentHub, interface: str, text: str | None) -> dict[str, Any]:
    """What a screen asked: to save the ticket of a call it answered, the open cases, or a case's
    follow-up."""
    asked = _json(text)
    kind = asked.get("type") if isinstance(asked, dict) else None
    if kind == "ticket":
        assert isinstance(asked, dict)
        return await hub.save_ticket(interface, asked)
    if kind == "cases":
        return await hub.cases()
    if kind == "follow_up":
        assert isinstance(asked, dict)
        return await hub.update_case(asked)
    return {"type": "error", "error": 'not understood: "type" is one of ticket, cases, follow_up'}


def _client(ws: WebSocket) -> str:
    return ws.client.host if ws.client else "an unknown address"


def _json(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None


async def _refuse(ws: WebSocket, code: int, reason: str, what: str, client: str) -> None:
    log.warning("web: %s from %s refused: %s", what, client, reason)
    await ws.close(code, reason)
