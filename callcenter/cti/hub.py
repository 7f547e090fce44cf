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
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

from callcenter.cti.pop import (
    PastCall,
    Pop,
    PopBook,
    Ringing,
    ScreenMessage,
    known_number,
    message_json,
    with_history,
)
from callcenter.cti.tickets import (
    DEFAULT_CATEGORIES,
    RESOLVE_HOURS,
    Ticket,
    TicketError,
    follow_up,
    ticket_from_form,
    ticket_json,
)
from callcenter.fanout import Positioned
from callcenter.queues.tracker import Tracker

log = logging.getLogger("callcenter")

SCREEN_CAPACITY = 64  # messages waiting for one screen; a ring is a handful
History = Callable[[str, float], Sequence[PastCall]]  # (caller number, before) -> last calls


class TicketStore(Protocol):
    """Where tickets live (the store: ``SqlStore``); called in a worker thread."""

    def ticket(self, server: str, call_id: str) -> Ticket | None: ...

    def save_ticket(self, ticket: Ticket) -> None: ...

    def open_tickets(self, caller: str, limit: int = 20) -> list[Ticket]: ...

    def unsolved_tickets(self, limit: int = 500) -> list[Ticket]: ...


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

    def __init__(
        self,
        history: History | None = None,
        repeat_window_s: float = 7 * 86400.0,
        *,
        tickets: TicketStore | None = None,
        categories: Sequence[str] = DEFAULT_CATEGORIES,
        resolve_hours: Mapping[str, float] = RESOLVE_HOURS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.history = history
        self.repeat_window_s = repeat_window_s
        self.tickets = tickets
        self.categories = tuple(categories)
        self.resolve_hours = dict(resolve_hours)
        self.clock = clock
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

    def seed(self, server: str, tracker: Tracker) -> None:
        """After a restart from a checkpoint: the calls in progress, from the restored tracker."""
        book = self.books[server] = PopBook(server)
        book.seed(tracker)

    def detach(self, screen: Screen) -> None:
        screens = self.screens.get(screen.interface)
        if screens is not None:
            screens.discard(screen)
            if not screens:
                del self.screens[screen.interface]

    async def consume(self, batch: Sequence[Positioned]) -> None:
        pasts: dict[str, Pop] = {}  # a ring to many phones (ringall) looks its caller up once
        for item in batch:
            book = self.books.get(item.server)
            if book is None:
                book = self.books[item.server] = PopBook(item.server)
            for message in book.take(item.change):
                if item.live and message_interface(message) in self.screens:
                    await self._send(message, pasts)

    async def resync(self, lost_from: Positioned | None) -> None:
        # Changes were dropped: a book may hold rings and calls that ended. Screens are told to
        # clear; the next ring pops normally, and the calls answered stay documentable.
        log.warning("agents' screens: changes were dropped; open screens are cleared")
        for book in self.books.values() if lost_from is None else [self.books.get(lost_from.server)]:
            if book is not None:
                book.forget_live()
        for screens in self.screens.values():
            for screen in screens:
                screen.offer({"type": "reset"})

    def hello(self, interface: str) -> dict[str, Any]:
        """The first message a screen gets: what its ticket form offers."""
        return {"type": "hello", "interface": interface, "categories": list(self.categories),
                "tickets": self.tickets is not None}  # fmt: skip

    async def save_ticket(self, interface: str, form: Mapping[str, Any]) -> dict[str, Any]:
        """A ticket a screen sent for a call its phone answered: the reply to send back to it."""
        call_id = form.get("call_id")
        found = (book.answered(interface, str(call_id)) for book in self.books.values())
        pop = next((p for p in found if p is not None), None)
        if self.tickets is None:
            return {"type": "ticket_error", "call_id": call_id, "error": "no store here: tickets are off"}
        if pop is None:
            return {"type": "ticket_error", "call_id": call_id,
                    "error": f"call_id: {call_id!r} is no call this phone answered"}  # fmt: skip
        store = self.tickets
        try:
            existing = await asyncio.to_thread(store.ticket, pop.server, pop.call_id)
            call = {"call_id": pop.call_id, "caller_num": pop.caller_num, "caller_name": pop.caller_name,
                    "queue": pop.queue, "member": pop.member, "interface": pop.interface}  # fmt: skip
            ticket = ticket_from_form(form, server=pop.server, call=call, existing=existing,
                                      categories=self.categories, now=self.clock(),
                                      resolve_hours=self.resolve_hours)  # fmt: skip
            await asyncio.to_thread(store.save_ticket, ticket)
        except TicketError as exc:
            return {"type": "ticket_error", "call_id": call_id, "error": str(exc)}
        except Exception as exc:  # the store failed: the agent must know it was not saved
            log.warning("agents' screens: a ticket was not saved: %s", exc)
            return {"type": "ticket_error", "call_id": call_id, "error": f"not saved: {exc}"}
        return {"type": "ticket_saved", **ticket_json(ticket)}

    async def cases(self) -> dict[str, Any]:
        """The unsolved tickets, nearest deadline first: what level 2 and the agents follow up."""
        if self.tickets is None:
            return {"type": "ticket_error", "error": "no store here: tickets are off"}
        try:
            found = await asyncio.to_thread(self.tickets.unsolved_tickets)
        except Exception as exc:
            log.warning("agents' screens: the open cases were not read: %s", exc)
            return {"type": "ticket_error", "error": f"not read: {exc}"}
        return {"type": "cases", "tickets": [ticket_json(t) for t in found]}

    async def update_case(self, form: Mapping[str, Any]) -> dict[str, Any]:
        """A new status (level, note) for a saved ticket: ``server`` and ``call_id`` name it."""
        server, call_id = form.get("server"), form.get("call_id")
        if self.tickets is None:
            return {"type": "ticket_error", "error": "no store here: tickets are off"}
        if not isinstance(server, str) or not isinstance(call_id, str):
            return {"type": "ticket_error", "error": "server and call_id: the ticket's, as text"}
        store = self.tickets
        try:
            existing = await asyncio.to_thread(store.ticket, server, call_id)
            if existing is None:
                return {"type": "ticket_error", "error": f"no ticket {server}-{call_id}"}
            ticket = follow_up(existing, form, self.clock())
            await asyncio.to_thread(store.save_ticket, ticket)
        except TicketError as exc:
            return {"type": "ticket_error", "error": str(exc)}
        except Exception as exc:
            log.warning("agents' screens: a ticket was not updated: %s", exc)
            return {"type": "ticket_error", "error": f"not saved: {exc}"}
        return {"type": "ticket_saved", **ticket_json(ticket)}

    async def _send(self, message: ScreenMessage, pasts: dict[str, Pop]) -> None:
        if isinstance(message, Ringing) and known_number(message.pop.caller_num):
            pop = message.pop
            looked = pasts.get(pop.call_id)
            if looked is None:
                looked = pasts[pop.call_id] = await self._with_past(pop)
            message = Ringing(dataclasses.replace(pop, history=looked.history, repeat=looked.repeat,
                                                  open_tickets=looked.open_tickets))  # fmt: skip
        for screen in list(self.screens.get(message_interface(message), ())):
            screen.offer(message_json(message))

    async def _with_past(self, pop: Pop) -> Pop:
        """The pop with the number's last calls and open tickets from the store (without them,
        rather than no pop at all, when the store fails)."""
        before = pop.arrived_at if pop.arrived_at is not None else pop.at
        try:
            if self.history is not None:
                past = await asyncio.to_thread(self.history, pop.caller_num, before)
                pop = with_history(pop, past, self.repeat_window_s)
            if self.tickets is not None:
                open_ = await asyncio.to_thread(self.tickets.open_tickets, pop.caller_num)
                pop = dataclasses.replace(pop, open_tickets=tuple(open_))
        except Exception as exc:
            log.warning("agents' screens: a pop goes without the caller's past: %s", exc)
        return pop


def message_interface(message: ScreenMessage) -> str:
    return message.pop.interface if isinstance(message, Ringing) else message.interface
