"""The simulated Asterisk's channel-level plumbing, which every PBX feature uses.

Owns virtual time (the timer heap: ``at``, ``cancel``, ``next_due``, ``advance``), the AMI
events and queue_log lines waiting to be taken, the live channels, and the helpers that change a
channel and emit what Asterisk 22 emits for it (VarSet, Newexten, Newstate, Newchannel, Hangup,
UserEvent). Knows nothing of queues, callers or transfers: :class:`~callcenter.simulator.pbx.Pbx`
builds the call center on top of :class:`Switch`.

Pure: no clock, no sockets, no randomness. Must not import asyncio or anything that does IO,
nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable

from callcenter.simulator.channels import Channel, ChannelFactory
from callcenter.simulator.wire import AmiEvent, Headers

AGENT, CALL, DIALPLAN, USER, SYSTEM = "agent,all", "call,all", "dialplan,all", "user,all", "system,all"


class Switch:
    def __init__(self, boot: float) -> None:
        self.now = boot
        self.channels = ChannelFactory()
        self.live: dict[str, Channel] = {}  # channels up, by uid
        self._events: list[AmiEvent] = []
        self._log: list[str] = []
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._seq = itertools.count()

    # -- virtual time -----------------------------------------------------------------------------

    def at(self, delay: float, fn: Callable[[], None]) -> int:
        ident = next(self._seq)
        heapq.heappush(self._timers, (self.now + delay, ident, fn))
        return ident

    def cancel(self, ident: int) -> None:
        self._cancelled.add(ident)

    def next_due(self) -> float | None:
        while self._timers and self._timers[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._timers)[1])
        return self._timers[0][0] if self._timers else None

    def advance(self, until: float) -> list[AmiEvent]:
        while (due := self.next_due()) is not None and due <= until:
            at, _, fn = heapq.heappop(self._timers)
            self.now = max(self.now, at)
            fn()
        self.now = max(self.now, until)
        events, self._events = self._events, []
        return events

    # -- output: AMI events and queue_log lines ---------------------------------------------------

    def seconds_since(self, start: float) -> int:
        """Whole seconds as app_queue counts them: time(NULL) now minus time(NULL) then."""
        return int(self.now) - int(start)

    def emit(
        self, name: str, privilege: str, *headers: tuple[str, str] | Headers, action_id: str | None = None
    ) -> None:
        flat: list[tuple[str, str]] = []
        for h in headers:
            if h and isinstance(h[0], tuple):
                flat.extend(h)
            else:
                flat.append(h)  # type: ignore[arg-type]  # a single (key, value) pair
        self._events.append(AmiEvent(self.now, name, privilege, tuple(flat), action_id))

    def queue_log(self, callid: str, queue: str, agent: str, verb: str, *data: object) -> None:
        self._log.append("|".join([str(int(self.now)), callid, queue, agent, verb, *map(str, data)]) + "\n")

    def take_queue_log(self) -> list[str]:
        lines, self._log = self._log, []
        return lines

    def booted(self) -> list[AmiEvent]:
        """What a client sees right after logging in."""
        return [
            AmiEvent(
                self.now,
                "FullyBooted",
                SYSTEM,
                (("Uptime", "0"), ("LastReload", "0"), ("Status", "Fully Booted")),
            )
        ]

    # -- channels ---------------------------------------------------------------------------------

    def add_channel(self, chan: Channel) -> None:
        """A new channel is up: tracked as live and announced (Newchannel)."""
        self.live[chan.uid] = chan
        self.emit("Newchannel", CALL, chan.snapshot())

    def forget_channels(self) -> None:
        """Asterisk restarts: every channel is gone without a word, Uniqueid sequences start again
        at 0 under a new epoch."""
        self.live.clear()
        self.channels = ChannelFactory()

    def uid_of(self, channel: str) -> str | None:
        return next((c.uid for c in self.live.values() if c.name == channel), None)

    def bridge_id(self) -> str:
        """A new bridge's BridgeUniqueid."""
        return str(uuid.UUID(int=next(self._seq) + (int(self.now) << 64)))

    def var(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self.emit("VarSet", DIALPLAN, chan.snapshot(), ("Variable", name), ("Value", value))

    def exten(self, chan: Channel, app: str, data: str, priority: int | None = None) -> None:
        if priority is not None:
            chan.priority = priority
        chan.application, chan.app_data = app, data
        self.emit(
            "Newexten",
            DIALPLAN,
            chan.snapshot(),
            ("Extension", chan.exten),
            ("Application", app),
            ("AppData", data),
        )

    def state(self, chan: Channel, state: int) -> None:
        chan.state = state
        self.emit("Newstate", CALL, chan.snapshot())

    def hangup(self, chan: Channel, cause: int = 16, request: str | None = None) -> None:
        """One channel hangs up (``request``: the HangupRequest/SoftHangupRequest before it)."""
        if chan.hung_up:
            return
        if request:
            self.emit(request, CALL, chan.snapshot(), ("Cause", str(cause)))
        chan.hung_up = True
        self.live.pop(chan.uid, None)
        text = "Normal Clearing" if cause == 16 else "Unknown"
        self.emit("Hangup", CALL, chan.snapshot(), ("Cause", str(cause)), ("Cause-txt", text))

    def user_event(self, chan: Channel, kind: str, *headers: tuple[str, str]) -> None:
        self.emit("UserEvent", USER, chan.snapshot(), ("UserEvent", kind), *headers)
