"""`callcenter simulate` and `callcenter demo` over real TCP: what a client records replays to
exactly what the simulator wrote to its own queue_log; the demo runs and stops by itself."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from callcenter.ami.client import AmiClient
from callcenter.ami.codec import Banner, Frame
from callcenter.ami.link import ServerAddress
from callcenter.demo import SimulatorRun, build
from callcenter.journal import LINK
from callcenter.replay import journal_rows, replay
from callcenter.simulator.model import CallCenterSpec
from callcenter.simulator.server import ServerOptions
from callcenter.simulator.traffic import TrafficSpec, default_agents
from tests.asterisk_truth import compare_with, refused_in_stream, truth_from


class Recorder:
    """Keeps every byte a client received, as `callcenter replay` reads a .ami file."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.refused: list[tuple[str, str]] = []

    async def link_up(self, server: str, banner: Banner, at: float) -> None:
        self.data += banner.text.encode() + b"\r\n"

    async def received(self, server: str, chunk: bytes, frames: list[Frame], at: float) -> None:
        self.data += chunk

    async def link_down(self, server: str, reason: str, at: float) -> None:
        pass


async def test_a_recorded_client_replays_to_the_simulators_queue_log(tmp_path: Path) -> None:
    traffic = TrafficSpec(calls_per_hour=(600.0,), talk_s=60.0, patience_s=40.0, queue_timeout_s=60.0,
                          escalate_share=0.5, agents=default_agents())  # fmt: skip
    options = ServerOptions(port=0, username="rec", secret="s3cret", speed=150.0)
    queue_log = tmp_path / "queue_log"
    pbx, generated, server = build(
        SimulatorRun(CallCenterSpec(), traffic, options, seed=4, queue_log=queue_log)
    )
    recorder = Recorder()
    async with server:
        address = ServerAddress(name="sim", host="127.0.0.1", port=server.port, username="rec",
                                secret="s3cret", auth="md5", events=("call", "agent", "user"))  # fmt: skip
        client = AmiClient(address, recorder)
        running = asyncio.create_task(client.run(), name="recorder")
        await client.wait_up(5)
        target = server.now + 20 * 60  # twenty virtual minutes, then let every call finish
        async with asyncio.timeout(60):
            while server.now < target:
                await asyncio.sleep(0.05)
            generated.stop_arrivals()
            while pbx.callers:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await client.stop()
        await running
    assert generated.calls > 120
    trace = tmp_path / "recorded.ami"
    trace.write_bytes(bytes(recorder.data))
    report = replay(trace)
    lines = queue_log.read_text(encoding="utf-8").splitlines()
    refused = refused_in_stream(bytes(recorder.data))  # the dialplan's QueueResult, not the report
    assert compare_with(truth_from(lines, refused), report) == []
    assert report["anomalies"] == 0
    assert all(c["outcome"] != "unknown" for c in report["calls"])


def test_demo_runs_and_stops_by_itself(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "demo", "--duration", "4", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "AMI simulator   127.0.0.1:" in out and "AMI link up" in out and "demo stopped" in out
    assert "support " in out and "available" in out
    assert (tmp_path / "demo-journal.sqlite3").exists()
    assert (tmp_path / "demo-queue_log").read_text().startswith(tuple("0123456789"))
    assert "(new)" in out and "opened 5 minutes before the daemon connected" in out


def test_each_demo_starts_clean_unless_kept(tmp_path: Path) -> None:
    """A second demo in the same folder starts a fresh journal (its figures are its own run's),
    and its replay equals what it showed; --keep goes on from the last one."""

    def demo(*extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "callcenter", "demo", "--duration", "3", "--data", str(tmp_path), *extra],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    def links_in_journal() -> int:
        return sum(row.kind == LINK for row in journal_rows(tmp_path / "demo-journal.sqlite3", None))

    demo()
    assert links_in_journal() == 1
    assert "(new)" in demo() and links_in_journal() == 1
    assert "(kept: this run adds to it)" in demo("--keep") and links_in_journal() == 2
    # the demo keeps a store too: the month's report of it opens as a real report, and a fresh
    # demo starts a fresh store
    month = time.strftime("%Y-%m")
    out = tmp_path / "report.html"
    report = subprocess.run(
        [sys.executable, "-m", "callcenter", "report", "--store", str(tmp_path / "demo-store.sqlite3"),
         "--month", month, "--out", str(out)], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert f"Monthly service report — {month}" in out.read_text() and out.read_text().count("<svg") == 4
