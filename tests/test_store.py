"""The store on both engines: every field kept, writes idempotent, migrations, clear refusals."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from callcenter.fanout import FanOut, Positioned
from callcenter.journal import DATA, LINK, JournalRow
from callcenter.metrics.kpi import KpiRules, kpis_by
from callcenter.queues import changes as ch
from callcenter.queues.model import AgentState, Outcome, StintRecord
from callcenter.replay import replay
from callcenter.store import StoreError, open_store
from callcenter.store.schema import LATEST, MIGRATIONS
from callcenter.store.sink import StoreSink, journal_changes, write_all
from callcenter.store.sql import SqlStore
from tests.asterisk_truth import expected, refused_joins, stints, stream

ANSWERED = StintRecord(
    call_id="1796605128.159",
    linked_id="1796605128.158",
    queue="support",
    caller_num="+5491155550001",
    caller_name="José 'Pepe' Núñez",
    outcome=Outcome.ANSWERED,
    joined_at=1796605128.25,
    ended_at=1796605188.5,
    wait_s=5.0,
    talk_s=48.0,
    agent="Ciro",
    interface="Local/agent3@agents/n",
    ended_by="agent",
    transfer_target=None,
    short_abandon=False,
    ring_no_answer=1,
    join_seen=True,
    end_seen=True,
)
ADOPTED = StintRecord(
    call_id="1796605200.7",
    linked_id="1796605200.6",
    queue="support-l2",
    caller_num="",
    caller_name="",
    outcome=Outcome.UNKNOWN,
    joined_at=None,
    ended_at=1796605300.0,
    wait_s=None,
    talk_s=None,
    agent=None,
    interface=None,
    ended_by=None,
    transfer_target="700@transfer",
    short_abandon=True,
    ring_no_answer=0,
    join_seen=False,
    end_seen=False,
)
PAUSE = ch.AgentChanged(1796605190.0, "Local/agent3@agents/n", "Ciro", AgentState.PAUSED, "lunch")


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(where: str) -> Iterator[SqlStore]:
    s = open_store(where)
    yield s
    s.close()


def test_every_field_comes_back(store: SqlStore) -> None:
    assert store.write("pbx1", [(10, ANSWERED), (12, ADOPTED)], [(11, PAUSE)]) == 2
    assert store.stints() == [ANSWERED, ADOPTED]
    assert store.agent_states() == [(PAUSE.at, PAUSE.interface, "Ciro", "paused", "lunch")]
    assert store.position("pbx1") == 12 and store.position("pbx2") == 0


def test_business_hours_in_the_database(store: SqlStore) -> None:
    """Both engines cut a week's local minutes alike: Friday 17:59 and Saturday 12:59 (Bogotá) are
    in "mon-fri 08:00-18:00; sat 09:00-13:00", Friday 18:00 and Sunday are not."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from callcenter.metrics.hours import parse_text

    def bogota(day: int, hour: int, minute: int) -> float:
        return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("America/Bogota")).timestamp()

    arrivals = [bogota(4, 17, 59), bogota(4, 18, 0), bogota(5, 12, 59), bogota(6, 10, 0)]
    records = [
        replace(ANSWERED, call_id=f"c{i}", linked_id=f"l{i}", joined_at=t, ended_at=t + 60)
        for i, t in enumerate(arrivals)
    ]
    store.write("pbx1", list(enumerate(records, 1)))
    hours = parse_text("mon-fri 08:00-18:00; sat 09:00-13:00")
    rules = KpiRules(timezone="America/Bogota", business_hours=hours)
    assert [k.offered for k in store.kpis(0.0, 2e9, by=(), rules=rules).values()] == [2]
    # one number: Friday's call is repeated by Saturday's (18 h 59 min later), which is resolved
    assert store.fcr(0.0, 2e9, 86400.0, rules) == (1, 2)


def test_sessions_pauses_and_rings_are_stored_once(store: SqlStore) -> None:
    batch = [
        (5, ch.SessionEnded("support", "PJSIP/1", "Ana", 100.0, 900.0)),
        (5, ch.PauseEnded("support", "PJSIP/1", "Ana", "lunch", 200.0, 500.0, whole=False)),
        (6, ch.RingUnanswered(300.0, "c1", "support", "Ana", "PJSIP/1", 15.0)),
        (7, ch.RingUnanswered(310.0, "c2", "support", "Bea", "PJSIP/2", None)),
    ]
    for _ in range(2):  # a batch written again (a catch-up from the journal) adds nothing
        store.write_changes("pbx1", batch)
    assert store.sessions(0.0, 2e9) == [("support", "PJSIP/1", "Ana", 100.0, 900.0, True)]
    assert store.pauses(0.0, 2e9) == [("support", "PJSIP/1", "Ana", "lunch", 200.0, 500.0, False)]
    assert store.ring_no_answers(0.0, 305.0) == [(300.0, "c1", "support", "Ana", "PJSIP/1", 15.0)]
    assert len(store.ring_no_answers(0.0, 2e9)) == 2 and store.sessions(901.0, 2e9) == []


def test_the_store_knows_until_its_last_news(store: SqlStore) -> None:
    assert store.seen_until() is None  # an empty store knows of no moment
    store.write("pbx1", [(10, ANSWERED)], [(11, PAUSE)])
    assert store.seen_until() == max(ANSWERED.ended_at, PAUSE.at)
    store.save_checkpoint("pbx1", 11, PAUSE.at + 300, b"state")  # a stop, five minutes later
    assert store.seen_until() == PAUSE.at + 300


def test_a_callers_latest_stints_newest_first(store: SqlStore) -> None:
    """What a pop shows of a number's past: its stints ended before the ring, newest first, capped."""
    calls = [replace(ANSWERED, call_id=f"c{i}", ended_at=ANSWERED.ended_at + 60 * i) for i in range(5)]
    other = replace(ANSWERED, call_id="o", caller_num="+1 555 0100")
    store.write("pbx1", list(enumerate([*calls, other], 1)))
    got = store.caller_stints(ANSWERED.caller_num, before=ANSWERED.ended_at + 200, limit=2)
    assert [r.call_id for r in got] == ["c3", "c2"]  # c4 ended after the ring, c1 and c0 past the cap
    assert store.caller_stints("+0 000", before=2e9) == []


def test_tickets_are_saved_once_per_call_and_found_by_caller(store: SqlStore) -> None:
    from callcenter.cti.tickets import DEFAULT_CATEGORIES, ticket_from_form

    call = {"call_id": "c1", "caller_num": "+5491155550001", "caller_name": "Núñez", "queue": "support",
            "member": "Bruno", "interface": "PJSIP/1002"}  # fmt: skip
    form = {"category": "Email", "impact": "low", "urgency": "low"}
    first = ticket_from_form(
        form, server="pbx", call=call, existing=None, categories=DEFAULT_CATEGORIES, now=1000.0
    )
    store.save_ticket(first)
    assert store.ticket("pbx", "c1") == first and store.open_tickets("+5491155550001") == [first]
    solved = ticket_from_form({**form, "solved_on_call": True}, server="pbx", call=call, existing=first,
                              categories=DEFAULT_CATEGORIES, now=2000.0)  # fmt: skip
    store.save_ticket(solved)
    assert store.tickets(0.0, 2e9) == [solved] and store.ticket("pbx", "c1") == solved
    assert store.open_tickets("+5491155550001") == [] and store.tickets(1001.0, 2e9) == []
    other = ticket_from_form({**form, "urgency": "high"}, server="pbx", call={**call, "call_id": "c2"},
                             existing=None, categories=DEFAULT_CATEGORIES, now=3000.0)  # fmt: skip
    store.save_ticket(other)
    assert store.unsolved_tickets() == [other]  # the solved one is not watched


def test_a_stint_back_filled_before_its_ami_end_arrived_is_replaced_not_doubled(store: SqlStore) -> None:
    """The daemon's back-fill read queue_log's line of a call whose AMI end was still on its way to
    the store (seen once in CI): the AMI stint replaces the queue_log one ended in the same
    seconds; the same call's earlier stint in that queue, from queue_log, stays."""
    logged = replace(ANSWERED, source="queue_log", ended_at=float(int(ANSWERED.ended_at)), end_seen=True)
    earlier = replace(logged, ended_at=logged.ended_at - 600, joined_at=logged.joined_at - 700)
    assert store.backfill("pbx1", [earlier, logged]) == (2, 0)
    store.write("pbx1", [(10, ANSWERED)])  # ended .5 s after queue_log's whole second
    assert sorted((r.source, r.ended_at) for r in store.stints()) == [
        ("ami", ANSWERED.ended_at), ("queue_log", earlier.ended_at)]  # fmt: skip


def test_writing_twice_stores_once(store: SqlStore) -> None:
    assert store.write("pbx1", [(10, ANSWERED)], [(11, PAUSE)]) == 1
    assert store.write("pbx1", [(10, ANSWERED), (12, ADOPTED)], [(11, PAUSE)]) == 1
    assert store.write("pbx1", [(10, ANSWERED)]) == 0
    assert len(store.stints()) == 2 and len(store.agent_states()) == 1
    # the position never goes back when an older batch is written again
    assert store.position("pbx1") == 12
    # the same call on another server is another stint
    assert store.write("pbx2", [(1, ANSWERED)]) == 1


def test_filters_by_time_queue_agent_and_caller(store: SqlStore) -> None:
    store.write("pbx1", [(1, ANSWERED), (2, ADOPTED)])
    end = ANSWERED.ended_at
    assert store.stints(start=end, end=end + 1) == [ANSWERED]  # [start, end)
    assert store.stints(start=end + 0.001) == [ADOPTED]
    assert store.stints(end=end) == []
    assert store.stints(queue="support-l2") == [ADOPTED]
    assert store.stints(agent="Ciro") == [ANSWERED]
    assert store.stints(caller="+5491155550001") == [ANSWERED]


def test_migrations_upgrade_an_older_store_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    v1 = SqlStore(conn, postgres=False, target=str(path))
    assert v1.migrate(up_to=1) == [1]
    conn.execute(
        "INSERT INTO stints VALUES ('pbx1', 3, 'c1', 'l1', 'support', '100', 'Ana', 'answered', 1.0, 9.0, "
        "2.0, 6.0, 'Bea', 'PJSIP/1', 'caller', NULL, 0, 0, 1, 1)"
    )
    v1.close()
    reader_refuses = pytest.raises(StoreError, match=f"store schema 1, this callcenter reads {LATEST}")
    with reader_refuses:
        open_store(path, create=False)
    upgraded = open_store(path)
    assert upgraded.version() == LATEST == MIGRATIONS[-1][0]
    (kept,) = upgraded.stints()
    assert (kept.call_id, kept.wait_s, kept.talk_s, kept.agent) == ("c1", 2.0, 6.0, "Bea")
    upgraded.write("pbx1", [], [(4, PAUSE)])  # the table version 2 added
    assert len(upgraded.agent_states()) == 1
    assert upgraded.migrate() == []  # nothing left to do
    upgraded.close()


def test_postgres_migrations_upgrade_too(postgres_url: str) -> None:
    import psycopg

    conn = psycopg.connect(postgres_url, autocommit=True)
    v1 = SqlStore(conn, postgres=True, target="pg")
    assert v1.migrate(up_to=1) == [1]
    v1.close()
    upgraded = open_store(postgres_url)
    assert upgraded.version() == LATEST
    upgraded.close()


def test_foreign_and_missing_inputs_get_one_line(tmp_path: Path) -> None:
    cases = {
        tmp_path / "missing.sqlite3": "no such file",
        tmp_path / "empty.sqlite3": "an empty file",
        tmp_path / "noise.sqlite3": "not an SQLite database",
        tmp_path / "other.sqlite3": "not a callcenter store",
    }
    (tmp_path / "empty.sqlite3").write_bytes(b"")
    (tmp_path / "noise.sqlite3").write_bytes(bytes(range(256)) * 8)
    other = sqlite3.connect(tmp_path / "other.sqlite3")
    other.execute("CREATE TABLE invoices (n INTEGER)")
    other.commit()
    other.close()
    before = {p: p.read_bytes() for p in cases if p.exists()}
    for path, words in cases.items():
        with pytest.raises(StoreError, match=words) as info:
            open_store(path, create=False)
        assert "\n" not in str(info.value)
    assert {p: p.read_bytes() for p in before} == before  # read-only: nothing written to any
    # and a writer will not take over another program's database
    with pytest.raises(StoreError, match="a database of something else"):
        open_store(tmp_path / "other.sqlite3")
    with pytest.raises(StoreError, match="expected an SQLite file's path or a postgresql:// URL"):
        open_store("mysql://x@y/z")


def _journal_of(trace: str) -> list[JournalRow]:
    """A trace as the daemon would have journaled it: a banner row, then one row per chunk."""
    data = stream(trace)
    banner, _, rest = data.partition(b"\r\n")
    rows = [JournalRow("pbx1", 0.0, LINK, banner)]
    return rows + [JournalRow("pbx1", 0.0, DATA, rest[i : i + 4096]) for i in range(0, len(rest), 4096)]


def test_a_journal_stored_twice_is_stored_once_and_equals_replay(store: SqlStore, tmp_path: Path) -> None:
    rows = _journal_of("n_mixed_load")
    first = write_all(store, "pbx1", journal_changes(rows))
    assert write_all(store, "pbx1", journal_changes(rows)) == 0
    stored = store.stints()
    assert first == len(stored)
    trace = tmp_path / "n_mixed_load.ami"
    trace.write_bytes(stream("n_mixed_load"))
    calls = [c for c in replay(trace)["calls"] if not c["in_progress"]]
    assert sorted((r.call_id, r.queue, r.outcome.value, r.wait_s, r.talk_s) for r in stored) == sorted(
        (c["id"], c["queue"], c["outcome"], c["wait_s"], c["talk_s"]) for c in calls
    )
    # and equal to Asterisk's: each queue_log stint with its outcome, plus the refused joins
    # (which queue_log never writes; the dialplan's QueueResult events name them)
    refused = {Outcome.JOINEMPTY, Outcome.FULL, Outcome.JOINUNAVAIL}
    assert {(r.call_id, r.queue): r.outcome.value for r in stored if r.outcome not in refused} == stints(
        "n_mixed_load"
    )
    assert sorted((r.queue, r.outcome.value.upper()) for r in stored if r.outcome in refused) == sorted(
        refused_joins("n_mixed_load")
    )


def test_the_sink_catches_up_from_the_journal_after_an_overflow(tmp_path: Path) -> None:
    rows = _journal_of("n_mixed_load")
    store = open_store(tmp_path / "store.sqlite3")
    sink = StoreSink(store, "pbx1", lambda: rows)
    fanout = FanOut(queued=[sink], capacity=50)  # far too small: the lane overflows

    async def go() -> None:
        runner = asyncio.create_task(fanout.run())
        for position, change in journal_changes(rows):
            fanout.publish("pbx1", position, [change])
        for _ in range(500):
            await asyncio.sleep(0.01)
            if len(store.stints()) == 351 and all(lane.queue.empty() for lane in fanout.lanes):
                break
        runner.cancel()

    asyncio.run(go())
    assert len(store.stints()) == 351  # as above: 327 stints of queue_log and 24 refused joins
    assert fanout.lanes[0].failures == 0
    store.close()


def test_recovery_does_not_rewrite_what_is_stored(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    store.write("pbx1", [(10, ANSWERED)])
    sink = StoreSink(store, "pbx1", None)
    assert sink.stored_upto == 10
    again = [Positioned("pbx1", 10, ch.StintEnded(ANSWERED), live=False)]
    later = [Positioned("pbx1", 12, ch.StintEnded(ADOPTED), live=False)]
    asyncio.run(sink.consume(again + later))
    assert store.stints() == [ANSWERED, ADOPTED]
    store.close()


def _spread(n: int) -> list[StintRecord]:
    """n stints of every outcome, spread over March 2026 in Madrid (DST starts on the 29th),
    waits around a 20 s threshold (20 exactly included), some without wait or talk, two queues."""
    import random

    from callcenter.queues.model import LOST_OUTCOMES

    rng = random.Random(7)
    outcomes = [Outcome.ANSWERED] * 6 + [Outcome.ABANDONED] * 2 + list(LOST_OUTCOMES) + [Outcome.UNKNOWN]
    start = 1772319600.0  # 2026-03-01T00:00:00+01:00
    out = []
    for i in range(n):
        joined = start + rng.uniform(0, 31 * 86400 - 3600)
        outcome = rng.choice(outcomes)
        wait = rng.choice([None, 0.0, 5.0, 19.0, 20.0, 21.0, 45.0])
        talk = rng.choice([None, 30.0, 61.5]) if outcome is Outcome.ANSWERED else None
        queue = rng.choice(["support", "support-l2"])
        short = outcome is Outcome.ABANDONED and wait is not None and wait < 5
        out.append(replace(ANSWERED, call_id=f"c{i}", linked_id=f"l{i}", queue=queue, outcome=outcome,
                           joined_at=joined if i % 10 else None, ended_at=joined + 100, wait_s=wait,
                           talk_s=talk, agent=rng.choice(["Ana", "Bea", None]), short_abandon=short,
                           wrapup_s=rng.choice([None, 0.0, 15.0]) if talk is not None else None))  # fmt: skip
    return out


GROUPINGS = [(("queue",), "day"), (("queue", "interval"), "hour"), (("interval",), "day"),
             (("agent", "interval"), "week"), (("interval",), "month"), (("interval",), "15min")]  # fmt: skip


@pytest.mark.parametrize(("by", "interval"), GROUPINGS)
def test_kpis_added_up_by_the_database_equal_kpis_by(
    store: SqlStore, by: tuple[str, ...], interval: str
) -> None:
    """The database's sums give the same KPIs as the Python path (whose numbers are checked by
    hand in tests/test_kpi.py), group for group, across the change to summer time."""
    records = _spread(3000)
    store.write("pbx1", [(i, r) for i, r in enumerate(records)])
    rules = KpiRules(servicelevel_s=20, timezone="Europe/Madrid")
    levels = {"support-l2": 30.0}
    got = store.kpis(1772319600.0, 1775000000.0, by=by, rules=rules, interval=interval, thresholds=levels)
    want = kpis_by(records, by, rules, interval=interval, servicelevel_for=levels.get)
    assert list(got) == list(want)
    for key in want:
        assert got[key].as_dict(rules) == want[key].as_dict(rules), key


def test_fcr_and_abandon_waits_added_up_by_the_database_equal_the_python_path(store: SqlStore) -> None:
    import random

    from callcenter.metrics.kpi import fcr
    from callcenter.reports.monthly import WAIT_BUCKETS, wait_bucket_counts

    rng = random.Random(3)
    records = [replace(r, caller_num=rng.choice(["100", "101", "102", ""])) for r in _spread(2000)]
    store.write("pbx1", [(i, r) for i, r in enumerate(records)])
    for window in (3600.0, 86400.0, 7 * 86400.0):
        assert store.fcr(0.0, 2e9, window) == fcr(records, window)
    waits = [r.wait_s for r in records if r.outcome is Outcome.ABANDONED and r.wait_s is not None]
    assert store.abandon_wait_counts(0.0, 2e9, WAIT_BUCKETS) == wait_bucket_counts(waits)


@pytest.mark.parametrize(("by", "interval"), GROUPINGS)
def test_kpis_added_up_by_arrow_equal_kpis_by(tmp_path: Path, by: tuple[str, ...], interval: str) -> None:
    """The columnar path (day files read with Arrow) gives the Python path's KPIs too, from a mix
    of archived days and days read from the store."""
    pytest.importorskip("pyarrow")
    from callcenter.metrics.columnar import kpis_arrow
    from callcenter.store.archive import archive, load

    records = _spread(3000)
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(records)])
    written = archive(s, before=1773878400.0)  # the days before 2026-03-19 UTC; the rest from SQLite
    assert 17 <= len(written) <= 19 and archive(s, before=1773878400.0) == []  # nothing twice
    rules = KpiRules(servicelevel_s=20, timezone="Europe/Madrid")
    levels = {"support-l2": 30.0}
    table = load(s, 1772319600.0, 1775000000.0)
    assert table.num_rows == len(records)
    got = kpis_arrow(table, by, rules, interval=interval, thresholds=levels)
    want = kpis_by(records, by, rules, interval=interval, servicelevel_for=levels.get)
    assert list(got) == list(want)
    for key in want:
        assert got[key].as_dict(rules) == want[key].as_dict(rules), key
    s.close()


def test_a_late_stint_rewrites_its_day_file(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from callcenter.store.archive import archive, load

    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(1, ANSWERED)])
    (first,) = archive(s, before=2e9)
    late = replace(ANSWERED, call_id="late", ended_at=ANSWERED.ended_at + 60)
    s.write("pbx1", [(2, late)])
    assert archive(s, before=2e9) == [first]  # the day's count changed: written again, whole
    assert sorted(load(s, 0.0, 2e9)["call_id"].to_pylist()) == [ANSWERED.call_id, "late"]
    s.close()


def test_fcr_and_abandon_waits_by_arrow_equal_the_python_path(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import random

    from callcenter.metrics.columnar import abandon_waits_arrow, fcr_arrow
    from callcenter.metrics.kpi import fcr
    from callcenter.reports.monthly import WAIT_BUCKETS, wait_bucket_counts
    from callcenter.store.archive import load

    rng = random.Random(3)
    records = [replace(r, caller_num=rng.choice(["100", "101", "102", ""])) for r in _spread(2000)]
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(records)])
    table = load(s, 0.0, 2e9)
    s.close()
    for window in (3600.0, 86400.0, 7 * 86400.0):
        assert fcr_arrow(table, window) == fcr(records, window)
    waits = [r.wait_s for r in records if r.outcome is Outcome.ABANDONED and r.wait_s is not None]
    assert abandon_waits_arrow(table, WAIT_BUCKETS) == wait_bucket_counts(waits)


MIDNIGHT = 1773100800.0  # 2026-03-10T00:00:00Z, where one day file ends and the next begins


def _journey(
    call: str, linked: str, caller: str, joined: float, ended: float, answered: bool = True
) -> StintRecord:
    outcome = Outcome.ANSWERED if answered else Outcome.ABANDONED
    return replace(ANSWERED, call_id=call, linked_id=linked, caller_num=caller, outcome=outcome,
                   joined_at=MIDNIGHT + joined, ended_at=MIDNIGHT + ended)  # fmt: skip


# Callers' journeys around a UTC midnight, FCR with a one-day window, computed by hand:
#   100: J1 = L1 stint ending 23:59 + L2 stint ending 00:05 (one journey cut by midnight), J2 at 01:00
#        -> J1 is repeated by J2 (within a day of its end), J2 resolved;
#   200: J3 the day before, J4 three days later -> both resolved;
#   300: J5 cut by midnight, began 23:43:20; J6 (abandoned) began 23:51:40 and ended before midnight
#        -> J5 is repeated by J6, which began later but ended in the earlier day file.
#   Answered journeys: J1..J5 = 5; resolved: J2, J3, J4 = 3.
FCR_JOURNEYS = [
    _journey("a", "J1", "100", -600, -60), _journey("b", "J1", "100", -50, 300),
    _journey("c", "J2", "100", 3600, 3700),
    _journey("d", "J3", "200", -100, -10), _journey("e", "J4", "200", 3 * 86400, 3 * 86400 + 100),
    _journey("f", "J5", "300", -1000, -900), _journey("g", "J5", "300", -890, 200),
    _journey("h", "J6", "300", -500, -400, answered=False),
]  # fmt: skip


@pytest.mark.parametrize("day_files", [True, False])
def test_fcr_over_day_files_joins_a_journey_cut_by_midnight(tmp_path: Path, day_files: bool) -> None:
    pytest.importorskip("pyarrow")
    from callcenter.metrics.columnar import FCR_COLUMNS, fcr_of_journeys, journey_part
    from callcenter.metrics.kpi import fcr
    from callcenter.store.archive import archive, days

    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(FCR_JOURNEYS)])
    if day_files:
        assert len(archive(s, before=2e9)) == 3
    parts = [journey_part(day) for day in days(s, 0.0, 2e9, columns=FCR_COLUMNS)]
    s.close()
    # J1, J3, J5, J6 | J1, J2, J5 | two days without calls | J4
    assert [len(p.journey) for p in parts] == [4, 3, 0, 0, 1]
    assert fcr_of_journeys(parts, 86400.0) == (3, 5) == fcr(FCR_JOURNEYS, 86400.0)


def test_fcr_over_day_files_equals_the_python_path_on_a_crowd(tmp_path: Path) -> None:
    """Five numbers calling 600 times over ten days, journeys of one to three stints, some cut by
    midnight, calls overlapping: the day-file path's FCR is the Python path's for every window."""
    pytest.importorskip("pyarrow")
    import random

    from callcenter.metrics.columnar import FCR_COLUMNS, fcr_of_journeys, journey_part
    from callcenter.metrics.kpi import fcr
    from callcenter.store.archive import archive, map_days

    rng = random.Random(11)
    records = []
    for j in range(600):
        caller, t = (
            rng.choice(["100", "101", "102", "103", ""]),
            MIDNIGHT + rng.uniform(-5 * 86400, 5 * 86400),
        )
        for k in range(rng.choice([1, 1, 2, 3])):
            joined = t + k * rng.uniform(30, 900)
            outcome = rng.choice([Outcome.ANSWERED, Outcome.ANSWERED, Outcome.ABANDONED])
            records.append(replace(ANSWERED, call_id=f"c{j}.{k}", linked_id=f"J{j}", caller_num=caller,
                                   outcome=outcome, joined_at=joined if rng.random() > 0.1 else None,
                                   ended_at=joined + rng.uniform(5, 1200)))  # fmt: skip
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(records, 1)])
    archive(s, before=MIDNIGHT)  # the first half from day files, the rest from the store
    parts = list(map_days(s, 0.0, 2e9, FCR_COLUMNS, journey_part))
    s.close()
    for window in (600.0, 3600.0, 86400.0, 7 * 86400.0):
        assert fcr_of_journeys(parts, window) == fcr(records, window), window


def test_the_surveys_answers_of_a_real_trace_are_stored(store: SqlStore, tmp_path: Path) -> None:
    """l_csat: the lab's three callers scored 5, 3 and 1 (the dialplan's CSAT UserEvents as
    recorded); the fourth hung up before the survey. Replayed twice, stored once."""
    trace = tmp_path / "l_csat.ami"
    trace.write_bytes(stream("l_csat"))
    for _ in range(2):
        replay(trace, store=store)
    scores = store.survey_scores(0.0, 2e9)
    want = [
        int(ue["Score"])
        for call in expected("l_csat")["calls"]
        for ue in call.get("observed", {}).get("user_events", [])
        if ue.get("UserEvent") == "CSAT"
    ]
    assert [score for _, _, score in scores] == want == [5, 3, 1]
    assert all(queue == "support" and member for queue, member, _ in scores)


def test_day_files_stream_a_day_at_a_time_with_stable_keys(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import subprocess
    import sys

    from callcenter.store.archive import archive, days, key64, load

    records = _spread(500)
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(records)])
    archive(s, before=1773878400.0)  # half the month in files, half read from the store
    parts = list(days(s, 1772319600.0, 1775000000.0))
    whole = load(s, 1772319600.0, 1775000000.0)
    s.close()
    assert len(parts) > 10 and sum(p.num_rows for p in parts) == whole.num_rows == 500
    assert max(p.num_rows for p in parts) < 60  # about a day's share, never the month at once
    # the keys: 0 for no number, the same text the same key in another process
    assert key64("") == 0 and key64("1796605128.158") != key64("1796605128.159")
    code = "from callcenter.store.archive import key64; print(key64('1796605128.158'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert int(other.stdout) == key64("1796605128.158")


def test_the_day_files_are_written_a_few_at_a_time_when_asked(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from callcenter.store.archive import archive

    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx1", [(i, r) for i, r in enumerate(_spread(300))])
    first = archive(s, before=2e9, limit=3)
    assert len(first) == 3 and first == sorted(first)  # the oldest days first
    rest = archive(s, before=2e9)
    assert len(rest) >= 25 and not set(first) & set(rest) and archive(s, before=2e9) == []
    s.close()
