"""The web's HTTP(S) server: uvicorn, embedded in the daemon as one task of its TaskGroup.

:class:`WebServer` opens everything that can fail because of the operator at construction, before
the daemon does anything else: it loads the TLS certificate and key, and binds and listens on
``web.host:web.port``. A problem there is a :class:`WebError` naming the config key, which the
command line prints as one line, not a traceback. ``serve()`` then runs uvicorn on that socket
until ``stop()``: it stops accepting, lets requests in flight finish (up to a few seconds) and
closes every connection.

uvicorn is used without its own signal handling (SIGTERM and SIGINT belong to the daemon, which
calls ``stop()``), without its logging set-up (its records go to the daemon's handlers, at warning
and above: a malformed request is one warning line), with h11 and websockets' sans-IO protocol
for the agents' screens. Keep every uvicorn call in this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from callcenter.config import WebSettings

BACKLOG = 128
GRACEFUL_S = 3  # how long requests in flight may take to finish when the daemon stops


class WebError(Exception):
    """The web cannot start, because of the operator's settings or the host: the message says which key."""


class PortTaken(WebError):
    """Another program already listens on web.host:web.port."""


# A client must send a whole request head within this many seconds: a connection that trickles
# partial headers (a slowloris) is closed, so idle half-requests cannot pile up. Uvicorn's own
# keep-alive timeout covers only the wait between requests.
HEADER_TIMEOUT_S = 5.0


class _HeadsInTime(H11Protocol):
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # still reading a request's head
            if self._head_timer is None:
                self._arm()
        elif self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_timer = asyncio.get_running_loop().call_later(HEADER_TIMEOUT_S, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the daemon owns SIGTERM/SIGINT and calls WebServer.stop()


class WebServer:
    def __init__(self, settings: WebSettings, app: ASGIApp) -> None:
        self.settings = settings
        tls = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            tls = tls_context(settings.tls_cert, settings.tls_key)
        config = uvicorn.Config(
            app,
            http=_HeadsInTime,
            ws="websockets-sansio",  # the agents' screens (DEPENDENCIES.md: no deprecation warnings)
            ws_max_size=65536,  # a screen sends tickets of a few KB: nothing larger is read
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            workers=1,
            forwarded_allow_ips="127.0.0.1,::1",  # a reverse proxy on this host (docs/operations.md §6)
            timeout_graceful_shutdown=GRACEFUL_S,
            ssl_context_factory=None if tls is None else (lambda _config, _default: tls),
        )
        config.load()
        self._socket = listen(settings.host, settings.port)
        self.port: int = self._socket.getsockname()[1]
        self._server = _Server(config)

    @property
    def url(self) -> str:
        """The base URL it answers on, with the port really bound: ``http://127.0.0.1:8080``."""
        return self.settings.url(self.port)

    async def serve(self) -> None:
        """Answer requests until :meth:`stop`; returns once every connection is closed."""
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            self.close()  # if cancelled instead of stopped, uvicorn's shutdown did not run

    def stop(self) -> None:
        self._server.should_exit = True

    def close(self) -> None:
        """Stop listening at once; for a server that never served, or whose serve() was cancelled."""
        for listener in getattr(self._server, "servers", ()):  # set by uvicorn once it serves
            listener.close()
        self._socket.close()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one)."""
    where = f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise WebError(f"web.host: expected an address of this host, got {host!r} ({exc.strerror})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart may rebind at once
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortTaken(
                f"web.port: cannot listen on {where}: another program already does; "
                "stop it or choose another web.port"
            ) from None
        hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" if exc.errno == errno.EACCES else ""
        raise WebError(f"web.host, web.port: cannot listen on {where}: {exc.strerror}{hint}") from None
    return sock


class _Encrypted(Exception):
    pass


def _no_passphrase() -> str:
    raise _Encrypted  # OpenSSL would otherwise ask for it on the terminal, and a service has none


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """The server's TLS context from a PEM certificate (chain) and its unencrypted PEM private key."""
    texts: dict[str, bytes] = {}
    for name, path in (("web.tls_cert", cert), ("web.tls_key", key)):
        try:
            texts[name] = Path(path).read_bytes()
        except OSError as exc:
            raise WebError(f"{name}: cannot read {path!r}: {exc.strerror or exc}") from None
    if b"-----BEGIN CERTIFICATE-----" not in texts["web.tls_cert"]:
        raise WebError(f"web.tls_cert: expected a PEM certificate, got {cert!r} with none in it")
    if b"PRIVATE KEY-----" not in texts["web.tls_key"]:
        raise WebError(f"web.tls_key: expected a PEM private key, got {key!r} with none in it")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # TLS 1.2+, no client certificates
    try:
        context.load_cert_chain(cert, key, password=_no_passphrase)
    except _Encrypted:
        raise WebError(
            f"web.tls_key: expected an unencrypted private key (a service cannot type a passphrase), "
            f"got an encrypted one in {key!r}; decrypt it with `openssl pkey -in KEY -out KEY.plain`"
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise WebError(
                f"web.tls_key: expected the private key of {cert!r}, got another one: {key!r}"
            ) from None
        raise WebError(
            f"web.tls_cert, web.tls_key: OpenSSL cannot use {cert!r} with {key!r}: {exc}"
        ) from None
    except OSError as exc:
        raise WebError(f"web.tls_cert, web.tls_key: cannot read {cert!r} or {key!r}: {exc}") from None
    return context
