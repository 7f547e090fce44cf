"""AMI actions against the simulated PBX: what each changes and how Asterisk 22 answers it.

Messages, and the order in which each handler checks its fields, are Asterisk's own: manager.c
(action_setvar, action_hangup, action_redirect, action_blind_transfer, action_atxfer,
action_originate) and app_queue.c (manager_add_queue_member, manager_remove_queue_member,
manager_pause_queue_member, manager_queue_member_penalty); docs/simulator.md lists them. Where the
simulator cannot do what Asterisk would (a channel it does not model), it answers as Asterisk
answers a failure of that action, never with words of its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from callcenter.simulator import conversation, dialplan, members, status, transfers
from callcenter.simulator.calls import Member
from callcenter.simulator.switch import CALL
from callcenter.simulator.wire import ActionReply, AmiEvent

if TYPE_CHECKING:
    from callcenter.simulator.pbx import Pbx

Handler = Callable[["Pbx", Mapping[str, str], str], ActionReply]

_TRUE = {"1", "true", "yes", "on"}


def ok(message: str) -> ActionReply:
    return ActionReply((("Response", "Success"), ("Message", message)))


def error(message: str) -> ActionReply:
    return ActionReply((("Response", "Error"), ("Message", message)))


def c_int(text: str) -> int | None:
    """C's ``sscanf(text, "%d")``: leading blanks, a sign, the leading digits; None if no digit."""
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else None


def _atoi(text: str) -> int:
    """C's ``atoi``: like sscanf, but 0 when there is no number."""
    n = c_int(text)
    return 0 if n is None else n


def _queue_add(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    queue, interface = f.get("Queue", ""), f.get("Interface", "")
    if not queue:
        return error("'Queue' not specified.")
    if not interface:
        return error("'Interface' not specified.")
    if queue not in pbx.members:
        return error("Unable to add interface to queue: No such queue")
    if interface in pbx.members[queue]:
        return error("Unable to add interface: Already there")
    paused = f.get("Paused", "").lower() in _TRUE
    member = Member(
        queue,
        f.get("MemberName") or interface,
        interface,
        max(c_int(f.get("Penalty", "")) or 0, 0),  # a bad or negative penalty is 0, no error
        paused,
        f.get("Reason", "") if paused else "",
        last_pause=int(pbx.now) if paused else 0,
        login=int(pbx.now),
    )
    members.added(pbx, member)
    pbx.queue_log("MANAGER", queue, interface, "ADDMEMBER", "PAUSED" if paused else "")
    pbx.members_changed()
    return ok("Added interface to queue")


def _queue_remove(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    queue, interface = f.get("Queue", ""), f.get("Interface", "")
    if not queue or not interface:
        return error("Need 'Queue' and 'Interface' parameters.")
    if queue not in pbx.members:
        return error("Unable to remove interface from queue: No such queue")
    member = pbx.members[queue].pop(interface, None)
    if member is None:
        return error("Unable to remove interface: Not there")
    members.removed(pbx, member)
    pbx.queue_log("MANAGER", queue, interface, "REMOVEMEMBER", "")
    pbx.members_changed()
    return ok("Removed interface from queue")


def _queue_pause(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    interface, queue = f.get("Interface", ""), f.get("Queue", "")
    if not interface or not f.get("Paused"):
        return error("Need 'Interface' and 'Paused' parameters.")
    paused = f["Paused"].lower() in _TRUE
    reason = f.get("Reason", "")
    targets = [m for m in pbx.memberships(interface) if not queue or m.queue == queue]
    if not targets:
        return error("Interface not found")
    if not queue:
        verb = "PAUSEALL" if paused else "UNPAUSEALL"
        pbx.queue_log("NONE", "NONE", targets[0].name, verb, reason)
    for m in targets:
        m.paused, m.reason = paused, reason if paused else ""
        m.last_pause = int(pbx.now) if paused else m.last_pause
        pbx.queue_log("NONE", m.queue, m.name, "PAUSE" if paused else "UNPAUSE", reason)
        members.paused(pbx, m)
    pbx.members_changed()
    return ok("Interface paused successfully" if paused else "Interface unpaused successfully")


def _queue_penalty(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    interface, queue = f.get("Interface", ""), f.get("Queue", "")
    if not interface or not f.get("Penalty"):
        return error("Need 'Interface' and 'Penalty' parameters.")
    penalty = _atoi(f["Penalty"])  # "abc" is penalty 0, as atoi makes it
    targets = [m for m in pbx.memberships(interface) if not queue or m.queue == queue]
    if not targets or penalty < 0:
        return error("Invalid interface, queuename or penalty")
    for m in targets:
        m.penalty = penalty
        pbx.queue_log("NONE", m.queue, m.name, "PENALTY", penalty)
        members.event(pbx, "QueueMemberPenalty", m)
    pbx.members_changed()
    return ok("Interface penalty set successfully")


def _setvar(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    name, value = f.get("Variable", ""), f.get("Value", "")
    if not name:
        return error("No variable specified")
    if f.get("Channel"):
        uid = pbx.uid_of(f["Channel"])
        if uid is None:
            return error("No such channel")
        pbx.var(pbx.live[uid], name, value)
        return ok("Variable Set")
    pbx.globals[name] = value
    pbx.emit(
        "VarSet",
        "dialplan,all",
        ("Channel", "none"),
        ("Uniqueid", "none"),
        ("Variable", name),
        ("Value", value),
    )
    return ok("Variable Set")


def _originate(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    # action_originate's checks, in its order; the simulator then dials only its own queue number.
    dp = pbx.spec.dialplan
    channel, app = f.get("Channel", ""), f.get("Application", "")
    exten, context, priority = f.get("Exten", ""), f.get("Context", ""), f.get("Priority", "")
    if not channel:
        return error("Channel not specified")
    if priority and c_int(priority) is None:  # a label: the simulated dialplan has none
        return error("Invalid priority")
    if f.get("Timeout") and c_int(f["Timeout"]) is None:
        return error("Invalid timeout")
    if "/" not in channel:
        return error("Invalid channel")
    if not app and not (exten and context and priority):
        return error("Originate with 'Exten' requires 'Context' and 'Priority'")
    if not channel.startswith(f"Local/{dp.number}@{dp.context}"):
        # Asterisk cannot place this call: a synchronous Originate says so at once, an
        # asynchronous one is queued and then fails in an OriginateResponse.
        if f.get("Async", "").lower() not in _TRUE:
            return error("Originate failed")
        tech, _, data = channel.partition("/")
        failed = (
            ("Response", "Failure"),
            ("Channel", f"{tech}/{data}"),
            ("Context", context),
            ("Exten", exten),
            ("Reason", "0"),
            ("Uniqueid", "<null>"),
            ("CallerIDNum", "<unknown>"),
            ("CallerIDName", "<unknown>"),
        )
        pbx.at(0.0, lambda: pbx.emit("OriginateResponse", CALL, *failed, action_id=action_id or None))
        return ok("Originate successfully queued")
    variables: dict[str, str] = {}  # as given, ``__LABCALL`` included: the channels keep the names
    for pair in f.get("Variable", "").split(","):
        key, sep, value = pair.partition("=")
        if sep:
            variables[key.strip()] = value
    caller_id = f.get("CallerID", "")

    def call() -> None:
        dialplan.originate(pbx, caller_id, variables, action_id)

    pbx.at(0.0, call)
    return ok("Originate successfully queued")


def _hangup(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    channel = f.get("Channel", "")
    if not channel:
        return error("No channel specified")
    uid = pbx.uid_of(channel)
    if uid is None:
        return error("No such channel")
    cause = c_int(f.get("Cause", "")) or 0
    dialplan.hang_up(pbx, uid, cause if 0 <= cause <= 127 else 0)  # a bad cause: hang up without
    return ok("Channel Hungup")


def _queue_status(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    return ActionReply(
        (("Response", "Success"), ("Message", "Queue status will follow")),
        tuple(status.status_items(pbx, f.get("Queue", ""), f.get("Member", ""))),
        "QueueStatusComplete",
    )


def _queue_summary(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    return ActionReply(
        (("Response", "Success"), ("Message", "Queue summary will follow")),
        tuple(status.summary_items(pbx, f.get("Queue", ""))),
        "QueueSummaryComplete",
    )


def _core_show_channels(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    items = tuple(AmiEvent(pbx.now, "CoreShowChannel", "call,all", h) for h in status.channel_rows(pbx))
    return ActionReply(
        (("Response", "Success"), ("Message", "Channels will follow")), items, "CoreShowChannelsComplete"
    )


def _status(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    items = tuple(AmiEvent(pbx.now, "Status", "call,all", h) for h in status.channel_rows(pbx))
    return ActionReply(
        (("Response", "Success"), ("Message", "Channel status will follow")), items, "StatusComplete"
    )


def _blind_transfer(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    name, exten = f.get("Channel", ""), f.get("Exten", "")
    if not name:
        return error("No channel specified")
    if not exten:
        return error("No extension specified")
    if pbx.uid_of(name) is None:
        return error("Channel specified does not exist")
    talk = conversation.talk_on(pbx, name)
    if talk is None:  # ast_bridge_transfer_blind of a channel in no bridge
        return error("Transfer invalid")
    transfers.blind_transfer(pbx, talk, f.get("Context", "") or "transfer", exten)
    return ok("Transfer succeeded")


def _atxfer(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    name, exten = f.get("Channel", ""), f.get("Exten", "")
    if not name:
        return error("No channel specified")
    if not exten:
        return error("No extension specified")
    if pbx.uid_of(name) is None:
        return error("Channel specified does not exist")
    # Asterisk only queues the feature code and the digits as DTMF on the channel and acks; they
    # start a transfer only on an agent's leg in a call (the caller's side has no atxfer feature
    # in the lab's features.conf), elsewhere they are heard and nothing happens.
    talk = conversation.talk_on(pbx, name)
    if talk is not None and talk.caller.two.name != name:
        transfers.attended_transfer(pbx, talk, exten)
    return ok("Atxfer successfully queued")


def _redirect(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    # action_redirect's checks, in its order. The simulator moves only a queue caller in a call;
    # any other live channel gets Asterisk's generic refusal.
    name, context, exten, priority = (f.get(k, "") for k in ("Channel", "Context", "Exten", "Priority"))
    if not name:
        return error("Channel not specified")
    if not context:
        return error("Context not specified")
    if not exten:
        return error("Exten not specified")
    if not priority:
        return error("Priority not specified")
    if (c_int(priority) or 0) < 1:
        return error("Priority is invalid")
    if pbx.uid_of(name) is None:
        return error(f"Channel does not exist: {name}")
    talk = conversation.talk_on(pbx, name)
    if talk is None or talk.caller.two.name != name:
        return error("Redirect failed")
    transfers.redirect(pbx, talk, context, exten)
    return ok("Redirect successful")


def _core_status(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    # As the lab's Asterisk 22.10.1 answered it (tests/traces/actions_snapshot): local dates.
    started = time.localtime(pbx.booted_at)
    day, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    return ActionReply(
        (
            ("Response", "Success"),
            ("CoreStartupDate", day),
            ("CoreStartupTime", clock),
            ("CoreReloadDate", day),
            ("CoreReloadTime", clock),
            ("CoreCurrentCalls", str(len(pbx.live))),
            ("CoreProcessedCalls", str(pbx.channels.sequence)),
        )
    )


def _core_settings(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    # Field for field what the lab's Asterisk 22.10.1 answered (tests/traces/actions_snapshot).
    return ActionReply(
        (
            ("Response", "Success"),
            ("AMIversion", "11.0.0"),
            ("AsteriskVersion", "22.10.1"),
            ("SystemName", ""),
            ("CoreMaxCalls", "0"),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", ""),
            ("CoreRunGroup", ""),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        )
    )


ACTIONS: dict[str, Handler] = {
    "corestatus": _core_status,
    "coresettings": _core_settings,
    "blindtransfer": _blind_transfer,
    "redirect": _redirect,
    "atxfer": _atxfer,
    "queueadd": _queue_add,
    "queueremove": _queue_remove,
    "queuepause": _queue_pause,
    "queuepenalty": _queue_penalty,
    "setvar": _setvar,
    "originate": _originate,
    "hangup": _hangup,
    "queuestatus": _queue_status,
    "queuesummary": _queue_summary,
    "coreshowchannels": _core_show_channels,
    "status": _status,
}
