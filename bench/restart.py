"""Restart and memory benchmark: start-up after a month of journal, and RSS after 1M finished calls.

    python bench/restart.py [--days 30] [--calls-per-hour 30] [--calls 1000000]

start-up  A month of a help desk played by the project's simulator (its Asterisk, its traffic:
          --calls-per-hour around the clock, --days days), journaled as the daemon journals
          a socket's reads. Timed, each in a fresh daemon on the same files:
            full        no checkpoint: the whole journal replayed (the baseline);
            checkpoint  the daemon's checkpoint taken at the end of the month, then 5 more
                        minutes journaled: only those are replayed;
            retention   the same after journal.retention_days pruned what the checkpoint covers.
memory    --calls finished calls (join, ring, answer, talk, complete; one in eight abandoned)
          through the tracker and the running figures, as the daemon applies them; RSS
          (VmRSS) at every tenth, and the growth per call from the first tenth to the last (the
          baseline: the same process before the first call).
"""

from __future__ import annotations

import argparse
import gc
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter import checkpoint  # noqa: E402
from callcenter.config import parse_settings  # noqa: E402
from callcenter.daemon import Daemon  # noqa: E402
from callcenter.journal import DATA, LINK, JournalRow, open_journal  # noqa: E402
from callcenter.metrics.window import Window  # noqa: E402
from callcenter.queues import changes as ch  # noqa: E402
from callcenter.queues import events as ev  # noqa: E402
from callcenter.queues.tracker import Tracker  # noqa: E402
from callcenter.simulator.manager import BANNER  # noqa: E402
from callcenter.simulator.model import CallCenterSpec  # noqa: E402
from callcenter.simulator.pbx import Pbx  # noqa: E402
from callcenter.simulator.traffic import Traffic, TrafficSpec, default_agents  # noqa: E402
from callcenter.simulator.wire import render_event  # noqa: E402
from callcenter.sinks import Totals  # noqa: E402

CHUNK = 16 * 1024  # bytes per journal row, about a socket read under load


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


# -- start-up after a month ----------------------------------------------------------------------


def month_rows(days: int, calls_per_hour: float) -> tuple[list[JournalRow], list[JournalRow]]:
    """The month's journal rows, and 5 more minutes after it."""
    pbx = Pbx(CallCenterSpec(), seed=3)
    traffic = TrafficSpec(
        calls_per_hour=(calls_per_hour,), talk_s=180.0, patience_s=60.0, agents=default_agents()
    )
    Traffic(pbx, traffic, seed=3).start()
    rows = [JournalRow("pbx", pbx.now, LINK, BANNER)]
    end = pbx.now + days * 86400
    while pbx.now < end + 300:
        at = pbx.now + 3600
        data = b"".join(map(render_event, pbx.advance(at)))
        rows += [JournalRow("pbx", at, DATA, data[i : i + CHUNK]) for i in range(0, len(data), CHUNK)]
    tail_from = next(i for i, r in enumerate(rows) if r.received_at > end)
    return rows[:tail_from], rows[tail_from:]


def start(settings: object) -> tuple[float, int, float]:
    """A fresh daemon's recovery: seconds, journal rows replayed, RSS afterwards."""
    gc.collect()
    began = time.perf_counter()
    daemon = Daemon(settings)  # type: ignore[arg-type]
    replayed = daemon.recover()
    took = time.perf_counter() - began
    rss = rss_mb()
    _save_checkpoint(daemon)
    daemon.store.close()  # type: ignore[union-attr]
    daemon.journal.close()  # type: ignore[union-attr]
    return took, replayed, rss


def _save_checkpoint(daemon: Daemon) -> None:
    """What the daemon saves every 5 minutes once its sinks are caught up (here: no sink runs)."""
    link = daemon.links[0]
    blob = checkpoint.dump(link.position, link.ingest, link.totals.state())
    daemon.store.save_checkpoint("pbx", link.position, time.time(), blob)  # type: ignore[union-attr]


def build_journal(path: str, days: int, calls_per_hour: float) -> None:
    """The month's journal at ``path``, and the 5 minutes after it pickled beside it (in a process
    of its own: the rows it held must not count in the daemon's RSS measured after)."""
    month, tail = month_rows(days, calls_per_hour)
    journal = open_journal(parse_settings({"journal": {"path": path}}).journal)
    for i in range(0, len(month), 1000):
        journal.append(month[i : i + 1000])
    journal.close()
    Path(path + ".tail").write_bytes(pickle.dumps(tail))


def startup(days: int, calls_per_hour: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        given = ["--days", str(days), "--calls-per-hour", str(calls_per_hour)]
        build = [sys.executable, __file__, *given, "--build-journal", f"{tmp}/journal.sqlite3"]
        subprocess.run(build, check=True, timeout=1800)
        made = time.perf_counter() - began
        tail = pickle.loads(Path(f"{tmp}/journal.sqlite3.tail").read_bytes())
        config = {"ami": {"servers": [{"name": "pbx", "port": 1, "username": "cc", "secret": "pw"}]},
                  "journal": {"path": f"{tmp}/journal.sqlite3"}, "web": {"enabled": False}}  # fmt: skip
        settings = parse_settings(config)
        journal = open_journal(settings.journal, create=False)
        count = sum(1 for _ in journal.rows("pbx"))
        journal.close()
        size = Path(f"{tmp}/journal.sqlite3").stat().st_size >> 20
        print(f"start-up: a month of journal ({days} days, {count:,} rows, {size} MB; made in {made:.0f} s)")
        full, rows, rss = start(settings)  # no checkpoint yet: the whole month; saves one at its end
        print(f"  full replay      {full:7.2f} s  {rows:>9,} rows replayed  RSS {rss:5.0f} MB  (baseline)")
        journal = open_journal(settings.journal)
        journal.append(tail)
        journal.close()
        took, rows, rss = start(settings)
        print(f"  from checkpoint  {took:7.2f} s  {rows:>9,} rows replayed  RSS {rss:5.0f} MB  "
              f"({full / took:.0f}x faster)")  # fmt: skip
        retained = parse_settings({**config, "journal": {**config["journal"], "retention_days": 1}})
        _prune(retained)
        journal = open_journal(settings.journal, create=False)
        kept = sum(1 for _ in journal.rows("pbx"))
        journal.close()
        took, rows, rss = start(retained)
        print(f"  after retention  {took:7.2f} s  {rows:>9,} rows replayed  RSS {rss:5.0f} MB  "
              f"(1 day kept: {kept:,} rows)")  # fmt: skip


def _prune(settings: object) -> None:
    daemon = Daemon(settings)  # type: ignore[arg-type]
    daemon.recover()
    _save_checkpoint(daemon)
    # the month is virtual: "older than a day" is measured against the journal's own clock
    last = max(r.received_at for r in daemon.journal.rows("pbx"))  # type: ignore[union-attr]
    daemon.journal.prune("pbx", daemon.links[0].position, last - 86400)  # type: ignore[union-attr]
    daemon.store.close()  # type: ignore[union-attr]
    daemon.journal.close()  # type: ignore[union-attr]


# -- memory after 1M calls -----------------------------------------------------------------------


def memory(calls: int) -> None:
    tracker, totals = Tracker(), Totals(lambda queue: 20, Window("UTC"))
    agents = [f"PJSIP/{1000 + i}" for i in range(40)]
    for i, iface in enumerate(agents):
        tracker.apply(
            ev.MemberReported(0.0, "added", "support", f"Agent {i}", iface, 1, False, "", False, 0, 0, 0)
        )
    gc.collect()
    base = rss_mb()
    marks: list[tuple[int, float]] = []
    began = time.perf_counter()
    t = 1_000_000.0
    for n in range(1, calls + 1):
        call, iface = f"{n}.1", agents[n % len(agents)]
        t += 2.0  # one call every 2 s, each over 70 s later: about 35 in progress at once
        caller = f"+54{n % 99991}"
        events: list[ev.Event] = [
            ev.CallerJoinedQueue(t, call, call, f"PJSIP/trunk-{n}", "support", caller, "", 1)
        ]
        if n % 8:
            events += [
                ev.AgentRang(t + 5, call, "support", "Agent", iface),
                ev.CallerLeftQueue(t + 7, call, "support"),
                ev.CallAnswered(t + 7, call, call, "support", "Agent", iface, 7.0, 2.0),
                ev.CallCompleted(t + 70, call, "support", "Agent", iface, 7.0, 63.0, "caller"),
            ]
        else:
            events += [
                ev.ChannelHangupRequested(t + 9, call, call),
                ev.CallerExitedUnanswered(t + 9, call, "support", 9.0, 1),
            ]
        for e in events:
            for c in tracker.apply(e):
                if isinstance(c, ch.StintEnded):
                    totals.add(c)
        if n % (calls // 10) == 0:
            gc.collect()
            marks.append((n, rss_mb()))
    took = time.perf_counter() - began
    print(f"memory: {calls:,} finished calls in {took:.0f} s ({calls / took:,.0f} calls/s)")
    print(f"  before the first call     RSS {base:6.1f} MB (baseline)")
    for n, rss in marks:
        print(f"  after {n:>9,} calls     RSS {rss:6.1f} MB  ({rss / base:.2f}x the baseline)")
    (n0, r0), (n1, r1) = marks[0], marks[-1]
    print(f"  growth from {n0:,} to {n1:,} calls: {(r1 - r0) * 2**20 / (n1 - n0):.1f} bytes per call")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--calls-per-hour", type=float, default=30.0)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["startup", "memory"])
    parser.add_argument("--build-journal", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_journal:
        build_journal(args.build_journal, args.days, args.calls_per_hour)
    elif args.only == "startup":
        startup(args.days, args.calls_per_hour)
    elif args.only == "memory":
        memory(args.calls)
    else:  # each part in a fresh process: one's memory must not be the other's baseline
        for part in ("startup", "memory"):
            subprocess.run(
                [sys.executable, __file__, *sys.argv[1:], "--only", part], check=True, timeout=1800
            )


if __name__ == "__main__":
    main()
