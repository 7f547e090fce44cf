"""``metrics.kpi.kpis_by`` over an Arrow table of stints (columns as in the store), for millions.

The same sums as :class:`~callcenter.metrics.kpi.Kpis`, computed over whole columns: text columns
become integer codes (the day files are read dictionary-encoded), every sum is one numpy
``bincount`` over (group, outcome), and the sums are handed to ``Kpis`` so the formulas stay in one
place. Local slots come from the site zone's UTC offsets over the period (DST-correct), as in
``store.aggregate``. Needs pyarrow and numpy (the analytics extra).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from callcenter.metrics.hours import DAY_MIN, EPOCH_WEEKDAY, WEEK_MIN
from callcenter.metrics.kpi import NO_AGENT, REFUSED, KpiRules, Kpis, add_to
from callcenter.metrics.window import SLOT_S, label_for, offsets
from callcenter.queues.model import LOST_OUTCOMES, Outcome


def _codes(column: Any) -> tuple[Any, list[Any]]:
    """A text column as small integer codes and the values they stand for (null: the last code):
    grouping a month of calls is then integer work. Dictionary-encoded columns (the day files are
    read so) keep their codes."""
    chunked = column if isinstance(column, pa.ChunkedArray) else pa.chunked_array([column])
    if not pa.types.is_dictionary(chunked.type):
        chunked = pc.dictionary_encode(chunked)
    chunked = chunked.unify_dictionaries()
    values: list[Any] = chunked.chunk(0).dictionary.to_pylist() if chunked.num_chunks else []
    parts = [pc.fill_null(c.indices, len(values)).to_numpy(zero_copy_only=False) for c in chunked.chunks]
    codes = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    return codes, [*values, None]


def _floats(column: Any) -> Any:
    """A numeric column as float64, null as NaN (NaN ≤ T is false, as a missing wait is never within)."""
    chunks = [c.cast(pa.float64()).to_numpy(zero_copy_only=False) for c in column.chunks]
    return np.concatenate(chunks) if chunks else np.zeros(0)


def _ints(column: Any) -> Any:
    chunks = [c.to_numpy(zero_copy_only=False) for c in column.chunks]
    return np.concatenate(chunks).astype(np.int64) if chunks else np.zeros(0, np.int64)


def _outcomes(table: Any) -> Any:
    """The stints' outcome codes (indexes in ``OUTCOMES``)."""
    found, texts = _codes(table["outcome"])
    try:
        return np.array([_CODE[t] for t in texts[:-1]] + [_UNKNOWN], np.int64)[found]
    except KeyError as exc:
        raise ValueError(f"a stint with an outcome this release does not know: {exc}") from None


def _among(values: Any, others: Any) -> Any:
    """Which of ``values`` are among ``others`` (Arrow's hash set: no sort of either)."""
    return pc.is_in(pa.array(values), value_set=pa.array(others)).to_numpy(zero_copy_only=False)


def _named(values: list[Any]) -> Callable[[int], str]:
    """A text code's label (a null: ``NO_AGENT``, as ``kpis_by`` names a stint without agent)."""
    return lambda code: NO_AGENT if values[code] is None else str(values[code])


def _shifted(label: Callable[[Any], str], low: int) -> Callable[[int], str]:
    return lambda code: label(code + low)


def _local_slot(arrived: Any, interval: str | int, tz: ZoneInfo) -> Any:
    """Each instant's slot number in local wall time (slots of an interval, or of so many
    seconds): its UTC offset looked up among the zone's changes over the period (DST-correct)."""
    changes = offsets(tz, float(arrived.min()) - 86400, float(arrived.max()) + 1)
    shift: Any = float(changes[0][1])  # most days: one offset all day
    if len(changes) > 1:
        starts = np.array([at for at, _ in changes[1:]])
        shift = np.array([float(offset) for _, offset in changes])[
            np.searchsorted(starts, arrived, side="right")
        ]
    size = SLOT_S[interval] if isinstance(interval, str) else interval
    return np.floor((arrived + shift) / size).astype(np.int64)


def _arrivals(table: Any) -> Any:
    joined = _floats(table["joined_at"])
    return np.where(np.isnan(joined), _floats(table["ended_at"]), joined)


def open_rows(table: Any, rules: KpiRules) -> Any:
    """The stints of a table that arrived in the rules' business hours (all when none are set):
    each arrival's local minute of the week looked up in the week's table of open minutes."""
    hours = rules.business_hours
    if hours is None or table.num_rows == 0:
        return table
    minute = _local_slot(_arrivals(table), 60, ZoneInfo(rules.timezone))
    week = (minute + EPOCH_WEEKDAY * DAY_MIN) % WEEK_MIN
    return table.filter(pa.array(np.array(hours.open_minutes())[week]))


KPI_COLUMNS = ("queue", "agent", "outcome", "joined_at", "ended_at", "wait_s", "talk_s", "wrapup_s",
               "short_abandon")  # fmt: skip
FCR_COLUMNS = ("linked_key", "caller_key", "outcome", "joined_at", "ended_at")
OUTCOMES = tuple(o.value for o in Outcome)  # an outcome's code is its index here
_CODE = {v: i for i, v in enumerate(OUTCOMES)}
_ANSWERED, _ABANDONED, _UNKNOWN = _CODE["answered"], _CODE["abandoned"], _CODE["unknown"]
_WAITED = np.array([o not in REFUSED for o in Outcome])  # outcomes whose wait counts


def kpis_arrow(
    table: Any,
    by: Sequence[str],
    rules: KpiRules,
    interval: str = "day",
    thresholds: Mapping[str, float] | None = None,
) -> dict[tuple[str, ...], Kpis]:
    """Each stint gets a cell (its group) and an outcome code; every sum of ``Kpis`` is then one
    ``bincount`` over (cell, outcome), which numpy does at memory speed. Stints that arrived
    outside the rules' business hours are left out."""
    table = open_rows(table, rules)
    n = table.num_rows
    if n == 0:
        return {}
    tz = ZoneInfo(rules.timezone)
    queue, queues = _codes(table["queue"])
    outcome = _outcomes(table)
    wait, talk = _floats(table["wait_s"]), _floats(table["talk_s"])
    levels = np.array([(thresholds or {}).get(q, rules.servicelevel_s) for q in queues[:-1]] + [0.0])
    within = wait <= levels[queue]
    dims: list[tuple[Any, int, Callable[[int], str]]] = []  # codes, how many, label of a code
    labels = label_for(by, interval, tz)
    for b, label in zip(by, labels, strict=True):
        if b == "queue":
            dims.append((queue, len(queues), _named(queues)))
        elif b == "agent":
            agent, agents = _codes(table["agent"])
            dims.append((agent, len(agents), _named(agents)))
        elif b == "interval":
            slot = _local_slot(_arrivals(table), interval, tz)
            low = int(slot.min())
            dims.append((slot - low, int(slot.max()) - low + 1, _shifted(label, low)))
        else:
            raise ValueError(f"by: expected queue, agent or interval, got {b!r}")
    composite, size = np.zeros(n, np.int64), 1
    for codes, levels_n, _ in dims:
        composite, size = composite * levels_n + codes, size * levels_n
    if size <= 4 * n + 4096:  # dense cells: the composite is the cell
        cell, cells, of_cell = composite, size, None
    else:
        of_cell, cell = np.unique(composite, return_inverse=True)
        cells = len(of_cell)
    width = len(OUTCOMES)
    key = cell * width + outcome

    def by_outcome(weights: Any = None) -> Any:
        return np.bincount(key, weights=weights, minlength=cells * width).reshape(cells, width)

    has_wait, has_talk = ~np.isnan(wait), ~np.isnan(talk)
    count, inside = by_outcome(), by_outcome(within)
    waits, wait_sum = by_outcome(has_wait), by_outcome(np.where(has_wait, wait, 0.0))
    talks, talk_sum = by_outcome(has_talk), by_outcome(np.where(has_talk, talk, 0.0))
    wrapups = _floats(table["wrapup_s"])
    wrapup_sum = by_outcome(np.where(has_talk & ~np.isnan(wrapups), wrapups, 0.0))
    short_ones = (outcome == _ABANDONED) & (_floats(table["short_abandon"]) == 1)
    short = np.bincount(cell[short_ones], minlength=cells)
    waited = has_wait & _WAITED[outcome]
    longest = np.zeros(cells)
    np.maximum.at(longest, cell[waited], wait[waited])
    out: dict[tuple[str, ...], Kpis] = {}
    for c in np.flatnonzero(count.sum(axis=1)).tolist():
        row = count[c]
        k = Kpis(
            offered=int(row.sum()), answered=int(row[_ANSWERED]), abandoned=int(row[_ABANDONED]),
            short_abandoned=int(short[c]), unknown=int(row[_UNKNOWN]),
            lost={o.value: int(row[_CODE[o.value]]) for o in LOST_OUTCOMES},
            answered_within=int(inside[c, _ANSWERED]), abandoned_within=int(inside[c, _ABANDONED]),
            wait_sum_answered=float(wait_sum[c, _ANSWERED]), waits_answered=int(waits[c, _ANSWERED]),
            wait_sum=float(wait_sum[c][_WAITED].sum()), waits=int(waits[c][_WAITED].sum()),
            max_wait_s=float(longest[c]),
            talk_sum=float(talk_sum[c, _ANSWERED]), talks=int(talks[c, _ANSWERED]),
            wrapup_sum=float(wrapup_sum[c, _ANSWERED]),
        )  # fmt: skip
        composite_of = c if of_cell is None else int(of_cell[c])
        parts = []
        for _, levels_n, label in reversed(dims):
            composite_of, code = divmod(composite_of, levels_n)
            parts.append(label(code))
        add_to(out, tuple(reversed(parts)), k)  # slots of one week or month add up
    return dict(sorted(out.items()))


def abandon_waits_arrow(table: Any, buckets: Sequence[tuple[int, int | None]]) -> list[int]:
    """Abandoned stints per wait bucket [lo, hi), as ``reports.monthly.wait_bucket_counts``."""
    waits = _floats(table["wait_s"])[_outcomes(table) == _ABANDONED]
    waits = waits[~np.isnan(waits)]
    return [
        int(np.count_nonzero((waits >= lo) & (waits < (np.inf if hi is None else hi)))) for lo, hi in buckets
    ]


@dataclass(frozen=True, slots=True)
class Journeys:
    """One day's journeys of known numbers (rows by arrival): journey key, caller key, first
    arrival, last end, answered. The keys are ``store.archive``'s 64-bit ones."""

    journey: Any
    caller: Any
    start: Any
    end: Any
    answered: Any

    def take(self, rows: Any) -> Journeys:
        return Journeys(*(column[rows] for column in self.columns()))

    def columns(self) -> tuple[Any, ...]:
        return self.journey, self.caller, self.start, self.end, self.answered


def journey_part(table: Any) -> Journeys:
    """A day's stints grouped into journeys: sorted by journey, each run of one key reduced."""
    caller = _ints(table["caller_key"])
    known = caller != 0
    journey, caller = _ints(table["linked_key"])[known], caller[known]
    joined, ended = _floats(table["joined_at"])[known], _floats(table["ended_at"])[known]
    arrived = np.where(np.isnan(joined), ended, joined)
    answered = (_outcomes(table) == _ANSWERED)[known]
    order = np.argsort(journey)  # runs of one key: their order inside does not matter
    journey, caller, arrived, ended, answered = (
        x[order] for x in (journey, caller, arrived, ended, answered)
    )
    first = (
        np.flatnonzero(np.r_[True, journey[1:] != journey[:-1]]) if len(journey) else np.zeros(0, np.int64)
    )
    if len(first) == 0:
        return Journeys(*(np.zeros(0, t) for t in (np.int64, np.int64, float, float, bool)))
    first = np.flatnonzero(np.r_[True, journey[1:] != journey[:-1]])  # each journey's first row
    part = Journeys(journey[first], np.minimum.reduceat(caller, first), np.minimum.reduceat(arrived, first),
                    np.maximum.reduceat(ended, first), np.maximum.reduceat(answered, first))  # fmt: skip
    return part.take(np.argsort(part.start))  # ties broken later (fcr_of_journeys' repair)


def fcr_of_journeys(parts: Sequence[Journeys], window_s: float) -> tuple[int, int]:
    """``metrics.kpi.fcr`` from the days' ``journey_part``s, in day order: each answered journey is
    resolved unless the number's next one (by arrival) starts within ``window_s`` of its end.

    A journey cut by midnight has a part in each day: the earlier part is folded into the later
    one (a chain of days folds along). The journeys, days in order and each day by arrival, are
    then sorted by caller keeping that order (one stable sort); the few callers whose journeys
    are still out of arrival order (a journey ending after midnight that began before another of
    the same number, or ties) get their rows sorted exactly by (arrival, end).
    """
    merged: list[Journeys] = []
    for part in parts:
        if merged and len(part.journey) and len(merged[-1].journey):
            before = merged[-1]
            again = _among(before.journey, part.journey)
            if again.any():
                later = np.flatnonzero(_among(part.journey, before.journey[again]))
                where = {int(part.journey[i]): int(i) for i in later}
                for row in np.flatnonzero(again).tolist():
                    i = where[int(before.journey[row])]
                    part.caller[i] = min(part.caller[i], before.caller[row])
                    part.start[i] = min(part.start[i], before.start[row])
                    part.end[i] = max(part.end[i], before.end[row])
                    part.answered[i] = part.answered[i] or before.answered[row]
                merged[-1] = before.take(~again)
        merged.append(part)
    if not merged:
        return 0, 0
    columns = zip(*(m.columns() for m in merged), strict=True)
    _, caller, start, end, answered = (np.concatenate(c) for c in columns)
    order = np.argsort(caller, kind="stable")  # one caller's journeys stay in (day, arrival) order
    caller, start, end, answered = caller[order], start[order], end[order], answered[order]
    same = caller[1:] == caller[:-1]
    late = same & ((start[1:] < start[:-1]) | ((start[1:] == start[:-1]) & (end[1:] < end[:-1])))
    if late.any():  # a caller's journeys out of arrival order: those callers' rows sorted exactly
        group = np.cumsum(np.r_[True, ~same])
        marked = np.zeros(int(group[-1]) + 1, bool)
        marked[group[1:][late]] = True
        rows = np.flatnonzero(marked[group])  # each marked caller's rows, together
        exact = rows[np.lexsort((end[rows], start[rows], group[rows]))]
        for column in (start, end, answered):  # the caller key is the same within a caller's rows
            column[rows] = column[exact]
    # the number's next journey (the last row has none) comes within the window: a repeat
    repeat = np.r_[same & (start[1:] <= end[:-1] + window_s), False]
    return int(np.count_nonzero(answered & ~repeat)), int(np.count_nonzero(answered))


def fcr_arrow(table: Any, window_s: float) -> tuple[int, int]:
    """``metrics.kpi.fcr`` of one table of stints (with ``store.archive``'s keys)."""
    return fcr_of_journeys([journey_part(table)], window_s)
