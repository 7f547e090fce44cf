"""A minimal Asterisk Manager Interface server over real TCP, for the AMI client tests.

Speaks what Asterisk 22 writes (see tests/traces): the banner line, Login (plain and
MD5 challenge), Ping, Originate, Logoff, QueueStatus as an EventList shaped like
actions_snapshot.jsonl, and ``Response: Error`` for the rest. Test levers: push raw bytes or
events, drop every connection, make sessions silent (read but never answer), delay responses
per action (answered out of order, unlike Asterisk), cut a list response mid-way, refuse
sessions, and count actions by name. The project's AMI simulator will replace it; keep it small.
It deliberately does not use callcenter.ami.codec, so the tests are not circular.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import Counter

from tests.loopback import LoopbackServer

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
CHALLENGE = "123456789"

Pairs = tuple[tuple[str, str], ...]


def wire(*pairs: tuple[str, str]) -> bytes:
    """One AMI message as Asterisk writes it: ``Key: value`` lines, then an empty line."""
    return "".join(f"{key}: {value}\r\n" for key, value in pairs).encode() + b"\r\n"


def event(name: str, *pairs: tuple[str, str]) -> bytes:
    return wire(("Event", name), *pairs)


# QueueStatus in the shape of actions_snapshot.jsonl (one QueueParams, members, a caller).
QUEUE_STATUS: tuple[tuple[str, Pairs], ...] = (
    ("QueueParams", (("Queue", "support"), ("Max", "6"), ("Strategy", "rrmemory"), ("Calls", "1"),
                     ("Holdtime", "4"), ("TalkTime", "4"), ("Completed", "102"), ("Abandoned", "6"),
                     ("ServiceLevel", "20"), ("ServicelevelPerf", "98.0"), ("ServicelevelPerf2", "98.1"),
                     ("Weight", "0"))),
    ("QueueMember", (("Queue", "support"), ("Name", "Ana"), ("Location", "Local/agent1@agents/n"),
                     ("StateInterface", "Local/agent1@agents/n"), ("Membership", "dynamic"),
                     ("Penalty", "0"), ("CallsTaken", "12"), ("LastCall", "1795345946"),
                     ("LastPause", "0"), ("LoginTime", "1795345813"), ("InCall", "1"), ("Status", "2"),
                     ("Paused", "0"), ("PausedReason", ""), ("Wrapuptime", "0"))),
    ("QueueMember", (("Queue", "support"), ("Name", "Bruno"), ("Location", "Local/agent2@agents/n"),
                     ("StateInterface", "Local/agent2@agents/n"), ("Membership", "dynamic"),
                     ("Penalty", "0"), ("CallsTaken", "13"), ("LastCall", "1795345960"),
                     ("LastPause", "1795345835"), ("LoginTime", "1795345813"), ("InCall", "0"),
                     ("Status", "1"), ("Paused", "1"), ("PausedReason", "lunch"), ("Wrapuptime", "0"))),
    ("QueueEntry", (("Queue", "support"), ("Position", "1"), ("Channel", "Local/600@support-000000e4;2"),
                    ("Uniqueid", "1795345954.457"), ("CallerIDNum", "+5491155551114"),
                    ("CallerIDName", "Martina 14"), ("ConnectedLineNum", "+5491155551114"),
                    ("ConnectedLineName", "Martina 14"), ("Wait", "7"), ("Priority", "0"))),
)  # fmt: skip


class Session:
    """One client connection."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.sent = bytearray()  # everything written, banner included
        self.logged_in = False
        self.silent = False
        self.challenge: str | None = None

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.sent += data
            self.writer.write(data)

    def drop(self) -> None:
        self.writer.transport.abort()


class FakeAmi(LoopbackServer):
    """``async with FakeAmi() as ami:`` listens on 127.0.0.1 at ``ami.port``."""

    def __init__(self, *, username: str = "lab", secret: str = "labsecret") -> None:
        super().__init__()
        self.username = username
        self.secret = secret
        self.actions: Counter[str] = Counter()
        self.logins: list[dict[str, str]] = []  # headers of every Login, accepted or not
        self.accepted = 0
        self.connections = 0
        self.sessions: list[Session] = []  # open ones
        self.refuse = False  # close new connections before the banner
        self.delays: dict[str, float] = {}  # action name -> seconds before its response
        self.cut_list_after: int | None = None  # drop the connection after this many list events

    # -- test levers ----------------------------------------------------------------------------

    async def push(self, data: bytes) -> None:
        """Write raw bytes (events, or anything else) to every logged-in session."""
        for session in self.sessions:
            if session.logged_in:
                session.write(data)
                await session.writer.drain()

    def _drop_sessions(self) -> None:
        self.drop_all()

    def drop_all(self) -> None:
        for session in list(self.sessions):
            session.drop()

    def silence(self) -> None:
        """Open sessions keep their socket but never answer again (a half-open link)."""
        for session in self.sessions:
            session.silent = True

    # -- serving ---------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        session = Session(writer)
        try:
            if self.refuse:
                return
            self.sessions.append(session)
            session.write(BANNER)
            buf = b""
            while data := await reader.read(4096):
                buf += data
                while b"\r\n\r\n" in buf:
                    raw, buf = buf.split(b"\r\n\r\n", 1)
                    if not await self._handle(session, _parse(raw)):
                        return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if session in self.sessions:
                self.sessions.remove(session)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _handle(self, session: Session, headers: dict[str, str]) -> bool:
        """Answer one action; False when the session must end."""
        name = headers.get("action", "")
        self.actions[name] += 1
        if session.silent:
            return True
        delay = self.delays.get(name)
        if delay:
            task = asyncio.create_task(self._later(delay, session, name, headers), name=f"fakeami-{name}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return True
        return await self._answer(session, name, headers)

    async def _later(self, delay: float, session: Session, name: str, headers: dict[str, str]) -> None:
        await asyncio.sleep(delay)
        if not session.silent and not await self._answer(session, name, headers):
            session.drop()

    async def _answer(self, session: Session, name: str, headers: dict[str, str]) -> bool:
        aid = (("ActionID", headers["actionid"]),) if "actionid" in headers else ()
        lname = name.lower()
        keep = True
        if lname == "login":
            keep = self._login(session, headers, aid)
        elif lname == "challenge":
            if headers.get("authtype", "").lower() == "md5":
                session.challenge = CHALLENGE
                session.write(wire(("Response", "Success"), *aid, ("Challenge", CHALLENGE)))
            else:
                session.write(wire(("Response", "Error"), *aid, ("Message", "Must specify AuthType")))
        elif lname == "logoff":
            session.write(wire(("Response", "Goodbye"), *aid, ("Message", "Thanks for all the fish.")))
            keep = False
        elif not session.logged_in:
            session.write(wire(("Response", "Error"), *aid, ("Message", "Permission denied")))
        elif lname == "ping":
            stamp = f"{time.time():.6f}"
            session.write(wire(("Response", "Success"), *aid, ("Ping", "Pong"), ("Timestamp", stamp)))
        elif lname == "originate":
            session.write(wire(("Response", "Success"), *aid, ("Message", "Originate successfully queued")))
        elif lname == "queuestatus":
            keep = await self._queue_status(session, aid)
        else:
            session.write(wire(("Response", "Error"), *aid, ("Message", "Invalid/unknown command")))
        with contextlib.suppress(ConnectionError):
            await session.writer.drain()
        return keep

    def _login(self, session: Session, headers: dict[str, str], aid: Pairs) -> bool:
        self.logins.append(headers)
        if headers.get("authtype", "").lower() == "md5":
            expected = hashlib.md5(f"{session.challenge}{self.secret}".encode()).hexdigest()
            ok = session.challenge is not None and headers.get("key") == expected
        else:
            ok = headers.get("secret") == self.secret
        if not ok or headers.get("username") != self.username:
            session.write(wire(("Response", "Error"), *aid, ("Message", "Authentication failed")))
            return False  # Asterisk closes the connection after a failed login
        session.logged_in = True
        self.accepted += 1
        session.write(wire(("Response", "Success"), *aid, ("Message", "Authentication accepted")))
        if headers.get("events", "on").lower() != "off":
            session.write(
                event("FullyBooted", ("Privilege", "system,all"), ("Uptime", "0"), ("LastReload", "0"),
                      ("Status", "Fully Booted"))
            )  # fmt: skip
        return True

    async def _queue_status(self, session: Session, aid: Pairs) -> bool:
        session.write(
            wire(
                ("Response", "Success"), *aid, ("EventList", "start"), ("Message", "Queue status will follow")
            )
        )
        for i, (name, pairs) in enumerate(QUEUE_STATUS):
            if i == self.cut_list_after:
                await session.writer.drain()
                return False
            session.write(event(name, *pairs, *aid))
        session.write(
            event(
                "QueueStatusComplete", *aid, ("EventList", "Complete"), ("ListItems", str(len(QUEUE_STATUS)))
            )
        )
        return True


def _parse(raw: bytes) -> dict[str, str]:
    """An action's headers, keys lower-cased (Asterisk's astman_get_header is case-insensitive)."""
    headers: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    return headers
