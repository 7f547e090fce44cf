"""Checkpoints: a restart resumes from the last one and replays only the journal since."""

from __future__ import annotations

import asyncio
import logging
import pickle
from pathlib import Path

import pytest

from callcenter import checkpoint
from callcenter.config import Settings, parse_settings
from callcenter.daemon import Daemon
from callcenter.demo import SimulatorRun, build
from callcenter.ingest import Ingest
from callcenter.journal import LINK, open_journal
from callcenter.queues.recent import Recent
from callcenter.simulator.model import CallCenterSpec
from callcenter.simulator.server import ServerOptions
from callcenter.simulator.traffic import TrafficSpec, default_agents
from callcenter.store import open_store
from tests.asterisk_truth import TRACES
from tests.test_daemon_sim import _virtual


def test_recent_keeps_its_limit_through_pickle() -> None:
    r: Recent[str, int] = Recent(4)
    for i in range(6):
        r[str(i)] = i
    back = pickle.loads(pickle.dumps(r))
    assert (back.limit, dict(back)) == (4, dict(r))
    for i in range(6, 9):
        back[str(i)] = i
    assert len(back) <= 4


def test_a_checkpoint_of_other_code_or_damaged_is_ignored() -> None:
    ingest = Ingest()
    blob = checkpoint.dump(7, ingest, None)
    state = checkpoint.load(blob)
    assert state is not None and state.position == 7
    foreign = pickle.dumps({"fingerprint": "0" * 16, "position": 7, "ingest": ingest, "totals": None})
    assert checkpoint.load(foreign) is None
    assert checkpoint.load(b"not a pickle") is None


def _state(daemon: Daemon) -> tuple[object, ...]:
    link = daemon.links[0]
    tracker = link.ingest.tracker
    stints = sorted((s.call_id, s.queue, s.phase.value, s.wait_s) for s in tracker.stints.values())
    agents = sorted(
        (a.interface, a.on_call, sorted(a.ringing), a.answered, a.talk_s) for a in tracker.agents.values()
    )
    figures = {q: f.as_dict() for q, f in link.totals.queues.items()}
    return link.position, stints, agents, figures


async def _run_for(virtual_s: float, journal: dict[str, object]) -> tuple[Settings, Daemon]:
    """A daemon on a loaded simulated center for ``virtual_s`` seconds, then stopped cleanly."""
    traffic = TrafficSpec(calls_per_hour=(900.0,), talk_s=40.0, patience_s=45.0, agents=default_agents())
    options = ServerOptions(port=0, username="cc", secret="pw", speed=100.0)
    _, _, server = build(SimulatorRun(CallCenterSpec(), traffic, options, seed=8))
    async with server:
        settings = parse_settings({
            "ami": {"servers": [{"name": "pbx", "port": server.port, "username": "cc", "secret": "pw"}]},
            "journal": journal,
            "web": {"enabled": False},
        })  # fmt: skip
        daemon = Daemon(settings)
        running = asyncio.create_task(daemon.run())
        await daemon.links[0].client.wait_up(5)
        await _virtual(server, virtual_s)
        daemon.stop()
        await asyncio.wait_for(running, 10)
    return settings, daemon


def _recovered(settings: Settings) -> tuple[Daemon, int]:
    """A fresh daemon's recovery (files closed after): the daemon and the rows it replayed."""
    daemon = Daemon(settings)
    replayed = daemon.recover()
    daemon.store.close()  # type: ignore[union-attr]
    daemon.journal.close()  # type: ignore[union-attr]
    return daemon, replayed


async def test_a_restart_resumes_from_the_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Run, stop (a checkpoint at the stop), run again: the second start replays no journal row
    and holds the state a full replay of the journal gives."""
    settings, first = await _run_for(300, {"path": str(tmp_path / "journal.sqlite3")})
    stopped = _state(first)
    assert stopped[0] > 50 and stopped[1], "calls in progress at the stop"
    caplog.set_level(logging.INFO, logger="callcenter")
    resumed, replayed = _recovered(settings)
    assert replayed == 0  # every row was in the checkpoint
    assert f"resumed from the checkpoint at journal row {stopped[0]}" in caplog.text
    assert _state(resumed) == stopped
    # the same state as replaying the whole journal
    store = open_store(tmp_path / "store.sqlite3")
    store.save_checkpoint("pbx", 0, 0.0, b"gone")  # damaged: ignored
    store.close()
    full, replayed = _recovered(settings)
    assert replayed == stopped[0] and _state(full) == stopped


async def test_journal_retention_prunes_what_the_checkpoint_covers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With journal.retention_days, the checkpoint at the stop deletes the rows it covers that are
    old enough (here all: 0 days); the next start resumes from the checkpoint as before, and a
    start without one rebuilds from the rows kept and says so."""
    caplog.set_level(logging.INFO, logger="callcenter")
    journal = {"path": str(tmp_path / "journal.sqlite3"), "retention_days": 1e-9}
    settings, first = await _run_for(120, journal)
    stopped = _state(first)
    assert f"journal retention: {stopped[0]} rows older than" in caplog.text
    kept = open_journal(settings.journal, create=False)
    assert kept.pruned("pbx") == stopped[0] and list(kept.rows("pbx")) == []
    kept.close()
    resumed, replayed = _recovered(settings)
    assert replayed == 0 and _state(resumed) == stopped
    store = open_store(tmp_path / "store.sqlite3")
    store.save_checkpoint("pbx", 0, 0.0, b"gone")  # no usable checkpoint any more
    store.close()
    caplog.clear()
    rebuilt, replayed = _recovered(settings)
    assert replayed == 0 and rebuilt.links[0].position == stopped[0]
    assert f"the journal's first {stopped[0]} rows were deleted" in caplog.text


def test_the_journal_skips_a_servers_first_rows(tmp_path: Path) -> None:
    from callcenter.config import JournalSettings
    from callcenter.journal import DATA, JournalRow

    journal = open_journal(JournalSettings(path=str(tmp_path / "j.sqlite3")))
    rows = [
        JournalRow(s, float(i), LINK if i == 0 else DATA, f"{s}{i}".encode()) for i in range(5) for s in "ab"
    ]
    journal.append(rows)
    assert [r.data for r in journal.rows("a", skip=3)] == [b"a3", b"a4"]
    assert [r.data for r in journal.rows("b", skip=0)] == [b"b0", b"b1", b"b2", b"b3", b"b4"]
    journal.close()
    assert TRACES.exists()
