"""AMI actions against the simulated PBX: what each changes and how Asterisk 22 answers it.

Messages are Asterisk's own (manager.c / app_queue.c), e.g. "Added interface to queue",
"Interface paused successfully"; a malformed action is answered ``Response: Error``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from callcenter.simulator import conversation, dialplan, members, status, transfers
from callcenter.simulator.calls import Member
from callcenter.simulator.wire import ActionReply, AmiEvent

if TYPE_CHECKING:
    from callcenter.simulator.pbx import Pbx

Handler = Callable[["Pbx", Mapping[str, str], str], ActionReply]

_TRUE = {"1", "true", "yes", "on"}


def ok(message: str) -> ActionReply:
    return ActionReply((("Response", "Success"), ("Message", message)))


def error(message: str) -> ActionReply:
    return ActionReply((("Response", "Error"), ("Message", message)))


def _queue_add(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    queue, interface = f.get("Queue", ""), f.get("Interface", "")
    if not queue or not interface:
        return error("'Queue' and 'Interface' not set.")
    if queue not in pbx.members:
        return error("Unable to add interface to queue: No such queue")
    if interface in pbx.members[queue]:
        return error("Unable to add interface: Already there")
    paused = f.get("Paused", "").lower() in _TRUE
    member = Member(
        queue,
        f.get("MemberName") or interface,
        interface,
        int(f.get("Penalty") or 0),
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
    member = pbx.members.get(queue, {}).pop(interface, None)
    if member is None:
        return error("Unable to remove interface: Not there")
    members.removed(pbx, member)
    pbx.queue_log("MANAGER", queue, interface, "REMOVEMEMBER", "")
    pbx.members_changed()
    return ok("Removed interface from queue")


def _queue_pause(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    interface, queue = f.get("Interface", ""), f.get("Queue", "")
    if not interface or "Paused" not in f:
        return error("Need 'Interface' and 'Paused' headers.")
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
    try:
        penalty = int(f.get("Penalty", ""))
    except ValueError:
        return error("Invalid penalty")
    targets = [m for m in pbx.memberships(interface) if not queue or m.queue == queue]
    if not targets:
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
        return error("Setvar on a channel is not simulated; set caller variables with Originate")
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
    dp = pbx.spec.dialplan
    channel = f.get("Channel", "")
    if not channel:
        return error("Channel not specified")
    if not channel.startswith(f"Local/{dp.number}@{dp.context}"):
        return error(
            f"Originate failed: the simulator answers Local/{dp.number}@{dp.context} only, got {channel}"
        )
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
    uid = pbx.uid_of(channel)
    if uid is None:
        return error("No such channel")
    cause = int(f.get("Cause") or 0)
    dialplan.hang_up(pbx, uid, cause)
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
    talk = conversation.talk_on(pbx, f.get("Channel", ""))
    if talk is None:
        return error("No such channel")
    if not f.get("Exten"):
        return error("No extension specified")
    transfers.blind_transfer(pbx, talk, f.get("Context", "") or "transfer", f["Exten"])
    return ok("Transfer succeeded")


def _atxfer(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    talk = conversation.talk_on(pbx, f.get("Channel", ""))
    if talk is None or talk.caller.two.name == f.get("Channel"):
        return error("No such channel")
    if not f.get("Exten"):
        return error("No extension specified")
    transfers.attended_transfer(pbx, talk, f["Exten"])
    return ok("Atxfer successfully queued")


def _redirect(pbx: Pbx, f: Mapping[str, str], action_id: str) -> ActionReply:
    # manager.c's action_redirect: "Channel not specified", "Channel does not exist: NAME",
    # "Redirect failed" (its generic refusal: here, any channel but a queue caller's in a call).
    name = f.get("Channel", "")
    if not name:
        return error("Channel not specified")
    if pbx.uid_of(name) is None:
        return error(f"Channel does not exist: {name}")
    talk = conversation.talk_on(pbx, name)
    if talk is None or talk.caller.two.name != name:
        return error("Redirect failed")
    if not f.get("Exten"):
        return error("Redirect failed, no extension specified")
    transfers.redirect(pbx, talk, f.get("Context", "") or "transfer", f["Exten"])
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
