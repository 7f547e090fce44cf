"""Per-queue and per-agent figures over finished stints, as ``callcenter replay`` reports them.

Definitions follow Asterisk's own queue_log so the numbers can be checked against it
(docs/operations.md lists each field): ``offered`` counts every attempt to enter, refused joins
included;
``abandoned`` is a caller hanging up while waiting (timeouts and leave-empty are *lost*, not
abandoned, unlike app_queue's own counter); ``short_abandoned`` waited less than the threshold;
``answered_within_sl`` waited at most the queue's service level; ``asa_s`` is the mean wait of
answered stints, ``max_wait_s`` the longest wait of any stint that waited, ``avg_talk_s`` the
mean talk time of answered stints whose end was seen. Waits and talk are Asterisk's own
whole seconds (HoldTime/TalkTime) when it reports them, so thresholds fall where its do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from callcenter.queues.model import LOST_OUTCOMES, Agent, Outcome, StintRecord

DEFAULT_SERVICELEVEL_S = 20


@dataclass(slots=True)
class QueueFigures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    unknown: int = 0
    lost: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in LOST_OUTCOMES})
    answered_within_sl: int = 0
    servicelevel_s: int = DEFAULT_SERVICELEVEL_S
    waits_answered: list[float] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    talks: list[float] = field(default_factory=list)

    def add(self, r: StintRecord) -> None:
        self.offered += 1
        if r.wait_s is not None and r.outcome not in (Outcome.JOINEMPTY, Outcome.FULL, Outcome.JOINUNAVAIL):
            self.waits.append(r.wait_s)
        if r.outcome is Outcome.ANSWERED:
            self.answered += 1
            if r.wait_s is not None:
                self.waits_answered.append(r.wait_s)
                if r.wait_s <= self.servicelevel_s:
                    self.answered_within_sl += 1
            if r.talk_s is not None:
                self.talks.append(r.talk_s)
        elif r.outcome is Outcome.ABANDONED:
            self.abandoned += 1
            self.short_abandoned += r.short_abandon
        elif r.outcome is Outcome.UNKNOWN:
            self.unknown += 1
        else:
            self.lost[r.outcome.value] += 1

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    @property
    def service_level_pct(self) -> float | None:
        """Answered within the service level, in percent of the answered; None before the first answer."""
        return round(100.0 * self.answered_within_sl / self.answered, 1) if self.answered else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "lost": dict(self.lost),
            "unknown": self.unknown,
            "servicelevel_s": self.servicelevel_s,
            "answered_within_sl": self.answered_within_sl,
            "asa_s": _mean(self.waits_answered),
            "max_wait_s": round(max(self.waits), 3) if self.waits else 0.0,
            "avg_talk_s": _mean(self.talks),
        }


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 3) if values else 0.0


def empty_figures(queue: str, servicelevel_for: Callable[[str], int | None]) -> QueueFigures:
    """A queue's figures before its first finished stint, at its service level."""
    return QueueFigures(servicelevel_s=servicelevel_for(queue) or DEFAULT_SERVICELEVEL_S)


def queue_figures(
    records: Iterable[StintRecord], servicelevel_for: Callable[[str], int | None]
) -> dict[str, QueueFigures]:
    figures: dict[str, QueueFigures] = {}
    for r in records:
        f = figures.get(r.queue)
        if f is None:
            f = figures[r.queue] = empty_figures(r.queue, servicelevel_for)
        f.add(r)
    return figures


def agent_figures(agents: Iterable[Agent]) -> dict[str, dict[str, Any]]:
    """Per member name (an agent may sit behind several interfaces over time)."""
    out: dict[str, dict[str, Any]] = {}
    for a in agents:
        row = out.setdefault(a.name, {"answered": 0, "talk_s": 0.0, "ring_no_answer": 0})
        row["answered"] += a.answered
        row["talk_s"] = round(row["talk_s"] + a.talk_s, 3)
        row["ring_no_answer"] += a.ring_no_answer
    return out


def call_row(r: StintRecord) -> dict[str, Any]:
    return {
        "id": r.call_id,
        "caller": r.caller_num,
        "queue": r.queue,
        "outcome": r.outcome.value,
        "wait_s": r.wait_s,
        "talk_s": r.talk_s,
        "agent": r.agent,
        "linked_id": r.linked_id,
        "caller_name": r.caller_name,
        "short_abandon": r.short_abandon,
        "ended_by": r.ended_by,
        "transfer_target": r.transfer_target,
        "ring_no_answer": r.ring_no_answer,
        "join_seen": r.join_seen,
        "end_seen": r.end_seen,
    }
