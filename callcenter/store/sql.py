"""One store class over SQLite (sqlite3) or PostgreSQL (psycopg 3): the SQL is the same.

Calls are blocking and thread-safe (one lock): the store's sink runs them in a worker thread,
the command-line tools call them directly.
"""

from __future__ import annotations

import base64
import dataclasses
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.cti.tickets import Ticket
from callcenter.metrics.kpi import KpiRules, Kpis, add_to
from callcenter.metrics.window import label_for
from callcenter.pgurl import is_postgres_url, looks_like_url, redact
from callcenter.queues import changes as ch
from callcenter.queues.changes import AgentChanged, StintEnded
from callcenter.queues.model import StintRecord
from callcenter.store import schema
from callcenter.store.aggregate import abandon_wait_query, fcr_query, hours_sql, kpi_query, kpis_of
from callcenter.store.rows import agent_row, stint_record, stint_row

META = "CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class StoreError(RuntimeError):
    """A store that cannot be opened, read or written; the message is one line for the operator."""


class SqlStore:
    def __init__(self, conn: Any, *, postgres: bool, target: str) -> None:
        self._db = conn
        self.postgres = postgres
        self.target = target  # for messages: a path, or a URL without its password
        self._lock = threading.Lock()

    # -- schema --------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # Both connections are in autocommit mode; a write is one explicit transaction.
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def _tables(self) -> set[str]:
        if self.postgres:
            query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {r[0] for r in self._db.execute(query).fetchall()}

    def version(self) -> int:
        """The schema version of the database (0: no store in it)."""
        with self._lock:
            return self._version()

    def _version(self) -> int:
        if "store_meta" not in self._tables():
            return 0
        row = self._db.execute("SELECT value FROM store_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def migrate(self, up_to: int = schema.LATEST) -> list[int]:
        """Apply the migrations this database lacks, each in its own transaction; their versions."""
        applied = []
        with self._lock:
            tables = self._tables()
            if "store_meta" not in tables and tables - {"ami_journal", "journal_servers"}:
                foreign = ", ".join(sorted(tables)[:5])
                raise StoreError(f"{self.target}: a database of something else (tables: {foreign}); "
                                 "expected a callcenter store or an empty database")  # fmt: skip
            self._db.execute(META)
            current = self._version()
            if current > schema.LATEST:
                raise StoreError(f"{self.target}: store schema {current} is newer than this callcenter "
                                 f"({schema.LATEST}); upgrade callcenter")  # fmt: skip
            for version, statements in schema.MIGRATIONS:
                if current < version <= up_to:
                    with self._transaction():
                        for statement in statements:
                            self._db.execute(statement)
                        self._db.execute("DELETE FROM store_meta WHERE key = 'schema_version'")
                        self._db.execute(
                            self._sql("INSERT INTO store_meta (key, value) VALUES ('schema_version', ?)"),
                            (str(version),),
                        )
                    applied.append(version)
        return applied

    # -- writing -------------------------------------------------------------------------------

    def write(
        self,
        server: str,
        stints: Sequence[tuple[int, StintRecord]],
        agents: Sequence[tuple[int, AgentChanged]] = (),
    ) -> int:
        """Store finished stints and agent changes, each with its journal position; the number of
        stints that were new. A stint or change already stored is left as it is."""
        if not stints and not agents:
            return 0
        cols = ", ".join(schema.STINT_COLUMNS)
        marks = ", ".join("?" * len(schema.STINT_COLUMNS))
        insert = self._sql(f"INSERT INTO stints ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING")
        acols = ", ".join(schema.AGENT_COLUMNS)
        amarks = ", ".join("?" * len(schema.AGENT_COLUMNS))
        ainsert = self._sql(f"INSERT INTO agent_states ({acols}) VALUES ({amarks}) ON CONFLICT DO NOTHING")
        last = max([p for p, _ in stints] + [p for p, _ in agents])
        with self._lock:
            try:
                with self._transaction():
                    new = self._insert(server, insert, ainsert, stints, agents, last)
            except Exception as exc:
                raise StoreError(f"{self.target}: a write failed: {_one_line(exc)}") from exc
        return new

    def _insert(
        self,
        server: str,
        insert: str,
        ainsert: str,
        stints: Sequence[tuple[int, StintRecord]],
        agents: Sequence[tuple[int, AgentChanged]],
        last: int,
    ) -> int:
        cur = self._db.cursor()
        new = 0
        seen = [(server, r.call_id, r.queue, r.ended_at - QUEUE_LOG_SLACK_S, r.ended_at + QUEUE_LOG_SLACK_S)
                for _, r in stints if r.source == "ami"]  # fmt: skip
        if seen:
            # A back-fill from queue_log may have stored this stint first (its end reached queue_log
            # before the AMI end reached the store): what AMI saw replaces it, never beside it.
            cur.executemany(self._sql(
                "DELETE FROM stints WHERE server = ? AND call_id = ? AND queue = ? AND source = 'queue_log'"
                " AND ended_at BETWEEN ? AND ?"), seen)  # fmt: skip
        if stints:
            cur.executemany(insert, [stint_row(server, p, r) for p, r in stints])
            new = cur.rowcount  # both drivers sum executemany's rows; a conflict adds none
        if agents:
            cur.executemany(ainsert, [agent_row(server, p, c) for p, c in agents])
        cur.execute(
            self._sql(
                "INSERT INTO store_positions (server, position) VALUES (?, ?) ON CONFLICT (server) "
                "DO UPDATE SET position = CASE WHEN store_positions.position > excluded.position "
                "THEN store_positions.position ELSE excluded.position END"
            ),
            (server, last),
        )
        return int(new)

    def write_changes(self, server: str, batch: Sequence[tuple[int, object]]) -> int:
        """``write`` of a batch of (position, change): the stints that ended, agent changes, survey
        answers, IVR choices, unseen-call flags, agents' sessions and pauses, unanswered rings;
        the number of new stints. Each row once, whatever is written again."""
        stints = [(p, c.record) for p, c in batch if isinstance(c, StintEnded)]
        agents = [(p, c) for p, c in batch if isinstance(c, AgentChanged)]
        answers = [(server, p, c.at, c.call_id, c.linked_id, c.queue, c.member, c.caller_num, c.score)
                   for p, c in batch if isinstance(c, ch.SurveyAnswered)]  # fmt: skip
        choices = [(server, p, c.at, c.call_id, c.linked_id, c.queue, c.caller_num, c.choice)
                   for p, c in batch if isinstance(c, ch.IvrChoiceMade)]  # fmt: skip
        unseen = [
            (server, p, c.at, c.queue, c.since, c.count) for p, c in batch if isinstance(c, ch.CallsUnseen)
        ]
        sessions = [(server, p, c.queue, c.interface, c.name, c.since, c.until, int(c.whole))
                    for p, c in batch if isinstance(c, ch.SessionEnded)]  # fmt: skip
        pauses = [(server, p, c.queue, c.interface, c.name, c.reason, c.since, c.until, int(c.whole))
                  for p, c in batch if isinstance(c, ch.PauseEnded)]  # fmt: skip
        rings = [(server, p, c.at, c.call_id, c.queue, c.member, c.interface, c.ring_s)
                 for p, c in batch if isinstance(c, ch.RingUnanswered)]  # fmt: skip
        if answers or choices or unseen or sessions or pauses or rings:
            with self._lock:
                try:
                    with self._transaction():
                        self._insert_rows("survey_answers", schema.SURVEY_COLUMNS, answers)
                        self._insert_rows("ivr_choices", schema.IVR_COLUMNS, choices)
                        self._insert_rows("unseen_calls", schema.UNSEEN_COLUMNS, unseen)
                        self._insert_rows("agent_sessions", schema.SESSION_COLUMNS, sessions)
                        self._insert_rows("agent_pauses", schema.PAUSE_COLUMNS, pauses)
                        self._insert_rows("ring_no_answers", schema.RNA_COLUMNS, rings)
                except Exception as exc:
                    raise StoreError(f"{self.target}: a write failed: {_one_line(exc)}") from exc
        return self.write(server, stints, agents)

    def _insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
            self._db.cursor().executemany(self._sql(sql), rows)

    def save_ticket(self, ticket: Ticket) -> None:
        """Insert or update the call's ticket (its creation time stays the first one's)."""
        cols = schema.TICKET_COLUMNS
        kept = ("server", "call_id", "created_at")
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in kept)
        sql = (f"INSERT INTO tickets ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
               f" ON CONFLICT (server, call_id) DO UPDATE SET {sets}")  # fmt: skip
        row = tuple(int(v) if isinstance(v, bool) else v for v in dataclasses.astuple(ticket))
        with self._lock:
            try:
                with self._transaction():
                    self._db.execute(self._sql(sql), row)
            except Exception as exc:
                raise StoreError(f"{self.target}: the ticket was not saved: {_one_line(exc)}") from exc

    def ticket(self, server: str, call_id: str) -> Ticket | None:
        found = self._tickets(" WHERE server = ? AND call_id = ?", (server, call_id))
        return found[0] if found else None

    def tickets(self, start: float, end: float) -> list[Ticket]:
        """Tickets created in [start, end), oldest first."""
        return self._tickets(" WHERE created_at >= ? AND created_at < ? ORDER BY created_at", (start, end))

    def open_tickets(self, caller: str, limit: int = 20) -> list[Ticket]:
        """The number's tickets not solved nor closed, newest first: what a pop shows."""
        where = " WHERE caller_num = ? AND status IN ('open', 'assigned') ORDER BY created_at DESC LIMIT ?"
        return self._tickets(where, (caller, limit))

    def unsolved_tickets(self, limit: int = 500) -> list[Ticket]:
        """Tickets not solved nor closed, the nearest deadline first: what the wallboard watches."""
        return self._tickets(" WHERE status IN ('open', 'assigned') ORDER BY due_at LIMIT ?", (limit,))

    def _tickets(self, where: str, args: tuple[Any, ...]) -> list[Ticket]:
        query = f"SELECT {', '.join(schema.TICKET_COLUMNS)} FROM tickets{where}"
        with self._lock:
            rows = self._db.execute(self._sql(query), args).fetchall()
        tickets = []
        for r in rows:
            fields = dict(zip(schema.TICKET_COLUMNS, r, strict=True))
            fields["solved_on_call"] = bool(fields["solved_on_call"])
            tickets.append(Ticket(**fields))
        return tickets

    def caller_stints(self, caller: str, before: float, limit: int = 100) -> list[StintRecord]:
        """The number's latest stints that ended before ``before``, newest first: a pop's history
        (read through the (caller_num, ended_at) index, however many calls the store holds)."""
        query = (f"SELECT {', '.join(schema.STINT_COLUMNS)} FROM stints WHERE caller_num = ? AND ended_at < ?"
                 " ORDER BY ended_at DESC LIMIT ?")  # fmt: skip
        with self._lock:
            rows = self._db.execute(self._sql(query), (caller, before, limit)).fetchall()
        return [stint_record(r) for r in rows]

    def seen_until(self) -> float | None:
        """The last moment the store knows of: its latest checkpoint, agent change or stint end. Past it
        nothing was seen, so an agent's last state holds until then, not until the end of the month."""
        sql = ("SELECT (SELECT MAX(taken_at) FROM checkpoints), (SELECT MAX(at) FROM agent_states),"
               " (SELECT MAX(ended_at) FROM stints)")  # fmt: skip
        with self._lock:
            row = self._db.execute(self._sql(sql)).fetchone()
        known = [float(v) for v in row if v is not None]
        return max(known) if known else None

    def unseen_calls(self, start: float, end: float) -> list[tuple[str, float, float, int]]:
        """(queue, since, until, calls): calls Asterisk counted and the daemon never saw end,
        flagged in [start, end)."""
        sql = "SELECT queue, since, at, calls FROM unseen_calls WHERE at >= ? AND at < ? ORDER BY at, queue"
        with self._lock:
            rows = self._db.execute(self._sql(sql), (start, end)).fetchall()
        return [(q, float(since), float(at), int(n)) for q, since, at, n in rows]

    def sessions(self, start: float, end: float) -> list[tuple[Any, ...]]:
        """Agents' sessions ended in [start, end): (queue, interface, name, since, until, whole)."""
        sql = ("SELECT queue, interface, name, since, until, whole FROM agent_sessions"
               " WHERE until >= ? AND until < ? ORDER BY until, queue, interface")  # fmt: skip
        with self._lock:
            rows = self._db.execute(self._sql(sql), (start, end)).fetchall()
        return [(q, i, n, float(a), float(b), bool(w)) for q, i, n, a, b, w in rows]

    def pauses(self, start: float, end: float) -> list[tuple[Any, ...]]:
        """Pauses ended in [start, end): (queue, interface, name, reason, since, until, whole)."""
        sql = ("SELECT queue, interface, name, reason, since, until, whole FROM agent_pauses"
               " WHERE until >= ? AND until < ? ORDER BY until, queue, interface")  # fmt: skip
        with self._lock:
            rows = self._db.execute(self._sql(sql), (start, end)).fetchall()
        return [(q, i, n, r, float(a), float(b), bool(w)) for q, i, n, r, a, b, w in rows]

    def ring_no_answers(self, start: float, end: float) -> list[tuple[Any, ...]]:
        """Unanswered rings in [start, end): (at, call_id, queue, member, interface, ring_s)."""
        sql = ("SELECT at, call_id, queue, member, interface, ring_s FROM ring_no_answers"
               " WHERE at >= ? AND at < ? ORDER BY at, interface")  # fmt: skip
        with self._lock:
            rows = self._db.execute(self._sql(sql), (start, end)).fetchall()
        return [(float(at), c, q, m, i, None if r is None else float(r)) for at, c, q, m, i, r in rows]

    def survey_scores(self, start: float, end: float) -> list[tuple[str, str, int]]:
        """(queue, member, score) of the survey answers given in [start, end)."""
        sql = "SELECT queue, member, score FROM survey_answers WHERE at >= ? AND at < ? ORDER BY at"
        with self._lock:
            return [(q, m, int(sc)) for q, m, sc in self._db.execute(self._sql(sql), (start, end)).fetchall()]

    # -- reading -------------------------------------------------------------------------------

    def position(self, server: str) -> int:
        """The last journal position stored for a server (0: none)."""
        with self._lock:
            row = self._db.execute(
                self._sql("SELECT position FROM store_positions WHERE server = ?"), (server,)
            ).fetchone()
        return int(row[0]) if row else 0

    def stints(
        self,
        start: float | None = None,
        end: float | None = None,
        *,
        queue: str | None = None,
        agent: str | None = None,
        caller: str | None = None,
    ) -> list[StintRecord]:
        """Stints that ended in [start, end), oldest first."""
        where, args = _filters(start, end, queue=queue, agent=agent, caller_num=caller)
        query = (
            f"SELECT {', '.join(schema.STINT_COLUMNS)} FROM stints{where} ORDER BY ended_at, call_id, queue"
        )
        with self._lock:
            rows = self._db.execute(self._sql(query), args).fetchall()
        return [stint_record(r) for r in rows]

    def kpis(
        self,
        start: float,
        end: float,
        *,
        by: Sequence[str],
        rules: KpiRules,
        interval: str = "day",
        thresholds: dict[str, float] | None = None,
        queue: str | None = None,
        agent: str | None = None,
    ) -> dict[tuple[str, ...], Kpis]:
        """``metrics.kpi.kpis_by`` of the stints ended in [start, end), added up by the database."""
        tz = ZoneInfo(rules.timezone)
        q = kpi_query(start, end, by=by, interval=interval, tz=tz, thresholds=thresholds,
                      default_threshold=rules.servicelevel_s, queue=queue, agent=agent,
                      postgres=self.postgres, hours=rules.business_hours)  # fmt: skip
        with self._lock:
            rows = self._db.execute(self._sql(q.sql), q.args).fetchall()
        labels = label_for(by, interval, tz)
        out: dict[tuple[str, ...], Kpis] = {}
        for row in rows:
            key = tuple(label(v) for label, v in zip(labels, row[: q.group_columns], strict=True))
            add_to(out, key, kpis_of(row, q.group_columns))  # days of one week or month add up
        return dict(sorted(out.items()))

    def backfill(
        self, server: str, records: Sequence[StintRecord], margin_s: float = 86400.0
    ) -> tuple[int, int]:
        """Merge stints read from Asterisk's queue_log: one the store lacks is added; one whose end
        the daemon did not see (closed from a snapshot) is replaced, queue_log knowing how it
        ended; one the daemon saw end stays as it is (they agree: tests/test_queue_log.py).
        Matched by call and queue within ``margin_s`` of the end. (added, replaced)."""
        if not records:
            return 0, 0
        lo = min(r.ended_at for r in records) - margin_s
        hi = max(r.ended_at for r in records) + margin_s
        query = "SELECT call_id, queue, end_seen, ended_at FROM stints WHERE server = ?"
        query += " AND ended_at >= ? AND ended_at < ?"
        cols = ", ".join(schema.STINT_COLUMNS)
        marks = ", ".join("?" * len(schema.STINT_COLUMNS))
        with self._lock:
            seen: dict[tuple[str, str], list[tuple[bool, float]]] = {}
            for call_id, queue, end_seen, ended_at in self._db.execute(
                self._sql(query), (server, lo, hi)
            ).fetchall():
                seen.setdefault((call_id, queue), []).append((bool(end_seen), float(ended_at)))
            added, replaced = [], []
            for r in records:
                found = [
                    (e, at)
                    for e, at in seen.get((r.call_id, r.queue), [])
                    if abs(at - r.ended_at) <= margin_s
                ]
                if not found:
                    added.append(r)
                elif not any(e for e, _ in found):
                    replaced.append((r, [at for _, at in found]))
            try:
                with self._transaction():
                    delete = self._sql(
                        "DELETE FROM stints WHERE server = ? AND call_id = ? AND queue = ? AND ended_at = ?"
                    )
                    for r, ends in replaced:
                        for at in ends:
                            self._db.execute(delete, (server, r.call_id, r.queue, at))
                    insert = self._sql(f"INSERT INTO stints ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING")
                    rows = [stint_row(server, 0, r) for r in [*added, *(r for r, _ in replaced)]]
                    self._db.cursor().executemany(insert, rows)
            except Exception as exc:
                raise StoreError(f"{self.target}: the back-fill failed: {_one_line(exc)}") from exc
        return len(added), len(replaced)

    def save_checkpoint(self, server: str, position: int, taken_at: float, state: bytes) -> None:
        text = base64.b64encode(state).decode("ascii")
        sql = self._sql(
            "INSERT INTO checkpoints (server, position, taken_at, state) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (server) DO UPDATE SET position = excluded.position,"
            " taken_at = excluded.taken_at, state = excluded.state"
        )
        with self._lock:
            try:
                with self._transaction():
                    self._db.execute(sql, (server, position, taken_at, text))
            except Exception as exc:
                raise StoreError(f"{self.target}: the checkpoint was not written: {_one_line(exc)}") from exc

    def checkpoint(self, server: str) -> bytes | None:
        """The server's last checkpoint, as saved."""
        with self._lock:
            row = self._db.execute(
                self._sql("SELECT state FROM checkpoints WHERE server = ?"), (server,)
            ).fetchone()
        return None if row is None else base64.b64decode(row[0])

    def day_counts(self, before_day: int) -> dict[int, int]:
        """Stints per UTC day (days since the epoch) of their end, for days before ``before_day``."""
        day = "FLOOR(ended_at / 86400)" if self.postgres else "ended_at / 86400"
        sql = f"SELECT CAST({day} AS BIGINT) AS d, COUNT(*) FROM stints WHERE +ended_at < ? GROUP BY d"
        with self._lock:
            rows = self._db.execute(self._sql(sql), (before_day * 86400.0,)).fetchall()
        return {int(d): int(n) for d, n in rows}

    def ended_span(self) -> tuple[float, float] | None:
        """The first and last end of a stored stint (None: no stint)."""
        with self._lock:
            # one aggregate per subquery: SQLite answers each from the ended_at index (together: a scan)
            row = self._db.execute(
                "SELECT (SELECT MIN(ended_at) FROM stints), (SELECT MAX(ended_at) FROM stints)"
            ).fetchone()
        return None if row is None or row[0] is None else (float(row[0]), float(row[1]))

    def rows_between(self, start: float, end: float) -> list[tuple[Any, ...]]:
        """The stored rows (``schema.STINT_COLUMNS``) of the stints ended in [start, end)."""
        query = f"SELECT {', '.join(schema.STINT_COLUMNS)} FROM stints WHERE ended_at >= ? AND ended_at < ?"
        with self._lock:
            return [tuple(r) for r in self._db.execute(self._sql(query), (start, end)).fetchall()]

    def abandon_wait_counts(
        self,
        start: float,
        end: float,
        buckets: Sequence[tuple[int, int | None]],
        rules: KpiRules | None = None,
    ) -> list[int]:
        sql, args = abandon_wait_query(start, end, buckets, self._in_hours(start, end, rules))
        with self._lock:
            row = self._db.execute(self._sql(sql), args).fetchone()
        return [int(v or 0) for v in row]

    def fcr(
        self, start: float, end: float, window_s: float, rules: KpiRules | None = None
    ) -> tuple[int, int]:
        """``metrics.kpi.fcr`` of the stints ended in [start, end) (in the rules' business hours),
        by the database."""
        sql, args = fcr_query(start, end, window_s, self._in_hours(start, end, rules))
        with self._lock:
            row = self._db.execute(self._sql(sql), args).fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def _in_hours(self, start: float, end: float, rules: KpiRules | None) -> str:
        if rules is None or rules.business_hours is None:
            return ""
        tz = ZoneInfo(rules.timezone)
        return hours_sql(rules.business_hours, tz, start, end, postgres=self.postgres)

    def agent_states(self, start: float | None = None, end: float | None = None) -> list[tuple[Any, ...]]:
        """Agent state changes in [start, end): (at, interface, name, state, reason), oldest first."""
        where, args = _filters(start, end, time_column="at")
        query = f"SELECT at, interface, name, state, reason FROM agent_states{where} ORDER BY at, interface"
        with self._lock:
            return [tuple(r) for r in self._db.execute(self._sql(query), args).fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()


QUEUE_LOG_SLACK_S = 2.0  # queue_log stamps whole seconds: the same end, seen both ways, within this


def _filters(
    start: float | None, end: float | None, *, time_column: str = "ended_at", **equal: str | None
) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    if start is not None:
        clauses.append(f"{time_column} >= ?")
        args.append(start)
    if end is not None:
        clauses.append(f"{time_column} < ?")
        args.append(end)
    for column, value in equal.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def open_store(where: str | Path, *, create: bool = True) -> SqlStore:
    """A store at an SQLite file's path or a ``postgresql://`` URL.

    ``create``: make the file or the tables and upgrade an older schema (the daemon, ``replay
    --store``); without it the store is opened read-only and must already be one (exports, reports).
    """
    text = str(where)
    if looks_like_url(text):
        if not is_postgres_url(text):
            raise StoreError(f"{redact(text)}: expected an SQLite file's path or a postgresql:// URL")
        return _open_postgres(text, create)
    return _open_sqlite(Path(text), create)


def _open_sqlite(path: Path, create: bool) -> SqlStore:
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        else:
            if not path.is_file():
                raise StoreError(f"{path}: no such file; expected a callcenter store (SQLite)")
            if path.stat().st_size == 0:
                raise StoreError(f"{path}: an empty file; expected a callcenter store (SQLite)")
            conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        store = SqlStore(conn, postgres=False, target=str(path))
        _ready(store, create)
        return store
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"{path}: not an SQLite database ({_one_line(exc)}); expected a callcenter store"
        ) from exc
    except OSError as exc:
        raise StoreError(f"{path}: {_one_line(exc)}") from exc


def _open_postgres(url: str, create: bool) -> SqlStore:
    target = redact(url)
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        raise StoreError(f"{target}: PostgreSQL needs psycopg (pip install 'psycopg[binary]')") from exc
    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(f"{target}: cannot connect: {_one_line(exc)}") from exc
    if not create:
        conn.read_only = True
    store = SqlStore(conn, postgres=True, target=target)
    try:
        _ready(store, create)
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"{target}: {_one_line(exc)}") from exc
    return store


def _ready(store: SqlStore, create: bool) -> None:
    if create:
        store.migrate()
        return
    version = store.version()
    if version == 0:
        store.close()
        raise StoreError(f"{store.target}: not a callcenter store (no store_meta table)")
    if version < schema.LATEST:
        store.close()
        raise StoreError(
            f"{store.target}: store schema {version}, this callcenter reads {schema.LATEST}; "
            "open it once with the daemon or `callcenter replay --store` to upgrade it"
        )
