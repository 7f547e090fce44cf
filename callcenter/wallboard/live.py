"""What a wallboard shows at one moment: the queues as ``/api/queues`` gives them, every agent
with the time in their state, and the alerts that hold. Pure: ``now`` is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callcenter.cti.tickets import Ticket
from callcenter.wallboard.alerts import AlertBook, AlertRules, conditions
from callcenter.wallboard.board import AgentBoard

PUSH_S = 1.0  # a wallboard is redrawn every second: waits grow even when nothing happens


@dataclass
class Wallboard:
    board: AgentBoard = field(default_factory=AgentBoard)
    rules: AlertRules = field(default_factory=AlertRules)
    book: AlertBook = field(default_factory=AlertBook)
    tickets: tuple[Ticket, ...] = ()  # unsolved, refreshed from the store by the daemon

    def snapshot(
        self, queues: dict[str, Any], now: float, clocks: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """``queues`` is the ``/api/queues`` payload of this moment; ``clocks`` each Asterisk's
        time now (agents' changes carry Asterisk's times), ``now`` for a server not in it."""
        clocks = clocks or {}
        agents = self.board.rows()
        since = {(a.server, a.interface): max(0.0, clocks.get(a.server, now) - a.since) for a in agents}
        holding = conditions(queues["servers"], agents, now, self.rules, self.tickets, clocks)
        alerts = self.book.update(holding, now)
        return {
            "type": "board",
            **queues,
            "agents": [{"server": a.server, "interface": a.interface, "name": a.name, "state": a.state.value,
                        "reason": a.reason, "in_state_s": round(since[(a.server, a.interface)])}
                       for a in agents],
            "alerts": [{"key": a.key, "level": a.level, "text": a.text, "for_s": round(now - a.since)}
                       for a in alerts],
        }  # fmt: skip
