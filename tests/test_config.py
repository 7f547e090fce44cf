"""Settings: the shipped example, defaults, and the exact messages an operator sees for a bad config."""

from __future__ import annotations

import dataclasses
import pickle
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from callcenter.config import (
    AmiServer,
    AmiSettings,
    ConfigError,
    JournalSettings,
    LogSettings,
    QueueSettings,
    Settings,
    SiteSettings,
    StoreSettings,
    TrackingSettings,
    WebSettings,
    default_settings,
    load_settings,
    parse_settings,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config" / "callcenter.example.yaml"
SERVER_KEYS = (
    "name, host, port, username, secret, auth, events, connect_timeout_s, action_timeout_s, "
    "ping_interval_s, ping_timeout_s, reconnect_min_s, reconnect_max_s, login_retry_s, "
    "status_check_s, queue_log"
)
UNKNOWN_PROT = f"ami.servers[0].prot: unknown key (expected one of: {SERVER_KEYS})"
MINIMAL_SERVER = {"name": "pbx1", "username": "callcenter", "secret": "s3cret"}


def problems_of(data: object) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(data)
    return caught.value.problems


def problems_of_yaml(text: str) -> tuple[str, ...]:
    return problems_of(yaml.safe_load(textwrap.dedent(text)))


def with_server(**overrides: object) -> dict[str, Any]:
    return {"ami": {"servers": [{**MINIMAL_SERVER, **overrides}]}}


def write(tmp_path: Path, text: str, name: str = "callcenter.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the shipped example and the defaults ---------------------------------------------------------


def test_example_loads_with_the_documented_defaults() -> None:
    settings = load_settings(EXAMPLE)

    assert settings.ami.servers == (AmiServer(name="pbx1", username="callcenter", secret="change-me"),)
    server = settings.ami.servers[0]
    assert (server.host, server.port, server.auth) == ("127.0.0.1", 5038, "md5")
    assert server.events == ("call", "agent", "user")
    assert settings.tracking.short_abandon_s == 5.0
    assert settings.tracking.default_servicelevel_s == 20
    assert dict(settings.tracking.queues) == {
        "support": QueueSettings(servicelevel_s=20, wrapup_s=15),
        "support-l2": QueueSettings(servicelevel_s=30, wrapup_s=30),
    }
    assert settings.journal == JournalSettings(
        enabled=True, path=str(EXAMPLE.parent / "data/journal.sqlite3")
    )
    assert settings.log == LogSettings(level="info", figures_interval_s=60.0)
    assert settings.web == WebSettings(enabled=True, host="127.0.0.1", port=8080)
    assert (settings.web.tls_cert, settings.web.tls_key, settings.web.api_token) == (None, None, None)


def test_example_shows_every_key() -> None:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    sections: list[tuple[object, type]] = [
        (raw, Settings),
        (raw["ami"], AmiSettings),
        (raw["ami"]["servers"][0], AmiServer),
        (raw["tracking"], TrackingSettings),
        (raw["tracking"]["queues"]["support"], QueueSettings),
        (raw["journal"], JournalSettings),
        (raw["store"], StoreSettings),
        (raw["site"], SiteSettings),
        (raw["log"], LogSettings),
        (raw["web"], WebSettings),
    ]
    for section, cls in sections:
        assert isinstance(section, dict)
        assert list(section) == [f.name for f in dataclasses.fields(cls)], cls.__name__


def test_defaults_are_the_documented_values() -> None:
    server = AmiServer(name="a", username="u", secret="s")
    assert (server.host, server.port, server.auth) == ("127.0.0.1", 5038, "md5")
    assert server.events == ("call", "agent", "user")
    assert (server.connect_timeout_s, server.action_timeout_s) == (5.0, 10.0)
    assert (server.ping_interval_s, server.ping_timeout_s) == (15.0, 5.0)
    assert (server.reconnect_min_s, server.reconnect_max_s, server.status_check_s) == (0.5, 2.0, 300.0)
    assert default_settings() == Settings(
        ami=AmiSettings(servers=()),
        tracking=TrackingSettings(short_abandon_s=5.0, default_servicelevel_s=20, queues={}),
        journal=JournalSettings(enabled=True, path="data/journal.sqlite3"),
        log=LogSettings(level="info", figures_interval_s=60.0),
        web=WebSettings(
            enabled=True, host="127.0.0.1", port=8080, tls_cert=None, tls_key=None, api_token=None
        ),
    )


@pytest.mark.parametrize(
    "data", [None, {}, {"ami": None, "tracking": None, "journal": None, "log": None, "web": None}]
)
def test_empty_config_means_defaults(data: object) -> None:
    assert parse_settings(data) == default_settings()


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "# nothing configured\n"))
    assert settings.ami.servers == ()
    assert settings.journal.path == str(tmp_path / "data/journal.sqlite3")


def test_values_are_read() -> None:
    settings = parse_settings(
        yaml.safe_load(
            textwrap.dedent("""
            ami:
              servers:
                - {name: a.b-c_1, host: pbx.example.org, port: 15038, username: u, secret: "1234",
                   auth: plain, events: [call, agent], connect_timeout_s: 1, action_timeout_s: 2.5,
                   ping_interval_s: 3, ping_timeout_s: 2.9, reconnect_min_s: 7, reconnect_max_s: 7}
                - {name: b, username: u, secret: s, events: "on"}
            tracking:
              short_abandon_s: 0
              default_servicelevel_s: 3600
              queues: {q: {servicelevel_s: 0}, r: {}}
            journal: {enabled: false, path: /var/lib/callcenter/journal.sqlite3}
            log: {level: debug, figures_interval_s: 0.5}
            """)
        )
    )
    first, second = settings.ami.servers
    assert first == AmiServer(
        name="a.b-c_1",
        host="pbx.example.org",
        port=15038,
        username="u",
        secret="1234",
        auth="plain",
        events=("call", "agent"),
        connect_timeout_s=1.0,
        action_timeout_s=2.5,
        ping_interval_s=3.0,
        ping_timeout_s=2.9,
        reconnect_min_s=7.0,
        reconnect_max_s=7.0,
    )
    assert isinstance(first.connect_timeout_s, float)
    assert second.events == ("on",)
    assert settings.tracking == TrackingSettings(
        short_abandon_s=0.0,
        default_servicelevel_s=3600,
        queues={"q": QueueSettings(servicelevel_s=0), "r": QueueSettings(servicelevel_s=None)},
    )
    assert settings.journal == JournalSettings(enabled=False, path="/var/lib/callcenter/journal.sqlite3")
    assert settings.log == LogSettings(level="debug", figures_interval_s=0.5)


def test_unquoted_events_on_is_asterisks_on() -> None:
    # YAML 1.1 reads a bare `on` as true; the operator meant Asterisk's "Events: on".
    settings = parse_settings(
        yaml.safe_load("ami: {servers: [{name: a, username: u, secret: s, events: on}]}")
    )
    assert settings.ami.servers[0].events == ("on",)


def test_servicelevel_for_gives_the_configured_queue_value_only() -> None:
    tracking = TrackingSettings(
        default_servicelevel_s=20,
        queues={"support": QueueSettings(servicelevel_s=45), "sales": QueueSettings()},
    )
    assert tracking.servicelevel_for("support") == 45
    assert tracking.servicelevel_for("sales") is None
    assert tracking.servicelevel_for("unknown") is None


# --- immutability --------------------------------------------------------------------------------


def test_settings_are_frozen() -> None:
    settings = load_settings(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.log = LogSettings()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.ami.servers[0].port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.tracking.queues["new"] = QueueSettings()  # type: ignore[index]
    assert not hasattr(settings.ami.servers[0], "__dict__")  # slotted


def test_queues_given_as_a_dict_are_copied() -> None:
    queues = {"support": QueueSettings(servicelevel_s=20)}
    tracking = TrackingSettings(queues=queues)
    queues["support"] = QueueSettings(servicelevel_s=99)
    assert tracking.servicelevel_for("support") == 20


def test_secret_is_not_in_repr() -> None:
    server = AmiServer(name="a", username="u", secret="hunter2")
    assert "hunter2" not in repr(server)
    assert "hunter2" not in repr(Settings(ami=AmiSettings(servers=(server,))))


# --- one problem, exact message -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (with_server(port="abc"), "ami.servers[0].port: expected an integer 1-65535, got 'abc'"),
        (with_server(port=0), "ami.servers[0].port: expected an integer 1-65535, got 0"),
        (with_server(port=65536), "ami.servers[0].port: expected an integer 1-65535, got 65536"),
        (with_server(port=True), "ami.servers[0].port: expected an integer 1-65535, got true"),
        (with_server(port=5038.0), "ami.servers[0].port: expected an integer 1-65535, got 5038.0"),
        (with_server(port=None), "ami.servers[0].port: expected an integer 1-65535, got an empty value"),
        (
            with_server(connect_timeout_s=-1),
            "ami.servers[0].connect_timeout_s: expected a number > 0, got -1",
        ),
        (with_server(action_timeout_s=0), "ami.servers[0].action_timeout_s: expected a number > 0, got 0"),
        ({"journal": {"retention_days": 0}}, "journal.retention_days: expected a number > 0, got 0"),
        ({"journal": {"retention_days": "30d"}}, "journal.retention_days: expected a number > 0, got '30d'"),
        (
            with_server(ping_interval_s="5s"),
            "ami.servers[0].ping_interval_s: expected a number > 0, got '5s'",
        ),
        (
            with_server(reconnect_max_s=float("inf")),
            "ami.servers[0].reconnect_max_s: expected a number > 0, got inf",
        ),
        (
            with_server(reconnect_min_s=False),
            "ami.servers[0].reconnect_min_s: expected a number > 0, got false",
        ),
        (
            with_server(ping_timeout_s=15),
            "ami.servers[0].ping_timeout_s: expected a number < ping_interval_s (15), got 15",
        ),
        (
            with_server(ping_interval_s=2, ping_timeout_s=2.5),
            "ami.servers[0].ping_timeout_s: expected a number < ping_interval_s (2), got 2.5",
        ),
        (
            with_server(reconnect_min_s=60),
            "ami.servers[0].reconnect_min_s: expected a number <= reconnect_max_s (2), got 60",
        ),
        (with_server(status_check_s=5), "ami.servers[0].status_check_s: expected a number >= 10, got 5"),
        (with_server(auth="sha1"), "ami.servers[0].auth: expected md5 or plain, got 'sha1'"),
        (with_server(host=""), "ami.servers[0].host: expected a non-empty string, got an empty string"),
        (
            with_server(username=42),
            "ami.servers[0].username: expected a non-empty string (quote it in YAML), got 42",
        ),
        (
            with_server(secret=1234),
            "ami.servers[0].secret: expected a non-empty string (quote it in YAML), got an integer",
        ),
        (with_server(secret=["x"]), "ami.servers[0].secret: expected a non-empty string, got a list"),
        (
            with_server(name="pbx 1"),
            "ami.servers[0].name: expected 1-40 letters, digits, '_', '.' or '-', got 'pbx 1'",
        ),
        (
            with_server(name="x" * 41),
            "ami.servers[0].name: expected 1-40 letters, digits, '_', '.' or '-', got '" + "x" * 41 + "'",
        ),
        (
            with_server(events=[]),
            "ami.servers[0].events: expected a non-empty list of AMI event classes or 'on', got a list",
        ),
        (
            with_server(events="call,agent"),
            "ami.servers[0].events: expected a non-empty list of AMI event classes or 'on', got 'call,agent'",
        ),
        (
            with_server(events=["call", "Agent"]),
            "ami.servers[0].events[1]: expected an AMI event class (system, call, log, verbose, command, "
            "agent, user, config, dtmf, reporting, cdr, dialplan, security, originate, agi, cc, aoc, test, "
            "message, all), got 'Agent'",
        ),
        ({"ami": {"servers": [{"name": "a", "username": "u"}]}}, "ami.servers[0].secret: required"),
        (
            {"ami": {"servers": {"pbx1": MINIMAL_SERVER}}},
            "ami.servers: expected a list of servers, got a mapping",
        ),
        ({"ami": {"servers": ["pbx1"]}}, "ami.servers[0]: expected a mapping, got 'pbx1'"),
        ({"ami": []}, "ami: expected a mapping, got a list"),
        ({"tracking": {"short_abandon_s": -1}}, "tracking.short_abandon_s: expected a number >= 0, got -1"),
        (
            {"tracking": {"default_servicelevel_s": 3601}},
            "tracking.default_servicelevel_s: expected an integer 0-3600, got 3601",
        ),
        (
            {"tracking": {"queues": {"support": {"servicelevel_s": 20.5}}}},
            "tracking.queues.support.servicelevel_s: expected an integer 0-3600, got 20.5",
        ),
        (
            {"tracking": {"queues": {"sales.eu": {"servicelevel_s": -5}}}},
            "tracking.queues['sales.eu'].servicelevel_s: expected an integer 0-3600, got -5",
        ),
        ({"tracking": {"queues": {"support": 20}}}, "tracking.queues.support: expected a mapping, got 20"),
        (
            {"tracking": {"queues": {500: {}}}},
            "tracking.queues.500: expected a queue name as a non-empty string (quote it in YAML), got 500",
        ),
        (
            {"tracking": {"queues": ["support"]}},
            "tracking.queues: expected a mapping of queue name to settings, got a list",
        ),
        ({"journal": {"enabled": "yes please"}}, "journal.enabled: expected true or false, got 'yes please'"),
        ({"journal": {"enabled": 1}}, "journal.enabled: expected true or false, got 1"),
        ({"journal": {"path": None}}, "journal.path: expected a non-empty string, got an empty value"),
        ({"log": {"level": "INFO"}}, "log.level: expected debug, info, warning or error, got 'INFO'"),
        ({"log": {"figures_interval_s": 0}}, "log.figures_interval_s: expected a number > 0, got 0"),
        ({"wallboard": {"max_waiting": 0}}, "wallboard.max_waiting: expected an integer 1-10000, got 0"),
        (
            {"mqtt": {"prefix": "cc/+/x"}},
            "mqtt.prefix: expected topic levels without +, #, spaces or empty levels, got 'cc/+/x'",
        ),
        (
            {"web": {"agent_token": "agents-token-0123456789abcdef"}},
            "web.agent_token: set web.api_token too (without it every page is open)",
        ),
        (
            {
                "web": {
                    "api_token": "same-token-0123456789abcdef",
                    "agent_token": "same-token-0123456789abcdef",
                }
            },
            "web.agent_token: expected a token of its own, got web.api_token's",
        ),
        ({"wallboard": {"max_wait_s": "60"}}, "wallboard.max_wait_s: expected a number > 0, got '60'"),
        (
            {"tickets": {"categories": []}},
            "tickets.categories: expected a list of names of 1-80 characters, got a list",
        ),
        (
            {"tickets": {"categories": ["Email", "Email"]}},
            "tickets.categories: expected each category once, got one twice",
        ),
        (
            {"tickets": {"resolve_hours": [4, 8, 24]}},
            "tickets.resolve_hours: expected 5 hours > 0 (P1 to P5), got a list",
        ),
        (
            {"tickets": {"resolve_hours": [8, 4, 24, 72, 120]}},
            "tickets.resolve_hours: expected P1's hours <= P2's <= ... <= P5's, got a list",
        ),
        ([{"ami": {}}], "(top level): expected a mapping, got a list"),
        ("ami", "(top level): expected a mapping, got 'ami'"),
    ],
)
def test_one_problem_is_reported_with_its_key_path(data: object, problem: str) -> None:
    assert problems_of(data) == (problem,)


def test_unknown_key_is_reported_with_the_allowed_keys() -> None:
    assert problems_of(with_server(prot=5038)) == (UNKNOWN_PROT,)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"logging": {}},
            "logging: unknown key (expected one of: ami, tracking, journal, store, site, log, web, tickets, "
            "wallboard, mqtt)",
        ),
        ({"ami": {"server": []}}, "ami.server: unknown key (expected one of: servers)"),
        (
            {"journal": {"file": "x"}},
            "journal.file: unknown key (expected one of: enabled, path, url, on_failure, retention_days)",
        ),
        (
            {"tracking": {"queues": {"q": {"service_level": 20}}}},
            "tracking.queues.q.service_level: unknown key (expected one of: servicelevel_s, wrapup_s)",
        ),
        ({"log": {True: 1}}, "log.true: unknown key (expected one of: level, figures_interval_s)"),
    ],
)
def test_unknown_keys_anywhere_are_reported(data: object, problem: str) -> None:
    assert problems_of(data) == (problem,)


def test_duplicate_server_names_are_reported() -> None:
    data = {"ami": {"servers": [MINIMAL_SERVER, {**MINIMAL_SERVER, "host": "10.0.0.2"}, MINIMAL_SERVER]}}
    assert problems_of(data) == (
        "ami.servers[1].name: expected a name unique across servers, got 'pbx1' again "
        "(first used at ami.servers[0])",
        "ami.servers[2].name: expected a name unique across servers, got 'pbx1' again "
        "(first used at ami.servers[0])",
    )


def test_server_missing_everything_required() -> None:
    assert problems_of({"ami": {"servers": [{}]}}) == (
        "ami.servers[0].name: required",
        "ami.servers[0].username: required",
        "ami.servers[0].secret: required",
    )


def test_every_problem_is_reported_together_in_file_order() -> None:
    problems = problems_of_yaml("""
        ami:
          servers:
            - name: pbx1
              prot: 5038
              port: abc
              username: callcenter
              ping_timeout_s: 20
            - name: pbx1
              username: callcenter
              secret: s
        tracking:
          short_abandon_s: -1
        journal:
          enabled: yes please
        log:
          level: verbose
        extra: 1
        """)
    assert problems == (
        "extra: unknown key (expected one of: ami, tracking, journal, store, site, log, web, tickets, "
        "wallboard, mqtt)",
        UNKNOWN_PROT,
        "ami.servers[0].port: expected an integer 1-65535, got 'abc'",
        "ami.servers[0].secret: required",
        "ami.servers[0].ping_timeout_s: expected a number < ping_interval_s (15), got 20",
        "ami.servers[1].name: expected a name unique across servers, got 'pbx1' again "
        "(first used at ami.servers[0])",
        "tracking.short_abandon_s: expected a number >= 0, got -1",
        "journal.enabled: expected true or false, got 'yes please'",
        "log.level: expected debug, info, warning or error, got 'verbose'",
    )


def test_cross_key_rules_are_skipped_when_a_value_is_itself_bad() -> None:
    assert problems_of(with_server(ping_interval_s="x", ping_timeout_s=20)) == (
        "ami.servers[0].ping_interval_s: expected a number > 0, got 'x'",
    )


def test_secret_value_never_appears_in_a_problem() -> None:
    problems = problems_of(with_server(secret=987654321, port="x"))
    assert not any("987654321" in problem for problem in problems)


def test_config_error_joins_problems_and_pickles() -> None:
    error = ConfigError(["a: required", "b: unknown key (expected one of: c)"])
    assert str(error) == "a: required\nb: unknown key (expected one of: c)"
    assert error.problems == ("a: required", "b: unknown key (expected one of: c)")
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems == error.problems
    assert str(copy) == str(error)


def test_config_error_without_problems_is_our_bug() -> None:
    with pytest.raises(ValueError, match="at least one problem"):
        ConfigError([])


# --- the file --------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == (f"{path}: no such file",)


def test_bad_yaml_shows_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        ami:
          servers:
            - name: pbx1
             port: 5038
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == (
        f"{path}:4:6: invalid YAML: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block collection, line 3 column 5)",
    )


def test_bad_yaml_without_context(tmp_path: Path) -> None:
    path = write(tmp_path, "log:\n  level: info: debug\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == (f"{path}:2:14: invalid YAML: mapping values are not allowed here",)


def test_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "log:\n  level: info\njournal: {}\nlog:\n  level: debug\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == (f"{path}:4:1: invalid YAML: duplicate key 'log'",)


def test_yaml_merge_keys_may_still_be_overridden(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        ami:
          servers:
            - &base {name: pbx1, username: callcenter, secret: s, port: 5038}
            - <<: *base
              name: pbx2
              port: 5039
        """,
    )
    assert [(s.name, s.port) for s in load_settings(path).ami.servers] == [("pbx1", 5038), ("pbx2", 5039)]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("log: {level: d\xe9bug}\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == (f"{path}: expected UTF-8 text, got byte 0xe9",)


def test_validation_problems_from_a_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "ami:\n  servers:\n    - {name: pbx1, username: callcenter, secret: s, port: abc}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == ("ami.servers[0].port: expected an integer 1-65535, got 'abc'",)


# --- journal path ----------------------------------------------------------------------------------


def test_relative_journal_path_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(folder, "journal:\n  path: state/journal.sqlite3\n")
    assert load_settings(path).journal.path == str(folder / "state" / "journal.sqlite3")


def test_relative_journal_path_with_base_dir(tmp_path: Path) -> None:
    data = {"journal": {"path": "j.sqlite3"}}
    assert parse_settings(data, base_dir=tmp_path).journal.path == str(tmp_path / "j.sqlite3")
    assert parse_settings(None, base_dir=tmp_path).journal.path == str(tmp_path / "data" / "journal.sqlite3")
    assert parse_settings(data).journal.path == "j.sqlite3"


def test_absolute_journal_path_is_kept(tmp_path: Path) -> None:
    absolute = str(tmp_path / "elsewhere" / "j.sqlite3")
    settings = parse_settings({"journal": {"path": absolute}}, base_dir=tmp_path / "etc")
    assert settings.journal.path == absolute


def test_relative_config_path_gives_an_absolute_journal_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "journal: {path: j.sqlite3}\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings("callcenter.yaml").journal.path == str(tmp_path / "j.sqlite3")


# --- journal url (PostgreSQL) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://callcenter@db.example.org:5432/callcenter",
        "postgres://db/cc?sslmode=require",
        "postgresql:///callcenter",  # libpq's defaults: the local socket, the login user
        "postgresql://h1:5432,h2:5433/cc?target_session_attrs=read-write",
    ],
)
def test_a_postgresql_url_is_read_as_written(url: str, tmp_path: Path) -> None:
    journal = parse_settings({"journal": {"url": url}}, base_dir=tmp_path).journal
    assert journal.url == url
    assert journal.path == str(tmp_path / "data" / "journal.sqlite3")  # unused, as the default
    assert journal.where == f"PostgreSQL {url}"


def test_an_empty_url_means_the_sqlite_path(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "journal:\n  path: j.sqlite3\n  url:\n"))
    assert settings.journal == JournalSettings(path=str(tmp_path / "j.sqlite3"), url=None)
    assert settings.journal.where == f"SQLite {tmp_path / 'j.sqlite3'}"
    assert JournalSettings(enabled=False, url="postgresql://db/cc").where == "off"


@pytest.mark.parametrize(
    ("journal", "problem"),
    [
        (
            {"url": "mysql://cc@db/callcenter"},
            "journal.url: expected a postgresql:// or postgres:// URL, got 'mysql://cc@db/callcenter'",
        ),
        (
            {"url": "PostgreSQL://db/cc"},  # libpq matches the scheme case-sensitively
            "journal.url: expected a postgresql:// or postgres:// URL, got 'PostgreSQL://db/cc'",
        ),
        (
            {"url": "data/journal.sqlite3"},
            "journal.url: expected a postgresql:// or postgres:// URL (an SQLite file goes in journal.path), "
            "got 'data/journal.sqlite3'",
        ),
        ({"url": ""}, "journal.url: expected a non-empty string, got an empty string"),
        ({"url": 5432}, "journal.url: expected a non-empty string (quote it in YAML), got 5432"),
        (
            {"path": "j.sqlite3", "url": "postgresql://db/cc"},
            "journal: expected journal.path (SQLite) or journal.url (PostgreSQL), got both",
        ),
    ],
)
def test_journal_url_problems(journal: dict[str, object], problem: str) -> None:
    assert problems_of({"journal": journal}) == (problem,)


def test_a_password_in_the_url_is_never_shown() -> None:
    problems = problems_of({"journal": {"url": "mysql://cc:hunter2@db/x?password=hunter2"}})
    assert problems == (
        "journal.url: expected a postgresql:// or postgres:// URL, got 'mysql://cc:***@db/x?password=***'",
    )
    journal = parse_settings({"journal": {"url": "postgresql://cc:hunter2@db/x?password=hunter2"}}).journal
    assert journal.where == "PostgreSQL postgresql://cc:***@db/x?password=***"
    assert "hunter2" not in repr(journal) and "hunter2" not in repr(Settings(journal=journal))


# --- robustness ------------------------------------------------------------------------------------

yaml_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)
section_names = st.sampled_from(
    ["ami", "tracking", "journal", "log", "web", "servers", "queues", "name", "port", "api_token"]
)


@given(st.dictionaries(section_names, yaml_like, max_size=4) | yaml_like)
def test_any_document_gives_settings_or_a_config_error(data: object) -> None:
    try:
        settings = parse_settings(data)
    except ConfigError as error:
        assert error.problems
        assert all(": " in problem for problem in error.problems)
    else:
        assert isinstance(settings, Settings)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            key: yaml_like
            for key in (
                "host",
                "port",
                "auth",
                "events",
                "ping_interval_s",
                "ping_timeout_s",
                "reconnect_min_s",
            )
        },
    )
)
def test_any_server_entry_gives_a_server_or_a_config_error(extra: dict[str, object]) -> None:
    try:
        settings = parse_settings(with_server(**extra))
    except ConfigError as error:
        assert all(problem.startswith("ami.servers[0].") for problem in error.problems)
    else:
        assert settings.ami.servers[0].name == "pbx1"


def test_queue_wrapup_is_validated() -> None:
    settings = parse_settings({"tracking": {"queues": {"support": {"wrapup_s": 15}}}})
    assert settings.tracking.queues["support"].wrapup_s == 15
    with pytest.raises(ConfigError) as err:
        parse_settings({"tracking": {"queues": {"support": {"wrapup_s": -1}}}})
    assert err.value.problems[0].startswith("tracking.queues.support.wrapup_s: expected an integer 0-3600")


# --- web ---------------------------------------------------------------------------------------------

TOKEN = "0123456789abcdef0123456789abcdef"


def pem_pair(folder: Path) -> tuple[Path, Path]:
    """Two files standing for a certificate and its key: the config checks only that they can be read."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    key.write_text("-----BEGIN PRIVATE KEY-----\n", encoding="utf-8")
    return cert, key


def test_web_values_are_read(tmp_path: Path) -> None:
    cert, key = pem_pair(tmp_path)
    web = parse_settings(
        {"web": {"enabled": False, "host": "0.0.0.0", "port": 0, "tls_cert": str(cert), "tls_key": str(key),
                 "api_token": TOKEN}}
    ).web  # fmt: skip
    assert web == WebSettings(
        enabled=False, host="0.0.0.0", port=0, tls_cert=str(cert), tls_key=str(key), api_token=TOKEN
    )


def test_relative_tls_paths_are_resolved_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    pem_pair(folder / "tls")
    path = write(folder, "web:\n  tls_cert: tls/cert.pem\n  tls_key: tls/key.pem\n")
    web = load_settings(path).web
    assert (web.tls_cert, web.tls_key) == (str(folder / "tls" / "cert.pem"), str(folder / "tls" / "key.pem"))
    assert web.scheme == "https"


def test_empty_tls_keys_mean_plain_http() -> None:
    web = parse_settings({"web": {"tls_cert": None, "tls_key": None, "api_token": None}}).web
    assert web == WebSettings() and web.scheme == "http"


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        ({"port": -1}, "web.port: expected an integer 0-65535, got -1"),
        ({"port": 65536}, "web.port: expected an integer 0-65535, got 65536"),
        ({"port": "8080"}, "web.port: expected an integer 0-65535, got '8080'"),
        ({"host": ""}, "web.host: expected a non-empty string, got an empty string"),
        ({"enabled": "no"}, "web.enabled: expected true or false, got 'no'"),
        (
            {"tls": True},
            "web.tls: unknown key (expected one of: enabled, host, port, tls_cert, tls_key, api_token, "
            "agent_token)",
        ),
        (
            {"api_token": "short"},
            "web.api_token: expected at least 16 characters from A-Z a-z 0-9 - . _ ~ + / "
            "(e.g. `openssl rand -hex 32`), got 5 characters",
        ),
        (
            {"api_token": "a token with spaces in it"},
            "web.api_token: expected at least 16 characters from A-Z a-z 0-9 - . _ ~ + / "
            "(e.g. `openssl rand -hex 32`), got a character outside that set",
        ),
        (
            {"api_token": 12345678901234567890},
            "web.api_token: expected a non-empty string (quote it in YAML), got an integer",
        ),
    ],
)
def test_web_problems(web: dict[str, object], problem: str) -> None:
    assert problems_of({"web": web}) == (problem,)


def test_a_missing_tls_file_is_named_with_its_key(tmp_path: Path) -> None:
    cert, _ = pem_pair(tmp_path)
    problems = problems_of({"web": {"tls_cert": str(cert), "tls_key": str(tmp_path / "nope.pem")}})
    assert problems == (f"web.tls_key: expected a PEM file, got '{tmp_path / 'nope.pem'}' (no such file)",)
    problems = problems_of({"web": {"tls_cert": str(tmp_path), "tls_key": str(cert)}})
    assert problems == (f"web.tls_cert: expected a PEM file, got '{tmp_path}' (a folder)",)


def test_a_relative_tls_path_is_reported_resolved(tmp_path: Path) -> None:
    path = write(tmp_path, "web:\n  tls_cert: cert.pem\n  tls_key: key.pem\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == (
        f"web.tls_cert: expected a PEM file, got '{tmp_path / 'cert.pem'}' (no such file)",
        f"web.tls_key: expected a PEM file, got '{tmp_path / 'key.pem'}' (no such file)",
    )


@pytest.mark.parametrize("given", ["tls_cert", "tls_key"])
def test_tls_needs_both_files(tmp_path: Path, given: str) -> None:
    cert, key = pem_pair(tmp_path)
    problems = problems_of({"web": {given: str(cert if given == "tls_cert" else key)}})
    assert problems == (
        f"web: expected both web.tls_cert and web.tls_key (HTTPS) or neither (HTTP), got only web.{given}",
    )


def test_the_api_token_is_never_shown() -> None:
    secret = "hunter2-hunter2-hunter2"
    web = parse_settings({"web": {"api_token": secret}}).web
    assert web.api_token == secret
    assert secret not in repr(web) and secret not in repr(Settings(web=web)) and secret not in web.where
    problems = problems_of({"web": {"api_token": "hunter2 hunter2 hunter2", "port": "x"}})
    assert not any("hunter2" in problem for problem in problems)


@pytest.mark.parametrize(
    ("web", "where"),
    [
        (WebSettings(), "http://127.0.0.1:8080"),
        (WebSettings(port=0), "http://127.0.0.1 (a free port, chosen at start)"),
        (WebSettings(host="::1", port=8443, tls_cert="c", tls_key="k"), "https://[::1]:8443"),
        (WebSettings(api_token=TOKEN), "http://127.0.0.1:8080; /api needs the bearer token"),
        (WebSettings(enabled=False), "off"),
    ],
)
def test_where_the_web_listens(web: WebSettings, where: str) -> None:
    assert web.where == where


@pytest.mark.parametrize(
    ("site", "problem"),
    [
        ({"timezone": "Mars/Olympus"}, "site.timezone: expected an IANA time zone such as America/Bogota"),
        ({"day_starts_at": "25:00"}, "site.day_starts_at: expected a time of day HH:MM, got '25:00'"),
        ({"interval_min": 20}, "site.interval_min: expected 15, 30 or 60 (minutes), got 20"),
        ({"interval_min": True}, "site.interval_min: expected 15, 30 or 60 (minutes), got true"),
    ],
)
def test_site_settings_are_checked(site: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"site": site})
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems


def test_site_settings() -> None:
    site = parse_settings(
        {"site": {"timezone": "America/Bogota", "day_starts_at": "6:30", "interval_min": 15}}
    ).site
    assert (site.timezone, site.day_starts_at, site.day_start_min, site.interval_min) == (
        "America/Bogota", "06:30", 390, 15,
    )  # fmt: skip
