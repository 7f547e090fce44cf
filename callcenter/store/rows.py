"""Domain records to table rows and back. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callcenter.queues.changes import AgentChanged
from callcenter.queues.model import Outcome, StintRecord

StintRow = tuple[Any, ...]  # in schema.STINT_COLUMNS order


def stint_row(server: str, position: int, r: StintRecord) -> StintRow:
    return (
        server,
        position,
        r.call_id,
        r.linked_id,
        r.queue,
        r.caller_num,
        r.caller_name,
        r.outcome.value,
        r.joined_at,
        r.ended_at,
        r.wait_s,
        r.talk_s,
        r.agent,
        r.interface,
        r.ended_by,
        r.transfer_target,
        int(r.short_abandon),
        r.ring_no_answer,
        int(r.join_seen),
        int(r.end_seen),
        r.source,
        r.wrapup_s,
    )


def stint_record(row: Sequence[Any]) -> StintRecord:
    """The record of a stored row (``server`` and ``position`` are the row's first two columns)."""
    return StintRecord(
        call_id=row[2],
        linked_id=row[3],
        queue=row[4],
        caller_num=row[5],
        caller_name=row[6],
        outcome=Outcome(row[7]),
        joined_at=row[8],
        ended_at=row[9],
        wait_s=row[10],
        talk_s=row[11],
        agent=row[12],
        interface=row[13],
        ended_by=row[14],
        transfer_target=row[15],
        short_abandon=bool(row[16]),
        ring_no_answer=int(row[17]),
        join_seen=bool(row[18]),
        end_seen=bool(row[19]),
        source=row[20],
        wrapup_s=row[21],
    )


def agent_row(server: str, position: int, c: AgentChanged) -> tuple[Any, ...]:
    return (server, position, c.at, c.interface, c.name, c.state.value, c.reason)
