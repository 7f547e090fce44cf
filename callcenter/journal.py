"""The journal: every byte each Asterisk sent, appended durably before it changes any state.

A daemon killed at any moment (SIGKILL included) rebuilds, by replaying its journal through the
same decode → translate → track path, exactly the state it had: every stint it had ended, none
twice. Rows are the chunks as read from the socket, with the receive time stamped at the edge,
plus a ``link`` row (the banner) where each AMI connection starts, so the decoder is reset where
the live one was.

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
    """The journal file cannot be opened or written (disk full, permissions, not a journal)."""


class Journal:
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
