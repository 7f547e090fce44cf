"""The call/queue/agent state machine of one Asterisk: ``apply(event) -> changes``.

Rules (each seen in tests/traces, see its README):
- A stint starts at ``CallerJoinedQueue`` and ends in exactly one outcome.
- ``CallerExitedUnanswered`` (QueueCallerAbandon) fires for a real abandon *and* for a timeout or
  leave-empty. It is an abandon when the caller's channel was already going away (a hangup
  request on the queue channel, or the hangup of the journey's originating leg, comes first:
  c_abandon_after_5s); otherwise the stint waits for QUEUESTATUS (e_queue_timeout,
  j_leavewhenempty). If the channel hangs up with no status seen (a stream without dialplan
  and user events), the queue's members decide: none usable means leave-empty, else timeout.
- A refused join (JOINEMPTY, FULL, JOINUNAVAIL) has no queue event at all: it is a QUEUESTATUS
  on a channel that is in no queue. Its queue comes from the status itself (the dialplan's
  QueueResult) or from the Queue() application just started on that channel (f_joinempty,
  g_queue_full). When both a bare QUEUESTATUS and a QueueResult report it, it counts once.
- ``QueueCallerLeave`` comes *before* ``AgentConnect``; ``AgentComplete`` may lack its Dest*
  fields and may follow the hangups: members are keyed by Interface, never by channel.
- After a new link (``LinkStarted``) the first complete status snapshot (queues + channels)
  closes, flagged, what ended while the link was down and adopts what began meanwhile
  (o_reconnect.client); a stint is never ended twice.

Pure: no IO, no clock; time comes from the events. Must not import callcenter.ami.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.queues import changes as ch
from callcenter.queues import events as ev
from callcenter.queues.model import (
    EXIT_OUTCOMES,
    REFUSED_OUTCOMES,
    Agent,
    AgentState,
    Member,
    Outcome,
    Phase,
    Stint,
    StintRecord,
)
from callcenter.queues.recent import Recent
from callcenter.queues.resync import Snapshot, reconcile

# Channels whose hangup was requested and not yet seen done (the newest this many): an abandon's
# request comes milliseconds before its QueueCallerAbandon.
GOING_LIMIT = 10_000
# Ended stints remembered so a late event of one is not taken for a new call (this many at most).
ENDED_LIMIT = 20_000
# Ends app_queue counts in QueueParams: Completed (answered, at their end) and Abandoned (every
# QueueCallerAbandon: abandons, timeouts, leave-empty). An end unseen ("unknown") is one of them.
COUNTED_BY_ASTERISK = frozenset(
    {Outcome.ANSWERED, Outcome.ABANDONED, Outcome.TIMEOUT, Outcome.LEAVEEMPTY, Outcome.UNKNOWN}
)
# Other per-channel memories (the newest this many channels).
CHANNELS_LIMIT = 50_000


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    short_abandon_s: float = 5.0
    wrapup_s: Mapping[str, int] = field(default_factory=dict)  # per queue, when members carry none


@dataclass(slots=True)
class QueueInfo:
    name: str
    servicelevel_s: int | None = None  # as Asterisk reports it (QueueParams / QUEUESRVLEVEL)
    strategy: str = ""
    max_callers: int = 0


class Tracker:
    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.stints: dict[str, Stint] = {}  # active, by call id
        self.by_linked: dict[str, str] = {}  # originating leg uid -> call id, while waiting
        self.members: dict[str, dict[str, Member]] = {}  # queue -> interface -> member
        self.agents: dict[str, Agent] = {}  # interface -> agent
        self.queues: dict[str, QueueInfo] = {}
        # Per-channel memories freed at the channel's hangup, and bounded in case it never comes.
        self.queue_app: Recent[str, str] = Recent(CHANNELS_LIMIT)  # uid -> queue of its Queue()
        self.refusal_echo: Recent[str, tuple[str, str]] = Recent(CHANNELS_LIMIT)  # counted once
        self.last_queue: Recent[str, str] = Recent(CHANNELS_LIMIT)  # call id -> its last queue
        self.going: Recent[str, float] = Recent(GOING_LIMIT)  # uid -> when its hangup began
        # (call id, queue) of ended stints -> the snapshot epoch they ended in (bounded)
        self.ended: Recent[tuple[str, str], int] = Recent(ENDED_LIMIT)
        self.epoch = 0
        self.snapshot: Snapshot | None = None
        self.now = 0.0
        self.anomalies = 0
        self.counters: dict[str, tuple[float, int, int]] = {}  # queue -> at, Completed, Abandoned
        self.ends_since: dict[str, int] = {}  # queue -> ends Asterisk counts, seen since
        self._agent_states: dict[str, tuple[AgentState, str]] = {}

    # -- entry point ---------------------------------------------------------------------------

    def apply(self, event: ev.Event) -> list[ch.Change]:
        if event.at > self.now:
            self.now = event.at
        out: list[ch.Change] = []
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, out)
        return out

    # -- what resync (queues/resync.py) may do to the state, and nothing else ----------------

    def end_unseen(self, stint: Stint, outcome: Outcome | None, at: float, out: list[ch.Change]) -> None:
        """End a stint whose end the daemon did not see; ``None``: as its exit looks (no status)."""
        self._end(stint, self._exit_guess(stint) if outcome is None else outcome, at, out, end_seen=False)

    def agent_for(self, interface: str, name: str) -> Agent:
        """The agent behind a member interface (created on first sight)."""
        return self._agent(interface, name)

    def agent_changed(self, agent: Agent, at: float, out: list[ch.Change]) -> None:
        """Emit the agent's state if it changed."""
        self._agent_changed(agent, at, out)

    def finish(self, at: float | None = None) -> list[ch.Change]:
        """End of input (a replay's end): settle stints whose end was not seen."""
        at = self.now if at is None else at
        out: list[ch.Change] = []
        for stint in list(self.stints.values()):
            if stint.phase is Phase.EXITING:
                self._end(stint, self._exit_guess(stint), at, out)
            elif stint.phase is Phase.TALKING:
                self._end(stint, Outcome.ANSWERED, at, out, end_seen=False)
            else:
                self._end(stint, Outcome.UNKNOWN, at, out, end_seen=False)
        return out

    # -- queue callers -------------------------------------------------------------------------

    def _joined(self, e: ev.CallerJoinedQueue, out: list[ch.Change]) -> None:
        old = self.stints.get(e.call_id)
        if old is not None and not self._left_queue_app(old, e.at, out):
            # A join while the last stint is still open: its end was missed (a stream gap).
            self._anomaly(e.at, f"call {e.call_id} joined {e.queue} while still in {old.queue}", out)
            self._end(old, Outcome.UNKNOWN, e.at, out, end_seen=False)
        stint = Stint(
            e.call_id, e.linked_id, e.queue, e.caller_num, e.caller_name, e.at, e.position, self.epoch
        )
        self.stints[e.call_id] = stint
        self.by_linked[e.linked_id] = e.call_id
        self.last_queue[e.call_id] = e.queue
        self.queue_app.pop(e.call_id, None)
        self._queue(e.queue)
        out.append(ch.CallQueued(e.at, e.call_id, e.queue, e.caller_num, e.caller_name, e.position))

    def ended_since_link(self, call_id: str, queue: str) -> bool:
        """Whether that stint ended on the current link: a status snapshot taken before its end
        still lists it, and must not bring it back."""
        return self.ended.get((call_id, queue)) == self.epoch

    def _stint(self, call_id: str, queue: str, at: float, out: list[ch.Change]) -> Stint | None:
        """The active stint of a call, adopted when its join was not seen (attached mid-call).

        None for a late event of a stint that already ended (a stint never ends twice)."""
        stint = self.stints.get(call_id)
        if stint is None or stint.queue != queue:
            if stint is not None:
                self._anomaly(at, f"call {call_id} reported in {queue} while in {stint.queue}", out)
                self._end(stint, Outcome.UNKNOWN, at, out, end_seen=False)
            if self.ended_since_link(call_id, queue):
                self._anomaly(at, f"call {call_id}: an event of its stint in {queue} after its end", out)
                return None
            stint = Stint(call_id, call_id, queue, "", "", None, 0, self.epoch, join_seen=False)
            self.stints[call_id] = stint
            self.last_queue[call_id] = queue
            self._queue(queue)
        stint.epoch = self.epoch
        return stint

    def _left(self, e: ev.CallerLeftQueue, out: list[ch.Change]) -> None:
        stint = self.stints.get(e.call_id)
        if stint is None or stint.queue != e.queue:
            return  # attached mid-call: nothing to leave
        stint.epoch = self.epoch
        if stint.phase is Phase.WAITING:
            stint.phase = Phase.LEFT
            if stint.joined_at is not None:
                stint.wait_s = e.at - stint.joined_at  # AgentConnect's HoldTime replaces it
        self._stop_waiting(stint, e.at, out)

    def _exited(self, e: ev.CallerExitedUnanswered, out: list[ch.Change]) -> None:
        stint = self._stint(e.call_id, e.queue, e.at, out)
        if stint is None:
            return
        if e.wait_s is not None:  # else what was measured, if anything
            stint.wait_s = e.wait_s
        self._stop_waiting(stint, e.at, out)
        if stint.caller_gone or e.call_id in self.going:
            self._end(stint, Outcome.ABANDONED, e.at, out)
            return
        stint.phase = Phase.EXITING
        stint.queue_empty_at_exit = not any(m.usable for m in self.members.get(e.queue, {}).values())

    def _stop_waiting(self, stint: Stint, at: float, out: list[ch.Change]) -> None:
        self.by_linked.pop(stint.linked_id, None)
        for agent in self.agents.values():
            if stint.call_id in agent.ringing:
                agent.ringing.discard(stint.call_id)
                self._agent_changed(agent, at, out)

    def _status(self, e: ev.QueueStatusSet, out: list[ch.Change]) -> None:
        stint = self.stints.get(e.call_id)
        if stint is not None and (e.queue is None or e.queue == stint.queue):
            stint.epoch = self.epoch
            if stint.phase is Phase.EXITING and e.outcome in EXIT_OUTCOMES:
                self._end(stint, e.outcome, e.at, out)
            return
        refused = e.outcome
        if refused not in REFUSED_OUTCOMES:
            return
        echo = self.refusal_echo.pop(e.call_id, None)
        if echo is not None and e.queue is not None and echo == (e.queue, refused):
            return  # the dialplan's QueueResult repeating a refusal already counted
        queue = e.queue or self.queue_app.pop(e.call_id, None)
        if queue is None:
            self._anomaly(e.at, f"call {e.call_id} refused with {e.status} by an unknown queue", out)
            return
        if e.queue is None:
            self.refusal_echo[e.call_id] = (queue, refused)
        self._queue(queue)
        self.last_queue[e.call_id] = queue
        stint = Stint(e.call_id, e.linked_id, queue, e.caller_num, e.caller_name, e.at, 0, self.epoch)
        stint.wait_s = 0.0
        self._emit_end(stint.record(refused, e.at), out)

    def _survey(self, e: ev.SurveyAnswered, out: list[ch.Change]) -> None:
        # passed on as they come: the answer arrives after the call's stints have ended
        out.append(ch.SurveyAnswered(e.at, e.call_id, e.linked_id, e.queue, e.member, e.caller_num, e.score))

    def _ivr_choice(self, e: ev.IvrChoiceMade, out: list[ch.Change]) -> None:
        out.append(ch.IvrChoiceMade(e.at, e.call_id, e.linked_id, e.queue, e.caller_num, e.choice))

    def _queue_app(self, e: ev.QueueAppStarted, out: list[ch.Change]) -> None:
        stint = self.stints.get(e.call_id)
        if stint is not None:
            self._left_queue_app(stint, e.at, out)
        self.queue_app[e.call_id] = e.queue

    def _left_queue_app(self, stint: Stint, at: float, out: list[ch.Change]) -> bool:
        """The dialplan moved on (another Queue(), a hangup) from a stint whose end is pending.

        Left the waiting list with neither an abandon nor an answer: an exit key (EXITWITHKEY has
        no QueueCallerAbandon and no QUEUESTATUS). An unanswered exit with no status seen: see
        ``_exit_guess``. Returns whether the stint was settled."""
        if stint.phase is Phase.LEFT:
            self._end(stint, Outcome.EXITWITHKEY, at, out)
            return True
        if stint.phase is Phase.EXITING:
            self._end(stint, self._exit_guess(stint), at, out)
            return True
        return False

    def _hangup_requested(self, e: ev.ChannelHangupRequested, out: list[ch.Change]) -> None:
        self._caller_going(e.uid, e.at, out)

    def _hung_up(self, e: ev.ChannelHungUp, out: list[ch.Change]) -> None:
        self._caller_going(e.uid, e.at, out)
        stint = self.stints.get(e.uid)
        if stint is not None:
            self._left_queue_app(stint, e.at, out)
        self.forget_channel(e.uid)  # the channel is gone: nothing of it can follow

    def forget_channel(self, uid: str) -> None:
        """Free what is remembered of a channel that is gone (hung up, or absent from a status
        snapshot)."""
        self.queue_app.pop(uid, None)
        self.refusal_echo.pop(uid, None)
        self.last_queue.pop(uid, None)
        self.going.pop(uid, None)

    def _caller_going(self, uid: str, at: float, out: list[ch.Change]) -> None:
        # Remembered even for channels with no known stint: after a gap the abandon event may be
        # the first we see of a caller, and its hangup request came just before it.
        self.going[uid] = at
        stint = self.stints.get(uid)
        if stint is None:
            call_id = self.by_linked.get(uid)
            stint = self.stints.get(call_id) if call_id else None
        if stint is not None and stint.phase is Phase.WAITING:
            stint.caller_gone = True

    def _exit_guess(self, stint: Stint) -> Outcome:
        return Outcome.LEAVEEMPTY if stint.queue_empty_at_exit else Outcome.TIMEOUT

    # -- agents and calls ----------------------------------------------------------------------

    def _agent(self, interface: str, name: str) -> Agent:
        agent = self.agents.get(interface)
        if agent is None:
            agent = self.agents[interface] = Agent(interface, name)
        elif name and agent.name != name:
            agent.name = name
        return agent

    def _rang(self, e: ev.AgentRang, out: list[ch.Change]) -> None:
        stint = self._stint(e.call_id, e.queue, e.at, out)
        if stint is None:
            return
        agent = self._agent(e.interface, e.member)
        agent.ringing.add(e.call_id)
        out.append(
            ch.CallOffered(
                e.at, e.call_id, e.queue, e.member, e.interface, stint.caller_num, stint.caller_name
            )
        )
        self._agent_changed(agent, e.at, out)

    def _ring_unanswered(self, e: ev.AgentRingUnanswered, out: list[ch.Change]) -> None:
        agent = self._agent(e.interface, e.member)
        agent.ring_no_answer += 1
        agent.ringing.discard(e.call_id)
        out.append(ch.RingUnanswered(e.at, e.call_id, e.queue, e.member, e.interface, e.ring_s))
        stint = self.stints.get(e.call_id)
        if stint is not None:
            stint.ring_no_answer += 1
        self._agent_changed(agent, e.at, out)

    def _answered(self, e: ev.CallAnswered, out: list[ch.Change]) -> None:
        stint = self._stint(e.call_id, e.queue, e.at, out)
        if stint is None:
            return
        if stint.phase is Phase.TALKING:
            self._anomaly(e.at, f"call {e.call_id} answered twice in {e.queue}", out)
            return
        if not stint.join_seen and stint.linked_id == stint.call_id:
            stint.linked_id = e.linked_id
        self._stop_waiting(stint, e.at, out)
        stint.phase = Phase.TALKING
        if e.wait_s is not None:  # Asterisk's whole seconds; else the wait measured at leave
            stint.wait_s = e.wait_s
        stint.answered_at = e.at
        stint.agent, stint.interface = e.member, e.interface
        agent = self._agent(e.interface, e.member)
        agent.answered += 1
        agent.on_call = e.call_id
        out.append(ch.CallConnected(e.at, e.call_id, e.queue, e.member, e.interface, e.wait_s))
        self._agent_changed(agent, e.at, out)

    def _completed(self, e: ev.CallCompleted, out: list[ch.Change]) -> None:
        call_id = e.call_id
        if call_id is None:
            call_id = self._connected_to(e.queue, e.interface)
            if call_id is None:
                self._anomaly(
                    e.at, f"AgentComplete of {e.member} in {e.queue} with no caller and no call", out
                )
                return
        stint = self.stints.get(call_id)
        if stint is None or stint.queue != e.queue or stint.phase is not Phase.TALKING:
            # Attached mid-call: the answer was not seen; the end still tells the whole story.
            stint = self._stint(call_id, e.queue, e.at, out)
            if stint is None:
                return
            stint.wait_s = e.wait_s
            stint.agent, stint.interface = e.member, e.interface
            self._agent(e.interface, e.member).answered += 1
        if stint.wait_s is None:
            stint.wait_s = e.wait_s  # adopted at a resync: Asterisk's HoldTime tells its wait
        agent = self._agent(e.interface, e.member)
        if e.talk_s is not None:
            agent.talk_s += e.talk_s
        if agent.on_call == call_id:
            agent.on_call = None
        wrapup = self._wrapup_s(e.queue, e.interface)
        agent.wrapup_until = e.at + (wrapup or 0)
        self._end(stint, Outcome.ANSWERED, e.at, out, talk_s=e.talk_s, ended_by=e.ended_by or None,
                  wrapup_s=None if wrapup is None else float(wrapup))  # fmt: skip
        self._agent_changed(agent, e.at, out)

    def _connected_to(self, queue: str, interface: str) -> str | None:
        """The call a member of a queue is talking to (AgentComplete with no caller channel)."""
        agent = self.agents.get(interface)
        if agent is not None and agent.on_call is not None:
            stint = self.stints.get(agent.on_call)
            if stint is not None and stint.queue == queue and stint.phase is Phase.TALKING:
                return stint.call_id
        for stint in self.stints.values():  # rare: the agent record lost track of the call
            if stint.queue == queue and stint.interface == interface and stint.phase is Phase.TALKING:
                return stint.call_id
        return None

    def _dumped(self, e: ev.CallDumpedByAgent, out: list[ch.Change]) -> None:
        """AGENTDUMP: the member hung up during the member announcement; the caller stays queued."""
        for agent in self.agents.values():
            if agent.name == e.member and e.call_id in agent.ringing:
                agent.ringing.discard(e.call_id)
                self._agent_changed(agent, e.at, out)

    def _transferred(self, e: ev.CallTransferred, out: list[ch.Change]) -> None:
        stint = self.stints.get(e.call_id)
        if stint is not None:
            stint.transfer_target = f"{e.kind}:{e.target}"

    def _wrapup_s(self, queue: str, interface: str) -> int | None:
        """The member's wrapuptime, else the queue's from the settings (AMI never reports a
        queue's own); None when neither is known."""
        member = self.members.get(queue, {}).get(interface)
        if member is not None and member.wrapup_s > 0:
            return member.wrapup_s
        return self.config.wrapup_s.get(queue)

    # -- members -------------------------------------------------------------------------------

    def _member(self, e: ev.MemberReported, out: list[ch.Change]) -> None:
        members = self.members.setdefault(e.queue, {})
        agent = self._agent(e.interface, e.member)
        self._queue(e.queue)
        if e.change == "removed":
            gone = members.pop(e.interface, None)
            if gone is not None:
                self._session_ended(gone, e.at, True, out)
        else:
            member = members.get(e.interface)
            # only these events tell the moment a login or a pause began or ended; a snapshot or
            # a status report shows a state already reached
            login, pausing = e.change == "added", e.change in ("pause", "added")
            if member is None:
                member = members[e.interface] = Member(
                    e.queue, e.member, e.interface, since=e.at, since_seen=login
                )
            member.name = e.member
            member.device = e.device
            reason = e.paused_reason if e.paused else ""
            if member.paused and (not e.paused or reason != member.paused_reason):
                self._pause_ended(member, e.at, pausing, out)  # unpaused, or paused again for another reason
            if e.paused and (not member.paused or reason != member.paused_reason):
                member.paused_since, member.paused_seen = e.at, pausing
            member.paused = e.paused
            member.paused_reason = reason
            member.penalty = e.penalty
            member.wrapup_s = e.wrapup_s
            if self.snapshot is not None and e.change == "snapshot":
                self.snapshot.members.setdefault(e.queue, set()).add(e.interface)
        self._agent_changed(agent, e.at, out)

    def _session_ended(self, member: Member, at: float, seen: bool, out: list[ch.Change]) -> None:
        if member.paused:
            self._pause_ended(member, at, seen, out)
        out.append(ch.SessionEnded(member.queue, member.interface, member.name, member.since, at,
                                   member.since_seen and seen))  # fmt: skip

    def _pause_ended(self, member: Member, at: float, seen: bool, out: list[ch.Change]) -> None:
        out.append(ch.PauseEnded(member.queue, member.interface, member.name, member.paused_reason,
                                 member.paused_since, at, member.paused_seen and seen))  # fmt: skip

    def agent_state(self, interface: str, now: float | None = None) -> tuple[AgentState, str]:
        """An agent's state across their queues, and the pause reason when paused."""
        now = self.now if now is None else now
        memberships = [m for ms in self.members.values() if (m := ms.get(interface)) is not None]
        agent = self.agents.get(interface)
        if not memberships or agent is None:
            return AgentState.LOGGED_OUT, ""
        if agent.on_call is not None:
            return AgentState.ON_CALL, ""
        if agent.ringing:
            return AgentState.RINGING, ""
        if all(m.paused for m in memberships):
            return AgentState.PAUSED, memberships[0].paused_reason
        if agent.wrapup_until > now:
            return AgentState.WRAP_UP, ""
        if all(not m.usable for m in memberships):
            return AgentState.UNAVAILABLE, ""
        return AgentState.AVAILABLE, ""

    def _agent_changed(self, agent: Agent, at: float, out: list[ch.Change]) -> None:
        state = self.agent_state(agent.interface, at)
        if self._agent_states.get(agent.interface) != state:
            self._agent_states[agent.interface] = state
            out.append(ch.AgentChanged(at, agent.interface, agent.name, state[0], state[1]))

    # -- queues and service levels -------------------------------------------------------------

    def _queue(self, name: str) -> QueueInfo:
        info = self.queues.get(name)
        if info is None:
            info = self.queues[name] = QueueInfo(name)
        return info

    def _service_level(self, e: ev.QueueServiceLevelSeen, out: list[ch.Change]) -> None:
        queue = e.queue or (self.last_queue.get(e.call_id) if e.call_id else None)
        if queue is not None and e.servicelevel_s > 0:
            self._queue(queue).servicelevel_s = e.servicelevel_s

    # -- links and snapshots -------------------------------------------------------------------

    def _link_started(self, e: ev.LinkStarted, out: list[ch.Change]) -> None:
        self.epoch += 1
        self.snapshot = Snapshot(self.epoch)

    def _snapshot_started(self, e: ev.SnapshotStarted, out: list[ch.Change]) -> None:
        # A new epoch: stints touched by events from here on are current; the others are
        # settled against the snapshot when it completes, as after a reconnect.
        # A snapshot left half done (a status request failed) gives way to the new one; one
        # that has received nothing yet is the link's own resync, answered now.
        if self.snapshot is None or self.snapshot.completed:
            self.epoch += 1
            self.snapshot = Snapshot(self.epoch)

    def _queue_listed(self, e: ev.QueueListed, out: list[ch.Change]) -> None:
        info = self._queue(e.queue)
        if e.servicelevel_s > 0:  # 0 is app_queue's "not configured"
            info.servicelevel_s = e.servicelevel_s
        info.strategy, info.max_callers = e.strategy, e.max_callers
        if self.snapshot is not None:
            self.snapshot.queues.add(e.queue)
            self.snapshot.members.setdefault(e.queue, set())
            if e.completed is not None and e.abandoned is not None:
                self.snapshot.counters[e.queue] = (e.completed, e.abandoned)

    def _waiting_listed(self, e: ev.WaitingCallerListed, out: list[ch.Change]) -> None:
        if self.snapshot is not None:
            self.snapshot.waiting[e.call_id] = e

    def _channel_listed(self, e: ev.ChannelListed, out: list[ch.Change]) -> None:
        if self.snapshot is not None:
            self.snapshot.channels[e.uid] = e

    def _snapshot_completed(self, e: ev.SnapshotCompleted, out: list[ch.Change]) -> None:
        snap = self.snapshot
        if snap is None:
            return
        snap.completed.add(e.kind)
        if e.kind == "queues":
            for queue in snap.queues:
                members = self.members.get(queue, {})
                for interface in set(members) - snap.members.get(queue, set()):
                    member = members.pop(interface)
                    self._session_ended(member, e.at, False, out)  # logged out during the gap
                    self._agent_changed(self._agent(interface, member.name), e.at, out)
        if snap.completed >= {"queues", "channels"}:
            self.snapshot = None
            reconcile(self, snap, e.at, out)
            self._count_unseen(snap.counters, e.at, out)

    def _count_unseen(self, counters: dict[str, tuple[int, int]], at: float, out: list[ch.Change]) -> None:
        """Asterisk's Completed + Abandoned against the ends seen since the last snapshot (the
        closures of this resync included): more on Asterisk's side means calls ended unseen."""
        for queue, (completed, abandoned) in counters.items():
            previous = self.counters.get(queue)
            seen = self.ends_since.pop(queue, 0)
            self.counters[queue] = (at, completed, abandoned)
            if previous is None:
                continue
            since, was_completed, was_abandoned = previous
            grown = (completed - was_completed) + (abandoned - was_abandoned)
            if completed < was_completed or abandoned < was_abandoned:
                continue  # the counters started again (Asterisk restarted, queue reset stats)
            if grown > seen:
                out.append(ch.CallsUnseen(at, queue, since, grown - seen))

    # -- endings -------------------------------------------------------------------------------

    def _end(
        self,
        stint: Stint,
        outcome: Outcome,
        at: float,
        out: list[ch.Change],
        *,
        talk_s: float | None = None,
        ended_by: str | None = None,
        end_seen: bool = True,
        wrapup_s: float | None = None,
    ) -> None:
        if self.stints.get(stint.call_id) is stint:
            del self.stints[stint.call_id]
        self.ended[(stint.call_id, stint.queue)] = self.epoch
        self.by_linked.pop(stint.linked_id, None)
        if stint.phase is not Phase.TALKING and outcome is not Outcome.ANSWERED:
            self._stop_waiting(stint, at, out)
        short = (
            outcome is Outcome.ABANDONED
            and stint.wait_s is not None
            and stint.wait_s < self.config.short_abandon_s
        )
        self._emit_end(
            stint.record(
                outcome,
                at,
                talk_s=talk_s,
                ended_by=ended_by,
                short_abandon=short,
                end_seen=end_seen,
                wrapup_s=wrapup_s,
            ),
            out,
        )

    def _emit_end(self, record: StintRecord, out: list[ch.Change]) -> None:
        if record.outcome in COUNTED_BY_ASTERISK:
            self.ends_since[record.queue] = self.ends_since.get(record.queue, 0) + 1
        out.append(ch.StintEnded(record))

    def _anomaly(self, at: float, reason: str, out: list[ch.Change]) -> None:
        self.anomalies += 1
        out.append(ch.AnomalySeen(at, reason))


_Handler = Callable[[Tracker, Any, list[ch.Change]], None]
_HANDLERS: dict[type[Any], _Handler] = {
    ev.CallerJoinedQueue: Tracker._joined,
    ev.CallerLeftQueue: Tracker._left,
    ev.CallerExitedUnanswered: Tracker._exited,
    ev.QueueStatusSet: Tracker._status,
    ev.SurveyAnswered: Tracker._survey,
    ev.IvrChoiceMade: Tracker._ivr_choice,
    ev.QueueAppStarted: Tracker._queue_app,
    ev.ChannelHangupRequested: Tracker._hangup_requested,
    ev.ChannelHungUp: Tracker._hung_up,
    ev.AgentRang: Tracker._rang,
    ev.AgentRingUnanswered: Tracker._ring_unanswered,
    ev.CallAnswered: Tracker._answered,
    ev.CallCompleted: Tracker._completed,
    ev.CallDumpedByAgent: Tracker._dumped,
    ev.CallTransferred: Tracker._transferred,
    ev.MemberReported: Tracker._member,
    ev.QueueServiceLevelSeen: Tracker._service_level,
    ev.LinkStarted: Tracker._link_started,
    ev.SnapshotStarted: Tracker._snapshot_started,
    ev.QueueListed: Tracker._queue_listed,
    ev.WaitingCallerListed: Tracker._waiting_listed,
    ev.ChannelListed: Tracker._channel_listed,
    ev.SnapshotCompleted: Tracker._snapshot_completed,
}
