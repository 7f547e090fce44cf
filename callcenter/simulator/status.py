"""Read-only views of the simulated PBX, as its status actions show them.

Owns, for a :class:`~callcenter.simulator.pbx.Pbx`, the list items of QueueStatus (QueueParams,
QueueMember, QueueEntry), QueueSummary and the channel rows of CoreShowChannels / Status, spelled
as Asterisk 22 spells them. Changes nothing. Must not import asyncio or anything that does IO,
nor anything from ``callcenter.ami`` or the daemon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator import members
from callcenter.simulator.switch import AGENT
from callcenter.simulator.wire import AmiEvent, Headers

if TYPE_CHECKING:
    from callcenter.simulator.pbx import Pbx


def status_items(pbx: Pbx, queue: str, member: str) -> list[AmiEvent]:
    """QueueStatus: each queue's parameters, its members and its waiting callers."""
    items = []
    for spec in pbx.queues.values():
        if queue and spec.name != queue:
            continue
        stats = pbx.stats[spec.name]
        done, dropped = stats["completed"], stats["abandoned"]
        perf = 100.0 * stats["insl"] / done if done else 0.0
        items.append(AmiEvent(pbx.now, "QueueParams", AGENT, (
            ("Queue", spec.name), ("Max", str(spec.maxlen)), ("Strategy", spec.strategy),
            ("Calls", str(len(pbx.waiting[spec.name]))), ("Holdtime", str(int(stats["holdtime"]))),
            ("TalkTime", str(int(stats["talktime"]))),
            ("Completed", str(int(done))), ("Abandoned", str(int(dropped))),
            ("ServiceLevel", str(spec.servicelevel_s)), ("ServicelevelPerf", f"{perf:.1f}"),
            ("ServicelevelPerf2", f"{perf:.1f}"), ("Weight", "0"),
        )))  # fmt: skip
        for m in pbx.members[spec.name].values():
            if member and m.interface != member and m.name != member:
                continue
            block = dict(members.block(m))
            del block["Ringinuse"]
            # The snapshot spells MemberName "Name" and Interface "Location".
            listed = (("Queue", m.queue), ("Name", m.name), ("Location", m.interface))
            rest = tuple((k, v) for k, v in block.items() if k not in ("Queue", "MemberName", "Interface"))
            items.append(AmiEvent(pbx.now, "QueueMember", AGENT, listed + rest))
        if member:
            continue
        for position, entry in enumerate(pbx.waiting[spec.name], 1):
            two = entry.caller.two
            row = (
                ("Queue", spec.name), ("Position", str(position)), ("Channel", two.name),
                ("Uniqueid", two.uid), ("CallerIDNum", two.cid_num), ("CallerIDName", two.cid_name),
                ("ConnectedLineNum", two.conn_num), ("ConnectedLineName", two.conn_name),
                ("Wait", str(int(pbx.now - entry.joined))), ("Priority", "0"),
            )  # fmt: skip
            items.append(AmiEvent(pbx.now, "QueueEntry", AGENT, row))
    return items


def summary_items(pbx: Pbx, queue: str) -> list[AmiEvent]:
    """QueueSummary: one line per queue."""
    items = []
    for spec in pbx.queues.values():
        if queue and spec.name != queue:
            continue
        members = pbx.members[spec.name].values()
        waits = [pbx.now - e.joined for e in pbx.waiting[spec.name]]
        available = sum(1 for m in members if not m.paused and pbx.is_free(m.interface))
        items.append(AmiEvent(pbx.now, "QueueSummary", AGENT, (
            ("Queue", spec.name), ("LoggedIn", str(len(members))), ("Available", str(available)),
            ("Callers", str(len(waits))), ("HoldTime", "0"), ("TalkTime", "0"),
            ("LongestHoldTime", str(int(max(waits, default=0)))),
        )))  # fmt: skip
    return items


def channel_rows(pbx: Pbx) -> list[Headers]:
    """CoreShowChannels / Status: one row per live channel."""
    rows = []
    for chan in pbx.live.values():
        app, data = chan.application or "Wait", chan.app_data
        extra = (("Application", app), ("ApplicationData", data), ("Duration", "00:00:00"),
                 ("BridgeId", chan.bridge))  # fmt: skip
        rows.append((*chan.snapshot(), *extra))
    return rows
