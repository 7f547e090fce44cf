"""Erlang C staffing against published values and hand computation, not against itself.

The published case (the Erlang C tables every call-centre planning course uses): 100 calls in
half an hour, 180 s average handling time → 10 Erlangs; service level = answered within 20 s.
"""

from __future__ import annotations

import math

import pytest

from callcenter.metrics.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_a,
    erlang_c,
    service_level,
)

# agents: (probability of waiting %, service level % within 20 s, ASA s), as published
PUBLISHED = {
    11: (68.21, 39.0, 122.8),
    12: (44.94, 64.0, 40.4),
    13: (28.53, 79.6, 17.1),
    14: (17.41, 88.8, 7.8),
}


@pytest.mark.parametrize("agents", sorted(PUBLISHED))
def test_the_published_ten_erlang_table(agents: int) -> None:
    waits, within, asa = PUBLISHED[agents]
    assert round(100 * erlang_c(10.0, agents), 2) == waits
    assert round(100 * service_level(10.0, agents, 180.0, 20.0), 1) == within
    assert round(average_speed_of_answer(10.0, agents, 180.0), 1) == asa


def test_by_hand_one_erlang_two_agents() -> None:
    # B(1) = 1/2, B(2) = (1 · 1/2) / (2 + 1/2) = 1/5; C = 2 · 1/5 / (2 − 1 · 4/5) = 1/3.
    assert erlang_c(1.0, 2) == pytest.approx(1 / 3, abs=1e-12)
    assert average_speed_of_answer(1.0, 2, 60.0) == pytest.approx(20.0, abs=1e-9)  # 1/3 · 60 / 1
    assert service_level(1.0, 2, 60.0, 60.0) == pytest.approx(1 - math.exp(-1) / 3, abs=1e-12)


def test_too_few_agents_never_reach_a_service_level() -> None:
    assert erlang_c(10.0, 10) == 1.0 and service_level(10.0, 9, 180.0, 20.0) == 0.0
    assert average_speed_of_answer(10.0, 10, 180.0) == math.inf
    assert erlang_c(0.0, 3) == 0.0 and service_level(0.0, 1, 180.0, 20.0) == 1.0


def test_agents_needed_for_80_percent_in_20_seconds() -> None:
    # 200 calls an hour x 180 s = 10 Erlangs: 13 agents give 79.6 % (short), 14 give 88.8 %.
    staffing = agents_needed(200.0, 180.0, 0.80, 20.0)
    assert (staffing.agents, staffing.traffic_erlangs) == (14, 10.0)
    assert round(staffing.service_level, 3) == 0.888 and round(staffing.occupancy, 4) == round(10 / 14, 4)
    assert agents_needed(200.0, 180.0, 0.79, 20.0).agents == 13  # 79.6 % is enough for 79 %


@pytest.mark.parametrize(
    ("calls", "aht", "target", "threshold"), [(-1, 180, 0.8, 20), (100, 0, 0.8, 20), (100, 180, 1.0, 20)]
)
def test_impossible_inputs_are_refused(calls: float, aht: float, target: float, threshold: float) -> None:
    with pytest.raises(ValueError, match="expected"):
        agents_needed(calls, aht, target, threshold)


def test_erlang_a_by_hand_for_one_agent() -> None:
    # λ = μ = θ = 1 per hour-second scale: π_{1+j} = π_1 / (j+1)!, so π_0 = 1/e; P(wait) = 1 − 1/e;
    # E[queue] = π_1 · Σ j/(j+1)! = 1/e; P(abandon) = θ·E[queue]/λ = 1/e
    got = erlang_a(3600.0, 1.0, 1.0, 1)
    assert got.wait_probability == pytest.approx(1 - 1 / math.e, rel=1e-9)
    assert got.mean_queue == pytest.approx(1 / math.e, rel=1e-9)
    assert got.abandon_probability == pytest.approx(1 / math.e, rel=1e-9)


def test_erlang_a_tends_to_erlang_c_when_callers_never_give_up() -> None:
    # DOMAIN.md's example: 360 calls per 30 min, AHT 240 s, 55 agents: Pw ≈ 23.9 %
    got = erlang_a(720.0, 240.0, 1e9, 55)
    assert got.wait_probability == pytest.approx(erlang_c(48.0, 55), rel=1e-6)
    assert got.abandon_probability < 1e-6
    # with patience, fewer wait and some give up; overload is stable (abandons empty the queue)
    impatient = erlang_a(720.0, 240.0, 60.0, 55)
    assert impatient.wait_probability < got.wait_probability and impatient.abandon_probability > 0
    # 40 agents for 48 Erlangs serve at most 40/48 of the calls: at least 1/6 must give up
    overloaded = erlang_a(720.0, 240.0, 60.0, 40)
    assert 1 - 40 / 48 <= overloaded.abandon_probability < 1
