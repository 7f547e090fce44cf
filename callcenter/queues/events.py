"""Domain events: what happened at the PBX, in call-center words, as frozen facts.

Produced by ``callcenter.ami.translate`` from AMI messages and consumed by the tracker. Every
event carries ``at``, epoch seconds taken from the AMI ``Timestamp`` header when present, else
from the receive time stamped once at the edge. ``call_id`` is the Uniqueid of the queue
caller's channel (queue_log's callid); ``linked_id`` groups every leg of one caller journey.
No AMI spelling appears here; nothing here imports from ``callcenter.ami``.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.queues.model import Outcome


@dataclass(frozen=True, slots=True)
class LinkStarted:
    """A new AMI session began (login banner): live events may have been missed before it."""

    at: float
    version: str


@dataclass(frozen=True, slots=True)
class CallerJoinedQueue:
    at: float
    call_id: str
    linked_id: str
    channel: str
    queue: str
    caller_num: str
    caller_name: str
    position: int


@dataclass(frozen=True, slots=True)
class CallerLeftQueue:
    """The caller left the waiting list; Asterisk gives no reason (answered or not)."""

    at: float
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class CallerExitedUnanswered:
    """app_queue's record_abandoned(): a real abandon, but also a timeout or leave-empty.

    The tracker decides which from what surrounds it (see tracker docstring)."""

    at: float
    call_id: str
    queue: str
    wait_s: float | None
    position: int


@dataclass(frozen=True, slots=True)
class AgentRang:
    at: float
    call_id: str
    queue: str
    member: str
    interface: str


@dataclass(frozen=True, slots=True)
class AgentRingUnanswered:
    at: float
    call_id: str
    queue: str
    member: str
    interface: str
    ring_s: float | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    at: float
    call_id: str
    linked_id: str
    queue: str
    member: str
    interface: str
    wait_s: float | None
    ring_s: float | None


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """The agent conversation of an answered stint ended. ``ended_by``: agent, caller, transfer.

    ``call_id`` is None when Asterisk published the AgentComplete after the caller's channel was
    gone: the event then has no caller channel at all (s_load_3cps_60s, ~1 in 400 under load) and
    only the member (queue + interface) says which stint it ends."""

    at: float
    call_id: str | None
    queue: str
    member: str
    interface: str
    wait_s: float | None
    talk_s: float | None
    ended_by: str


@dataclass(frozen=True, slots=True)
class CallDumpedByAgent:
    """The member hung up during the member announcement, before the bridge."""

    at: float
    call_id: str
    queue: str
    member: str


@dataclass(frozen=True, slots=True)
class QueueStatusSet:
    """Queue() returned (or refused the caller) with this QUEUESTATUS.

    ``queue`` is known when the source names it (the dialplan's QueueResult user event);
    a bare channel-variable change does not."""

    at: float
    call_id: str
    linked_id: str
    channel: str
    status: str
    queue: str | None
    caller_num: str
    caller_name: str
    outcome: Outcome | None = None  # what the status means for the stint (ami.translate); None: nothing


@dataclass(frozen=True, slots=True)
class QueueAppStarted:
    """The dialplan ran Queue() for this channel (the only sign of a refused join's queue)."""

    at: float
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class QueueServiceLevelSeen:
    at: float
    queue: str | None
    call_id: str | None
    servicelevel_s: int


@dataclass(frozen=True, slots=True)
class ChannelHangupRequested:
    at: float
    uid: str
    linked_id: str


@dataclass(frozen=True, slots=True)
class ChannelHungUp:
    at: float
    uid: str
    linked_id: str
    cause: int


@dataclass(frozen=True, slots=True)
class CallTransferred:
    at: float
    call_id: str
    kind: str  # blind | attended
    target: str


@dataclass(frozen=True, slots=True)
class MemberReported:
    """A queue member's full state, as every member event and the status snapshot carry it.

    ``change`` says why it was reported: added, removed, status, pause, penalty, ringinuse, snapshot.
    ``device`` is Asterisk's device state number (1 idle, 2 in use, 5 unavailable, 6 ringing ...)."""

    at: float
    change: str
    queue: str
    member: str
    interface: str
    device: int
    paused: bool
    paused_reason: str
    in_call: bool
    penalty: int
    calls_taken: int
    wrapup_s: int


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """The post-call survey's answer (the dialplan's UserEvent CSAT), on the caller's channel."""

    at: float
    call_id: str
    queue: str
    member: str
    score: int
    linked_id: str = ""
    caller_num: str = ""


@dataclass(frozen=True, slots=True)
class IvrChoiceMade:
    at: float
    call_id: str
    queue: str
    choice: str
    linked_id: str = ""
    caller_num: str = ""


@dataclass(frozen=True, slots=True)
class WaitingCallerListed:
    """Status snapshot (after a reconnect): a caller waiting in a queue right now."""

    at: float
    call_id: str
    channel: str
    queue: str
    caller_num: str
    caller_name: str
    position: int
    wait_s: float | None


@dataclass(frozen=True, slots=True)
class ChannelListed:
    """Status snapshot: a channel up right now; ``bridge`` pairs a caller with its agent leg."""

    at: float
    uid: str
    linked_id: str
    channel: str
    application: str
    app_data: str
    bridge: str
    caller_num: str
    caller_name: str
    device: str = ""  # the channel's device, as a member interface names it (ami.translate)


@dataclass(frozen=True, slots=True)
class QueueListed:
    """Status snapshot: a queue's parameters."""

    at: float
    queue: str
    servicelevel_s: int
    strategy: str
    max_callers: int
    completed: int | None = None  # app_queue's own counters since it started (QueueParams)
    abandoned: int | None = None


@dataclass(frozen=True, slots=True)
class SnapshotStarted:
    """Asterisk began answering a status request (QueueStatus) on a link that stayed up: the
    periodic check that closes calls whose end never came."""

    at: float


@dataclass(frozen=True, slots=True)
class SnapshotCompleted:
    """The end of a status snapshot list: ``kind`` is queues or channels."""

    at: float
    kind: str


Event = (
    LinkStarted
    | CallerJoinedQueue
    | CallerLeftQueue
    | CallerExitedUnanswered
    | AgentRang
    | AgentRingUnanswered
    | CallAnswered
    | CallCompleted
    | CallDumpedByAgent
    | QueueStatusSet
    | QueueAppStarted
    | QueueServiceLevelSeen
    | ChannelHangupRequested
    | ChannelHungUp
    | CallTransferred
    | MemberReported
    | SurveyAnswered
    | IvrChoiceMade
    | WaitingCallerListed
    | ChannelListed
    | QueueListed
    | SnapshotStarted
    | SnapshotCompleted
)
