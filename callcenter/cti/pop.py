"""What an agent's screen shows as their phone rings, and after: pure decisions, no IO.

:class:`PopBook` follows the tracker's changes and turns them into screen messages:

- :class:`Ringing` — a call offered to an interface: who calls (number and name), the queue,
  how long they have waited, the queues this call went through before (level 1 → level 2) and
  what they chose in the IVR. The caller's last calls are added by the IO shell (a store
  lookup) with :func:`with_history`;
- :class:`Answered` — the agent took it (the ticket screen stays up while they talk);
- :class:`RingEnded` — it stopped ringing there without the agent taking it: unanswered,
  answered by someone else (ringall), or the caller gave up or left the queue;
- :class:`CallEnded` — the answered call ended: the agent documents it.

``screen(interface)`` is what a screen that (re)connects needs to be current: the calls ringing
there and the one the agent is on. Memory is bounded whatever the input (:class:`Recent`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.cti.tickets import Ticket
from callcenter.metrics.kpi import arrived_at
from callcenter.queues import changes as ch
from callcenter.queues.model import Outcome, Phase, StintRecord
from callcenter.queues.recent import Recent
from callcenter.queues.tracker import Tracker

MAX_CALLS = 20_000  # calls remembered for their journey: far more than a site has at once
HISTORY_LIMIT = 5  # past calls shown on a pop
# What Asterisk and carriers put where no number is given: no history can be looked up for them.
_HIDDEN = {"", "anonymous", "unknown", "<unknown>", "restricted", "private", "unavailable"}


def known_number(number: str) -> bool:
    """A number worth looking up: not withheld, with at least three digits."""
    return number.strip().lower() not in _HIDDEN and sum(c.isdigit() for c in number) >= 3


@dataclass(frozen=True, slots=True)
class PastCall:
    """One earlier call (journey) of the same number, as the pop lists it."""

    began: float
    ended: float
    queues: tuple[str, ...]  # in the order the caller went through them
    outcome: str  # the last stint's: answered, abandoned, timeout, ...
    answered: bool  # by some agent, in some queue
    agent: str | None  # who answered it last
    talk_s: float | None


@dataclass(frozen=True, slots=True)
class Pop:
    at: float
    server: str
    call_id: str
    queue: str
    member: str
    interface: str
    caller_num: str
    caller_name: str
    waited_s: float | None  # since the caller joined this queue; None: joined while we were away
    arrived_at: float | None  # when this call first joined a queue (its journey's start)
    journey: tuple[str, ...]  # queues this call went through before this one
    ivr_choice: str | None
    history: tuple[PastCall, ...] = ()  # newest first
    repeat: bool = False  # the number called within the repeat window: likely the same problem
    open_tickets: tuple[Ticket, ...] = ()  # the number's tickets not solved yet, newest first


@dataclass(frozen=True, slots=True)
class Ringing:
    pop: Pop


@dataclass(frozen=True, slots=True)
class Answered:
    at: float
    call_id: str
    interface: str


@dataclass(frozen=True, slots=True)
class RingEnded:
    at: float
    call_id: str
    interface: str
    why: str  # unanswered | answered_elsewhere | the stint's outcome (abandoned, timeout, ...)


@dataclass(frozen=True, slots=True)
class CallEnded:
    at: float
    call_id: str
    interface: str
    talk_s: float | None
    ended_by: str | None


ScreenMessage = Ringing | Answered | RingEnded | CallEnded


@dataclass(slots=True)
class _Call:
    caller_num: str = ""
    caller_name: str = ""
    queued_at: float | None = None
    arrived_at: float | None = None
    queues: list[str] = field(default_factory=list)
    ivr_choice: str | None = None


class PopBook:
    """The calls ringing and answered at each interface of one Asterisk, from its changes."""

    def __init__(self, server: str) -> None:
        self.server = server
        self._calls: Recent[str, _Call] = Recent(MAX_CALLS)
        self._ringing: dict[str, dict[str, Pop]] = {}  # interface -> call_id -> pop
        self._on_call: dict[str, tuple[Pop, Answered]] = {}  # interface -> the call in the agent's hands
        self._answered: Recent[tuple[str, str], Pop] = Recent(MAX_CALLS)  # (interface, call_id): documentable

    def take(self, change: ch.Change) -> list[ScreenMessage]:
        if isinstance(change, ch.CallQueued):
            call = self._call(change.call_id)
            call.caller_num, call.caller_name = change.caller_num, change.caller_name
            call.queued_at = change.at
            if call.arrived_at is None:
                call.arrived_at = change.at
            call.queues.append(change.queue)
        elif isinstance(change, ch.IvrChoiceMade):
            self._call(change.call_id).ivr_choice = change.choice
        elif isinstance(change, ch.CallOffered):
            return [Ringing(self._offer(change))]
        elif isinstance(change, ch.RingUnanswered):
            if self._ringing.get(change.interface, {}).pop(change.call_id, None) is not None:
                return [RingEnded(change.at, change.call_id, change.interface, "unanswered")]
        elif isinstance(change, ch.CallConnected):
            return self._connected(change)
        elif isinstance(change, ch.StintEnded):
            return self._ended(change.record)
        return []

    def screen(self, interface: str) -> list[ScreenMessage]:
        """What a screen connecting now must show: the calls ringing there, the call in hand."""
        out: list[ScreenMessage] = [Ringing(p) for p in self._ringing.get(interface, {}).values()]
        if (held := self._on_call.get(interface)) is not None:
            out += [Ringing(held[0]), held[1]]
        return out

    def forget_live(self) -> None:
        """After dropped changes: what rings and who talks may be stale; the calls answered stay
        documentable and the journeys known."""
        self._ringing.clear()
        self._on_call.clear()

    def answered(self, interface: str, call_id: str) -> Pop | None:
        """The call, if that interface answered it (lately): the calls its agent may document."""
        return self._answered.get((interface, call_id))

    def seed(self, tracker: Tracker) -> None:
        """The calls in progress as a tracker restored from a checkpoint has them (their earlier
        changes are not replayed): who waits, which phone each one rings, who talks with whom —
        so a screen that reconnects shows its call and its agent can still document it. The IVR
        choice is not in the tracker: unknown for these."""
        now = tracker.now
        for s in tracker.stints.values():
            call = self._call(s.call_id)
            call.caller_num, call.caller_name = s.caller_num, s.caller_name
            if not call.queues or call.queues[-1] != s.queue:
                call.queues.append(s.queue)
            call.queued_at = s.joined_at
            if call.arrived_at is None:
                call.arrived_at = s.joined_at
            if s.phase is Phase.TALKING and s.interface is not None:  # as an answer with no ring seen
                at = s.answered_at if s.answered_at is not None else now
                self._connected(
                    ch.CallConnected(at, s.call_id, s.queue, s.agent or "", s.interface, s.wait_s)
                )
        for interface, agent in tracker.agents.items():
            for call_id in agent.ringing:
                stint = tracker.stints.get(call_id)
                if stint is not None:
                    offer = ch.CallOffered(now, call_id, stint.queue, agent.name, interface, stint.caller_num,
                                           stint.caller_name)  # fmt: skip
                    self._offer(offer)

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = self._calls[call_id] = _Call()
        return call

    def _offer(self, offer: ch.CallOffered) -> Pop:
        call = self._calls.get(offer.call_id) or _Call()
        before = call.queues[:-1] if call.queues and call.queues[-1] == offer.queue else call.queues
        waited = None if call.queued_at is None else round(max(0.0, offer.at - call.queued_at), 3)
        pop = Pop(offer.at, self.server, offer.call_id, offer.queue, offer.member, offer.interface,
                  offer.caller_num or call.caller_num, offer.caller_name or call.caller_name, waited,
                  call.arrived_at, tuple(before), call.ivr_choice)  # fmt: skip
        self._ringing.setdefault(offer.interface, {})[offer.call_id] = pop
        return pop

    def _connected(self, connected: ch.CallConnected) -> list[ScreenMessage]:
        out: list[ScreenMessage] = []
        for interface in [i for i, calls in self._ringing.items() if connected.call_id in calls]:
            pop = self._ringing[interface].pop(connected.call_id)
            if interface == connected.interface:
                out.append(self._hold(pop, connected.at))
            else:  # ringall: the others stop ringing
                out.append(RingEnded(connected.at, connected.call_id, interface, "answered_elsewhere"))
        held = self._on_call.get(connected.interface)
        if held is None or held[0].call_id != connected.call_id:
            # answered without a ring we saw (adopted after a link gap): still the agent's call
            call = self._calls.get(connected.call_id) or _Call()
            pop = Pop(connected.at, self.server, connected.call_id, connected.queue, connected.member,
                      connected.interface, call.caller_num, call.caller_name, connected.wait_s,
                      call.arrived_at, tuple(call.queues[:-1]), call.ivr_choice)  # fmt: skip
            out.append(self._hold(pop, connected.at))
        return out

    def _hold(self, pop: Pop, at: float) -> Answered:
        """The call is in the hands of the agent at ``pop.interface``, and theirs to document."""
        answered = Answered(at, pop.call_id, pop.interface)
        self._on_call[pop.interface] = (pop, answered)
        self._answered[(pop.interface, pop.call_id)] = pop
        return answered

    def _ended(self, record: StintRecord) -> list[ScreenMessage]:
        out: list[ScreenMessage] = []
        for interface in [i for i, calls in self._ringing.items() if record.call_id in calls]:
            del self._ringing[interface][record.call_id]
            out.append(RingEnded(record.ended_at, record.call_id, interface, record.outcome.value))
        for interface in [i for i, (p, _) in self._on_call.items() if p.call_id == record.call_id]:
            del self._on_call[interface]
            out.append(CallEnded(record.ended_at, record.call_id, interface, record.talk_s, record.ended_by))
        return out


def past_calls(
    stints: Iterable[StintRecord], before: float, limit: int = HISTORY_LIMIT
) -> tuple[PastCall, ...]:
    """A number's earlier calls from its stored stints: one per journey (Linkedid), newest first;
    only journeys that began before ``before`` (not the call ringing now)."""
    journeys: dict[str, list[StintRecord]] = {}
    for r in stints:
        journeys.setdefault(r.linked_id or r.call_id, []).append(r)
    out = []
    for parts in journeys.values():
        parts.sort(key=lambda r: (arrived_at(r), r.ended_at))
        began = arrived_at(parts[0])
        if began >= before:
            continue
        answered = [r for r in parts if r.outcome is Outcome.ANSWERED]
        out.append(PastCall(began, max(r.ended_at for r in parts), tuple(r.queue for r in parts),
                            parts[-1].outcome.value, bool(answered), answered[-1].agent if answered else None,
                            answered[-1].talk_s if answered else None))  # fmt: skip
    out.sort(key=lambda p: p.began, reverse=True)
    return tuple(out[:limit])


def with_history(pop: Pop, history: Sequence[PastCall], repeat_window_s: float) -> Pop:
    """The pop with the caller's last calls (newest first); ``repeat`` by the FCR rule
    (:func:`~callcenter.metrics.kpi.fcr`): the number's previous call was answered and this one
    arrived within the window of its end, so that call likely did not solve it."""
    arrived = pop.arrived_at if pop.arrived_at is not None else pop.at
    last = history[0] if history else None
    repeat = last is not None and last.answered and arrived <= last.ended + repeat_window_s
    return dataclasses.replace(pop, history=tuple(history), repeat=repeat)


_KIND = {Answered: "answered", RingEnded: "ring_ended", CallEnded: "call_ended"}


def message_json(message: ScreenMessage) -> dict[str, Any]:
    """A screen message as the browser gets it: ``type`` and the fields, past calls as objects."""
    if isinstance(message, Ringing):
        return {"type": "ringing", **_plain(message.pop)}
    return {"type": _KIND[type(message)], **_plain(message)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
