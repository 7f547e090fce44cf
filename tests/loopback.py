"""A TCP server on a free loopback port for the tests' fake peers (FakeAmi, Playback).

``async with`` starts it and, on the way out, stops accepting, lets the subclass drop its
sessions (``_drop_sessions``), cancels every tracked task and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self


class LoopbackServer:
    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _drop_sessions(self) -> None:
        """Called when the server stops, before its tasks are cancelled."""

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        self._drop_sessions()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port
