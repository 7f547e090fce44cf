"""The journal: every byte each Asterisk sent, appended durably before it changes any state.

A daemon killed at any moment (SIGKILL included) rebuilds, by replaying its journal through the
same decode → translate → track path, exactly the state it had: every stint it had ended, none
twice. Rows are the chunks as read from the socket, with the receive time stamped at the edge,
plus a ``link`` row (the banner) where each AMI connection starts, so the decoder is reset where
the live one was.

Two stores keep it, with one shape (:class:`JournalStore`) and one factory (:func:`open_journal`):
SQLite here, the default (embedded, nothing to set up), and PostgreSQL for larger sites
(:mod:`callcenter.journal_pg`, imported only when chosen: psycopg is an optional extra).

SQLite in WAL mode with ``synchronous=NORMAL``: a commit survives the process being killed
(not a power cut, which would need FULL at several times the cost). Writes happen in a worker
thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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

    def rows(self, server: str | None = None) -> Iterator[JournalRow]:
        """Everything journaled, in arrival order (optionally one server's), read lazily."""
        ...

    def servers(self) -> list[str]:
        """The servers that have rows, sorted by code point (as SQLite and PostgreSQL's "C" agree)."""
        ...

    def close(self) -> None: ...


def open_journal(settings: JournalSettings, *, create: bool = True) -> JournalStore:
    """The journal `settings` point at. `create=False` (reading one) refuses to make a new one."""
    if settings.url is None:
        if not create and not Path(settings.path).exists():
            raise JournalError(f"{settings.path}: no such file")
        return SqliteJournal(settings.path)
    try:
        from callcenter.journal_pg import PgJournal
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "psycopg":
            raise JournalError(PSYCOPG_MISSING) from None
        raise
    return PgJournal(settings.url, create=create)


def journal_settings(target: str) -> JournalSettings:
    """The settings of a journal named on the command line: a postgresql:// URL or an SQLite file."""
    if not looks_like_url(target):
        return JournalSettings(path=target)
    try:
        return parse_settings({"journal": {"url": target}}).journal
    except ConfigError as exc:  # the same check, and message, as journal.url in a config file
        raise JournalError(f"{redact(target)}: {exc.problems[0].partition(': ')[2]}") from None


def copy_journal(source: JournalStore, target: JournalStore, batch: int = 5000) -> dict[str, int]:
    """Append every row of `source` to `target` in arrival order, `batch` rows per transaction.

    Returns the number of rows copied per server. A failure part-way leaves the batches already
    committed in `target`: the JournalError says how many.
    """
    counts: dict[str, int] = {}
    pending: list[JournalRow] = []
    copied = 0
    try:
        for row in source.rows():
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


class SqliteJournal:
    """The journal in an SQLite file (WAL): one writer connection, readers of their own."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"{self.path}: cannot open the journal: {exc}") from exc

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

    def rows(self, server: str | None = None) -> Iterator[JournalRow]:
        """Everything journaled, in arrival order (optionally one server's)."""
        query = "SELECT server, received_at, kind, data FROM ami_journal"
        args: tuple[str, ...] = ()
        if server is not None:
            query += " WHERE server = ?"
            args = (server,)
        with self._lock:
            reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            for srv, at, kind, data in reader.execute(query + " ORDER BY seq", args):
                yield JournalRow(srv, at, kind, bytes(data))
        finally:
            reader.close()

    def servers(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT DISTINCT server FROM ami_journal ORDER BY server")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
