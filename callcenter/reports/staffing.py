"""``callcenter staffing``: agents needed per hour of day, by formula and rehearsed on the simulator.

From a month of the store: per hour of the day (site time), the mean calls in that hour over
the days that had calls then, the mean handle time (talk + wrap-up: the agent is taken for both),
and the callers' patience, estimated as
abandons ÷ total time spent waiting by everyone who waited (the exponential patience's
maximum-likelihood estimate when most waits end in an answer, not a give-up). For the busiest
hours: Erlang C's agents for the target, Erlang A's abandon share with them, and the simulator's
service level and abandon share with them and with one fewer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from callcenter.metrics import erlang
from callcenter.metrics.kpi import Kpis, SlVariant, merge
from callcenter.simulator.rehearsal import Plan

LONG_PATIENCE_S = 3600.0  # no abandon measured: callers taken as patient


@dataclass(frozen=True, slots=True)
class HourDemand:
    hour: int
    calls_per_hour: float
    aht_s: float
    patience_s: float
    days: int


def demand(by_hour: dict[str, Kpis]) -> list[HourDemand]:
    """Per hour of the day with answered calls: what the month asked of the help desk."""
    per: dict[int, Kpis] = {}
    days: dict[int, int] = {}
    for label, k in by_hour.items():
        hour = datetime.fromisoformat(label).hour
        merge(per.setdefault(hour, Kpis()), k)
        days[hour] = days.get(hour, 0) + (k.offered > 0)
    out = []
    for hour, k in sorted(per.items()):
        if not k.talks or not days[hour]:
            continue
        patience = k.wait_sum / k.abandoned if k.abandoned else LONG_PATIENCE_S
        aht = (k.talk_sum + k.wrapup_sum) / k.talks
        out.append(HourDemand(hour, k.offered / days[hour], aht, max(patience, 1.0), days[hour]))
    return out


@dataclass(frozen=True, slots=True)
class Advice:
    need: HourDemand
    agents: int  # Erlang C's, for the target
    erlang_c_sl: float  # in percent
    erlang_a_abandon: float  # in percent, with those agents
    rehearsed: dict[int, tuple[float | None, float | None]]  # agents -> (SL %, abandoned %) simulated


def advise(
    need: HourDemand,
    target_pct: float,
    threshold_s: float,
    rehearse: Callable[[Plan], Kpis] | None,
) -> Advice:
    staffing = erlang.agents_needed(need.calls_per_hour, need.aht_s, target_pct / 100, threshold_s)
    agents = staffing.agents
    erlang_a = erlang.erlang_a(need.calls_per_hour, need.aht_s, need.patience_s, agents)
    rehearsed = {}
    for n in (agents - 1, agents):
        if n < 1 or rehearse is None:
            continue
        k = rehearse(Plan(need.calls_per_hour, need.aht_s, need.patience_s, n, threshold_s))
        abandoned = round(100 * k.abandoned / k.offered, 1) if k.offered else None
        rehearsed[n] = (k.service_level(SlVariant.ABANDONS_NEGATIVE), abandoned)
    sl, abandon = round(100 * staffing.service_level, 1), round(100 * erlang_a.abandon_probability, 1)
    return Advice(need, agents, sl, abandon, rehearsed)


def table(advice: list[Advice], target_pct: float, threshold_s: float) -> str:
    lines = [
        f"Agents for {target_pct:g} % answered within {threshold_s:g} s (Erlang C), and the plan rehearsed on"
        " the simulator",
        "(simulated service level: answered within T / (answered + abandoned); 4 virtual hours each)",
        "",
        f"{'hour':<6}{'calls/h':>8}{'AHT s':>7}{'patience s':>11}{'agents':>7}{'Erlang C SL':>12}"
        f"{'Erlang A aband.':>16}  rehearsed (agents: SL, abandoned)",
    ]
    for a in advice:
        n = a.need
        rehearsed = "; ".join(
            f"{agents}: {'—' if sl is None else f'{sl:g} %'}, {'—' if ab is None else f'{ab:g} %'}"
            for agents, (sl, ab) in sorted(a.rehearsed.items())
        )
        lines.append(
            f"{n.hour:02d}:00 {n.calls_per_hour:8.1f}{n.aht_s:7.0f}{n.patience_s:11.0f}{a.agents:7d}"
            f"{a.erlang_c_sl:11.1f}%{a.erlang_a_abandon:15.1f}%  {rehearsed}"
        )
    return "\n".join(lines)
