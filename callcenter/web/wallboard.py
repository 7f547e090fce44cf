"""``/ws/wallboard``: the supervisors' wallboard over a websocket.

The first message is ``{"token": "..."}`` (``{}`` without ``web.api_token``), as for the agents'
screens; then a ``board`` message every second (callcenter.wallboard.live), built once per
moment on the event loop from the daemon's snapshot. A client that cannot take one in time is
sent the next one instead: nothing piles up for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from callcenter.wallboard.live import PUSH_S
from callcenter.web.screens import greeted

HELLO_EXAMPLE = '{"token": "..."}'


async def wallboard_feed(
    ws: WebSocket, snapshot: Callable[[], dict[str, Any]], expected: bytes | None, push_s: float = PUSH_S
) -> None:
    if await greeted(ws, expected, "wallboard", HELLO_EXAMPLE) is None:
        return
    receiving: asyncio.Task[Any] = asyncio.create_task(ws.receive())
    try:
        while True:
            started = time.monotonic()
            await ws.send_json(snapshot())
            pause = max(0.0, push_s - (time.monotonic() - started))
            done, _ = await asyncio.wait({receiving}, timeout=pause)
            if done:
                if receiving.result()["type"] == "websocket.disconnect":
                    return
                receiving = asyncio.create_task(ws.receive())  # a wallboard asks nothing
    except (WebSocketDisconnect, OSError, RuntimeError):
        return
    finally:
        receiving.cancel()
        with contextlib.suppress(Exception):
            if ws.application_state is not WebSocketState.DISCONNECTED:
                await ws.close()
