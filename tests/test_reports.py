"""Exports and the monthly report, from a store: numbers by hand, files read back, the page in Chromium."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.metrics.kpi import KpiRules
from callcenter.queues.model import Outcome
from callcenter.reports.monthly import figures, month_data, month_data_from_store, month_range, render
from callcenter.store import open_store
from tests.test_cli import TRACES, cli
from tests.test_kpi import stint

TZ = "America/Bogota"  # UTC−5, no DST


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 10, day, hour, minute, tzinfo=ZoneInfo(TZ)).timestamp()


# October 2026 by hand: three answered on the 1st at 09:xx (waits 5, 20, 30), one abandoned on the
# 1st at 10:05 after 40 s, one answered on the 2nd at 09:10 (wait 8) by the caller of the 1st's
# first call (a repeat within 7 days), one full on the 2nd, and one call of September 30 at 23:59
# (Bogotá) that must not count. Every talk is 60 s; the first call was followed by 30 s of wrap-up.
MONTH = [
    stint(
        1, wait=5.0, joined_at=at(1, 9, 0), ended_at=at(1, 9, 2), caller_num="A", agent="Ana", wrapup_s=30.0
    ),
    stint(2, wait=20.0, joined_at=at(1, 9, 10), ended_at=at(1, 9, 12), caller_num="B", agent="Bea"),
    stint(3, wait=30.0, joined_at=at(1, 9, 20), ended_at=at(1, 9, 22), caller_num="C", agent="Ana"),
    stint(4, Outcome.ABANDONED, 40.0, joined_at=at(1, 10, 5), ended_at=at(1, 10, 6), caller_num="D"),
    stint(5, wait=8.0, joined_at=at(2, 9, 10), ended_at=at(2, 9, 12), caller_num="A", agent="Bea"),
    stint(6, Outcome.FULL, None, joined_at=at(2, 11, 0), ended_at=at(2, 11, 0), caller_num="E"),
]
BEFORE = stint(7, joined_at=at(1, 0, 0) - 60, ended_at=at(1, 0, 0) - 1, caller_num="F")
RULES = KpiRules(servicelevel_s=20, timezone=TZ)


def test_month_range_is_the_sites_calendar_month() -> None:
    start, end = month_range("2026-10", ZoneInfo(TZ))
    assert (start, end) == (at(1, 0), datetime(2026, 11, 1, tzinfo=ZoneInfo(TZ)).timestamp())
    assert (
        month_range("2026-12", ZoneInfo("UTC"))[1] == datetime(2027, 1, 1, tzinfo=ZoneInfo("UTC")).timestamp()
    )
    with pytest.raises(ValueError, match="expected YYYY-MM"):
        month_range("October", ZoneInfo(TZ))


SURVEY = (("support", "Ana", 5), ("support", "Bea", 4), ("support", "Ana", 2), ("support", "Ana", 7))


def test_the_months_figures_by_hand() -> None:
    r = figures(month_data(MONTH, RULES, SURVEY), "2026-10", RULES)
    # 5, 4, 2 on the scale (7 is off it): 2 of 3 are 4 or 5; mean 11/3; 3 answers for 4 answered calls
    assert (r.survey.responses, r.survey.top_two_pct, r.survey.mean, r.survey.out_of_scale) == (
        3,
        66.67,
        3.67,
        1,
    )
    assert r.survey.response_rate_pct(r.total["answered"]) == 75.0
    assert {a: c.responses for a, c in r.survey_by_agent.items()} == {"Ana": 2, "Bea": 1}
    assert (r.total["offered"], r.total["answered"], r.total["abandoned"], r.total["lost"]) == (6, 4, 1, 1)
    # SL-4 at 20 s: answered within (5, 20, 8) = 3 over answered 4 + abandoned after 20 s 1 = 60 %
    assert r.total["service_level_pct"] == 60.0
    assert r.by_day[0] == ("2026-10-01", 4, 3, round(100 * 2 / 4, 2))  # 2 within / (3 + 1)
    assert r.by_day[1] == ("2026-10-02", 2, 1, 100.0)
    assert len(r.by_day) == 31 and r.by_day[30] == ("2026-10-31", 0, 0, None)
    assert dict(r.by_hour)[9] == 4 and dict(r.by_hour)[10] == 1 and dict(r.by_hour)[11] == 1
    assert dict(r.abandon_waits)["30–60 s"] == 1 and sum(n for _, n in r.abandon_waits) == 1
    # AHT: Ana (60 + 30 + 60) / 2 = 75 s, Bea 60 s; all (4 × 60 + 30) / 4 = 67.5 s
    assert r.agents == [
        ("Ana", 2, round(120 / 3600, 2), 60.0, 75.0),
        ("Bea", 2, round(120 / 3600, 2), 60.0, 60.0),
    ]
    assert r.total["aht_s"] == 67.5
    assert r.fcr == (3, 4)  # A called back within 7 days after their first answered call
    # the busiest hour, 09: 4 calls over 2 days with calls at 9 = 2 calls/hour of 67.5 s handled: 1 agent
    assert r.staffing[0] == (9, 2.0, 67.5, 1)
    page = render(r)
    assert "answered within T / (answered + abandoned after T)" in page and "<svg" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    s = open_store(path)
    s.write("pbx", [(i + 1, r) for i, r in enumerate([BEFORE, *MONTH])])
    s.close()
    return path


def test_the_store_adds_up_the_same_month(store: Path) -> None:
    """The report's inputs summed by the database equal those from the stints in memory (whose
    numbers are checked by hand above): the September call stays out of both."""
    s = open_store(store, create=False)
    by_sql = month_data_from_store(s, "2026-10", RULES, columnar=False)
    by_arrow = month_data_from_store(s, "2026-10", RULES, columnar=True)
    s.close()
    want = figures(month_data(MONTH, RULES), "2026-10", RULES)
    assert figures(by_sql, "2026-10", RULES) == want and figures(by_arrow, "2026-10", RULES) == want


def test_export_stints_csv_and_kpis_json(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "stints.csv"
    result = cli("export", "stints", "--store", str(store), "--from", "2026-10-01", "--to", "2026-11-01",
                 "--timezone", TZ, "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["call_id"] for r in rows] == ["c1", "c2", "c3", "c4", "c5", "c6"]  # not September's c7
    assert rows[0]["joined_at"] == "2026-10-01T09:00:00-05:00" and rows[5]["wait_s"] == ""
    out = tmp_path / "kpis.json"
    result = cli("export", "kpis", "--store", str(store), "--by", "interval", "--interval", "day",
                 "--from", "2026-10-01", "--timezone", TZ, "--servicelevel", "20",
                 "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    days = json.loads(out.read_text())
    assert [(d["interval"], d["offered"], d["service_level_pct"]) for d in days] == [
        ("2026-10-01T00:00:00-05:00", 4, 50.0),
        ("2026-10-02T00:00:00-05:00", 2, 100.0),
    ]
    assert days[0]["service_level_variant"] == "short_abandons_ignored"


def test_export_agents_sessions_pauses_and_rings(tmp_path: Path) -> None:
    """The lab's login-and-pause trace replayed into a store, exported: the sessions and pauses
    are queue_log's (ADDMEMBER 1795346579 → REMOVEMEMBER 1795346592 for Ana; Bruno PAUSE lunch
    at 1795346581 → UNPAUSE at 1795346588), the ring-no-answer trace's one RINGNOANSWER."""
    store = tmp_path / "store.sqlite3"
    for trace in ("i_agent_login_pause", "h_ring_no_answer"):
        done = cli("replay", str(TRACES / f"{trace}.ami.gz"), "--store", str(store))
        assert done.returncode == 0, done.stderr
    got = {}
    for name in ("sessions", "pauses", "rings"):
        out = tmp_path / f"{name}.json"
        done = cli("export", name, "--store", str(store), "--timezone", "UTC", "--out", str(out))
        assert done.returncode == 0, done.stderr
        got[name] = json.loads(out.read_text())
    (ana,) = got["sessions"]
    assert (ana["agent"], ana["login_at"][:19], ana["logout_at"][:19]) == (
        "Ana",
        "2026-11-22T11:22:59",
        "2026-11-22T11:23:12",
    )
    lunch = next(p for p in got["pauses"] if p["reason"] == "lunch")
    assert (lunch["agent"], lunch["paused_at"][:19], lunch["unpaused_at"][:19], lunch["whole"]) == (
        "Bruno", "2026-11-22T11:23:01", "2026-11-22T11:23:08", True,
    )  # fmt: skip
    assert [(r["queue"], r["agent"]) for r in got["rings"]] == [("support", "Ana")]


def test_export_xlsx_and_parquet_read_back(store: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    pq = pytest.importorskip("pyarrow.parquet")
    for fmt in ("xlsx", "parquet"):
        result = cli(
            "export", "journeys", "--store", str(store), "--timezone", TZ, "--out", str(tmp_path / f"j.{fmt}")
        )
        assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(tmp_path / "j.xlsx").active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["journey_id", "caller_num", "arrived_at"] and sheet.max_row == 1 + 7
    table = pq.read_table(tmp_path / "j.parquet")
    assert table.num_rows == 7 and table.column("outcome").to_pylist().count("answered") == 5


def test_bad_inputs_get_one_line(store: Path, tmp_path: Path) -> None:
    cases = [
        (("export", "stints", "--store", str(tmp_path / "none.sqlite3"), "--out", str(tmp_path / "x.csv")),
         1, "no such file"),
        (("export", "stints", "--store", str(store), "--from", "yesterday", "--out", str(tmp_path / "x.csv")),
         2, "--from: expected a date"),
        (("export", "stints", "--store", str(store), "--out", str(tmp_path / "x.txt")),
         1, "--format: expected one of"),
        (("report", "--store", str(store), "--month", "10/2026", "--out", str(tmp_path / "r.html")),
         2, "--month: expected YYYY-MM"),
        (("report", "--store", str(store), "--month", "2026-10", "--timezone", "Mars/Olympus",
          "--out", str(tmp_path / "r.html")), 2, "no such time zone"),
        (("report", "--store", str(TRACES / "k_escalation.queue_log"), "--month", "2026-10",
          "--out", str(tmp_path / "r.html")), 1, "not an SQLite database"),
    ]  # fmt: skip
    for args, status, words in cases:
        result = cli(*args)
        assert result.returncode == status and result.stderr.count("\n") == 1 and words in result.stderr, (
            args,
            result.stderr,
        )


def _chromium() -> str | None:
    found = shutil.which("chromium")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
    return found


def test_the_report_renders_in_chromium(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = cli("report", "--store", str(store), "--month", "2026-10", "--timezone", TZ, "--out", str(out))
    assert result.returncode == 0, result.stderr
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=60
    )
    assert "Monthly service report — 2026-10" in dom.stdout and dom.stdout.count("<svg") == 4
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, "--window-size=1000,2400", f"--screenshot={shot}", out.as_uri()],
                   capture_output=True, timeout=60, check=True)  # fmt: skip
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # a page was drawn, not a blank one


def test_the_report_shows_each_agents_time(store: Path) -> None:
    from callcenter.queues.changes import AgentChanged
    from callcenter.queues.model import AgentState

    states = [(at(1, 9, 0), AgentState.AVAILABLE), (at(1, 9, 10), AgentState.ON_CALL),
              (at(1, 9, 40), AgentState.AVAILABLE), (at(1, 10, 0), AgentState.PAUSED),
              (at(1, 10, 15), AgentState.LOGGED_OUT)]  # fmt: skip
    s = open_store(store)
    s.write(
        "pbx",
        [],
        [(100 + i, AgentChanged(t, "PJSIP/1001", "Ana", st, "lunch")) for i, (t, st) in enumerate(states)],
    )
    from callcenter.queues.changes import RingUnanswered

    rang = [at(1, 9, 5), at(1, 9, 6), at(1, 0, 0) - 60]  # the last one in September
    s.write_changes("pbx", [(200 + i, RingUnanswered(t, "c1", "support", "Ana", "PJSIP/1001", 15.0))
                            for i, t in enumerate(rang)])  # fmt: skip
    data = month_data_from_store(s, "2026-10", RULES)
    s.close()
    report = figures(data, "2026-10", RULES)
    ana = report.agent_time["Ana"]
    # available 10 + 20 min, on call 30 min: occupancy 50 %; logged in 75 min (with 15 paused): 40 %
    assert (ana.occupancy_pct, ana.utilization_pct, ana.pauses) == (50.0, 40.0, {"lunch": (1, 900.0)})
    assert report.rings_unanswered == {"Ana": 2}
    assert "<th>Occupancy</th>" in render(report) and "<th>Rings unanswered</th>" in render(report)


def test_the_reports_most_frequent_requests_and_solved_on_call_come_from_tickets(store: Path) -> None:
    """Five tickets in October by hand (Email ×2, Network ×2, Hardware; three solved on the call)
    and one on September 30 (left out): the ranking, shares of 5, and 3 of 5 = 60 %."""
    from callcenter.cti.tickets import DEFAULT_CATEGORIES, ticket_from_form

    s = open_store(store)
    cases = [("c1", "Email", True, at(1, 9)), ("c2", "Network", False, at(1, 10)),
             ("c3", "Email", True, at(2, 9)), ("c4", "Network", True, at(3, 9)),
             ("c5", "Hardware", False, at(4, 9)), ("c0", "Email", False, at(1, 0) - 60)]  # fmt: skip
    for call_id, category, solved, when in cases:
        call = {"call_id": call_id, "caller_num": "A", "caller_name": "", "queue": "support", "member": "Ana",
                "interface": "PJSIP/1001"}  # fmt: skip
        form = {"category": category, "impact": "low", "urgency": "low", "solved_on_call": solved}
        s.save_ticket(ticket_from_form(form, server="pbx", call=call, existing=None,
                                       categories=DEFAULT_CATEGORIES, now=when))  # fmt: skip
    data = month_data_from_store(s, "2026-10", RULES)
    s.close()
    report = figures(data, "2026-10", RULES)
    assert report.categories == [("Email", 2), ("Network", 2), ("Hardware", 1)]
    assert report.solved_on_call == (3, 5)
    page = render(report)
    assert (
        "<tr><td>Email</td><td>2</td><td>40 %</td></tr>" in page
        and "<td>Hardware</td><td>1</td><td>20 %</td>" in page
    )
    assert "<b>60 %</b> of the month's 5 tickets (3) were solved on the call" in page
    out = store.parent / "tickets.csv"  # and the analysts get them as a table
    done = cli("export", "tickets", "--store", str(store), "--from", "2026-10-01", "--to", "2026-11-01",
               "--timezone", TZ, "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["number"], r["category"], r["priority"], r["solved_on_call"]) for r in rows[:2]] == [
        ("pbx-c1", "Email", "P5", "True"), ("pbx-c2", "Network", "P5", "False")]  # fmt: skip
    assert len(rows) == 5 and rows[0]["created_at"].startswith("2026-10-01T09:00:00")


@pytest.mark.parametrize(("stopped_at", "occupancy"), [(None, 77.78), (at(1, 10, 5), 53.85)])
def test_an_agents_last_state_holds_only_until_the_stores_last_news(
    tmp_path: Path, stopped_at: float | None, occupancy: float
) -> None:
    """Ana is still logged in when the daemon stops on the 1st: her last state holds until the last
    change or checkpoint the store has, not to the end of the month (which made everyone 100 % busy
    or idle in a report of a month still running)."""
    from callcenter.queues.changes import AgentChanged
    from callcenter.queues.model import AgentState

    states = [(at(1, 9, 0), AgentState.AVAILABLE), (at(1, 9, 10), AgentState.ON_CALL),
              (at(1, 9, 40), AgentState.WRAP_UP), (at(1, 9, 45), AgentState.AVAILABLE)]  # fmt: skip
    s = open_store(tmp_path / "store.sqlite3")
    s.write("pbx", [], [(100 + i, AgentChanged(t, "PJSIP/1001", "Ana", st, ""))
                        for i, (t, st) in enumerate(states)])  # fmt: skip
    if stopped_at is not None:
        s.save_checkpoint("pbx", 103, stopped_at, b"state")
    data = month_data_from_store(s, "2026-10", RULES)
    s.close()
    ana = data.agent_time["Ana"]
    # busy 30 + 5 min; ready 10 min, + 20 more until a checkpoint at 10:05: 35/45 and 35/65
    assert (ana.occupancy_pct, ana.utilization_pct) == (occupancy, occupancy)


@pytest.mark.parametrize(("by", "interval"), [("queue", "day"), ("interval", "day"), ("agent", "day"),
                                              ("interval", "hour")])  # fmt: skip
def test_exported_kpis_are_summed_without_reading_each_stint(store: Path, by: str, interval: str) -> None:
    from callcenter.reports.tables import store_table, table

    s = open_store(store, create=False)
    start, end = month_range("2026-10", ZoneInfo(TZ))
    for queue in (None, "support"):
        got = store_table(
            s, "kpis", start, end, queue=queue, agent=None, by=by, interval=interval, rules=RULES
        )
        want = table("kpis", s.stints(start, end, queue=queue), by=by, interval=interval, rules=RULES)
        assert got == want
    assert store_table(
        s, "kpis", None, None, queue=None, agent="Ana", by=by, interval=interval, rules=RULES
    ) == table("kpis", s.stints(agent="Ana"), by=by, interval=interval, rules=RULES)
    s.close()


def test_calls_asterisk_counted_unseen_are_flagged_in_the_report(store: Path) -> None:
    from callcenter.queues.changes import CallsUnseen

    s = open_store(store)
    s.write_changes("pbx", [(500, CallsUnseen(at(12, 10, 5), "support", at(12, 9, 40), 7))])
    report = figures(month_data_from_store(s, "2026-10", RULES), "2026-10", RULES)
    s.close()
    assert report.unseen == (("support", at(12, 9, 40), at(12, 10, 5), 7),)
    page = render(report)
    assert (
        "Calls missing from these figures" in page
        and "support: 7 calls between 12 09:40 and 12 10:05" in page
    )
    out = store.parent / "kpis.csv"  # and an export of that month says so too, in one line
    done = cli("export", "kpis", "--store", str(store), "--from", "2026-10-01", "--to", "2026-11-01",
               "--timezone", TZ, "--out", str(out))  # fmt: skip
    assert done.returncode == 0 and "Asterisk counted 7 calls ending in this period" in done.stderr
    done = cli(
        "export", "kpis", "--store", str(store), "--from", "2026-10-13", "--timezone", TZ, "--out", str(out)
    )
    assert done.returncode == 0 and "Asterisk counted" not in done.stderr  # not in that period


def test_the_report_as_pdf(store: Path, tmp_path: Path) -> None:
    if _chromium() is None:
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    out = tmp_path / "report.pdf"
    result = cli("report", "--store", str(store), "--month", "2026-10", "--timezone", TZ, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 10_000
    wrong = cli("report", "--store", str(store), "--month", "2026-10", "--out", str(tmp_path / "r.docx"))
    assert wrong.returncode == 2 and "the report is an .html or .pdf file" in wrong.stderr
