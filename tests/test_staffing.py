"""Staffing advice: the month's demand by hour, the formulas, and the plan rehearsed on the simulator."""

from __future__ import annotations

from callcenter.metrics.kpi import Kpis, SlVariant
from callcenter.reports.staffing import LONG_PATIENCE_S, advise, demand, table
from callcenter.simulator.rehearsal import Plan, rehearse
from tests.test_cli import cli
from tests.test_reports import TZ, store  # noqa: F401 - the store fixture


def hour(offered: int, talks: int, talk_sum: float, abandoned: int = 0, wait_sum: float = 0.0) -> Kpis:
    return Kpis(offered=offered, talks=talks, talk_sum=talk_sum, abandoned=abandoned, wait_sum=wait_sum)


def test_demand_by_hour_of_day_by_hand() -> None:
    by_hour = {
        "2026-10-01T09:00:00-05:00": hour(30, 25, 25 * 200.0, abandoned=2, wait_sum=600.0),
        "2026-10-02T09:00:00-05:00": hour(50, 45, 45 * 240.0, abandoned=3, wait_sum=900.0),
        "2026-10-01T10:00:00-05:00": hour(10, 10, 10 * 100.0),
        "2026-10-01T23:00:00-05:00": hour(2, 0, 0.0, abandoned=2, wait_sum=40.0),  # nobody answered: no AHT
    }
    nine, ten = demand(by_hour)
    # 9 h: (30 + 50) calls over 2 days; AHT (5000 + 10800) / 70; patience (600 + 900) / 5 abandons
    assert (nine.hour, nine.calls_per_hour, nine.days, nine.patience_s) == (9, 40.0, 2, 300.0)
    assert nine.aht_s == (5000 + 10800) / 70
    assert (ten.calls_per_hour, ten.aht_s, ten.patience_s) == (10.0, 100.0, LONG_PATIENCE_S)


def test_a_generous_plan_rehearsed_answers_every_call_within_the_threshold() -> None:
    # 30 calls an hour of 60 s with 20 agents: someone is always free and rings 2 s < 20 s
    k = rehearse(Plan(30.0, 60.0, 300.0, agents=20, threshold_s=20.0), hours=2.0)
    assert k.offered > 30 and k.abandoned == 0 and k.answered == k.offered
    assert k.service_level(SlVariant.ANSWERED) == 100.0


def test_with_no_agent_free_every_caller_gives_up() -> None:
    # one agent busy for hours (talk 10 h) after the first answer: the others wait, then abandon
    k = rehearse(Plan(60.0, 36000.0, 30.0, agents=1, threshold_s=20.0), hours=1.0)
    assert k.abandoned >= k.offered - 1 and k.offered > 30


def test_advice_uses_erlang_c_and_rehearses_one_fewer_too() -> None:
    seen: list[int] = []

    def fake(plan: Plan) -> Kpis:
        seen.append(plan.agents)
        return Kpis(offered=10, answered=8, abandoned=2, answered_within=6)

    need = demand({"2026-10-01T09:00:00-05:00": hour(720, 700, 700 * 240.0, abandoned=20, wait_sum=6000.0)})[
        0
    ]
    advice = advise(need, 80.0, 15.0, fake)
    # DOMAIN.md's worked example: 720 calls/h (360 per 30 min) of 240 s is A = 48 Erlangs;
    # 55 agents give about 84.6 % within 15 s, 54 fewer than 80 %
    assert advice.agents == 55 and advice.erlang_c_sl == 84.6
    assert seen == [54, 55] and advice.rehearsed[55] == (60.0, 20.0)  # 6 / (8 + 2); 2 of 10
    assert "09:00" in table([advice], 80.0, 15.0)


def test_the_staffing_command(store: object) -> None:  # noqa: F811
    result = cli("staffing", "--store", str(store), "--month", "2026-10", "--timezone", TZ, "--hours", "1")
    assert result.returncode == 0, result.stderr
    assert "09:00" in result.stdout and "rehearsed" in result.stdout
    empty = cli("staffing", "--store", str(store), "--month", "2026-05", "--timezone", TZ)
    assert empty.returncode == 1 and "no answered call in 2026-05" in empty.stderr
