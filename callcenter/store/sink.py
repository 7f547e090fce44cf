"""The store as a queued sink of the fan-out: it must never miss a change (policy ``catch_up``).

Writes run in a worker thread, in the batches the fan-out hands over, so the event loop never
waits on the disk. After an overflow the sink re-reads its server's journal through a fresh
tracker and writes what it finds: the store keeps each stint once, so what was already written
is skipped and what was dropped is filled in.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal

from callcenter.fanout import Positioned
from callcenter.ingest import Ingest
from callcenter.journal import LINK, JournalRow
from callcenter.queues import changes as ch
from callcenter.queues.tracker import TrackerConfig
from callcenter.store.sql import SqlStore

log = logging.getLogger("callcenter")

KEPT = (ch.StintEnded, ch.AgentChanged, ch.SurveyAnswered, ch.IvrChoiceMade, ch.CallsUnseen, ch.SessionEnded,
        ch.PauseEnded, ch.RingUnanswered)  # fmt: skip
DAY_S = 86400
ARCHIVE_DAYS_PER_BATCH = 3
CATCH_UP_BATCH = 5_000


def journal_changes(
    rows: Iterable[JournalRow], config: TrackerConfig | None = None
) -> Iterator[tuple[int, ch.Change]]:
    """The stored kinds of change one server's journal rows produce, with their positions
    (row numbers from 1), as the daemon produced them live."""
    ingest = Ingest(config=config)
    for position, row in enumerate(rows, start=1):
        if row.kind == LINK:
            changes = ingest.link(row.data.decode("utf-8", "replace"), row.received_at)
        else:
            changes = ingest.feed(row.data, row.received_at)
        for c in changes:
            if isinstance(c, KEPT):
                yield position, c


def archive_closed_days(store: SqlStore, limit: int | None = None) -> int:
    """Write the columnar day files of the UTC days before today (``store.archive``), at most
    ``limit`` of them; the number written."""
    from callcenter.store.archive import archive

    return len(archive(store, before=(time.time() // DAY_S) * DAY_S, limit=limit))


def write_all(store: SqlStore, server: str, changes: Iterable[tuple[int, ch.Change]]) -> int:
    """Write (position, change) pairs in batches; the number of stints that were new."""
    new = 0
    batch: list[tuple[int, object]] = []
    for item in changes:
        batch.append(item)
        if len(batch) >= CATCH_UP_BATCH:
            new += store.write_changes(server, batch)
            batch = []
    return new + store.write_changes(server, batch)


class StoreSink:
    name = "store"
    policy: Literal["drop", "catch_up"] = "catch_up"

    def __init__(
        self,
        store: SqlStore,
        server: str,
        journal_rows: Callable[[], Iterable[JournalRow]] | None,
        config: TrackerConfig | None = None,
    ) -> None:
        self.store = store
        self.server = server
        self._journal_rows = journal_rows  # None: no journal, nothing to catch up from
        self._config = config
        self.stored_upto = store.position(server)  # recovery re-publishes what is stored already
        self._archives = not store.postgres and importlib.util.find_spec("pyarrow") is not None
        self._archived_day = 0

    async def consume(self, batch: Sequence[Positioned]) -> None:
        todo = [
            (p.position, p.change)
            for p in batch
            if isinstance(p.change, KEPT) and (p.live or p.position > self.stored_upto)
        ]
        if todo:
            await asyncio.to_thread(self.store.write_changes, self.server, todo)
        today = int(time.time() // DAY_S)
        if self._archived_day < today and self._archives:
            # the day files of the analysts' columnar copy, once a UTC day has closed; a few days
            # per batch, so a first copy of a big store never holds up the store's writes long
            try:
                written = await asyncio.to_thread(archive_closed_days, self.store, ARCHIVE_DAYS_PER_BATCH)
            except Exception as exc:  # the copy is a cache: the store stays whole without it
                log.warning("store: the day files were not written: %s", exc)
                written = 0
            if written < ARCHIVE_DAYS_PER_BATCH:
                self._archived_day = today

    async def resync(self, lost_from: Positioned | None) -> None:
        if self._journal_rows is None:
            log.error("store: %s lost changes and there is no journal to catch up from", self.server)
            return
        rows = self._journal_rows
        new = await asyncio.to_thread(
            lambda: write_all(self.store, self.server, journal_changes(rows(), self._config))
        )
        log.info("store: %s caught up from the journal (%d stints were missing)", self.server, new)
