"""Live figures by the site's day and current interval (the wallboard's "today" and "now")."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from callcenter.metrics.window import Window
from callcenter.queues import changes as ch
from callcenter.queues.model import Outcome
from callcenter.sinks import Totals
from tests.test_kpi import stint

TZ = "America/Bogota"


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(TZ)).timestamp()


def test_a_day_that_starts_at_six() -> None:
    w = Window(TZ, day_start_min=6 * 60, interval_min=30)
    assert w.day(at(7, 5, 59)) == date(2026, 12, 6)
    assert w.day(at(7, 6, 0)) == date(2026, 12, 7)
    assert w.day_starts(date(2026, 12, 7)) == at(7, 6, 0)
    assert w.interval(at(7, 10, 29)) == at(7, 10, 0) and w.interval(at(7, 10, 30)) == at(7, 10, 30)
    assert Window(TZ, interval_min=15).interval(at(7, 10, 44)) == at(7, 10, 30)
    assert Window(TZ, interval_min=60).interval(at(7, 10, 44)) == at(7, 10, 0)


def ended(n: int, joined: float, outcome: Outcome = Outcome.ANSWERED) -> ch.StintEnded:
    return ch.StintEnded(stint(n, outcome, joined_at=joined, ended_at=joined + 90))


def test_totals_keep_the_day_and_the_interval_only() -> None:
    totals = Totals(lambda queue: 20, Window(TZ, interval_min=30))
    for n, joined in enumerate([at(6, 23, 50), at(7, 10, 5), at(7, 10, 20)], 1):
        totals.add(ended(n, joined))
    # the 6th's call is gone from the day's figures once the 7th's began
    assert totals.so_far("support", at(7, 10, 25)).offered == 2
    start, recent = totals.this_interval("support", at(7, 10, 25))
    assert (start, recent.offered) == (at(7, 10, 0), 2)
    totals.add(ended(4, at(7, 10, 31), Outcome.ABANDONED))
    start, recent = totals.this_interval("support", at(7, 10, 40))
    assert (start, recent.offered, recent.abandoned) == (at(7, 10, 30), 1, 1)
    # a late end of a call that arrived the day before does not count today
    totals.add(ended(5, at(6, 23, 59)))
    assert totals.so_far("support", at(7, 11, 0)).offered == 3
    # a new interval with no call yet, and a new day with no call yet: empty, not stale numbers
    assert totals.this_interval("support", at(7, 11, 5))[1].offered == 0
    assert totals.so_far("support", at(8, 0, 1)).offered == 0


def test_calls_asterisk_counted_unseen_are_flagged_for_the_day() -> None:
    """CallsUnseen adds up per queue over the site's day (from the day's start at the earliest)
    and is gone with the day, as the figures it qualifies are."""
    totals = Totals(lambda queue: 20, Window(TZ, interval_min=30))
    totals.flag(ch.CallsUnseen(at(6, 23, 0), "support", at(6, 22, 0), 4))  # yesterday's
    assert totals.unseen_today("support", at(6, 23, 30)) == (at(6, 22, 0), at(6, 23, 0), 4)
    assert totals.unseen_today("support", at(7, 0, 5)) is None
    totals.flag(ch.CallsUnseen(at(7, 0, 10), "support", at(6, 23, 0), 2))  # a gap across midnight
    totals.flag(ch.CallsUnseen(at(7, 9, 0), "support", at(7, 8, 55), 3))
    assert totals.unseen_today("support", at(7, 9, 1)) == (at(7, 0, 0), at(7, 9, 0), 5)
    assert totals.unseen_today("sales", at(7, 9, 1)) is None
