"""A simulated Asterisk call center, without IO: app_queue, agent phones and the support dialplan.

Virtual time only: ``advance(until)`` runs what is due and returns the AMI events it caused;
``action()`` applies an AMI action. It emits what Asterisk 22 emits for each situation, in the
same order for the queue-related events (see ../shared/ami-traces and DOMAIN.md §1):
join → AgentCalled → (answer: QueueCallerLeave → AgentConnect → … → AgentComplete) or
(no answer after the member timeout: AgentRingNoAnswer, retry) or (caller hangs up:
QueueCallerAbandon → QueueCallerLeave) or (Queue() timeout / leave-empty: QueueCallerAbandon →
QueueCallerLeave → QUEUESTATUS); refused joins (FULL, JOINEMPTY) only set QUEUESTATUS. It
writes queue_log lines as Asterisk does. Channels follow the lab's shape: callers are
``Local/600@support/n`` pairs, members ``Local/agentN@agents/n`` pairs or single SIP-like channels.
Pure: no clock, no sockets; randomness comes from the caller's draws (the traffic module).
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from callcenter.simulator.channels import Channel, ChannelFactory
from callcenter.simulator.model import AgentSpec, CallCenterSpec, QueueSpec
from callcenter.simulator.wire import ActionReply, AmiEvent, Headers

AGENT, CALL, DIALPLAN, USER, SYSTEM = "agent,all", "call,all", "dialplan,all", "user,all", "system,all"
NOT_INUSE, INUSE = 1, 2
IN_USE = float("inf")  # busy-until of a member whose phone rings or talks
RECHECK_S = 1.0  # app_queue's RECHECK: a waiting caller looks at the queue once a second
TRANSFER_DESK_S = 6.0  # the lab's transfer target talks this long
ATXFER_DIAL_S = 0.45  # Atxfer → the target's channels (the feature plays pbx-transfer first)
PHONE_OVERHEAD_S = 0.012  # join → AgentConnect was 1.014 s with a 1 s answer delay (a_answered_agent_hangup)


@dataclass(slots=True)
class Member:
    queue: str
    name: str
    interface: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    calls: int = 0
    last_call: int = 0
    last_pause: int = 0
    login: int = 0


@dataclass(slots=True)
class Leg:
    """The queue's call to one member's phone."""

    member: Member
    outgoing: Channel  # the DestChannel of AgentCalled/AgentConnect
    phone: Channel | None  # the ;2 half of a Local member (None for a plain device)
    started: float
    pos: int  # the member's place in the queue's member list when rung (round-robin)
    timers: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Caller:
    one: Channel  # the caller's phone (;1)
    two: Channel  # runs the dialplan, the queue caller (;2)
    variables: dict[str, str]
    action_id: str = ""
    entry: Entry | None = None
    talking: Talk | None = None
    queue_status: str = ""
    member_name: str = ""
    gone: bool = False
    transferred_to: tuple[Channel, Channel] | None = None
    patience_s: float | None = None  # hangs up after waiting this long in a queue
    hangup_after_connect_s: float | None = None  # hangs up this long into the conversation


@dataclass(slots=True)
class Entry:
    caller: Caller
    queue: QueueSpec
    joined: float
    opos: int
    expire: float | None
    legs: dict[str, Leg] = field(default_factory=dict)
    retry_at: float = 0.0


@dataclass(slots=True)
class Talk:
    caller: Caller
    queue: QueueSpec
    leg: Leg
    hold: int
    connected: float
    opos: int
    bridge: str
    consult: tuple[Channel, Channel] | None = None  # an attended transfer's call to its target


class Pbx:
    def __init__(
        self,
        spec: CallCenterSpec | None = None,
        *,
        boot: float = 1_800_000_000.0,
        agents: Mapping[str, AgentSpec] | None = None,
        seed: int = 0,
    ) -> None:
        self.rng = random.Random(seed)
        self.spec = spec or CallCenterSpec()
        self.queues = {q.name: q for q in self.spec.queues}
        self.agents = dict(agents or {})  # interface -> phone behaviour (default: answers after 1 s)
        self.now = boot
        self.channels = ChannelFactory()
        self.globals: dict[str, str] = {}
        self.members: dict[str, dict[str, Member]] = {q: {} for q in self.queues}
        self.waiting: dict[str, list[Entry]] = {q: [] for q in self.queues}
        self.busy: dict[str, float] = {}  # interface -> end of wrap-up (or inf while in use)
        self.rr_next: dict[str, int] = {}
        self.callers: dict[str, Caller] = {}  # by the uid of either leg
        self.live: dict[str, Channel] = {}  # channels up, by uid
        self.stats: dict[str, dict[str, float]] = {
            q: {"completed": 0, "abandoned": 0, "holdtime": 0.0, "talktime": 0.0, "insl": 0}
            for q in self.queues
        }
        self._events: list[AmiEvent] = []
        self._log: list[str] = []
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._seq = itertools.count()
        self._log.append(f"{int(boot)}|NONE|NONE|NONE|QUEUESTART|\n")

    # -- the Pbx protocol -----------------------------------------------------------------------

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

    def take_queue_log(self) -> list[str]:
        lines, self._log = self._log, []
        return lines

    def action(self, name: str, fields: Mapping[str, str], action_id: str, at: float) -> ActionReply:
        self.now = max(self.now, at)
        from callcenter.simulator.actions import ACTIONS, error

        handler = ACTIONS.get(name.lower())
        if handler is None:
            return error(
                f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
            )
        return handler(self, fields, action_id)

    def restart(self) -> None:
        """Asterisk restarts: every call is gone without a word, dynamic members are forgotten
        (persistentmembers=no), Uniqueid sequences start again at 0 under a new epoch."""
        for caller in self.callers.values():
            if caller.entry is not None:
                for leg in caller.entry.legs.values():
                    for ident in leg.timers:
                        self._cancel(ident)
            caller.gone, caller.entry, caller.talking = True, None, None
        self.callers.clear()
        self.live.clear()
        self.busy.clear()
        self.rr_next.clear()
        for name in self.queues:
            self.members[name].clear()
            self.waiting[name].clear()
        self.channels = ChannelFactory()
        self._log.append(f"{int(self.now)}|NONE|NONE|NONE|QUEUESTART|\n")

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

    # -- plumbing ---------------------------------------------------------------------------------

    def at(self, delay: float, fn: Callable[[], None]) -> int:
        ident = next(self._seq)
        heapq.heappush(self._timers, (self.now + delay, ident, fn))
        return ident

    def _cancel(self, ident: int) -> None:
        self._cancelled.add(ident)

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

    def _var(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self.emit("VarSet", DIALPLAN, chan.snapshot(), ("Variable", name), ("Value", value))

    def _exten(self, chan: Channel, app: str, data: str, priority: int | None = None) -> None:
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

    def _state(self, chan: Channel, state: int) -> None:
        chan.state = state
        self.emit("Newstate", CALL, chan.snapshot())

    def _hangup(self, chan: Channel, cause: int = 16, request: str | None = None) -> None:
        if chan.hung_up:
            return
        if request:
            self.emit(request, CALL, chan.snapshot(), ("Cause", str(cause)))
        chan.hung_up = True
        self.live.pop(chan.uid, None)
        text = "Normal Clearing" if cause == 16 else "Unknown"
        self.emit("Hangup", CALL, chan.snapshot(), ("Cause", str(cause)), ("Cause-txt", text))

    def _user_event(self, chan: Channel, kind: str, *headers: tuple[str, str]) -> None:
        self.emit("UserEvent", USER, chan.snapshot(), ("UserEvent", kind), *headers)

    # -- members ----------------------------------------------------------------------------------

    def _member_block(self, m: Member) -> Headers:
        status = INUSE if self.busy.get(m.interface, 0.0) == IN_USE else NOT_INUSE
        return (
            ("Queue", m.queue), ("MemberName", m.name), ("Interface", m.interface),
            ("StateInterface", m.interface), ("Membership", "dynamic"), ("Penalty", str(m.penalty)),
            ("CallsTaken", str(m.calls)), ("LastCall", str(m.last_call)), ("LastPause", str(m.last_pause)),
            ("LoginTime", str(m.login)), ("InCall", "0"), ("Status", str(status)),
            ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason), ("Ringinuse", "0"),
            ("Wrapuptime", "0"),
        )  # fmt: skip

    def memberships(self, interface: str) -> list[Member]:
        return [m for ms in self.members.values() if (m := ms.get(interface)) is not None]

    def _device(self, interface: str, in_use: bool) -> None:
        if in_use:
            self.busy[interface] = IN_USE
        for m in self.memberships(interface):
            self.emit("QueueMemberStatus", AGENT, self._member_block(m))

    def member_event(self, name: str, member: Member) -> None:
        self.emit(name, AGENT, self._member_block(member))

    def members_changed(self) -> None:
        """A member came, went or (un)paused. Nothing happens at once: each waiting caller
        notices at its next once-a-second check (j_leavewhenempty: the exit comes on the
        caller's tick, half a second after the logout)."""

    def uid_of(self, channel: str) -> str | None:
        return next((c.uid for c in self.live.values() if c.name == channel), None)

    def status_items(self, queue: str, member: str) -> list[AmiEvent]:
        items = []
        for spec in self.queues.values():
            if queue and spec.name != queue:
                continue
            stats = self.stats[spec.name]
            done, dropped = stats["completed"], stats["abandoned"]
            perf = 100.0 * stats["insl"] / done if done else 0.0
            items.append(AmiEvent(self.now, "QueueParams", AGENT, (
                ("Queue", spec.name), ("Max", str(spec.maxlen)), ("Strategy", spec.strategy),
                ("Calls", str(len(self.waiting[spec.name]))), ("Holdtime", "0"), ("TalkTime", "0"),
                ("Completed", str(int(done))), ("Abandoned", str(int(dropped))),
                ("ServiceLevel", str(spec.servicelevel_s)), ("ServicelevelPerf", f"{perf:.1f}"),
                ("ServicelevelPerf2", f"{perf:.1f}"), ("Weight", "0"),
            )))  # fmt: skip
            for m in self.members[spec.name].values():
                if member and m.interface != member and m.name != member:
                    continue
                block = dict(self._member_block(m))
                del block["Ringinuse"]
                # The snapshot spells MemberName "Name" and Interface "Location".
                listed = (("Queue", m.queue), ("Name", m.name), ("Location", m.interface))
                rest = tuple(
                    (k, v) for k, v in block.items() if k not in ("Queue", "MemberName", "Interface")
                )
                items.append(AmiEvent(self.now, "QueueMember", AGENT, listed + rest))
            if member:
                continue
            for position, entry in enumerate(self.waiting[spec.name], 1):
                two = entry.caller.two
                row = (
                    ("Queue", spec.name), ("Position", str(position)), ("Channel", two.name),
                    ("Uniqueid", two.uid), ("CallerIDNum", two.cid_num), ("CallerIDName", two.cid_name),
                    ("ConnectedLineNum", two.conn_num), ("ConnectedLineName", two.conn_name),
                    ("Wait", str(int(self.now - entry.joined))), ("Priority", "0"),
                )  # fmt: skip
                items.append(AmiEvent(self.now, "QueueEntry", AGENT, row))
        return items

    def summary_items(self, queue: str) -> list[AmiEvent]:
        items = []
        for spec in self.queues.values():
            if queue and spec.name != queue:
                continue
            members = self.members[spec.name].values()
            waits = [self.now - e.joined for e in self.waiting[spec.name]]
            available = sum(1 for m in members if not m.paused and self._free(m.interface))
            items.append(AmiEvent(self.now, "QueueSummary", AGENT, (
                ("Queue", spec.name), ("LoggedIn", str(len(members))), ("Available", str(available)),
                ("Callers", str(len(waits))), ("HoldTime", "0"), ("TalkTime", "0"),
                ("LongestHoldTime", str(int(max(waits, default=0)))),
            )))  # fmt: skip
        return items

    def channel_rows(self) -> list[Headers]:
        rows = []
        for chan in self.live.values():
            app, data = chan.application or "Wait", chan.app_data
            extra = (("Application", app), ("ApplicationData", data), ("Duration", "00:00:00"),
                     ("BridgeId", chan.bridge))  # fmt: skip
            rows.append((*chan.snapshot(), *extra))
        return rows

    def _usable(self, m: Member, conditions: frozenset[str]) -> bool:
        return not (m.paused and "paused" in conditions)

    def _empty(self, queue: QueueSpec, conditions: frozenset[str]) -> bool:
        return not any(self._usable(m, conditions) for m in self.members[queue.name].values())

    def _free(self, interface: str) -> bool:
        return self.busy.get(interface, 0.0) <= self.now

    # -- callers and the dialplan ------------------------------------------------------------------

    def originate(
        self,
        caller_id: str,
        variables: Mapping[str, str],
        action_id: str = "",
        *,
        patience_s: float | None = None,
        hangup_after_connect_s: float | None = None,
    ) -> Caller:
        """A call to the support number (AMI Originate of Local/<number>@<context>/n)."""
        dp = self.spec.dialplan
        one, two = self.channels.local_pair(dp.number, dp.context, self.now)
        name, _, num = caller_id.rpartition("<")
        num, name = num.rstrip(">").strip(), name.strip().strip('"')
        caller = Caller(
            one,
            two,
            dict(variables),
            action_id,
            patience_s=patience_s,
            hangup_after_connect_s=hangup_after_connect_s,
        )
        self.callers[one.uid] = self.callers[two.uid] = caller
        for chan in (one, two):
            self.live[chan.uid] = chan
            self.emit("Newchannel", CALL, chan.snapshot())
        for chan in (one, two):
            chan.cid_num = chan.conn_num = num
            chan.cid_name = chan.conn_name = name
            self.emit(
                "NewCallerid",
                CALL,
                chan.snapshot(),
                ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"),
            )
        self._exten(two, "NoOp", f'support line from "{name}" <{num}>')
        self._exten(two, "Answer", "", 2)
        self._state(two, 6)
        self._state(one, 6)
        if action_id:
            self.emit(
                "OriginateResponse",
                CALL,
                ("Response", "Success"),
                ("Channel", one.name),
                ("Application", "Wait"),
                ("Data", "600"),
                ("Reason", "4"),
                ("Uniqueid", one.uid),
                ("CallerIDNum", num or "<unknown>"),
                ("CallerIDName", name or "<unknown>"),
                action_id=action_id,
            )
        self.at(dp.answer_s, lambda: self._ivr(caller, variables))
        return caller

    def _ivr(self, caller: Caller, variables: Mapping[str, str]) -> None:
        if caller.gone:
            return
        dp, two, num = self.spec.dialplan, caller.two, caller.two.cid_num
        choice = variables.get("IVR_CHOICE") or "1"
        self._exten(
            two, "UserEvent", f"IVRChoice,Queue: {dp.first_queue},Choice: {choice},CallerNum: {num}", 3
        )
        self._user_event(two, "IVRChoice", ("Queue", dp.first_queue), ("Choice", choice), ("CallerNum", num))
        self._exten(two, "Wait", str(int(dp.ivr_s)), 4)
        timeout = variables.get("QUEUE_TIMEOUT", "")
        self.at(dp.ivr_s, lambda: self._queue_app(caller, dp.first_queue, timeout, 5))

    def _queue_app(self, caller: Caller, name: str, timeout: str, priority: int) -> None:
        if caller.gone:
            return
        two = caller.two
        queue = self.queues.get(name)
        self._exten(two, "Queue", f"{name},tcr,,,{timeout}", priority)
        if queue is None:
            self._after_queue(caller, name, "UNKNOWN")
            return
        count = len(self.waiting[name])
        refused = "FULL" if queue.maxlen and count >= queue.maxlen else None
        if refused is None and self._empty(queue, queue.joinempty):
            refused = "JOINEMPTY"
        if refused is not None:
            self._after_queue(caller, name, refused)
            return
        entry = Entry(caller, queue, self.now, count + 1, self.now + float(timeout) if timeout else None)
        self.waiting[name].append(entry)
        caller.entry = entry
        self.emit(
            "QueueCallerJoin",
            AGENT,
            two.snapshot(),
            ("Queue", name),
            ("Position", str(entry.opos)),
            ("Count", str(count + 1)),
        )
        self.queue_log(two.uid, name, "NONE", "ENTERQUEUE", "", two.cid_num, entry.opos)
        if entry.expire is not None:
            self.at(entry.expire - self.now, lambda: self._expire(entry))
        if caller.patience_s is not None:
            self.at(caller.patience_s, lambda: self._give_up(entry))
        self._turn(entry)

    def _talk_over(self, caller: Caller) -> None:
        """The agent's phone hangs up after the talk time (unless a transfer is under way)."""
        talk = caller.talking
        if talk is not None and talk.consult is None:
            self._complete(caller, "agent")
            self._after_queue(caller, talk.queue.name, "CONTINUE")

    def _caller_hangs_up(self, caller: Caller) -> None:
        self.hang_up(caller.one.uid)

    def _give_up(self, entry: Entry) -> None:
        if entry.caller.entry is entry and entry in self.waiting[entry.queue.name]:
            self.hang_up(entry.caller.one.uid)

    def _after_queue(self, caller: Caller, queue: str, status: str) -> None:
        """Queue() returned: the lab dialplan's QueueResult, escalation, survey or hang-up."""
        two, dp = caller.two, self.spec.dialplan
        caller.queue_status = status
        if status:
            self._var(two, "QUEUESTATUS", status)
        wait = "" if caller.entry is None else str(int(self.now - caller.entry.joined))
        self._user_event(
            two,
            "QueueResult",
            ("Queue", queue),
            ("QueueStatus", status),
            ("CallerNum", two.cid_num),
            ("MemberName", caller.member_name),
            ("QueueWait", wait),
            ("AnsweredTime", ""),
        )
        caller.entry = None
        if status == "TIMEOUT" and caller.variables.get("ESCALATE") == "1" and queue == dp.first_queue:
            self._queue_app(caller, dp.escalation_queue, caller.variables.get("QUEUE_TIMEOUT_L2", ""), 2)
        elif status == "CONTINUE" and caller.variables.get("CSAT"):
            self._exten(two, "Wait", str(int(dp.survey_s)), 2)
            self.at(dp.survey_s, lambda: self._survey(caller, queue))
        else:
            self._end_call(caller)

    def _survey(self, caller: Caller, queue: str) -> None:
        if caller.gone:
            return
        two = caller.two
        score = caller.variables.get("CSAT", "")
        self._user_event(
            two,
            "CSAT",
            ("Score", score),
            ("Queue", queue),
            ("MemberName", caller.member_name),
            ("CallerNum", two.cid_num),
        )
        self.at(self.spec.dialplan.survey_s, lambda: self._end_call(caller))

    def _end_call(self, caller: Caller, abandoned: bool = False, *, h_extension: bool = True) -> None:
        """The caller's channel ends; the support context's h extension reports CallEnd (a caller
        transferred to another context never runs it: m_transfer)."""
        if caller.gone:
            return
        caller.gone = True
        two, one = caller.two, caller.one
        if not two.hung_up:
            self.emit("SoftHangupRequest", CALL, two.snapshot(), ("Cause", "16"))
        if h_extension:
            self._user_event(
                two,
                "CallEnd",
                ("CallerNum", two.cid_num),
                ("QueueStatus", caller.queue_status),
                ("Abandoned", "TRUE" if abandoned else ""),
                ("MemberName", caller.member_name),
                ("HangupCause", "16"),
            )
        self._hangup(one, request="HangupRequest")
        self._hangup(two)
        self.callers.pop(one.uid, None)
        self.callers.pop(two.uid, None)

    # -- the queue engine -------------------------------------------------------------------------

    def _pick(self, queue: QueueSpec, free: list[tuple[int, Member]]) -> list[tuple[int, Member]]:
        """The members to ring, by strategy, among the free ones of the lowest penalty."""
        low = min(m.penalty for _, m in free)
        best = [(i, m) for i, m in free if m.penalty == low]
        strategy = queue.strategy
        if strategy == "ringall":
            return best
        if strategy in ("rrmemory", "rrordered"):
            start, n = self.rr_next.get(queue.name, 0), len(self.members[queue.name])
            return [min(best, key=lambda im: (im[0] - start) % n)]
        if strategy == "leastrecent":
            return [min(best, key=lambda im: im[1].last_call)]
        if strategy == "fewestcalls":
            return [min(best, key=lambda im: im[1].calls)]
        if strategy == "random":
            return [self.rng.choice(best)]
        return best[:1]  # linear: in the order they were added

    def _turn(self, entry: Entry) -> None:
        """One pass of app_queue's wait loop for this caller (wait_our_turn / try_calling).

        Is it our turn (autofill: fewer callers ahead, not already ringing, than members
        available)? Then ring the strategy's pick, or wait ``retry`` if nobody can be rung (a
        member in wrap-up counts as available but cannot be rung). Not our turn: leave if the
        queue became empty (leavewhenempty), else look again in a second (RECHECK)."""
        if entry.caller.entry is not entry or entry.legs:
            return
        queue = entry.queue
        if self.now < entry.retry_at:
            self.at(entry.retry_at - self.now, lambda: self._turn(entry))
            return
        if self._our_turn(entry):
            members = self.members[queue.name].values()
            free = [(i, m) for i, m in enumerate(members) if not m.paused and self._free(m.interface)]
            if free:
                for pos, member in self._pick(queue, free):
                    self._ring(entry, member, pos)
                return
            self.at(queue.retry_s, lambda: self._turn(entry))
            return
        if queue.leavewhenempty and self._empty(queue, queue.leavewhenempty):
            self._exit(entry, "EXITEMPTY", "LEAVEEMPTY")
            return
        self.at(RECHECK_S, lambda: self._turn(entry))

    def _our_turn(self, entry: Entry) -> bool:
        queue = entry.queue
        available = sum(
            1 for m in self.members[queue.name].values()
            if not m.paused and self.busy.get(m.interface, 0.0) != IN_USE
        )  # fmt: skip
        if queue.strategy == "ringall":
            available = min(available, 1)
        ahead = 0
        for other in self.waiting[queue.name]:
            if other is entry:
                break
            ahead += not other.legs
        return ahead < available

    def _ring_ended(self, entry: Entry, leg: Leg) -> None:
        """store_next_rr(): round-robin moves past the member rung, once the ring is over."""
        if entry.queue.strategy in ("rrmemory", "rrordered"):
            count = len(self.members[entry.queue.name]) or 1
            self.rr_next[entry.queue.name] = (leg.pos + 1) % count

    def _ring(self, entry: Entry, member: Member, pos: int) -> None:
        two = entry.caller.two
        if member.interface.startswith("Local/"):
            exten, _, rest = member.interface[6:].partition("@")
            context = rest.split("/")[0]
            outgoing, phone = self.channels.local_pair(exten, context, self.now, two.linked_id)
        else:
            outgoing, phone = self.channels.device(member.interface, self.now, two.linked_id), None
        outgoing.application, outgoing.app_data = "AppQueue", "(Outgoing Line)"
        leg = Leg(member, outgoing, phone, self.now, pos)
        entry.legs[member.interface] = leg
        for chan in (outgoing, phone):
            if chan is not None:
                chan.cid_num, chan.cid_name = two.cid_num, two.cid_name
                self.live[chan.uid] = chan
                self.emit("Newchannel", CALL, chan.snapshot())
        self.emit(
            "AgentCalled",
            AGENT,
            two.snapshot(),
            outgoing.snapshot("Dest"),
            ("Queue", entry.queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
        )
        self.emit(
            "DialBegin", CALL, two.snapshot(), outgoing.snapshot("Dest"), ("DialString", member.interface)
        )
        self._state(outgoing, 5)
        self._device(member.interface, True)
        self.emit("DialState", CALL, two.snapshot(), outgoing.snapshot("Dest"), ("DialStatus", "RINGING"))
        behaviour = self.agents.get(member.interface, AgentSpec(member.name, member.interface))
        exten = member.interface.split("/")[1].split("@")[0]
        answers = behaviour.answers and self.globals.get(f"AGENT_MODE_{exten}", "answer") != "noanswer"
        if answers and behaviour.noanswer_share > 0:
            answers = self.rng.random() >= behaviour.noanswer_share
        delay = float(self.globals.get("RINGDELAY", behaviour.answer_delay_s))
        ring_for = entry.queue.timeout_s
        if entry.expire is not None:
            ring_for = min(ring_for, max(0.0, entry.expire - self.now))
        # The phone's dialplan (Ringing, Wait, Answer) and the bridge set-up take a few ms more.
        delay += PHONE_OVERHEAD_S
        if answers and delay < ring_for:
            leg.timers.append(self.at(delay, lambda: self._answer(entry, leg)))
        leg.timers.append(self.at(ring_for, lambda: self._no_answer(entry, leg)))

    def _drop_leg(self, entry: Entry, leg: Leg, status: str) -> None:
        for ident in leg.timers:
            self._cancel(ident)
        entry.legs.pop(leg.member.interface, None)
        two = entry.caller.two
        self.emit("DialEnd", CALL, two.snapshot(), leg.outgoing.snapshot("Dest"), ("DialStatus", status))
        if leg.phone is not None:
            self._hangup(leg.phone, request="HangupRequest")
        self._hangup(leg.outgoing)
        self.busy.pop(leg.member.interface, None)
        self._device(leg.member.interface, False)

    def _no_answer(self, entry: Entry, leg: Leg) -> None:
        if entry.caller.entry is not entry:
            return
        two = entry.caller.two
        ms = round((self.now - leg.started) * 1000)
        self.emit(
            "AgentRingNoAnswer",
            AGENT,
            two.snapshot(),
            leg.outgoing.snapshot("Dest"),
            ("Queue", entry.queue.name),
            ("Interface", leg.member.interface),
            ("MemberName", leg.member.name),
            ("RingTime", str(ms)),
        )
        self.queue_log(two.uid, entry.queue.name, leg.member.name, "RINGNOANSWER", ms)
        self._drop_leg(entry, leg, "NOANSWER")
        if entry.legs:
            return
        self._ring_ended(entry, leg)
        if entry.expire is not None and self.now >= entry.expire:
            self._expire(entry)
            return
        entry.retry_at = self.now + entry.queue.retry_s
        self.at(entry.queue.retry_s, lambda: self._turn(entry))

    def _leave(self, entry: Entry) -> int:
        """Take the caller off the waiting list; returns its position then."""
        line = self.waiting[entry.queue.name]
        position = line.index(entry) + 1
        line.remove(entry)
        self.emit(
            "QueueCallerLeave",
            AGENT,
            entry.caller.two.snapshot(),
            ("Queue", entry.queue.name),
            ("Position", str(position)),
            ("Count", str(len(line))),
        )
        return position

    def _answer(self, entry: Entry, leg: Leg) -> None:
        if entry.caller.entry is not entry:
            return  # the call is gone (a PBX restart)
        caller, queue, two = entry.caller, entry.queue, entry.caller.two
        for other in list(entry.legs.values()):
            if other is not leg:
                self._drop_leg(entry, other, "CANCEL")
        for ident in leg.timers:
            self._cancel(ident)
        entry.legs.clear()
        self._ring_ended(entry, leg)
        if leg.phone is not None:
            self._state(leg.phone, 6)
        self._state(leg.outgoing, 6)
        self.emit("DialEnd", CALL, two.snapshot(), leg.outgoing.snapshot("Dest"), ("DialStatus", "ANSWER"))
        hold = int(self.now - entry.joined)
        self._var(two, "QUEUESRVLEVEL", str(queue.servicelevel_s))
        self._leave(entry)
        ring = int(self.now - leg.started)
        self.emit(
            "AgentConnect",
            AGENT,
            two.snapshot(),
            leg.outgoing.snapshot("Dest"),
            ("Queue", queue.name),
            ("Interface", leg.member.interface),
            ("MemberName", leg.member.name),
            ("HoldTime", str(hold)),
            ("RingTime", str(ring)),
        )
        self.queue_log(two.uid, queue.name, leg.member.name, "CONNECT", hold, leg.outgoing.uid, ring)
        bridge = str(uuid.UUID(int=next(self._seq) + (int(self.now) << 64)))
        self.emit(
            "BridgeCreate",
            CALL,
            ("BridgeUniqueid", bridge),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
        )
        for chan in (leg.outgoing, two):
            chan.bridge = bridge
            self.emit("BridgeEnter", CALL, ("BridgeUniqueid", bridge), chan.snapshot())
        caller.member_name = leg.member.name
        caller.talking = Talk(caller, queue, leg, hold, self.now, entry.opos, bridge)
        talk = float(caller.variables.get("TALK") or self.spec.dialplan.default_talk_s)
        self.at(talk, lambda: self._talk_over(caller))
        if caller.hangup_after_connect_s is not None and caller.hangup_after_connect_s < talk:
            self.at(caller.hangup_after_connect_s, lambda: self._caller_hangs_up(caller))

    def _complete(self, caller: Caller, reason: str, transfer: tuple[str, str, str] | None = None) -> None:
        """The conversation ended: agent or caller hung up, or the agent transferred the caller
        (``transfer``: the queue_log verb and its first two fields)."""
        talk = caller.talking
        if talk is None:
            return
        caller.talking = None
        two, leg, queue = caller.two, talk.leg, talk.queue
        member = leg.member
        talked = int(self.now - talk.connected)
        if leg.phone is not None and reason == "agent":
            self._hangup(leg.phone, request="SoftHangupRequest")
        self.emit(
            "AgentComplete",
            AGENT,
            two.snapshot(),
            leg.outgoing.snapshot("Dest"),
            ("Queue", queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
            ("HoldTime", str(talk.hold)),
            ("TalkTime", str(talked)),
            ("Reason", reason),
        )
        if transfer is not None:
            self.queue_log(two.uid, queue.name, member.name, *transfer, talk.hold, talked, talk.opos)
        else:
            verb = "COMPLETEAGENT" if reason == "agent" else "COMPLETECALLER"
            self.queue_log(two.uid, queue.name, member.name, verb, talk.hold, talked, talk.opos)
        for chan in (leg.outgoing, two):
            chan.bridge = ""
            self.emit("BridgeLeave", CALL, ("BridgeUniqueid", talk.bridge), chan.snapshot())
        if leg.phone is not None:
            self._hangup(leg.phone)
        self._hangup(leg.outgoing)
        self.emit("BridgeDestroy", CALL, ("BridgeUniqueid", talk.bridge))
        stats = self.stats[queue.name]
        stats["completed"] += 1
        stats["insl"] += talk.hold <= queue.servicelevel_s
        member.calls += 1
        member.last_call = int(self.now)
        # app_queue compares whole seconds: free again once time(NULL) - wrapuptime >= lastcall.
        self.busy[member.interface] = int(self.now) + queue.wrapup_s
        self._device(member.interface, False)

    def talk_on(self, channel: str) -> Talk | None:
        """The conversation a channel (the caller's, or either agent leg) takes part in."""
        for caller in self.callers.values():
            talk = caller.talking
            if talk is not None and channel in (caller.two.name, talk.leg.outgoing.name,
                                                talk.leg.phone.name if talk.leg.phone else ""):  # fmt: skip
                return talk
        return None

    def blind_transfer(self, talk: Talk, context: str, exten: str) -> None:
        """The agent sends the caller to another extension: AgentComplete Reason=transfer."""
        caller, leg = talk.caller, talk.leg
        bridge = (("BridgeUniqueid", talk.bridge), ("BridgeNumChannels", "2"), ("IsExternal", "Yes"))
        parties = (*leg.outgoing.snapshot("Transferer"), *caller.two.snapshot("Transferee"))
        self.emit("BlindTransfer", CALL, ("Result", "Success"), parties, bridge, ("Context", context),
                  ("Extension", exten))  # fmt: skip
        self._complete(caller, "transfer", ("BLINDTRANSFER", exten, context))
        self._transfer_target(caller, exten, redirected=False)

    def redirect(self, talk: Talk, exten: str) -> None:
        """The caller's channel is redirected out of the queue bridge. app_queue sees no transfer:
        AgentComplete Reason=caller comes when the caller hangs up at the target, with a TalkTime
        that includes the time there (m_transfer)."""
        caller, leg = talk.caller, talk.leg
        for chan in (leg.phone, leg.outgoing):
            if chan is not None:
                self._hangup(chan, request="HangupRequest")
        self.busy.pop(leg.member.interface, None)
        self._device(leg.member.interface, False)
        self._transfer_target(caller, exten, redirected=True)

    def attended_transfer(self, talk: Talk, exten: str) -> None:
        """AMI Atxfer: the agent puts the caller on hold and calls the target; hanging up then
        completes the transfer (m_transfer: the target is up 0.45 s later)."""
        self.emit("Hold", CALL, talk.leg.outgoing.snapshot())

        def dial() -> None:
            if talk.caller.talking is not talk:
                return
            one, two = self.channels.local_pair(exten, "transfer", self.now, talk.caller.two.linked_id)
            for chan in (one, two):
                # The agent's channel dials the target with the caller's id (connected line).
                chan.cid_num, chan.cid_name = talk.caller.two.cid_num, talk.caller.two.cid_name
                self.live[chan.uid] = chan
                self.emit("Newchannel", CALL, chan.snapshot())
            talk.consult = (one, two)
            self.at(
                self.spec.dialplan.answer_s,
                lambda: self._user_event(
                    two, "TransferTarget", ("TargetExten", exten), ("CallerNum", talk.caller.two.cid_num)
                ),
            )
            self.at(self.spec.dialplan.answer_s + TRANSFER_DESK_S, lambda: self._target_hangs_up(talk))

        self.at(ATXFER_DIAL_S, dial)

    def _agent_hangs_up(self, talk: Talk) -> None:
        """The agent's channel is hung up: the end of the call, or of an attended transfer."""
        caller = talk.caller
        if talk.consult is None:
            self._complete(caller, "agent")
            self._after_queue(caller, talk.queue.name, "CONTINUE")
            return
        target = talk.consult[0]
        agent = talk.leg.outgoing
        parties = (*agent.snapshot("OrigTransferer"), *agent.snapshot("SecondTransferer"),
                   *caller.two.snapshot("Transferee"), *target.snapshot("TransferTarget"))  # fmt: skip
        self.emit("AttendedTransfer", CALL, ("Result", "Success"), parties, ("IsExternal", "No"),
                  ("DestType", "Bridge"), ("DestBridgeUniqueid", talk.bridge))  # fmt: skip
        self._complete(caller, "transfer", ("ATTENDEDTRANSFER", "BRIDGE", talk.bridge))
        caller.transferred_to = talk.consult

    def _target_hangs_up(self, talk: Talk) -> None:
        """The transfer target ends the call: the caller's Queue() returns CONTINUE ('c')."""
        caller = talk.caller
        if talk.consult is None or caller.gone:
            return
        for chan in talk.consult:
            self._hangup(chan, request="SoftHangupRequest" if chan is talk.consult[1] else None)
        if caller.talking is talk:  # the agent never completed the transfer
            return
        self._after_queue(caller, talk.queue.name, "CONTINUE")

    def _transfer_target(self, caller: Caller, exten: str, *, redirected: bool) -> None:
        """The lab's [transfer] desk: answers, reports TransferTarget, talks 6 s, hangs up."""
        two = caller.two
        two.context, two.exten = "transfer", exten
        self._exten(two, "UserEvent", f"TransferTarget,TargetExten: {exten},CallerNum: {two.cid_num}", 3)
        self._user_event(two, "TransferTarget", ("TargetExten", exten), ("CallerNum", two.cid_num))

        def done() -> None:
            if redirected:
                self._complete(caller, "caller")
            self._end_call(caller, h_extension=False)

        self.at(TRANSFER_DESK_S, done)

    def _exit(self, entry: Entry, verb: str, status: str | None) -> None:
        """record_abandoned(): QueueCallerAbandon, the queue_log verb, then the waiting list."""
        caller, queue, two = entry.caller, entry.queue, entry.caller.two
        for leg in list(entry.legs.values()):
            if status is None:  # the caller hung up while phones rang
                ms = round((self.now - leg.started) * 1000)
                self.queue_log(two.uid, queue.name, leg.member.name, "RINGCANCELED", ms)
                self._drop_leg(entry, leg, "CANCEL")
            else:
                self._no_answer_at_exit(entry, leg)
        line = self.waiting[queue.name]
        position = line.index(entry) + 1
        wait = int(self.now - entry.joined)
        self._var(two, "ABANDONED", "TRUE")
        self.emit(
            "QueueCallerAbandon",
            AGENT,
            two.snapshot(),
            ("Queue", queue.name),
            ("Position", str(position)),
            ("OriginalPosition", str(entry.opos)),
            ("HoldTime", str(wait)),
        )
        self.stats[queue.name]["abandoned"] += 1
        self.queue_log(two.uid, queue.name, "NONE", verb, position, entry.opos, wait)
        self._leave(entry)
        if status is not None:
            self._after_queue(caller, queue.name, status)

    def _no_answer_at_exit(self, entry: Entry, leg: Leg) -> None:
        # A ring cut short by the caller's own Queue() timeout is logged as RINGNOANSWER too.
        ms = round((self.now - leg.started) * 1000)
        two = entry.caller.two
        self.emit(
            "AgentRingNoAnswer",
            AGENT,
            two.snapshot(),
            leg.outgoing.snapshot("Dest"),
            ("Queue", entry.queue.name),
            ("Interface", leg.member.interface),
            ("MemberName", leg.member.name),
            ("RingTime", str(ms)),
        )
        self.queue_log(two.uid, entry.queue.name, leg.member.name, "RINGNOANSWER", ms)
        self._drop_leg(entry, leg, "NOANSWER")

    def _expire(self, entry: Entry) -> None:
        if entry.caller.entry is entry and entry in self.waiting[entry.queue.name]:
            self._exit(entry, "EXITWITHTIMEOUT", "TIMEOUT")

    def _talk_of_agent_leg(self, uid: str) -> Talk | None:
        for caller in self.callers.values():
            talk = caller.talking
            if talk is not None and uid in (
                talk.leg.outgoing.uid,
                talk.leg.phone.uid if talk.leg.phone else "",
            ):
                return talk
        return None

    def hang_up(self, uid: str, cause: int = 16) -> bool:
        """AMI Hangup: a caller's leg (abandon, end of talk, or just gone) or an agent's."""
        caller = self.callers.get(uid)
        if caller is None:
            talk = self._talk_of_agent_leg(uid)
            if talk is None:
                return False
            self._agent_hangs_up(talk)
            return True
        if caller.gone:
            return False
        two = caller.two
        self.emit("HangupRequest", CALL, two.snapshot(), ("Cause", str(cause)))
        if caller.entry is not None and caller.entry in self.waiting[caller.entry.queue.name]:
            self._hangup(caller.one, cause)
            self._exit(caller.entry, "ABANDON", None)
            caller.entry = None
            self._end_call(caller, abandoned=True)
        elif caller.talking is not None:
            self._hangup(caller.one, cause)
            self._complete(caller, "caller")
            # Queue()'s 'c' option sets CONTINUE even though the caller is gone: the dialplan
            # stops, only the h extension runs (b_answered_caller_hangup).
            caller.queue_status = "CONTINUE"
            self._var(two, "QUEUESTATUS", "CONTINUE")
            self._end_call(caller)
        else:
            self._end_call(caller)
        return True
