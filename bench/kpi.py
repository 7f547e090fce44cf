"""KPI benchmark: a month of synthetic stints in the store, the analysts' queries timed from the store.

    python bench/kpi.py [--rows 1000000 5000000] [--keep DIR]

For each size, in one run on the same data:
  ours     the store as the daemon writes it (SQLite, and the closed days' Parquet files of
           store.archive, read with Arrow a day at a time, summed with numpy): monthly KPIs by
           queue x day, by queue x hour (as `callcenter export kpis` adds them up), and the
           whole monthly report (its every number, rendered to HTML), each timed from opening
           the store (loading included), in a fresh process for its peak RSS; and the same with
           SQLite alone adding up (the path without pyarrow);
  duckdb   the baseline: DuckDB (pip install duckdb) running the same aggregation (the same
           SQL sums, same time-zone offsets) over the same stints in a Parquet file, its best
           case (columnar, compressed), also timed from opening and in a fresh process.
Prints seconds, peak RSS and each of ours' ratio to DuckDB's. Targets: 5M stints in < 5 s and
<= 2x DuckDB. Needs pyarrow (the analytics extra) to write the Parquet file.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import callcenter.metrics.columnar  # noqa: E402,F401 - imported before the clock starts, as duckdb is
from callcenter.metrics.kpi import KpiRules  # noqa: E402
from callcenter.queues.model import LOST_OUTCOMES  # noqa: E402
from callcenter.reports.monthly import figures, month_data_from_store, month_range, render  # noqa: E402
from callcenter.reports.tables import store_kpi_groups  # noqa: E402
from callcenter.store import open_store  # noqa: E402
from callcenter.store.aggregate import kpi_query  # noqa: E402
from callcenter.store.archive import archive  # noqa: E402
from callcenter.store.schema import STINT_COLUMNS  # noqa: E402

MONTH, ZONE = "2026-10", "Europe/Madrid"  # summer time ends on the 25th: a 25-hour day
RULES = KpiRules(servicelevel_s=20, timezone=ZONE)
QUEUES = ("support", "support-l2", "billing", "vip")
AGENTS = tuple(f"agent{i:02d}" for i in range(40))
BATCH = 50_000


def rows(n: int, seed: int = 1) -> list[tuple[object, ...]]:
    """n stints over the month, in STINT_COLUMNS order: a help desk's mix of outcomes."""
    rng = random.Random(seed)
    start, end = month_range(MONTH, ZoneInfo(ZONE))
    outcomes = ["answered"] * 80 + ["abandoned"] * 12 + [o.value for o in LOST_OUTCOMES] + ["unknown"]
    out = []
    for i in range(n):
        joined = rng.uniform(start, end - 3600)
        outcome = rng.choice(outcomes)
        wait = round(rng.expovariate(1 / 25), 0)
        answered = outcome == "answered"
        talk = round(rng.expovariate(1 / 240), 0) if answered else None
        out.append((
            "pbx1", i + 1, f"{int(joined)}.{i}", f"{int(joined)}.{i}", rng.choice(QUEUES),
            f"+54911{rng.randrange(10**6):06d}", "", outcome, joined, joined + wait + (talk or 0), wait, talk,
            rng.choice(AGENTS) if answered else None, None, "agent" if answered else None, None,
            int(outcome == "abandoned" and wait < 5), 0, 1, 1, "ami", 30.0 if answered else None,
        ))  # fmt: skip
    return out


def build(n: int, folder: Path) -> tuple[Path, Path, float]:
    data = rows(n)
    store_path, parquet = folder / f"store-{n}.sqlite3", folder / f"stints-{n}.parquet"
    for old in folder.glob(f"*-{n}.*"):  # a kept folder's earlier run: built again from scratch
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    started = time.perf_counter()
    store = open_store(store_path)
    marks = ", ".join("?" * len(STINT_COLUMNS))
    db = store._db  # the bench loads rows directly, as the sink's batches would, without StintRecords
    for i in range(0, n, BATCH):
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO stints VALUES ({marks})", data[i : i + BATCH])
        db.execute("COMMIT")
    written = time.perf_counter() - started
    started = time.perf_counter()
    archive(store, before=2e9)  # the day files, as the daemon writes them once each day has closed
    print(f"  (day files written in {time.perf_counter() - started:.1f} s)", flush=True)
    store.close()
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(zip(*data, strict=True))
    pq.write_table(pa.table({c: list(v) for c, v in zip(STINT_COLUMNS, columns, strict=True)}), parquet)
    return store_path, parquet, written


def ours(store_path: str, columnar: bool) -> dict[str, float]:
    """Each query from opening the store: the columnar path reads the day files (store.archive),
    the SQL path has SQLite add up."""
    start, end = month_range(MONTH, ZoneInfo(ZONE))
    out = {}
    for name, interval in (("queue_x_day", "day"), ("queue_x_hour", "hour")):
        t = time.perf_counter()
        store = open_store(store_path, create=False)
        if columnar:  # as `callcenter export kpis` adds up: a day file at a time
            store_kpi_groups(store, start, end, by=("queue", "interval"), rules=RULES, interval=interval)
        else:
            store.kpis(start, end, by=("queue", "interval"), rules=RULES, interval=interval)
        store.close()
        out[name] = time.perf_counter() - t
    t = time.perf_counter()
    store = open_store(store_path, create=False)
    html = render(figures(month_data_from_store(store, MONTH, RULES, columnar=columnar), MONTH, RULES))
    store.close()
    out["report"] = time.perf_counter() - t
    assert "Monthly service report" in html
    return out


def duck(parquet: str) -> dict[str, float]:
    import duckdb

    start, end = month_range(MONTH, ZoneInfo(ZONE))
    out = {}
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE VIEW stints AS SELECT * FROM read_parquet('{parquet}')")
    for name, interval in (("queue_x_day", "day"), ("queue_x_hour", "hour")):
        q = kpi_query(
            start, end, by=("queue", "interval"), interval=interval, tz=ZoneInfo(ZONE), postgres=True
        )
        con.execute(q.sql, list(q.args)).fetchall()
        out[name] = time.perf_counter() - t
        t = time.perf_counter()
    return out


def child(kind: str, path: str) -> None:
    times = duck(path) if kind == "duckdb" else ours(path, columnar=kind == "columnar")
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report its parent's
    status = Path("/proc/self/status").read_text()
    peak_mb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
    print(json.dumps({"times": times, "peak_rss_mb": peak_mb}))


def measure(kind: str, path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench/kpi.py: the {kind} measurement failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--keep", help="build the data in this folder and leave it there")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in args.rows:
            store_path, parquet, written = build(n, folder)
            a, c, b = measure("columnar", store_path), measure("sql", store_path), measure("duckdb", parquet)
            ta, tc, tb = a["times"], c["times"], b["times"]
            assert isinstance(ta, dict) and isinstance(tb, dict) and isinstance(tc, dict)
            size, psize = store_path.stat().st_size >> 20, parquet.stat().st_size >> 20
            print(f"{n:>9,} stints (written to the store in {written:.1f} s, {size} MB; Parquet {psize} MB)")
            for key in ("queue_x_day", "queue_x_hour"):
                ratio = ta[key] / tb[key]
                print(f"  {key:<13} ours {ta[key]:6.2f} s (SQL only {tc[key]:6.2f} s)"
                      f"   duckdb {tb[key]:6.2f} s   ours/duckdb {ratio:5.2f}")  # fmt: skip
            print(f"  {'report':<13} ours {ta['report']:6.2f} s (SQL only {tc['report']:6.2f} s)"
                  "   (every number of the monthly report, rendered)")  # fmt: skip
            print(f"  peak RSS      ours {a['peak_rss_mb']:.0f} MB (SQL only {c['peak_rss_mb']:.0f} MB)"
                  f"   duckdb {b['peak_rss_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
