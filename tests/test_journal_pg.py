"""The journal's contract, on SQLite and on the machine's real PostgreSQL alike.

Both stores must give back exactly the bytes appended (NULs, invalid UTF-8, a megabyte chunk),
in arrival order across servers, committed when ``append`` returns. PostgreSQL's own rules
(reconnect, errors naming the target without its password, psycopg optional) follow.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.config import JournalSettings
from callcenter.journal import (
    DATA,
    LINK,
    PSYCOPG_MISSING,
    JournalError,
    JournalRow,
    JournalStore,
    copy_journal,
    journal_settings,
    open_journal,
)

AWKWARD = [
    JournalRow("pbx1", 1730000000.123456, LINK, b"Asterisk Call Manager/11.0.0"),
    JournalRow("pbx1", 1730000000.5, DATA, b"\x00"),
    JournalRow("pbx1", 1730000001.0, DATA, b"Event: X\r\nName: Jos\xe9 \xff\xfe\xc3\x28\r\n\r\n"),  # no UTF-8
    JournalRow("pbx1", 1730000001.25, DATA, b""),
    JournalRow("pbx1", 1730000002.0, DATA, bytes(range(256)) * 4096),  # 1 MiB, every byte value
    JournalRow("pbx1", 0.1 + 0.2, DATA, b"\\x00 'quoted' \"too\"\t\n\\"),  # escapes a text COPY would mangle
]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> JournalSettings:
    if request.param == "sqlite":
        return JournalSettings(path=str(tmp_path / "journal.sqlite3"))
    return JournalSettings(url=request.getfixturevalue("postgres_url"))


@pytest.fixture
def journal(settings: JournalSettings) -> Iterator[JournalStore]:
    store = open_journal(settings)
    yield store
    store.close()


def test_rows_come_back_byte_for_byte(journal: JournalStore, settings: JournalSettings) -> None:
    journal.append(AWKWARD[:3])
    journal.append(AWKWARD[3:])
    assert list(journal.rows()) == AWKWARD
    assert [type(r.data) for r in journal.rows()] == [bytes] * len(AWKWARD)
    again = open_journal(settings, create=False)  # another connection: what append returned is committed
    try:
        assert list(again.rows()) == AWKWARD
    finally:
        again.close()


def test_arrival_order_across_servers(journal: JournalStore) -> None:
    appended: list[JournalRow] = []
    for i in range(60):
        server = ("pbx2", "pbx1", "PBX.b", "pbx-1")[i % 4 if i % 7 else 1]
        rows = [JournalRow(server, 1000.0 - i, DATA, f"{i}.{k}".encode()) for k in range(i % 3 + 1)]
        journal.append(rows)  # one row or several per transaction, times deliberately decreasing
        appended += rows
    journal.append([])
    assert list(journal.rows()) == appended
    assert list(journal.rows("pbx1")) == [r for r in appended if r.server == "pbx1"]
    assert list(journal.rows("nobody")) == []
    assert journal.servers() == ["PBX.b", "pbx-1", "pbx1", "pbx2"]  # code-point order on both stores


async def test_append_async_runs_off_the_event_loop(journal: JournalStore) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    for i in range(20):
        await journal.append_async([JournalRow("pbx1", float(i), DATA, bytes(200_000))])
    task.cancel()
    assert [r.received_at for r in journal.rows()] == [float(i) for i in range(20)]
    assert ticks > 20  # the loop went on while each commit ran in its worker thread


def test_an_empty_journal(journal: JournalStore) -> None:
    assert journal.servers() == [] and list(journal.rows()) == []


def test_retention_deletes_old_covered_rows_and_positions_stay(journal: JournalStore) -> None:
    """prune(server, upto, before) deletes the server's first rows among the first ``upto`` that
    were received before ``before``; a position (rows skipped) means the same row afterwards."""
    rows = [JournalRow(s, float(i), DATA, f"{s}{i}".encode()) for i in range(10) for s in ("a", "b")]
    journal.append(rows)
    assert journal.prune("a", upto=6, before=4.0) == 4  # rows 0-3: received before 4.0 (and < 6)
    assert journal.pruned("a") == 4 and journal.pruned("b") == 0
    assert [r.data for r in journal.rows("a", skip=5)] == [b"a5", b"a6", b"a7", b"a8", b"a9"]
    kept = [r.data for r in journal.rows("a", skip=0)]
    assert kept[0] == b"a4" and len(kept) == 6  # below the pruned rows: from the first kept
    assert journal.prune("a", upto=6, before=100.0) == 2  # now the checkpoint's 6 rows bound it
    assert journal.prune("a", upto=6, before=100.0) == 0
    assert [r.data for r in journal.rows("a", skip=6)] == [b"a6", b"a7", b"a8", b"a9"]
    assert len(list(journal.rows("b"))) == 10  # another server's rows are untouched
    assert [r.data for r in journal.rows()][:3] == [b"b0", b"b1", b"b2"]


def test_copy_keeps_order_and_counts_per_server(tmp_path: Path, postgres_url: str) -> None:
    source = open_journal(JournalSettings(path=str(tmp_path / "source.sqlite3")))
    rows = [JournalRow(f"pbx{i % 3}", float(i), DATA, bytes([i % 256]) * (i % 5)) for i in range(1234)]
    source.append(rows)
    target = open_journal(JournalSettings(url=postgres_url))
    try:
        assert copy_journal(source, target, batch=100) == {"pbx0": 412, "pbx1": 411, "pbx2": 411}
        assert list(target.rows()) == rows
    finally:
        source.close()
        target.close()


def test_a_copy_of_a_pruned_journal_keeps_its_positions(tmp_path: Path, postgres_url: str) -> None:
    source = open_journal(JournalSettings(path=str(tmp_path / "source.sqlite3")))
    source.append([JournalRow("pbx", float(i), DATA, b"%d" % i) for i in range(20)])
    assert source.prune("pbx", upto=8, before=1e9) == 8
    target = open_journal(JournalSettings(url=postgres_url))
    try:
        assert copy_journal(source, target) == {"pbx": 12}
        assert target.pruned("pbx") == 8
        assert [r.data for r in target.rows("pbx", skip=15)] == [b"15", b"16", b"17", b"18", b"19"]
    finally:
        source.close()
        target.close()


# --- PostgreSQL's own rules --------------------------------------------------------------------


def test_a_connection_cut_between_appends_is_reopened(postgres_url: str) -> None:
    import psycopg

    from callcenter.journal_pg import PgJournal

    journal = PgJournal(postgres_url)
    try:
        journal.append([JournalRow("pbx1", 1.0, DATA, b"before")])
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a PostgreSQL restart would
            admin.execute("SELECT pg_terminate_backend(%s)", (journal._db.info.backend_pid,))
        journal.append([JournalRow("pbx1", 2.0, DATA, b"after")])
        assert [r.data for r in journal.rows()] == [b"before", b"after"]  # nothing lost, nothing twice
    finally:
        journal.close()


def test_a_table_of_another_shape_is_refused(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("CREATE TABLE ami_journal (id serial, line text)")
    with pytest.raises(JournalError, match=r"cannot open the journal: .*column \"server\" does not exist"):
        open_journal(JournalSettings(url=postgres_url))


def test_servers_sort_by_code_point_whatever_the_database_collation(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as db:  # as in a database made with en_US.UTF-8
        db.execute(
            'CREATE TABLE ami_journal (seq BIGSERIAL PRIMARY KEY, server TEXT COLLATE "und-x-icu" NOT NULL, '
            "received_at DOUBLE PRECISION NOT NULL, kind SMALLINT NOT NULL, data BYTEA NOT NULL)"
        )
    journal = open_journal(JournalSettings(url=postgres_url))
    try:
        journal.append([JournalRow(name, 1.0, DATA, b"") for name in ("pbxa", "pbx-2", "pbxB", "PBX1")])
        assert journal.servers() == ["PBX1", "pbx-2", "pbxB", "pbxa"]  # SQLite's BINARY order; ICU: a < B
    finally:
        journal.close()


def test_reading_refuses_a_database_without_a_journal(postgres_url: str) -> None:
    with pytest.raises(JournalError, match="no ami_journal table here"):
        open_journal(JournalSettings(url=postgres_url), create=False)


def test_errors_name_the_target_but_never_the_password() -> None:
    url = "postgresql://cc:hunter2@127.0.0.1:1/callcenter?password=hunter2&sslmode=disable"
    with pytest.raises(JournalError) as caught:
        open_journal(JournalSettings(url=url))  # port 1: nobody listens
    message = str(caught.value)
    assert message.startswith("postgresql://cc:***@127.0.0.1:1/callcenter?password=***&sslmode=disable: ")
    assert "cannot open the journal" in message and "hunter2" not in message


def test_a_wrong_database_is_named(postgres_server: str) -> None:
    with pytest.raises(JournalError, match=r"/no_such_db: cannot open the journal: .*no_such_db"):
        open_journal(JournalSettings(url=postgres_server.rsplit("/", 1)[0] + "/no_such_db"))


def test_without_psycopg_a_postgresql_journal_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "callcenter.journal_pg", raising=False)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    with pytest.raises(JournalError) as caught:
        open_journal(JournalSettings(url="postgresql://cc@db/callcenter"))
    assert str(caught.value) == PSYCOPG_MISSING
    assert "pip install 'callcenter[postgresql]'" in PSYCOPG_MISSING


def test_a_command_line_target_is_a_file_or_a_postgresql_url() -> None:
    assert journal_settings("data/j.sqlite3") == JournalSettings(path="data/j.sqlite3")
    assert journal_settings("postgres://cc@db/x") == JournalSettings(url="postgres://cc@db/x")
    with pytest.raises(JournalError) as caught:
        journal_settings("mysql://cc:hunter2@db/x")
    assert str(caught.value) == (
        "mysql://cc:***@db/x: expected a postgresql:// or postgres:// URL, got 'mysql://cc:***@db/x'"
    )


def test_one_writer_per_journal_and_the_second_is_told_who_holds_it(settings: JournalSettings) -> None:
    first = open_journal(settings, writer=True)
    try:
        with pytest.raises(JournalError) as refused:
            open_journal(settings, writer=True)
        message = str(refused.value)
        assert "already in use by " in message and "stop it, or give this one another journal" in message
        if settings.url is None:
            assert f"pid {os.getpid()} (" in message  # the lock file names the holder
        else:
            assert "PostgreSQL backend pid " in message and "application callcenter" in message
        reader = open_journal(settings, create=False)  # readers are never refused
        reader.close()
    finally:
        first.close()
    second = open_journal(settings, writer=True)  # released with the first
    second.close()


def test_reading_a_foreign_sqlite_file_changes_nothing_in_it(tmp_path: Path) -> None:
    import sqlite3

    foreign = tmp_path / "other.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (name TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(JournalError, match="an SQLite database but not a callcenter journal"):
        open_journal(JournalSettings(path=str(foreign)), create=False)
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    with pytest.raises(JournalError, match="an empty file; expected a callcenter journal"):
        open_journal(JournalSettings(path=str(empty)), create=False)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"\x89PNG not a database at all" * 100)
    with pytest.raises(JournalError, match="not an SQLite database"):
        open_journal(JournalSettings(path=str(garbage)), create=False)
    assert foreign.read_bytes() == before and empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3", "garbage.sqlite3", "other.sqlite3"]


def test_two_journals_in_one_database_each_have_their_writer(postgres_server: str) -> None:
    """The writer lock is the journal table's, not the database's: two sites (two schemas)
    sharing one PostgreSQL database do not refuse each other."""
    from tests.services import postgres_schema

    with postgres_schema(postgres_server) as one_url, postgres_schema(postgres_server) as other_url:
        one = open_journal(JournalSettings(url=one_url), writer=True)
        try:
            other = open_journal(JournalSettings(url=other_url), writer=True)
            other.close()
            with pytest.raises(JournalError, match="already in use by PostgreSQL backend pid"):
                open_journal(JournalSettings(url=one_url), writer=True)
        finally:
            one.close()
