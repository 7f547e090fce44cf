"""The daemon in-process against a fake Asterisk: bad input is counted and logged, nothing stops."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter.config import parse_settings
from callcenter.daemon import Daemon
from callcenter.journal import JournalError
from callcenter.replay import replay
from tests.fakeami import FakeAmi, event

JOIN = event(
    "QueueCallerJoin", ("Timestamp", "1000.0"), ("Channel", "PJSIP/trunk-00000001"), ("Uniqueid", "1000.1"),
    ("Linkedid", "1000.1"), ("CallerIDNum", "+5491155550001"), ("CallerIDName", "José Peña"),
    ("Queue", "support"), ("Position", "1"), ("Count", "1"),
)  # fmt: skip


async def _until(predicate: object, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if callable(predicate) and predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def _start(
    ami: FakeAmi, tmp_path: Path, on_failure: str = "reconnect"
) -> tuple[Daemon, asyncio.Task[None]]:
    """A daemon journaling to tmp_path, logged in to the fake Asterisk."""
    settings = parse_settings({
        "ami": {"servers": [{"name": "pbx1", "port": ami.port, "username": "lab", "secret": "labsecret",
                             "auth": "plain"}]},
        "journal": {"path": str(tmp_path / "journal.sqlite3"), "on_failure": on_failure},
        "web": {"port": 0},
    })  # fmt: skip
    daemon = Daemon(settings)
    running = asyncio.create_task(daemon.run(), name="daemon")
    await daemon.links[0].client.wait_up(5)
    return daemon, running


async def test_malformed_frames_are_anomalies_and_tracking_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="callcenter")
    async with FakeAmi() as ami:
        daemon, running = await _start(ami, tmp_path)
        link = daemon.links[0]
        await ami.push(b"this is not AMI\r\nat all\r\n\r\n")
        await ami.push(event("QueueCallerJoin", ("Queue", "support")))  # no Uniqueid
        await ami.push(event("AgentConnect", ("Uniqueid", "9.9"), ("Queue", "q"), ("MemberName", "A"),
                             ("Interface", "I"), ("HoldTime", "soon")))  # fmt: skip
        await ami.push(b"Event: Huge\r\nX: " + b"y" * (1 << 20) + b"\r\n\r\n")
        await ami.push(JOIN)
        tracker = link.ingest.tracker
        await _until(lambda: "1000.1" in tracker.stints)
        assert tracker.stints["1000.1"].caller_name == "José Peña"
        assert link.ingest.anomaly_count == 4
        assert link.client.state.name == "UP"
        daemon.stop()
        await asyncio.wait_for(running, 5)
    warnings = [r.getMessage() for r in caplog.records if "anomaly" in r.getMessage()]
    assert len(warnings) == 4
    assert any("expected a Uniqueid header" in w for w in warnings)
    assert any("longer than 1048576 bytes" in w for w in warnings)
    # The journal kept everything, garbage included: a replay sees the same.
    report = replay(tmp_path / "journal.sqlite3")
    assert report["anomalies"] == 4
    # 1000.1 still waiting at the end: unknown. 9.9's AgentConnect had a bad HoldTime: the
    # answer counts, its wait is unknown (and never the word "soon").
    calls = {c["id"]: (c["outcome"], c["wait_s"]) for c in report["calls"]}
    assert calls == {"1000.1": ("unknown", None), "9.9": ("answered", None)}


def test_run_with_a_broken_config_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ami:\n  servers:\n    - name: pbx1\n      port: abc\n      username: u\n      secret: s\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "ami.servers[0].port: expected an integer 1-65535, got 'abc'" in result.stderr


def test_run_without_servers_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("log:\n  level: info\n")
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "run", "--config", str(empty)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "ami.servers: expected at least one Asterisk server" in result.stderr


async def test_two_asterisks_at_once_each_tracked_apart(tmp_path: Path) -> None:
    async with FakeAmi() as one, FakeAmi() as two:
        servers = [{"name": name, "port": ami.port, "username": "lab", "secret": "labsecret", "auth": "md5"}
                   for name, ami in (("north", one), ("south", two))]  # fmt: skip
        journal = {"path": str(tmp_path / "j.sqlite3")}
        settings = parse_settings({"ami": {"servers": servers}, "journal": journal, "web": {"port": 0}})
        daemon = Daemon(settings)
        running = asyncio.create_task(daemon.run(), name="daemon")
        north, south = daemon.links
        await north.client.wait_up(5)
        await south.client.wait_up(5)
        await one.push(JOIN)
        await two.push(JOIN.replace(b"support", b"sales"))
        await _until(
            lambda: "1000.1" in north.ingest.tracker.stints and "1000.1" in south.ingest.tracker.stints
        )
        assert north.ingest.tracker.stints["1000.1"].queue == "support"
        assert south.ingest.tracker.stints["1000.1"].queue == "sales"
        daemon.stop()
        await asyncio.wait_for(running, 5)
    assert replay(tmp_path / "j.sqlite3", server="south")["calls"][0]["queue"] == "sales"


async def test_a_journal_that_fails_mid_run_stops_the_daemon_when_so_configured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With journal.on_failure: stop, a failed append stops the daemon: one error line naming
    the journal, no traceback, no "bug". (The default, reconnect: test_hostile_values.)"""
    caplog.set_level(logging.INFO, logger="callcenter")
    async with FakeAmi() as ami:
        daemon, running = await _start(ami, tmp_path, on_failure="stop")
        link = daemon.links[0]
        journal = daemon.journal
        assert journal is not None

        def disk_full(rows: object) -> None:
            raise JournalError(f"{tmp_path / 'journal.sqlite3'}: cannot append: database or disk is full")

        journal.append = disk_full  # type: ignore[method-assign]
        await ami.push(JOIN)
        with pytest.raises(BaseExceptionGroup) as stopped:
            await asyncio.wait_for(running, 5)
    assert stopped.group_contains(JournalError, match="disk is full")
    assert "1000.1" not in link.ingest.tracker.stints  # not tracked: it could not be journaled
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    full = f"{tmp_path / 'journal.sqlite3'}: cannot append: database or disk is full"
    assert [r.getMessage() for r in errors] == [f"AMI pbx1: {full}; stopping this link"]
    assert errors[0].exc_info is None
