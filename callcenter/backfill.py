"""Reading Asterisk's queue_log from a moment on, and filling the store's gap from it.

queue_log only grows, one line per event in time order, so the first line of a moment is found
by bisecting the file's bytes (a few reads, whatever its size); lines after it are read as they
come. The merge rules are the store's (``SqlStore.backfill``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from callcenter.queues.queue_log import stints_of
from callcenter.store.sql import SqlStore


def _time_at(f: BinaryIO, offset: int) -> tuple[int, float | None]:
    """The start of the first whole line at or after ``offset`` and its time (None: no line)."""
    f.seek(offset)
    if offset:
        f.readline()  # the rest of a line begun before
    start = f.tell()
    while True:
        line = f.readline()
        if not line:
            return start, None
        head = line.split(b"|", 1)[0]
        if head.isdigit():
            return start, float(head)
        start = f.tell()  # a line without a time: the next


def lines_since(path: str | Path, since: float) -> list[str]:
    """The lines of a queue_log written at or after ``since`` (whole seconds, as it writes them)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        lo, hi = 0, size
        while lo < hi:  # the first offset whose next line is at or after ``since``
            mid = (lo + hi) // 2
            _, at = _time_at(f, mid)
            if at is None or at >= since:
                hi = mid
            else:
                lo = mid + 1
        start, _ = _time_at(f, lo)
        f.seek(start)
        return [line.decode("utf-8", "replace") for line in f]


def backfill_since(
    store: SqlStore, server: str, path: str | Path, since: float, short_abandon_s: float = 5.0
) -> tuple[int, int]:
    """Fill the store from queue_log's lines since ``since``: (added, replaced)."""
    records = list(stints_of(lines_since(path, since), short_abandon_s=short_abandon_s))
    return store.backfill(server, records)
