"""What the tracker tells its sinks: the output side of ``Tracker.apply``.

Sinks (the store, agent websockets, the wallboard, MQTT) consume these; they are frozen so a
sink can keep them. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.queues.model import AgentState, StintRecord


@dataclass(frozen=True, slots=True)
class CallQueued:
    at: float
    call_id: str
    queue: str
    caller_num: str
    caller_name: str
    position: int


@dataclass(frozen=True, slots=True)
class CallOffered:
    """An agent's phone rings with a queue call: the moment for a screen pop."""

    at: float
    call_id: str
    queue: str
    member: str
    interface: str
    caller_num: str
    caller_name: str


@dataclass(frozen=True, slots=True)
class CallConnected:
    at: float
    call_id: str
    queue: str
    member: str
    interface: str
    wait_s: float | None  # None: Asterisk's HoldTime was unusable


@dataclass(frozen=True, slots=True)
class StintEnded:
    record: StintRecord


@dataclass(frozen=True, slots=True)
class AgentChanged:
    at: float
    interface: str
    name: str
    state: AgentState
    reason: str


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """An agent's session in a queue is over (logged out, or removed): from login to logout.
    ``whole`` False: one end happened while the daemon was not looking (a login before it
    started, a logout during a link gap); that end is when it found out."""

    queue: str
    interface: str
    name: str
    since: float
    until: float
    whole: bool = True


@dataclass(frozen=True, slots=True)
class PauseEnded:
    """An agent's pause in a queue is over (unpaused, paused again for another reason, or logged
    out): its reason and span; ``whole`` as in :class:`SessionEnded`."""

    queue: str
    interface: str
    name: str
    reason: str
    since: float
    until: float
    whole: bool = True


@dataclass(frozen=True, slots=True)
class RingUnanswered:
    """An agent's phone rang with a queue call and was not answered (app_queue's RNA)."""

    at: float
    call_id: str
    queue: str
    member: str
    interface: str
    ring_s: float | None


@dataclass(frozen=True, slots=True)
class LinkResynced:
    """After a reconnect, the state was matched against Asterisk's own snapshot."""

    at: float
    closed: int  # stints that ended while the link was down
    adopted: int  # stints that began while the link was down


@dataclass(frozen=True, slots=True)
class AnomalySeen:
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """A caller's post-call survey score (1–5 as the dialplan reads it), for CSAT."""

    at: float
    call_id: str
    linked_id: str
    queue: str
    member: str
    caller_num: str
    score: int


@dataclass(frozen=True, slots=True)
class IvrChoiceMade:
    """The menu option a caller chose before queueing (what the callers came for)."""

    at: float
    call_id: str
    linked_id: str
    queue: str
    caller_num: str
    choice: str


@dataclass(frozen=True, slots=True)
class CallsUnseen:
    """Asterisk counted more calls ending in a queue than the daemon saw end, between two
    snapshots (QueueParams' Completed + Abandoned): at least this many calls of [since, at) are
    missing from the figures (fill them in from queue_log: `callcenter backfill`)."""

    at: float
    queue: str
    since: float
    count: int


Change = (
    CallQueued
    | CallOffered
    | CallConnected
    | StintEnded
    | AgentChanged
    | LinkResynced
    | AnomalySeen
    | SurveyAnswered
    | IvrChoiceMade
    | CallsUnseen
    | SessionEnded
    | PauseEnded
    | RingUnanswered
)
