"""The export tables, built from stored stints. Pure: rows of plain values, columns named once.

- ``stints``: one row per stint (a call's time in one queue), every stored field;
- ``journeys``: one row per call (its stints across queues, level 1 → level 2);
- ``agents``: per agent: answered, talk, average talk, unanswered rings;
- ``kpis``: the KPIs by queue, agent or interval, with the service level's variant and formula.

Times are shown in the site's time zone (ISO 8601 with the offset), next to nothing else: the
epoch seconds stay in the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from callcenter import metrics
from callcenter.metrics.kpi import KpiRules, Kpis, add_to, arrived_at, kpis_by
from callcenter.queues.model import LOST_OUTCOMES, Outcome, StintRecord
from callcenter.reports import TABLES
from callcenter.store.sql import SqlStore

Table = tuple[list[str], list[list[Any]]]  # (columns, rows)
LOST_NAMES = [o.value for o in LOST_OUTCOMES]


def local(at: float | None, tz: ZoneInfo) -> str:
    return "" if at is None else datetime.fromtimestamp(at, tz).isoformat(timespec="seconds")


def stints_table(records: Sequence[StintRecord], tz: ZoneInfo) -> Table:
    columns = ["call_id", "journey_id", "queue", "caller_num", "caller_name", "outcome", "joined_at",
               "ended_at", "wait_s", "talk_s", "agent", "interface", "ended_by", "transfer_target",
               "short_abandon", "ring_no_answer", "join_seen", "end_seen", "source", "wrapup_s"]  # fmt: skip
    rows = [
        [
            r.call_id,
            r.linked_id,
            r.queue,
            r.caller_num,
            r.caller_name,
            r.outcome.value,
            local(r.joined_at, tz),
            local(r.ended_at, tz),
            r.wait_s,
            r.talk_s,
            r.agent or "",
            r.interface or "",
            r.ended_by or "",
            r.transfer_target or "",
            r.short_abandon,
            r.ring_no_answer,
            r.join_seen,
            r.end_seen,
            r.source,
            r.wrapup_s,
        ]
        for r in records
    ]
    return columns, rows


def journeys_table(records: Sequence[StintRecord], tz: ZoneInfo) -> Table:
    """A call's stints in arrival order: where it went, how it ended, how long it waited in all."""
    journeys: dict[str, list[StintRecord]] = {}
    for r in sorted(records, key=lambda r: (arrived_at(r), r.call_id)):
        journeys.setdefault(r.linked_id, []).append(r)
    columns = ["journey_id", "caller_num", "arrived_at", "ended_at", "path", "outcome", "answered_in",
               "agent", "wait_s", "talk_s", "stints"]  # fmt: skip
    rows = []
    for jid, stints in journeys.items():
        answered = [s for s in stints if s.outcome is Outcome.ANSWERED]
        last = answered[-1] if answered else stints[-1]
        waits = [s.wait_s for s in stints if s.wait_s is not None]
        talks = [s.talk_s for s in answered if s.talk_s is not None]
        first, ended = arrived_at(stints[0]), max(s.ended_at for s in stints)
        rows.append([
            jid, stints[0].caller_num, local(first, tz), local(ended, tz),
            " > ".join(s.queue for s in stints), last.outcome.value, last.queue if answered else "",
            last.agent or "", sum(waits) if waits else None, sum(talks) if talks else None, len(stints),
        ])  # fmt: skip
    return columns, rows


def agents_table(records: Sequence[StintRecord]) -> Table:
    per: dict[str, list[float]] = {}
    for r in records:
        if r.agent and r.outcome is Outcome.ANSWERED:
            per.setdefault(r.agent, []).append(r.talk_s or 0.0)
    columns = ["agent", "answered", "talk_s", "avg_talk_s"]
    rows = [[a, len(t), round(sum(t), 3), round(sum(t) / len(t), 3)] for a, t in sorted(per.items())]
    return columns, rows


KPI_COLUMNS = ["offered", "answered", "abandoned", "short_abandoned", "lost", "unknown", "answer_rate_pct",
               "abandon_rate_pct", "abandon_rate_without_short_pct", "service_level_pct",
               "service_level_threshold_s", "service_level_variant", "service_level_formula", "asa_s",
               "avg_wait_s", "max_wait_s", "avg_talk_s"]  # fmt: skip


def kpis_table(records: Sequence[StintRecord], by: str, interval: str, rules: KpiRules) -> Table:
    return kpis_table_of(kpis_by(records, (by,), rules, interval=interval), by, rules)


def kpis_table_of(groups: dict[tuple[str, ...], Kpis], by: str, rules: KpiRules) -> Table:
    """The kpis table of sums per group, however they were added up."""
    rows = []
    for (key,), k in groups.items():
        d = k.as_dict(rules)
        lost = d.pop("lost_by_cause")
        rows.append([key, *(d[c] for c in KPI_COLUMNS), *(lost[c] for c in LOST_NAMES)])
    return [by, *KPI_COLUMNS, *(f"lost_{n}" for n in LOST_NAMES)], rows


def table(name: str, records: Sequence[StintRecord], *, by: str, interval: str, rules: KpiRules) -> Table:
    tz = ZoneInfo(rules.timezone)
    if name == "stints":
        return stints_table(records, tz)
    if name == "journeys":
        return journeys_table(records, tz)
    if name == "agents":
        return agents_table(records)
    if name == "kpis":
        return kpis_table(records, by, interval, rules)
    raise ValueError(f"expected one of {', '.join(TABLES)}, got {name!r}")


def store_kpi_groups(
    store: SqlStore,
    start: float | None,
    end: float | None,
    *,
    by: Sequence[str],
    interval: str,
    rules: KpiRules,
    queue: str | None = None,
    agent: str | None = None,
) -> dict[tuple[str, ...], Kpis]:
    """The KPIs per group of a store's period without reading its stints one by one: Arrow over
    its day files a day at a time (with pyarrow), else the database's sums. Equal to ``kpis_by``."""
    span = store.ended_span()
    if span is None:
        return {}
    lo = span[0] if start is None else start
    hi = span[1] + 1 if end is None else end
    if not metrics.columnar_installed():
        return store.kpis(lo, hi, by=tuple(by), rules=rules, interval=interval, queue=queue, agent=agent)
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    from callcenter.metrics.columnar import KPI_COLUMNS as COLUMNS
    from callcenter.metrics.columnar import kpis_arrow
    from callcenter.store.archive import map_days

    def of_day(day: Any) -> dict[tuple[str, ...], Kpis]:
        for column, value in (("queue", queue), ("agent", agent)):
            if value is not None:
                day = day.filter(pc.equal(day[column], value))
        return kpis_arrow(day, by, rules, interval=interval)

    out: dict[tuple[str, ...], Kpis] = {}
    for found in map_days(store, lo, hi, COLUMNS, of_day):
        for key, k in found.items():
            add_to(out, key, k)
    return dict(sorted(out.items()))


def agents_activity_table(
    store: SqlStore,
    name: str,
    start: float | None,
    end: float | None,
    *,
    queue: str | None,
    agent: str | None,
    tz: ZoneInfo,
) -> Table:
    """Agents' sessions and pauses per queue (those ended in the period) and unanswered rings,
    as the store keeps them; ``whole`` false: one end was not seen (its time is when the daemon
    found out)."""
    lo, hi = (-math.inf if start is None else start), (math.inf if end is None else end)

    def kept(q: str, who: str) -> bool:
        return (queue is None or q == queue) and (agent is None or who == agent)

    if name == "sessions":
        columns = ["queue", "interface", "agent", "login_at", "logout_at", "logged_in_s", "whole"]
        return columns, [[q, i, n, local(a, tz), local(b, tz), round(b - a, 3), w]
                         for q, i, n, a, b, w in store.sessions(lo, hi) if kept(q, n)]  # fmt: skip
    if name == "pauses":
        columns = ["queue", "interface", "agent", "reason", "paused_at", "unpaused_at", "paused_s", "whole"]
        return columns, [[q, i, n, r, local(a, tz), local(b, tz), round(b - a, 3), w]
                         for q, i, n, r, a, b, w in store.pauses(lo, hi) if kept(q, n)]  # fmt: skip
    columns = ["at", "call_id", "queue", "agent", "interface", "ring_s"]
    return columns, [[local(at, tz), c, q, m, i, s]
                     for at, c, q, m, i, s in store.ring_no_answers(lo, hi) if kept(q, m)]  # fmt: skip


def tickets_table(
    store: SqlStore,
    start: float | None,
    end: float | None,
    *,
    queue: str | None,
    agent: str | None,
    tz: ZoneInfo,
) -> Table:
    """The tickets created in the period, as agents left them (times in the site's zone)."""
    lo, hi = (-math.inf if start is None else start), (math.inf if end is None else end)
    columns = ["number", "created_at", "updated_at", "due_at", "caller_num", "caller_name", "queue",
               "agent", "category", "impact", "urgency", "priority", "level", "status", "solved_on_call",
               "summary"]  # fmt: skip
    rows = []
    for t in store.tickets(lo, hi):
        if (queue is None or t.queue == queue) and (agent is None or t.agent == agent):
            rows.append([f"{t.server}-{t.call_id}", local(t.created_at, tz), local(t.updated_at, tz),
                         local(t.due_at, tz), t.caller_num, t.caller_name, t.queue, t.agent, t.category,
                         t.impact, t.urgency, t.priority, t.level, t.status, t.solved_on_call,
                         t.summary])  # fmt: skip
    return columns, rows


def store_table(
    store: SqlStore,
    name: str,
    start: float | None,
    end: float | None,
    *,
    queue: str | None,
    agent: str | None,
    by: str,
    interval: str,
    rules: KpiRules,
) -> Table:
    """An export table of a store's period: the KPIs summed without reading stints one by one,
    the other tables from the stints."""
    if name == "kpis":
        groups = store_kpi_groups(
            store, start, end, by=(by,), interval=interval, rules=rules, queue=queue, agent=agent
        )
        return kpis_table_of(groups, by, rules)
    if name in ("sessions", "pauses", "rings"):
        return agents_activity_table(
            store, name, start, end, queue=queue, agent=agent, tz=ZoneInfo(rules.timezone)
        )
    if name == "tickets":
        return tickets_table(store, start, end, queue=queue, agent=agent, tz=ZoneInfo(rules.timezone))
    records = store.stints(start, end, queue=queue, agent=agent)
    return table(name, records, by=by, interval=interval, rules=rules)
