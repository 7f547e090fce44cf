"""Asterisk's own queue_log read back into stints: how calls the daemon never saw are filled in.

When the daemon was down (killed, a host reboot) while Asterisk kept answering, AMI's events of
that time are gone, but app_queue wrote every stint to ``/var/log/asterisk/queue_log``. This turns
those lines into the same records as the tracker's, by queue_log's verbs (DOMAIN.md §1.3):
ENTERQUEUE (data: url, caller number, position), CONNECT (hold), COMPLETEAGENT/COMPLETECALLER
(hold, talk), ABANDON / EXITWITHTIMEOUT / EXITEMPTY / WITHDRAW (position, original position,
wait), EXITWITHKEY (key, position, original position, wait), BLINDTRANSFER (extension, context,
hold, talk), ATTENDEDTRANSFER (method, data, hold, talk), RINGNOANSWER. A stint per (callid,
queue, entry); those still open where the log ends are left out. Refused joins never reach
queue_log. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from callcenter.queues.model import Outcome, StintRecord

EXITS = {  # verb -> (outcome, index of the wait in its data)
    "ABANDON": (Outcome.ABANDONED, 2),
    "EXITWITHTIMEOUT": (Outcome.TIMEOUT, 2),
    "EXITEMPTY": (Outcome.LEAVEEMPTY, 2),
    "WITHDRAW": (Outcome.WITHDRAW, 2),
    "EXITWITHKEY": (Outcome.EXITWITHKEY, 3),
}
COMPLETES = {"COMPLETEAGENT": "agent", "COMPLETECALLER": "caller"}
TRANSFERS = ("BLINDTRANSFER", "ATTENDEDTRANSFER")


@dataclass(slots=True)
class _Open:
    call_id: str
    queue: str
    caller_num: str
    joined_at: float | None
    wait_s: float | None = None
    agent: str | None = None
    connected: bool = False
    rings: int = 0


def _number(text: str) -> float | None:
    return float(text) if text.isdigit() else None


def stints_of(lines: Iterable[str], short_abandon_s: float = 5.0) -> Iterator[StintRecord]:
    """The finished stints of queue_log lines (in the file's order), as they end."""
    open_: dict[tuple[str, str], _Open] = {}
    for line in lines:
        f = line.rstrip("\r\n").split("|")
        if len(f) < 5 or not f[0].isdigit() or f[2] == "NONE" or f[1] in ("NONE", "MANAGER", "CLI"):
            continue
        at, call_id, queue, agent, verb, data = float(f[0]), f[1], f[2], f[3], f[4], f[5:] + [""] * 5
        key = (call_id, queue)
        stint = open_.get(key)
        if verb == "ENTERQUEUE":
            open_[key] = _Open(call_id, queue, data[1], at)
            continue
        if stint is None:  # the log began while this call was already queued
            stint = open_[key] = _Open(call_id, queue, "", None)
        if verb == "CONNECT":
            stint.wait_s, stint.agent, stint.connected = _number(data[0]), agent, True
        elif verb == "RINGNOANSWER":
            stint.rings += 1
        elif verb in COMPLETES or verb in TRANSFERS:
            talk = _number(data[1] if verb in COMPLETES else data[3])
            target = f"{data[0]}@{data[1]}" if verb == "BLINDTRANSFER" else None
            ended_by = COMPLETES.get(verb, "transfer")
            del open_[key]
            yield _record(stint, Outcome.ANSWERED, at, talk, stint.agent or agent, ended_by, target, False)
        elif verb in EXITS:
            outcome, index = EXITS[verb]
            stint.wait_s = _number(data[index])
            short = (
                outcome is Outcome.ABANDONED and stint.wait_s is not None and stint.wait_s < short_abandon_s
            )
            del open_[key]
            yield _record(stint, outcome, at, None, None, None, None, short)


def _record(
    s: _Open,
    outcome: Outcome,
    at: float,
    talk: float | None,
    agent: str | None,
    ended_by: str | None,
    target: str | None,
    short: bool,
) -> StintRecord:
    return StintRecord(
        call_id=s.call_id,
        linked_id=s.call_id,  # queue_log knows no Linkedid; a call keeps its channel across queues
        queue=s.queue,
        caller_num=s.caller_num,
        caller_name="",
        outcome=outcome,
        joined_at=s.joined_at,
        ended_at=at,
        wait_s=s.wait_s,
        talk_s=talk,
        agent=agent if agent not in (None, "NONE") else None,
        interface=None,
        ended_by=ended_by,
        transfer_target=target,
        short_abandon=short,
        ring_no_answer=s.rings,
        join_seen=s.joined_at is not None,
        end_seen=True,
        source="queue_log",
    )
