"""How a Local channel pair comes up on the simulated Asterisk, event by event.

Rules (main/core_local.c, main/core_unreal.c, main/dial.c, main/channel.c of Asterisk 22; the
order is a_answered_agent_hangup's):

1. Both halves are allocated first (Newchannel ``;1`` Down, ``;2`` Ring), with no caller id and
   no variables: the caller number arrives with the NewCallerid / NewConnectedLine that follow.
2. The dialing side then takes the ``;1`` half: the dial API of an Originate names its
   application ``AppDial2``, app_queue ``AppQueue``, both with ``(Outgoing Line)`` (Newexten).
   An Originate sets its variables on ``;1`` last one first (manager.c builds the list that
   way); app_queue gives the member's line the caller's id, its inheritable variables
   (``__X`` as is, ``_X`` as ``X``: ast_channel_inherit_variables), the caller's extension and
   ``DIALEDPEERNUMBER``.
3. Calling ``;1`` hands everything to ``;2`` (ast_unreal_call_setup): every variable of ``;1``,
   newest first, one VarSet each; ``;2``'s caller id is ``;1``'s connected line and the other
   way round (a NewCallerid and a NewConnectedLine, each if it changed); then LocalBridge.

Functions over a :class:`~callcenter.simulator.switch.Switch`. Must not import asyncio or anything
that does IO, nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.simulator.channels import Channel
from callcenter.simulator.switch import CALL, DIALPLAN, Switch, presentation

OUTGOING = "(Outgoing Line)"


def originate(
    sw: Switch, exten: str, context: str, variables: Iterable[tuple[str, str]], num: str, name: str
) -> tuple[Channel, Channel]:
    """AMI Originate of ``Local/<exten>@<context>/n``: the pair, up to DialBegin."""
    one, two = sw.channels.local_pair(exten, context, sw.now)
    sw.add_channel(one)
    sw.add_channel(two)
    sw.exten(one, "AppDial2", OUTGOING)
    for var, value in reversed(list(variables)):
        sw.var(one, var, value)
    sw.caller_id(one, num, name)
    sw.connected_line(one, num, name)
    call(sw, one, two)
    sw.emit("DialBegin", CALL, one.snapshot("Dest"), ("DialString", f"{exten}@{context}/n"))
    return one, two


def dial(sw: Switch, caller: Channel, one: Channel, two: Channel | None, dialed: str) -> None:
    """app_queue rings a member (ring_entry): ``one`` is its outgoing line, ``two`` the ``;2``
    half of a Local member (None for a plain device). Up to, not including, AgentCalled."""
    sw.add_channel(one)
    if two is not None:
        sw.add_channel(two)
    one.cid_num, one.cid_name = caller.cid_num, caller.cid_name
    sw.exten(one, "AppQueue", OUTGOING)
    sw.caller_id(one, caller.cid_num, caller.cid_name)
    one.conn_num, one.conn_name = caller.cid_num, caller.cid_name
    connected_and_inherited(sw, caller, one)
    one.exten = caller.exten
    sw.exten(one, "AppQueue", OUTGOING)
    sw.var(one, "DIALEDPEERNUMBER", dialed)
    if two is not None:
        call(sw, one, two)


def connected_and_inherited(sw: Switch, parent: Channel, child: Channel) -> None:
    """A dialled channel's new connected line (already set), then the variables it inherits.
    The connected line's snapshot is only taken with the first inherited VarSet
    (a_answered_agent_hangup: NewConnectedLine already shows LABCALL=1, not yet TALK=5)."""
    inherited = inheritable(parent)
    if inherited:
        append(child, *inherited[0])
    sw.emit("NewConnectedLine", CALL, child.snapshot())
    for k, (var, value) in enumerate(inherited):
        if k:
            append(child, var, value)
        sw.emit("VarSet", DIALPLAN, child.snapshot(), ("Variable", var), ("Value", value))


def inheritable(parent: Channel) -> list[tuple[str, str]]:
    """ast_channel_inherit_variables: ``__X`` passes on as is, ``_X`` as ``X``, in list order."""
    out = []
    for var, value in parent.newest_first():
        if var.startswith("__"):
            out.append((var, value))
        elif var.startswith("_"):
            out.append((var[1:], value))
    return out


def call(sw: Switch, one: Channel, two: Channel, *, optimize: bool = False) -> None:
    """ast_unreal_call_setup, then LocalBridge (``optimize``: dialled without ``/n``, as the
    attended-transfer feature dials its target)."""
    # The VarSets go out before the variables are on the channel: their snapshots show none.
    before = two.snapshot()
    for var, value in one.newest_first():
        sw.emit("VarSet", DIALPLAN, before, ("Variable", var), ("Value", value))
    for var, value in one.newest_first():
        append(two, var, value)
    cid, conn = (two.cid_num, two.cid_name), (two.conn_num, two.conn_name)
    two.cid_num, two.cid_name = one.conn_num, one.conn_name
    two.conn_num, two.conn_name = one.cid_num, one.cid_name
    if (two.cid_num, two.cid_name) != cid:
        sw.emit("NewCallerid", CALL, two.snapshot(), ("CID-CallingPres", presentation(two)))
    if (two.conn_num, two.conn_name) != conn:
        sw.emit("NewConnectedLine", CALL, two.snapshot())
    sw.emit(
        "LocalBridge",
        CALL,
        one.snapshot("LocalOne"),
        two.snapshot("LocalTwo"),
        ("Context", two.context),
        ("Exten", two.exten),
        ("LocalOptimization", "Yes" if optimize else "No"),
    )


def append(chan: Channel, var: str, value: str) -> None:
    """A variable added at the tail of the channel's list (the oldest end)."""
    chan.variables = {var: value, **chan.variables}
