"""One Asterisk Manager Interface link: log in, correlate actions, keep alive, reconnect.

Owns the TCP connection to one Asterisk server and nothing else. Framing and decoding belong to
:mod:`callcenter.ami.codec`; the link's states, errors, address, listener contract and backoff
formula belong to :mod:`callcenter.ami.link`; every chunk read goes, with its frames, to one
:class:`~callcenter.ami.link.Listener` (the daemon journals it and applies it to its state
machine). Must not import the rest of ``callcenter``: translating frames into call-center events
happens above this module.

Rules (each has a test in tests/test_ami_client.py; DEPENDENCIES.md §1 lists the panoramisk bugs
they rule out):

1. A fresh Decoder per connection. ``Listener.link_up`` runs after a successful login and
   before any chunk is handed to ``received``; the chunks read during login (the Login
   response among them) follow it, so the journal misses nothing after the banner.
2. Every chunk goes to ``Listener.received`` once, in order, and is awaited before the next read
   (the backpressure point). Responses are matched to actions only after that call returns, so
   whoever awaits an action sees a listener that has already applied its response.
3. A rejected login is retried every ``login_retry_s`` (the operator may fix the secret or
   manager.conf meanwhile); ``wait_up`` raises AuthenticationFailed while the last attempt was
   refused. Each failure is logged when its reason changes, not on every try.
4. An action is written at most once. When the link drops every pending action fails with
   ConnectionLost at once, and nothing is replayed after the reconnect (an Originate or a
   QueuePause must never happen twice). send_action() while the link is not UP raises
   ConnectionLost at once instead of queueing: only the caller knows whether retrying is safe.
5. Every action has a deadline (ActionTimeout), after which it is forgotten; responses with an
   unknown ActionID (late ones included) are ignored here but still reach the listener.
6. A Ping every ping_interval_s must be answered within ping_timeout_s; other traffic does not
   count, so a half-open socket or a stuck manager session is detected. Time spent inside
   ``Listener.received`` is not counted: the Pong may be waiting, unread, in our socket buffer.
7. A listener exception is a bug in the daemon, not a network problem: it is logged with its
   traceback and propagates out of run() unchanged, after the socket is closed and pending
   actions are failed (link_down is not called). A listener that stops for a reason of its own
   raises ``ListenerStopped(reason)``: the same, logged as one error line, and run() raises reason.
8. Reconnect with capped exponential backoff and jitter (:func:`~callcenter.ami.link.reconnect_delay`),
   reset by a successful login.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial

from callcenter.ami.codec import Banner, EventFilter, Frame, Message, encode_action
from callcenter.ami.link import (
    ActionFailed,
    ActionTimeout,
    AmiError,
    AuthenticationFailed,
    ConnectionLost,
    LinkState,
    Listener,
    ListenerBehind,
    ListenerStopped,
    Retrying,
    ServerAddress,
    reconnect_delay,
)
from callcenter.ami.opening import READ_SIZE, Connection, open_connection

log = logging.getLogger(__name__)

Fields = Mapping[str, str] | Iterable[tuple[str, str]]  # pairs when a key repeats (Variable)

LOGOFF_TIMEOUT_S = 1.0


@dataclass(eq=False, slots=True)
class _Pending:
    action: str
    future: asyncio.Future[list[Message]]  # [response] for a plain action, the events for a list
    events: list[Message] | None  # None: a plain action


class _LinkAbandoned(Exception):
    """The listener refused data (ListenerBehind): end the session like a lost link."""


class _ListenerFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class AmiClient:
    """The link to one Asterisk server. Run ``run()`` in a task; one instance per server."""

    def __init__(
        self,
        address: ServerAddress,
        listener: Listener,
        *,
        clock: Callable[[], float] = time.time,
        event_filter: EventFilter | None = None,
    ):
        """``event_filter`` drops unsolicited events nobody reads before they are parsed; events
        that answer an action (they carry an ActionID: list items) always pass."""
        self._address = address
        self._event_filter = event_filter
        self._listener = listener
        self._clock = clock
        self._state = LinkState.DISCONNECTED
        self._state_changed = asyncio.Event()
        self._link: Connection | None = None
        self._pending: dict[str, _Pending] = {}
        self._prefix = f"{address.name}-{os.getpid()}"
        self._ids = itertools.count(1)  # never reset: a late response can't match a newer action
        self._stopping = False
        self._stop_requested = asyncio.Event()
        self._finished = asyncio.Event()
        self._run_task: asyncio.Task[object] | None = None
        self._open_task: asyncio.Task[tuple[Connection, Banner]] | None = None
        self._fatal: AuthenticationFailed | None = None
        self._busy_total = 0.0  # loop seconds spent inside Listener.received
        self._busy_since: float | None = None
        self._random = random.Random()
        self.retrying: Retrying | None = None  # set between failed attempts, None once up
        self._last_error = ""

    def _keep_event(self, name: bytes, raw: bytes) -> bool:
        if self._event_filter is None or b"\nActionID:" in raw:
            return True
        return self._event_filter(name, raw)

    @property
    def server(self) -> str:
        return self._address.name

    @property
    def state(self) -> LinkState:
        return self._state

    async def run(self) -> None:
        """Connect, log in, serve and reconnect until stop(). Returns after stop().

        Raises whatever a listener callback raised (a refused login is retried, see rule 3).
        Cancelling the task is an abrupt stop: no Logoff, no link_down.
        """
        if self._run_task is not None:
            raise RuntimeError(f"AMI {self.server}: run() is already running")
        self._run_task = asyncio.current_task()
        self._finished.clear()
        failures = 0
        try:
            while not self._stopping:
                if failures and await self._backoff(failures):
                    break
                opened = await self._connect()
                if opened is None:
                    failures += 1
                    continue
                failures = 1  # a link that was up and dropped waits reconnect_min_s
                self._fatal = None
                await self._session(*opened)
        except _ListenerFailed as failed:
            raise failed.error from None
        finally:
            self._run_task = None
            self._set_state(LinkState.STOPPED)
            self._finished.set()

    async def wait_up(self, timeout: float | None = None) -> None:
        """Return once logged in (after ``link_up``). Raises TimeoutError after ``timeout``,
        AuthenticationFailed if the login was rejected, ConnectionLost if the client stopped."""
        async with asyncio.timeout(timeout):
            while self._state is not LinkState.UP:
                if self._fatal is not None:
                    raise AuthenticationFailed(*self._fatal.args)
                if self._state is LinkState.STOPPED:
                    raise ConnectionLost(f"AMI {self.server}: client stopped")
                await self._state_changed.wait()

    async def send_action(self, action: str, fields: Fields = (), *, timeout: float | None = None) -> Message:
        """Send one action and return its response.

        Raises ConnectionLost at once if the link is not UP (nothing is queued for later) or if it
        drops before the response; ActionTimeout after ``timeout`` (default
        ``action_timeout_s``); ActionFailed on ``Response: Error``. The ActionID is ours to set.
        """
        (response,) = await self._request(action, fields, listing=False, timeout=timeout)
        return response

    async def send_list_action(
        self, action: str, fields: Fields = (), *, timeout: float | None = None
    ) -> list[Message]:
        """Send an EventList action (QueueStatus, QueueSummary, CoreShowChannels, Status, ...).

        Asterisk answers ``Response: Success`` + ``EventList: start``, then events carrying our
        ActionID, then ``...Complete`` with ``EventList: Complete`` (actions_snapshot.jsonl).
        Returns those events, the Complete one included; ``timeout`` covers the whole list.
        Raises like send_action(); a drop mid-list raises ConnectionLost.
        """
        return await self._request(action, fields, listing=True, timeout=timeout)

    async def stop(self) -> None:
        """Log off if up, close the connection and make run() return. Idempotent.

        Called from inside a listener callback it does not wait for run(), which awaits that call.
        """
        inside_run = self._run_task is not None and asyncio.current_task() is self._run_task
        link = None if self._stopping else self._link
        self._stopping = True
        self._stop_requested.set()
        if self._open_task is not None:
            self._open_task.cancel()
        if link is not None:
            if self._state is LinkState.UP and not inside_run:
                try:
                    await self.send_action(
                        "Logoff", timeout=min(LOGOFF_TIMEOUT_S, self._address.action_timeout_s)
                    )
                except AmiError as exc:
                    log.info("AMI %s: Logoff not acknowledged (%s); closing anyway", self.server, exc)
            link.writer.close()
        if self._run_task is None:
            self._set_state(LinkState.STOPPED)
        elif not inside_run:
            await self._finished.wait()

    # -- connecting ---------------------------------------------------------------------------

    async def _backoff(self, failures: int) -> bool:
        """Wait before the next attempt; True if stop() was called meanwhile."""
        addr = self._address
        delay = reconnect_delay(failures, addr.reconnect_min_s, addr.reconnect_max_s, self._random.random())
        if self._fatal is not None:
            delay = addr.login_retry_s
        log.debug("AMI %s: reconnecting in %.3f s (attempt %d)", self.server, delay, failures + 1)
        self.retrying = Retrying(failures + 1, self._clock() + delay, self._last_error)
        try:
            async with asyncio.timeout(delay):
                await self._stop_requested.wait()
        except TimeoutError:
            return False
        return True

    async def _connect(self) -> tuple[Connection, Banner] | None:
        """Connect and log in. None if that failed (logged) or stop() interrupted it."""
        self._set_state(LinkState.CONNECTING)
        addr = self._address
        logging_in = partial(self._set_state, LinkState.LOGGING_IN)
        opening = open_connection(addr, self._keep_event, self._clock, self._next_id, logging_in)
        task = asyncio.create_task(opening, name=f"ami-open-{self.server}")
        self._open_task = task
        try:
            return await task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # run() itself is cancelled
            return None  # stop() cancelled the attempt
        except AuthenticationFailed as exc:
            self._fatal = exc
            self._failed(
                f"login refused: {exc}",
                f"check ami.servers[].username/secret and manager.conf; "
                f"trying again every {addr.login_retry_s:g} s",
            )
            return None
        except (OSError, EOFError, ConnectionLost) as exc:  # TimeoutError is an OSError
            reason = str(exc) or type(exc).__name__
            self._failed(f"cannot connect to {addr.host}:{addr.port}: {reason}", "retrying")
            return None
        finally:
            self._open_task = None

    def _failed(self, error: str, then: str) -> None:
        """An attempt failed: one warning when the reason changes, not one per try."""
        if error != self._last_error:
            log.warning("AMI %s: %s; %s", self.server, error, then)
        else:
            log.debug("AMI %s: %s (again)", self.server, error)
        self._last_error = error
        self._set_state(LinkState.DISCONNECTED)

    # -- serving a logged-in link -------------------------------------------------------------

    async def _session(self, link: Connection, banner: Banner) -> None:
        """Serve one logged-in connection until it drops; its pending actions fail when it does."""
        self._link = link
        reason = "closed by the client"  # kept if run() is cancelled or the listener fails
        try:
            up_at = link.backlog[-1][2]  # the chunk holding the Login response
            await self._notify("link_up", lambda: self._listener.link_up(self.server, banner, up_at))
            log.info("AMI %s: logged in (%s)", self.server, banner.text)
            self.retrying = None
            self._set_state(LinkState.UP)
            backlog, link.backlog = link.backlog, []
            for chunk, frames, at in backlog:
                await self._deliver(chunk, frames, at)
            keepalive = asyncio.create_task(self._keepalive(link), name=f"ami-keepalive-{self.server}")
            try:
                reason = await self._read_loop(link)
            finally:
                keepalive.cancel()
                await asyncio.wait([keepalive])
                bug = None if keepalive.cancelled() else keepalive.exception()
            if bug is not None:
                raise bug
        except (OSError, EOFError) as exc:
            reason = link.dead_reason or f"{type(exc).__name__}: {exc}"
        except _LinkAbandoned as abandoned:
            reason = str(abandoned)
        finally:
            self._link = None
            if not self._stopping:
                self._set_state(LinkState.DISCONNECTED)
            self._fail_pending(reason)
            await link.close()
        (log.info if self._stopping else log.warning)("AMI %s: link down: %s", self.server, reason)
        self._last_error = f"link down: {reason}"
        await self._notify("link_down", lambda: self._listener.link_down(self.server, reason, self._clock()))

    async def _read_loop(self, link: Connection) -> str:
        while True:
            chunk = await link.reader.read(READ_SIZE)
            at = self._clock()
            if not chunk:
                if link.dead_reason:
                    return link.dead_reason
                return "stopped" if self._stopping else "connection closed by Asterisk"
            await self._deliver(chunk, link.decoder.feed(chunk), at)

    async def _deliver(self, chunk: bytes, frames: list[Frame], at: float) -> None:
        now = asyncio.get_running_loop().time
        self._busy_since = now()
        try:
            await self._notify("received", lambda: self._listener.received(self.server, chunk, frames, at))
        finally:
            self._busy_total += now() - self._busy_since
            self._busy_since = None
        for frame in frames:
            if isinstance(frame, Message):
                self._dispatch(frame)

    async def _notify(self, callback: str, call: Callable[[], Awaitable[None]]) -> None:
        try:
            await call()
        except ListenerBehind as behind:
            raise _LinkAbandoned(behind.reason) from behind
        except ListenerStopped as stop:
            log.error("AMI %s: %s; stopping this link", self.server, stop)
            raise _ListenerFailed(stop.reason) from stop
        except Exception as exc:
            log.exception(
                "AMI %s: listener.%s raised; a bug on our side, stopping this link", self.server, callback
            )
            raise _ListenerFailed(exc) from exc

    def _dispatch(self, message: Message) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if action_id else None
        if pending is None or pending.future.done():
            return  # not ours, forgotten after a timeout, or an event after a plain response
        future = pending.future
        if not message.is_event:
            if message.name == "Error":
                future.set_exception(ActionFailed(pending.action, message))
            elif pending.events is None:
                future.set_result([message])
            elif (message.get("EventList") or "").lower() != "start":
                future.set_exception(ActionFailed(pending.action, message, "'EventList: start'"))
        elif pending.events is not None:
            pending.events.append(message)
            if (message.get("EventList") or "").lower() == "complete":
                future.set_result(pending.events)

    async def _keepalive(self, link: Connection) -> None:
        addr = self._address
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(addr.ping_interval_s)
            try:
                action_id, pending = self._start("Ping", (), listing=False)
            except ConnectionLost:
                return
            sent, busy_at_send = loop.time(), self._busy()
            try:
                while not pending.future.done():
                    waited = loop.time() - sent - (self._busy() - busy_at_send)
                    if waited >= addr.ping_timeout_s:
                        link.dead_reason = "keep-alive timeout"
                        log.warning(
                            "AMI %s: no Pong within %.3f s; closing", self.server, addr.ping_timeout_s
                        )
                        link.writer.transport.abort()
                        return
                    await asyncio.wait([pending.future], timeout=addr.ping_timeout_s - waited)
            finally:
                del self._pending[action_id]
            if isinstance(pending.future.exception(), ConnectionLost):
                return  # an error response still proves the link alive

    def _busy(self) -> float:
        since = self._busy_since
        extra = 0.0 if since is None else asyncio.get_running_loop().time() - since
        return self._busy_total + extra

    # -- actions --------------------------------------------------------------------------------

    async def _request(
        self, action: str, fields: Fields, *, listing: bool, timeout: float | None
    ) -> list[Message]:
        action_id, pending = self._start(action, fields, listing=listing)
        limit = self._address.action_timeout_s if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await pending.future
        except TimeoutError:
            what = "the complete list" if listing else "a response"
            raise ActionTimeout(
                f"AMI {self.server}: {action} (ActionID {action_id}): expected {what} within {limit} s"
            ) from None
        finally:
            del self._pending[action_id]

    def _start(self, action: str, fields: Fields, *, listing: bool) -> tuple[str, _Pending]:
        """Register and write one action (no drain: actions are small, and a peer that stops
        reading stops answering pings too)."""
        link = self._link
        if link is None or self._state is not LinkState.UP:
            raise ConnectionLost(f"AMI {self.server}: link is {self._state.value}, not up; {action} not sent")
        pairs = list(fields.items() if isinstance(fields, Mapping) else fields)
        if any(key.lower() == "actionid" for key, _ in pairs):
            raise ValueError(f"{action}: expected no ActionID header (the client sets it), got one")
        action_id = self._next_id()
        link.writer.write(encode_action(action, [*pairs, ("ActionID", action_id)]))
        pending = _Pending(action, asyncio.get_running_loop().create_future(), [] if listing else None)
        self._pending[action_id] = pending  # no response can arrive before we yield to the loop
        return action_id, pending

    def _fail_pending(self, reason: str) -> None:
        for action_id, pending in self._pending.items():
            if not pending.future.done():
                pending.future.set_exception(
                    ConnectionLost(
                        f"AMI {self.server}: link lost ({reason}) before the response to "
                        f"{pending.action} (ActionID {action_id}); it was not re-sent"
                    )
                )

    def _next_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    def _set_state(self, state: LinkState) -> None:
        if state is not self._state:
            self._state = state
            self._state_changed.set()
            self._state_changed = asyncio.Event()
