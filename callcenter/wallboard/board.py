"""Every agent as the supervisor sees them: state, since when, pause reason. Pure.

Fed by the tracker's ``AgentChanged`` (one per agent per change of state, across queues), so
the time in state is exact even after a restart (the journal is replayed through it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from callcenter.fanout import Positioned
from callcenter.queues import changes as ch
from callcenter.queues.model import AgentState
from callcenter.queues.tracker import Tracker


@dataclass(frozen=True, slots=True)
class AgentOnBoard:
    server: str
    interface: str
    name: str
    state: AgentState
    reason: str  # the pause's reason
    since: float  # when this state began (Asterisk's clock)


class AgentBoard:
    """A queued sink (``drop``: after an overflow the next changes bring each agent back)."""

    name = "wallboard"
    policy: Literal["drop", "catch_up"] = "drop"

    def __init__(self) -> None:
        self.agents: dict[tuple[str, str], AgentOnBoard] = {}

    def take(self, server: str, change: ch.Change) -> None:
        if isinstance(change, ch.AgentChanged):
            key = (server, change.interface)
            if change.state is AgentState.LOGGED_OUT:
                self.agents.pop(key, None)
            else:
                self.agents[key] = AgentOnBoard(server, change.interface, change.name, change.state,
                                                change.reason, change.at)  # fmt: skip

    def seed(self, server: str, tracker: Tracker) -> None:
        """The agents as a tracker restored from a checkpoint has them (their earlier changes are
        not replayed): a pause from when it began, any other state from the tracker's last event
        (its real start is older)."""
        for interface, agent in tracker.agents.items():
            state, reason = tracker.agent_state(interface)
            if state is AgentState.LOGGED_OUT:
                continue
            paused = [
                m.paused_since for ms in tracker.members.values() if (m := ms.get(interface)) and m.paused
            ]
            since = min(paused) if state is AgentState.PAUSED and paused else tracker.now
            self.agents[(server, interface)] = AgentOnBoard(
                server, interface, agent.name, state, reason, since
            )

    async def consume(self, batch: Sequence[Positioned]) -> None:
        for item in batch:
            self.take(item.server, item.change)

    async def resync(self, lost_from: Positioned | None) -> None:
        pass  # states lost in an overflow come back with each agent's next change

    def rows(self) -> list[AgentOnBoard]:
        return sorted(self.agents.values(), key=lambda a: (a.name.lower(), a.interface))
