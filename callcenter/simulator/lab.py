"""Rehearse a recorded lab scenario on the simulator: the lab driver's actions at their times.

A scenario's ``expected.json`` (tests/traces) lists the driver's set-up actions
(``timeline``: Setvar, QueueAdd, QueuePause, ...) and each call's parameters: when it was
originated, its talk time, patience, Queue() timeout, escalation and survey score. The lab
driver hung a caller up ``patience_s`` after its QueueCallerJoin unless an agent answered, or
``caller_hangup_after_connect_s`` after AgentConnect. ``rehearse`` does the same against a
:class:`~callcenter.simulator.pbx.Pbx` with the lab's manager.conf ``channelvars`` (every
snapshot's ChanVariable), in virtual time, and returns everything it emitted.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from callcenter.simulator.pbx import Pbx
from callcenter.simulator.wire import AmiEvent

# The lab driver's transfers; for Atxfer it hung the agent's channel up 2.5 s later.
TRANSFER_ACTIONS = {"blind": "BlindTransfer", "redirect": "Redirect", "atxfer": "Atxfer"}
ATXFER_HANGUP_S = 2.5
# The driver saw an event about 1 ms after Asterisk sent it, and a Hangup it sent took effect
# about 2.5 ms later (medians over n_mixed_load and o_reconnect: driver's action time against
# QueueCallerAbandon). Races of a few ms (an abandon against an agent's hang-up) need both.
DRIVER_LAG_S = 0.0035
# The lab's manager.conf: every channel snapshot carries these variables (ChanVariable).
LAB_CHANNELVARS = ("LABCALL", "TALK")


@dataclass(slots=True)
class Rehearsal:
    events: list[AmiEvent] = field(default_factory=list)
    queue_log: list[str] = field(default_factory=list)


def _ring_counter(late: Mapping[str, Collection[int]]) -> Callable[[str], bool]:
    rung: dict[str, int] = {}

    def lags(interface: str) -> bool:
        device = interface.removesuffix("/n")
        rung[device] = rung.get(device, 0) + 1
        return rung[device] in late.get(device, ())

    return lags


def late_device_states(events: Iterable[tuple[str, Mapping[str, str]]]) -> dict[str, set[int]]:
    """The rings of Local members whose device state stayed NOT_INUSE while they rang: the
    DeviceStateChange that follows the ``;1`` channel's Ringing says NOT_INUSE, not INUSE."""
    late: dict[str, set[int]] = {}
    rung: dict[str, int] = {}
    ringing: set[str] = set()  # devices rung, until their next DeviceStateChange
    for name, h in events:
        if name == "Newstate" and h.get("ChannelStateDesc") == "Ringing":
            channel = h.get("Channel", "")
            if channel.startswith("Local/") and channel.endswith(";1"):
                device = channel.rsplit("-", 1)[0]
                rung[device] = rung.get(device, 0) + 1
                ringing.add(device)
        elif name == "DeviceStateChange" and (device := h.get("Device", "")) in ringing:
            ringing.discard(device)
            if h.get("State") != "INUSE":
                late.setdefault(device, set()).add(rung[device])
    return late


def _variables(call: dict[str, Any]) -> str:
    pairs = [("__LABCALL", str(call["call"])), ("__TALK", str(call.get("talk_s", "")))]
    if call.get("queue_timeout_s") is not None:
        pairs.append(("QUEUE_TIMEOUT", str(call["queue_timeout_s"])))
    if call.get("escalate_to_l2"):
        pairs.append(("ESCALATE", "1"))
    if call.get("queue_timeout_l2_s") is not None:
        pairs.append(("QUEUE_TIMEOUT_L2", str(call["queue_timeout_l2_s"])))
    if call.get("csat_score") is not None:
        pairs.append(("CSAT", str(call["csat_score"])))
    if call.get("ivr_choice") is not None:
        pairs.append(("IVR_CHOICE", str(call["ivr_choice"])))
    return ",".join(f"{k}={v}" for k, v in pairs)


def rehearse(
    expected: dict[str, Any],
    pbx: Pbx | None = None,
    *,
    tail_s: float = 5.0,
    late_rings: Mapping[str, Collection[int]] | None = None,
) -> Rehearsal:
    """``late_rings``: for each member device (``Local/agent2@agents``), which of its rings
    (1 = its first) reached app_queue's device state late (see ``Pbx.device_lags``); read off
    the recording with :func:`late_device_states`: a thread race inside Asterisk, not a choice."""
    t0 = float(expected["t0_epoch"])
    pbx = pbx or Pbx(boot=t0, channelvars=LAB_CHANNELVARS)
    if late_rings:
        pbx.device_lags = _ring_counter(late_rings)
    out = Rehearsal()
    timers: list[tuple[float, int, Callable[[], None]]] = []
    seq = itertools.count()
    calls = {c["caller_num"]: c for c in expected.get("calls", [])}
    answered: set[str] = set()

    def at(t: float, fn: Callable[[], None]) -> None:
        heapq.heappush(timers, (t, next(seq), fn))

    def act(name: str, fields: dict[str, str]) -> None:
        pbx.action(name, fields, f"lab-{next(seq)}", pbx.now)

    def hang_up(linked_id: str, call_id: str) -> None:
        if call_id in answered and linked_id not in pbx.live:
            return
        chan = pbx.live.get(linked_id)
        if chan is not None:
            act("Hangup", {"Channel": chan.name, "Cause": "16"})

    def give_up(linked_id: str, call_id: str) -> None:
        if call_id not in answered:
            hang_up(linked_id, call_id)

    for item in expected.get("timeline", []):
        fields = {k: v for k, v in item["fields"]}
        at(t0 + item["t"], partial(act, item["action"], fields))
    for call in calls.values():
        originate = call["observed"]["driver"].get("originate_t") or call["scheduled_at_s"]
        fields = {
            "Channel": "Local/600@support/n",
            "Application": "Wait",
            "Data": "600",
            "Async": "true",
            "CallerID": f'"{call["caller_name"]}" <{call["caller_num"]}>',
            "Variable": _variables(call),
        }
        at(t0 + originate, partial(act, "Originate", fields))

    def observe(events: list[AmiEvent]) -> None:
        for e in events:
            if e.name not in ("QueueCallerJoin", "AgentConnect"):
                continue
            h = dict(e.headers)
            call = calls.get(h.get("CallerIDNum", ""))
            if call is None:
                continue
            uid, linked = h["Uniqueid"], h["Linkedid"]
            if e.name == "QueueCallerJoin" and call.get("patience_s") is not None:
                at(e.at + call["patience_s"] + DRIVER_LAG_S, partial(give_up, linked, uid))
            elif e.name == "AgentConnect":
                answered.add(uid)
                after = call.get("caller_hangup_after_connect_s")
                if after is not None:
                    at(e.at + after + DRIVER_LAG_S, partial(hang_up, linked, ""))
                transfer = call.get("transfer")
                if transfer and transfer[0] in TRANSFER_ACTIONS:
                    kind, delay, exten = transfer
                    channel = h["Channel"] if kind == "redirect" else h["DestChannel"]
                    fields = {"Channel": channel, "Context": "transfer", "Exten": str(exten), "Priority": "1"}
                    at(e.at + float(delay), partial(act, TRANSFER_ACTIONS[kind], fields))
                    if kind == "atxfer":  # the agent hangs up to complete it
                        hangup = {"Channel": channel, "Cause": "16"}
                        at(e.at + float(delay) + ATXFER_HANGUP_S, partial(act, "Hangup", hangup))

    end = t0 + float(expected.get("scenario_end_t_s") or 0) + tail_s
    while True:
        due = [t for t in (timers[0][0] if timers else None, pbx.next_due()) if t is not None]
        if not due or min(due) > end:
            break
        now = min(due)
        events = pbx.advance(now)
        out.events += events
        observe(events)
        while timers and timers[0][0] <= now:
            _, _, fn = heapq.heappop(timers)
            fn()
            events = pbx.advance(now)
            out.events += events
            observe(events)
        out.queue_log += pbx.take_queue_log()
    out.queue_log += pbx.take_queue_log()
    return out
