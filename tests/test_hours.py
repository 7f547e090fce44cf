"""Business hours: parsing, the site's clock, and every KPI path leaving out the same calls."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.metrics.hours import parse, parse_text
from callcenter.metrics.kpi import KpiRules, kpis, kpis_by
from callcenter.queues.model import Outcome
from callcenter.store import open_store
from tests.test_kpi import stint

BOGOTA = ZoneInfo("America/Bogota")  # UTC-5, no DST
MADRID = ZoneInfo("Europe/Madrid")


def local(tz: ZoneInfo, day: int, hour: int, minute: int = 0, month: int = 12) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=tz).timestamp()


def test_hours_are_read_as_the_operator_writes_them() -> None:
    hours = parse({"mon-fri": "08:00-18:00", "sat": "09:00-13:00, 15:00-17:00"})
    # Monday is minute 0 of the week; Saturday (day 5) has two spans
    assert hours.spans[:2] == ((8 * 60, 18 * 60), (1440 + 8 * 60, 1440 + 18 * 60))
    assert hours.spans[-2:] == ((5 * 1440 + 540, 5 * 1440 + 780), (5 * 1440 + 900, 5 * 1440 + 1020))
    assert parse_text("mon-fri 08:00-18:00; sat 09:00-13:00, 15:00-17:00") == replace(
        hours, text="mon-fri 08:00-18:00; sat 09:00-13:00, 15:00-17:00"
    )
    assert parse({"sun": "00:00-24:00"}).spans == ((6 * 1440, 7 * 1440),)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({}, "expected days and hours"),
        ({"monday": "08:00-18:00"}, "expected days such as"),
        ({"fri-mon": "08:00-18:00"}, "runs forwards"),
        ({"mon": "8-18"}, "HH:MM-HH:MM"),
        ({"mon": "18:00-08:00"}, "not a span of one day"),
        ({"mon": "08:00-24:30"}, "not a span of one day"),
        ({"mon": 8}, "expected hours as text"),
    ],
)
def test_bad_hours_say_what_is_wrong(spec: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse(spec)


def test_a_call_is_in_hours_by_its_arrival_on_the_sites_clock(tmp_path: Path) -> None:
    """2026-12-04 is a Friday: 17:59 is in, 18:00 (the end) is out; Saturday 12:59 in, Sunday out."""
    hours = parse({"mon-fri": "08:00-18:00", "sat": "09:00-13:00"})
    assert hours.open_at(local(BOGOTA, 4, 17, 59), BOGOTA)
    assert not hours.open_at(local(BOGOTA, 4, 18, 0), BOGOTA)
    assert hours.open_at(local(BOGOTA, 5, 12, 59), BOGOTA)
    assert not hours.open_at(local(BOGOTA, 6, 10, 0), BOGOTA)
    # Madrid, the Monday after summer time ended (2026-10-26): 08:00 local is 07:00 UTC, not 06:00
    assert hours.open_at(local(MADRID, 26, 8, 0, month=10), MADRID)
    assert not hours.open_at(local(MADRID, 26, 8, 0, month=10) - 60, MADRID)
    arrivals = [(4, 17, 59), (4, 18, 0), (5, 12, 59), (6, 10, 0)]
    records = [
        stint(i, joined_at=local(BOGOTA, *a), ended_at=local(BOGOTA, *a) + 60) for i, a in enumerate(arrivals)
    ]
    rules = KpiRules(timezone="America/Bogota", business_hours=hours)
    assert kpis(records, rules).offered == 2
    assert kpis(records, KpiRules(timezone="America/Bogota")).offered == 4
    s = open_store(tmp_path / "store.sqlite3")  # Arrow's: the same two (the database's: test_store)
    s.write("pbx1", [(i, r) for i, r in enumerate(records)])
    if importlib.util.find_spec("pyarrow") is not None:
        from callcenter.metrics.columnar import kpis_arrow
        from callcenter.store.archive import load

        assert sum(k.offered for k in kpis_arrow(load(s, 0.0, 2e9), ("queue",), rules).values()) == 2
    s.close()


def test_every_path_leaves_out_the_same_calls(tmp_path: Path) -> None:
    """Python, the database's sums and Arrow over the day files: the same KPIs in business hours."""
    pytest.importorskip("pyarrow")
    from callcenter.metrics.columnar import kpis_arrow
    from callcenter.store.archive import archive, load
    from tests.test_store import _spread

    records = _spread(3000)
    hours = parse({"mon-fri": "08:00-18:00", "sat": "09:00-13:00"})
    rules = KpiRules(servicelevel_s=20, timezone="Europe/Madrid", business_hours=hours)
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(records)])
    archive(s, before=1773878400.0)
    want = kpis_by(records, ("queue", "interval"), rules, interval="hour")
    assert 0 < sum(k.offered for k in want.values()) < len(records) / 2
    by_sql = s.kpis(1772319600.0, 1775000000.0, by=("queue", "interval"), rules=rules, interval="hour")
    by_arrow = kpis_arrow(load(s, 1772319600.0, 1775000000.0), ("queue", "interval"), rules, interval="hour")
    for got in (by_sql, by_arrow):
        assert list(got) == list(want)
        assert all(got[k].as_dict(rules) == want[k].as_dict(rules) for k in want)
    s.close()


def test_the_report_counts_business_hours_only(tmp_path: Path) -> None:
    """October 1st 2026 is a Thursday: with "thu 09:00-10:00" only its three 09:xx calls count
    (of the month's six), on every path; the page says so."""
    from callcenter.reports.monthly import figures, month_data, month_data_from_store, render
    from tests.test_reports import MONTH, RULES

    rules = replace(RULES, business_hours=parse_text("thu 09:00-10:00"))
    want = figures(month_data(MONTH, rules), "2026-10", rules)
    assert (want.total["offered"], want.total["answered"], want.fcr) == (3, 3, (3, 3))
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx", [(i + 1, r) for i, r in enumerate(MONTH)])
    for columnar in (False, True):
        assert (
            figures(month_data_from_store(s, "2026-10", rules, columnar=columnar), "2026-10", rules) == want
        )
    s.close()
    assert "Business hours only</b> (thu 09:00-10:00)" in render(want)


def test_an_abandoned_call_outside_hours_is_not_in_the_abandon_buckets(tmp_path: Path) -> None:
    from callcenter.reports.monthly import WAIT_BUCKETS

    s = open_store(tmp_path / "store.sqlite3")
    late = stint(
        1, Outcome.ABANDONED, 40.0, joined_at=local(BOGOTA, 4, 19, 0), ended_at=local(BOGOTA, 4, 19, 1)
    )
    s.write("pbx", [(1, late)])
    rules = KpiRules(timezone="America/Bogota", business_hours=parse_text("mon-fri 08:00-18:00"))
    assert sum(s.abandon_wait_counts(0.0, 2e9, WAIT_BUCKETS)) == 1
    assert sum(s.abandon_wait_counts(0.0, 2e9, WAIT_BUCKETS, rules)) == 0
    s.close()
