"""The `callcenter` command line: exit codes and messages an operator reads."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callcenter.ami.trace import read_chunks
from callcenter.config import JournalSettings
from callcenter.journal import DATA, LINK, JournalRow, open_journal
from tests.test_web import self_signed

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_accepts_the_example() -> None:
    result = cli("check-config", str(ROOT / "config" / "callcenter.example.yaml"))
    assert result.returncode == 0 and "OK" in result.stdout and "pbx1 (127.0.0.1:5038)" in result.stdout
    assert result.stdout.rstrip().endswith("; web: http://127.0.0.1:8080")


SERVER = "ami:\n  servers:\n    - {name: pbx1, username: u, secret: s}\n"


def test_check_config_says_where_the_web_listens_and_never_shows_the_token(tmp_path: Path) -> None:
    token = "do-not-print-me-0123456789"
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "callcenter.yaml"
    config.write_text(
        SERVER + "web:\n  host: 0.0.0.0\n  port: 8443\n  tls_cert: tls/cert.pem\n  tls_key: tls/key.pem\n"
        f"  api_token: {token}\n"
    )
    result = cli("check-config", str(config))
    assert result.returncode == 1
    assert (
        f"web.tls_key: expected a PEM file, got '{tmp_path / 'tls' / 'key.pem'}' (no such file)"
        in result.stderr
    )
    # Files that look like PEM but that OpenSSL cannot load: what `run` would stop on, said here.
    (tmp_path / "tls" / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    result = cli("check-config", str(config))
    assert result.returncode == 1 and "problem(s) for callcenter run" in result.stderr
    assert "web.tls_cert, web.tls_key: OpenSSL cannot use" in result.stderr
    cert, key = self_signed(tmp_path / "tls")
    config.write_text(config.read_text().replace("tls/cert.pem", str(cert)).replace("tls/key.pem", str(key)))
    result = cli("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "web: https://0.0.0.0:8443; /api needs the bearer token" in result.stdout
    assert token not in result.stdout + result.stderr


def test_check_config_checks_what_run_needs(tmp_path: Path) -> None:
    """The same checks as `run` at start: a systemd ExecStartPre catches what would crash-loop."""
    config = tmp_path / "c.yaml"
    config.write_text("web:\n  port: 0\n")
    for command in (["check-config", str(config)], ["run", "--config", str(config)]):
        result = cli(*command)
        assert "ami.servers: expected at least one Asterisk server, got none" in result.stderr
        assert result.returncode == (1 if command[0] == "check-config" else 2)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        config.write_text(SERVER + f"journal:\n  path: {locked / 'sub' / 'j.sqlite3'}\n")
        result = cli("check-config", str(config))
        if os.geteuid() != 0:  # root may write anywhere
            assert result.returncode == 1
            assert f"journal.path: the folder '{locked}' is not writable by this user" in result.stderr
    finally:
        locked.chmod(0o700)
    a_folder = tmp_path / "a-folder.sqlite3"
    a_folder.mkdir()
    config.write_text(SERVER + f"journal:\n  path: {a_folder}\n")
    result = cli("check-config", str(config))
    assert (
        result.returncode == 1
        and f"journal.path: expected a file, got the folder '{a_folder}'" in result.stderr
    )
    config.write_text(SERVER + f"store:\n  path: {a_folder}\n")
    result = cli("check-config", str(config))
    assert (
        result.returncode == 1
        and f"store.path: expected a file, got the folder '{a_folder}'" in result.stderr
    )


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ami:\n  servers:\n    - name: pbx1\n      port: 70000\n      secert: x\ntracking:\n"
        "  short_abandon_s: -3\n"
    )
    result = cli("check-config", str(bad))
    assert result.returncode == 1
    for text in (
        "ami.servers[0].port: expected an integer 1-65535, got 70000",
        "ami.servers[0].secert: unknown key",
        "ami.servers[0].secret: required",
        "tracking.short_abandon_s:",
    ):
        assert text in result.stderr, result.stderr


def test_check_config_bad_yaml_points_at_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("ami:\n  servers: [\n")
    result = cli("check-config", str(bad))
    assert result.returncode == 1 and "invalid YAML" in result.stderr and ":3:" in result.stderr


def test_replay_of_a_missing_file() -> None:
    result = cli("replay", "/nonexistent/trace.ami")
    assert result.returncode == 1 and "no such file" in result.stderr  # bad input


def test_version() -> None:
    assert cli("--version").stdout.startswith("callcenter ")


# --- journals: PostgreSQL, journal-copy -----------------------------------------------------------

TRACES = ROOT / "tests" / "traces"
BANNER = b"Asterisk Call Manager/"


def trace_rows(trace: str, server: str, seed: int) -> list[JournalRow]:
    """A trace as the daemon would have journaled it: a LINK row per connection, then the bytes
    in reads of random sizes (so frames are split across rows as on a real socket)."""
    raw = b"".join(read_chunks(TRACES / trace))
    rng = random.Random(seed)
    rows: list[JournalRow] = []
    at = 1730000000.0
    for connection in raw.split(BANNER)[1:]:
        banner, _, rest = connection.partition(b"\r\n")
        rows.append(JournalRow(server, at, LINK, BANNER + banner))
        while rest:
            size = rng.choice((1, 7, 500, 4096, 65536))
            rows.append(JournalRow(server, at, DATA, rest[:size]))
            rest, at = rest[size:], at + 0.001
    return rows


@pytest.fixture
def sqlite_journal(tmp_path: Path) -> str:
    """An SQLite journal of two servers, their rows interleaved as two live links would."""
    one, two = trace_rows("o_reconnect.client.ami.gz", "pbx1", 1), trace_rows("m_transfer.ami.gz", "pbx2", 2)
    path = str(tmp_path / "source.sqlite3")
    journal = open_journal(JournalSettings(path=path))
    for i in range(max(len(one), len(two))):
        journal.append(one[i : i + 1] + two[i : i + 1])
    journal.close()
    return path


def replays(journal: str) -> dict[str, str]:
    out = {}
    for server in ("pbx1", "pbx2"):
        result = cli("replay", journal, "--json", "--server", server)
        assert result.returncode == 0, result.stderr
        out[server] = result.stdout
    return out


def test_journal_copy_to_postgresql_and_back_replays_the_same(
    sqlite_journal: str, postgres_url: str, tmp_path: Path
) -> None:
    copied = cli("journal-copy", sqlite_journal, postgres_url, "--batch", "100")
    assert copied.returncode == 0, copied.stderr
    counts = copied.stdout.splitlines()[:2]
    source = open_journal(JournalSettings(path=sqlite_journal))
    try:
        assert counts == [f"{s}: {sum(1 for _ in source.rows(s))} rows" for s in ("pbx1", "pbx2")]
    finally:
        source.close()
    before = replays(sqlite_journal)
    assert before == replays(postgres_url)
    # Replaying the journal is replaying the recorded trace: the rows are the whole stream.
    trace = cli("replay", str(TRACES / "o_reconnect.client.ami.gz"), "--json")
    assert json.loads(before["pbx1"]) == json.loads(trace.stdout)
    assert len(json.loads(before["pbx1"])["calls"]) > 50 and json.loads(before["pbx2"])["calls"]
    back = str(tmp_path / "back.sqlite3")
    assert cli("journal-copy", postgres_url, back).returncode == 0
    assert replays(back) == before


def test_journal_copy_refuses_a_non_empty_target_unless_told_to_append(
    sqlite_journal: str, tmp_path: Path
) -> None:
    target = str(tmp_path / "target.sqlite3")
    assert cli("journal-copy", sqlite_journal, target).returncode == 0
    again = cli("journal-copy", sqlite_journal, target)
    assert again.returncode == 2
    assert "already holds a journal (servers pbx1, pbx2)" in again.stderr and "--append" in again.stderr
    appended = cli("journal-copy", sqlite_journal, target, "--append")
    assert appended.returncode == 0, appended.stderr
    # The rows are already there: --append doubles none of them.
    assert "copied 0 rows" in appended.stdout
    source, journal = (
        open_journal(JournalSettings(path=sqlite_journal)),
        open_journal(JournalSettings(path=target)),
    )
    try:
        assert list(journal.rows()) == list(source.rows())
    finally:
        journal.close()
        source.close()


def test_journal_copy_append_adds_only_the_rows_the_target_lacks(sqlite_journal: str, tmp_path: Path) -> None:
    source = open_journal(JournalSettings(path=sqlite_journal))
    rows = list(source.rows())
    source.close()
    target = str(tmp_path / "target.sqlite3")
    half = open_journal(JournalSettings(path=target))
    half.append(rows[: len(rows) // 2])  # a copy that stopped half-way
    half.close()
    resumed = cli("journal-copy", sqlite_journal, target, "--append")
    assert resumed.returncode == 0, resumed.stderr
    journal = open_journal(JournalSettings(path=target))
    try:
        assert list(journal.rows()) == rows  # the first half, then the rest, in arrival order
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("source", "target", "message", "status"),
    [
        ("{tmp}/missing.sqlite3", "{tmp}/t.sqlite3", "missing.sqlite3: no such file", 1),
        ("{tmp}/s.sqlite3", "{tmp}/../{tmp.name}/s.sqlite3", "source and target are the same journal", 2),
        ("{tmp}/s.sqlite3", "mysql://cc:hunter2@db/x", "expected a postgresql:// or postgres:// URL", 2),
        ("postgresql://cc:hunter2@127.0.0.1:1/x", "{tmp}/t.sqlite3", "cc:***@127.0.0.1:1/x: cannot open", 1),
    ],
)
def test_journal_copy_errors(tmp_path: Path, source: str, target: str, message: str, status: int) -> None:
    """Usage (the same journal twice, a URL of another database) is 2; an input that cannot be
    read is 1."""
    open_journal(JournalSettings(path=str(tmp_path / "s.sqlite3"))).close()
    result = cli("journal-copy", source.format(tmp=tmp_path), target.format(tmp=tmp_path))
    assert result.returncode == status and message in result.stderr, result.stderr
    assert "hunter2" not in result.stderr and not (tmp_path / "t.sqlite3").exists()


def test_replay_of_an_unreachable_postgresql_journal() -> None:
    result = cli("replay", "postgresql://cc:hunter2@127.0.0.1:1/callcenter")
    assert result.returncode == 1
    assert "postgresql://cc:***@127.0.0.1:1/callcenter: cannot open the journal" in result.stderr
    assert "hunter2" not in result.stderr


def test_check_config_shows_a_postgresql_journal_without_its_password(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(SERVER + "journal:\n  url: postgresql://cc:hunter2@db.example.org:5433/callcenter\n")
    result = cli("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "journal: PostgreSQL postgresql://cc:***@db.example.org:5433/callcenter" in result.stdout
    assert "hunter2" not in result.stdout


WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; from callcenter.cli import main; sys.exit(main())"
)


def test_without_psycopg_sqlite_works_and_postgresql_says_what_to_install(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", WITHOUT_PSYCOPG, *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT)

    sqlite = run("check-config", str(ROOT / "config" / "callcenter.example.yaml"))
    assert sqlite.returncode == 0, sqlite.stderr
    config = tmp_path / "c.yaml"
    config.write_text(
        "ami: {servers: [{name: pbx1, username: u, secret: s}]}\njournal: {url: 'postgresql://cc@db/cc'}\n"
        "web: {port: 0}\n"  # not 8080: another program may hold it
    )
    wanted = "journal.url is PostgreSQL but psycopg is not installed: pip install 'callcenter[postgresql]'"
    checked = run("check-config", str(config))
    assert checked.returncode == 1 and wanted in checked.stderr
    started = run("run", "--config", str(config))
    assert started.returncode == 1 and wanted in started.stderr and "Traceback" not in started.stderr


def test_a_second_daemon_on_the_same_journal_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "callcenter.yaml"
    config.write_text(
        "ami:\n  servers:\n    - {name: pbx1, port: 9, username: u, secret: s}\n"
        f"journal:\n  path: {tmp_path / 'journal.sqlite3'}\nweb:\n  port: 0\n"
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stderr is not None
        deadline = time.monotonic() + 30
        while "journal:" not in first.stderr.readline():  # it has opened the journal
            assert time.monotonic() < deadline and first.poll() is None
        second = cli("run", "--config", str(config))
        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if "ERROR" in line]
        assert len(lines) == 1 and f"already in use by pid {first.pid} (callcenter run, since " in lines[0]
    finally:
        first.terminate()
        first.communicate(timeout=20)
    assert first.returncode == 0


FOREIGN = {
    "empty.ami": (b"", "an empty file; expected an AMI recording"),
    "random.ami": (bytes(range(7, 200)), "not an AMI recording: it starts with b'\\x07"),
    "other.jsonl": (b'{"a": 1}\n', "other.jsonl:1: expected an object with 'dir' and 'msg'"),
    "list.jsonl": (b"[1, 2]\n", "list.jsonl:1: expected an object with 'dir' and 'msg'"),
    "nothing.jsonl": (b'{"dir": "out", "msg": [["Action", "Login"]]}\n', "no received AMI message in it"),
    "bad.ami.gz": (b"\x1f\x8b not really gzip", "a truncated or corrupt .gz file"),
    "empty.sqlite3": (b"", "an empty file; expected a callcenter journal"),
    "noise.sqlite3": (b"SQLite format 3\x00" + bytes(200), "cannot open the journal: not an SQLite database"),
}


@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_a_file_that_is_not_a_trace_gets_one_line_and_status_1(name: str, tmp_path: Path) -> None:
    content, message = FOREIGN[name]
    path = tmp_path / name
    path.write_bytes(content)
    result = cli("replay", str(path))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == [name]  # unchanged


def test_a_truncated_gz_trace_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "cut.ami.gz"
    path.write_bytes((TRACES / "g_queue_full.ami.gz").read_bytes()[:3000])
    result = cli("replay", str(path), "--json")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"callcenter: {path}: a truncated or corrupt .gz file (")


def test_a_closed_pipe_ends_the_replay_quietly() -> None:
    shell = f"{sys.executable} -m callcenter replay {TRACES / 'n_mixed_load.ami.gz'} --json | head -c 10"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=60
    )
    assert result.stdout == '{"queues":' and result.stderr == "" and result.returncode == 0


def test_every_command_documents_the_exit_statuses() -> None:
    text = cli("--help").stdout
    assert "exit status (every command):" in text and "  2  usage or configuration" in text


def test_replay_into_a_store_stores_each_stint_once(tmp_path: Path) -> None:
    from callcenter.store import open_store
    from tests.asterisk_truth import refused_joins, stints

    store = tmp_path / "store.sqlite3"
    for _ in range(2):
        result = cli("replay", str(TRACES / "k_escalation.ami.gz"), "--store", str(store))
        assert result.returncode == 0, result.stderr
    s = open_store(store, create=False)
    got = s.stints()
    s.close()
    want = len(stints("k_escalation")) + len(refused_joins("k_escalation"))
    assert len(got) == want and {(r.call_id, r.queue) for r in got} >= set(stints("k_escalation"))
    foreign = tmp_path / "notes.sqlite3"
    foreign.write_bytes(b"hello")
    result = cli("replay", str(TRACES / "k_escalation.ami.gz"), "--store", str(foreign))
    assert (
        result.returncode == 1
        and result.stderr.count("\n") == 1
        and "not an SQLite database" in result.stderr
    )
    assert foreign.read_bytes() == b"hello"
