"""app_queue's members on the simulated PBX: their status, their events and the Queue:* device states.

Rules (apps/app_queue.c of Asterisk 22; the lab traces):

1. A member's Status follows its device state (device_state_cb): each published state of the
   device (``Local/agent1@agents`` for ``Local/agent1@agents/n``) updates the member in every
   queue it belongs to; QueueMemberStatus only when the status changed.
2. After that, in each such queue, ``Queue:<queue>_avail`` is NOT_INUSE if some member is
   available (not paused, device not in use, not in wrap-up: is_member_available), else INUSE.
3. A login (add_to_queue) publishes ``Queue:<queue>_pause_<interface>`` (INUSE when paused),
   QueueMemberAdded with the device's current state, and ``_avail`` NOT_INUSE if the new member
   is available. A (un)pause (set_queue_member_pause) publishes the pause device, then
   ``_avail`` (NOT_INUSE if the member is available, INUSE if nobody is), then QueueMemberPause.
   A logout publishes only QueueMemberRemoved.
4. ``Queue:<queue>`` is RINGING from the first caller's join to the last one's leave.

Functions over a :class:`~callcenter.simulator.pbx.Pbx`. Must not import asyncio or anything that
does IO, nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator.calls import Member
from callcenter.simulator.devicestate import INUSE, NOT_INUSE, RINGING, STATUS
from callcenter.simulator.model import QueueSpec
from callcenter.simulator.switch import AGENT
from callcenter.simulator.wire import Headers

if TYPE_CHECKING:
    from callcenter.simulator.pbx import Pbx


def state_device(interface: str) -> str:
    """The device whose state a member follows: a Local interface without its ``/n`` options."""
    if interface[:6].lower() == "local/":
        head, _, _ = interface[6:].partition("/")
        return f"Local/{head}"
    return interface


def block(m: Member) -> Headers:
    """A member as app_queue's member events show it."""
    return (
        ("Queue", m.queue), ("MemberName", m.name), ("Interface", m.interface),
        ("StateInterface", m.interface), ("Membership", "dynamic"), ("Penalty", str(m.penalty)),
        ("CallsTaken", str(m.calls)), ("LastCall", str(m.last_call)), ("LastPause", str(m.last_pause)),
        ("LoginTime", str(m.login)), ("InCall", "1" if m.in_call else "0"), ("Status", str(m.status)),
        ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason), ("Ringinuse", "0"),
        ("Wrapuptime", "0"),
    )  # fmt: skip


def event(pbx: Pbx, name: str, m: Member) -> None:
    pbx.emit(name, AGENT, block(m))


def is_available(pbx: Pbx, queue: QueueSpec, m: Member) -> bool:
    """is_member_available(): free device, not paused, and wrap-up overrides the device state."""
    if m.paused or m.status != STATUS[NOT_INUSE]:
        return False
    return not (m.last_call and queue.wrapup_s and int(pbx.now) - queue.wrapup_s < m.last_call)


def _avail(pbx: Pbx, queue: QueueSpec) -> bool:
    return any(is_available(pbx, queue, m) for m in pbx.members[queue.name].values())


def device_state(pbx: Pbx, device: str, state: str) -> None:
    """device_state_cb: rules 1 and 2."""
    interface = pbx.member_devices.get(device)
    if interface is None:
        return
    status = STATUS.get(state, 0)
    for queue in pbx.queues.values():
        m = pbx.members[queue.name].get(interface)
        if m is None:
            continue
        if m.status != status:
            m.status = status
            event(pbx, "QueueMemberStatus", m)
        pbx.publish_device(f"Queue:{queue.name}_avail", NOT_INUSE if _avail(pbx, queue) else INUSE)


def added(pbx: Pbx, m: Member) -> None:
    queue = pbx.queues[m.queue]
    device = state_device(m.interface)
    pbx.member_devices[device] = m.interface
    m.status = STATUS[pbx.devices.known(device)]
    pbx.members[m.queue][m.interface] = m
    pbx.publish_device(f"Queue:{m.queue}_pause_{m.interface}", INUSE if m.paused else NOT_INUSE)
    event(pbx, "QueueMemberAdded", m)
    if is_available(pbx, queue, m):
        pbx.publish_device(f"Queue:{m.queue}_avail", NOT_INUSE)


def paused(pbx: Pbx, m: Member) -> None:
    queue = pbx.queues[m.queue]
    pbx.publish_device(f"Queue:{m.queue}_pause_{m.interface}", INUSE if m.paused else NOT_INUSE)
    if is_available(pbx, queue, m):
        pbx.publish_device(f"Queue:{m.queue}_avail", NOT_INUSE)
    elif not _avail(pbx, queue):
        pbx.publish_device(f"Queue:{m.queue}_avail", INUSE)
    event(pbx, "QueueMemberPause", m)


def removed(pbx: Pbx, m: Member) -> None:
    if not pbx.memberships(m.interface):
        pbx.member_devices.pop(state_device(m.interface), None)
    event(pbx, "QueueMemberRemoved", m)


def joined(pbx: Pbx, queue: str) -> None:
    """Rule 4: the first caller in."""
    if len(pbx.waiting[queue]) == 1:
        pbx.publish_device(f"Queue:{queue}", RINGING)


def left(pbx: Pbx, queue: str) -> None:
    """Rule 4: the last caller out."""
    if not pbx.waiting[queue]:
        pbx.publish_device(f"Queue:{queue}", NOT_INUSE)
