"""How agents spent their time, from their state changes: seconds per state, pauses by reason,
occupancy and utilization. Pure.

An agent's state holds from one change to the next (the tracker emits a change only when the
state moves); time is cut to the period [start, end). Definitions (DOMAIN.md §2):

- occupancy   = (on call + wrap-up) / (on call + wrap-up + available + ringing): busy share of
  the time the agent could take calls;
- utilization = (on call + wrap-up) / logged-in time (every state but logged out and
  unavailable);
- a pause: from "paused" to the next change, with the reason it was paused for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from callcenter.queues.model import AgentState

BUSY = (AgentState.ON_CALL, AgentState.WRAP_UP)
READY = (AgentState.AVAILABLE, AgentState.RINGING)
OUT = (AgentState.LOGGED_OUT, AgentState.UNAVAILABLE)


@dataclass(slots=True)
class AgentTime:
    name: str
    seconds: dict[str, float] = field(default_factory=lambda: {s.value: 0.0 for s in AgentState})
    pauses: dict[str, tuple[int, float]] = field(default_factory=dict)  # reason -> (count, seconds)

    def _sum(self, states: Sequence[AgentState]) -> float:
        return sum(self.seconds[s.value] for s in states)

    @property
    def logged_in_s(self) -> float:
        return sum(v for k, v in self.seconds.items() if AgentState(k) not in OUT)

    @property
    def occupancy_pct(self) -> float | None:
        busy, ready = self._sum(BUSY), self._sum(READY)
        return round(100 * busy / (busy + ready), 2) if busy + ready > 0 else None

    @property
    def utilization_pct(self) -> float | None:
        logged = self.logged_in_s
        return round(100 * self._sum(BUSY) / logged, 2) if logged > 0 else None


def agent_time(
    changes: Iterable[tuple[float, str, str, str, str]], start: float, end: float
) -> dict[str, AgentTime]:
    """Per interface, from (at, interface, name, state, reason) in time order. A state seen
    before ``start`` holds into the period; the last one holds until ``end``."""
    out: dict[str, AgentTime] = {}
    current: dict[str, tuple[float, AgentState, str]] = {}  # interface -> (since, state, reason)

    def close(interface: str, until: float) -> None:
        since, state, reason = current[interface]
        lo, hi = max(since, start), min(until, end)
        if hi <= lo:
            return
        t = out[interface]
        t.seconds[state.value] += hi - lo
        if state is AgentState.PAUSED:
            count, total = t.pauses.get(reason, (0, 0.0))
            t.pauses[reason] = (count + (since >= start), total + hi - lo)

    for at, interface, name, state, reason in changes:
        if at >= end:
            break
        out.setdefault(interface, AgentTime(name)).name = name
        if interface in current:
            close(interface, at)
        current[interface] = (at, AgentState(state), reason)
    for interface in current:
        close(interface, end)
    return out
