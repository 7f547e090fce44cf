"""The agents' screens as a queued sink of the fan-out (policy ``drop``): the IO shell of
:mod:`callcenter.cti.pop`.

Every Asterisk's changes go through its :class:`PopBook`; a pop is sent, with the caller's last
calls looked up in the store (in a worker thread), to each screen open for the interface that
rings. Each screen has a bounded queue of its own: a screen that does not keep up is closed
(it reconnects and gets :meth:`AgentHub.attach`'s snapshot), so a slow browser never holds up
the others nor the daemon. Changes replayed at start-up (not live) update the books but pop
nothing: nobody should see a ring of an hour ago.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from callcenter.cti.pop import (
    PastCall,
    PopBook,
    Ringing,
    ScreenMessage,
    known_number,
    message_json,
    with_history,
)
from callcenter.fanout import Positioned

log = logging.getLogger("callcenter")

SCREEN_CAPACITY = 64  # messages waiting for one screen; a ring is a handful
History = Callable[[str, float], Sequence[PastCall]]  # (caller number, before) -> last calls


class Screen:
    """One open agent screen: its interface and the messages waiting to be sent to it."""

    def __init__(self, interface: str, capacity: int = SCREEN_CAPACITY) -> None:
        self.interface = interface
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(capacity)
        self.too_slow = asyncio.Event()  # set when a message found the queue full: close it

    def offer(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.too_slow.set()


class AgentHub:
    name = "agents"
    policy: Literal["drop", "catch_up"] = "drop"

    def __init__(self, history: History | None = None, repeat_window_s: float = 7 * 86400.0) -> None:
        self.history = history
        self.repeat_window_s = repeat_window_s
        self.books: dict[str, PopBook] = {}
        self.screens: dict[str, set[Screen]] = {}

    def attach(self, interface: str) -> Screen:
        """A screen for ``interface``, already holding what rings there and the call in hand."""
        screen = Screen(interface)
        for book in self.books.values():
            for message in book.screen(interface):
                screen.offer(message_json(message))
        self.screens.setdefault(interface, set()).add(screen)
        return screen

    def detach(self, screen: Screen) -> None:
        screens = self.screens.get(screen.interface)
        if screens is not None:
            screens.discard(screen)
            if not screens:
                del self.screens[screen.interface]

    async def consume(self, batch: Sequence[Positioned]) -> None:
        for item in batch:
            book = self.books.get(item.server)
            if book is None:
                book = self.books[item.server] = PopBook(item.server)
            for message in book.take(item.change):
                if item.live and message_interface(message) in self.screens:
                    await self._send(message)

    async def resync(self, lost_from: Positioned | None) -> None:
        # Changes were dropped: a book may hold rings that ended. Screens are told to clear;
        # the next ring pops normally.
        log.warning("agents' screens: changes were dropped; open screens are cleared")
        self.books.clear()
        for screens in self.screens.values():
            for screen in screens:
                screen.offer({"type": "reset"})

    async def _send(self, message: ScreenMessage) -> None:
        if isinstance(message, Ringing) and self.history is not None and known_number(message.pop.caller_num):
            pop = message.pop
            before = pop.arrived_at if pop.arrived_at is not None else pop.at
            try:
                past = await asyncio.to_thread(self.history, pop.caller_num, before)
            except Exception as exc:  # the store away: pop without history rather than not at all
                log.warning("agents' screens: no history for a pop: %s", exc)
            else:
                message = Ringing(with_history(pop, past, self.repeat_window_s))
        for screen in list(self.screens.get(message_interface(message), ())):
            screen.offer(message_json(message))


def message_interface(message: ScreenMessage) -> str:
    return message.pop.interface if isinstance(message, Ringing) else message.interface
