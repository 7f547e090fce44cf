"""Transfers out of a queue call on the simulated PBX, and the lab's transfer-target desk.

Owns what a :class:`~callcenter.simulator.pbx.Pbx` does for AMI BlindTransfer, Redirect and
Atxfer (with the agent hanging up to complete it, and the target hanging up), and the lab's
[transfer] context that answers the transferred caller (m_transfer). It reaches the call center
through the public names of the Pbx and of :mod:`callcenter.simulator.dialplan` only. Must not
import asyncio or anything that does IO, nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator import dialplan
from callcenter.simulator.switch import CALL

if TYPE_CHECKING:
    from callcenter.simulator.calls import Caller, Talk
    from callcenter.simulator.channels import Channel
    from callcenter.simulator.pbx import Pbx

TRANSFER_DESK_S = 6.0  # the lab's transfer target talks this long
ATXFER_DIAL_S = 0.45  # Atxfer → the target's channels (the feature plays pbx-transfer first)


def blind_transfer(pbx: Pbx, talk: Talk, context: str, exten: str) -> None:
    """The agent sends the caller to another extension: AgentComplete Reason=transfer."""
    caller, leg = talk.caller, talk.leg
    bridge = (("BridgeUniqueid", talk.bridge), ("BridgeNumChannels", "2"), ("IsExternal", "Yes"))
    parties = (*leg.outgoing.snapshot("Transferer"), *caller.two.snapshot("Transferee"))
    pbx.emit("BlindTransfer", CALL, ("Result", "Success"), parties, bridge, ("Context", context),
             ("Extension", exten))  # fmt: skip
    pbx.complete(caller, "transfer", ("BLINDTRANSFER", exten, context))
    _transfer_target(pbx, caller, exten, redirected=False)


def redirect(pbx: Pbx, talk: Talk, exten: str) -> None:
    """The caller's channel is redirected out of the queue bridge. app_queue sees no transfer:
    AgentComplete Reason=caller comes when the caller hangs up at the target, with a TalkTime
    that includes the time there (m_transfer)."""
    caller, leg = talk.caller, talk.leg
    for chan in (leg.phone, leg.outgoing):
        if chan is not None:
            pbx.hangup(chan, request="HangupRequest")
    pbx.busy.pop(leg.member.interface, None)
    pbx.device(leg.member.interface, False)
    _transfer_target(pbx, caller, exten, redirected=True)


def attended_transfer(pbx: Pbx, talk: Talk, exten: str) -> None:
    """AMI Atxfer: the agent puts the caller on hold and calls the target; hanging up then
    completes the transfer (m_transfer: the target is up 0.45 s later)."""
    pbx.emit("Hold", CALL, talk.leg.outgoing.snapshot())

    def dial() -> None:
        if talk.caller.talking is not talk:
            return
        one, two = pbx.channels.local_pair(exten, "transfer", pbx.now, talk.caller.two.linked_id)
        for chan in (one, two):
            # The agent's channel dials the target with the caller's id (connected line).
            chan.cid_num, chan.cid_name = talk.caller.two.cid_num, talk.caller.two.cid_name
            pbx.add_channel(chan)
        talk.consult = (one, two)
        pbx.at(
            pbx.spec.dialplan.answer_s,
            lambda: pbx.user_event(
                two, "TransferTarget", ("TargetExten", exten), ("CallerNum", talk.caller.two.cid_num)
            ),
        )
        pbx.at(pbx.spec.dialplan.answer_s + TRANSFER_DESK_S, lambda: _target_hangs_up(pbx, talk))

    pbx.at(ATXFER_DIAL_S, dial)


def complete_attended(pbx: Pbx, talk: Talk, consult: tuple[Channel, Channel]) -> None:
    """The agent hangs up while on the call to the target (``consult``, the ``talk.consult`` of
    an Atxfer): the caller goes to the target, AgentComplete Reason=transfer."""
    caller = talk.caller
    target = consult[0]
    agent = talk.leg.outgoing
    parties = (*agent.snapshot("OrigTransferer"), *agent.snapshot("SecondTransferer"),
               *caller.two.snapshot("Transferee"), *target.snapshot("TransferTarget"))  # fmt: skip
    pbx.emit("AttendedTransfer", CALL, ("Result", "Success"), parties, ("IsExternal", "No"),
             ("DestType", "Bridge"), ("DestBridgeUniqueid", talk.bridge))  # fmt: skip
    pbx.complete(caller, "transfer", ("ATTENDEDTRANSFER", "BRIDGE", talk.bridge))
    caller.transferred_to = consult


def _target_hangs_up(pbx: Pbx, talk: Talk) -> None:
    """The transfer target ends the call: the caller's Queue() returns CONTINUE ('c')."""
    caller = talk.caller
    if talk.consult is None or caller.gone:
        return
    for chan in talk.consult:
        pbx.hangup(chan, request="SoftHangupRequest" if chan is talk.consult[1] else None)
    if caller.talking is talk:  # the agent never completed the transfer
        return
    dialplan.after_queue(pbx, caller, talk.queue.name, "CONTINUE")


def _transfer_target(pbx: Pbx, caller: Caller, exten: str, *, redirected: bool) -> None:
    """The lab's [transfer] desk: answers, reports TransferTarget, talks 6 s, hangs up."""
    two = caller.two
    two.context, two.exten = "transfer", exten
    pbx.exten(two, "UserEvent", f"TransferTarget,TargetExten: {exten},CallerNum: {two.cid_num}", 3)
    pbx.user_event(two, "TransferTarget", ("TargetExten", exten), ("CallerNum", two.cid_num))

    def done() -> None:
        if redirected:
            pbx.complete(caller, "caller")
        dialplan.end_call(pbx, caller, h_extension=False)

    pbx.at(TRANSFER_DESK_S, done)
