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

from callcenter.simulator import conversation, local, members
from callcenter.simulator import variables as queue_vars
from callcenter.simulator.calls import Caller, Entry
from callcenter.simulator.channels import Channel, bare
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
    """A call to the support number (AMI Originate of Local/<number>@<context>/n).

    ``variables`` as the Originate gave them, e.g. ``__LABCALL``: the channels keep those names,
    the dialplan reads them without the underscores."""
    dp = pbx.spec.dialplan
    name, _, num = caller_id.rpartition("<")
    num, name = num.rstrip(">").strip(), name.strip().strip('"')
    one, two = local.originate(pbx, dp.number, dp.context, variables.items(), num, name)
    caller = Caller(
        one,
        two,
        {bare(k): v for k, v in variables.items()},
        action_id,
        patience_s=patience_s,
        hangup_after_connect_s=hangup_after_connect_s,
    )
    pbx.callers[one.uid] = pbx.callers[two.uid] = caller
    pbx.devices.started(two)
    pbx.exten(two, "NoOp", f'support line: call {two.get("LABCALL")} from "{name}" <{num}>')
    pbx.exten(two, "Answer", "", 2)
    pbx.state(two, 6)
    # The originating thread reports the answer straight to the manager, ahead of the channel
    # events still in stasis (OriginateResponse right after ;2's Newstate in 83 of 346 calls,
    # the most common place; the device states usually come after DialEnd).
    if action_id:
        pbx.emit(
            "OriginateResponse",
            CALL,
            ("Response", "Success"),
            ("Channel", one.name),
            ("Application", "Wait"),
            ("Data", dp.number),
            ("Reason", "4"),
            ("Uniqueid", one.uid),
            ("CallerIDNum", num or "<unknown>"),
            ("CallerIDName", name or "<unknown>"),
            # channelvars, keyed oddly by channel name (a_answered_agent_hangup)
            *((f"ChanVariable({one.name})", f"{v}={one.get(v)}") for v in one.channelvars),
            action_id=action_id,
        )
    pbx.state(one, 6)
    pbx.emit("DialEnd", CALL, one.snapshot("Dest"), ("DialStatus", "ANSWER"))
    pbx.flush_devices()
    one.application, one.app_data = "Wait", dp.number  # the Originate's Application and Data
    pbx.at(dp.answer_s, lambda: _ivr(pbx, caller, caller.variables))
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
    queue_vars.timing_placeholders(pbx, two)  # even for a refused join (f_joinempty, g_queue_full)
    count = len(pbx.waiting[name])
    refused = "FULL" if queue.maxlen and count >= queue.maxlen else None
    if refused is None and pbx.is_empty(queue, queue.joinempty):
        refused = "JOINEMPTY"
    if refused is not None:
        after_queue(pbx, caller, name, refused)
        return
    if two.get("ABANDONED"):
        pbx.var(two, "ABANDONED", "")  # a second Queue() clears the first one's abandon (k_escalation)
    entry = Entry(caller, queue, pbx.now, count + 1, pbx.now + float(timeout) if timeout else None)
    pbx.waiting[name].append(entry)
    caller.entry = entry
    members.joined(pbx, name)
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


def user_event(
    pbx: Pbx, chan: Channel, kind: str, fields: tuple[tuple[str, str], ...], priority: int
) -> None:
    """The dialplan's UserEvent(kind,Key: value,...) at this priority: its Newexten, then the event."""
    data = ",".join([kind, *(f"{k}: {v}" for k, v in fields)])
    pbx.exten(chan, "UserEvent", data, priority)
    pbx.user_event(chan, kind, *fields)


def after_queue(pbx: Pbx, caller: Caller, queue: str, status: str) -> None:
    """Queue() returned: the lab dialplan's QueueResult, escalation, survey or hang-up."""
    two, dp = caller.two, pbx.spec.dialplan
    if status:
        pbx.var(two, "QUEUESTATUS", status)
    caller.entry = None
    priority = two.priority + 1
    result = (
        ("Queue", queue), ("QueueStatus", two.get("QUEUESTATUS")), ("CallerNum", two.cid_num),
        ("MemberName", two.get("MEMBERNAME")), ("QueueWait", two.get("QUEUEWAIT")),
        ("AnsweredTime", two.get("ANSWEREDTIME")),
    )  # fmt: skip
    user_event(pbx, two, "QueueResult", result, priority)
    if queue == dp.first_queue:
        escalate = status == "TIMEOUT" and two.get("ESCALATE") == "1"
        priority += 1
        pbx.exten(two, "GotoIf", f"{int(escalate)}?l2,1", priority)
        if escalate:
            two.exten = "l2"
            pbx.exten(two, "NoOp", f"escalating call {two.get('LABCALL')} to {dp.escalation_queue}", 1)
            _queue_app(pbx, caller, dp.escalation_queue, two.get("QUEUE_TIMEOUT_L2"), 2)
            return
    survey = status == "CONTINUE" and two.get("CSAT") != ""
    priority += 1
    pbx.exten(two, "GotoIf", f"{int(survey)}?csat,1", priority)
    if survey:
        two.exten = "csat"
        pbx.exten(two, "NoOp", f"CSAT survey for call {two.get('LABCALL')}", 1)
        pbx.exten(two, "Wait", f"{dp.survey_s:g}", 2)
        pbx.at(dp.survey_s, lambda: _survey(pbx, caller, queue))
    else:
        pbx.exten(two, "Hangup", "", priority + 1)
        end_call(pbx, caller)


def _survey(pbx: Pbx, caller: Caller, queue: str) -> None:
    if caller.gone:
        return
    two, dp = caller.two, pbx.spec.dialplan
    score = (
        ("Score", two.get("CSAT")), ("Queue", two.get("QUEUENAME")), ("MemberName", two.get("MEMBERNAME")),
        ("CallerNum", two.cid_num),
    )  # fmt: skip
    user_event(pbx, two, "CSAT", score, 3)
    pbx.exten(two, "Wait", f"{dp.survey_s:g}", 4)

    def hang_up() -> None:
        if not caller.gone:
            pbx.exten(two, "Hangup", "", 5)
            end_call(pbx, caller)

    pbx.at(dp.survey_s, hang_up)


def end_call(pbx: Pbx, caller: Caller, *, h_extension: bool = True, redirected: bool = False) -> None:
    """The caller's channel ends; the support context's h extension reports CallEnd (a caller
    transferred to another context never runs it: m_transfer). A caller redirected out of its
    queue call ends that call only now (AgentComplete Reason=caller)."""
    if caller.gone:
        return
    caller.gone = True
    two, one = caller.two, caller.one
    if not two.hung_up:
        pbx.emit("SoftHangupRequest", CALL, two.snapshot(), ("Cause", "16"))
    if h_extension:
        two.exten = "h"
        end = (
            ("CallerNum", two.cid_num), ("QueueStatus", two.get("QUEUESTATUS")),
            ("Abandoned", two.get("ABANDONED")), ("MemberName", two.get("MEMBERNAME")), ("HangupCause", "16"),
        )  # fmt: skip
        user_event(pbx, two, "CallEnd", end, 1)
        two.priority = 2
    if not one.hung_up:
        pbx.emit("HangupRequest", CALL, one.snapshot(), ("Cause", "16"))
    if redirected:
        conversation.complete(pbx, caller, "caller")
    pbx.hangup(one)
    pbx.hangup(two)
    pbx.callers.pop(one.uid, None)
    pbx.callers.pop(two.uid, None)


def hang_up(pbx: Pbx, uid: str, cause: int = 16) -> bool:
    """AMI Hangup: a caller's leg (abandon, end of talk, or just gone) or an agent's."""
    caller = pbx.callers.get(uid)
    if caller is None:
        talk = conversation.talk_of_agent_leg(pbx, uid)
        if talk is None:
            return False
        conversation.agent_hangs_up(pbx, talk)
        return True
    if caller.gone:
        return False
    two = caller.two
    pbx.emit("HangupRequest", CALL, two.snapshot(), ("Cause", str(cause)))
    if caller.entry is not None and caller.entry in pbx.waiting[caller.entry.queue.name]:
        pbx.hangup(caller.one, cause)
        pbx.exit_queue(caller.entry, "ABANDON", None)
        caller.entry = None
        end_call(pbx, caller)
    elif caller.talking is not None:
        conversation.caller_ends(pbx, caller, cause)
        # Queue()'s 'c' option sets CONTINUE even though the caller is gone: the dialplan
        # stops, only the h extension runs (b_answered_caller_hangup).
        pbx.var(two, "QUEUESTATUS", "CONTINUE")
        end_call(pbx, caller)
    else:
        end_call(pbx, caller)
    return True
