"""``metrics.kpi.kpis_by`` over an Arrow table of stints (columns as in the store), for millions.

The same sums as :class:`~callcenter.metrics.kpi.Kpis`, computed by Arrow's vectorised kernels
and ``group_by``, then handed to ``Kpis`` so the formulas stay in one place. Local slots come from
the site zone's UTC offsets over the period (DST-correct), as in ``store.aggregate``. Needs
pyarrow (the analytics extra).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from callcenter.metrics.kpi import NO_AGENT, KpiRules, Kpis, add_to
from callcenter.metrics.window import SLOT_S, label_for, offsets
from callcenter.queues.model import LOST_OUTCOMES

COUNTS = ("answered", "abandoned", "short_abandoned", "unknown", "answered_within", "abandoned_within",
          "waits_answered", "waits", "talks")  # fmt: skip
SUMS = ("wait_sum_answered", "wait_sum", "talk_sum")


def _local_slot(arrived: Any, interval: str, tz: ZoneInfo) -> Any:
    lo, hi = pc.min_max(arrived).values()
    changes = offsets(tz, lo.as_py() - 86400, hi.as_py() + 1)
    shift = pa.scalar(float(changes[-1][1]))
    for (_, before), (at, _) in reversed(list(itertools.pairwise(changes))):
        shift = pc.if_else(pc.less(arrived, at), float(before), shift)
    local = pc.add(arrived, shift)
    return pc.cast(pc.floor(pc.divide(local, float(SLOT_S[interval]))), pa.int64())


KPI_COLUMNS = ("queue", "agent", "outcome", "joined_at", "ended_at", "wait_s", "talk_s", "short_abandon")
FCR_COLUMNS = ("linked_key", "caller_key", "outcome", "joined_at", "ended_at")


def kpis_arrow(
    table: Any,
    by: Sequence[str],
    rules: KpiRules,
    interval: str = "day",
    thresholds: Mapping[str, float] | None = None,
) -> dict[tuple[str, ...], Kpis]:
    if table.num_rows == 0:
        return {}
    tz = ZoneInfo(rules.timezone)
    outcome, wait, talk = table["outcome"], table["wait_s"], table["talk_s"]
    threshold: Any = pa.scalar(float(rules.servicelevel_s))
    for queue, t in (thresholds or {}).items():
        threshold = pc.if_else(pc.equal(table["queue"], queue), float(t), threshold)
    answered, abandoned = pc.equal(outcome, "answered"), pc.equal(outcome, "abandoned")
    has_wait, has_talk = pc.is_valid(wait), pc.is_valid(talk)
    refused = pc.is_in(outcome, value_set=pa.array(["joinempty", "full", "joinunavail"]))
    waited = pc.and_(has_wait, pc.invert(refused))
    within = pc.fill_null(pc.less_equal(wait, threshold), False)
    masks = {
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": pc.and_(abandoned, pc.equal(table["short_abandon"], 1)),
        "unknown": pc.equal(outcome, "unknown"),
        "answered_within": pc.and_(answered, within),
        "abandoned_within": pc.and_(abandoned, within),
        "waits_answered": pc.and_(answered, has_wait),
        "waits": waited,
        "talks": pc.and_(answered, has_talk),
        **{f"lost_{o.value}": pc.equal(outcome, o.value) for o in LOST_OUTCOMES},
    }
    columns: dict[str, Any] = {
        name: pc.cast(mask, pa.int8()) for name, mask in masks.items()
    }  # summed as int64
    columns["wait_sum_answered"] = pc.if_else(masks["waits_answered"], wait, 0.0)
    columns["wait_sum"] = pc.if_else(waited, wait, 0.0)
    columns["talk_sum"] = pc.if_else(masks["talks"], talk, 0.0)
    columns["max_wait"] = pc.if_else(waited, wait, 0.0)
    keys = []
    for i, b in enumerate(by):
        if b == "queue":
            columns[f"g{i}"] = table["queue"]
        elif b == "agent":
            columns[f"g{i}"] = pc.fill_null(table["agent"], NO_AGENT)
        elif b == "interval":
            arrived = pc.coalesce(table["joined_at"], table["ended_at"])
            columns[f"g{i}"] = _local_slot(arrived, interval, tz)
        else:
            raise ValueError(f"by: expected queue, agent or interval, got {b!r}")
        keys.append(f"g{i}")
    work = pa.table(columns)
    aggregations = [(name, "sum") for name in columns if name not in keys and name != "max_wait"]
    aggregations += [("max_wait", "max"), ("answered", "count")]
    grouped = work.group_by(keys).aggregate(aggregations).to_pylist()
    labels = label_for(by, interval, tz)
    out: dict[tuple[str, ...], Kpis] = {}
    for row in grouped:
        key = tuple(label(row[k]) for label, k in zip(labels, keys, strict=True))
        k = Kpis(offered=int(row["answered_count"]), max_wait_s=float(row["max_wait_max"] or 0.0))
        for name in COUNTS:
            setattr(k, name, int(row[f"{name}_sum"]))
        for name in SUMS:
            setattr(k, name, float(row[f"{name}_sum"]))
        k.lost = {o.value: int(row[f"lost_{o.value}_sum"]) for o in LOST_OUTCOMES}
        add_to(out, key, k)  # days of one week or month add up
    return dict(sorted(out.items()))


def abandon_waits_arrow(table: Any, buckets: Sequence[tuple[int, int | None]]) -> list[int]:
    """Abandoned stints per wait bucket [lo, hi), as ``reports.monthly.wait_bucket_counts``."""
    waits = table.filter(pc.equal(table["outcome"], "abandoned"))["wait_s"].drop_null()
    out = []
    for lo, hi in buckets:
        inside = pc.greater_equal(waits, float(lo))
        if hi is not None:
            inside = pc.and_(inside, pc.less(waits, float(hi)))
        out.append(int(pc.sum(pc.cast(inside, pa.int64())).as_py() or 0))
    return out


def journey_part(table: Any) -> Any:
    """A day's stints of known numbers as journeys: (j, c, s, e, a) = journey key, caller key,
    first arrival, last end, answered. The keys are ``store.archive``'s 64-bit ones."""
    known = table.filter(pc.not_equal(table["caller_key"], 0))
    work = pa.table({
        "j": known["linked_key"], "c": known["caller_key"],
        "s": pc.coalesce(known["joined_at"], known["ended_at"]), "e": known["ended_at"],
        "a": pc.cast(pc.equal(known["outcome"], "answered"), pa.int8()),
    })  # fmt: skip
    grouped = work.group_by("j").aggregate([("c", "min"), ("s", "min"), ("e", "max"), ("a", "max")])
    return grouped.rename_columns([_short(n) for n in grouped.column_names])


def _short(name: str) -> str:
    return name.split("_", 1)[0]


def fcr_of_journeys(parts: Sequence[Any], window_s: float) -> tuple[int, int]:
    """``metrics.kpi.fcr`` from ``journey_part``s (a journey cut by midnight is joined again):
    each answered journey is resolved unless the number's next one (by arrival) starts within
    ``window_s`` of its end."""
    table = pa.concat_tables(parts) if parts else None
    if table is None or table.num_rows == 0:
        return 0, 0
    journeys = table.group_by("j").aggregate([("c", "min"), ("s", "min"), ("e", "max"), ("a", "max")])
    journeys = journeys.sort_by([("c_min", "ascending"), ("s_min", "ascending"), ("e_max", "ascending")])
    caller = journeys["c_min"].combine_chunks()
    start, end = journeys["s_min"].combine_chunks(), journeys["e_max"]
    answered = pc.equal(journeys["a_max"], 1)
    # the next journey's number and start, row by row (the last row has none)
    next_caller = pa.concat_arrays([caller.slice(1), pa.nulls(1, caller.type)])
    next_start = pa.concat_arrays([start.slice(1), pa.nulls(1, pa.float64())])
    repeat = pc.fill_null(
        pc.and_(pc.equal(next_caller, caller), pc.less_equal(next_start, pc.add(end, window_s))), False
    )
    resolved = pc.and_(answered, pc.invert(repeat))
    total = pc.sum(pc.cast(answered, pa.int64())).as_py() or 0
    good = pc.sum(pc.cast(resolved, pa.int64())).as_py() or 0
    return int(good), int(total)


def fcr_arrow(table: Any, window_s: float) -> tuple[int, int]:
    """``metrics.kpi.fcr`` of one table of stints (with ``store.archive``'s keys)."""
    return fcr_of_journeys([journey_part(table)], window_s)
