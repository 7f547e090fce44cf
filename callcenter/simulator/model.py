"""The simulated call center's description: queues, agents and the dialplan's behaviour.

Plain frozen data, with the lab's values as defaults (tests/traces/README.md, "Lab
configuration"): the simulator reproduces that PBX unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# queues.conf joinempty/leavewhenempty conditions: a member in one of these states does not count.
CONDITIONS = frozenset(
    {"paused", "penalty", "inuse", "ringing", "unavailable", "invalid", "unknown", "wrapup"}
)
STRATEGIES = frozenset({"ringall", "rrmemory", "rrordered", "leastrecent", "fewestcalls", "random", "linear"})


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    strategy: str = "rrmemory"
    timeout_s: float = 8.0  # how long a member's phone rings
    retry_s: float = 1.0  # pause before ringing again after nobody answered
    wrapup_s: float = 2.0
    maxlen: int = 0  # 0: unlimited
    servicelevel_s: int = 20
    joinempty: frozenset[str] = frozenset({"paused", "invalid", "unavailable"})
    leavewhenempty: frozenset[str] = frozenset({"paused", "invalid", "unavailable"})


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent's phone: how it answers. ``interface`` is the queue member interface."""

    name: str
    interface: str
    answer_delay_s: float = 1.0
    answers: bool = True
    noanswer_share: float = 0.0  # share of rings this phone leaves unanswered


@dataclass(frozen=True, slots=True)
class DialplanSpec:
    """The support number's dialplan (the contract of dialplans/README.md)."""

    number: str = "600"
    context: str = "support"
    first_queue: str = "support"
    escalation_queue: str = "support-l2"
    answer_s: float = 0.5  # Answer() of a Local channel returns half a second later (lab traces)
    ivr_s: float = 1.0  # greeting before Queue()
    survey_s: float = 1.0
    default_talk_s: float = 5.0


@dataclass(frozen=True, slots=True)
class CallCenterSpec:
    queues: tuple[QueueSpec, ...] = (
        QueueSpec("support", "rrmemory", maxlen=6, servicelevel_s=20),
        QueueSpec("support-l2", "ringall", timeout_s=10.0, servicelevel_s=30),
    )
    dialplan: DialplanSpec = field(default_factory=DialplanSpec)

    def queue(self, name: str) -> QueueSpec | None:
        return next((q for q in self.queues if q.name == name), None)
