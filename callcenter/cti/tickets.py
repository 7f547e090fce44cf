"""The ticket an agent documents a call in: pure rules, no IO.

The help desk's ticket life (HELPDESK.md): register, categorise, prioritise by impact × urgency,
solve on the call or pass it to level 2, follow it up, escalate when the agreed resolution time
is at risk, close. One ticket per call (the caller's channel, which keeps its id from level 1 to
level 2); the agent who saves it last is its owner.

- :func:`priority` — the ITIL matrix: impact and urgency (high, medium, low) give P1 … P5;
- :func:`ticket_from_form` — what a screen sent, checked field by field (one clear error), made
  into a :class:`Ticket`; the resolution deadline runs from the ticket's creation;
- :func:`at_risk` / :func:`overdue` — escalation when the deadline is near or past.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

LEVELS = ("high", "medium", "low")
STATUSES = ("open", "assigned", "solved", "closed")
_MATRIX = {
    ("high", "high"): "P1",
    ("high", "medium"): "P2", ("medium", "high"): "P2",
    ("high", "low"): "P3", ("medium", "medium"): "P3", ("low", "high"): "P3",
    ("medium", "low"): "P4", ("low", "medium"): "P4",
    ("low", "low"): "P5",
}  # fmt: skip
# Hours to resolve by priority: the usual service-desk agreement, set per site in the config.
RESOLVE_HOURS = {"P1": 4.0, "P2": 8.0, "P3": 24.0, "P4": 72.0, "P5": 120.0}
DEFAULT_CATEGORIES = ("Access and passwords", "Email", "Hardware", "Software", "Network", "Printing",
                      "Request for information", "Other")  # fmt: skip
AT_RISK_SHARE = 0.75  # escalate once three quarters of the time to resolve are gone
MAX_SUMMARY = 4000


class TicketError(ValueError):
    """A ticket the screen sent that cannot be saved; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class Ticket:
    server: str
    call_id: str  # the caller's channel: one ticket per call, from level 1 to level 2
    caller_num: str
    caller_name: str
    queue: str
    agent: str
    interface: str
    category: str
    impact: str
    urgency: str
    priority: str
    level: int  # 1, or 2 once passed on
    status: str
    solved_on_call: bool  # the agent's word: the FCR of the help desk's report
    summary: str
    created_at: float
    updated_at: float
    due_at: float  # resolution deadline, from created_at and the priority


def priority(impact: str, urgency: str) -> str:
    return _MATRIX[(impact, urgency)]


def ticket_from_form(
    form: Mapping[str, Any],
    *,
    server: str,
    call: Mapping[str, Any],
    existing: Ticket | None,
    categories: Sequence[str],
    now: float,
    resolve_hours: Mapping[str, float] = RESOLVE_HOURS,
) -> Ticket:
    """``form`` as the screen sent it; ``call`` the pop of that call on the agent's screen
    (call_id, caller, queue, member, interface); ``existing`` the ticket already saved, if any."""
    category = _choice(form, "category", categories)
    impact = _choice(form, "impact", LEVELS)
    urgency = _choice(form, "urgency", LEVELS)
    level = form.get("level", 1)
    if level not in (1, 2) or isinstance(level, bool):
        raise TicketError(f"level: 1 or 2, not {level!r}")
    solved = form.get("solved_on_call", False)
    if not isinstance(solved, bool):
        raise TicketError(f"solved_on_call: true or false, not {solved!r}")
    status = _choice(
        form, "status", STATUSES, default="solved" if solved else "assigned" if level == 2 else "open"
    )
    if solved and (level == 2 or status not in ("solved", "closed")):
        raise TicketError(
            "solved_on_call: a case passed to level 2, or still open, was not solved on the call"
        )
    summary = form.get("summary", "")
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        raise TicketError(f"summary: text of at most {MAX_SUMMARY} characters")
    created = existing.created_at if existing is not None else now
    rank = priority(impact, urgency)
    return Ticket(server, str(call["call_id"]), str(call["caller_num"]), str(call["caller_name"]),
                  str(call["queue"]), str(call["member"]), str(call["interface"]), category, impact, urgency,
                  rank, level, status, solved, summary.strip(), created, now,
                  created + resolve_hours[rank] * 3600.0)  # fmt: skip


def follow_up(existing: Ticket, form: Mapping[str, Any], now: float) -> Ticket:
    """A ticket's follow-up outside the call (level 2 works it, the user confirms it is solved):
    a new status, and optionally a level and a line added to the summary. Its deadline stays."""
    status = _choice(form, "status", STATUSES)
    level = form.get("level", existing.level)
    if level not in (1, 2) or isinstance(level, bool):
        raise TicketError(f"level: 1 or 2, not {level!r}")
    note = form.get("note", "")
    if not isinstance(note, str):
        raise TicketError("note: text")
    summary = f"{existing.summary}\n{note.strip()}".strip() if note.strip() else existing.summary
    if len(summary) > MAX_SUMMARY:
        raise TicketError(f"note: the summary would pass {MAX_SUMMARY} characters")
    return dataclasses.replace(existing, status=status, level=level, summary=summary, updated_at=now)


def _choice(form: Mapping[str, Any], key: str, allowed: Sequence[str], default: str | None = None) -> str:
    value = form.get(key, default)
    if value not in allowed:
        raise TicketError(f"{key}: one of {', '.join(allowed)}; not {value!r}")
    return str(value)


def at_risk(ticket: Ticket, now: float, share: float = AT_RISK_SHARE) -> bool:
    """Still unsolved with ``share`` of its time to resolve gone: the supervisor escalates it."""
    unsolved = ticket.status in ("open", "assigned")
    return unsolved and now - ticket.created_at >= share * (ticket.due_at - ticket.created_at)


def overdue(ticket: Ticket, now: float) -> bool:
    return ticket.status in ("open", "assigned") and now >= ticket.due_at


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {"number": f"{ticket.server}-{ticket.call_id}", **dataclasses.asdict(ticket)}


def top_categories(tickets: Sequence[Ticket], limit: int = 10) -> list[tuple[str, int]]:
    """The most frequent requests: (category, tickets), most first, ties by name."""
    counts: dict[str, int] = {}
    for t in tickets:
        counts[t.category] = counts.get(t.category, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def solved_on_call(tickets: Sequence[Ticket]) -> tuple[int, int]:
    """(tickets the agent solved on the call, tickets): the help desk's "soluciones en línea"."""
    return sum(t.solved_on_call for t in tickets), len(tickets)
