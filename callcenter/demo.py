"""``callcenter simulate`` and ``callcenter demo``: the simulator alone, or with the daemon.

The demo is the whole product on one machine with embedded defaults: a simulated Asterisk
(the built-in call center) on a free localhost port, the daemon connected to it with its
journal in a local data folder, its web on http://127.0.0.1:8080 (a free port if 8080 is taken),
and the live queue figures printed in the terminal until Ctrl-C or ``--duration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from callcenter.config import Settings, parse_settings
from callcenter.daemon import Daemon, PbxLink
from callcenter.journal import JournalError, remove_sqlite_journal
from callcenter.queues.views import queue_views
from callcenter.simulator.model import CallCenterSpec
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.server import AmiServer, ServerOptions
from callcenter.simulator.traffic import Traffic, TrafficSpec
from callcenter.web.server import PortTaken


@dataclass(frozen=True, slots=True)
class SimulatorRun:
    spec: CallCenterSpec
    traffic: TrafficSpec
    options: ServerOptions
    seed: int = 0
    duration_s: float | None = None
    queue_log: Path | None = None
    warmup_s: float = 0.0


def build(run: SimulatorRun) -> tuple[Pbx, Traffic, AmiServer]:
    """The PBX, its traffic and the server. With ``warmup_s`` the call center has already been
    running that long (in virtual time, before anyone connects) when the server opens."""
    now = time.time()
    pbx = Pbx(run.spec, boot=now - run.warmup_s, seed=run.seed)
    traffic = Traffic(pbx, run.traffic, seed=run.seed)
    traffic.start()
    if run.warmup_s:
        pbx.advance(now)  # nobody was connected: the events are gone, the queue_log lines stay

    def restarted() -> None:
        pbx.restart()
        traffic.log_in()

    server = AmiServer(pbx, run.options, queue_log=run.queue_log, pbx_restart=restarted)
    return pbx, traffic, server


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def _until(stop: asyncio.Event, duration_s: float | None) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(duration_s):
            await stop.wait()


async def simulate(run: SimulatorRun) -> None:
    _, traffic, server = build(run)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with server:
        o = run.options
        print(
            f"AMI simulator (Asterisk Call Manager/11.0.0) listening on {o.host}:{server.port}, "
            f"username {o.username!r}; {len(run.traffic.agents)} agents, "
            f"{run.traffic.calls_per_hour[0]:g} calls/hour; Ctrl-C stops",
            flush=True,
        )
        await _until(stop, run.duration_s)
    print(f"simulator stopped after {traffic.calls} calls", flush=True)


DEMO_TRAFFIC = TrafficSpec(calls_per_hour=(480.0,), patience_s=60.0, talk_s=50.0, queue_timeout_s=90.0,
                           escalate_share=0.5, repeat_share=0.15)  # fmt: skip


DEMO_WEB_PORT = 8080
DEMO_STORE = "demo-store.sqlite3"


def demo_settings(port: int, secret: str, data: Path, web_port: int = DEMO_WEB_PORT) -> Settings:
    return parse_settings({
        "ami": {"servers": [{"name": "demo", "port": port, "username": "demo", "secret": secret,
                             "reconnect_min_s": 0.2, "reconnect_max_s": 2}]},
        "tracking": {"queues": {"support": {"wrapup_s": 2}, "support-l2": {"wrapup_s": 2}}},
        "journal": {"path": str(data / "demo-journal.sqlite3")},
        "store": {"path": str(data / DEMO_STORE)},
        "log": {"level": "warning", "figures_interval_s": 3600},
        "web": {"port": web_port},
    })  # fmt: skip


def demo_daemon(ami_port: int, secret: str, data: Path) -> tuple[Daemon, str]:
    """The demo's daemon, its web on port 8080 or, if that is taken, on a free port (and a note saying so)."""
    try:
        return Daemon(demo_settings(ami_port, secret, data)), ""
    except PortTaken:
        daemon = Daemon(demo_settings(ami_port, secret, data, web_port=0))
        return daemon, f" (port {DEMO_WEB_PORT} is taken: a free port instead)"


def figures(link: PbxLink) -> list[str]:
    """The terminal wallboard: one line per queue."""
    lines = []
    now = link.asterisk_now()
    for view in queue_views(link.ingest.tracker, now):
        done = link.totals.so_far(view.queue, now)
        started, recent = link.totals.this_interval(view.queue, now)
        agents = (
            ", ".join(f"{n} {s.value.replace('_', ' ')}" for s, n in sorted(view.agents.items())) or "none"
        )
        waiting = f"waiting {len(view.waiting):>2} (longest {view.longest_wait_s:>3.0f} s)"
        line = f"  {view.queue:<11} {waiting} | agents: {agents}"
        if done.offered:
            sl = done.service_level_pct or 0.0
            line += (
                f"\n  {'':<11} today: offered {done.offered}, answered {done.answered} ({sl:.0f}% within "
                f"{done.servicelevel_s} s), abandoned {done.abandoned} ({done.short_abandoned} short), "
                f"lost {done.lost_total}"
            )
            since = time.strftime("%H:%M", time.localtime(started))
            line += f"; since {since}: offered {recent.offered}, answered {recent.answered}"
        lines.append(line)
    return lines or ["  (no queue seen yet)"]


async def demo(
    duration_s: float | None, data: Path, seed: int, interval_s: float = 3.0, keep: bool = False
) -> None:
    data.mkdir(parents=True, exist_ok=True)
    journal, queue_log = data / "demo-journal.sqlite3", data / "demo-queue_log"
    fresh = not keep
    if fresh:  # each demo starts clean: figures of this run only (--keep goes on from the last)
        remove_sqlite_journal(journal)  # refuses while another demo holds it, before anything goes
        for leftover in (DEMO_STORE, DEMO_STORE + "-wal", DEMO_STORE + "-shm"):
            (data / leftover).unlink(missing_ok=True)
        queue_log.unlink(missing_ok=True)
    secret = secrets.token_hex(8)
    options = ServerOptions(port=0, username="demo", secret=secret)
    # Five minutes of calls already under way: the daemon starts from Asterisk's snapshot.
    run = SimulatorRun(CallCenterSpec(), _demo_traffic(), options, seed, queue_log=queue_log,
                       warmup_s=WARMUP_S)  # fmt: skip
    _, traffic, server = build(run)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    async with server:
        daemon, note = demo_daemon(server.port, secret, data)
        print("callcenter demo — a simulated call center and the daemon tracking it", flush=True)
        print(f"  AMI simulator   127.0.0.1:{server.port} (username demo)", flush=True)
        print(f"  journal         {journal} ({'new' if fresh else 'kept: this run adds to it'})", flush=True)
        print(f"  queue_log       {queue_log} (what Asterisk itself would write)", flush=True)
        print(
            f"  store           {data / DEMO_STORE} (finished calls: `callcenter report --store` and "
            "`callcenter export` read it)",
            flush=True,
        )
        print(
            f"  The call center opened {WARMUP_S / 60:.0f} minutes before the daemon connected: those calls\n"
            "  are in queue_log only. The daemon adopts the calls still in progress from Asterisk's status\n"
            "  (flagged: their start unseen) and counts from there; the figures below are what it saw.",
            flush=True,
        )
        print(f"  web             {daemon.web_line()}{note}", flush=True)
        if daemon.web is not None:  # Ana's phone (the simulator's first agent)
            print(f"  agent screen    {daemon.web.url}/agent#interface=PJSIP%2F1001 (Ana's phone)\n"
                  f"  wallboard       {daemon.web.url}/wallboard", flush=True)  # fmt: skip
        print("Ctrl-C stops.\n", flush=True)
        running = asyncio.create_task(daemon.run(), name="daemon")
        started = time.monotonic()
        try:
            while not stop.is_set():
                left = None if duration_s is None else duration_s - (time.monotonic() - started)
                await _until(stop, interval_s if left is None else max(0.0, min(interval_s, left)))
                elapsed = time.monotonic() - started
                link = daemon.links[0]
                state = "up" if link.up_since is not None else "down"
                print(f"[{elapsed:5.0f} s] AMI link {state}, {traffic.calls} calls so far", flush=True)
                print("\n".join(figures(link)), flush=True)
                if duration_s is not None and elapsed >= duration_s:
                    break
        finally:
            daemon.stop()
            await running
    print("demo stopped", flush=True)


WARMUP_S = 300.0  # the simulated day has been going this long when the daemon connects


def _demo_traffic() -> TrafficSpec:
    from callcenter.simulator.traffic import default_agents

    return replace(DEMO_TRAFFIC, agents=default_agents())


def main_demo(duration_s: float | None, data: Path, seed: int, keep: bool = False) -> int:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        asyncio.run(demo(duration_s, data, seed, keep=keep))
    except JournalError as exc:  # another demo uses this folder
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    return 0
