"""Read-only views of the tracker's live state, as a wallboard or a log line shows them.

Pure: the caller passes ``now`` on Asterisk's clock (the tracker never reads a clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.queues.model import AgentState, Phase
from callcenter.queues.tracker import Tracker


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    call_id: str
    caller_num: str
    caller_name: str
    wait_s: float
    position: int


@dataclass(frozen=True, slots=True)
class QueueView:
    queue: str
    waiting: tuple[WaitingCaller, ...]  # longest wait first
    agents: dict[AgentState, int]  # members of this queue by state
    servicelevel_s: int | None

    @property
    def longest_wait_s(self) -> float:
        return self.waiting[0].wait_s if self.waiting else 0.0


def queue_views(tracker: Tracker, now: float) -> list[QueueView]:
    waiting: dict[str, list[WaitingCaller]] = {}
    for s in tracker.stints.values():
        if s.phase is Phase.WAITING:
            wait = max(0.0, now - s.joined_at) if s.joined_at is not None else 0.0
            waiting.setdefault(s.queue, []).append(
                WaitingCaller(s.call_id, s.caller_num, s.caller_name, wait, s.position)
            )
    views = []
    for name in sorted(tracker.queues):
        agents: dict[AgentState, int] = {}
        for interface, member in tracker.members.get(name, {}).items():
            state, _ = tracker.agent_state(interface, now)
            if state is not AgentState.ON_CALL and state is not AgentState.RINGING and member.paused:
                state = AgentState.PAUSED  # paused in this queue even if available in another
            agents[state] = agents.get(state, 0) + 1
        callers = sorted(waiting.get(name, []), key=lambda c: -c.wait_s)
        views.append(QueueView(name, tuple(callers), agents, tracker.queues[name].servicelevel_s))
    return views
