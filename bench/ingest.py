"""Ingest benchmark: AMI bytes → tracker state, on the recorded mixed-load trace.

    python bench/ingest.py [--trace PATH] [--chunk BYTES] [--runs N]

Measures in one run, on the same bytes held in memory:
  baseline   a bare parse: decode, split into messages, split lines into dicts (no framing
             across reads, no state) — the floor any real AMI consumer pays;
  ingest     the daemon's path: codec → translation → tracker, journal off;
  journaled  the same with every chunk committed to a SQLite journal (WAL) before it is applied.
Prints events/s (best of N runs, interleaved so that background load hits all three alike) and
each rate's ratio to the baseline.
Targets (2-core machine): ingest >= 100k ev/s and >= baseline; journaled >= 50k ev/s.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.ingest import Ingest  # noqa: E402
from callcenter.journal import DATA, JournalRow, SqliteJournal  # noqa: E402

DEFAULT_TRACE = ROOT / "tests" / "traces" / "n_mixed_load.ami.gz"


def baseline(raw: bytes, chunk: int) -> int:
    count = 0
    for message in raw.decode("utf-8", "replace").split("\r\n\r\n"):
        headers = {}
        for line in message.split("\r\n"):
            key, _, value = line.partition(": ")
            headers[key] = value
        count += "Event" in headers
    return count


def ingest(raw: bytes, chunk: int) -> int:
    pipeline = Ingest()
    for i in range(0, len(raw), chunk):
        pipeline.feed(raw[i : i + chunk], time.time())
    pipeline.finish()
    return pipeline.tracker.anomalies


def journaled(raw: bytes, chunk: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        journal = SqliteJournal(Path(tmp) / "journal.sqlite3")
        pipeline = Ingest()
        for i in range(0, len(raw), chunk):
            data = raw[i : i + chunk]
            at = time.time()
            journal.append([JournalRow("pbx1", at, DATA, data)])
            pipeline.feed(data, at)
        pipeline.finish()
        journal.close()
    return pipeline.tracker.anomalies


def measure(fns: list[Callable[[bytes, int], int]], raw: bytes, chunk: int, runs: int) -> list[float]:
    """Best time of each function over ``runs`` rounds, the functions interleaved in each round."""
    best = [float("inf")] * len(fns)
    for _ in range(runs):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn(raw, chunk)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    ap.add_argument("--chunk", type=int, default=65536, help="bytes per socket read (default 64 KiB)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    opener = gzip.open if args.trace.suffix == ".gz" else open
    with opener(args.trace, "rb") as f:
        raw = f.read()
    events = sum(1 for m in raw.split(b"\r\n\r\n") if b"Event: " in m[:400])
    print(
        f"trace {args.trace.name}: {len(raw) / 1e6:.1f} MB, {events} events, chunk {args.chunk} B, "
        f"best of {args.runs} runs"
    )
    base, plain, journal = measure([baseline, ingest, journaled], raw, args.chunk, args.runs)
    rows = [("baseline (bare split into dicts)", base), ("ingest, journal off", plain),
            ("ingest, journal on (SQLite WAL)", journal)]  # fmt: skip
    for label, seconds in rows:
        rate = events / seconds
        print(
            f"  {label:<34} {rate:>10,.0f} events/s  {len(raw) / seconds / 1e6:6.1f} MB/s  "
            f"x{base / seconds:.2f} baseline"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:.0f} MiB (includes the {len(raw) / 2**20:.0f} MiB trace held in memory)")


if __name__ == "__main__":
    main()
