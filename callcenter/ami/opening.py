"""Opening one AMI connection: TCP connect, Asterisk's banner, then Challenge and Login.

Everything read before the Login response (and with it) is kept in the connection's backlog,
so that the client hands it to its listener after ``link_up``: nothing after the banner is
missed (rule 1 of :mod:`callcenter.ami.client`). Must not import the rest of ``callcenter``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.ami.codec import Banner, Decoder, EventFilter, Frame, Message, encode_action
from callcenter.ami.link import AuthenticationFailed, ConnectionLost, ServerAddress

READ_SIZE = 65536


@dataclass(eq=False, slots=True)
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    decoder: Decoder = field(default_factory=Decoder)
    backlog: list[tuple[bytes, list[Frame], float]] = field(default_factory=list)  # read during login
    dead_reason: str | None = None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):  # the peer reset a connection we are closing anyway
            await self.writer.wait_closed()


@dataclass(frozen=True, slots=True)
class _Opening:
    addr: ServerAddress
    clock: Callable[[], float]
    next_id: Callable[[], str]


async def open_connection(
    addr: ServerAddress,
    keep_event: EventFilter,
    clock: Callable[[], float],
    next_id: Callable[[], str],
    logging_in: Callable[[], None],
) -> tuple[Connection, Banner]:
    """Connect, read the banner, log in; all within ``addr.connect_timeout_s``. ``logging_in``
    is called once the banner is in. Raises AuthenticationFailed, ConnectionLost, OSError."""
    opening = _Opening(addr, clock, next_id)
    before_banner = _Received()  # what came before the banner was complete (for the message)
    banner: Banner | None = None
    try:
        async with asyncio.timeout(addr.connect_timeout_s):
            reader, writer = await asyncio.open_connection(addr.host, addr.port)
            link = Connection(reader, writer, Decoder(event_filter=keep_event))
            try:
                banner = await _read_banner(link, clock, before_banner)
                logging_in()
                await _login(link, opening)
            except BaseException:
                await link.close()
                raise
    except TimeoutError:
        if banner is not None or not before_banner.connected:
            raise
        raise ConnectionLost(
            f"no AMI banner from {addr.host}:{addr.port} within {addr.connect_timeout_s:g} s "
            f"(got {before_banner.count} bytes: {bytes(before_banner.head)!r})"
        ) from None
    return link, banner


@dataclass(slots=True)
class _Received:
    """Bytes read while waiting for the banner: how many, and the first few for a message."""

    connected: bool = False
    count: int = 0
    head: bytearray = field(default_factory=bytearray)


async def _read_banner(link: Connection, clock: Callable[[], float], before: _Received) -> Banner:
    before.connected = True
    while True:
        chunk = await link.reader.read(READ_SIZE)
        at = clock()
        if not chunk:
            raise ConnectionLost("connection closed before the banner")
        before.count += len(chunk)
        before.head += chunk[: max(0, 60 - len(before.head))]
        frames = link.decoder.feed(chunk)
        if not frames:
            continue
        if not isinstance(frames[0], Banner):
            raise ConnectionLost(f"expected the banner 'Asterisk Call Manager/...', got {frames[0]!r}")
        if len(frames) > 1:  # Asterisk waits for an action, but keep whatever followed the banner
            link.backlog.append((chunk[chunk.index(b"\n") + 1 :], frames[1:], at))
        return frames[0]


async def _login(link: Connection, opening: _Opening) -> None:
    addr = opening.addr
    fields = [("Username", addr.username)]
    if addr.auth == "md5":
        response = await _login_step(link, "Challenge", [("AuthType", "MD5")], opening)
        challenge = response.get("Challenge")
        if not challenge:
            raise ConnectionLost(f"expected a Challenge header in the response, got {response.items}")
        key = hashlib.md5((challenge + addr.secret).encode()).hexdigest()
        fields += [("AuthType", "MD5"), ("Key", key)]
    else:
        fields.append(("Secret", addr.secret))
    fields.append(("Events", ",".join(addr.events)))
    await _login_step(link, "Login", fields, opening)


async def _login_step(
    link: Connection, action: str, fields: list[tuple[str, str]], opening: _Opening
) -> Message:
    """One action of the login, answered before anything else is sent; chunks go to the backlog."""
    action_id = opening.next_id()
    link.writer.write(encode_action(action, [*fields, ("ActionID", action_id)]))
    while True:
        chunk = await link.reader.read(READ_SIZE)
        at = opening.clock()
        if not chunk:
            raise ConnectionLost(f"connection closed by Asterisk before the response to {action}")
        frames = link.decoder.feed(chunk)
        link.backlog.append((chunk, frames, at))
        for frame in frames:
            if isinstance(frame, Message) and not frame.is_event and frame.action_id in (action_id, None):
                if frame.name == "Error":
                    # Asterisk then closes the connection (bad secret: "Authentication failed").
                    text = frame.get("Message") or "(no Message header)"
                    raise AuthenticationFailed(f"{action} as {opening.addr.username!r} rejected: {text}")
                return frame
