"""Closed days of an SQLite store as Parquet files: the columnar copy the analysts' tools read.

SQLite keeps every stint (the truth, written by the daemon); its row-at-a-time engine adds up a
month of stints at about 3 µs a row (bench/kpi.py). For millions, each closed UTC day is also
written once as a Parquet file in ``<store>.days/`` and read column by column with Arrow. A day
is (re)written whenever the store holds a different number of its stints than its file (a late
stint of a catch-up), so the copy never goes stale for long; days not (yet) in the copy, such as
today, are read from the store itself. Needs pyarrow (the analytics extra).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from callcenter.store.schema import STINT_COLUMNS
from callcenter.store.sql import SqlStore

DAY_S = 86400
T = TypeVar("T")
MANIFEST = "manifest.json"  # {"columns": [...], "days": {UTC day number: stints in its file}}
_TEXT = ("server", "call_id", "linked_id", "queue", "caller_num", "caller_name", "outcome", "agent",
         "interface", "ended_by", "transfer_target", "source")  # fmt: skip
_REAL = ("joined_at", "ended_at", "wait_s", "talk_s", "wrapup_s")
# Beside the stored columns, 64-bit keys of the journey and the caller's number (0: no number),
# so grouping a month of calls by them is integer work, not string work (FCR, bench/kpi.py).
KEYS = ("linked_key", "caller_key")
SCHEMA = pa.schema(
    [(c, pa.string() if c in _TEXT else pa.float64() if c in _REAL else pa.int64()) for c in STINT_COLUMNS]
    + [(k, pa.int64()) for k in KEYS]
)
COLUMNS = (*STINT_COLUMNS, *KEYS)


def key64(text: str) -> int:
    """A stable 64-bit key of a text (0 for an empty one); the same in every process and release."""
    if not text:
        return 0
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True) or 1


def folder_of(store: SqlStore) -> Path | None:
    """Where a store's day files go: beside an SQLite file; none for PostgreSQL (its own engine
    scans in parallel)."""
    return None if store.postgres else Path(store.target + ".days")


def table_of(rows: Sequence[Sequence[Any]]) -> Any:
    """Stored rows (``STINT_COLUMNS`` order) as an Arrow table, with their keys."""
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in STINT_COLUMNS]
    linked, caller = STINT_COLUMNS.index("linked_id"), STINT_COLUMNS.index("caller_num")
    columns += [[key64(v) for v in columns[linked]], [key64(v) for v in columns[caller]]]
    return pa.table(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


def _manifest(folder: Path) -> dict[int, int]:
    """The days written, by their stints; none when the files have other columns (an older
    release's): then every day is written again."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
        if data.get("columns") != list(COLUMNS):
            return {}
        return {int(k): int(v) for k, v in data["days"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return {}


def _file(folder: Path, day: int) -> Path:
    return folder / f"stints-{datetime.fromtimestamp(day * DAY_S, UTC):%Y-%m-%d}.parquet"


def archive(store: SqlStore, before: float, limit: int | None = None) -> list[Path]:
    """Write the day files that are missing or differ from the store, for UTC days ended before
    ``before`` (at most ``limit`` of them, oldest first); the files written. Each file is
    written whole, then renamed into place."""
    folder = folder_of(store)
    if folder is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(folder)
    written: list[Path] = []
    for day, count in sorted(store.day_counts(int(before // DAY_S)).items()):
        if manifest.get(day) == count and _file(folder, day).exists():
            continue
        if limit is not None and len(written) >= limit:
            break
        table = table_of(store.rows_between(day * DAY_S, (day + 1) * DAY_S))
        path = _file(folder, day)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        manifest[day] = table.num_rows
        written.append(path)
    if written:
        tmp = folder / (MANIFEST + ".tmp")
        days = {str(k): v for k, v in sorted(manifest.items())}
        tmp.write_text(json.dumps({"columns": list(COLUMNS), "days": days}))
        os.replace(tmp, folder / MANIFEST)
    return written


def load(store: SqlStore, start: float, end: float, columns: Sequence[str] = COLUMNS) -> Any:
    """The stints ended in [start, end) as one Arrow table (``days`` concatenated)."""
    parts = list(days(store, start, end, columns))
    return pa.concat_tables(parts) if parts else table_of([]).select(list(columns))


def days(store: SqlStore, start: float, end: float, columns: Sequence[str] = COLUMNS) -> Iterator[Any]:
    """The stints ended in [start, end), a UTC day at a time (memory stays that of a few days)."""
    return map_days(store, start, end, columns, _same)


def _same(table: Any) -> Any:
    return table


WORKERS = 2  # days read and worked on at once: Parquet decoding and numpy release the GIL


def map_days(
    store: SqlStore, start: float, end: float, columns: Sequence[str], work: Callable[[Any], T]
) -> Iterator[T]:
    """``work`` of each UTC day's stints ended in [start, end), in day order: the day's file where
    there is one, the store's rows for the other days. Days are read and worked on by WORKERS
    threads, a few days ahead of the caller (a month of 5M stints adds up in half the time on
    two cores, bench/kpi.py). Text columns come dictionary-encoded (a few distinct queues,
    agents and outcomes: grouping them is integer work)."""
    folder = folder_of(store)
    manifest = _manifest(folder) if folder is not None else {}
    span = store.ended_span()
    if span is None:
        return
    texts = [c for c in columns if c in _TEXT]
    first = int(max(start, span[0]) // DAY_S)
    last = int(min(end - 1e-9, span[1]) // DAY_S)

    def read(day: int) -> Any:
        path = _file(folder, day) if folder is not None else None
        if path is not None and day in manifest and path.exists():
            table = pq.read_table(path, columns=list(columns), read_dictionary=texts)
        else:  # not (yet) in a file: the store's rows of that day, through its ended_at index
            table = table_of(store.rows_between(day * DAY_S, (day + 1) * DAY_S)).select(list(columns))
            for c in texts:
                table = table.set_column(table.column_names.index(c), c, pc.dictionary_encode(table[c]))
        if not (start <= day * DAY_S and (day + 1) * DAY_S <= end):  # a day cut by the period
            ended = table["ended_at"]
            table = table.filter(pc.and_(pc.greater_equal(ended, start), pc.less(ended, end)))
        return work(table)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        ahead: deque[Future[T]] = deque()
        for day in range(first, last + 1):
            ahead.append(pool.submit(read, day))
            if len(ahead) > WORKERS:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
