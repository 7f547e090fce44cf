"""The AMI server of the simulator: Asterisk 22's manager over TCP, in front of a sans-IO PBX.

Owns the listening socket, the table of sessions, the actions the manager answers (login, events,
ping, the PBX's), the pacing of virtual time, the broadcasting of events and the test levers;
decides nothing about calls (that is :mod:`callcenter.simulator.pbx`, reached only through the
``Pbx`` protocol of :mod:`callcenter.simulator.wire`), leaves the wire format (event masks,
message layout, action parsing) to :mod:`callcenter.simulator.manager` and one connection (its
banner, reading, outbox and writing) to :mod:`callcenter.simulator.sessions`. Must not import the
daemon or ``callcenter.ami``: the tests use our AMI client as the peer, so sharing its codec would
make them circular.

Rules (main/manager.c of Asterisk 22 and the traces in tests/traces; each is tested in
tests/test_sim_server.py; how actions are read and events written: the rules of
:mod:`callcenter.simulator.manager`; a session's banner and outbox: those of
:mod:`callcenter.simulator.sessions`):

1. Before Login only Login, Challenge and Logoff are served ("Permission denied"). A wrong
   username, secret or MD5 key is answered after 1 s and the session is closed. After a
   successful Login, ``FullyBooted`` follows if the session's mask holds ``system``.
2. An event reaches a logged-in session when every class of its Privilege (``all`` aside) is in
   the session's mask (manager.c: ``(send_events & category) == category``).
3. Virtual time is ``pbx.now`` at start plus wall seconds times ``speed``. The PBX is advanced
   to the current virtual time before every action and at every due time (at least every 0.1 s
   of wall time); events caused by an action follow its response.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

from callcenter.simulator.manager import (
    ALL,
    PBX_ACTIONS,
    ActionFields,
    event_classes,
    format_event,
    format_reply,
    message,
    parse_event_mask,
    response,
)
from callcenter.simulator.sessions import Session, SessionInfo
from callcenter.simulator.wire import AmiEvent, Pbx

log = logging.getLogger(__name__)

MAX_TICK_S = 0.1  # the pacing loop advances the PBX at least this often (wall seconds)
AUTH_FAILURE_DELAY_S = 1.0  # manager.c sleep(1) before "Authentication failed"


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How the simulator listens and paces. ``max_session_backlog`` counts AMI messages (an event,
    a response, a list item, an injected blob) waiting for one session once the kernel's socket
    buffer and asyncio's transport buffer (64 KiB) are full, or during a stall; one more drops
    the session. Messages rather than bytes: a burst costs its count whatever its size."""

    host: str = "127.0.0.1"
    port: int = 5038  # 0: any free port (see AmiServer.port)
    username: str = "callcenter"
    secret: str = "callcenter"
    timestamps: bool = True  # manager.conf timestampevents
    speed: float = 1.0  # virtual seconds per wall second
    max_session_backlog: int = 10000

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"simulator.port: expected an integer 0-65535, got {self.port!r}")
        if not self.speed > 0:
            raise ValueError(
                f"simulator.speed: expected virtual seconds per wall second > 0, got {self.speed!r}"
            )
        if self.max_session_backlog < 1:
            raise ValueError(
                "simulator.max_session_backlog: expected a message count >= 1, "
                f"got {self.max_session_backlog!r}"
            )


class AmiServer:
    """Serves ``pbx`` over AMI. ``async with AmiServer(...) as server:`` or ``start()``/``stop()``;
    ``run()`` serves in the current task until ``stop()``.

    Test levers: ``drop()``, ``stall()``/``resume()``, ``inject()``, ``restart()``."""

    def __init__(
        self,
        pbx: Pbx,
        options: ServerOptions,
        *,
        queue_log: Path | None = None,
        clock: Callable[[], float] = time.time,
        pbx_restart: Callable[[], None] | None = None,
    ) -> None:
        """``clock`` is the wall clock virtual time follows; ``pbx_restart`` is called by restart()
        with the PBX advanced to the current virtual time (a new Uniqueid epoch starts there)."""
        self._pbx = pbx
        self._options = options
        self._queue_log_path = queue_log
        self._queue_log: IO[str] | None = None
        self._clock = clock
        self._pbx_restart = pbx_restart
        self._random = random.Random()
        self._sessions: dict[int, Session] = {}
        self._next_id = 1
        self._classes: dict[str, frozenset[str]] = {}
        self._listener: asyncio.Server | None = None
        self._port: int | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop_requested = asyncio.Event()
        self._finished = asyncio.Event()
        self._wake = asyncio.Event()  # the pacing loop recomputes its sleep
        self._writing = asyncio.Event()  # cleared while stalled
        self._writing.set()
        self._stall_timer: asyncio.TimerHandle | None = None
        self._v0 = self._w0 = self._last_v = self._boot_at = 0.0
        self._running = False  # run() has begun and not finished

    # -- life cycle ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("AMI simulator: expected a started server, got one not listening yet")
        return self._port

    @property
    def now(self) -> float:
        """The current virtual time (epoch seconds)."""
        v = self._v0 + (self._clock() - self._w0) * self._options.speed
        self._last_v = max(v, self._last_v)  # never backwards, even if the wall clock steps back
        return self._last_v

    @property
    def sessions(self) -> tuple[SessionInfo, ...]:
        return tuple(s.info() for s in self._sessions.values())

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen and serve in a background task; returns once listening (raises if binding fails)."""
        if self._run_task is not None:
            raise RuntimeError("AMI simulator: start() called twice")
        self._ready = asyncio.get_running_loop().create_future()
        self._run_task = asyncio.create_task(self.run(), name="ami-sim-server")
        await asyncio.wait([self._ready, self._run_task], return_when=asyncio.FIRST_COMPLETED)
        if self._run_task.done():
            self._run_task.result()

    async def run(self) -> None:
        """Serve until stop(). A PBX exception ends it (in an ExceptionGroup): a simulator bug."""
        if self._running or self._finished.is_set():
            raise RuntimeError("AMI simulator: run() is already running or has finished")
        self._running = True
        self._v0 = self._last_v = self._boot_at = self._pbx.now
        self._w0 = self._clock()
        if self._queue_log_path is not None:
            self._queue_log = self._queue_log_path.open("a", encoding="utf-8", newline="")
        try:
            await self._listen(self._options.port)
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                pacing = tg.create_task(self._pace(), name="ami-sim-pacing")
                if self._ready is not None:
                    self._ready.set_result(None)
                await self._stop_requested.wait()
                self._close_listener()
                for session in list(self._sessions.values()):
                    session.abort()
                    if session.task is not None:
                        session.task.cancel()
                pacing.cancel()
        finally:
            self._tg = None
            self._close_listener()
            if self._queue_log is not None:
                self._queue_log.close()
            if self._stall_timer is not None:
                self._stall_timer.cancel()
            self._running = False
            self._finished.set()

    async def stop(self) -> None:
        """Close every connection and stop serving; re-raises what ended run() abnormally."""
        self._stop_requested.set()
        if self._run_task is not None and self._run_task is not asyncio.current_task():
            await self._run_task
        elif self._running:
            await self._finished.wait()

    async def serve_until(self, duration: float | None = None) -> None:
        """Serve ``duration`` more virtual seconds (None: until stop()), then stop."""
        if self._run_task is None and not self._running:
            await self.start()
        if duration is not None:
            target = self.now + duration
            while not self._stop_requested.is_set() and (left := target - self.now) > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left / self._options.speed):
                        await self._stop_requested.wait()
        else:
            await self._stop_requested.wait()
        await self.stop()

    async def _listen(self, port: int) -> None:
        self._listener = await asyncio.start_server(self._accept, self._options.host, port)
        self._port = self._listener.sockets[0].getsockname()[1]
        log.info("AMI simulator: listening on %s:%d", self._options.host, self._port)

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tg is None or self._stop_requested.is_set():
            writer.transport.abort()
            return
        session = Session(self._next_id, reader, writer, self._options.max_session_backlog, self._writing)
        self._next_id += 1
        self._sessions[session.id] = session
        session.task = self._tg.create_task(
            session.serve(self._tg, self._handle, self._forget), name=f"ami-sim-session-{session.id}"
        )

    def _forget(self, session: Session) -> None:
        del self._sessions[session.id]

    # -- test levers --------------------------------------------------------------------------------

    def drop(self, session: int | None = None) -> int:
        """Close one session's (or every) TCP connection abruptly, no Goodbye. Returns how many."""
        if session is not None and session not in self._sessions:
            raise LookupError(
                f"AMI simulator: expected a session id in {sorted(self._sessions)}, got {session}"
            )
        targets = list(self._sessions.values()) if session is None else [self._sessions[session]]
        for s in targets:
            log.info("AMI simulator: dropping session %d (%s)", s.id, s.peer)
            s.abort()
        return len(targets)

    def stall(self, seconds: float) -> None:
        """Write nothing to any client for ``seconds`` (wall); actions are still read and answered
        into the outboxes, which are written when the stall ends. A full outbox still drops."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
        self._writing.clear()
        self._stall_timer = asyncio.get_running_loop().call_later(seconds, self.resume)

    def resume(self) -> None:
        """End a stall now."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        self._writing.set()

    def inject(self, raw: bytes) -> int:
        """Queue ``raw`` (malformed frames, say) for every logged-in session. Returns how many."""
        targets = [s for s in self._sessions.values() if s.logged_in]
        for s in targets:
            s.send(raw)
        return len(targets)

    async def restart(self, downtime: float = 0.0) -> None:
        """Asterisk restarts: stop listening, drop every connection, call ``pbx_restart``, wait
        ``downtime`` wall seconds (connections are refused), listen again on the same port."""
        if self._listener is None or self._port is None:
            raise RuntimeError("AMI simulator: expected a running server to restart, got none")
        self._close_listener()
        self.drop()
        self._tick()
        if self._pbx_restart is not None:
            self._pbx_restart()
        self._boot_at = self.now
        if downtime > 0:
            await asyncio.sleep(downtime)
        if not self._stop_requested.is_set():
            await self._listen(self._port)

    # -- pacing -------------------------------------------------------------------------------------

    async def _pace(self) -> None:
        speed = self._options.speed
        while True:
            self._wake.clear()
            now = self._tick()
            due = self._pbx.next_due()
            wait = MAX_TICK_S if due is None else min(MAX_TICK_S, max(0.0, (due - now) / speed))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _tick(self) -> float:
        """Advance the PBX to the virtual now; send its events, append its queue_log lines."""
        now = self.now
        events = self._pbx.advance(now)
        if events:
            self._broadcast(events)
        lines = self._pbx.take_queue_log()
        if lines and self._queue_log is not None:
            self._queue_log.write("".join(lines))
            self._queue_log.flush()
        return now

    def _broadcast(self, events: list[AmiEvent]) -> None:
        sessions = [s for s in self._sessions.values() if s.logged_in and not s.dead]
        if not sessions:
            return
        timestamps = self._options.timestamps
        for event in events:
            classes = self._classes.get(event.privilege)
            if classes is None:
                classes = self._classes[event.privilege] = event_classes(event.privilege)
            data = format_event(event, timestamps)
            for s in sessions:
                if s.mask is ALL or classes <= s.mask:
                    s.send(data)

    # -- actions ------------------------------------------------------------------------------------

    async def _handle(self, s: Session, lines: list[tuple[str, str]]) -> None:
        fields = ActionFields(lines)
        action = fields.get("Action", "")
        action_id = fields.get("ActionID", "")
        key = action.lower()
        if not action:
            s.send(response("Error", action_id, ("Message", "Missing action in request")))
        elif not s.logged_in and key not in ("login", "challenge", "logoff"):
            s.send(response("Error", action_id, ("Message", "Permission denied")))
        elif key == "login":
            await self._login(s, fields, action_id)
        elif key == "challenge":
            if fields.get("AuthType", "").lower() != "md5":
                s.send(response("Error", action_id, ("Message", "Must specify AuthType")))
                return
            if s.challenge is None:
                s.challenge = str(self._random.randrange(1, 2**31))  # ast_random()
            s.send(response("Success", action_id, ("Challenge", s.challenge)))
        elif key == "logoff":
            s.send(response("Goodbye", action_id, ("Message", "Thanks for all the fish.")))
            s.close_when_flushed()
        elif key == "ping":
            s.send(response("Success", action_id, ("Ping", "Pong"), ("Timestamp", f"{self.now:.6f}")))
        elif key == "events":
            mask = parse_event_mask(fields.get("EventMask", ""))
            if mask is None:
                s.send(response("Error", action_id, ("Message", "Invalid event mask")))
            else:
                s.mask = mask
                s.send(response("Success", action_id, ("Events", "On" if mask else "Off")))
        elif key in PBX_ACTIONS:
            self._pbx_action(s, PBX_ACTIONS[key], fields, action_id)
        else:
            text = f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
            s.send(response("Error", action_id, ("Message", text)))

    async def _login(self, s: Session, fields: ActionFields, action_id: str) -> None:
        if s.logged_in:
            s.send(response("Success", action_id, ("Message", "Already authenticated")))
            return
        if not self._authenticated(s, fields):
            log.info("AMI simulator: session %d (%s): authentication failed", s.id, s.peer)
            await asyncio.sleep(AUTH_FAILURE_DELAY_S)
            s.send(response("Error", action_id, ("Message", "Authentication failed")))
            s.close_when_flushed()
            return
        s.logged_in = True
        mask = parse_event_mask(fields.get("Events", ""))
        if mask is not None:
            s.mask = mask
        s.send(response("Success", action_id, ("Message", "Authentication accepted")))
        if s.mask is ALL or "system" in s.mask:  # no Timestamp: manager.c writes it by hand
            up = str(int(self.now - self._boot_at))
            s.send(
                message(
                    ("Event", "FullyBooted"),
                    ("Privilege", "system,all"),
                    ("Uptime", up),
                    ("LastReload", up),
                    ("Status", "Fully Booted"),
                )
            )

    def _authenticated(self, s: Session, fields: ActionFields) -> bool:
        options = self._options
        if fields.get("Username", "").lower() != options.username.lower():  # strcasecmp
            return False
        if fields.get("AuthType", "").lower() == "md5":
            if s.challenge is None:
                return False
            expected = hashlib.md5((s.challenge + options.secret).encode()).hexdigest()
            return fields.get("Key", "").lower() == expected
        return fields.get("Secret", "") == options.secret

    def _pbx_action(self, s: Session, name: str, fields: ActionFields, action_id: str) -> None:
        now = self._tick()  # events due before the action go out before its response
        try:
            reply = self._pbx.action(name, fields.without("Action", "ActionID"), action_id, now)
        except ValueError as exc:
            log.info("AMI simulator: session %d: %s rejected: %s", s.id, name, exc)
            s.send(response("Error", action_id, ("Message", str(exc))))
        else:
            for data in format_reply(reply, action_id):
                s.send(data)
        self._tick()  # what the action caused at once follows its response
        self._wake.set()  # and the pacing loop looks at next_due() again
