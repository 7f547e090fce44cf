"""Hostile values from the wire (the fault campaign's reproductions): a 400-digit HoldTime, an
infinite Timestamp, a frame that makes our own code raise. None stops the link, crashes the
daemon, crash-loops its recovery, or reaches the figures as inf/nan."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter import sinks
from callcenter.ami.link import LinkState
from callcenter.ingest import Ingest
from callcenter.queues import changes as ch
from callcenter.queues import events as ev
from callcenter.queues import tracker as tracker_module
from callcenter.replay import replay
from tests.fakeami import FakeAmi, event
from tests.test_web import fetch, running, settings_for, until

HUGE = "9" * 400


def _join(uid: str, at: str) -> bytes:
    return event(
        "QueueCallerJoin", ("Timestamp", at), ("Channel", f"PJSIP/t-{uid}"), ("Uniqueid", uid),
        ("Linkedid", uid), ("CallerIDNum", "+5491100"), ("Queue", "support"), ("Position", "1"),
    )  # fmt: skip


HOSTILE = [
    _join("1.1", "1000.0"),
    event("HangupRequest", ("Timestamp", "1004.0"), ("Uniqueid", "1.1"), ("Linkedid", "1.1")),
    event(
        "QueueCallerAbandon",
        ("Timestamp", "1004.0"),
        ("Uniqueid", "1.1"),
        ("Queue", "support"),
        ("Position", "1"),
        ("OriginalPosition", "1"),
        ("HoldTime", HUGE),
    ),
    _join("1.2", "1010.0"),
    event("QueueCallerLeave", ("Timestamp", "inf"), ("Uniqueid", "1.2"), ("Queue", "support")),
    event(
        "AgentConnect",
        ("Timestamp", "nan"),
        ("Uniqueid", "1.2"),
        ("Linkedid", "1.2"),
        ("Queue", "support"),
        ("MemberName", "Ana"),
        ("Interface", "PJSIP/1001"),
        ("HoldTime", "-3"),
        ("RingTime", "1"),
    ),
    event(
        "AgentComplete",
        ("Timestamp", "1030.0"),
        ("Uniqueid", "1.2"),
        ("Queue", "support"),
        ("MemberName", "Ana"),
        ("Interface", "PJSIP/1001"),
        ("HoldTime", "4"),
        ("TalkTime", HUGE * 11),
        ("Reason", "agent"),
    ),
    _join("1.3", "1040.0"),
]


def _no_nan(text: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_hostile_numbers_are_named_anomalies_and_the_calls_still_count() -> None:
    ingest = Ingest()
    changes = ingest.feed(b"Asterisk Call Manager/11.0.0\r\n" + b"".join(HOSTILE)) + ingest.finish()
    reasons = [c.reason for c in changes if isinstance(c, ch.AnomalySeen)]
    assert [r.split(":")[0] for r in reasons] == [
        "QueueCallerAbandon.HoldTime", "QueueCallerLeave.Timestamp", "AgentConnect.Timestamp",
        "AgentConnect.HoldTime", "AgentComplete.TalkTime",
    ]  # fmt: skip
    records = {c.record.call_id: c.record for c in changes if isinstance(c, ch.StintEnded)}
    # 1.1 abandoned (its wait unknown, so not counted short); 1.2 answered by Ana: the wait
    # measured from join to leave at the last good time (1010 → 1010), talk unknown.
    assert (records["1.1"].outcome.value, records["1.1"].wait_s, records["1.1"].short_abandon) == (
        "abandoned", None, False
    )  # fmt: skip
    assert (records["1.2"].outcome.value, records["1.2"].wait_s, records["1.2"].talk_s) == (
        "answered",
        0.0,
        None,
    )
    assert records["1.3"].outcome.value == "unknown"
    assert ingest.tracker.agents["PJSIP/1001"].talk_s == 0.0


def test_a_frame_that_makes_our_code_raise_is_quarantined(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(tracker: object, e: ev.CallerLeftQueue, out: list[ch.Change]) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(tracker_module._HANDLERS, ev.CallerLeftQueue, broken)
    ingest = Ingest()
    changes = ingest.feed(
        _join("2.1", "1.0")
        + event("QueueCallerLeave", ("Uniqueid", "2.1"), ("Queue", "support"))
        + _join("2.2", "2.0")
    )
    reasons = [c.reason for c in changes if isinstance(c, ch.AnomalySeen)]
    frame = rb"b'Event: QueueCallerLeave\r\nUniqueid: 2.1\r\nQueue: support'".decode()
    assert reasons == [f"frame quarantined: RuntimeError: a bug in {frame}"]
    assert set(ingest.tracker.stints) == {"2.1", "2.2"} and ingest.quarantined == 1


@pytest.mark.timeout(60)
async def test_the_daemon_lives_through_them_and_so_do_its_recovery_and_replay(tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        async with running(settings_for(ami.port, tmp_path)) as r:
            link = r.daemon.links[0]
            await link.client.wait_up(5)
            for frame in HOSTILE:
                await ami.push(frame)
            await until(lambda: "1.3" in link.ingest.tracker.stints)
            assert link.client.state.name == "UP" and link.ingest.anomaly_count == 5
            reply = await fetch(r.url + "/api/queues")
            assert reply.status == 200
            support = _no_nan(reply.body.decode())["servers"]["pbx1"]["queues"]["support"]  # type: ignore[index]
            assert (support["offered"], support["answered"], support["abandoned"]) == (2, 1, 1)
        # A second daemon recovers from the same journal (the hostile frames are in it).
        async with running(settings_for(ami.port, tmp_path)) as r:
            await r.daemon.links[0].client.wait_up(5)
            assert r.daemon.links[0].ingest.anomaly_count == 5
            assert (await fetch(r.url + "/healthz")).status == 200
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "replay", str(tmp_path / "journal.sqlite3"), "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = _no_nan(result.stdout)
    assert report["queues"]["support"]["answered"] == 1  # type: ignore[index]
    assert replay(tmp_path / "journal.sqlite3")["anomalies"] == 5


def _frames(count: int, make: object) -> bytes:
    assert callable(make)
    return b"".join(make(i) for i in range(count))


@pytest.mark.timeout(30)
def test_a_flood_of_hangup_requests_without_hangups_costs_constant_time_per_event() -> None:
    """30,000 HangupRequests with no Hangup rebuilt the remembered-hangups map on every event
    (63 s). The map is bounded, and the abandons right after their request still count."""
    ingest = Ingest()
    flood = _frames(30_000, lambda i: event("HangupRequest", ("Uniqueid", f"9.{i}"), ("Linkedid", f"9.{i}")))
    ingest.feed(b"Asterisk Call Manager/11.0.0\r\n" + flood)
    assert len(ingest.tracker.going) <= tracker_module.GOING_LIMIT
    changes = ingest.feed(HOSTILE[0] + HOSTILE[1] + HOSTILE[2])
    (record,) = [c.record for c in changes if isinstance(c, ch.StintEnded)]
    assert record.outcome.value == "abandoned"


@pytest.mark.timeout(60)
def test_calls_that_never_end_are_closed_by_a_status_check_and_their_memory_freed() -> None:
    """10^5 joins without hang-ups stayed forever (0.7 KB each) while the link was up."""
    ingest = Ingest()
    joins = _frames(100_000, lambda i: _join(f"7.{i}", f"{1000 + i / 100:.2f}"))
    # Asterisk's answer to the daemon's QueueStatus and CoreShowChannels: nobody there.
    answer = (
        b"Response: Success\r\nActionID: 3\r\nEventList: start\r\nMessage: Queue status will follow\r\n\r\n"
        b"Event: QueueStatusComplete\r\nActionID: 3\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
        b"Response: Success\r\nActionID: 4\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
        b"Event: CoreShowChannelsComplete\r\nActionID: 4\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
    )
    ingest.feed(b"Asterisk Call Manager/11.0.0\r\n" + answer + joins)  # link, resync, then the joins
    tracker = ingest.tracker
    assert len(tracker.stints) == 100_000
    changes = ingest.feed(answer)  # the periodic check
    closed = [c.record for c in changes if isinstance(c, ch.StintEnded)]
    assert len(closed) == 100_000 and {(r.outcome.value, r.end_seen) for r in closed} == {("unknown", False)}
    assert tracker.stints == {} and tracker.by_linked == {}
    assert len(tracker.last_queue) == 0 and len(tracker.ended) <= tracker_module.ENDED_LIMIT


@pytest.mark.timeout(30)
async def test_the_daemon_checks_the_status_periodically_while_the_link_is_up(tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = settings_for(ami.port, tmp_path)
        server = dataclasses.replace(settings.ami.servers[0], status_check_s=0.2)  # 10 s at least in YAML
        settings = dataclasses.replace(settings, ami=dataclasses.replace(settings.ami, servers=(server,)))
        async with running(settings) as r:
            await r.daemon.links[0].client.wait_up(5)
            await until(lambda: ami.actions["QueueStatus"] >= 3)  # the resync, then two checks


@pytest.mark.timeout(30)
async def test_a_flood_of_junk_is_counted_not_logged_line_by_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callcenter")
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        link = r.daemon.links[0]
        await link.client.wait_up(5)
        await ami.push(b"junk\r\n\r\n" * 500)
        await until(lambda: link.ingest.anomaly_count == 500)
    lines = [r.getMessage() for r in caplog.records if "anomaly: message does not start" in r.getMessage()]
    assert len(lines) == sinks.ANOMALY_LINES == 20


def _journal_size(path: Path) -> int:
    from callcenter.journal import journal_settings, open_journal

    store = open_journal(journal_settings(str(path)), create=False)
    try:
        return sum(len(row.data) for row in store.rows())
    finally:
        store.close()


@pytest.mark.timeout(60)
async def test_junk_is_journaled_as_a_marker_and_replays_to_the_same_anomalies(tmp_path: Path) -> None:
    """500 MB of junk became 504 MB of journal, replayed at every start. Now an oversized or
    unreadable frame is kept as a marker (reason, size, digest, first bytes)."""
    junk = b"Event: Huge\r\nX: " + b"y" * (3 << 20) + b"\r\n\r\n" + b"not AMI\r\n\r\n" * 1000
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        link = r.daemon.links[0]
        await link.client.wait_up(5)
        for _ in range(4):
            await ami.push(junk)
        await ami.push(_join("1.1", "1000.0"))
        await until(lambda: "1.1" in link.ingest.tracker.stints)
        live = link.ingest.anomaly_count
    assert live == 4 * 1001
    size = _journal_size(tmp_path / "journal.sqlite3")
    # 4 x 3 MB + 4 x 11 KB of junk received: the short junk is kept as it is (smaller than a
    # marker), each oversized message as a ~300-byte marker.
    assert size < 60_000, size
    report = replay(tmp_path / "journal.sqlite3")
    assert report["anomalies"] == live and [c["id"] for c in report["calls"]] == ["1.1"]


@pytest.mark.timeout(60)
async def test_a_journal_that_refuses_writes_closes_the_link_until_it_takes_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Disk full: the daemon says so (log, /healthz), counts nothing it could not journal, and
    comes back by itself when the journal takes writes again (journal.on_failure: reconnect)."""
    from callcenter.journal import JournalError

    caplog.set_level(logging.WARNING, logger="callcenter")
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        link = r.daemon.links[0]
        await link.client.wait_up(5)
        store = r.daemon.journal
        assert store is not None
        real_append = store.append_async
        full = True

        async def append(rows: list[object]) -> None:
            if full:
                raise JournalError(f"{tmp_path / 'journal.sqlite3'}: cannot append: database or disk is full")
            await real_append(rows)  # type: ignore[arg-type]

        monkeypatch.setattr(store, "append_async", append)
        await ami.push(_join("5.1", "1000.0"))
        await until(lambda: link.client.state is not LinkState.UP)
        assert "5.1" not in link.ingest.tracker.stints  # refused by the journal: not counted
        health = await fetch(r.url + "/healthz")
        pbx1 = health.json()["servers"]["pbx1"]
        assert health.status == 503 and "database or disk is full" in pbx1.get("last_error", "")
        full = False
        await link.client.wait_up(10)
        assert (await fetch(r.url + "/healthz")).status == 200
    said = [r.getMessage() for r in caplog.records if "disk is full" in r.getMessage()]
    assert said and all("the AMI link is closed until the journal takes writes again" in s for s in said)
