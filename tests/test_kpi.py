"""KPIs over stints: hand-computed numbers for the edge cases, Asterisk's queue_log on real traces."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.metrics.kpi import KpiRules, SlVariant, csat, fcr, interval_start, kpis, kpis_by
from callcenter.queues.model import Outcome, StintRecord
from callcenter.replay import replay
from tests.asterisk_truth import TRACES, stint_truth

BASE = StintRecord(
    call_id="c",
    linked_id="l",
    queue="support",
    caller_num="100",
    caller_name="",
    outcome=Outcome.ANSWERED,
    joined_at=1_000.0,
    ended_at=1_100.0,
    wait_s=10.0,
    talk_s=60.0,
    agent="Ana",
    interface="PJSIP/1001",
    ended_by="agent",
    transfer_target=None,
    short_abandon=False,
    ring_no_answer=0,
    join_seen=True,
    end_seen=True,
)


def stint(
    n: int, outcome: Outcome = Outcome.ANSWERED, wait: float | None = 10.0, **kw: object
) -> StintRecord:
    talk = 60.0 if outcome is Outcome.ANSWERED else None
    short = outcome is Outcome.ABANDONED and wait is not None and wait < 5
    fields = {"call_id": f"c{n}", "linked_id": f"l{n}", "outcome": outcome, "wait_s": wait, "talk_s": talk,
              "short_abandon": short, **kw}  # fmt: skip
    return replace(BASE, **fields)  # type: ignore[arg-type]


def test_handle_time_adds_the_wrap_up_the_queue_gave() -> None:
    """AHT = Σ (talk + wrap-up) / answered with talk seen: (60 + 15) + (60 + 30) + (60 + unknown: 0)
    over 3 = 75 s; an abandoned call has neither."""
    records = [stint(1, wrapup_s=15.0), stint(2, wrapup_s=30.0), stint(3), stint(4, Outcome.ABANDONED)]
    d = kpis(records).as_dict(KpiRules())
    assert (d["avg_talk_s"], d["aht_s"]) == (60.0, 75.0)
    assert kpis([stint(5, Outcome.ABANDONED)]).as_dict(KpiRules())["aht_s"] is None


def test_no_calls_has_no_rates() -> None:
    d = kpis([]).as_dict(KpiRules())
    assert (d["offered"], d["answer_rate_pct"], d["service_level_pct"], d["asa_s"], d["max_wait_s"]) == (
        0, None, None, None, 0.0,
    )  # fmt: skip


def test_all_abandoned() -> None:
    records = [stint(1, Outcome.ABANDONED, 3.0), stint(2, Outcome.ABANDONED, 30.0)]
    d = kpis(records).as_dict(KpiRules(servicelevel_s=20))
    assert (d["offered"], d["abandoned"], d["short_abandoned"], d["answered"]) == (2, 2, 1, 0)
    assert d["answer_rate_pct"] == 0.0 and d["abandon_rate_pct"] == 100.0
    # (2 − 1) / (2 − 1): the short abandon left out of both
    assert d["abandon_rate_without_short_pct"] == 100.0
    assert d["asa_s"] is None and d["avg_wait_s"] == 16.5 and d["max_wait_s"] == 30.0
    # SL-4: 0 / (0 + 1 abandoned after 20 s) = 0 %; SL-1 has no answered call: no number
    assert d["service_level_pct"] == 0.0
    assert kpis(records).service_level(SlVariant.ANSWERED) is None


def test_the_four_service_levels_by_hand() -> None:
    # T = 20 s. Answered: waits 5, 20 (exactly T: within, as app_queue counts), 21, 40.
    # Abandoned: waits 2 (short), 15, 25. Timeout at 60, refused join (no wait).
    records = [stint(1, wait=5.0), stint(2, wait=20.0), stint(3, wait=21.0), stint(4, wait=40.0),
               stint(5, Outcome.ABANDONED, 2.0), stint(6, Outcome.ABANDONED, 15.0),
               stint(7, Outcome.ABANDONED, 25.0), stint(8, Outcome.TIMEOUT, 60.0),
               stint(9, Outcome.FULL, None)]  # fmt: skip
    k = kpis(records, KpiRules(servicelevel_s=20))
    assert k.service_level(SlVariant.ANSWERED) == 50.0  # 2 / 4
    assert k.service_level(SlVariant.ABANDONS_POSITIVE) == round(100 * 4 / 7, 2)  # (2 + 2) / (4 + 3)
    assert k.service_level(SlVariant.ABANDONS_NEGATIVE) == round(100 * 2 / 7, 2)  # 2 / (4 + 3)
    assert k.service_level(SlVariant.SHORT_ABANDONS_IGNORED) == 40.0  # 2 / (4 + 1)
    d = k.as_dict(KpiRules(servicelevel_s=20))
    assert (d["offered"], d["answered"], d["abandoned"], d["lost"]) == (9, 4, 3, 2)
    assert d["lost_by_cause"]["timeout"] == 1 and d["lost_by_cause"]["full"] == 1
    assert d["asa_s"] == 21.5  # (5 + 20 + 21 + 40) / 4
    assert d["avg_wait_s"] == round((5 + 20 + 21 + 40 + 2 + 15 + 25 + 60) / 8, 3)  # the refused never waited
    assert d["max_wait_s"] == 60.0 and d["avg_talk_s"] == 60.0
    assert d["answer_rate_pct"] == round(100 * 4 / 9, 2) and d["abandon_rate_pct"] == round(100 * 3 / 9, 2)
    assert d["service_level_formula"] == "answered within T / (answered + abandoned after T)"


def test_one_second_past_the_threshold_is_outside() -> None:
    at, past = stint(1, wait=20.0), stint(2, wait=20.001)
    assert kpis([at], KpiRules(servicelevel_s=20)).answered_within == 1
    assert kpis([past], KpiRules(servicelevel_s=20)).answered_within == 0


def test_a_call_across_midnight_counts_on_the_day_it_arrived() -> None:
    tz = "America/Argentina/Buenos_Aires"  # UTC−3, no DST
    join = datetime(2026, 10, 31, 23, 59, 30, tzinfo=ZoneInfo(tz)).timestamp()
    r = stint(1, joined_at=join, ended_at=join + 600)
    groups = kpis_by([r], ("interval",), KpiRules(timezone=tz), interval="day")
    assert list(groups) == [("2026-10-31T00:00:00-03:00",)]
    monthly = kpis_by([r], ("interval",), KpiRules(timezone=tz), interval="month")
    assert list(monthly) == [("2026-10-01T00:00:00-03:00",)]


def test_days_and_hours_across_a_dst_change() -> None:
    tz = ZoneInfo("Europe/Madrid")  # 2026-03-29: 02:00 CET becomes 03:00 CEST
    before = datetime(2026, 3, 29, 1, 30, tzinfo=tz).timestamp()
    after = before + 3600  # one real hour later: 03:30 CEST, the 02:xx hour never happened
    assert interval_start(after, "hour", tz).isoformat() == "2026-03-29T03:00:00+02:00"
    assert interval_start(before, "day", tz) == interval_start(after, "day", tz)
    assert interval_start(after, "day", tz).isoformat() == "2026-03-29T00:00:00+01:00"
    assert interval_start(after, "week", tz).isoformat() == "2026-03-23T00:00:00+01:00"  # Monday
    assert interval_start(after, "15min", tz).isoformat() == "2026-03-29T03:30:00+02:00"
    records = [
        stint(1, joined_at=before, ended_at=before + 60),
        stint(2, joined_at=after, ended_at=after + 60),
    ]
    hours = kpis_by(records, ("interval",), KpiRules(timezone="Europe/Madrid"), interval="hour")
    assert [k[0] for k in hours] == ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"]


def test_by_queue_and_agent_with_each_queues_own_threshold() -> None:
    records = [stint(1, wait=25.0), stint(2, wait=25.0, queue="support-l2", agent="Bea")]
    groups = kpis_by(records, ("queue", "agent"), servicelevel_for={"support-l2": 30}.get)
    assert {k: g.answered_within for k, g in groups.items()} == {
        ("support", "Ana"): 0,
        ("support-l2", "Bea"): 1,
    }


def test_fcr_from_repeat_calls() -> None:
    day = 86400.0
    records = [
        stint(1, caller_num="A", joined_at=0.0, ended_at=100.0),  # A calls again 2 days later: not resolved
        stint(2, caller_num="A", joined_at=2 * day, ended_at=2 * day + 100),  # and not after: resolved
        stint(3, caller_num="B", joined_at=0.0, ended_at=100.0),  # B once: resolved
        stint(4, Outcome.ABANDONED, 30.0, caller_num="C", joined_at=0.0, ended_at=30.0),  # not answered
        stint(5, caller_num="C", joined_at=60.0, ended_at=200.0),  # C's second try, answered, last
        stint(6, caller_num="", joined_at=0.0, ended_at=50.0),  # unknown number: left out
    ]
    assert fcr(records, 7 * day) == (3, 4)
    assert fcr(records, 1 * day) == (4, 4)  # A's return is outside a 1-day window


@pytest.mark.parametrize("name", ["n_mixed_load", "k_escalation", "s_load_3cps_60s", "c_abandon_after_5s"])
def test_kpis_on_real_traces_equal_queue_log(name: str) -> None:
    """Answered, abandoned, SL-1 at each queue's threshold, ASA and the longest wait from the KPIs
    of a replay equal what Asterisk's own queue_log lines give."""
    truth = stint_truth((TRACES / f"{name}.queue_log").read_text().splitlines())
    report = replay(TRACES / f"{name}.ami.gz")
    records = [
        replace(
            BASE,
            call_id=c["id"],
            queue=c["queue"],
            outcome=Outcome(c["outcome"]),
            wait_s=c["wait_s"],
            talk_s=c["talk_s"],
            short_abandon=c["short_abandon"],
        )
        for c in report["calls"]
        if not c["in_progress"]
    ]
    levels = {q: f["servicelevel_s"] for q, f in report["queues"].items()}
    groups = kpis_by(records, ("queue",), servicelevel_for=levels.get)
    for (queue,), k in groups.items():
        mine = {key: s for key, s in truth.items() if key[1] == queue}
        answered = [s for s in mine.values() if s["outcome"] == "answered"]
        abandoned = [s for s in mine.values() if s["outcome"] == "abandoned"]
        assert (k.answered, k.abandoned) == (len(answered), len(abandoned)), queue
        within = sum(s["wait_s"] <= levels[queue] for s in answered)
        assert k.answered_within == within, queue
        if answered:
            assert k.as_dict(KpiRules())["asa_s"] == round(
                sum(s["wait_s"] for s in answered) / len(answered), 3
            )
        waits = [s["wait_s"] for s in mine.values() if s["wait_s"] is not None]
        assert k.max_wait_s == max(waits, default=0.0), queue


def test_csat_by_hand() -> None:
    got = csat([5, 4, 3, 1, 5, 0, 9])  # 0 and 9 are mistyped digits, not on the 1-5 scale
    assert (got.responses, got.top_two_pct, got.mean, got.out_of_scale) == (5, 60.0, 3.6, 2)
    assert got.response_rate_pct(20) == 25.0
    assert csat([]).top_two_pct is None and csat([]).mean is None
