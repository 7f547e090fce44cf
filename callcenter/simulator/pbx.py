"""A simulated Asterisk call center, without IO: app_queue, agent phones and the support dialplan.

Virtual time only: ``advance(until)`` runs what is due and returns the AMI events it caused;
``action()`` applies an AMI action. It emits what Asterisk 22 emits for each situation: every
event type of the lab's recordings with their fields, each channel's, device's and member's
events in Asterisk's order (tests/test_sim_stream.py), and the queue-related events in
Asterisk's global order (see tests/traces and Asterisk's app_queue):
join → AgentCalled → (answer: QueueCallerLeave → AgentConnect → … → AgentComplete) or
(no answer after the member timeout: AgentRingNoAnswer, retry) or (caller hangs up:
QueueCallerAbandon → QueueCallerLeave) or (Queue() timeout / leave-empty: QueueCallerAbandon →
QueueCallerLeave → QUEUESTATUS); refused joins (FULL, JOINEMPTY) only set QUEUESTATUS. It
writes queue_log lines as Asterisk does. Channels follow the lab's shape: callers are
``Local/600@support/n`` pairs, members ``Local/agentN@agents/n`` pairs or single SIP-like channels.
Pure: no clock, no sockets; randomness comes from the caller's draws (the traffic module).

Owns the call center's queues: the queue engine (app_queue's wait loop and strategies, ringing,
answer, no answer and the exits), the agents' phones, and the entry points of AMI actions and of
a restart. Built on :class:`~callcenter.simulator.switch.Switch` (virtual time, channels, device
states, bridges, the event and queue_log output); the caller's side (the support dialplan:
Originate, IVR, the Queue() join, QueueResult, escalation, survey, AMI Hangup) lives in
:mod:`~callcenter.simulator.dialplan`, how Local channel pairs come up in
:mod:`~callcenter.simulator.local`, the members' status and app_queue's ``Queue:*`` device states
in :mod:`~callcenter.simulator.members`, the answered call in
:mod:`~callcenter.simulator.conversation`, transfers in :mod:`~callcenter.simulator.transfers`,
the records they share in :mod:`~callcenter.simulator.calls`, the status views in
:mod:`~callcenter.simulator.status`. Must not import asyncio or anything that does IO, nor
anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from callcenter.simulator import conversation, dialplan, local, members, variables
from callcenter.simulator.calls import Caller, Entry, Leg, Member
from callcenter.simulator.channels import Channel
from callcenter.simulator.model import AgentSpec, CallCenterSpec, QueueSpec
from callcenter.simulator.strategy import Strategies
from callcenter.simulator.switch import AGENT, CALL, Switch
from callcenter.simulator.wire import ActionReply

IN_USE = float("inf")  # busy-until of a member whose phone rings or talks
RECHECK_S = 1.0  # app_queue's RECHECK: a waiting caller looks at the queue once a second
PHONE_OVERHEAD_S = 0.012  # join → AgentConnect was 1.014 s with a 1 s answer delay (a_answered_agent_hangup)
# ringall: a leg rung earlier in the round answers this much later. In both recorded ringall
# rounds (n_mixed_load, support-l2) the member rung last answered first: its Local channel's
# dialplan thread got going first.
RINGALL_LAG_S = 0.001


class Pbx(Switch):
    def __init__(
        self,
        spec: CallCenterSpec | None = None,
        *,
        boot: float = 1_800_000_000.0,
        agents: Mapping[str, AgentSpec] | None = None,
        seed: int = 0,
        channelvars: tuple[str, ...] = (),
    ) -> None:
        super().__init__(boot, channelvars)
        self.rng = random.Random(seed)
        self.spec = spec or CallCenterSpec()
        self.queues = {q.name: q for q in self.spec.queues}
        self.agents = dict(agents or {})  # interface -> phone behaviour (default: answers after 1 s)
        self.globals: dict[str, str] = {}
        self.members: dict[str, dict[str, Member]] = {q: {} for q in self.queues}
        self.member_devices: dict[str, str] = {}  # state device (Local/agent1@agents) -> interface
        self.waiting: dict[str, list[Entry]] = {q: [] for q in self.queues}
        self.busy: dict[str, float] = {}  # interface -> end of wrap-up (or inf while in use)
        # Members rung whose device state has not caught up (still NOT_INUSE): app_queue counts
        # them available when it decides whose turn it is, though nobody can ring them.
        self.lagging: set[str] = set()
        # Asked at each ring: does this member's device state lag? For a Local channel member
        # it is a race inside Asterisk (core_local reports INUSE only once the ;2 half's PBX
        # thread is flagged; 26 of 345 rings in n_mixed_load lost it). Never, by default; asked
        # for Local members only.
        self.device_lags: Callable[[str], bool] = lambda interface: False
        # Asked at each AgentComplete (with the caller's uid): is the caller's channel already
        # gone when app_queue publishes it? Then the event has no channel snapshot at all, only
        # Queue, Interface, MemberName, HoldTime, TalkTime and Reason (a real race in Asterisk 22:
        # s_load_3cps_60s, ~1 in 400 AgentCompletes under load). Never, by default.
        self.complete_orphaned: Callable[[str], bool] = lambda caller_uid: False
        self.strategies = Strategies(self.rng)
        self.callers: dict[str, Caller] = {}  # by the uid of either leg
        self.stats: dict[str, dict[str, float]] = {
            q: {"completed": 0, "abandoned": 0, "holdtime": 0.0, "talktime": 0.0, "insl": 0}
            for q in self.queues
        }
        self.queue_log("NONE", "NONE", "NONE", "QUEUESTART", "")

    # -- the Pbx protocol (the rest is the Switch's) -------------------------------------------

    def action(self, name: str, fields: Mapping[str, str], action_id: str, at: float) -> ActionReply:
        self.now = max(self.now, at)
        from callcenter.simulator.actions import ACTIONS, error

        handler = ACTIONS.get(name.lower())
        if handler is None:
            return error(
                f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
            )
        reply = handler(self, fields, action_id)
        self.flush_devices()
        return reply

    def restart(self) -> None:
        """Asterisk restarts: every call is gone without a word, dynamic members are forgotten
        (persistentmembers=no), Uniqueid sequences start again at 0 under a new epoch."""
        for caller in self.callers.values():
            if caller.entry is not None:
                for leg in caller.entry.legs.values():
                    for ident in leg.timers:
                        self.cancel(ident)
            caller.gone, caller.entry, caller.talking = True, None, None
        self.callers.clear()
        self.forget_channels()
        self.booted_at = self.now
        self.busy.clear()
        self.lagging.clear()
        self.member_devices.clear()
        self.strategies.reset()
        for name in self.queues:
            self.members[name].clear()
            self.waiting[name].clear()
        self.queue_log("NONE", "NONE", "NONE", "QUEUESTART", "")

    # -- members ----------------------------------------------------------------------------------

    def memberships(self, interface: str) -> list[Member]:
        return [m for ms in self.members.values() if (m := ms.get(interface)) is not None]

    def device_state_changed(self, device: str, state: str) -> None:
        members.device_state(self, device, state)

    def members_changed(self) -> None:
        """A member came, went or (un)paused. Nothing happens at once: each waiting caller
        notices at its next once-a-second check (j_leavewhenempty: the exit comes on the
        caller's tick, half a second after the logout)."""

    def _usable(self, m: Member, conditions: frozenset[str]) -> bool:
        return not (m.paused and "paused" in conditions)

    def is_empty(self, queue: QueueSpec, conditions: frozenset[str]) -> bool:
        """No member counts under these joinempty / leavewhenempty conditions."""
        return not any(self._usable(m, conditions) for m in self.members[queue.name].values())

    def is_free(self, interface: str) -> bool:
        """Neither ringing, talking nor in wrap-up."""
        return self.busy.get(interface, 0.0) <= self.now

    # -- the queue engine -------------------------------------------------------------------------

    def turn(self, entry: Entry) -> None:
        """One pass of app_queue's wait loop for this caller (wait_our_turn / try_calling).

        Is it our turn (autofill: fewer callers ahead, not already ringing, than members
        available)? Then ring the strategy's pick, or wait ``retry`` if nobody can be rung (a
        member in wrap-up counts as available but cannot be rung). Not our turn: leave if the
        queue became empty (leavewhenempty), else look again in a second (RECHECK)."""
        if entry.caller.entry is not entry or entry.legs:
            return
        queue = entry.queue
        if self.now < entry.retry_at:
            self.at(entry.retry_at - self.now, lambda: self.turn(entry))
            return
        if self._our_turn(entry):
            members = self.members[queue.name].values()
            entry.ranks = self.strategies.start_try(queue, members)
            free = [(i, m) for i, m in enumerate(members) if not m.paused and self.is_free(m.interface)]
            if free:
                picked = self.strategies.pick(queue, free, len(members))
                for k, (pos, member) in enumerate(picked):
                    self._ring(entry, member, pos, (len(picked) - 1 - k) * RINGALL_LAG_S)
                return
            self._store_next_rr(entry, None)
            self.at(queue.retry_s, lambda: self.turn(entry))
            return
        if queue.leavewhenempty and self.is_empty(queue, queue.leavewhenempty):
            self.exit_queue(entry, "EXITEMPTY", "LEAVEEMPTY")
            return
        self.at(RECHECK_S, lambda: self.turn(entry))

    def _our_turn(self, entry: Entry) -> bool:
        queue = entry.queue
        # is_member_available(): not in use, not paused, and wrap-up overrides the device state.
        available = sum(
            1
            for m in self.members[queue.name].values()
            if not m.paused and (self.is_free(m.interface) or m.interface in self.lagging)
        )
        if queue.strategy == "ringall":
            available = min(available, 1)
        ahead = 0
        for other in self.waiting[queue.name]:
            if other is entry:
                break
            ahead += not other.legs
        return ahead < available

    def _store_next_rr(self, entry: Entry, rung: Leg | None) -> None:
        self.strategies.end_try(entry.queue, entry.ranks, rung.member.interface if rung else None)

    def _ring(self, entry: Entry, member: Member, pos: int, lag: float = 0.0) -> None:
        two = entry.caller.two
        interface = member.interface
        if interface.startswith("Local/"):
            exten, _, rest = interface[6:].partition("@")
            context = rest.split("/")[0]
            outgoing, phone = self.channels.local_pair(exten, context, self.now, two.linked_id)
        else:
            outgoing, phone = self.channels.device(interface, self.now, two.linked_id), None
        leg = Leg(member, outgoing, phone, self.now, pos)
        entry.legs[interface] = leg
        local.dial(self, two, outgoing, phone, interface.partition("/")[2])
        outgoing.application, outgoing.app_data = "AppQueue", "(Outgoing Line)"
        behaviour = self.agents.get(interface, AgentSpec(member.name, interface))
        exten = interface.split("/")[1].split("@")[0]
        answers = behaviour.answers and self.globals.get(f"AGENT_MODE_{exten}", "answer") != "noanswer"
        if answers and behaviour.noanswer_share > 0:
            answers = self.rng.random() >= behaviour.noanswer_share
        delay = float(self.globals.get("RINGDELAY", behaviour.answer_delay_s))
        ring_for = entry.queue.timeout_s
        if entry.expire is not None:
            ring_for = min(ring_for, max(0.0, entry.expire - self.now))
        self.busy[interface] = IN_USE
        if phone is not None and self.device_lags(interface):
            # The caller's thread lost the CPU inside ast_call: the phone's dialplan rang, and
            # its device state was computed, before core_local flagged it and before app_queue
            # reported the call (n_mixed_load: AgentCalled shows the line already Ringing).
            self.lagging.add(interface)
            self._phone_rings(outgoing, phone, answers, delay)
            self.flush_devices()
            self.devices.started(phone)
            self._agent_called(entry, member, outgoing)
        else:
            self._agent_called(entry, member, outgoing)
            if phone is not None:
                self.devices.started(phone)
            self._phone_rings(outgoing, phone, answers, delay)
        self.flush_devices()
        self.emit("DialState", CALL, two.snapshot(), outgoing.snapshot("Dest"), ("DialStatus", "RINGING"))
        # The phone's dialplan (Ringing, Wait, Answer) and the bridge set-up take a few ms more.
        delay += PHONE_OVERHEAD_S + lag
        if answers and delay < ring_for:
            leg.timers.append(self.at(delay, lambda: self._answer(entry, leg)))
        leg.timers.append(self.at(ring_for, lambda: self._no_answer(entry, leg)))

    def _agent_called(self, entry: Entry, member: Member, line: Channel) -> None:
        two = entry.caller.two
        self.emit(
            "AgentCalled",
            AGENT,
            two.snapshot(),
            line.snapshot("Dest"),
            ("Queue", entry.queue.name),
            ("Interface", member.interface),
            ("MemberName", member.name),
        )
        self.emit("DialBegin", CALL, two.snapshot(), line.snapshot("Dest"), ("DialString", member.interface))

    def _phone_rings(self, line: Channel, phone: Channel | None, answers: bool, delay: float) -> None:
        """The lab's [agents] dialplan on a Local member's ``;2`` half, up to its Wait()."""
        if phone is not None:
            offered = f"agent {phone.exten} offered call {phone.get('LABCALL')} talk={phone.get('TALK')}"
            self.exten(phone, "NoOp", offered, 1)
            self.exten(phone, "Ringing", "", 2)
        self.state(line, 5)
        if phone is not None:
            self.exten(phone, "GotoIf", f"{int(not answers)}?noans", 3)
            self.exten(phone, "Wait", f"{delay:g}" if answers else "120", 4 if answers else 8)

    def _drop_leg(self, entry: Entry, leg: Leg, status: str, cause: int = 0) -> None:
        """A ring ends unanswered: DialEnd with the reason, then app_queue's hangupcalls()
        cancels the line (a second DialEnd, CANCEL), which takes the phone's half down
        (h_ring_no_answer, c_abandon_after_5s)."""
        for ident in leg.timers:
            self.cancel(ident)
        entry.legs.pop(leg.member.interface, None)
        two, line, phone = entry.caller.two, leg.outgoing, leg.phone
        self.emit("DialEnd", CALL, two.snapshot(), line.snapshot("Dest"), ("DialStatus", status))
        self.emit("DialEnd", CALL, two.snapshot(), line.snapshot("Dest"), ("DialStatus", "CANCEL"))
        if phone is not None:
            self.emit("HangupRequest", CALL, phone.snapshot(), ("Cause", str(cause)))
        self.busy.pop(leg.member.interface, None)
        self.lagging.discard(leg.member.interface)
        self.hangup(line, cause)
        if phone is not None:
            self.emit("SoftHangupRequest", CALL, phone.snapshot(), ("Cause", "16"))
            self.hangup(phone, cause)

    def _no_answer(self, entry: Entry, leg: Leg) -> None:
        if entry.caller.entry is not entry:
            return
        self._ring_unanswered(entry, leg)
        if entry.legs:
            return
        self._store_next_rr(entry, leg)
        if entry.expire is not None and self.now >= entry.expire:
            self.expire(entry)
            return
        entry.retry_at = self.now + entry.queue.retry_s
        self.at(entry.queue.retry_s, lambda: self.turn(entry))

    def _leave(self, entry: Entry) -> int:
        """Take the caller off the waiting list; returns its position then."""
        line = self.waiting[entry.queue.name]
        position = line.index(entry) + 1
        line.remove(entry)
        members.left(self, entry.queue.name)
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
        queue, two = entry.queue, entry.caller.two
        for ident in leg.timers:
            self.cancel(ident)
        self._store_next_rr(entry, leg)
        self.lagging.discard(leg.member.interface)
        if leg.phone is not None:
            self.exten(leg.phone, "Answer", "", 5)
            self.state(leg.phone, 6)
        self.state(leg.outgoing, 6)
        self.flush_devices()
        self.emit("DialEnd", CALL, two.snapshot(), leg.outgoing.snapshot("Dest"), ("DialStatus", "ANSWER"))
        # ringall: the other phones stop, "answered elsewhere" (n_mixed_load, support-l2)
        for other in list(entry.legs.values()):
            if other is not leg:
                self._drop_leg(entry, other, "CANCEL", cause=26)
        entry.legs.clear()
        hold = self.seconds_since(entry.joined)
        variables.answered(self, two, leg.outgoing, leg.member, queue, hold, entry.opos)
        position = self._leave(entry)
        variables.left(self, two, position, self.now - entry.joined)
        conversation.connect(self, entry, leg, hold)

    def exit_queue(self, entry: Entry, verb: str, status: str | None) -> None:
        """record_abandoned(): QueueCallerAbandon, the queue_log verb, then the waiting list."""
        caller, queue, two = entry.caller, entry.queue, entry.caller.two
        for leg in list(entry.legs.values()):
            self._store_next_rr(entry, leg)
            if status is None:  # the caller hung up while phones rang
                ms = round((self.now - leg.started) * 1000)
                self.queue_log(two.uid, queue.name, leg.member.name, "RINGCANCELED", ms)
                self._drop_leg(entry, leg, "CANCEL")
            else:
                self._ring_unanswered(entry, leg)
        line = self.waiting[queue.name]
        position = line.index(entry) + 1
        wait = self.seconds_since(entry.joined)
        if status is None:  # the wait loop ended with the hang-up: Queue()'s timings come first
            variables.timings(self, two, self.now - entry.joined)
        self.var(two, "ABANDONED", "TRUE")
        variables.queue_statistics(self, two, queue)
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
        if status is not None:  # a timeout or leave-empty: Queue() goes on to return (e, j)
            variables.timings(self, two, self.now - entry.joined)
        variables.queue_statistics(self, two, queue)
        self.queue_log(two.uid, queue.name, "NONE", verb, position, entry.opos, wait)
        self.var(two, "QUEUEPOSITION", str(self._leave(entry)))
        if status is not None:
            dialplan.after_queue(self, caller, queue.name, status)

    def _ring_unanswered(self, entry: Entry, leg: Leg) -> None:
        """AgentRingNoAnswer (RingTime in ms) and RINGNOANSWER; also for a ring cut short by the
        caller's own Queue() timeout, which Asterisk logs the same way."""
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

    def expire(self, entry: Entry) -> None:
        """The caller's Queue() timeout ran out while it still waits."""
        if entry.caller.entry is entry and entry in self.waiting[entry.queue.name]:
            self.exit_queue(entry, "EXITWITHTIMEOUT", "TIMEOUT")
