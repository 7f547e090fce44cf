"""The journal: every AMI message the tracker uses, appended durably before it changes any state.

A daemon killed at any moment (SIGKILL included) rebuilds, by replaying its journal through the
same decode → translate → track path, exactly the state it had: every stint it had ended, none
twice. A row holds the frames decoded from one read of the socket (``codec.journal_bytes``: the
messages the tracker reads, whole; junk as a marker), with the receive time stamped at the edge,
plus a ``link`` row (the banner) where each AMI connection starts, so the decoder is reset where
the live one was. Older journals of raw reads replay the same way.

Two stores keep it, with one shape (:class:`JournalStore`) and one factory (:func:`open_journal`):
SQLite here, the default (embedded, nothing to set up), and PostgreSQL for larger sites
(:mod:`callcenter.journal_pg`, imported only when chosen: psycopg is an optional extra).

SQLite in WAL mode with ``synchronous=NORMAL``: a commit survives the process being killed
(not a power cut, which would need FULL at several times the cost). Writes happen in a worker
thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from callcenter.config import ConfigError, JournalSettings, parse_settings
from callcenter.pgurl import looks_like_url, redact

DATA = 0
LINK = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ami_journal (
    seq INTEGER PRIMARY KEY,
    server TEXT NOT NULL,
    received_at REAL NOT NULL,
    kind INTEGER NOT NULL,
    data BLOB NOT NULL
)
"""


# A server's rows in order, for resuming after a checkpoint (added to older journals when opened).
_INDEX = "CREATE INDEX IF NOT EXISTS ami_journal_by_server ON ami_journal (server, seq)"
# How many of each server's first rows retention has deleted: a position (a row's ordinal in its
# server's history, what checkpoints and the store keep) stays the same after a prune.
PRUNED_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ami_journal_pruned (server TEXT PRIMARY KEY, rows BIGINT NOT NULL)"
)
PRUNE_BATCH = 10_000  # rows deleted per transaction: appends wait for one batch at most


@dataclass(frozen=True, slots=True)
class JournalRow:
    server: str
    received_at: float
    kind: int  # DATA: bytes read from the socket; LINK: a connection began, data = its banner
    data: bytes


class JournalError(RuntimeError):
    """The journal cannot be opened or written (disk full, permissions, database down, not a journal)."""


PSYCOPG_MISSING = (
    "journal.url is PostgreSQL but psycopg is not installed: pip install 'callcenter[postgresql]'"
)


class JournalStore(Protocol):
    """What the daemon, replay and journal-copy need of a journal, whatever keeps it."""

    @property
    def target(self) -> str:
        """Where it is, for logs and messages; never shows a password."""
        ...

    def append(self, rows: Sequence[JournalRow]) -> None:
        """Append rows in one transaction; returns once they are committed (JournalError if not)."""
        ...

    async def append_async(self, rows: Sequence[JournalRow]) -> None:
        """`append` in a worker thread: the event loop never waits on the database."""
        ...

    def rows(self, server: str | None = None, skip: int = 0) -> Iterator[JournalRow]:
        """Everything journaled, in arrival order (optionally one server's), read lazily;
        ``skip``: leave out that server's first rows (resuming from a checkpoint), counted from
        its very first row: rows pruned by retention count too (below them: from the first kept)."""
        ...

    def pruned(self, server: str) -> int:
        """How many of the server's first rows retention has deleted."""
        ...

    def prune(self, server: str, upto: int, before: float) -> int:
        """Delete the server's oldest rows that are among its first ``upto`` (those a checkpoint
        and the store hold) and were received before ``before``; the number deleted."""
        ...

    def mark_pruned(self, server: str, rows: int) -> None:
        """Record that the server's first ``rows`` are not here (a copy of a pruned journal)."""
        ...

    def servers(self) -> list[str]:
        """The servers that have rows, sorted by code point (as SQLite and PostgreSQL's "C" agree)."""
        ...

    def close(self) -> None: ...


def open_journal(settings: JournalSettings, *, create: bool = True, writer: bool = False) -> JournalStore:
    """The journal `settings` point at. `create=False` (reading one) opens it read-only and
    refuses to make or change anything. `writer=True` (a daemon, a copy's target) holds the
    journal's one writer lock for as long as it is open: a second writer gets a JournalError
    naming the holder."""
    if settings.url is None:
        if not create and not Path(settings.path).exists():
            raise JournalError(f"{settings.path}: no such file")
        return SqliteJournal(settings.path, create=create, writer=writer)
    try:
        from callcenter.journal_pg import PgJournal
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "psycopg":
            raise JournalError(PSYCOPG_MISSING) from None
        raise
    return PgJournal(settings.url, create=create, writer=writer)


def journal_settings(target: str) -> JournalSettings:
    """The settings of a journal named on the command line: a postgresql:// URL or an SQLite file."""
    if not looks_like_url(target):
        return JournalSettings(path=target)
    try:
        return parse_settings({"journal": {"url": target}}).journal
    except ConfigError as exc:  # the same check, and message, as journal.url in a config file
        raise JournalError(f"{redact(target)}: {exc.problems[0].partition(': ')[2]}") from None


def upsert_pruned_sql(mark: str) -> str:
    return (f"INSERT INTO ami_journal_pruned (server, rows) VALUES ({mark}, {mark})"
            " ON CONFLICT (server) DO UPDATE SET rows = excluded.rows")  # fmt: skip


def prune_batch(
    execute: Callable[[str, tuple[Any, ...]], Any],
    mark: str,
    server: str,
    done: int,
    upto: int,
    before: float,
) -> int:
    """One batch of a journal's ``prune``, inside the caller's transaction (``mark``: the driver's
    placeholder): of the server's first ``upto`` rows, those left (``done`` are gone already)
    that were received before ``before``, at most PRUNE_BATCH; the number deleted."""
    room = min(PRUNE_BATCH, upto - done)
    if room <= 0:
        return 0
    query = f"SELECT seq, received_at FROM ami_journal WHERE server = {mark} ORDER BY seq LIMIT {mark}"
    found = execute(query, (server, room)).fetchall()
    old = [seq for seq, _ in itertools.takewhile(lambda r: r[1] < before, found)]
    if old:  # the server's first rows are contiguous in its seq order: one range
        execute(f"DELETE FROM ami_journal WHERE server = {mark} AND seq BETWEEN {mark} AND {mark}",
                (server, old[0], old[-1]))  # fmt: skip
        execute(upsert_pruned_sql(mark), (server, done + len(old)))
    return len(old)


def prune_in_batches(batch: Callable[[], int]) -> int:
    """Run one-transaction batches until one deletes less than a full batch; the total deleted."""
    deleted = 0
    while True:
        step = batch()
        deleted += step
        if step < PRUNE_BATCH:
            return deleted


def copy_journal(source: JournalStore, target: JournalStore, batch: int = 5000) -> dict[str, int]:
    """Append every row of `source` to `target` in arrival order, `batch` rows per transaction,
    except rows `target` already holds: per server, those up to the last one it has (a copy
    repeated, or resumed after a failure, doubles nothing).

    Returns the number of rows copied per server. A failure part-way leaves the batches already
    committed in `target`: the JournalError says how many.
    """
    held = _last_rows(target)
    for server in source.servers():  # positions count pruned rows: the copy must know of them
        gone = source.pruned(server)
        if gone and server not in held:
            target.mark_pruned(server, gone)
    counts: dict[str, int] = {}
    pending: list[JournalRow] = []
    copied = 0
    try:
        for row in source.rows():
            last = held.get(row.server)
            if last is not None and (
                row.received_at < last[0] or (row.received_at == last[0] and (row.kind, row.data) in last[1])
            ):
                continue  # already in the target
            pending.append(row)
            if len(pending) >= batch:
                target.append(pending)
                copied += len(pending)
                pending = []
            counts[row.server] = counts.get(row.server, 0) + 1
        target.append(pending)
    except JournalError as exc:
        where = target.target
        raise JournalError(f"{exc} ({copied} rows were copied before this; {where} holds them)") from exc
    return dict(sorted(counts.items()))


def _last_rows(journal: JournalStore) -> dict[str, tuple[float, set[tuple[int, bytes]]]]:
    """Per server: the time of its last row, and the rows at that very time."""
    last: dict[str, tuple[float, set[tuple[int, bytes]]]] = {}
    for row in journal.rows():
        seen = last.get(row.server)
        if seen is None or row.received_at > seen[0]:
            last[row.server] = (row.received_at, {(row.kind, row.data)})
        elif row.received_at == seen[0]:
            seen[1].add((row.kind, row.data))
    return last


class SqliteJournal:
    """The journal in an SQLite file (WAL): one writer connection, readers of their own.

    A writer holds an OS lock (``flock``) on ``<file>.lock`` for its life, which names it (pid,
    command, since when): SQLite itself would let two daemons interleave their rows. Read-only
    (``create=False``) it opens the file with ``mode=ro`` and never creates a table in it."""

    def __init__(self, path: str | Path, *, create: bool = True, writer: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._holder: int | None = None
        try:
            if writer:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._holder = _hold_writer_lock(self.path)
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(_SCHEMA)
                self._db.execute(_INDEX)
                self._db.execute(PRUNED_SCHEMA)
            else:
                if self.path.is_file() and self.path.stat().st_size == 0:
                    raise JournalError(f"{self.path}: an empty file; expected a callcenter journal (SQLite)")
                self._db = sqlite3.connect(
                    f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
                )
                tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if "ami_journal" not in tables:
                    self._db.close()
                    raise JournalError(
                        f"{self.path}: an SQLite database but not a callcenter journal (no ami_journal table)"
                    )
        except (OSError, sqlite3.Error) as exc:
            self._release()
            text = "not an SQLite database" if isinstance(exc, sqlite3.DatabaseError) else str(exc)
            raise JournalError(f"{self.path}: cannot open the journal: {text}") from exc
        except JournalError:
            self._release()
            raise

    def _release(self) -> None:
        if self._holder is not None:
            os.close(self._holder)  # closing the descriptor releases the flock
            self._holder = None

    def append(self, rows: Sequence[JournalRow]) -> None:
        """Append rows in one transaction; returns once they are committed."""
        if not rows:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO ami_journal (server, received_at, kind, data) VALUES (?, ?, ?, ?)",
                    [(r.server, r.received_at, r.kind, r.data) for r in rows],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise JournalError(f"{self.path}: cannot append: {exc}") from exc

    async def append_async(self, rows: Sequence[JournalRow]) -> None:
        await asyncio.to_thread(self.append, rows)

    @property
    def target(self) -> str:
        return str(self.path)

    def rows(self, server: str | None = None, skip: int = 0) -> Iterator[JournalRow]:
        """Everything journaled, in arrival order (optionally one server's, after its first
        ``skip`` rows: the (server, seq) index walks past them without reading their data)."""
        query = "SELECT server, received_at, kind, data FROM ami_journal"
        args: tuple[str | int, ...] = ()
        if server is not None:
            query += " WHERE server = ?"
            args = (server,)
            skip = max(0, skip - self.pruned(server))
        if skip:
            query += " ORDER BY seq LIMIT -1 OFFSET ?"
            args = (*args, skip)
        with self._lock:
            reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            order = "" if skip else " ORDER BY seq"
            for srv, at, kind, data in reader.execute(query + order, args):
                yield JournalRow(srv, at, kind, bytes(data))
        finally:
            reader.close()

    def servers(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT server FROM ami_journal ORDER BY server")]

    def pruned(self, server: str) -> int:
        with self._lock:
            return self._pruned(server)

    def _pruned(self, server: str) -> int:
        try:
            query = "SELECT rows FROM ami_journal_pruned WHERE server = ?"
            row = self._db.execute(query, (server,)).fetchone()
        except sqlite3.OperationalError:  # a journal of an earlier release, opened read-only: never pruned
            return 0
        return 0 if row is None else int(row[0])

    def prune(self, server: str, upto: int, before: float) -> int:
        def batch() -> int:
            with self._lock:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    deleted = prune_batch(self._db.execute, "?", server, self._pruned(server), upto, before)
                    self._db.execute("COMMIT")
                except sqlite3.Error as exc:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise JournalError(f"{self.path}: cannot prune: {exc}") from exc
            return deleted

        return prune_in_batches(batch)

    def mark_pruned(self, server: str, rows: int) -> None:
        with self._lock:
            self._set_pruned(server, rows)

    def _set_pruned(self, server: str, rows: int) -> None:
        self._db.execute(upsert_pruned_sql("?"), (server, rows))

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._release()


def remove_sqlite_journal(path: Path) -> bool:
    """Delete an SQLite journal (and its WAL files) that no daemon holds; whether there was one.
    Raises JournalError naming the holder when one does."""
    fd = _hold_writer_lock(path) if path.parent.is_dir() else None
    try:
        existed = path.exists()
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        return existed
    finally:
        if fd is not None:
            os.close(fd)


def _hold_writer_lock(path: Path) -> int:
    """Take ``<path>.lock`` for this process (released when its descriptor closes, or at exit,
    even on kill -9); raises JournalError naming the process that holds it."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 300, 0).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        raise JournalError(
            f"{path}: already in use by {holder}; stop it, or give this one another journal"
        ) from None
    os.ftruncate(fd, 0)
    command = " ".join(["callcenter", *sys.argv[1:2]])  # argv[0] is __main__.py under python -m
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    os.pwrite(fd, f"pid {os.getpid()} ({command}, since {started})".encode(), 0)
    return fd
