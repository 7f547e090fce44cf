"""The vocabulary of one AMI link: its states, its errors, its address, its listener, its backoff.

Owns the values that :class:`callcenter.ami.client.AmiClient` and its users exchange: what a link
can be (:class:`LinkState`), what can go wrong with it (:class:`AmiError` and its subclasses, each
saying whose fault it was), where it goes (:class:`ServerAddress`, validated on construction with
the config key path), who hears its traffic (:class:`Listener`) and how long to wait before
reconnecting (:func:`reconnect_delay`). Values and pure functions only: no IO, no clock, no
randomness (the caller draws ``rand``).

Must not import asyncio, :mod:`callcenter.ami.client` (the client depends on this module, not the
reverse) or anything of ``callcenter`` outside ``callcenter.ami.codec``.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from callcenter.ami.codec import Banner, Frame, Message

BACKOFF_JITTER = 0.2  # each wait is up to 20 % shorter than its nominal value, never longer


class LinkState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    LOGGING_IN = "logging in"
    UP = "up"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Retrying:
    """A client between attempts: the attempt coming, when (the client's clock), and why the
    last one failed. What ``/healthz`` shows while Asterisk is unreachable."""

    attempt: int
    next_try_at: float
    last_error: str


class AmiError(Exception):
    """Base of every error :class:`~callcenter.ami.client.AmiClient` raises."""


class ListenerBehind(AmiError):
    """Raised by a listener that cannot take data now (its journal refuses writes): the link is
    closed as if lost, and reconnected with the usual back-off; nothing of the data it refused
    was used, and the resync after the next login recovers the state."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AuthenticationFailed(AmiError):
    """Asterisk rejected the login: wrong username or secret, or not permitted from this host."""


class ConnectionLost(AmiError):
    """The link is not up, or it dropped before the response arrived. The action was not re-sent."""


class ActionTimeout(AmiError):
    """No (complete) response within the action's deadline; the action has been forgotten."""


class ActionFailed(AmiError):
    """Asterisk answered ``Response: Error`` (or a list action's response started no list)."""

    def __init__(self, action: str, response: Message, expected: str | None = None) -> None:
        self.action = action
        self.response = response
        self.text = response.get("Message") or ""
        detail = f"expected {expected}, got Response: {response.name}" if expected else "Response: Error"
        super().__init__(f"{action}: {detail}: {self.text or '(no Message header)'}")


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """Where and how to reach one Asterisk server (mapped from the daemon's config)."""

    name: str
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    auth: Literal["md5", "plain"] = "md5"
    events: tuple[str, ...] = ("on",)  # event classes ("call", "agent", ...) or ("on",) / ("off",)
    connect_timeout_s: float = 5.0  # TCP connect + banner + login
    action_timeout_s: float = 10.0
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 5.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    # After a refused login: the operator may fix manager.conf or the secret, so try again, but
    # slowly (each refused login is a security event in Asterisk's log).
    login_retry_s: float = 30.0

    def __post_init__(self) -> None:
        where = f"ami.servers.{self.name}"
        if self.auth not in ("md5", "plain"):
            raise ValueError(f"{where}.auth: expected 'md5' or 'plain', got {self.auth!r}")
        if not self.events:
            raise ValueError(f"{where}.events: expected event classes or ['on'], got none")
        for key in ("connect_timeout_s", "action_timeout_s", "ping_interval_s", "ping_timeout_s"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{where}.{key}: expected seconds > 0, got {getattr(self, key)!r}")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError(
                f"{where}: expected 0 < reconnect_min_s <= reconnect_max_s, "
                f"got {self.reconnect_min_s!r} and {self.reconnect_max_s!r}"
            )


class ListenerStopped(Exception):
    """Raised by a listener that cannot go on for a reason outside the link (say, its journal
    cannot be written). The link stops and its ``run()`` raises ``reason``; logged as an error,
    not as a bug of ours."""

    def __init__(self, reason: Exception) -> None:
        super().__init__(str(reason))
        self.reason = reason


class Listener(Protocol):
    """Where a link's traffic goes. Each call is awaited before the client reads on.

    The order of the calls and what an exception raised here does are rules 1, 2 and 7 of
    :mod:`callcenter.ami.client`.
    """

    def link_up(self, server: str, banner: Banner, at: float) -> Awaitable[None]: ...

    def received(self, server: str, chunk: bytes, frames: list[Frame], at: float) -> Awaitable[None]: ...

    def link_down(self, server: str, reason: str, at: float) -> Awaitable[None]: ...


def reconnect_delay(failures: int, low: float, high: float, rand: float) -> float:
    """Seconds to wait after ``failures`` (>= 1) consecutive failures; ``rand`` is in [0, 1).

    ``low`` after the first, doubling up to ``high``; the jitter only ever shortens the wait.
    """
    nominal = min(high, low * 2.0 ** min(failures - 1, 60))
    return nominal * (1.0 - BACKOFF_JITTER * rand)
