# ruff: noqa: E501 - the page's HTML template reads best with its lines whole
"""The monthly service report ("informe mensual"): one self-contained HTML file, charts inline (SVG).

Built from the store's stints of one calendar month in the site's time zone, added up by the
database (``month_data_from_store``: millions of stints are never read one by one) or from stints
in memory (``month_data``, the same sums); ``figures()`` makes the report's numbers from them, pure;
``render()`` turns them into the page.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter import metrics
from callcenter.cti.tickets import Ticket, solved_on_call, top_categories
from callcenter.metrics import erlang
from callcenter.metrics.agent_time import AgentTime, agent_time
from callcenter.metrics.kpi import (
    NO_AGENT,
    SL_FORMULAS,
    Csat,
    KpiRules,
    Kpis,
    add_to,
    csat,
    fcr,
    in_hours,
    interval_start,
    kpis,
    kpis_by,
    merge,
)
from callcenter.queues.model import LOST_OUTCOMES, Outcome, StintRecord
from callcenter.store.sql import SqlStore

WAIT_BUCKETS = ((0, 5), (5, 10), (10, 20), (20, 30), (30, 60), (60, 120), (120, None))  # seconds, [lo, hi)
TARGET_SL_PCT = 80.0
STATE_LOOKBACK_S = 7 * 86400.0
LOST_WORDS = {
    "timeout": "waited until the queue's timeout",
    "leaveempty": "left: no agent logged in any more",
    "exitwithkey": "left with a key (callback, voicemail)",
    "joinempty": "refused: no agent logged in",
    "full": "refused: queue full",
    "joinunavail": "refused: no agent available",
    "withdraw": "withdrawn",
}


def month_range(month: str, tz: ZoneInfo) -> tuple[float, float]:
    """[start, end) of a "YYYY-MM" month in the site's zone, as epoch seconds."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=tz)
    except ValueError as exc:
        raise ValueError(f"--month: expected YYYY-MM, got {month!r}") from exc
    end = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return start.timestamp(), end.timestamp()


@dataclass(frozen=True, slots=True)
class Report:
    month: str
    site_zone: str
    rules: KpiRules
    total: dict[str, Any]
    by_queue: dict[str, dict[str, Any]]
    by_day: list[tuple[str, int, int, float | None]]  # day, offered, answered, SL %
    by_hour: list[tuple[int, int]]  # hour of day, offered
    abandon_waits: list[tuple[str, int]]
    agents: list[tuple[str, int, float, float, float]]  # agent, answered, talk hours, avg talk s, AHT s
    fcr: tuple[int, int]
    staffing: list[tuple[int, float, float, int]]  # busiest hours: hour, calls/h, AHT s, agents needed
    survey: Csat
    survey_by_agent: dict[str, Csat]
    agent_time: dict[str, AgentTime]
    unseen: tuple[tuple[str, float, float, int], ...]
    rings_unanswered: dict[str, int]  # by agent name (from the store: its phone rang, no answer)
    categories: list[tuple[str, int]]  # the month's tickets by category, most first
    solved_on_call: tuple[int, int]  # (tickets solved on the call, tickets) created in the month


@dataclass(frozen=True, slots=True)
class MonthData:
    """What the report is made of: sums per group (``Kpis``), from stints in memory
    (``month_data``) or added up by the store (``month_data_from_store``)."""

    total: Kpis
    by_queue: dict[str, Kpis]
    by_day: dict[str, Kpis]  # local day (ISO date) -> its stints
    by_hour: dict[str, Kpis]  # local hour (ISO) -> its stints
    by_agent: dict[str, Kpis]
    abandon_waits: list[int]  # abandoned stints per WAIT_BUCKETS
    fcr: tuple[int, int]
    survey: tuple[tuple[str, str, int], ...] = ()  # (queue, member, score) of the month's answers
    agent_time: dict[str, AgentTime] = field(default_factory=dict)  # by agent name
    unseen: tuple[tuple[str, float, float, int], ...] = ()  # (queue, since, until, calls) flagged
    rings_unanswered: dict[str, int] = field(default_factory=dict)  # by agent name
    tickets: tuple[Ticket, ...] = ()  # created in the month


def wait_bucket_counts(waits: Sequence[float]) -> list[int]:
    return [sum(lo <= w and (hi is None or w < hi) for w in waits) for lo, hi in WAIT_BUCKETS]


def month_data(
    records: Sequence[StintRecord], rules: KpiRules, survey: Sequence[tuple[str, str, int]] = ()
) -> MonthData:
    records = in_hours(records, rules)  # every number of the report: business hours only, if set

    def one(by: str, interval: str = "day") -> dict[str, Kpis]:
        return {k[0]: g for k, g in kpis_by(records, (by,), rules, interval=interval).items()}

    waits = [r.wait_s for r in records if r.outcome is Outcome.ABANDONED and r.wait_s is not None]
    return MonthData(kpis(records, rules), one("queue"), one("interval"), one("interval", "hour"),
                     {a: k for a, k in one("agent").items() if a != NO_AGENT}, wait_bucket_counts(waits),
                     fcr(records, rules.repeat_window_s), tuple(survey))  # fmt: skip


def month_data_from_store(
    store: SqlStore, month: str, rules: KpiRules, *, columnar: bool | None = None
) -> MonthData:
    """The month's sums from the store: with pyarrow and numpy (the analytics extra), from its day files and
    columns (``store.archive``) with numpy; without, added up by the database. Both give the same sums."""
    if columnar is None:
        columnar = metrics.columnar_installed()
    data = (_month_columnar if columnar else _month_sql)(store, month, rules)
    start, end = month_range(month, ZoneInfo(rules.timezone))
    # a state holds until the next change: the week before tells how each agent began the month
    changes = store.agent_states(start - STATE_LOOKBACK_S, end)
    # ... and the last one holds until the store's last news (a month still running, a daemon stopped)
    until = max(start, min(end, store.seen_until() or start))
    by_name = {t.name: t for t in agent_time(changes, start, until).values()}
    rings: dict[str, int] = {}
    for _, _, _, member, _, _ in store.ring_no_answers(start, end):
        rings[member] = rings.get(member, 0) + 1
    return dataclasses.replace(data, agent_time=by_name, unseen=tuple(store.unseen_calls(start, end)),
                               rings_unanswered=rings, tickets=tuple(store.tickets(start, end)))  # fmt: skip


def _month_columnar(store: SqlStore, month: str, rules: KpiRules) -> MonthData:
    """A day at a time (memory of a few days, two days worked on at once), the day's sums merged:
    queue x hour cells, agents, abandon waits, and the day's journeys for FCR."""
    from callcenter.metrics.columnar import (
        FCR_COLUMNS,
        KPI_COLUMNS,
        Journeys,
        abandon_waits_arrow,
        fcr_of_journeys,
        journey_part,
        kpis_arrow,
        open_rows,
    )
    from callcenter.store.archive import map_days

    start, end = month_range(month, ZoneInfo(rules.timezone))
    all_day = dataclasses.replace(rules, business_hours=None)  # each day is cut to business hours once

    def of_day(
        whole: Any,
    ) -> tuple[dict[tuple[str, ...], Kpis], dict[tuple[str, ...], Kpis], list[int], Journeys]:
        day = open_rows(whole, rules)
        return (kpis_arrow(day, ("queue", "interval"), all_day, interval="hour"), kpis_arrow(day, ("agent",), all_day),
                abandon_waits_arrow(day, WAIT_BUCKETS), journey_part(day))  # fmt: skip

    cells: dict[tuple[str, ...], Kpis] = {}
    agents: dict[tuple[str, ...], Kpis] = {}
    waits = [0] * len(WAIT_BUCKETS)
    journeys = []
    for day_cells, day_agents, day_waits, part in map_days(
        store, start, end, sorted(set(KPI_COLUMNS + FCR_COLUMNS)), of_day
    ):
        for into, found in ((cells, day_cells), (agents, day_agents)):
            for key, k in found.items():
                add_to(into, key, k)
        waits = [a + b for a, b in zip(waits, day_waits, strict=True)]
        journeys.append(part)
    resolved = fcr_of_journeys(journeys, rules.repeat_window_s)
    return _assemble(cells, agents, waits, resolved, tuple(store.survey_scores(start, end)), rules)


def _month_sql(store: SqlStore, month: str, rules: KpiRules) -> MonthData:
    """Two passes over the month's stints (queue x hour, agent), the rest summed from them here."""
    start, end = month_range(month, ZoneInfo(rules.timezone))
    cells = store.kpis(start, end, by=("queue", "interval"), rules=rules, interval="hour")
    agents = store.kpis(start, end, by=("agent",), rules=rules)
    waits = store.abandon_wait_counts(start, end, WAIT_BUCKETS, rules)
    resolved, survey = (
        store.fcr(start, end, rules.repeat_window_s, rules),
        tuple(store.survey_scores(start, end)),
    )
    return _assemble(cells, agents, waits, resolved, survey, rules)


def _assemble(
    cells: dict[tuple[str, ...], Kpis],
    agents: dict[tuple[str, ...], Kpis],
    waits: list[int],
    resolved: tuple[int, int],
    survey: tuple[tuple[str, str, int], ...],
    rules: KpiRules,
) -> MonthData:
    """Queue x hour cells summed into the total, queues, days and hours."""
    tz = ZoneInfo(rules.timezone)
    total = Kpis()
    by_queue: dict[str, Kpis] = {}
    by_day: dict[str, Kpis] = {}
    by_hour: dict[str, Kpis] = {}
    for (queue, hour), k in cells.items():
        day = interval_start(datetime.fromisoformat(hour).timestamp(), "day", tz).isoformat()
        for groups, key in ((by_queue, queue), (by_day, day), (by_hour, hour)):
            add_to(groups, key, k)
        merge(total, k)
    named = {k[0]: g for k, g in agents.items() if k[0] != NO_AGENT}
    return MonthData(total, dict(sorted(by_queue.items())), by_day, dict(sorted(by_hour.items())), named, waits,
                     resolved, survey)  # fmt: skip


def figures(data: MonthData, month: str, rules: KpiRules) -> Report:
    tz = ZoneInfo(rules.timezone)
    start, end = month_range(month, tz)
    by_day = []
    day = datetime.fromtimestamp(start, tz)
    while day.timestamp() < end:  # every day of the month, those without calls too
        g = data.by_day.get(day.isoformat())
        by_day.append((day.date().isoformat(), g.offered if g else 0, g.answered if g else 0,
                       g.service_level(rules.variant) if g else None))  # fmt: skip
        day = datetime.combine(day.date() + timedelta(days=1), datetime.min.time(), tz)
    hours = [0] * 24
    hour_days: dict[int, set[str]] = {h: set() for h in range(24)}
    talk_by_hour = [[0.0, 0] for _ in range(24)]
    for label, g in data.by_hour.items():
        local = datetime.fromisoformat(label)
        hours[local.hour] += g.offered
        hour_days[local.hour].add(local.date().isoformat())
        talk_by_hour[local.hour][0] += g.talk_sum + g.wrapup_sum  # the agent is busy through wrap-up
        talk_by_hour[local.hour][1] += g.talks
    buckets = []
    for (lo, hi), n in zip(WAIT_BUCKETS, data.abandon_waits, strict=True):
        buckets.append((f"{lo}–{hi} s" if hi is not None else f"{lo} s and more", n))
    agents = [
        (a, k.answered, round(k.talk_sum / 3600, 2), round(k.talk_sum / k.talks, 1) if k.talks else 0.0,
         round((k.talk_sum + k.wrapup_sum) / k.talks, 1) if k.talks else 0.0)
        for a, k in sorted(data.by_agent.items())
        if k.answered
    ]  # fmt: skip
    staffing = []
    for h in sorted(range(24), key=lambda h: -hours[h])[:3]:
        talk_sum, talks = talk_by_hour[h]
        if not hours[h] or not talks:
            continue
        per_hour = hours[h] / len(hour_days[h])  # mean arrivals in that hour, over the days it had calls
        aht = talk_sum / talks
        need = erlang.agents_needed(per_hour, aht, TARGET_SL_PCT / 100, rules.servicelevel_s).agents
        staffing.append((h, round(per_hour, 1), round(aht, 1), need))
    by_queue = {q: k.as_dict(rules) for q, k in data.by_queue.items()}
    members: dict[str, list[int]] = {}
    for _, member, score in data.survey:
        members.setdefault(member, []).append(score)
    survey_by_agent = {m: csat(scores) for m, scores in sorted(members.items()) if m}
    return Report(month, rules.timezone, rules, data.total.as_dict(rules), by_queue, by_day, list(enumerate(hours)),
                  buckets, agents, data.fcr, sorted(staffing), csat(sc for _, _, sc in data.survey),
                  survey_by_agent, data.agent_time, data.unseen, data.rings_unanswered,
                  top_categories(data.tickets), solved_on_call(data.tickets))  # fmt: skip


# -- the page ----------------------------------------------------------------------------------------


def bars(
    values: Sequence[tuple[str, float]], *, title: str, unit: str = "", target: float | None = None
) -> str:
    """A horizontal-axis bar chart as inline SVG (no script, no external file)."""
    width, height, left, bottom = 720, 220, 40, 40
    top = max([v for _, v in values] + [target or 0, 1])
    step = (width - left - 10) / max(len(values), 1)
    parts = [f'<svg role="img" aria-label="{html.escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']  # fmt: skip
    parts.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#555"/>'
    )
    for i, (label, v) in enumerate(values):
        h = (height - bottom - 10) * v / top
        x = left + i * step
        parts.append(f'<rect x="{x + 2:.1f}" y="{height - bottom - h:.1f}" width="{max(step - 4, 1):.1f}" '
                     f'height="{h:.1f}" fill="#2f6db5"><title>{html.escape(label)}: {v:g}{unit}</title></rect>')  # fmt: skip
        if len(values) <= 31:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 14}" font-size="9" '
                         f'text-anchor="middle">{html.escape(label)}</text>')  # fmt: skip
    if target is not None:
        y = height - bottom - (height - bottom - 10) * target / top
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#c0392b" '
                     f'stroke-dasharray="4 3"/><text x="{left + 2}" y="{y - 3:.1f}" font-size="10" '
                     f'fill="#c0392b">target {target:g}{unit}</text>')  # fmt: skip
    parts.append(f'<text x="{left}" y="{height - 8}" font-size="11">{html.escape(title)}</text></svg>')
    return "".join(parts)


def _num(v: float | int | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:g}{unit}"


def render(report: Report) -> str:
    t = report.total
    rules = report.rules
    e = html.escape
    lost_rows = "".join(
        f"<tr><td>{e(LOST_WORDS[o.value])}</td><td>{t['lost_by_cause'][o.value]}</td></tr>"
        for o in LOST_OUTCOMES
    )
    queue_rows = "".join(
        f"<tr><td>{e(q)}</td><td>{d['offered']}</td><td>{d['answered']}</td><td>{d['abandoned']}</td>"
        f"<td>{d['lost']}</td><td>{_num(d['service_level_pct'], ' %')}</td><td>{_num(d['asa_s'], ' s')}</td>"
        f"<td>{_num(d['max_wait_s'], ' s')}</td><td>{_num(d['avg_talk_s'], ' s')}</td>"
        f"<td>{_num(d['aht_s'], ' s')}</td></tr>"
        for q, d in report.by_queue.items()
    )

    def time_cells(agent: str) -> str:
        t = report.agent_time.get(agent)
        if t is None:
            return f"<td>—</td><td>—</td><td>—</td>{rings(agent)}"
        paused = sum(total for _, total in t.pauses.values())
        return (f"<td>{_num(t.occupancy_pct, ' %')}</td><td>{_num(t.utilization_pct, ' %')}</td>"
                f"<td>{paused / 3600:.2f}</td>{rings(agent)}")  # fmt: skip

    def rings(agent: str) -> str:
        return f"<td>{report.rings_unanswered.get(agent, 0)}</td>"

    agent_rows = "".join(
        f"<tr><td>{e(a)}</td><td>{n}</td><td>{h:g}</td><td>{_num(avg, ' s')}</td><td>{_num(aht, ' s')}</td>"
        f"{time_cells(a)}</tr>"
        for a, n, h, avg, aht in report.agents
    )
    staffing_rows = "".join(
        f"<tr><td>{h:02d}:00–{h:02d}:59</td><td>{calls:g}</td><td>{aht:g} s</td><td>{need}</td></tr>"
        for h, calls, aht, need in report.staffing
    )
    survey = report.survey
    if survey.responses:
        agent_csat = "".join(
            f"<tr><td>{e(a)}</td><td>{c.responses}</td><td>{_num(c.top_two_pct, ' %')}</td><td>{_num(c.mean)}</td></tr>"
            for a, c in report.survey_by_agent.items()
        )
        survey_html = (
            f"<p>CSAT <b>{_num(survey.top_two_pct, ' %')}</b> (share of 4 and 5 on the 1–5 scale), mean score "
            f"{_num(survey.mean)}, from {survey.responses} answers: a response rate of "
            f"{_num(survey.response_rate_pct(t['answered']), ' %')} of the answered calls."
            + (f" {survey.out_of_scale} answers off the scale were left out." if survey.out_of_scale else "")
            + "</p><table><tr><th>Agent</th><th>Answers</th><th>CSAT</th><th>Mean</th></tr>"
            + agent_csat
            + "</table>"
        )
    else:
        survey_html = '<p class="note">No post-call survey answer this month.</p>'
    tz = ZoneInfo(report.site_zone)
    hours = rules.business_hours
    hours_note = (
        ""
        if hours is None
        else f" <b>Business hours only</b> ({e(hours.text)}): every number counts the calls that arrived then."
    )
    unseen_html = "".join(
        f"<li>{e(q)}: {n} calls between {datetime.fromtimestamp(lo, tz):%d %H:%M} and "
        f"{datetime.fromtimestamp(hi, tz):%d %H:%M}</li>"
        for q, lo, hi, n in report.unseen
    )
    if unseen_html:
        unseen_html = (
            '<p class="warn"><b>Calls missing from these figures.</b> Asterisk counted calls ending '
            "that the daemon never saw (it was down or its link was lost, and no queue_log filled "
            f"them in): <ul>{unseen_html}</ul> Fill them in with <code>callcenter backfill</code>.</p>"
        )
    resolved, answered_journeys = report.fcr
    fcr_pct = _num(round(100 * resolved / answered_journeys, 1) if answered_journeys else None, " %")
    window_days = rules.repeat_window_s / 86400
    solved, tickets = report.solved_on_call
    solved_html = (
        f" By the agents' word: <b>{_num(round(100 * solved / tickets, 1), ' %')}</b> of the month's {tickets} "
        f"tickets ({solved}) were solved on the call."
        if tickets
        else ""
    )
    if report.categories:
        documented = tickets  # shares of all the month's tickets, not of the ten shown
        requests_html = ("<table><tr><th>Category</th><th>Tickets</th><th>Share</th></tr>" + "".join(
            f"<tr><td>{e(c)}</td><td>{n}</td><td>{_num(round(100 * n / documented, 1), ' %')}</td></tr>"
            for c, n in report.categories) + "</table>")  # fmt: skip
    else:
        requests_html = '<p class="note">No ticket was opened this month.</p>'
    day_sl = [(d[8:], sl or 0.0) for d, _, _, sl in report.by_day]
    charts = [
        bars([(d[8:], o) for d, o, _, _ in report.by_day], title="Calls offered per day"),
        bars(day_sl, title=f"Service level per day ({rules.variant.value})", unit=" %", target=TARGET_SL_PCT),
        bars([(f"{h:02d}", n) for h, n in report.by_hour], title="Calls by hour of day (all days)"),
        bars(report.abandon_waits, title="Abandoned calls by how long the caller waited"),
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Monthly service report {e(report.month)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; margin: .5em 0; }} td, th {{ border: 1px solid #ccc; padding: .25em .6em; }}
th {{ background: #eef; text-align: left; }} .big td {{ font-size: 1.1em; }} .note {{ color: #666; }} .warn {{ background: #fde8e4; padding: .5em; }}
</style></head><body>
<h1>Monthly service report — {e(report.month)}</h1>
<p class="note">Site time zone {e(report.site_zone)}. Made by callcenter from the store of finished calls.{hours_note}</p>
{unseen_html}
<h2>Established and lost calls</h2>
<table class="big"><tr><th>Offered</th><th>Established (answered)</th><th>Abandoned</th>
<th>Lost, other causes</th><th>Answer rate</th><th>Abandon rate</th></tr>
<tr><td>{t["offered"]}</td><td>{t["answered"]}</td><td>{t["abandoned"]} ({t["short_abandoned"]} short)</td>
<td>{t["lost"]}</td><td>{_num(t["answer_rate_pct"], " %")}</td><td>{_num(t["abandon_rate_pct"], " %")}</td></tr></table>
<table><tr><th>Lost by cause</th><th>Calls</th></tr>{lost_rows}</table>
<h2>Service level and waiting</h2>
<p>Service level <b>{_num(t["service_level_pct"], " %")}</b> (target {TARGET_SL_PCT:g} %) —
variant <i>{e(rules.variant.value)}</i>: {e(SL_FORMULAS[rules.variant])}, T = {rules.servicelevel_s:g} s.
Average speed of answer {_num(t["asa_s"], " s")}; average wait {_num(t["avg_wait_s"], " s")};
longest wait {_num(t["max_wait_s"], " s")}; average call time {_num(t["avg_talk_s"], " s")};
average handle time (with wrap-up) {_num(t["aht_s"], " s")}.</p>
{charts[1]}
<h2>Volume</h2>
{charts[0]}
{charts[2]}
<h2>Abandoned calls by wait</h2>
{charts[3]}
<h2>By queue</h2>
<table><tr><th>Queue</th><th>Offered</th><th>Answered</th><th>Abandoned</th><th>Lost</th><th>Service level</th>
<th>ASA</th><th>Longest wait</th><th>Avg call time</th><th>AHT</th></tr>{queue_rows}</table>
<h2>Agents</h2>
<table><tr><th>Agent</th><th>Calls answered</th><th>Talk hours</th><th>Avg call time</th><th>AHT</th><th>Occupancy</th>
<th>Utilization</th><th>Paused hours</th><th>Rings unanswered</th></tr>{agent_rows}</table>
<h2>Resolved on the first call</h2>
<p>{fcr_pct} of answered calls ({resolved} of {answered_journeys}) were not followed by another call from
the same number within {window_days:g} days. <span class="note">Measured from repeat calls until tickets
record the agent's "solved on the call" flag.</span>{solved_html}</p>
<h2>User satisfaction</h2>
{survey_html}
<h2>Most frequent requests</h2>
{requests_html}
<h2>Staffing advice (Erlang C)</h2>
<p>Agents needed in the month's busiest hours for {TARGET_SL_PCT:g} % answered within {rules.servicelevel_s:g} s,
from the mean calls per hour on the days with calls then and the measured average handle time:</p>
<table><tr><th>Hour</th><th>Calls per hour</th><th>Average handle time</th><th>Agents needed</th></tr>
{staffing_rows}</table>
<h2>Definitions</h2>
<ul>
<li>Offered: every call that reached a queue, refused ones included (queue full, no agents).</li>
<li>Established (answered): connected to an agent. Abandoned: the caller hung up while waiting; short: within
the short-abandon threshold. Lost: every other way a call left a queue without an agent (causes above).</li>
<li>Answer rate = answered / offered. Abandon rate = abandoned / offered.</li>
<li>Service level ({e(rules.variant.value)}) = {e(SL_FORMULAS[rules.variant])}; a wait equal to T is within.</li>
<li>ASA = total wait of answered calls / answered. Average wait counts every call that waited.</li>
<li>Average call time = total talk time / answered calls whose end was seen. Average handle time (AHT) =
(total talk time + wrap-up) / the same calls; wrap-up is the after-call time the queue gave the agent (its
wrapuptime), none where unknown (calls filled in from queue_log).</li>
<li>Occupancy = (on call + wrap-up) / (on call + wrap-up + available + ringing); utilization = (on call +
wrap-up) / logged-in time; both from the agents' state changes.</li>
<li>A call counts in the day and hour it arrived, in the site's time zone.</li>
</ul>
</body></html>
"""
