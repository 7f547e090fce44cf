"""KPIs computed inside the database: the sums and counts of :class:`callcenter.metrics.kpi.Kpis`
per group, by one GROUP BY, so millions of stints are never read row by row into Python.

The formulas stay in ``Kpis`` (the same ``as_dict``): the database only adds up. Intervals are in
the site's time zone: SQL gets the UTC offset as a CASE over the zone's transitions in the period
(DST included), adds it to each stint's arrival and cuts the local time into slots of 15, 30 or
60 minutes or days (days may start at any minute); weeks and months are summed from days here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.metrics.hours import DAY_MIN, EPOCH_WEEKDAY, WEEK_MIN, BusinessHours
from callcenter.metrics.kpi import NO_AGENT, Kpis
from callcenter.metrics.window import SLOT_S, offsets
from callcenter.queues.model import LOST_OUTCOMES

ARRIVED = "COALESCE(joined_at, ended_at)"
# A period's filter that SQLite answers by reading the table in order, not through the ended_at
# index: an aggregate keeps most rows it meets, and fetching each through the index was 25x
# slower on a month of stints (bench/kpi.py). ("+" only hides the column from the planner.)
PERIOD = "+ended_at >= ? AND +ended_at < ?"


def offset_sql(changes: Sequence[tuple[float, int]]) -> str:
    if len(changes) == 1:
        return str(changes[0][1])
    cases = " ".join(f"WHEN {ARRIVED} < {at!r} THEN {before}" for (at, _), (_, before) in
                     zip(changes[1:], changes, strict=False))  # fmt: skip
    return f"(CASE {cases} ELSE {changes[-1][1]} END)"


def hours_sql(hours: BusinessHours | None, tz: ZoneInfo, start: float, end: float, *, postgres: bool) -> str:
    """ " AND <the stint arrived in business hours>", or "" when none are set: the local minute of
    the week (Monday 00:00 is 0; the epoch's day 0 was a Thursday) within one of the spans."""
    if hours is None:
        return ""
    local = f"({ARRIVED} + {offset_sql(offsets(tz, start - 86400, end))})"
    minute = f"CAST({f'FLOOR({local} / 60)' if postgres else f'{local} / 60'} AS BIGINT)"
    mod = "%%" if postgres else "%"  # psycopg reads a lone % as a placeholder
    week = f"(({minute} + {EPOCH_WEEKDAY * DAY_MIN}) {mod} {WEEK_MIN})"
    spans = " OR ".join(f"{week} BETWEEN {lo} AND {hi - 1}" for lo, hi in hours.spans)
    return f" AND ({spans or 'FALSE'})"


@dataclass(frozen=True, slots=True)
class Query:
    sql: str
    args: tuple[Any, ...]
    group_columns: int  # leading columns of each row that are the group key


def kpi_query(
    start: float,
    end: float,
    *,
    by: Sequence[str],
    interval: str,
    tz: ZoneInfo,
    thresholds: dict[str, float] | None = None,
    default_threshold: float = 20.0,
    queue: str | None = None,
    agent: str | None = None,
    postgres: bool = False,
    hours: BusinessHours | None = None,
) -> Query:
    """The GROUP BY over stints ended in [start, end) (arrived in ``hours`` if given); ``by`` among
    queue, agent, interval."""
    keys = []
    for b in by:
        if b == "queue":
            keys.append("queue")
        elif b == "agent":
            keys.append(f"COALESCE(agent, '{NO_AGENT}')")
        elif b == "interval":
            # arrivals may precede the period's first end by up to a day
            local = f"({ARRIVED} + {offset_sql(offsets(tz, start - 86400, end))})"
            # floor: SQLite's CAST truncates (arrivals are positive), PostgreSQL's would round
            floor = f"FLOOR({local} / {SLOT_S[interval]})" if postgres else f"{local} / {SLOT_S[interval]}"
            keys.append(f"CAST({floor} AS BIGINT)")
        else:
            raise ValueError(f"by: expected queue, agent or interval, got {b!r}")
    cases = " ".join(
        f"WHEN '{q.replace(chr(39), chr(39) * 2)}' THEN {t!r}" for q, t in (thresholds or {}).items()
    )
    threshold = f"(CASE queue {cases} ELSE {default_threshold!r} END)" if cases else repr(default_threshold)
    refused = "('joinempty', 'full', 'joinunavail')"
    waited = f"wait_s IS NOT NULL AND outcome NOT IN {refused}"
    lost = ", ".join(f"SUM(CASE WHEN outcome = '{o.value}' THEN 1 ELSE 0 END)" for o in LOST_OUTCOMES)
    group = ", ".join(f"g{i}" for i in range(len(keys)))
    selected = "".join(f"{k} AS g{i}, " for i, k in enumerate(keys))
    sql = f"""SELECT {selected}
        COUNT(*),
        SUM(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'abandoned' THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'abandoned' AND short_abandon = 1 THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'unknown' THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'answered' AND wait_s <= {threshold} THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'abandoned' AND wait_s <= {threshold} THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'answered' AND wait_s IS NOT NULL THEN wait_s ELSE 0 END),
        SUM(CASE WHEN outcome = 'answered' AND wait_s IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN {waited} THEN wait_s ELSE 0 END),
        SUM(CASE WHEN {waited} THEN 1 ELSE 0 END),
        MAX(CASE WHEN {waited} THEN wait_s ELSE 0 END),
        SUM(CASE WHEN outcome = 'answered' AND talk_s IS NOT NULL THEN talk_s ELSE 0 END),
        SUM(CASE WHEN outcome = 'answered' AND talk_s IS NOT NULL THEN 1 ELSE 0 END),
        SUM(CASE WHEN outcome = 'answered' AND talk_s IS NOT NULL THEN COALESCE(wrapup_s, 0) ELSE 0 END),
        {lost}
        FROM stints WHERE {PERIOD}{hours_sql(hours, tz, start, end, postgres=postgres)}"""
    args: list[Any] = [start, end]
    for column, value in (("queue", queue), ("agent", agent)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    if keys:
        sql += f" GROUP BY {group} ORDER BY {group}"
    return Query(sql, tuple(args), len(keys))


def kpis_of(row: Sequence[Any], skip: int) -> Kpis:
    v = [0 if x is None else x for x in row[skip:]]
    k = Kpis(
        offered=int(v[0]), answered=int(v[1]), abandoned=int(v[2]), short_abandoned=int(v[3]),
        unknown=int(v[4]), answered_within=int(v[5]), abandoned_within=int(v[6]),
        wait_sum_answered=float(v[7]), waits_answered=int(v[8]), wait_sum=float(v[9]), waits=int(v[10]),
        max_wait_s=float(v[11]), talk_sum=float(v[12]), talks=int(v[13]), wrapup_sum=float(v[14]),
    )  # fmt: skip
    k.lost = {o.value: int(n) for o, n in zip(LOST_OUTCOMES, v[15:], strict=True)}
    return k


def abandon_wait_query(
    start: float, end: float, buckets: Sequence[tuple[int, int | None]], in_hours: str = ""
) -> tuple[str, tuple[Any, ...]]:
    """Abandoned stints ended in [start, end) per wait bucket [lo, hi)."""
    cols = ", ".join(
        f"SUM(CASE WHEN wait_s >= {lo} {'' if hi is None else f'AND wait_s < {hi}'} THEN 1 ELSE 0 END)"
        for lo, hi in buckets
    )
    sql = f"SELECT {cols} FROM stints WHERE outcome = 'abandoned' AND {PERIOD}{in_hours}"
    return sql, (start, end)


def fcr_query(start: float, end: float, window_s: float, in_hours: str = "") -> tuple[str, tuple[Any, ...]]:
    """metrics.kpi.fcr in SQL: journeys of known numbers, each answered one resolved unless the
    number's next journey (by arrival) starts within ``window_s`` of its end."""
    sql = f"""WITH j AS (
            SELECT MIN(caller_num) AS caller, MIN({ARRIVED}) AS s, MAX(ended_at) AS e,
                   MAX(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) AS a
            FROM stints WHERE {PERIOD} AND caller_num <> ''{in_hours}
            GROUP BY linked_id),
        n AS (SELECT a, e, LEAD(s) OVER (PARTITION BY caller ORDER BY s, e) AS nxt FROM j)
        SELECT SUM(CASE WHEN a = 1 AND (nxt IS NULL OR nxt > e + ?) THEN 1 ELSE 0 END), SUM(a) FROM n"""
    return sql, (start, end, window_s)
