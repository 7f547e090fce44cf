"""`callcenter run` killed with SIGKILL during a loaded center, down a while, started again: it fills
in from Asterisk's queue_log what it never saw, and the store ends equal to queue_log."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from callcenter.queues.queue_log import stints_of
from callcenter.store import open_store
from tests.test_daemon_sim import _virtual
from tests.test_queue_log import loaded_center

REFUSED = ("joinempty", "full", "joinunavail")  # not in queue_log as stints: Asterisk logs no join


def _config(tmp_path: Path, port: int, queue_log: Path) -> Path:
    path = tmp_path / "callcenter.yaml"
    path.write_text(
        f"""
ami:
  servers:
    - name: pbx
      port: {port}
      username: cc
      secret: pw
      reconnect_min_s: 0.05
      reconnect_max_s: 0.2
      queue_log: {queue_log}
journal:
  path: {tmp_path / "journal.sqlite3"}
store:
  path: {tmp_path / "store.sqlite3"}
web:
  enabled: false
""",
        encoding="utf-8",
    )
    return path


async def _start(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:  # a file, not a pipe: nobody has to drain it for the daemon to go on
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter", "run", "--config", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )  # fmt: skip


async def _up(log: Path, times: int) -> None:
    async with asyncio.timeout(30):
        while log.read_text().count("AMI link up") < times:
            await asyncio.sleep(0.05)


async def test_a_daemon_killed_mid_load_fills_the_gap_from_queue_log(tmp_path: Path) -> None:
    queue_log = tmp_path / "queue_log"
    generated, server = loaded_center(queue_log, seed=11)
    log = tmp_path / "daemon.log"
    async with server:
        config = _config(tmp_path, server.port, queue_log)
        first = await _start(config, log)
        await _up(log, 1)
        await _virtual(server, 300)
        first.kill()  # SIGKILL mid-load: no checkpoint, no flush, calls ringing and talking
        assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL
        killed_at = server.now
        await _virtual(server, 300)  # five minutes of calls nobody watched
        second = await _start(config, log)
        try:
            await _up(log, 2)
            await _virtual(server, 300)
            generated.stop_arrivals()
            await _virtual(server, 200)  # every call ends: talk 40 s, patience 45 s, timeout 50 s
        finally:
            second.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(second.wait(), 20)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "recovered from the journal" in text and "filled from queue_log" in text
    truth = {(r.call_id, r.queue): r for r in stints_of(queue_log.read_text().splitlines())}
    hidden = [r for r in truth.values() if killed_at < r.joined_at and r.ended_at < killed_at + 300]
    assert len(hidden) > 20, "the gap hid calls that began and ended while the daemon was dead"
    store = open_store(tmp_path / "store.sqlite3")
    stored = [r for r in store.stints() if r.outcome.value not in REFUSED]
    store.close()
    keys = [(r.call_id, r.queue) for r in stored]
    assert len(keys) == len(set(keys)), "a stint stored twice"
    assert set(keys) == set(truth), "the store and queue_log hold different calls"
    for r in stored:
        want = truth[(r.call_id, r.queue)]
        assert (r.outcome, r.wait_s, r.talk_s, r.agent) == (
            want.outcome,
            want.wait_s,
            want.talk_s,
            want.agent,
        ), r
