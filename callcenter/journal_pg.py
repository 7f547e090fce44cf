"""The journal in PostgreSQL, for sites that outgrow one SQLite file: the same rows, the same promise.

A :class:`~callcenter.journal.JournalStore` over psycopg 3, imported only when ``journal.url`` is
set (psycopg is the optional ``postgresql`` extra). Calls are synchronous; the daemon makes them
in a worker thread, like SQLite's.

Rules:
- ``append`` returns once PostgreSQL has committed (its ``synchronous_commit``, on by default,
  decides whether that also survives a power cut: stronger than SQLite's NORMAL). Rows go in with
  one binary COPY per call, so a batch of journal-copy and a single chunk of the daemon cost
  the same few round trips.
- Arrival order is ``seq`` order: one connection writes, under a lock, so sequence values are
  taken in commit order. Daemons sharing one table keep each server's order only if no two of
  them journal the same server (a standby must not write while the primary does).
- A connection found dead before COMMIT was sent (PostgreSQL restarted, an idle link cut) is
  reopened and the rows written once more: the server rolled the first try back. A failure of
  the COMMIT itself leaves the outcome unknown, so it is never retried (that could double rows).
- Messages name the target with any password redacted, and never quote the URL unredacted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator, Sequence
from urllib.parse import unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from callcenter.journal import (
    PRUNED_SCHEMA,
    JournalError,
    JournalRow,
    prune_batch,
    prune_in_batches,
    upsert_pruned_sql,
)
from callcenter.pgurl import passwords_of, redact

log = logging.getLogger("callcenter")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ami_journal (
    seq BIGSERIAL PRIMARY KEY,
    server TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    kind SMALLINT NOT NULL,
    data BYTEA NOT NULL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS ami_journal_by_server ON ami_journal (server, seq)"
_COPY = "COPY ami_journal (server, received_at, kind, data) FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = ["text", "float8", "int2", "bytea"]
_COLUMNS = "SELECT server, received_at, kind, data FROM ami_journal"
# Unless the URL says otherwise: give up on an unreachable server, and name ourselves in pg_stat_activity.
_DEFAULTS = {"connect_timeout": "10", "application_name": "callcenter"}
# The journal's one-writer lock: a 64-bit advisory key made of a constant ("call" in ASCII) and
# the journal table's own OID, so two journals in one database (two schemas) never collide.
WRITER_CLASS = 0x63616C6C
_TAKE = "SELECT pg_try_advisory_lock((%s::bigint << 32) | 'ami_journal'::regclass::oid::bigint)"
_HOLDER = (
    "SELECT a.pid, a.application_name, host(a.client_addr), a.backend_start FROM pg_locks l"
    " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted"
    " AND l.classid = %s AND l.objid = 'ami_journal'::regclass::oid AND l.database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
)
_READ_BATCH = 2000  # rows fetched per round trip by rows(): memory stays flat on any journal size


class PgJournal:
    def __init__(self, url: str, *, create: bool = True, writer: bool = False) -> None:
        self._target = redact(url)
        self._secrets = sorted({form for s in passwords_of(url) for form in (s, unquote(s))}, key=len)[::-1]
        self._lock = threading.Lock()
        self._writer = writer
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise JournalError(f"{self._target}: not a usable PostgreSQL URL: {self._clean(exc)}") from None
        self._conninfo = make_conninfo(url, **{k: v for k, v in _DEFAULTS.items() if k not in given})
        self._db = self._connect("cannot open the journal")
        try:
            if create:
                self._db.execute(_SCHEMA)
                self._db.execute(_INDEX)
                self._db.execute(PRUNED_SCHEMA)
            elif self._db.execute("SELECT to_regclass('ami_journal')").fetchone() == (None,):
                raise JournalError(f"{self._target}: no ami_journal table here (not a journal)")
            self._db.execute(_COLUMNS + " LIMIT 0")  # an ami_journal of other columns fails here, not later
            self._db.commit()
            if writer:
                self._take_writer_lock()
        except psycopg.Error as exc:
            self._db.close()
            raise JournalError(f"{self._target}: cannot open the journal: {self._clean(exc)}") from None
        except JournalError:
            self._db.close()
            raise

    @property
    def target(self) -> str:
        return self._target

    def _take_writer_lock(self) -> None:
        """The one-writer rule: a session-level advisory lock, held by the writing connection
        (taken again when it reconnects). Another daemon on the same database is refused with
        the holder's backend pid, application and client address."""
        (taken,) = self._db.execute(_TAKE, (WRITER_CLASS,)).fetchone() or (False,)
        self._db.commit()
        if taken:
            return
        holder = self._db.execute(_HOLDER, (WRITER_CLASS,)).fetchone()
        self._db.commit()
        who = (
            f"PostgreSQL backend pid {holder[0]} (application {holder[1] or '?'}, "
            f"client {holder[2] or 'local socket'}, since {holder[3]:%Y-%m-%d %H:%M:%S})"
            if holder is not None
            else "another session"
        )
        self._db.close()
        raise JournalError(
            f"{self._target}: already in use by {who}; stop it, or give this one another journal"
        )

    def _connect(self, doing: str) -> psycopg.Connection[TupleRow]:
        try:
            return psycopg.connect(self._conninfo)
        except psycopg.Error as exc:
            raise JournalError(f"{self._target}: {doing}: {self._clean(exc)}") from None

    def _clean(self, exc: BaseException) -> str:
        """The driver's message, one line, with the URL's password scrubbed should it echo it."""
        text = " ".join(str(exc).split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def append(self, rows: Sequence[JournalRow]) -> None:
        if not rows:
            return
        with self._lock:
            try:
                self._write(rows)
            except psycopg.OperationalError as exc:
                if not (self._db.broken or self._db.closed):  # the server refused: not a lost link
                    self._rollback()
                    raise JournalError(f"{self._target}: cannot append: {self._clean(exc)}") from None
                log.warning("journal: %s: connection lost (%s), reconnecting", self._target, self._clean(exc))
                self._db.close()
                self._db = self._connect("cannot reconnect")
                if self._writer:
                    self._take_writer_lock()  # the lock went with the lost session
                try:
                    self._write(rows)
                except psycopg.Error as again:
                    self._rollback()
                    raise JournalError(f"{self._target}: cannot append: {self._clean(again)}") from None
            except psycopg.Error as exc:
                self._rollback()
                raise JournalError(f"{self._target}: cannot append: {self._clean(exc)}") from None
            try:
                self._db.commit()
            except psycopg.Error as exc:
                raise JournalError(
                    f"{self._target}: the commit of {len(rows)} rows failed, they may or may not be stored: "
                    f"{self._clean(exc)}"
                ) from None

    def _write(self, rows: Sequence[JournalRow]) -> None:
        """COPY the rows inside a transaction left open: nothing is stored until commit()."""
        with self._db.cursor() as cursor, cursor.copy(_COPY) as copy:
            copy.set_types(_COPY_TYPES)
            for r in rows:
                copy.write_row((r.server, r.received_at, r.kind, r.data))

    def _rollback(self) -> None:
        if not self._db.broken and not self._db.closed:
            self._db.rollback()

    async def append_async(self, rows: Sequence[JournalRow]) -> None:
        await asyncio.to_thread(self.append, rows)

    def rows(self, server: str | None = None, skip: int = 0) -> Iterator[JournalRow]:
        """A server-side cursor on a connection of its own, so appends may go on meanwhile."""
        query = _COLUMNS
        args: tuple[str | int, ...] = ()
        if server is not None:
            query += " WHERE server = %s"
            args = (server,)
        if server is not None:
            skip = max(0, skip - self.pruned(server))
        tail = " ORDER BY seq" + (" OFFSET %s" if skip else "")
        if skip:
            args = (*args, skip)
        reader = self._connect("cannot read the journal")
        try:
            with reader.cursor(name="ami_journal_rows") as cursor:
                cursor.itersize = _READ_BATCH
                cursor.execute(query + tail, args)
                for srv, at, kind, data in cursor:
                    yield JournalRow(srv, at, kind, data)
        except psycopg.Error as exc:
            raise JournalError(f"{self._target}: cannot read the journal: {self._clean(exc)}") from None
        finally:
            reader.close()

    def servers(self) -> list[str]:
        query = 'SELECT DISTINCT server COLLATE "C" FROM ami_journal ORDER BY 1'
        with self._lock:
            try:
                found = [r[0] for r in self._db.execute(query)]
                self._db.commit()
            except psycopg.Error as exc:
                self._rollback()
                raise JournalError(f"{self._target}: cannot read the journal: {self._clean(exc)}") from None
        return found

    def pruned(self, server: str) -> int:
        with self._lock:
            try:
                found = self._pruned(server)
                self._db.commit()
            except psycopg.Error as exc:
                self._rollback()
                raise JournalError(f"{self._target}: cannot read the journal: {self._clean(exc)}") from None
        return found

    def _pruned(self, server: str) -> int:
        if self._db.execute("SELECT to_regclass('ami_journal_pruned')").fetchone() == (None,):
            return 0  # a journal of an earlier release, opened read-only: never pruned
        row = self._db.execute("SELECT rows FROM ami_journal_pruned WHERE server = %s", (server,)).fetchone()
        return 0 if row is None else int(row[0])

    def prune(self, server: str, upto: int, before: float) -> int:
        def batch() -> int:
            with self._lock:
                try:
                    deleted = prune_batch(self._db.execute, "%s", server, self._pruned(server), upto, before)
                    self._db.commit()
                except psycopg.Error as exc:
                    self._rollback()
                    raise JournalError(f"{self._target}: cannot prune: {self._clean(exc)}") from None
            return deleted

        return prune_in_batches(batch)

    def mark_pruned(self, server: str, rows: int) -> None:
        with self._lock:
            try:
                self._set_pruned(server, rows)
                self._db.commit()
            except psycopg.Error as exc:
                self._rollback()
                raise JournalError(f"{self._target}: cannot write the journal: {self._clean(exc)}") from None

    def _set_pruned(self, server: str, rows: int) -> None:
        self._db.execute(upsert_pruned_sql("%s"), (server, rows))

    def close(self) -> None:
        with self._lock:
            self._db.close()
