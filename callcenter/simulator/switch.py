"""The simulated Asterisk's channel-level plumbing, which every PBX feature uses.

Owns virtual time (the timer heap: ``at``, ``cancel``, ``next_due``, ``advance``), the AMI
events and queue_log lines waiting to be taken, the live channels, the helpers that change a
channel and emit what Asterisk 22 emits for it (VarSet, Newexten, Newstate, Newchannel, Hangup,
NewCallerid, NewConnectedLine, UserEvent), basic bridges (BridgeCreate/Enter/Leave/Destroy),
and the device states its channels drive (:mod:`~callcenter.simulator.devicestate`). Knows
nothing of queues, callers or transfers: :class:`~callcenter.simulator.pbx.Pbx` builds the call
center on top of :class:`Switch` and hears of each device state through
:meth:`Switch.device_state_changed`.

Pure: no clock, no sockets, no randomness. Must not import asyncio or anything that does IO,
nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable

from callcenter.simulator.channels import Channel, ChannelFactory
from callcenter.simulator.devicestate import DeviceStates
from callcenter.simulator.wire import AmiEvent, Headers

AGENT, CALL, DIALPLAN, USER, SYSTEM = "agent,all", "call,all", "dialplan,all", "user,all", "system,all"
CAUSES = {16: "Normal Clearing", 26: "Answered elsewhere"}  # Hangup's Cause-txt (ast_cause2str)


def presentation(chan: Channel) -> str:
    """NewCallerid's CID-CallingPres: a caller id without a number is "unavailable" (m_transfer)."""
    return "0 (Presentation Allowed, Not Screened)" if chan.cid_num else "67 (Number Unavailable)"


class Switch:
    def __init__(self, boot: float, channelvars: tuple[str, ...] = ()) -> None:
        self.now = boot
        self.booted_at = boot  # CoreStatus's CoreStartupDate/Time
        self.channels = ChannelFactory(channelvars)
        self.devices = DeviceStates()
        self.live: dict[str, Channel] = {}  # channels up, by uid
        self.bridges: dict[str, int] = {}  # bridges up: how many channels each holds
        self._pending_states: list[tuple[str, str]] = []  # device states computed, not yet published
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
            self.flush_devices()
        self.now = max(self.now, until)
        self.flush_devices()
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
            if not h:
                continue
            if isinstance(h[0], tuple):
                flat.extend(h)
            else:
                flat.append(h)  # a single (key, value) pair
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
        self.devices.added(chan)
        self.emit("Newchannel", CALL, chan.snapshot())

    def forget_channels(self) -> None:
        """Asterisk restarts: every channel is gone without a word, Uniqueid sequences start again
        at 0 under a new epoch."""
        self.live.clear()
        self.bridges.clear()
        self._pending_states.clear()
        self.channels = ChannelFactory(self.channels.channelvars)
        self.devices.reset()

    def uid_of(self, channel: str) -> str | None:
        return next((c.uid for c in self.live.values() if c.name == channel), None)

    def bridge_id(self) -> str:
        """A new bridge's BridgeUniqueid."""
        return str(uuid.UUID(int=next(self._seq) + (int(self.now) << 64)))

    # -- bridges ----------------------------------------------------------------------------------

    def bridge_create(self) -> str:
        """A basic two-party bridge (BridgeCreate); its id."""
        bridge = self.bridge_id()
        self.bridges[bridge] = 0
        self.emit("BridgeCreate", CALL, self.bridge_block(bridge))
        return bridge

    def bridge_block(self, bridge: str, prefix: str = "") -> Headers:
        """A bridge's snapshot as events show it (``prefix``: To, From, Orig, Second)."""
        p = f"{prefix}Bridge"
        return (
            (f"{p}Uniqueid", bridge), (f"{p}Type", "basic"), (f"{p}Technology", "simple_bridge"),
            (f"{p}Creator", "<unknown>"), (f"{p}Name", "<unknown>"),
            (f"{p}NumChannels", str(self.bridges.get(bridge, 0))), (f"{p}VideoSourceMode", "none"),
        )  # fmt: skip

    def bridge_enter(self, chan: Channel, bridge: str) -> None:
        chan.bridge = bridge
        self.bridges[bridge] = self.bridges.get(bridge, 0) + 1
        self.emit("BridgeEnter", CALL, self.bridge_block(bridge), chan.snapshot())

    def bridge_leave(self, chan: Channel) -> None:
        bridge, chan.bridge = chan.bridge, ""
        if not bridge:
            return
        self.bridges[bridge] = self.bridges.get(bridge, 1) - 1
        self.emit("BridgeLeave", CALL, self.bridge_block(bridge), chan.snapshot())

    def bridge_destroy(self, bridge: str) -> None:
        self.emit("BridgeDestroy", CALL, self.bridge_block(bridge))
        self.bridges.pop(bridge, None)

    def var(self, chan: Channel, name: str, value: str) -> None:
        chan.put(name, value)
        self.emit("VarSet", DIALPLAN, chan.snapshot(), ("Variable", name), ("Value", value))

    def caller_id(self, chan: Channel, num: str, name: str) -> None:
        chan.cid_num, chan.cid_name = num, name
        self.emit("NewCallerid", CALL, chan.snapshot(), ("CID-CallingPres", presentation(chan)))

    def connected_line(self, chan: Channel, num: str, name: str) -> None:
        chan.conn_num, chan.conn_name = num, name
        self.emit("NewConnectedLine", CALL, chan.snapshot())

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
        self._device_of(chan)

    def hangup(self, chan: Channel, cause: int = 16, request: str | None = None) -> None:
        """One channel hangs up (``request``: the HangupRequest/SoftHangupRequest before it)."""
        if chan.hung_up:
            return
        if request:
            self.emit(request, CALL, chan.snapshot(), ("Cause", str(cause)))
        self.devices.gone(chan)
        chan.hung_up = True
        self.live.pop(chan.uid, None)
        pending = chan.pending_cid
        if pending is not None:
            chan.cid_num, chan.cid_name = pending
        text = CAUSES.get(cause, "Unknown")
        self.emit("Hangup", CALL, chan.snapshot(), ("Cause", str(cause)), ("Cause-txt", text))
        if pending is not None:  # the hang-up's snapshot is the first to carry it (m_transfer)
            chan.pending_cid = None
            self.emit("NewCallerid", CALL, chan.snapshot(), ("CID-CallingPres", presentation(chan)))
        self._device_of(chan)

    # -- device states ----------------------------------------------------------------------------

    def _device_of(self, chan: Channel) -> None:
        change = self.devices.on_change(chan)
        if change is not None:
            self._pending_states.append(change)

    def flush_devices(self) -> None:
        """The device-state thread catches up: the states computed so far are published (and
        app_queue hears of them). Asterisk computes them on a thread of its own, so they trail
        the Newstate or Hangup that caused them by a few events; the PBX flushes where the
        recordings show them, and after every timer and action."""
        while self._pending_states:
            pending, self._pending_states = self._pending_states, []
            for device, state in pending:
                self.emit("DeviceStateChange", CALL, (("Device", device), ("State", state)))
                self.device_state_changed(device, state)

    def publish_device(self, device: str, state: str) -> None:
        """A cachable device state (app_queue's ``Queue:*`` devices): published when it changes."""
        if self.devices.changed(device, state):
            self.emit("DeviceStateChange", CALL, (("Device", device), ("State", state)))

    def device_state_changed(self, device: str, state: str) -> None:
        """A device's state was published (the Pbx runs app_queue's device_state_cb here)."""

    def user_event(self, chan: Channel, kind: str, *headers: tuple[str, str]) -> None:
        self.emit("UserEvent", USER, chan.snapshot(), ("UserEvent", kind), *headers)
