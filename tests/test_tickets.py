"""The ticket's rules, by hand: the priority matrix, the deadline from creation, escalation at
three quarters of it, and a form checked field by field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from callcenter.cti.tickets import (
    DEFAULT_CATEGORIES,
    Ticket,
    TicketError,
    at_risk,
    overdue,
    priority,
    ticket_from_form,
)

CALL = {"call_id": "1795346558.1", "caller_num": "+5491155550001", "caller_name": "Cliente 01",
        "queue": "support", "member": "Bruno", "interface": "PJSIP/1002"}  # fmt: skip
FORM = {
    "category": "Email",
    "impact": "medium",
    "urgency": "high",
    "summary": " Outlook asks for a password ",
}
T0 = 1_800_000_000.0


def make(form: dict[str, object], existing: Ticket | None = None, now: float = T0) -> Ticket:
    return ticket_from_form(form, server="pbx", call=CALL, existing=existing, categories=DEFAULT_CATEGORIES,
                            now=now)  # fmt: skip


def test_the_priority_matrix() -> None:
    table = {(i, u): priority(i, u) for i in ("high", "medium", "low") for u in ("high", "medium", "low")}
    assert table == {("high", "high"): "P1", ("high", "medium"): "P2", ("high", "low"): "P3",
                     ("medium", "high"): "P2", ("medium", "medium"): "P3", ("medium", "low"): "P4",
                     ("low", "high"): "P3", ("low", "medium"): "P4", ("low", "low"): "P5"}  # fmt: skip


def test_a_new_ticket_is_open_with_its_deadline_from_creation() -> None:
    t = make(FORM)
    # medium impact x high urgency = P2: 8 hours to resolve
    assert (t.priority, t.status, t.level, t.due_at - t.created_at) == ("P2", "open", 1, 8 * 3600.0)
    assert (t.agent, t.interface, t.caller_num, t.summary) == ("Bruno", "PJSIP/1002", "+5491155550001",
                                                              "Outlook asks for a password")  # fmt: skip
    # saved again an hour later at level 2, low urgency (P4, 72 h): the deadline runs from creation
    later = make({**FORM, "urgency": "low", "level": 2}, existing=t, now=T0 + 3600)
    assert (later.status, later.created_at, later.updated_at, later.due_at) == (
        "assigned", T0, T0 + 3600, T0 + 72 * 3600.0)  # fmt: skip
    assert make({**FORM, "solved_on_call": True}).status == "solved"


def test_escalation_at_three_quarters_of_the_time_to_resolve() -> None:
    t = make(FORM)  # P2: 8 h; three quarters is 6 h
    assert not at_risk(t, T0 + 6 * 3600 - 1) and at_risk(t, T0 + 6 * 3600)
    assert not overdue(t, T0 + 8 * 3600 - 1) and overdue(t, T0 + 8 * 3600)
    solved = replace(t, status="solved")
    assert not at_risk(solved, T0 + 7 * 3600) and not overdue(solved, T0 + 9 * 3600)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"category": "Coffee"}, "category: one of"), ({"impact": "huge"}, "impact: one of"),
     ({"urgency": None}, "urgency: one of"), ({"level": 3}, "level: 1 or 2"),
     ({"level": True}, "level: 1 or 2"),
     ({"solved_on_call": "yes"}, "solved_on_call: true or false"),
     ({"solved_on_call": True, "level": 2}, "was not solved on the call"),
     ({"solved_on_call": True, "status": "open"}, "was not solved on the call"),
     ({"status": "lost"}, "status: one of"), ({"summary": "x" * 4001}, "summary: text of at most")],
)  # fmt: skip
def test_a_bad_form_gets_one_clear_error(change: dict[str, object], message: str) -> None:
    with pytest.raises(TicketError, match=message):
        make({**FORM, **change})


def test_a_follow_up_changes_the_status_adds_a_note_and_keeps_the_deadline() -> None:
    from callcenter.cti.tickets import follow_up

    t = make({**FORM, "level": 2})  # passed on: assigned
    later = follow_up(t, {"status": "solved", "note": "Password reset by level 2"}, T0 + 7200)
    assert (later.status, later.level, later.due_at, later.updated_at) == ("solved", 2, t.due_at, T0 + 7200)
    assert later.summary == "Outlook asks for a password\nPassword reset by level 2"
    assert follow_up(t, {"status": "closed"}, T0 + 1).summary == t.summary
    with pytest.raises(TicketError, match="status: one of"):
        follow_up(t, {"status": "done"}, T0)
    with pytest.raises(TicketError, match="level: 1 or 2"):
        follow_up(t, {"status": "open", "level": 0}, T0)
