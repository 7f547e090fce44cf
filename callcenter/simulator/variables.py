"""The channel variables app_queue sets, as the VarSet events a real stream is mostly made of.

With the lab's queues.conf (setqueuevar, setinterfacevar, setqueueentryvar = yes) Asterisk 22
writes, on the caller's channel (and the member's outgoing line at answer): QUEUEWAIT,
DIALEDTIME and ANSWEREDTIME placeholders at join; MEMBER*, QE* and the ten QUEUE* statistics at
answer; QUEUE* again when the call or the wait ends (a_answered_agent_hangup,
c_abandon_after_5s): after a hang-up in the queue the timings come before ABANDONED and
QueueCallerAbandon, after a timeout or leave-empty after them (e_queue_timeout, j_leavewhenempty),
after a transfer or Redirect only DIALEDTIME and ANSWEREDTIME 0 (m_transfer). Values follow
app_queue: Holdtime/TalkTime are exponential averages (new = (3·old + sample) / 4), Completed
counts calls that ended, SL perf is completed-in-SL.
Pure; emits through the switch. Must not import asyncio or anything outside the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callcenter.simulator.channels import Channel
from callcenter.simulator.model import QueueSpec

if TYPE_CHECKING:
    from callcenter.simulator.calls import Member
    from callcenter.simulator.pbx import Pbx


def timing_placeholders(pbx: Pbx, chan: Channel) -> None:
    """Queue() clears these on entry (set again when it returns)."""
    for name in (
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "QUEUEWAIT",
        "QUEUEWAIT_MS",
    ):
        pbx.var(chan, name, "")


def queue_statistics(pbx: Pbx, chan: Channel, queue: QueueSpec) -> None:
    """set_queue_variables(): the queue's figures as ten QUEUE* variables."""
    stats = pbx.stats[queue.name]
    done = int(stats["completed"])
    perf = 100.0 * stats["insl"] / done if done else 0.0
    values = (
        ("QUEUENAME", queue.name), ("QUEUEMAX", str(queue.maxlen)), ("QUEUESTRATEGY", queue.strategy),
        ("QUEUECALLS", str(len(pbx.waiting[queue.name]))), ("QUEUEHOLDTIME", str(int(stats["holdtime"]))),
        ("QUEUETALKTIME", str(int(stats["talktime"]))), ("QUEUECOMPLETED", str(done)),
        ("QUEUEABANDONED", str(int(stats["abandoned"]))), ("QUEUESRVLEVEL", str(queue.servicelevel_s)),
        ("QUEUESRVLEVELPERF", f"{perf:.1f}"),
    )  # fmt: skip
    for name, value in values:
        pbx.var(chan, name, value)


def answered(pbx: Pbx, caller_chan: Channel, member_line: Channel, member: Member, queue: QueueSpec,
             hold: int, opos: int) -> None:  # fmt: skip
    """At answer, before the caller leaves the waiting list: who answered and the queue's figures."""
    member_vars = (
        ("MEMBERINTERFACE", member.interface), ("MEMBERNAME", member.name),
        ("MEMBERCALLS", str(member.calls)), ("MEMBERLASTCALL", str(member.last_call)),
        ("MEMBERPENALTY", str(member.penalty)),
        ("MEMBERDYNAMIC", "1"), ("MEMBERREALTIME", "0"),
    )  # fmt: skip
    for chan in (caller_chan, member_line):
        for name, value in member_vars:
            pbx.var(chan, name, value)
    for chan in (caller_chan, member_line):
        pbx.var(chan, "QEHOLDTIME", str(hold))
        pbx.var(chan, "QEORIGINALPOS", str(opos))
    stats = pbx.stats[queue.name]
    average(stats, "holdtime", hold, not (stats["completed"] or stats["abandoned"]))
    for chan in (caller_chan, member_line):
        queue_statistics(pbx, chan, queue)


def left(pbx: Pbx, chan: Channel, position: int, wait_s: float) -> None:
    """After QueueCallerLeave: where the caller was and how long it waited."""
    pbx.var(chan, "QUEUEPOSITION", str(position))
    waited(pbx, chan, wait_s)


def timings(pbx: Pbx, chan: Channel, wait_s: float) -> None:
    """A wait that ended without an answer: Queue()'s wait, dialed and answered times."""
    waited(pbx, chan, wait_s)
    left_bridge(pbx, chan)


def left_bridge(pbx: Pbx, chan: Channel) -> None:
    """Queue() ends without the caller's talk having ended in it (a transfer, a Redirect, or no
    answer): ANSWEREDTIME is 0 (m_transfer)."""
    dialed = pbx.now - chan.created
    pbx.var(chan, "DIALEDTIME", str(int(dialed)))
    pbx.var(chan, "DIALEDTIME_MS", str(int(dialed * 1000)))
    pbx.var(chan, "ANSWEREDTIME", "0")
    pbx.var(chan, "ANSWEREDTIME_MS", "0")


def waited(pbx: Pbx, chan: Channel, wait_s: float) -> None:
    # The lab's QUEUEWAIT_MS was always QUEUEWAIT * 1000 (a_answered_agent_hangup, c_abandon_after_5s).
    pbx.var(chan, "QUEUEWAIT", str(int(wait_s)))
    pbx.var(chan, "QUEUEWAIT_MS", str(int(wait_s) * 1000))


def returned(pbx: Pbx, chan: Channel, queue: QueueSpec, dialed_s: float, answered_s: float | None) -> None:
    """Queue() returns: its timings and, twice as app_queue does, the queue's figures."""
    queue_statistics(pbx, chan, queue)
    answered_text = "" if answered_s is None else str(int(answered_s))
    pbx.var(chan, "ANSWEREDTIME", answered_text)
    pbx.var(chan, "ANSWEREDTIME_MS", "" if answered_s is None else str(int(answered_s * 1000)))
    pbx.var(chan, "DIALEDTIME", str(int(dialed_s)))
    pbx.var(chan, "DIALEDTIME_MS", str(int(dialed_s * 1000)))
    queue_statistics(pbx, chan, queue)


def average(stats: dict[str, float], key: str, sample: float, first: bool) -> None:
    """app_queue's running average: new = (3·old + sample) / 4 in integers; ``first``: take the
    sample as is. For the hold time that is while the queue has neither completed nor abandoned
    a call (recalc_holdtime: i_agent_login_pause's second answer, hold 2, replaced hold 1), for
    the talk time the first completed call (update_queue)."""
    old = int(stats[key])
    stats[key] = int(sample) if first else ((old << 2) - old + int(sample)) >> 2
