"""The wallboard's alerts: rules over the live figures, pure.

The supervisor "lives on a dashboard that raises alerts and keeps raising them until the
incident is resolved" (HELPDESK.md): an alert is active while its condition holds, carries the
moment it was first raised, and goes only when the condition is gone. Rules, each with its
threshold in :class:`AlertRules`:

- ``link_down``      (critical) an Asterisk is not connected: every figure is stale;
- ``no_agents``      (critical) callers wait in a queue with no agent logged in and unpaused;
- ``long_wait``      (critical) the longest wait in a queue reached ``max_wait_s``;
- ``waiting``        (warning)  ``max_waiting`` callers or more wait in a queue;
- ``service_level``  (warning)  today's service level is under ``target_pct`` once the day has
  ``min_offered`` calls (fewer would make one call swing it);
- ``calls_unseen``   (warning)  Asterisk counted calls the daemon never saw today;
- ``long_pause``     (warning)  an agent has been paused ``max_pause_s`` or longer;
- ``ticket``         (warning) a ticket is at risk (¾ of its time to resolve gone), (critical)
  past its deadline: the supervisor escalates it (HELPDESK.md's first escalation level).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callcenter.cti.tickets import Ticket, at_risk, overdue
from callcenter.queues.model import AgentState
from callcenter.wallboard.board import AgentOnBoard


@dataclass(frozen=True, slots=True)
class AlertRules:
    max_waiting: int = 5
    max_wait_s: float = 60.0
    target_pct: float = 80.0
    min_offered: int = 10
    max_pause_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Alert:
    key: str  # what it is about, stable while it holds: "long_wait:pbx1/support"
    level: str  # critical | warning
    text: str
    since: float  # first raised


def conditions(
    servers: Mapping[str, Mapping[str, Any]],
    agents: Sequence[AgentOnBoard],
    now: float,
    rules: AlertRules,
    tickets: Sequence[Ticket] = (),
    clocks: Mapping[str, float] | None = None,
) -> list[tuple[str, str, str]]:
    """(key, level, text) of every rule that holds now. ``servers`` as ``/api/queues`` gives them;
    ``tickets`` the unsolved ones (their times are the wall clock's, as ``now`` is); ``clocks``
    each Asterisk's time now, for its agents' times (``now`` for a server not in it)."""
    out: list[tuple[str, str, str]] = []
    for t in tickets:
        about = f"ticket {t.server}-{t.call_id} ({t.priority}, {t.category}, {t.agent})"
        if overdue(t, now):
            out.append((f"ticket:{t.server}-{t.call_id}", "critical",
                        f"{about} overdue by {(now - t.due_at) / 60:.0f} min: escalate"))  # fmt: skip
        elif at_risk(t, now):
            out.append((f"ticket:{t.server}-{t.call_id}", "warning",
                        f"{about} at risk: due in {(t.due_at - now) / 60:.0f} min"))  # fmt: skip
    busy = (AgentState.AVAILABLE, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP)
    for name, server in servers.items():
        if server["link"] != "UP":
            out.append((f"link_down:{name}", "critical", f"{name}: no link to Asterisk ({server['link']})"))
        for queue, q in server["queues"].items():
            where, waiting, longest = f"{name}/{queue}", q["waiting"], q["longest_wait_s"]
            if waiting and not sum(q["agents"].get(s.value, 0) for s in busy):
                out.append(
                    (f"no_agents:{where}", "critical", f"{queue}: {waiting} waiting, no agent to take them")
                )
            if waiting and longest >= rules.max_wait_s:
                text = f"{queue}: a caller has waited {longest:.0f} s (limit {rules.max_wait_s:g} s)"
                out.append((f"long_wait:{where}", "critical", text))
            if waiting >= rules.max_waiting:
                text = f"{queue}: {waiting} callers waiting (limit {rules.max_waiting})"
                out.append((f"waiting:{where}", "warning", text))
            sl = q["service_level_pct"]
            if q["offered"] >= rules.min_offered and sl is not None and sl < rules.target_pct:
                text = f"{queue}: service level today {sl:g} % (target {rules.target_pct:g} %)"
                out.append((f"service_level:{where}", "warning", text))
            if q.get("calls_unseen"):
                text = f"{queue}: {q['calls_unseen']['calls']} calls today not seen by the daemon"
                out.append((f"calls_unseen:{where}", "warning", text))
    for a in agents:
        paused_s = (clocks or {}).get(a.server, now) - a.since
        if a.state is AgentState.PAUSED and paused_s >= rules.max_pause_s:
            why = f" ({a.reason})" if a.reason else ""
            text = f"{a.name} paused{why} for {paused_s / 60:.0f} min"
            out.append((f"long_pause:{a.server}/{a.interface}", "warning", text))
    return out


class AlertBook:
    """The alerts raised so far: each keeps the moment it was first raised while it holds."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def update(self, holding: Iterable[tuple[str, str, str]], now: float) -> list[Alert]:
        """The active alerts, critical first, then oldest first."""
        active = [Alert(key, level, text, self._since.get(key, now)) for key, level, text in holding]
        self._since = {a.key: a.since for a in active}
        return sorted(active, key=lambda a: (a.level != "critical", a.since, a.key))
