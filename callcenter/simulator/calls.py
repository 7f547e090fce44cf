"""What the simulated PBX remembers about the people and calls it handles.

Owns the records the queue engine (:mod:`callcenter.simulator.pbx`) and the support dialplan
(:mod:`callcenter.simulator.dialplan`) share: a queue ``Member``, a ``Caller`` (the two halves of
its Local channel and the lab driver's variables), its ``Entry`` in a queue's waiting list, the
``Leg`` ringing one member's phone and the ``Talk`` once a member answered. Mutable slotted
dataclasses with no behaviour. Must not import asyncio or anything that does IO, nor anything
from ``callcenter.ami`` or the daemon, nor the PBX modules that use these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.simulator.channels import Channel
from callcenter.simulator.model import QueueSpec


@dataclass(slots=True)
class Member:
    queue: str
    name: str
    interface: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    calls: int = 0
    last_call: int = 0
    last_pause: int = 0
    login: int = 0
    status: int = 1  # the device state app_queue last heard of (1 NOT_INUSE, 2 INUSE)
    in_call: bool = False  # connected to a caller (app_queue's starttime): InCall


@dataclass(slots=True)
class Leg:
    """The queue's call to one member's phone."""

    member: Member
    outgoing: Channel  # the DestChannel of AgentCalled/AgentConnect
    phone: Channel | None  # the ;2 half of a Local member (None for a plain device)
    started: float
    pos: int  # the member's place in the queue's member list when rung (round-robin)
    timers: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Caller:
    one: Channel  # the caller's phone (;1)
    two: Channel  # runs the dialplan, the queue caller (;2)
    variables: dict[str, str]
    action_id: str = ""
    entry: Entry | None = None
    talking: Talk | None = None
    gone: bool = False
    patience_s: float | None = None  # hangs up after waiting this long in a queue
    hangup_after_connect_s: float | None = None  # hangs up this long into the conversation


@dataclass(slots=True)
class Entry:
    caller: Caller
    queue: QueueSpec
    joined: float
    opos: int
    expire: float | None
    legs: dict[str, Leg] = field(default_factory=dict)
    retry_at: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)  # round-robin ranks of the current try


@dataclass(slots=True)
class Talk:
    caller: Caller
    queue: QueueSpec
    leg: Leg
    hold: int
    connected: float
    opos: int
    bridge: str
    consult: tuple[Channel, Channel] | None = None  # an attended transfer's call to its target
    consult_bridge: str = ""  # the bridge of the agent with that target
    counted: bool = False  # app_queue updated the member's figures for it (update_queue)
