"""What the tracker knows: queue stints, their outcomes, members and agent states.

A *stint* is one caller's visit to one queue (a journey, keyed by Linkedid, may hold several:
level 1 then level 2). Every stint ends in exactly one :class:`Outcome`. Records handed to
sinks are frozen; the tracker's working copies are not. Pure data: no IO, no clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    LEAVEEMPTY = "leaveempty"
    EXITWITHKEY = "exitwithkey"
    JOINEMPTY = "joinempty"
    FULL = "full"
    JOINUNAVAIL = "joinunavail"
    WITHDRAW = "withdraw"
    UNKNOWN = "unknown"  # ended while the link was down and Asterisk's snapshot cannot tell how


LOST_OUTCOMES = (
    Outcome.TIMEOUT,
    Outcome.LEAVEEMPTY,
    Outcome.EXITWITHKEY,
    Outcome.JOINEMPTY,
    Outcome.FULL,
    Outcome.JOINUNAVAIL,
    Outcome.WITHDRAW,
)

# A join Asterisk refused: no QueueCallerJoin, no queue_log line (known from QUEUESTATUS).
REFUSED_OUTCOMES = frozenset({Outcome.JOINEMPTY, Outcome.FULL, Outcome.JOINUNAVAIL})
# How a QueueCallerAbandon that was not the caller hanging up ended (known from QUEUESTATUS).
EXIT_OUTCOMES = frozenset({Outcome.TIMEOUT, Outcome.LEAVEEMPTY, Outcome.WITHDRAW})


class Phase(enum.Enum):
    WAITING = "waiting"
    EXITING = "exiting"  # record_abandoned() ran; abandon, timeout or leave-empty not yet known
    LEFT = "left"  # left the waiting list, no abandon: about to be answered (or left with a key)
    TALKING = "talking"


@dataclass(frozen=True, slots=True)
class StintRecord:
    """A finished stint, as reports and the store see it."""

    call_id: str
    linked_id: str
    queue: str
    caller_num: str
    caller_name: str
    outcome: Outcome
    joined_at: float | None  # None: joined while the link was down
    ended_at: float
    wait_s: float | None
    talk_s: float | None
    agent: str | None
    interface: str | None
    ended_by: str | None  # agent | caller | transfer, for answered stints
    transfer_target: str | None
    short_abandon: bool
    ring_no_answer: int
    join_seen: bool
    end_seen: bool  # False: closed from a status snapshot after a link gap
    source: str = "ami"  # "queue_log": filled in from Asterisk's queue_log (the daemon was not there)
    # after-call work: the wrap-up time the queue gave the agent once this answered call ended
    # (the member's or queue's wrapuptime); None where unknown (not answered, end unseen, queue_log)
    wrapup_s: float | None = None

    @property
    def transferred(self) -> bool:
        return self.ended_by == "transfer"


@dataclass(slots=True)
class Stint:
    """The tracker's working copy of a stint in progress."""

    call_id: str
    linked_id: str
    queue: str
    caller_num: str
    caller_name: str
    joined_at: float | None
    position: int
    epoch: int  # link epoch of the last event seen for it
    phase: Phase = Phase.WAITING
    join_seen: bool = True
    caller_gone: bool = False
    queue_empty_at_exit: bool = False
    wait_s: float | None = None
    answered_at: float | None = None
    agent: str | None = None
    interface: str | None = None
    transfer_target: str | None = None
    ring_no_answer: int = 0

    def record(
        self,
        outcome: Outcome,
        at: float,
        *,
        talk_s: float | None = None,
        ended_by: str | None = None,
        short_abandon: bool = False,
        end_seen: bool = True,
        wrapup_s: float | None = None,
    ) -> StintRecord:
        return StintRecord(
            self.call_id,
            self.linked_id,
            self.queue,
            self.caller_num,
            self.caller_name,
            outcome,
            self.joined_at,
            at,
            self.wait_s,
            talk_s,
            self.agent,
            self.interface,
            ended_by,
            self.transfer_target,
            short_abandon,
            self.ring_no_answer,
            self.join_seen,
            end_seen,
            wrapup_s=wrapup_s,
        )


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"  # logged in but the phone is unreachable


# Asterisk device states that make a member unusable (4 INVALID, 5 UNAVAILABLE).
UNUSABLE_DEVICE = frozenset({4, 5})


@dataclass(slots=True)
class Member:
    """One agent's membership of one queue."""

    queue: str
    name: str
    interface: str
    device: int = 1
    paused: bool = False
    paused_reason: str = ""
    penalty: int = 0
    wrapup_s: int = 0
    logged_in: bool = True
    since: float = 0.0  # when the session began (or was first seen, ``since_seen`` False)
    since_seen: bool = True
    paused_since: float = 0.0  # when the current pause began (or was first seen)
    paused_seen: bool = True

    @property
    def usable(self) -> bool:
        return self.logged_in and not self.paused and self.device not in UNUSABLE_DEVICE


@dataclass(slots=True)
class Agent:
    """An agent across queues, keyed by interface: what they are doing right now and their tallies."""

    interface: str
    name: str
    ringing: set[str] = field(default_factory=set)  # call ids ringing this agent's phone
    on_call: str | None = None
    wrapup_until: float = 0.0
    answered: int = 0
    talk_s: float = 0.0
    ring_no_answer: int = 0
