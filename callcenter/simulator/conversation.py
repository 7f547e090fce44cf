"""A queue call once a member answered, on the simulated PBX: the bridge, the talk and its end.

Owns AgentConnect and the bridge of the caller with the member's line, the lab phone's talk time,
AgentComplete with the member's and the queue's figures, and how the channels come down when
the agent or the caller hangs up. Orders as recorded (tests/traces):

* agent hangs up (a_answered_agent_hangup): the phone's Hangup() → SoftHangupRequest phone,
  HangupRequest line → AgentComplete → Hangup phone → BRIDGEPEER cleared → BridgeLeave line,
  Hangup line → BridgeLeave caller, BridgeDestroy → Queue() returns (its variables);
* caller hangs up (b_answered_caller_hangup): HangupRequest caller → AgentComplete → Hangup of
  the caller's ``;1`` → BRIDGEPEER cleared → BridgeLeave caller, BridgeLeave line →
  HangupRequest phone, Hangup line, SoftHangupRequest phone, Hangup phone → BridgeDestroy →
  Queue() returns.

The member's CallsTaken and LastCall change at AgentComplete, so the QueueMemberStatus that the
phone's hang-up causes already shows them. Functions over a
:class:`~callcenter.simulator.pbx.Pbx`. Must not import asyncio or anything that does IO, nor
anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator import dialplan, transfers, variables
from callcenter.simulator.calls import Caller, Entry, Leg, Talk
from callcenter.simulator.switch import AGENT, CALL

if TYPE_CHECKING:
    from callcenter.simulator.pbx import Pbx

COMPLETE_EVENT_LAG_S = 0.006  # call end → AgentComplete on AMI (stasis)


def connect(pbx: Pbx, entry: Entry, leg: Leg, hold: int) -> None:
    """AgentConnect, the bridge, and the talk until one side hangs up."""
    caller, queue, two = entry.caller, entry.queue, entry.caller.two
    ring = pbx.seconds_since(leg.started)
    pbx.emit(
        "AgentConnect",
        AGENT,
        two.snapshot(),
        leg.outgoing.snapshot("Dest"),
        ("Queue", queue.name),
        ("Interface", leg.member.interface),
        ("MemberName", leg.member.name),
        ("HoldTime", str(hold)),
        ("RingTime", str(ring)),
    )
    pbx.queue_log(two.uid, queue.name, leg.member.name, "CONNECT", hold, leg.outgoing.uid, ring)
    bridge = pbx.bridge_create()
    pbx.bridge_enter(leg.outgoing, bridge)
    pbx.bridge_enter(two, bridge)
    pbx.var(leg.outgoing, "BRIDGEPEER", two.name)
    pbx.var(two, "BRIDGEPEER", leg.outgoing.name)
    leg.member.in_call = True
    caller.talking = Talk(caller, queue, leg, hold, pbx.now, entry.opos, bridge)
    dp = pbx.spec.dialplan
    talk = float(caller.variables.get("TALK") or dp.default_talk_s)
    if leg.phone is not None:
        # The lab phone's Answer() returns half a second after the bridge, then Wait(TALK):
        # TalkTime is TALK + 0.5 (a_answered_agent_hangup: TALK 5, TalkTime 6 from 5.5 s).
        phone, talk_text = leg.phone, f"{talk:g}"
        talk += dp.answer_s
        pbx.at(dp.answer_s, lambda: None if phone.hung_up else pbx.exten(phone, "Wait", talk_text, 6))
    pbx.at(talk, lambda: _talk_over(pbx, caller))
    if caller.hangup_after_connect_s is not None and caller.hangup_after_connect_s < talk:
        pbx.at(caller.hangup_after_connect_s, lambda: dialplan.caller_hangs_up(pbx, caller))


def complete(
    pbx: Pbx, caller: Caller, reason: str, transfer: tuple[str, str, str] | None = None
) -> Talk | None:
    """AgentComplete: the conversation ended (``reason`` agent, caller or transfer; ``transfer``:
    the queue_log verb and its first two fields). Returns it, or None if it had ended already."""
    talk = caller.talking
    if talk is None:
        return None
    caller.talking = None
    two, leg, queue = caller.two, talk.leg, talk.queue
    member = leg.member
    talked = pbx.seconds_since(talk.connected)
    # Once the member's line is gone its snapshot is too (after a Redirect: m_transfer).
    line = () if leg.outgoing.hung_up else leg.outgoing.snapshot("Dest")
    caller_snapshot = two.snapshot()
    if pbx.complete_orphaned(two.uid):
        caller_snapshot, line = (), ()
    pbx.emit(
        "AgentComplete",
        AGENT,
        caller_snapshot,
        line,
        ("Queue", queue.name),
        ("Interface", member.interface),
        ("MemberName", member.name),
        ("HoldTime", str(talk.hold)),
        ("TalkTime", str(talked)),
        ("Reason", reason),
    )
    if transfer is not None:
        pbx.queue_log(two.uid, queue.name, member.name, *transfer, talk.hold, talked, talk.opos)
    else:
        verb = "COMPLETEAGENT" if reason == "agent" else "COMPLETECALLER"
        pbx.queue_log(two.uid, queue.name, member.name, verb, talk.hold, talked, talk.opos)
    update_queue(pbx, talk)
    return talk


def update_queue(pbx: Pbx, talk: Talk) -> None:
    """app_queue's update_queue(), once per call (a Redirect runs it when the member's line goes,
    long before AgentComplete: m_transfer). The queue counts the call only if the member is
    still in it (j_leavewhenempty: Completed stays 0); with shared_lastcall every membership of
    the interface counts it, including one logged in again during it (i_agent_login_pause), and
    wrap-up starts. lastcall is the second the call ended, a few ms before AgentComplete is
    published (n_mixed_load: AgentComplete at 873.004, LastCall 872); app_queue compares whole
    seconds: free again once time(NULL) - wrapuptime >= lastcall."""
    if talk.counted:
        return
    talk.counted = True
    member, queue = talk.leg.member, talk.queue
    if member.interface in pbx.members[queue.name]:
        stats = pbx.stats[queue.name]
        stats["completed"] += 1
        stats["insl"] += talk.hold <= queue.servicelevel_s
        variables.average(stats, "talktime", pbx.seconds_since(talk.connected), stats["completed"] == 1)
    last_call = int(pbx.now - COMPLETE_EVENT_LAG_S)
    for current in {id(m): m for m in (member, *pbx.memberships(member.interface))}.values():
        current.calls += 1
        current.last_call = last_call
        current.in_call = False
    pbx.busy[member.interface] = last_call + talk.queue.wrapup_s


def queue_returns(pbx: Pbx, talk: Talk) -> None:
    """The bridge is gone: Queue() sets its timings and figures on the caller's channel."""
    two = talk.caller.two
    variables.returned(pbx, two, talk.queue, pbx.now - two.created, pbx.now - talk.connected)


def agent_ends(pbx: Pbx, caller: Caller) -> Talk | None:
    """The member's phone hangs up (the lab phone's Hangup(), or AMI Hangup of its line)."""
    talk = caller.talking
    if talk is None:
        return None
    leg, two = talk.leg, caller.two
    if leg.phone is not None:
        pbx.exten(leg.phone, "Hangup", "", 7)
        pbx.emit("SoftHangupRequest", CALL, leg.phone.snapshot(), ("Cause", "16"))
    pbx.emit("HangupRequest", CALL, leg.outgoing.snapshot(), ("Cause", "16"))
    complete(pbx, caller, "agent")
    if leg.phone is not None:
        pbx.hangup(leg.phone)
        pbx.flush_devices()
    pbx.var(leg.outgoing, "BRIDGEPEER", "")
    pbx.var(two, "BRIDGEPEER", "")
    pbx.bridge_leave(leg.outgoing)
    pbx.hangup(leg.outgoing)
    pbx.bridge_leave(two)
    pbx.bridge_destroy(talk.bridge)
    pbx.flush_devices()
    queue_returns(pbx, talk)
    return talk


def caller_ends(pbx: Pbx, caller: Caller, cause: int) -> Talk | None:
    """The caller's ``;1`` is hung up during the talk (the HangupRequest on ``;2`` is out)."""
    talk = complete(pbx, caller, "caller")
    if talk is None:
        return None
    leg, two = talk.leg, caller.two
    pbx.hangup(caller.one, cause)
    pbx.var(two, "BRIDGEPEER", "")
    pbx.var(leg.outgoing, "BRIDGEPEER", "")
    pbx.bridge_leave(two)
    pbx.bridge_leave(leg.outgoing)
    if leg.phone is not None:
        pbx.emit("HangupRequest", CALL, leg.phone.snapshot(), ("Cause", "16"))
    pbx.hangup(leg.outgoing)
    if leg.phone is not None:
        pbx.hangup(leg.phone, request="SoftHangupRequest")
    pbx.bridge_destroy(talk.bridge)
    queue_returns(pbx, talk)
    return talk


def talk_on(pbx: Pbx, channel: str) -> Talk | None:
    """The conversation a channel (the caller's, or either agent leg) takes part in."""
    for caller in pbx.callers.values():
        talk = caller.talking
        if talk is not None and channel in (caller.two.name, talk.leg.outgoing.name,
                                            talk.leg.phone.name if talk.leg.phone else ""):  # fmt: skip
            return talk
    return None


def talk_of_agent_leg(pbx: Pbx, uid: str) -> Talk | None:
    """The conversation whose agent leg (either half of a Local member) has this Uniqueid."""
    for caller in pbx.callers.values():
        talk = caller.talking
        if talk is not None and uid in (talk.leg.outgoing.uid, talk.leg.phone.uid if talk.leg.phone else ""):
            return talk
    return None


def _talk_over(pbx: Pbx, caller: Caller) -> None:
    """The agent's phone hangs up after the talk time (unless a transfer is under way)."""
    talk = caller.talking
    if talk is not None and talk.consult is None:
        agent_ends(pbx, caller)
        dialplan.after_queue(pbx, caller, talk.queue.name, "CONTINUE")


def agent_hangs_up(pbx: Pbx, talk: Talk) -> None:
    """The agent's channel is hung up (AMI): the end of the call, or of an attended transfer."""
    if talk.consult is not None:
        transfers.complete_attended(pbx, talk, talk.consult)
        return
    agent_ends(pbx, talk.caller)
    dialplan.after_queue(pbx, talk.caller, talk.queue.name, "CONTINUE")
