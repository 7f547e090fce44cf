"""One AMI client connection of the simulator: its login state, event mask, bounded outbox and the
tasks that read its actions and write what it is sent.

Owns what belongs to a single connection and nothing shared: the session decides no action (each
one it reads goes to the handler the server passes to :meth:`Session.serve`), knows nothing of
the PBX or of virtual time, and never sees another session. Must not import
:mod:`callcenter.simulator.server` (which creates and drives sessions), the PBX, the daemon or
``callcenter.ami``: the tests use our AMI client as the peer, so sharing its codec would make them
circular.

Rules (main/manager.c of Asterisk 22 and the traces in tests/traces; each is tested in
tests/test_sim_server.py; the server's rules are those of :mod:`callcenter.simulator.server`):

1. A session opens with the banner line and nothing else.
2. Every session has its own outbox, bounded in messages (``max_session_backlog``), used only
   when its socket does not keep up (or during a stall): a session whose outbox is full is
   dropped with a "client too slow" warning (Asterisk's writetimeout); no other session waits.
3. Actions are handled one at a time, in the order read; a Logoff or a failed login closes the
   session once its outbox is written (the Goodbye or the error goes out first), nothing after it
   is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from callcenter.simulator.manager import ALL, BANNER, ActionReader

# The server's logger: a session's lines (connected, too slow, ended) keep the name they had
# before sessions had a module of their own, so existing log filters still see them.
log = logging.getLogger("callcenter.simulator.server")

READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One connected client, for tests and the demo's status line."""

    id: int  # 1, 2, ... in connection order, never reused while the server runs
    peer: str
    logged_in: bool
    event_classes: frozenset[str]


class Session:
    """One client connection: its login state, mask and bounded outbox.

    A message goes straight to the transport while nothing is queued, no stall is on and the
    transport holds at most its high-water mark (64 KiB) beyond what the kernel took; otherwise
    it waits in the outbox, which the session's writer task empties as the socket drains."""

    def __init__(
        self,
        sid: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limit: int,
        writing: asyncio.Event,
    ) -> None:
        self.id = sid
        self.reader = reader
        self.writer = writer
        self._transport = writer.transport
        self._high = writer.transport.get_write_buffer_limits()[1]
        self._writing = writing  # the server's: cleared while stalled
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.limit = limit
        self.outbox: deque[bytes] = deque()
        self.ready = asyncio.Event()  # the outbox has something, or the session ends
        self.closing = False  # close once the outbox is written (Logoff, failed login)
        self.dead = False
        self.logged_in = False
        self.mask = ALL
        self.challenge: str | None = None
        self.task: asyncio.Task[None] | None = None

    def send(self, data: bytes) -> None:
        if self.dead or self.closing:
            return
        if (
            not self.outbox
            and self._writing.is_set()
            and self._transport.get_write_buffer_size() <= self._high
        ):
            self._transport.write(data)
            return
        if len(self.outbox) >= self.limit:
            log.warning(
                "AMI simulator: session %d (%s): client too slow: %d messages queued; dropping it",
                self.id,
                self.peer,
                len(self.outbox),
            )
            self.abort()
            return
        self.outbox.append(data)
        self.ready.set()

    def close_when_flushed(self) -> None:
        self.closing = True
        self.ready.set()

    def take(self) -> bytes:
        data = b"".join(self.outbox)
        self.outbox.clear()
        self.ready.clear()
        return data

    def abort(self) -> None:
        """Close the TCP connection at once, whatever is queued (no Goodbye)."""
        self.dead = True
        self.ready.set()
        self._transport.abort()

    def info(self) -> SessionInfo:
        return SessionInfo(self.id, self.peer, self.logged_in, self.mask)

    async def serve(
        self,
        tg: asyncio.TaskGroup,
        handle: Callable[[Session, list[tuple[str, str]]], Awaitable[None]],
        ended: Callable[[Session], None],
    ) -> None:
        """Send the banner, then read actions and ``handle`` each until the client, a Logoff, a
        failed login or an abort ends the session; ``ended`` is called once it is closed."""
        writer = tg.create_task(self._write_loop(), name=f"ami-sim-session-{self.id}-writer")
        log.info("AMI simulator: session %d connected from %s", self.id, self.peer)
        reason = "closed by the client"
        try:
            self.send(BANNER)
            parser = ActionReader()
            while not (self.closing or self.dead):
                data = await self.reader.read(READ_SIZE)
                if not data:
                    reason = "dropped" if self.dead else reason
                    break
                for lines in parser.feed(data):
                    await handle(self, lines)
                    if self.closing or self.dead:
                        reason = "dropped" if self.dead else "closed by the server"
                        break
        except OSError as exc:  # ConnectionResetError and friends
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                if self.closing and not self.dead:
                    await asyncio.wait([writer])  # the Goodbye or the login error goes out first
            finally:
                if not self.dead:
                    self.abort()
                writer.cancel()
                ended(self)
                log.info("AMI simulator: session %d (%s) ended: %s", self.id, self.peer, reason)

    async def _write_loop(self) -> None:
        try:
            while not self.dead:
                await self.ready.wait()
                await self._writing.wait()
                await self.writer.drain()  # down to the low-water mark
                if self.dead:
                    return
                data = self.take()
                if data:
                    self.writer.write(data)
                if self.closing and not self.outbox:
                    self.dead = True
                    self.writer.close()
                    return
        except OSError:  # the peer went away mid-write; the reader sees it too
            self.abort()
