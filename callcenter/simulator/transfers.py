"""Transfers out of a queue call on the simulated PBX, and the lab's transfer-target desk.

Owns what a :class:`~callcenter.simulator.pbx.Pbx` does for AMI BlindTransfer, Redirect and
Atxfer (with the agent hanging up to complete it, and the target hanging up), and the lab's
[transfer] context that answers the transferred caller. Orders as recorded in m_transfer:

* BlindTransfer: Unhold, BLINDTRANSFER on both parties, BlindTransfer, AgentComplete, the
  caller leaves the bridge for the target extension (a Newexten of the running Queue() at
  priority 1 of the new place), Queue()'s timings (ANSWEREDTIME 0), the agent's legs go;
* Redirect: the caller leaves the bridge the same way, the agent's legs go, and app_queue counts
  the call then (QueueMemberStatus CallsTaken 1) but reports AgentComplete Reason=caller only
  when the redirected caller hangs up;
* Atxfer: the feature's DTMF (``*2`` and the extension), Hold, a Local call to the target in a
  bridge of its own; the agent hanging up merges the bridges (BridgeMerge, AttendedTransfer,
  AgentComplete Reason=transfer); the target hanging up ends the caller's Queue() (CONTINUE).
  The connected-line updates through the Local pairs reach the idle halves' snapshots only at
  their hang-up (their NewCallerid follows the Hangup).

It reaches the call center through the public names of the Pbx, :mod:`conversation` and
:mod:`dialplan` only. Must not import asyncio or anything that does IO, nor anything from
``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator import conversation, dialplan, local, variables
from callcenter.simulator.switch import CALL

if TYPE_CHECKING:
    from callcenter.simulator.calls import Caller, Talk
    from callcenter.simulator.channels import Channel
    from callcenter.simulator.pbx import Pbx

TRANSFER_DESK_S = 6.0  # the lab's transfer target talks this long
# Atxfer: the feature code *2 and then each digit of the target arrive as DTMF, the caller is
# put on hold, and the target is dialled (m_transfer: *, 2 at 0.161 s, Hold at 0.261 s, 7 0 0
# from 0.322 s a digit every 60 ms, the target's channels at 0.444 s).
ATXFER_DTMF = (("*", 0.0), ("2", 0.161))
ATXFER_HOLD_S = 0.261
ATXFER_DIGITS_S = (0.322, 0.06)
ATXFER_DIAL_S = 0.45


def blind_transfer(pbx: Pbx, talk: Talk, context: str, exten: str) -> None:
    """The agent sends the caller to another extension: AgentComplete Reason=transfer."""
    caller, leg = talk.caller, talk.leg
    two, line, phone = caller.two, leg.outgoing, leg.phone
    pbx.emit("Unhold", CALL, line.snapshot())
    pbx.var(two, "BLINDTRANSFER", line.name)
    pbx.var(line, "BLINDTRANSFER", two.name)
    pbx.var(line, "BRIDGEPEER", "")
    bridge = pbx.bridge_block(talk.bridge)
    parties = (*line.snapshot("Transferer"), *two.snapshot("Transferee"))
    pbx.emit("BlindTransfer", CALL, ("Result", "Success"), parties, bridge, ("IsExternal", "Yes"),
             ("Context", context), ("Extension", exten))  # fmt: skip
    conversation.complete(pbx, caller, "transfer", ("BLINDTRANSFER", exten, context))
    pbx.bridge_leave(line)
    pbx.var(two, "BRIDGEPEER", "")
    _goto(pbx, two, context, exten)
    if phone is not None:
        pbx.emit("HangupRequest", CALL, phone.snapshot(), ("Cause", "16"))
    pbx.bridge_leave(two)
    pbx.bridge_destroy(talk.bridge)
    variables.left_bridge(pbx, two)
    if phone is not None:
        pbx.hangup(phone, request="SoftHangupRequest")
    variables.queue_statistics(pbx, two, talk.queue)
    _desk(pbx, caller, exten, redirected=False)
    pbx.hangup(line)


def redirect(pbx: Pbx, talk: Talk, context: str, exten: str) -> None:
    """The caller's channel is redirected out of the queue bridge. app_queue sees no transfer:
    AgentComplete Reason=caller comes when the caller hangs up at the target, with a TalkTime
    that includes the time there (m_transfer)."""
    caller, leg = talk.caller, talk.leg
    two, line = caller.two, leg.outgoing
    pbx.var(two, "BRIDGEPEER", "")
    _goto(pbx, two, context, exten)
    pbx.var(line, "BRIDGEPEER", "")
    pbx.bridge_leave(two)
    pbx.bridge_leave(line)
    variables.left_bridge(pbx, two)
    variables.queue_statistics(pbx, two, talk.queue)
    _desk(pbx, caller, exten, redirected=True)
    pbx.bridge_destroy(talk.bridge)
    conversation.update_queue(pbx, talk)
    if leg.phone is not None:
        pbx.emit("HangupRequest", CALL, leg.phone.snapshot(), ("Cause", "16"))
    pbx.hangup(line)
    if leg.phone is not None:
        pbx.hangup(leg.phone, request="SoftHangupRequest")


def attended_transfer(pbx: Pbx, talk: Talk, exten: str) -> None:
    """AMI Atxfer: the agent puts the caller on hold and calls the target; hanging up then
    completes the transfer."""
    line = talk.leg.outgoing
    pbx.var(line, "TRANSFER_CONTEXT", "transfer")

    def dtmf(digit: str) -> None:
        if talk.caller.talking is talk:
            pbx.emit("DTMFEnd", "dtmf,all", line.snapshot(), ("Digit", digit), ("DurationMs", "0"),
                     ("Direction", "Received"))  # fmt: skip

    def hold() -> None:
        if talk.caller.talking is talk:
            pbx.emit("Hold", CALL, line.snapshot())

    first, step = ATXFER_DIGITS_S
    for digit, at in (*ATXFER_DTMF, *((d, first + k * step) for k, d in enumerate(exten))):
        pbx.at(at, lambda digit=digit: dtmf(digit))  # type: ignore[misc]
    pbx.at(ATXFER_HOLD_S, hold)
    pbx.at(ATXFER_DIAL_S, lambda: _dial_target(pbx, talk, exten))


def _dial_target(pbx: Pbx, talk: Talk, exten: str) -> None:
    """The feature dials the target (a Local call in a bridge of its own) and moves the agent
    into it once it answered."""
    if talk.caller.talking is not talk:
        return
    line, caller = talk.leg.outgoing, talk.caller.two
    one, two = pbx.channels.local_pair(exten, "transfer", pbx.now, caller.linked_id)
    pbx.add_channel(one)
    pbx.add_channel(two)
    pbx.var(one, "TRANSFERERNAME", line.name)
    pbx.var(one, "ATTENDEDTRANSFER", line.name)
    one.conn_num, one.conn_name = line.conn_num, line.conn_name
    local.connected_and_inherited(pbx, line, one)
    bridge = pbx.bridge_create()
    local.call(pbx, one, two, optimize=True)
    pbx.devices.started(two)
    name, num = two.cid_name, two.cid_num
    pbx.exten(two, "NoOp", f'transfer target got call {two.get("LABCALL")} from "{name}" <{num}>', 1)
    pbx.exten(two, "Answer", "", 2)
    pbx.state(two, 6)
    pbx.bridge_enter(one, bridge)
    pbx.var(one, "ATTENDEDTRANSFER", "")
    pbx.state(one, 6)
    pbx.emit("DialEnd", CALL, one.snapshot("Dest"), ("DialStatus", "ANSWER"))
    pbx.flush_devices()
    pbx.bridge_leave(line)
    pbx.bridge_enter(line, bridge)
    pbx.var(one, "BRIDGEPEER", line.name)
    pbx.var(line, "BRIDGEPEER", one.name)
    pbx.connected_line(line, one.cid_num, one.cid_name)
    talk.consult, talk.consult_bridge = (one, two), bridge
    dp = pbx.spec.dialplan

    def target_event() -> None:
        if not two.hung_up:
            fields = (("TargetExten", exten), ("CallerNum", two.cid_num))
            dialplan.user_event(pbx, two, "TransferTarget", fields, 3)
            pbx.exten(two, "Wait", f"{TRANSFER_DESK_S:g}", 4)

    pbx.at(dp.answer_s, target_event)
    pbx.at(dp.answer_s + TRANSFER_DESK_S, lambda: _target_hangs_up(pbx, talk))


def complete_attended(pbx: Pbx, talk: Talk, consult: tuple[Channel, Channel]) -> None:
    """The agent hangs up while on the call to the target (``consult``, the ``talk.consult`` of
    an Atxfer): the bridges merge, the caller is with the target, AgentComplete Reason=transfer."""
    caller, leg = talk.caller, talk.leg
    two, line, phone = caller.two, leg.outgoing, leg.phone
    target = consult[0]
    pbx.var(line, "BRIDGEPEER", "")
    pbx.bridge_leave(line)
    if phone is not None:
        pbx.emit("HangupRequest", CALL, phone.snapshot(), ("Cause", "16"))
    merged = (*pbx.bridge_block(talk.bridge, "To"), *pbx.bridge_block(talk.consult_bridge, "From"))
    pbx.emit("BridgeMerge", CALL, merged)
    pbx.bridge_leave(target)
    pbx.bridge_enter(target, talk.bridge)
    pbx.var(two, "BRIDGEPEER", target.name)
    pbx.var(target, "BRIDGEPEER", two.name)
    parties = (*line.snapshot("OrigTransferer"), *pbx.bridge_block(talk.bridge, "Orig"),
               *line.snapshot("SecondTransferer"), *pbx.bridge_block(talk.consult_bridge, "Second"),
               *two.snapshot("Transferee"), *target.snapshot("TransferTarget"))  # fmt: skip
    pbx.emit("AttendedTransfer", CALL, ("Result", "Success"), parties, ("IsExternal", "No"),
             ("DestType", "Bridge"), ("DestBridgeUniqueid", talk.bridge))  # fmt: skip
    conversation.complete(pbx, caller, "transfer", ("ATTENDEDTRANSFER", "BRIDGE", talk.bridge))
    if phone is not None:
        # The agent's line now shows the target (no caller id) as its connected line; its
        # phone half hears of it only with its hang-up.
        phone.pending_cid = (line.conn_num, line.conn_name)
        pbx.hangup(phone, request="SoftHangupRequest")
    # The caller is connected to the target now, and its ;1 half takes that as caller id.
    pbx.connected_line(two, target.cid_num, target.cid_name)
    caller.one.pending_cid = (two.conn_num, two.conn_name)
    pbx.bridge_destroy(talk.consult_bridge)
    pbx.hangup(line)


def _target_hangs_up(pbx: Pbx, talk: Talk) -> None:
    """The transfer target ends the call: the caller's Queue() returns CONTINUE ('c')."""
    caller = talk.caller
    if talk.consult is None or caller.gone:
        return
    one, two = talk.consult
    pbx.exten(two, "Hangup", "", 5)
    pbx.emit("SoftHangupRequest", CALL, two.snapshot(), ("Cause", "16"))
    pbx.emit("HangupRequest", CALL, one.snapshot(), ("Cause", "16"))
    pbx.hangup(two)
    if caller.talking is talk:  # the agent never completed the transfer
        pbx.hangup(one)
        return
    pbx.var(one, "BRIDGEPEER", "")
    pbx.var(caller.two, "BRIDGEPEER", "")
    pbx.flush_devices()
    pbx.bridge_leave(one)
    pbx.hangup(one)
    pbx.bridge_leave(caller.two)
    pbx.bridge_destroy(talk.bridge)
    conversation.queue_returns(pbx, talk)
    dialplan.after_queue(pbx, caller, talk.queue.name, "CONTINUE")


def _goto(pbx: Pbx, chan: Channel, context: str, exten: str) -> None:
    """An async goto out of a running Queue(): the snapshot moves to priority 1 of the new
    place with the application still Queue (a Newexten), and the dialplan goes on at 2."""
    chan.context, chan.exten = context, exten
    pbx.exten(chan, chan.application, chan.app_data, 1)


def _desk(pbx: Pbx, caller: Caller, exten: str, *, redirected: bool) -> None:
    """The lab's [transfer] desk: answers, reports TransferTarget, talks 6 s, hangs up."""
    two = caller.two
    pbx.exten(two, "Answer", "", 2)
    dialplan.user_event(pbx, two, "TransferTarget", (("TargetExten", exten), ("CallerNum", two.cid_num)), 3)
    pbx.exten(two, "Wait", f"{TRANSFER_DESK_S:g}", 4)

    def done() -> None:
        if caller.gone:
            return
        pbx.exten(two, "Hangup", "", 5)
        dialplan.end_call(pbx, caller, h_extension=False, redirected=redirected)

    pbx.at(TRANSFER_DESK_S, done)
