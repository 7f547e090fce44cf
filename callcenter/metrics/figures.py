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

from callcenter.metrics.kpi import Kpis
from callcenter.queues.model import Agent, StintRecord

DEFAULT_SERVICELEVEL_S = 20


@dataclass(slots=True)
class QueueFigures:
    """A queue's running figures at its service level: counts and sums only (metrics.kpi), so
    the daemon's memory does not grow with the calls it has seen."""

    servicelevel_s: int = DEFAULT_SERVICELEVEL_S
    counts: Kpis = field(default_factory=Kpis)

    def add(self, r: StintRecord) -> None:
        self.counts.add(r, self.servicelevel_s)

    @property
    def offered(self) -> int:
        return self.counts.offered

    @property
    def answered(self) -> int:
        return self.counts.answered

    @property
    def abandoned(self) -> int:
        return self.counts.abandoned

    @property
    def short_abandoned(self) -> int:
        return self.counts.short_abandoned

    @property
    def answered_within_sl(self) -> int:
        return self.counts.answered_within

    @property
    def lost_total(self) -> int:
        return sum(self.counts.lost.values())

    @property
    def service_level_pct(self) -> float | None:
        """Answered within the service level, in percent of the answered (Asterisk's
        ServicelevelPerf); None before the first answer."""
        c = self.counts
        return round(100.0 * c.answered_within / c.answered, 1) if c.answered else None

    def as_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "offered": c.offered,
            "answered": c.answered,
            "abandoned": c.abandoned,
            "short_abandoned": c.short_abandoned,
            "lost": dict(c.lost),
            "unknown": c.unknown,
            "servicelevel_s": self.servicelevel_s,
            "answered_within_sl": c.answered_within,
            "asa_s": _mean(c.wait_sum_answered, c.waits_answered),
            "max_wait_s": round(c.max_wait_s, 3),
            "avg_talk_s": _mean(c.talk_sum, c.talks),
        }


def _mean(total: float, n: int) -> float:
    return round(total / n, 3) if n else 0.0


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
