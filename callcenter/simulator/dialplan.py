"""The support number's dialplan as the lab wrote it, run by the simulated PBX for each caller.

Owns the caller side of a :class:`~callcenter.simulator.pbx.Pbx`: the Originate of a call to the
support number (``Local/600@support/n``), the IVR choice, Queue() (the join, or a refused join:
FULL, JOINEMPTY), what the dialplan does when Queue() returns (the QueueResult UserEvent,
escalation to level 2 on TIMEOUT, the CSAT survey), the h extension's CallEnd, and AMI Hangup
(a caller's leg: an abandon or the end of a conversation; an agent's leg goes to the queue
engine). Functions taking the Pbx, reaching the queue engine through its public methods only.
Must not import asyncio or anything that does IO, nor anything from ``callcenter.ami`` or the
daemon; it imports :mod:`~callcenter.simulator.pbx` for type checking only (the Pbx calls in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from callcenter.simulator import variables as queue_vars
from callcenter.simulator.calls import Caller, Entry
from callcenter.simulator.switch import AGENT, CALL

if TYPE_CHECKING:
    from callcenter.simulator.pbx import Pbx


def originate(
    pbx: Pbx,
    caller_id: str,
    variables: Mapping[str, str],
    action_id: str = "",
    *,
    patience_s: float | None = None,
    hangup_after_connect_s: float | None = None,
) -> Caller:
    """A call to the support number (AMI Originate of Local/<number>@<context>/n)."""
    dp = pbx.spec.dialplan
    one, two = pbx.channels.local_pair(dp.number, dp.context, pbx.now)
    name, _, num = caller_id.rpartition("<")
    num, name = num.rstrip(">").strip(), name.strip().strip('"')
    caller = Caller(
        one,
        two,
        dict(variables),
        action_id,
        patience_s=patience_s,
        hangup_after_connect_s=hangup_after_connect_s,
    )
    pbx.callers[one.uid] = pbx.callers[two.uid] = caller
    for chan in (one, two):
        pbx.add_channel(chan)
    for chan in (one, two):
        chan.cid_num = chan.conn_num = num
        chan.cid_name = chan.conn_name = name
        pbx.emit(
            "NewCallerid",
            CALL,
            chan.snapshot(),
            ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)"),
        )
    pbx.exten(two, "NoOp", f'support line from "{name}" <{num}>')
    pbx.exten(two, "Answer", "", 2)
    pbx.state(two, 6)
    pbx.state(one, 6)
    if action_id:
        pbx.emit(
            "OriginateResponse",
            CALL,
            ("Response", "Success"),
            ("Channel", one.name),
            ("Application", "Wait"),
            ("Data", "600"),
            ("Reason", "4"),
            ("Uniqueid", one.uid),
            ("CallerIDNum", num or "<unknown>"),
            ("CallerIDName", name or "<unknown>"),
            action_id=action_id,
        )
    pbx.at(dp.answer_s, lambda: _ivr(pbx, caller, variables))
    return caller


def _ivr(pbx: Pbx, caller: Caller, variables: Mapping[str, str]) -> None:
    if caller.gone:
        return
    dp, two, num = pbx.spec.dialplan, caller.two, caller.two.cid_num
    choice = variables.get("IVR_CHOICE") or "1"
    pbx.exten(two, "UserEvent", f"IVRChoice,Queue: {dp.first_queue},Choice: {choice},CallerNum: {num}", 3)
    pbx.user_event(two, "IVRChoice", ("Queue", dp.first_queue), ("Choice", choice), ("CallerNum", num))
    pbx.exten(two, "Wait", str(int(dp.ivr_s)), 4)
    timeout = variables.get("QUEUE_TIMEOUT", "")
    pbx.at(dp.ivr_s, lambda: _queue_app(pbx, caller, dp.first_queue, timeout, 5))


def _queue_app(pbx: Pbx, caller: Caller, name: str, timeout: str, priority: int) -> None:
    if caller.gone:
        return
    two = caller.two
    queue = pbx.queues.get(name)
    pbx.exten(two, "Queue", f"{name},tcr,,,{timeout}", priority)
    if queue is None:
        after_queue(pbx, caller, name, "UNKNOWN")
        return
    count = len(pbx.waiting[name])
    refused = "FULL" if queue.maxlen and count >= queue.maxlen else None
    if refused is None and pbx.is_empty(queue, queue.joinempty):
        refused = "JOINEMPTY"
    if refused is not None:
        after_queue(pbx, caller, name, refused)
        return
    queue_vars.timing_placeholders(pbx, two)
    entry = Entry(caller, queue, pbx.now, count + 1, pbx.now + float(timeout) if timeout else None)
    pbx.waiting[name].append(entry)
    caller.entry = entry
    pbx.emit(
        "QueueCallerJoin",
        AGENT,
        two.snapshot(),
        ("Queue", name),
        ("Position", str(entry.opos)),
        ("Count", str(count + 1)),
    )
    pbx.queue_log(two.uid, name, "NONE", "ENTERQUEUE", "", two.cid_num, entry.opos)
    if entry.expire is not None:
        pbx.at(entry.expire - pbx.now, lambda: pbx.expire(entry))
    if caller.patience_s is not None:
        pbx.at(caller.patience_s, lambda: _give_up(pbx, entry))
    pbx.turn(entry)


def caller_hangs_up(pbx: Pbx, caller: Caller) -> None:
    hang_up(pbx, caller.one.uid)


def _give_up(pbx: Pbx, entry: Entry) -> None:
    if entry.caller.entry is entry and entry in pbx.waiting[entry.queue.name]:
        hang_up(pbx, entry.caller.one.uid)


def after_queue(pbx: Pbx, caller: Caller, queue: str, status: str) -> None:
    """Queue() returned: the lab dialplan's QueueResult, escalation, survey or hang-up."""
    two, dp = caller.two, pbx.spec.dialplan
    caller.queue_status = status
    if status:
        pbx.var(two, "QUEUESTATUS", status)
    wait = "" if caller.entry is None else str(pbx.seconds_since(caller.entry.joined))
    pbx.user_event(
        two,
        "QueueResult",
        ("Queue", queue),
        ("QueueStatus", status),
        ("CallerNum", two.cid_num),
        ("MemberName", caller.member_name),
        ("QueueWait", wait),
        ("AnsweredTime", ""),
    )
    caller.entry = None
    if status == "TIMEOUT" and caller.variables.get("ESCALATE") == "1" and queue == dp.first_queue:
        _queue_app(pbx, caller, dp.escalation_queue, caller.variables.get("QUEUE_TIMEOUT_L2", ""), 2)
    elif status == "CONTINUE" and caller.variables.get("CSAT"):
        pbx.exten(two, "Wait", str(int(dp.survey_s)), 2)
        pbx.at(dp.survey_s, lambda: _survey(pbx, caller, queue))
    else:
        end_call(pbx, caller)


def _survey(pbx: Pbx, caller: Caller, queue: str) -> None:
    if caller.gone:
        return
    two = caller.two
    score = caller.variables.get("CSAT", "")
    pbx.user_event(
        two,
        "CSAT",
        ("Score", score),
        ("Queue", queue),
        ("MemberName", caller.member_name),
        ("CallerNum", two.cid_num),
    )
    pbx.at(pbx.spec.dialplan.survey_s, lambda: end_call(pbx, caller))


def end_call(pbx: Pbx, caller: Caller, abandoned: bool = False, *, h_extension: bool = True) -> None:
    """The caller's channel ends; the support context's h extension reports CallEnd (a caller
    transferred to another context never runs it: m_transfer)."""
    if caller.gone:
        return
    caller.gone = True
    two, one = caller.two, caller.one
    if not two.hung_up:
        pbx.emit("SoftHangupRequest", CALL, two.snapshot(), ("Cause", "16"))
    if h_extension:
        pbx.user_event(
            two,
            "CallEnd",
            ("CallerNum", two.cid_num),
            ("QueueStatus", caller.queue_status),
            ("Abandoned", "TRUE" if abandoned else ""),
            ("MemberName", caller.member_name),
            ("HangupCause", "16"),
        )
    pbx.hangup(one, request="HangupRequest")
    pbx.hangup(two)
    pbx.callers.pop(one.uid, None)
    pbx.callers.pop(two.uid, None)


def hang_up(pbx: Pbx, uid: str, cause: int = 16) -> bool:
    """AMI Hangup: a caller's leg (abandon, end of talk, or just gone) or an agent's."""
    caller = pbx.callers.get(uid)
    if caller is None:
        talk = pbx.talk_of_agent_leg(uid)
        if talk is None:
            return False
        pbx.agent_hangs_up(talk)
        return True
    if caller.gone:
        return False
    two = caller.two
    pbx.emit("HangupRequest", CALL, two.snapshot(), ("Cause", str(cause)))
    if caller.entry is not None and caller.entry in pbx.waiting[caller.entry.queue.name]:
        pbx.hangup(caller.one, cause)
        pbx.exit_queue(caller.entry, "ABANDON", None)
        caller.entry = None
        end_call(pbx, caller, abandoned=True)
    elif caller.talking is not None:
        pbx.hangup(caller.one, cause)
        pbx.complete(caller, "caller")
        # Queue()'s 'c' option sets CONTINUE even though the caller is gone: the dialplan
        # stops, only the h extension runs (b_answered_caller_hangup).
        caller.queue_status = "CONTINUE"
        pbx.var(two, "QUEUESTATUS", "CONTINUE")
        end_call(pbx, caller)
    else:
        end_call(pbx, caller)
    return True
