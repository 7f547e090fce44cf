"""The daemon's settings: what an operator may configure, and its defaults, section by section.

This module owns the settings types (frozen, slotted dataclasses) and the validator that turns a
parsed YAML document into them; `callcenter.config_rules` holds the generic machinery (reading
the file, `ConfigError`, the converters, `Section`). Nothing else reads YAML or the environment
for settings; the rest of the daemon receives a `Settings` value at start-up.

Rules:
- An operator's mistake stops start-up with a `ConfigError` listing every problem at once, each as
  `<key path>: <message>`, e.g. `ami.servers[0].port: expected an integer 1-65535, got 'abc'`.
- Nothing is silently ignored or guessed: unknown keys (typos), keys given twice, strings where numbers
  belong and `1` where `true` belongs are all reported. (Integers are accepted for durations, and a
  bare YAML `events: on`, which YAML reads as true, means Asterisk's "on".)
- Secrets (`ami.servers[].secret`, `web.api_token`, `web.agent_token`, `mqtt.password`, a
  password in `journal.url`) never appear in a problem, a repr or a log line.
- Only the standard library, PyYAML, `callcenter.pgurl` and `callcenter.cti.tickets` (both
  pure) are imported here. The IO is
  `load_settings` reading the file, and checking that the TLS files named in `web` can be opened
  (so `check-config` catches a wrong path). Whether psycopg is installed is the journal's concern,
  checked when it opens; whether the TLS files hold a matching certificate and key, the web's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter import config_rules as rules
from callcenter.config_rules import ConfigError as ConfigError  # re-exported: callers catch it from here
from callcenter.config_rules import read_yaml
from callcenter.cti.tickets import DEFAULT_CATEGORIES
from callcenter.pgurl import is_postgres_url, looks_like_url, redact

AuthMethod = Literal["md5", "plain"]
LogLevel = Literal["debug", "info", "warning", "error"]

AUTH_METHODS: tuple[AuthMethod, ...] = ("md5", "plain")
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
JournalFailure = Literal["reconnect", "stop"]
JOURNAL_FAILURES: tuple[JournalFailure, ...] = ("reconnect", "stop")
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
    # A restarted Asterisk must be seen within ~2 s of answering: retrying a refused localhost
    # connection every 2 s costs nothing, a 30 s back-off left the daemon blind for 7 s of calls.
    reconnect_max_s: float = 2.0
    # After Asterisk refused the login (wrong secret, manager.conf): try again this often.
    login_retry_s: float = 30.0
    # How often to check the tracked calls against Asterisk's own status (QueueStatus +
    # CoreShowChannels) on a link that stays up: calls whose end never came are closed.
    status_check_s: float = 300.0
    # Asterisk's queue_log, when this host can read it: after a gap (the daemon down, the link
    # lost) the calls of the gap are filled in from it into the store (callcenter backfill).
    queue_log: str | None = None


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
    # When an append fails (disk full, database gone): "reconnect" closes the AMI links and tries
    # again with the usual back-off, resynchronising from Asterisk's status when the journal
    # takes writes again; "stop" stops the daemon (exit 1), for a supervisor to handle.
    on_failure: JournalFailure = "reconnect"
    # Keep rows this many days once a checkpoint and the store cover them; None: keep everything.
    retention_days: float | None = None

    @property
    def where(self) -> str:
        """Where the journal is, for logs and check-config (never a password)."""
        if not self.enabled:
            return "off"
        return f"PostgreSQL {redact(self.url)}" if self.url else f"SQLite {self.path}"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSettings:
    """Finished stints and agent changes for analysts: an SQLite file at `path` (the default), or
    a PostgreSQL database when `url` is set (it may be the journal's database)."""

    enabled: bool = True
    path: str = "data/store.sqlite3"
    url: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        """Where the store is, for logs and check-config (never a password)."""
        if not self.enabled:
            return "off"
        return f"PostgreSQL {redact(self.url)}" if self.url else f"SQLite {self.path}"

    @property
    def target(self) -> str:
        """What :func:`callcenter.store.open_store` takes."""
        return self.url or self.path


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteSettings:
    """The help desk's clock: the live figures show its day and its current interval."""

    timezone: str | None = None  # IANA name; None: the machine's
    day_starts_at: str = "00:00"
    interval_min: int = 30

    @property
    def day_start_min(self) -> int:
        hours, minutes = self.day_starts_at.split(":")
        return int(hours) * 60 + int(minutes)


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketSettings:
    """What the agents' ticket form offers and the resolution times agreed per priority."""

    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    resolve_hours: tuple[float, float, float, float, float] = (4.0, 8.0, 24.0, 72.0, 120.0)  # P1 … P5

    @property
    def hours_by_priority(self) -> dict[str, float]:
        return {f"P{i}": h for i, h in enumerate(self.resolve_hours, 1)}


@dataclass(frozen=True, slots=True, kw_only=True)
class WallboardSettings:
    """The supervisors' alert thresholds (callcenter.wallboard.alerts)."""

    max_waiting: int = 5  # callers waiting in one queue
    max_wait_s: float = 60.0  # the longest wait in a queue
    target_pct: float = 80.0  # today's service level under it
    min_offered: int = 10  # ... once the day has this many calls
    max_pause_min: float = 15.0  # an agent's pause


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttSettings:
    """The live feed on an MQTT broker (callcenter.mqtt): off unless enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "callcenter"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    level: LogLevel = "info"
    figures_interval_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """The daemon's HTTP server (health check, live figures). HTTPS when tls_cert and tls_key are set;
    `/api/*` needs `Authorization: Bearer <api_token>` when a token is set."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8080  # 0: any free port, chosen when the daemon starts
    tls_cert: str | None = None  # PEM files; both or neither
    tls_key: str | None = None
    api_token: str | None = field(default=None, repr=False)  # settings get logged; the token must not be
    # the agents' screens' own token: it opens /ws/agent only (not the API, exports nor the wallboard)
    agent_token: str | None = field(default=None, repr=False)

    @property
    def scheme(self) -> Literal["http", "https"]:
        return "https" if self.tls_cert is not None else "http"

    def url(self, port: int | None = None) -> str:
        """The base URL, `http://127.0.0.1:8080`; `port` is the one really bound (when `port` is 0)."""
        return f"{self._origin}:{self.port if port is None else port}"

    @property
    def _origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{self.scheme}://{host}"

    @property
    def where(self) -> str:
        """Where the web listens, for check-config (never the token)."""
        if not self.enabled:
            return "off"
        where = self.url() if self.port else f"{self._origin} (a free port, chosen at start)"
        return where + ("; /api needs the bearer token" if self.api_token else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    ami: AmiSettings = field(default_factory=AmiSettings)
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    journal: JournalSettings = field(default_factory=JournalSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    site: SiteSettings = field(default_factory=SiteSettings)
    log: LogSettings = field(default_factory=LogSettings)
    web: WebSettings = field(default_factory=WebSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    wallboard: WallboardSettings = field(default_factory=WallboardSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)


def default_settings() -> Settings:
    return Settings()


def load_settings(path: str | Path) -> Settings:
    """Read and validate the config file at `path`; relative paths inside it are relative to its folder."""
    path = Path(path)
    return parse_settings(read_yaml(path), base_dir=path.absolute().parent)


# --- validation -------------------------------------------------------------------------------------


def _server_name(value: object) -> str:
    if not isinstance(value, str) or not SERVER_NAME.fullmatch(value):
        raise rules.Invalid(f"expected 1-40 letters, digits, '_', '.' or '-', got {rules.show(value)}")
    return value


def _events(value: object, path: str, problems: list[str]) -> tuple[str, ...] | None:
    # An unquoted `events: on` is YAML 1.1's boolean true; the operator meant Asterisk's "on".
    if value == "on" or value is True:
        return ("on",)
    if not isinstance(value, list) or not value:
        problems.append(
            f"{path}: expected a non-empty list of AMI event classes or 'on', got {rules.show(value)}"
        )
        return None
    ok = True
    for index, item in enumerate(value):
        if item not in AMI_EVENT_CLASSES:
            ok = False
            choices = ", ".join(AMI_EVENT_CLASSES)
            problems.append(
                f"{path}[{index}]: expected an AMI event class ({choices}), got {rules.show(item)}"
            )
    return tuple(value) if ok else None


def _ami_server(raw: object, path: str, first_seen: dict[str, str], problems: list[str]) -> AmiServer | None:
    """One `ami.servers[i]` entry; None if it cannot be built. `first_seen` maps names to their paths."""
    section = rules.Section(raw, path, rules.field_names(AmiServer), problems)
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
    host = section.get("host", d.host, rules.text())
    port = section.get("port", d.port, rules.integer(1, 65535))
    username = section.require("username", rules.text())
    secret = section.require("secret", rules.text(hidden=True))
    auth = section.get("auth", d.auth, rules.choice(AUTH_METHODS))
    events = d.events
    if "events" in section.values:
        events = _events(section.values["events"], rules.child(path, "events"), problems) or d.events
    positive = rules.number(above=0)
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
        login_retry_s=section.get("login_retry_s", d.login_retry_s, positive),
        status_check_s=section.get("status_check_s", d.status_check_s, rules.number(at_least=10)),
        queue_log=section.get("queue_log", None, rules.optional(rules.text())),
    )
    _check_order(section, server, "ping_timeout_s", "<", "ping_interval_s")
    _check_order(section, server, "reconnect_min_s", "<=", "reconnect_max_s")
    return server if name and username and secret else None


def _check_order(section: rules.Section, server: AmiServer, small: str, relation: str, large: str) -> None:
    """A rule between two keys, checked only when both values are valid on their own."""
    if section.bad & {small, large}:
        return
    low, high = getattr(server, small), getattr(server, large)
    if low > high or (relation == "<" and low == high):
        got = rules.show(section.values.get(small, low))
        section.problem(small, f"expected a number {relation} {large} ({high:g}), got {got}")


def _ami(raw: object, problems: list[str]) -> AmiSettings:
    section = rules.Section(raw, "ami", rules.field_names(AmiSettings), problems)
    raw_servers = section.values.get("servers")
    if raw_servers is None:
        return AmiSettings()
    if not isinstance(raw_servers, list):
        section.problem("servers", f"expected a list of servers, got {rules.show(raw_servers)}")
        return AmiSettings()
    first_seen: dict[str, str] = {}
    servers = (
        _ami_server(raw, f"ami.servers[{i}]", first_seen, problems) for i, raw in enumerate(raw_servers)
    )
    return AmiSettings(servers=tuple(server for server in servers if server is not None))


def _tracking(raw: object, problems: list[str]) -> TrackingSettings:
    section = rules.Section(raw, "tracking", rules.field_names(TrackingSettings), problems)
    d = TrackingSettings()
    servicelevel = rules.integer(0, SERVICELEVEL_MAX_S)
    optional_servicelevel = rules.optional(servicelevel)
    queues: dict[str, QueueSettings] = {}
    raw_queues = section.values.get("queues")
    if raw_queues is not None and not isinstance(raw_queues, dict):
        section.problem(
            "queues", f"expected a mapping of queue name to settings, got {rules.show(raw_queues)}"
        )
    for name, raw_queue in (raw_queues if isinstance(raw_queues, dict) else {}).items():
        path = rules.child("tracking.queues", name)
        if not isinstance(name, str) or not name:
            # Queue "500" written unquoted is the integer 500 (and 0500 would be octal 320).
            hint = " (quote it in YAML)" if rules.is_number(name) else ""
            problems.append(
                f"{path}: expected a queue name as a non-empty string{hint}, got {rules.show(name)}"
            )
            continue
        queue = rules.Section(raw_queue, path, rules.field_names(QueueSettings), problems)
        queues[name] = QueueSettings(
            servicelevel_s=queue.get("servicelevel_s", None, optional_servicelevel),
            wrapup_s=queue.get("wrapup_s", None, rules.optional(rules.integer(0, SERVICELEVEL_MAX_S))),
        )
    return TrackingSettings(
        short_abandon_s=section.get("short_abandon_s", d.short_abandon_s, rules.number(at_least=0)),
        default_servicelevel_s=section.get("default_servicelevel_s", d.default_servicelevel_s, servicelevel),
        queues=queues,
    )


def _postgres_url(value: object) -> str:
    url = rules.text()(value)
    if not is_postgres_url(url):
        hint = "" if looks_like_url(url) else " (an SQLite file goes in journal.path)"
        raise rules.Invalid(
            f"expected a postgresql:// or postgres:// URL{hint}, got {rules.show(redact(url))}"
        )
    return url


def _journal(raw: object, base_dir: Path | None, problems: list[str]) -> JournalSettings:
    section = rules.Section(raw, "journal", rules.field_names(JournalSettings), problems)
    d = JournalSettings()
    path = section.get("path", d.path, rules.text())
    if base_dir is not None:
        path = str(base_dir / path)  # an absolute `path` stays as it is
    url = section.get("url", None, rules.optional(_postgres_url))  # an empty `url:` means SQLite
    if url is not None and "path" in section.values:
        problems.append("journal: expected journal.path (SQLite) or journal.url (PostgreSQL), got both")
    return JournalSettings(
        enabled=section.get("enabled", d.enabled, rules.boolean),
        path=path,
        url=url,
        on_failure=section.get("on_failure", d.on_failure, rules.choice(JOURNAL_FAILURES)),
        retention_days=section.get("retention_days", None, rules.optional(rules.number(above=0))),
    )


def _store(
    raw: object, base_dir: Path | None, journal: JournalSettings, problems: list[str]
) -> StoreSettings:
    section = rules.Section(raw, "store", rules.field_names(StoreSettings), problems)
    d = StoreSettings()
    if "path" in section.values:
        path = section.get("path", d.path, rules.text())
        if base_dir is not None:
            path = str(base_dir / path)
    else:  # beside the journal (its folder holds the site's data)
        path = str(Path(journal.path).parent / Path(d.path).name)
    url = section.get("url", None, rules.optional(_postgres_url))
    if url is not None and "path" in section.values:
        problems.append("store: expected store.path (SQLite) or store.url (PostgreSQL), got both")
    return StoreSettings(enabled=section.get("enabled", d.enabled, rules.boolean), path=path, url=url)


def _zone(value: object) -> str:
    name = rules.text()(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise rules.Invalid(
            f"expected an IANA time zone such as America/Bogota, got {rules.show(name)}"
        ) from exc
    return name


def _clock(value: object) -> str:
    text = rules.text()(value)
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise rules.Invalid(f"expected a time of day HH:MM, got {rules.show(text)}")
    return f"{int(hours):02d}:{int(minutes):02d}"


def _interval(value: object) -> int:
    if isinstance(value, bool) or value not in (15, 30, 60):
        raise rules.Invalid(f"expected 15, 30 or 60 (minutes), got {rules.show(value)}")
    return int(value)


def _site(raw: object, problems: list[str]) -> SiteSettings:
    section = rules.Section(raw, "site", rules.field_names(SiteSettings), problems)
    d = SiteSettings()
    return SiteSettings(
        timezone=section.get("timezone", d.timezone, rules.optional(_zone)),
        day_starts_at=section.get("day_starts_at", d.day_starts_at, _clock),
        interval_min=section.get("interval_min", d.interval_min, _interval),
    )


def _categories(value: object) -> tuple[str, ...]:
    names = value if isinstance(value, list) else None
    if not names or not all(isinstance(n, str) and n.strip() and len(n) <= 80 for n in names):
        raise rules.Invalid(f"expected a list of names of 1-80 characters, got {rules.show(value)}")
    if len(set(names)) != len(names):
        raise rules.Invalid("expected each category once, got one twice")
    return tuple(n.strip() for n in names)


def _resolve_hours(value: object) -> tuple[float, float, float, float, float]:
    hours = value if isinstance(value, list) else None
    if hours is None or len(hours) != 5 or not all(rules.is_number(h) and 0 < h < 10_000 for h in hours):
        raise rules.Invalid(f"expected 5 hours > 0 (P1 to P5), got {rules.show(value)}")
    if any(a > b for a, b in itertools.pairwise(hours)):
        raise rules.Invalid(f"expected P1's hours <= P2's <= ... <= P5's, got {rules.show(value)}")
    h = [float(x) for x in hours]
    return h[0], h[1], h[2], h[3], h[4]


def _tickets(raw: object, problems: list[str]) -> TicketSettings:
    section = rules.Section(raw, "tickets", rules.field_names(TicketSettings), problems)
    d = TicketSettings()
    return TicketSettings(
        categories=section.get("categories", d.categories, _categories),
        resolve_hours=section.get("resolve_hours", d.resolve_hours, _resolve_hours),
    )


def _wallboard(raw: object, problems: list[str]) -> WallboardSettings:
    section = rules.Section(raw, "wallboard", rules.field_names(WallboardSettings), problems)
    d = WallboardSettings()
    return WallboardSettings(
        max_waiting=section.get("max_waiting", d.max_waiting, rules.integer(1, 10_000)),
        max_wait_s=section.get("max_wait_s", d.max_wait_s, rules.number(above=0)),
        target_pct=section.get("target_pct", d.target_pct, rules.number(above=0)),
        min_offered=section.get("min_offered", d.min_offered, rules.integer(0, 1_000_000)),
        max_pause_min=section.get("max_pause_min", d.max_pause_min, rules.number(above=0)),
    )


_TOPIC_PREFIX = re.compile(r"[^/+#\s]+(/[^/+#\s]+)*")


def _topic_prefix(value: object) -> str:
    text = rules.text()(value)
    if not _TOPIC_PREFIX.fullmatch(text):
        raise rules.Invalid(
            f"expected topic levels without +, #, spaces or empty levels, got {rules.show(value)}"
        )
    return text


def _mqtt(raw: object, problems: list[str]) -> MqttSettings:
    section = rules.Section(raw, "mqtt", rules.field_names(MqttSettings), problems)
    d = MqttSettings()
    return MqttSettings(
        enabled=section.get("enabled", d.enabled, rules.boolean),
        host=section.get("host", d.host, rules.text()),
        port=section.get("port", d.port, rules.integer(1, 65535)),
        prefix=section.get("prefix", d.prefix, _topic_prefix),
        username=section.get("username", None, rules.optional(rules.text())),
        password=section.get("password", None, rules.optional(rules.text(hidden=True))),
    )


def _log(raw: object, problems: list[str]) -> LogSettings:
    section = rules.Section(raw, "log", rules.field_names(LogSettings), problems)
    d = LogSettings()
    return LogSettings(
        level=section.get("level", d.level, rules.choice(LOG_LEVELS)),
        figures_interval_s=section.get("figures_interval_s", d.figures_interval_s, rules.number(above=0)),
    )


_API_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]{16,}=*")  # RFC 6750's b64token, long enough to guess badly
API_TOKEN_RULE = "at least 16 characters from A-Z a-z 0-9 - . _ ~ + / (e.g. `openssl rand -hex 32`)"


def _api_token(value: object) -> str:
    token = rules.text(hidden=True)(value)
    if not _API_TOKEN.fullmatch(token):
        got = f"{len(token)} characters" if len(token) < 16 else "a character outside that set"
        raise rules.Invalid(f"expected {API_TOKEN_RULE}, got {got}")
    return token


def _web(raw: object, base_dir: Path | None, problems: list[str]) -> WebSettings:
    section = rules.Section(raw, "web", rules.field_names(WebSettings), problems)
    d = WebSettings()
    pem = rules.optional(rules.readable_file(base_dir, "a PEM file"))
    tls_cert = section.get("tls_cert", None, pem)
    tls_key = section.get("tls_key", None, pem)
    given = [key for key in ("tls_cert", "tls_key") if section.values.get(key) is not None]
    if len(given) == 1:
        both = "both web.tls_cert and web.tls_key (HTTPS) or neither (HTTP)"
        problems.append(f"web: expected {both}, got only web.{given[0]}")
    return WebSettings(
        enabled=section.get("enabled", d.enabled, rules.boolean),
        host=section.get("host", d.host, rules.text()),
        port=section.get("port", d.port, rules.integer(0, 65535)),
        tls_cert=tls_cert if tls_key is not None else None,
        tls_key=tls_key if tls_cert is not None else None,
        api_token=(api_token := section.get("api_token", None, rules.optional(_api_token))),
        agent_token=_agent_token(section, api_token, problems),
    )


def _agent_token(section: rules.Section, api_token: str | None, problems: list[str]) -> str | None:
    token = section.get("agent_token", None, rules.optional(_api_token))
    if token is not None and api_token is None:
        problems.append("web.agent_token: set web.api_token too (without it every page is open)")
    elif token is not None and token == api_token:
        problems.append("web.agent_token: expected a token of its own, got web.api_token's")
    return token


def parse_settings(data: object, *, base_dir: Path | None = None) -> Settings:
    """Validate a parsed YAML document (None for an empty file) into `Settings`.

    A relative `journal.path` or `store.path` (including the defaults), `web.tls_cert` or
    `web.tls_key` is joined to `base_dir`, the config file's folder, when given. Raises
    `ConfigError` listing every problem found.
    """
    problems: list[str] = []
    root = rules.Section(data, rules.ROOT, rules.field_names(Settings), problems)
    settings = Settings(
        ami=_ami(root.values.get("ami"), problems),
        tracking=_tracking(root.values.get("tracking"), problems),
        journal=(journal := _journal(root.values.get("journal"), base_dir, problems)),
        store=_store(root.values.get("store"), base_dir, journal, problems),
        site=_site(root.values.get("site"), problems),
        log=_log(root.values.get("log"), problems),
        web=_web(root.values.get("web"), base_dir, problems),
        tickets=_tickets(root.values.get("tickets"), problems),
        wallboard=_wallboard(root.values.get("wallboard"), problems),
        mqtt=_mqtt(root.values.get("mqtt"), problems),
    )
    if problems:
        raise ConfigError(problems)
    return settings
