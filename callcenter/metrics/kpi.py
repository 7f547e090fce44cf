"""The analysts' KPIs: pure functions over finished stints, every formula named where it is computed.

Notation (docs/kpis.md has the long form): O offered, A answered, Ab abandoned (the caller hung
up while waiting), T the service-level threshold, w a stint's wait. A stint counts in the interval
it *arrived* in (its join time; an adopted stint whose join was not seen, its end), in the site's
time zone: a call that starts at 23:59 and ends after midnight belongs to the day it started.

Service level comes in the four variants of the industry (the default is configurable; every
report and export prints the variant and its formula next to the number):

- ``answered``                A≤T / A                 Asterisk's ServicelevelPerf
- ``abandons_positive``       (A≤T + Ab≤T) / (A + Ab)  Asterisk's ServicelevelPerf2
- ``abandons_negative``       A≤T / (A + Ab)
- ``short_abandons_ignored``  A≤T / (A + Ab>T)        abandons within T are left out

"within T" is w ≤ T, as app_queue counts it (a wait equal to the threshold is within).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.metrics.hours import BusinessHours
from callcenter.queues.model import LOST_OUTCOMES, Outcome, StintRecord

REFUSED = frozenset({Outcome.JOINEMPTY, Outcome.FULL, Outcome.JOINUNAVAIL})  # never waited


class SlVariant(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONS_POSITIVE = "abandons_positive"
    ABANDONS_NEGATIVE = "abandons_negative"
    SHORT_ABANDONS_IGNORED = "short_abandons_ignored"


SL_FORMULAS = {
    SlVariant.ANSWERED: "answered within T / answered",
    SlVariant.ABANDONS_POSITIVE: "(answered within T + abandoned within T) / (answered + abandoned)",
    SlVariant.ABANDONS_NEGATIVE: "answered within T / (answered + abandoned)",
    SlVariant.SHORT_ABANDONS_IGNORED: "answered within T / (answered + abandoned after T)",
}
DEFAULT_VARIANT = SlVariant.SHORT_ABANDONS_IGNORED


@dataclass(frozen=True, slots=True)
class KpiRules:
    servicelevel_s: float = 20.0
    variant: SlVariant = DEFAULT_VARIANT
    repeat_window_s: float = (
        7 * 86400.0
    )  # FCR: a call is resolved if its caller does not call again within this
    timezone: str = "UTC"
    # only stints that arrived in these hours count, in every figure (None: all day, every day)
    business_hours: BusinessHours | None = None


@dataclass(slots=True)
class Kpis:
    """The KPIs of one group of stints (a queue, an agent, an interval, or all)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    unknown: int = 0
    lost: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in LOST_OUTCOMES})
    answered_within: int = 0
    abandoned_within: int = 0
    wait_sum_answered: float = 0.0
    waits_answered: int = 0
    wait_sum: float = 0.0
    waits: int = 0
    max_wait_s: float = 0.0
    talk_sum: float = 0.0
    talks: int = 0
    wrapup_sum: float = 0.0  # over the same answered stints as talk_sum (an unknown wrap-up adds 0)

    def add(self, r: StintRecord, threshold: float) -> None:
        self.offered += 1
        if r.wait_s is not None and r.outcome not in REFUSED:  # an unknown end may have a known wait
            self.wait_sum += r.wait_s
            self.waits += 1
            self.max_wait_s = max(self.max_wait_s, r.wait_s)
        if r.outcome is Outcome.ANSWERED:
            self.answered += 1
            if r.wait_s is not None:
                self.wait_sum_answered += r.wait_s
                self.waits_answered += 1
                self.answered_within += r.wait_s <= threshold
            if r.talk_s is not None:
                self.talk_sum += r.talk_s
                self.talks += 1
                self.wrapup_sum += r.wrapup_s or 0.0
        elif r.outcome is Outcome.ABANDONED:
            self.abandoned += 1
            self.short_abandoned += r.short_abandon
            self.abandoned_within += r.wait_s is not None and r.wait_s <= threshold
        elif r.outcome is Outcome.UNKNOWN:
            self.unknown += 1
        else:
            self.lost[r.outcome.value] += 1

    # -- the named formulas ----------------------------------------------------------------------

    def service_level(self, variant: SlVariant) -> float | None:
        """In percent; None when the formula's denominator is 0 (no call of that kind)."""
        a, ab = self.answered, self.abandoned
        if variant is SlVariant.ANSWERED:
            return _pct(self.answered_within, a)
        if variant is SlVariant.ABANDONS_POSITIVE:
            return _pct(self.answered_within + self.abandoned_within, a + ab)
        if variant is SlVariant.ABANDONS_NEGATIVE:
            return _pct(self.answered_within, a + ab)
        return _pct(self.answered_within, a + ab - self.abandoned_within)

    def as_dict(self, rules: KpiRules) -> dict[str, Any]:
        lost_total = sum(self.lost.values())
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "lost": lost_total,
            "lost_by_cause": dict(self.lost),
            "unknown": self.unknown,
            "answer_rate_pct": _pct(self.answered, self.offered),  # A / O
            "abandon_rate_pct": _pct(self.abandoned, self.offered),  # Ab / O
            # Ab / (O − short abandons): the short ones are callers who changed their mind
            "abandon_rate_without_short_pct": _pct(
                self.abandoned - self.short_abandoned, self.offered - self.short_abandoned
            ),
            "service_level_pct": self.service_level(rules.variant),
            "service_level_variant": rules.variant.value,
            "service_level_formula": SL_FORMULAS[rules.variant],
            "service_level_threshold_s": rules.servicelevel_s,
            "asa_s": _mean(self.wait_sum_answered, self.waits_answered),  # Σ w(answered) / A
            "avg_wait_s": _mean(self.wait_sum, self.waits),  # Σ w / (stints that waited)
            "max_wait_s": round(self.max_wait_s, 3),
            "avg_talk_s": _mean(self.talk_sum, self.talks),  # Σ talk / A (talk seen)
            # average handle time: Σ (talk + wrap-up) / A (talk seen); wrap-up is the after-call
            # time the queue gave the agent (wrapuptime), 0 where unknown (filled in from queue_log)
            "aht_s": _mean(self.talk_sum + self.wrapup_sum, self.talks),
        }


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole > 0 else None


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 3) if n else None


def arrived_at(r: StintRecord) -> float:
    return r.joined_at if r.joined_at is not None else r.ended_at


def in_hours(records: Iterable[StintRecord], rules: KpiRules) -> list[StintRecord]:
    """The stints that arrived in the rules' business hours (all of them when none are set)."""
    hours = rules.business_hours
    if hours is None:
        return list(records)
    tz = ZoneInfo(rules.timezone)
    return [r for r in records if hours.open_at(arrived_at(r), tz)]


def kpis(records: Iterable[StintRecord], rules: KpiRules = KpiRules()) -> Kpis:
    out = Kpis()
    for r in in_hours(records, rules):
        out.add(r, rules.servicelevel_s)
    return out


# -- grouping ------------------------------------------------------------------------------------

INTERVALS = ("15min", "30min", "hour", "day", "week", "month")


def interval_start(at: float, interval: str, tz: ZoneInfo) -> datetime:
    """The local start of the interval holding ``at``. Days, weeks (from Monday) and months are
    calendar ones in the site's zone, so a DST day has 23 or 25 hours; 15/30 min and hours are
    wall-clock slots."""
    local = datetime.fromtimestamp(at, tz)
    if interval in ("15min", "30min"):
        step = 15 if interval == "15min" else 30
        return local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())  # wall-clock arithmetic: still midnight
    if interval == "month":
        return day.replace(day=1)
    raise ValueError(f"interval: expected one of {', '.join(INTERVALS)}, got {interval!r}")


NO_AGENT = "(no agent)"


def group_key(by: str, interval: str, tz: ZoneInfo) -> Callable[[StintRecord], str]:
    if by == "queue":
        return lambda r: r.queue
    if by == "agent":
        return lambda r: r.agent or NO_AGENT
    if by == "interval":
        return lambda r: interval_start(arrived_at(r), interval, tz).isoformat()
    raise ValueError(f"by: expected queue, agent or interval, got {by!r}")


def kpis_by(
    records: Iterable[StintRecord],
    by: Sequence[str],
    rules: KpiRules = KpiRules(),
    interval: str = "day",
    servicelevel_for: Callable[[str], float | None] | None = None,
) -> dict[tuple[str, ...], Kpis]:
    """KPIs per group, e.g. ``by=("queue", "interval")`` with ``interval="hour"``; a queue's own
    service level (``servicelevel_for``) wins over ``rules.servicelevel_s``."""
    tz = ZoneInfo(rules.timezone)
    keys = [group_key(b, interval, tz) for b in by]
    out: dict[tuple[str, ...], Kpis] = {}
    for r in in_hours(records, rules):
        k = tuple(key(r) for key in keys)
        threshold = (servicelevel_for(r.queue) if servicelevel_for else None) or rules.servicelevel_s
        out.setdefault(k, Kpis()).add(r, threshold)
    return dict(sorted(out.items()))


# -- first-contact resolution, from repeat calls -----------------------------------------------------


def fcr(records: Sequence[StintRecord], window_s: float) -> tuple[int, int]:
    """(resolved, answered journeys): an answered journey is resolved on first contact when the
    same number's next call (by arrival) does not come within ``window_s`` of its end (a call
    placed while the first was still going counts as a repeat). Journeys of unknown callers (no
    number) are left out. A stand-in until tickets carry the agent's "solved on the call" flag."""
    journeys: dict[str, list[StintRecord]] = {}
    for r in records:
        journeys.setdefault(r.linked_id, []).append(r)
    by_caller: dict[str, list[tuple[float, float, bool]]] = {}
    for stints in journeys.values():
        caller = stints[0].caller_num
        if not caller:
            continue
        start = min(arrived_at(s) for s in stints)
        end = max(s.ended_at for s in stints)
        by_caller.setdefault(caller, []).append(
            (start, end, any(s.outcome is Outcome.ANSWERED for s in stints))
        )
    resolved = answered = 0
    for calls in by_caller.values():
        calls.sort()
        for i, (_, end, was_answered) in enumerate(calls):
            if not was_answered:
                continue
            answered += 1
            again = i + 1 < len(calls) and calls[i + 1][0] <= end + window_s  # the number's next call
            resolved += not again
    return resolved, answered


def merge(into: Kpis, other: Kpis) -> None:
    """Add one group's sums to another's (days into weeks or months)."""
    for name in ("offered", "answered", "abandoned", "short_abandoned", "unknown", "answered_within",
                 "abandoned_within", "wait_sum_answered", "waits_answered", "wait_sum", "waits", "talk_sum",
                 "talks", "wrapup_sum"):  # fmt: skip
        setattr(into, name, getattr(into, name) + getattr(other, name))
    into.max_wait_s = max(into.max_wait_s, other.max_wait_s)
    for cause, n in other.lost.items():
        into.lost[cause] += n


@dataclass(frozen=True, slots=True)
class Csat:
    """The post-call survey on its 1–5 scale: "top-two-box" is the share of 4s and 5s."""

    responses: int
    top_two_pct: float | None
    mean: float | None
    out_of_scale: int  # answers that were not 1–5 (a mistyped digit): not counted

    def response_rate_pct(self, answered: int) -> float | None:
        return _pct(self.responses, answered)


def csat(scores: Iterable[int]) -> Csat:
    valid, other = [], 0
    for s in scores:
        if 1 <= s <= 5:
            valid.append(s)
        else:
            other += 1
    top = sum(s >= 4 for s in valid)
    mean = round(sum(valid) / len(valid), 2) if valid else None
    return Csat(len(valid), _pct(top, len(valid)), mean, other)


def add_to(groups: dict[Any, Kpis], key: Any, k: Kpis) -> None:
    """Sum ``k`` into the group ``key`` of ``groups`` (a new group starts empty: ``k`` is never
    shared, so it may go into several groupings)."""
    merge(groups.setdefault(key, Kpis()), k)
