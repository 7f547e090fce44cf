"""The daemon's settings: what an operator may configure, its defaults, and how a config file is checked.

This module owns the settings types (frozen, slotted dataclasses), the validator that turns a parsed
YAML document into them, and the one place the config file is read. Nothing else reads YAML or the
environment for settings; the rest of the daemon receives a `Settings` value at start-up.

Rules:
- An operator's mistake stops start-up with a `ConfigError` listing every problem at once, each as
  `<key path>: <message>`, e.g. `ami.servers[0].port: expected an integer 1-65535, got 'abc'`.
- Nothing is silently ignored or guessed: unknown keys (typos), keys given twice, strings where numbers
  belong and `1` where `true` belongs are all reported. (Integers are accepted for durations, and a
  bare YAML `events: on`, which YAML reads as true, means Asterisk's "on".)
- Only the standard library, PyYAML and `callcenter.pgurl` (pure) are imported here; no IO except
  `load_settings`. Whether psycopg is installed is the journal's concern, checked when it opens.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeGuard, TypeVar

import yaml

from callcenter.pgurl import is_postgres_url, looks_like_url, redact

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

AuthMethod = Literal["md5", "plain"]
LogLevel = Literal["debug", "info", "warning", "error"]

AUTH_METHODS: tuple[AuthMethod, ...] = ("md5", "plain")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
# The AMI event classes Asterisk's manager.conf knows for `read=`/`Events:`; "on" alone means all.
AMI_EVENT_CLASSES: tuple[str, ...] = (
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting",
    "cdr", "dialplan", "security", "originate", "agi", "cc", "aoc", "test", "message", "all",
)  # fmt: skip
SERVER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
SERVICELEVEL_MAX_S = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class AmiServer:
    """One Asterisk Manager Interface connection."""

    name: str
    host: str = "127.0.0.1"
    port: int = 5038
    username: str
    secret: str = field(repr=False)  # settings get logged; the AMI password must not be
    auth: AuthMethod = "md5"
    events: tuple[str, ...] = ("call", "agent", "user")
    connect_timeout_s: float = 5.0
    action_timeout_s: float = 10.0
    ping_interval_s: float = 15.0
    ping_timeout_s: float = 5.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AmiSettings:
    servers: tuple[AmiServer, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSettings:
    """Per-queue overrides; None means "not configured here"."""

    servicelevel_s: int | None = None
    wrapup_s: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingSettings:
    """How calls are classified. `queues` is read-only (a mappingproxy), keyed by Asterisk queue name."""

    short_abandon_s: float = 5.0
    default_servicelevel_s: int = 20
    queues: Mapping[str, QueueSettings] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        # Copy into a proxy so that a dict handed to the constructor cannot change the settings later.
        object.__setattr__(self, "queues", MappingProxyType(dict(self.queues)))

    def servicelevel_for(self, queue: str) -> int | None:
        """The service level configured for `queue`, or None when this config does not set one."""
        configured = self.queues.get(queue)
        return None if configured is None else configured.servicelevel_s


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalSettings:
    """An SQLite file at `path` (the default), or a PostgreSQL database when `url` is set."""

    enabled: bool = True
    path: str = "data/journal.sqlite3"
    url: str | None = field(default=None, repr=False)  # may carry a password; `where` shows it redacted

    @property
    def where(self) -> str:
        """Where the journal is, for logs and check-config (never a password)."""
        if not self.enabled:
            return "off"
        return f"PostgreSQL {redact(self.url)}" if self.url else f"SQLite {self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    level: LogLevel = "info"
    figures_interval_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    ami: AmiSettings = field(default_factory=AmiSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    journal: JournalSettings = field(default_factory=JournalSettings)
    log: LogSettings = field(default_factory=LogSettings)


class ConfigError(Exception):
    """The operator's configuration is unusable; `problems` holds one `<key path>: <message>` each."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ConfigError needs at least one problem")
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


def default_settings() -> Settings:
    return Settings()


def load_settings(path: str | Path) -> Settings:
    """Read and validate the config file at `path`; relative paths inside it are relative to its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: expected UTF-8 text, got byte {exc.object[exc.start]:#04x}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: as safe as safe_load
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(path, exc)]) from None
    return parse_settings(data, base_dir=path.absolute().parent)


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.safe_load`, except that a key given twice in one mapping is an error, not "last one wins"."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:  # before flattening, so `<<` merges may still be overridden
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if (key_node.tag, key_node.value) in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add((key_node.tag, key_node.value))
        return super().construct_mapping(node, deep)


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return f"{path}: invalid YAML: {exc}"
    mark = exc.problem_mark
    message = f"{path}:{mark.line + 1}:{mark.column + 1}: invalid YAML: {exc.problem}"
    if exc.context and exc.context_mark is not None:
        where = exc.context_mark
        message += f" ({exc.context}, line {where.line + 1} column {where.column + 1})"
    elif exc.context:
        message += f" ({exc.context})"
    return message


# --- validation -------------------------------------------------------------------------------------

_T = TypeVar("_T")
_S = TypeVar("_S", bound=str)
_ROOT = "(top level)"


class _Invalid(Exception):
    """Raised by a converter: the value is not acceptable; the message is "expected ..., got ..."."""


def _show(value: object) -> str:
    """A value as the operator wrote it in YAML."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return _kind(value)


def _kind(value: object) -> str:
    """The YAML kind of a value, without showing it (for secrets and containers)."""
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
        (list, "a list"), (dict, "a mapping"), (dt.date, "a date"),
    )  # fmt: skip
    if value is None:
        return "an empty value"
    return next((name for kind, name in kinds if isinstance(value, kind)), f"a {type(value).__name__}")


def _child(path: str, key: object) -> str:
    name = key if isinstance(key, str) else _show(key)
    if path == _ROOT:
        return name
    if isinstance(key, str) and not re.fullmatch(r"[A-Za-z0-9_-]+", key):
        return f"{path}[{key!r}]"
    return f"{path}.{name}"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(low: int, high: int) -> Callable[[object], int]:
    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _Invalid(f"expected an integer {low}-{high}, got {_show(value)}")
        return value

    return convert


def _number(*, above: float | None = None, at_least: float | None = None) -> Callable[[object], float]:
    bound = f"> {above:g}" if above is not None else f">= {at_least:g}"

    def convert(value: object) -> float:
        if not _is_number(value) or not math.isfinite(number := float(value)):
            raise _Invalid(f"expected a number {bound}, got {_show(value)}")
        if (above is not None and number <= above) or (at_least is not None and number < at_least):
            raise _Invalid(f"expected a number {bound}, got {_show(value)}")
        return number

    return convert


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_show(value)}")
    return value


def _text(*, hidden: bool = False) -> Callable[[object], str]:
    def convert(value: object) -> str:
        if not isinstance(value, str) or not value:
            got = "an empty string" if value == "" else _kind(value) if hidden else _show(value)
            hint = " (quote it in YAML)" if _is_number(value) else ""
            raise _Invalid(f"expected a non-empty string{hint}, got {got}")
        return value

    return convert


def _choice(options: tuple[_S, ...]) -> Callable[[object], _S]:
    def convert(value: object) -> _S:
        for option in options:
            if value == option:
                return option
        raise _Invalid(f"expected {', '.join(options[:-1])} or {options[-1]}, got {_show(value)}")

    return convert


def _optional(convert: Callable[[object], _T]) -> Callable[[object], _T | None]:
    return lambda value: None if value is None else convert(value)


def _server_name(value: object) -> str:
    if not isinstance(value, str) or not SERVER_NAME.fullmatch(value):
        raise _Invalid(f"expected 1-40 letters, digits, '_', '.' or '-', got {_show(value)}")
    return value


class _Section:
    """The keys of one config mapping, read with converters; problems are collected, not raised."""

    def __init__(self, raw: object, path: str, keys: tuple[str, ...], problems: list[str]) -> None:
        self.path, self.problems = path, problems
        self.values: dict[str, object] = {}
        self.bad: set[str] = set()
        self.ok = raw is None or isinstance(raw, dict)
        if not self.ok:
            problems.append(f"{path}: expected a mapping, got {_show(raw)}")
            return
        for key, value in (raw if isinstance(raw, dict) else {}).items():
            if key in keys:
                self.values[key] = value
            else:
                problems.append(f"{_child(path, key)}: unknown key (expected one of: {', '.join(keys)})")

    def problem(self, key: str, message: str) -> None:
        self.bad.add(key)
        self.problems.append(f"{_child(self.path, key)}: {message}")

    def get(self, key: str, default: _T, convert: Callable[[object], _T]) -> _T:
        if key not in self.values:
            return default
        try:
            return convert(self.values[key])
        except _Invalid as exc:
            self.problem(key, str(exc))
            return default

    def require(self, key: str, convert: Callable[[object], _T]) -> _T | None:
        if key not in self.values:
            self.problem(key, "required")
            return None
        return self.get(key, None, convert)


def _fields(cls: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _events(value: object, path: str, problems: list[str]) -> tuple[str, ...] | None:
    # An unquoted `events: on` is YAML 1.1's boolean true; the operator meant Asterisk's "on".
    if value == "on" or value is True:
        return ("on",)
    if not isinstance(value, list) or not value:
        problems.append(f"{path}: expected a non-empty list of AMI event classes or 'on', got {_show(value)}")
        return None
    ok = True
    for index, item in enumerate(value):
        if item not in AMI_EVENT_CLASSES:
            ok = False
            choices = ", ".join(AMI_EVENT_CLASSES)
            problems.append(f"{path}[{index}]: expected an AMI event class ({choices}), got {_show(item)}")
    return tuple(value) if ok else None


def _ami_server(raw: object, path: str, first_seen: dict[str, str], problems: list[str]) -> AmiServer | None:
    """One `ami.servers[i]` entry; None if it cannot be built. `first_seen` maps names to their paths."""
    section = _Section(raw, path, _fields(AmiServer), problems)
    if not section.ok:
        return None
    d = AmiServer(name="", username="", secret="")
    name = section.require("name", _server_name)
    if name is not None and name in first_seen:
        again = f"got {name!r} again (first used at {first_seen[name]})"
        section.problem("name", f"expected a name unique across servers, {again}")
        name = None
    elif name is not None:
        first_seen[name] = path
    host = section.get("host", d.host, _text())
    port = section.get("port", d.port, _integer(1, 65535))
    username = section.require("username", _text())
    secret = section.require("secret", _text(hidden=True))
    auth = section.get("auth", d.auth, _choice(AUTH_METHODS))
    events = d.events
    if "events" in section.values:
        events = _events(section.values["events"], _child(path, "events"), problems) or d.events
    positive = _number(above=0)
    server = AmiServer(
        name=name or "",
        host=host,
        port=port,
        username=username or "",
        secret=secret or "",
        auth=auth,
        events=events,
        connect_timeout_s=section.get("connect_timeout_s", d.connect_timeout_s, positive),
        action_timeout_s=section.get("action_timeout_s", d.action_timeout_s, positive),
        ping_interval_s=section.get("ping_interval_s", d.ping_interval_s, positive),
        ping_timeout_s=section.get("ping_timeout_s", d.ping_timeout_s, positive),
        reconnect_min_s=section.get("reconnect_min_s", d.reconnect_min_s, positive),
        reconnect_max_s=section.get("reconnect_max_s", d.reconnect_max_s, positive),
    )
    _check_order(section, server, "ping_timeout_s", "<", "ping_interval_s")
    _check_order(section, server, "reconnect_min_s", "<=", "reconnect_max_s")
    return server if name and username and secret else None


def _check_order(section: _Section, server: AmiServer, small: str, relation: str, large: str) -> None:
    """A rule between two keys, checked only when both values are valid on their own."""
    if section.bad & {small, large}:
        return
    low, high = getattr(server, small), getattr(server, large)
    if low > high or (relation == "<" and low == high):
        got = _show(section.values.get(small, low))
        section.problem(small, f"expected a number {relation} {large} ({high:g}), got {got}")


def _ami(raw: object, problems: list[str]) -> AmiSettings:
    section = _Section(raw, "ami", _fields(AmiSettings), problems)
    raw_servers = section.values.get("servers")
    if raw_servers is None:
        return AmiSettings()
    if not isinstance(raw_servers, list):
        section.problem("servers", f"expected a list of servers, got {_show(raw_servers)}")
        return AmiSettings()
    first_seen: dict[str, str] = {}
    servers = (
        _ami_server(raw, f"ami.servers[{i}]", first_seen, problems) for i, raw in enumerate(raw_servers)
    )
    return AmiSettings(servers=tuple(server for server in servers if server is not None))


def _tracking(raw: object, problems: list[str]) -> TrackingSettings:
    section = _Section(raw, "tracking", _fields(TrackingSettings), problems)
    d = TrackingSettings()
    servicelevel = _integer(0, SERVICELEVEL_MAX_S)
    optional_servicelevel = _optional(servicelevel)
    queues: dict[str, QueueSettings] = {}
    raw_queues = section.values.get("queues")
    if raw_queues is not None and not isinstance(raw_queues, dict):
        section.problem("queues", f"expected a mapping of queue name to settings, got {_show(raw_queues)}")
    for name, raw_queue in (raw_queues if isinstance(raw_queues, dict) else {}).items():
        path = _child("tracking.queues", name)
        if not isinstance(name, str) or not name:
            # Queue "500" written unquoted is the integer 500 (and 0500 would be octal 320).
            hint = " (quote it in YAML)" if _is_number(name) else ""
            problems.append(f"{path}: expected a queue name as a non-empty string{hint}, got {_show(name)}")
            continue
        queue = _Section(raw_queue, path, _fields(QueueSettings), problems)
        queues[name] = QueueSettings(
            servicelevel_s=queue.get("servicelevel_s", None, optional_servicelevel),
            wrapup_s=queue.get("wrapup_s", None, _optional(_integer(0, SERVICELEVEL_MAX_S))),
        )
    return TrackingSettings(
        short_abandon_s=section.get("short_abandon_s", d.short_abandon_s, _number(at_least=0)),
        default_servicelevel_s=section.get("default_servicelevel_s", d.default_servicelevel_s, servicelevel),
        queues=queues,
    )


def _postgres_url(value: object) -> str:
    url = _text()(value)
    if not is_postgres_url(url):
        hint = "" if looks_like_url(url) else " (an SQLite file goes in journal.path)"
        raise _Invalid(f"expected a postgresql:// or postgres:// URL{hint}, got {_show(redact(url))}")
    return url


def _journal(raw: object, base_dir: Path | None, problems: list[str]) -> JournalSettings:
    section = _Section(raw, "journal", _fields(JournalSettings), problems)
    d = JournalSettings()
    path = section.get("path", d.path, _text())
    if base_dir is not None:
        path = str(base_dir / path)  # an absolute `path` stays as it is
    url = section.get("url", None, _optional(_postgres_url))  # an empty `url:` means SQLite
    if url is not None and "path" in section.values:
        problems.append("journal: expected journal.path (SQLite) or journal.url (PostgreSQL), got both")
    return JournalSettings(enabled=section.get("enabled", d.enabled, _boolean), path=path, url=url)


def _log(raw: object, problems: list[str]) -> LogSettings:
    section = _Section(raw, "log", _fields(LogSettings), problems)
    d = LogSettings()
    return LogSettings(
        level=section.get("level", d.level, _choice(LOG_LEVELS)),
        figures_interval_s=section.get("figures_interval_s", d.figures_interval_s, _number(above=0)),
    )


def parse_settings(data: object, *, base_dir: Path | None = None) -> Settings:
    """Validate a parsed YAML document (None for an empty file) into `Settings`.

    A relative `journal.path` (including the default) is joined to `base_dir`, the config file's
    folder, when given. Raises `ConfigError` listing every problem found.
    """
    problems: list[str] = []
    root = _Section(data, _ROOT, _fields(Settings), problems)
    settings = Settings(
        ami=_ami(root.values.get("ami"), problems),
        tracking=_tracking(root.values.get("tracking"), problems),
        journal=_journal(root.values.get("journal"), base_dir, problems),
        log=_log(root.values.get("log"), problems),
    )
    if problems:
        raise ConfigError(problems)
    return settings
