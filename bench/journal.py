"""Journal benchmark: SQLite against PostgreSQL, on the recorded mixed-load trace.

    python bench/journal.py [--url postgresql://postgres@127.0.0.1:5432/test] [--chunk BYTES]
                            [--batch N] [--runs N]

For each store, on the same bytes cut into --chunk reads:
  daemon   one row per append, as the daemon journals each socket read (one commit each);
  copy     --batch rows per append, as `callcenter journal-copy` writes;
  read     every row back in order, as the daemon's recovery and `replay` read.
PostgreSQL runs twice: as configured (synchronous_commit=on: each commit waits for the WAL
flush) and with synchronous_commit=off set through the URL (what an operator could choose).
Its tables go to a throw-away schema. Prints rows/s and MB/s, best of --runs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.config import JournalSettings  # noqa: E402
from callcenter.journal import DATA, JournalRow, JournalStore, open_journal  # noqa: E402

TRACE = ROOT / "tests" / "traces" / "n_mixed_load.ami.gz"


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    import psycopg

    name = f"bench_journal_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA {name} CASCADE")


def empty(settings: JournalSettings) -> JournalStore:
    """A store emptied of any earlier run's rows."""
    if settings.url is None:
        Path(settings.path).unlink(missing_ok=True)
        return open_journal(settings)
    store = open_journal(settings)
    store.close()
    import psycopg

    with psycopg.connect(settings.url, autocommit=True) as db:
        db.execute("TRUNCATE ami_journal")
    return open_journal(settings)


def timed(settings: JournalSettings, rows: list[JournalRow], batch: int) -> tuple[float, float]:
    store = empty(settings)
    try:
        start = time.perf_counter()
        for i in range(0, len(rows), batch):
            store.append(rows[i : i + batch])
        wrote = time.perf_counter() - start
        start = time.perf_counter()
        count = sum(1 for _ in store.rows())
        read = time.perf_counter() - start
    finally:
        store.close()
    if count != len(rows):
        raise SystemExit(f"{settings.where}: {count} rows read back, {len(rows)} written")
    return wrote, read


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--chunk", type=int, default=4096, help="bytes per row (default 4 KiB)")
    ap.add_argument("--batch", type=int, default=5000, help="rows per append in 'copy' (default 5000)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with gzip.open(TRACE, "rb") as f:
        raw = f.read()
    cuts = range(0, len(raw), args.chunk)
    rows = [JournalRow("pbx1", float(i), DATA, raw[i : i + args.chunk]) for i in cuts]
    mb = len(raw) / 1e6
    print(f"{TRACE.name}: {mb:.1f} MB in {len(rows)} rows of {args.chunk} B, best of {args.runs} runs")
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.url) as url:
        no_flush = f"{url}%20-csynchronous_commit%3Doff"  # one more libpq option after search_path
        stores = [
            ("SQLite (WAL, synchronous=NORMAL)", JournalSettings(path=f"{tmp}/journal.sqlite3")),
            ("PostgreSQL (synchronous_commit=on)", JournalSettings(url=url)),
            ("PostgreSQL (synchronous_commit=off)", JournalSettings(url=no_flush)),
        ]
        for label, settings in stores:
            for mode, batch in (("daemon", 1), ("copy", args.batch)):
                results = [timed(settings, rows, batch) for _ in range(args.runs)]
                wrote, read = (min(r[k] for r in results) for k in (0, 1))
                line = f"  {label:<36} {mode:<6} {len(rows) / wrote:>9,.0f} rows/s {mb / wrote:7.1f} MB/s"
                if mode == "copy":
                    line += f"   read {len(rows) / read:>9,.0f} rows/s {mb / read:7.1f} MB/s"
                print(line)


if __name__ == "__main__":
    main()
