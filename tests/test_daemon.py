"""`callcenter run` as a real process over real TCP: journal, SIGKILL, restart, resync, SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from callcenter.config import JournalSettings
from callcenter.journal import journal_settings, open_journal
from callcenter.replay import replay
from tests.asterisk_truth import stints, stream
from tests.playback import Playback

STINT = re.compile(r"pbx1: stint (\S+) (\S+) (\S+) ")


@pytest.fixture(params=["sqlite", "postgresql"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the daemon journals: what `journal-copy` and `replay` take (a file or a URL)."""
    if request.param == "sqlite":
        return str(tmp_path / "journal.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return url


def _config(tmp_path: Path, port: int, journal: str | None = None) -> Path:
    settings = journal_settings(journal or str(tmp_path / "journal.sqlite3"))
    where = f"url: '{settings.url}'" if settings.url else f"path: {settings.path}"
    path = tmp_path / "callcenter.yaml"
    path.write_text(
        f"""
ami:
  servers:
    - name: pbx1
      port: {port}
      username: lab
      secret: labsecret
      auth: plain
      reconnect_min_s: 0.1
      reconnect_max_s: 0.5
journal:
  {where}
log:
  level: info
  figures_interval_s: 0.5
web:
  port: 0
""",
        encoding="utf-8",
    )
    return path


async def _start(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _lines_until(proc: asyncio.subprocess.Process, stints_wanted: int, log: list[str]) -> None:
    assert proc.stderr is not None
    seen = 0
    while seen < stints_wanted:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line, "the daemon exited early:\n" + "".join(log)
        log.append(line)
        seen += bool(STINT.search(line))


def _journal_bytes(settings: JournalSettings) -> int:
    store = open_journal(settings, create=False)
    try:
        return sum(len(row.data) for row in store.rows())
    finally:
        store.close()


async def _settled(journal: str) -> None:
    last = -1
    for _ in range(100):
        await asyncio.sleep(0.3)
        now = _journal_bytes(journal_settings(journal))
        if now == last:
            return
        last = now
    raise AssertionError("the journal kept growing")


def _logged(lines: list[str]) -> list[tuple[str, str, str]]:
    return [m.groups() for line in lines if (m := STINT.search(line))]  # type: ignore[misc]


async def test_sigkill_restart_loses_nothing_and_counts_nothing_twice(tmp_path: Path, journal: str) -> None:
    truth = stints("o_reconnect")
    async with Playback(stream("o_reconnect.client"), batch=30, pause_s=0.01) as pbx:
        config = _config(tmp_path, pbx.port, journal)
        first_log: list[str] = []
        first = await _start(config)
        await _lines_until(first, 12, first_log)
        first.kill()  # SIGKILL: no cleanup, no flush, mid-stream
        _, err = await first.communicate()
        assert first.returncode == -signal.SIGKILL
        first_log += err.decode().splitlines(True)
        second_log: list[str] = []
        second = await _start(config)
        await _lines_until(second, 1, second_log)
        await asyncio.wait_for(pbx.finished.wait(), 60)
        await _settled(journal)
        second.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(second.communicate(), 20)
        second_log += err.decode().splitlines(True)
    assert second.returncode == 0, "".join(second_log[-20:])
    text = "".join(second_log)
    assert "recovered from the journal" in text and "resynchronised" in text and "stopping" in text
    assert f"journal: {journal_settings(journal).where} (" in text
    assert re.search(r"pbx1 \(up\): \[support: waiting=\d+ longest=\d+s", text)

    before_kill = _logged(first_log)
    after_restart = _logged(second_log)
    logged = before_kill + after_restart
    keys = [(cid, queue) for cid, queue, _ in logged]
    assert len(keys) == len(set(keys)), "a stint was reported twice"

    report = replay(journal)
    final = {(c["id"], c["queue"]): c["outcome"] for c in report["calls"]}
    assert len(final) == len(report["calls"])
    # Nothing the first daemon reported is lost or changed by the crash.
    assert {(cid, q): o for cid, q, o in before_kill} == {
        (cid, q): final.get((cid, q)) for cid, q, _ in before_kill
    }
    # What the daemons said live is what their journal says (at most the stints of the very
    # chunk being applied at the kill were never printed).
    assert set(keys) <= set(final) and len(set(final) - set(keys)) <= 3
    # And none of it contradicts Asterisk's queue_log.
    for key, outcome in final.items():
        if outcome == "unknown":
            continue
        assert truth.get(key, outcome) == outcome, key
        if key not in truth:
            assert outcome in ("joinempty", "full"), key
    assert sum(o == "answered" for o in final.values()) >= 60


async def test_a_wrong_secret_is_said_once_and_retried_until_fixed(tmp_path: Path) -> None:
    from tests.fakeami import FakeAmi

    async with FakeAmi(secret="right") as ami:
        config = _config(tmp_path, ami.port)
        config.write_text(
            config.read_text().replace("      auth: plain\n", "      auth: plain\n      login_retry_s: 0.3\n")
        )
        daemon = await _start(config)
        assert daemon.stderr is not None
        lines: list[str] = []
        while "logged in" not in "".join(lines[-1:]):
            lines.append((await asyncio.wait_for(daemon.stderr.readline(), 20)).decode())
            assert lines[-1]
            if len(ami.logins) >= 3 and ami.secret != "labsecret":
                ami.secret = "labsecret"  # the operator fixes manager.conf
        refused = [line for line in lines if "login refused" in line]
        assert len(refused) == 1 and "pbx1" in refused[0] and "username/secret" in refused[0]
        assert "WARNING" in refused[0] and "trying again every 0.3 s" in refused[0]
        daemon.send_signal(signal.SIGTERM)
        await asyncio.wait_for(daemon.communicate(), 20)
        assert daemon.returncode == 0
        assert len(ami.logins) >= 4
