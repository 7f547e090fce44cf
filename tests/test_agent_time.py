"""Agents' time by state, pauses, occupancy and utilization: numbers by hand."""

from __future__ import annotations

import pytest

from callcenter.metrics.agent_time import agent_time

ANA = "PJSIP/1001"


def test_a_shift_by_hand() -> None:
    changes = [
        (0.0, ANA, "Ana", "available", ""),  # before the period: holds into it
        (100.0, ANA, "Ana", "ringing", ""),
        (110.0, ANA, "Ana", "on_call", ""),
        (410.0, ANA, "Ana", "wrap_up", ""),
        (440.0, ANA, "Ana", "available", ""),
        (500.0, ANA, "Ana", "paused", "lunch"),
        (2300.0, ANA, "Ana", "available", ""),
        (2400.0, ANA, "Ana", "paused", "training"),
        (3000.0, ANA, "Ana", "logged_out", ""),
        (9999.0, ANA, "Ana", "available", ""),  # after the period
    ]
    t = agent_time(changes, start=50.0, end=3600.0)[ANA]
    s = t.seconds
    # available 50-100, 440-500, 2300-2400 = 50 + 60 + 100; ringing 10; on call 300; wrap-up 30
    assert (s["available"], s["ringing"], s["on_call"], s["wrap_up"]) == (210.0, 10.0, 300.0, 30.0)
    assert (s["paused"], s["logged_out"]) == (1800.0 + 600.0, 600.0)
    assert t.pauses == {"lunch": (1, 1800.0), "training": (1, 600.0)}
    # occupancy (300 + 30) / (300 + 30 + 210 + 10) = 60 %; utilization 330 / 2950 logged in
    assert t.occupancy_pct == 60.0
    assert t.utilization_pct == pytest.approx(100 * 330 / 2950, abs=0.005)
    assert t.logged_in_s == 2950.0


def test_a_pause_begun_before_the_period_counts_its_time_not_a_new_pause() -> None:
    t = agent_time([(0.0, ANA, "Ana", "paused", "meeting")], start=100.0, end=200.0)[ANA]
    assert t.pauses == {"meeting": (0, 100.0)} and t.occupancy_pct is None
