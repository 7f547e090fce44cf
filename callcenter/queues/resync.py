"""Matching the tracker against Asterisk's own status snapshot after a reconnect.

While the link was down, calls joined, were answered and ended unseen. The first complete
snapshot after a new link (QueueStatus: queues, members, waiting callers; CoreShowChannels:
channels and their bridges) settles every stint that no live event touched since the link
came back: still waiting, answered meanwhile (the caller's channel shares a bridge with a
queue's outgoing leg), or gone (closed with ``end_seen=False``; its outcome is unknown unless it
was already answered). Callers that joined during the gap are adopted with ``join_seen=False``.
Shape of the snapshot: tests/traces/actions_snapshot.*, o_reconnect.client.*.

Pure; a helper of ``tracker``, which owns the state it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.queues import changes as ch
from callcenter.queues import events as ev
from callcenter.queues.model import Outcome, Phase, Stint

if TYPE_CHECKING:
    from callcenter.queues.tracker import Tracker

# CoreShowChannel of the queue's outgoing leg to a member: "AppQueue" "(Outgoing Line)".
_AGENT_LEG_APP = "AppQueue"


@dataclass(slots=True)
class Snapshot:
    epoch: int
    queues: set[str] = field(default_factory=set)
    members: dict[str, set[str]] = field(default_factory=dict)  # queue -> interfaces listed
    waiting: dict[str, ev.WaitingCallerListed] = field(default_factory=dict)
    channels: dict[str, ev.ChannelListed] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)
    counters: dict[str, tuple[int, int]] = field(default_factory=dict)  # queue -> Completed, Abandoned


def interface_of(device: str, interfaces: list[str]) -> str | None:
    """The member interface of a channel's device (``ami.translate.channel_device``): the same,
    or a Local one with its options (``Local/agent3@agents`` is ``Local/agent3@agents/n``)."""
    for interface in interfaces:
        if interface == device or interface.startswith(device + "/"):
            return interface
    return None


def reconcile(tracker: Tracker, snap: Snapshot, at: float, out: list[ch.Change]) -> None:
    bridges: dict[str, list[ev.ChannelListed]] = {}
    for listed_chan in snap.channels.values():
        if listed_chan.bridge:
            bridges.setdefault(listed_chan.bridge, []).append(listed_chan)
    closed = adopted = 0
    for stint in list(tracker.stints.values()):
        if stint.epoch >= snap.epoch:
            continue  # live events since the new link are current
        stint.epoch = snap.epoch
        listed = snap.waiting.get(stint.call_id)
        if listed is not None and listed.queue == stint.queue and stint.phase is Phase.WAITING:
            stint.position = listed.position
            continue
        chan = snap.channels.get(stint.call_id)
        agent_leg = _agent_leg(chan, bridges)
        if stint.phase is Phase.TALKING:
            if agent_leg is None:
                _close_answered(tracker, stint, at, out)
                closed += 1
                if chan is None:
                    tracker.forget_channel(stint.call_id)
            continue
        if stint.phase is Phase.EXITING:
            tracker.end_unseen(stint, None, at, out)
            closed += 1
        elif agent_leg is not None and chan is not None and chan.application == "Queue":
            _answered_in_gap(tracker, stint, agent_leg, at)
        else:
            tracker.end_unseen(stint, Outcome.UNKNOWN, at, out)
            closed += 1
        if chan is None and stint.call_id not in tracker.stints:
            tracker.forget_channel(stint.call_id)  # not among Asterisk's channels: gone
    adopted += _adopt_waiting(tracker, snap, at, out)
    adopted += _adopt_answered(tracker, snap, bridges, at)
    for agent in tracker.agents.values():
        if agent.on_call is not None and agent.on_call not in tracker.stints:
            agent.on_call = None
        agent.ringing &= set(tracker.stints)
        tracker.agent_changed(agent, at, out)
    out.append(ch.LinkResynced(at, closed, adopted))


def _agent_leg(
    chan: ev.ChannelListed | None, bridges: dict[str, list[ev.ChannelListed]]
) -> ev.ChannelListed | None:
    if chan is None or not chan.bridge:
        return None
    for other in bridges.get(chan.bridge, []):
        if other.uid != chan.uid and other.application == _AGENT_LEG_APP:
            return other
    return None


def _close_answered(tracker: Tracker, stint: Stint, at: float, out: list[ch.Change]) -> None:
    if stint.interface is not None:
        agent = tracker.agents.get(stint.interface)
        if agent is not None and agent.on_call == stint.call_id:
            agent.on_call = None
    tracker.end_unseen(stint, Outcome.ANSWERED, at, out)


def _answered_in_gap(tracker: Tracker, stint: Stint, agent_leg: ev.ChannelListed, at: float) -> None:
    interfaces = list(tracker.members.get(stint.queue, {}))
    interface = interface_of(agent_leg.device, interfaces)
    member = tracker.members.get(stint.queue, {}).get(interface) if interface else None
    stint.phase = Phase.TALKING
    stint.answered_at = at
    stint.interface = interface
    stint.agent = member.name if member is not None else None
    if interface is not None:
        agent = tracker.agent_for(interface, stint.agent or "")
        agent.answered += 1
        agent.on_call = stint.call_id


def _adopt_waiting(tracker: Tracker, snap: Snapshot, at: float, out: list[ch.Change]) -> int:
    adopted = 0
    for call_id, w in snap.waiting.items():
        if call_id in tracker.stints or tracker.ended_since_link(call_id, w.queue):
            continue
        chan = snap.channels.get(call_id)
        linked = chan.linked_id if chan is not None else call_id
        stint = Stint(
            call_id,
            linked,
            w.queue,
            w.caller_num,
            w.caller_name,
            None if w.wait_s is None else at - w.wait_s,
            w.position,
            snap.epoch,
            join_seen=False,
        )
        tracker.stints[call_id] = stint
        tracker.by_linked[linked] = call_id
        tracker.last_queue[call_id] = w.queue
        out.append(ch.CallQueued(at, call_id, w.queue, w.caller_num, w.caller_name, w.position))
        adopted += 1
    return adopted


def _adopt_answered(
    tracker: Tracker, snap: Snapshot, bridges: dict[str, list[ev.ChannelListed]], at: float
) -> int:
    adopted = 0
    for uid, chan in snap.channels.items():
        if chan.application != "Queue" or uid in tracker.stints:
            continue
        agent_leg = _agent_leg(chan, bridges)
        queue = chan.app_data.split(",", 1)[0].strip()
        if agent_leg is None or not queue or tracker.ended_since_link(uid, queue):
            continue
        stint = Stint(
            uid,
            chan.linked_id,
            queue,
            chan.caller_num,
            chan.caller_name,
            None,
            0,
            snap.epoch,
            join_seen=False,
        )
        tracker.stints[uid] = stint
        tracker.last_queue[uid] = queue
        _answered_in_gap(tracker, stint, agent_leg, at)
        adopted += 1
    return adopted
