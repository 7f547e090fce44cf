"""A tiny scripted PBX for the AMI server tests: implements ``callcenter.simulator.wire.Pbx``.

It plays AmiEvents and queue_log lines at their virtual times, records every action, answers
QueueStatus (or any canned list), Originate (Success, then an OriginateResponse carrying the
originator's ActionID half a virtual second later), QueuePause (a QueueMemberPause and a PAUSE
line at once), Setvar (a no-op used as a barrier) and raises ValueError for a malformed Originate.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from callcenter.simulator.wire import ActionReply, AmiEvent

T0 = 1_800_000_000.0

QUEUE_STATUS_ITEMS = (
    AmiEvent(T0, "QueueParams", "agent,all", (("Queue", "support"), ("Max", "6"), ("Calls", "0"))),
    AmiEvent(T0, "QueueMember", "agent,all", (("Queue", "support"), ("Name", "Ana"), ("Status", "1"))),
)


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    fields: dict[str, str]
    action_id: str
    at: float


@dataclass
class ScriptedPbx:
    now: float = T0
    actions: list[Action] = field(default_factory=list)
    lists: dict[str, ActionReply] = field(default_factory=dict)  # canned replies by action name
    restarts: int = 0
    _due: list[tuple[float, int, AmiEvent | str]] = field(default_factory=list)
    _log: list[str] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def play(self, events: Iterable[AmiEvent]) -> None:
        for event in events:
            heapq.heappush(self._due, (event.at, next(self._seq), event))

    def log_at(self, at: float, line: str) -> None:
        heapq.heappush(self._due, (at, next(self._seq), line))

    def restart(self) -> None:
        self.restarts += 1

    # -- the Pbx protocol -----------------------------------------------------------------------

    def next_due(self) -> float | None:
        return self._due[0][0] if self._due else None

    def advance(self, until: float) -> list[AmiEvent]:
        out = []
        while self._due and self._due[0][0] <= until:
            _, _, item = heapq.heappop(self._due)
            if isinstance(item, str):
                self._log.append(item)
            else:
                out.append(item)
        self.now = max(self.now, until)
        return out

    def take_queue_log(self) -> list[str]:
        lines, self._log = self._log, []
        return lines

    def action(self, name: str, fields: Mapping[str, str], action_id: str, at: float) -> ActionReply:
        self.actions.append(Action(name, dict(fields), action_id, at))
        self.now = max(self.now, at)
        if name in self.lists:
            return self.lists[name]
        if name == "QueueStatus":
            return ActionReply(
                (("Response", "Success"), ("Message", "Queue status will follow")),
                QUEUE_STATUS_ITEMS,
                "QueueStatusComplete",
            )
        if name == "Originate":
            channel = fields.get("Channel")
            if not channel:
                raise ValueError("Originate: expected a Channel header, got none")
            headers = (("Response", "Success"), ("Channel", channel), ("Reason", "4"))
            self.play([AmiEvent(at + 0.5, "OriginateResponse", "call,all", headers, action_id)])
            return ActionReply((("Response", "Success"), ("Message", "Originate successfully queued")))
        if name == "QueuePause":
            member = fields.get("Interface", "")
            self.play(
                [AmiEvent(at, "QueueMemberPause", "agent,all", (("Interface", member), ("Paused", "1")))]
            )
            self.log_at(at, f"{int(at)}|MANAGER|support|{member}|PAUSE|\n")
            return ActionReply((("Response", "Success"), ("Message", "Interface paused successfully")))
        if name == "Setvar":
            return ActionReply((("Response", "Success"), ("Message", "Variable Set")))
        return ActionReply((("Response", "Error"), ("Message", f"{name} is not simulated")))
