"""The simulator's AMI server over real TCP, against a scripted PBX (tests/sim_fakes.py).

Peers are our own AmiClient (callcenter.ami.client) and a raw socket that compares bytes with what
Asterisk 22 wrote in tests/traces. Virtual time follows a fake wall clock the tests move by hand,
except in the pacing test; an action that reaches the PBX (Setvar) is the barrier: the server
advances the PBX before answering it, so everything due is on the wire before its response.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.codec import Anomaly, Banner, Frame, Message
from callcenter.ami.link import ActionFailed, AuthenticationFailed, ServerAddress
from callcenter.simulator.manager import ALL, NONE, ActionFields, ActionReader, parse_event_mask
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.server import AmiServer, ServerOptions
from callcenter.simulator.wire import ActionReply, AmiEvent
from tests.asterisk_truth import stream
from tests.sim_fakes import T0, ScriptedPbx

TRACES = Path(__file__).parent / "traces"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
WALL0 = 1000.0


class FakeClock:
    def __init__(self) -> None:
        self.t = WALL0

    def __call__(self) -> float:
        return self.t


def wire(*pairs: tuple[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def pairs(raw: bytes) -> list[tuple[str, str]]:
    out = []
    for line in raw.decode().split("\r\n"):
        if line:
            key, _, value = line.partition(": ")
            out.append((key, value))
    return out


def ev(at: float, name: str, privilege: str, *headers: tuple[str, str]) -> AmiEvent:
    return AmiEvent(at, name, privilege, headers)


class Raw:
    """A peer that speaks bytes: no codec of ours in the way."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = b""

    @classmethod
    async def connect(cls, server: AmiServer) -> Raw:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        return cls(reader, writer)

    def send(self, *fields: tuple[str, str]) -> None:
        self.writer.write(wire(*fields))

    async def banner(self) -> bytes:
        async with asyncio.timeout(5):
            while b"\r\n" not in self.buf:
                self.buf += await self.reader.read(65536)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    async def read(self, timeout: float = 5.0) -> bytes:
        """One whole message, its empty line included."""
        async with asyncio.timeout(timeout):
            while b"\r\n\r\n" not in self.buf:
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise EOFError(f"connection closed; unread: {self.buf!r}")
                self.buf += chunk
        message, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return message + b"\r\n\r\n"

    async def read_through(self, last: Callable[[bytes], bool]) -> list[bytes]:
        async with asyncio.timeout(30):
            out = [await self.read()]
            while not last(out[-1]):
                out.append(await self.read())
        return out

    async def barrier(self, action_id: str) -> list[bytes]:
        """Everything before the response to a PBX action sent now (events due are sent first)."""
        self.send(("Action", "Setvar"), ("ActionID", action_id), ("Variable", "X"))
        got = await self.read_through(lambda m: m.startswith(b"Response:") and action_id.encode() in m)
        return got[:-1]

    async def login(self, events: str = "on") -> list[bytes]:
        assert await self.banner() == BANNER
        fields = [
            ("Action", "Login"),
            ("ActionID", "L"),
            ("Username", "callcenter"),
            ("Secret", "callcenter"),
        ]
        self.send(*fields, *([("Events", events)] if events else []))
        first = await self.read()
        assert first == wire(
            ("Response", "Success"), ("ActionID", "L"), ("Message", "Authentication accepted")
        )
        return [first]

    async def at_eof(self) -> bool:
        async with asyncio.timeout(5):
            try:
                return await self.reader.read(65536) == b""
            except ConnectionResetError:
                return True

    async def close(self) -> None:
        self.writer.close()
        with suppress(ConnectionError):
            await self.writer.wait_closed()


class Collector:
    """An AmiClient Listener keeping every frame."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.ups = 0
        self.downs: list[str] = []

    async def link_up(self, server: str, banner: Banner, at: float) -> None:
        self.ups += 1

    async def received(self, server: str, chunk: bytes, frames: list[Frame], at: float) -> None:
        self.frames.extend(frames)

    async def link_down(self, server: str, reason: str, at: float) -> None:
        self.downs.append(reason)

    def events(self, *skip: str) -> list[Message]:
        return [f for f in self.frames if isinstance(f, Message) and f.is_event and f.name not in skip]

    def names(self) -> list[str]:
        return [m.name for m in self.events("FullyBooted")]


def listening(server: AmiServer) -> bool:
    try:
        return server.port > 0
    except RuntimeError:  # not listening yet
        return False


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


@asynccontextmanager
async def serving(
    pbx: ScriptedPbx | None = None,
    *,
    clock: Callable[[], float] | None = None,
    queue_log: Path | None = None,
    pbx_restart: Callable[[], None] | None = None,
    **options: Any,
) -> AsyncIterator[AmiServer]:
    server = AmiServer(
        pbx or ScriptedPbx(),
        ServerOptions(port=0, **options),
        queue_log=queue_log,
        clock=clock or FakeClock(),
        pbx_restart=pbx_restart,
    )
    async with server:
        yield server


def address(server: AmiServer, name: str = "c1", **overrides: Any) -> ServerAddress:
    settings: dict[str, Any] = {
        "name": name,
        "host": "127.0.0.1",
        "port": server.port,
        "username": "callcenter",
        "secret": "callcenter",
        "auth": "plain",
        "connect_timeout_s": 5.0,
        "action_timeout_s": 5.0,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
    }
    settings.update(overrides)
    return ServerAddress(**settings)


@asynccontextmanager
async def client(
    server: AmiServer, name: str = "c1", **overrides: Any
) -> AsyncIterator[tuple[AmiClient, Collector]]:
    collector = Collector()
    ami = AmiClient(address(server, name, **overrides), collector)
    task = asyncio.create_task(ami.run(), name=f"test-client-{name}")
    try:
        await ami.wait_up(5)
        yield ami, collector
    finally:
        await ami.stop()
        await task


# -- login ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_login_then_fully_booted_as_asterisk_writes_it(auth: str) -> None:
    async with serving() as server, client(server, auth=auth) as (_, seen):
        await until(lambda: seen.events())
        (booted,) = seen.events()
        # o_reconnect.client.jsonl: no Timestamp on FullyBooted, even with timestampevents=yes
        assert booted.items == [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", "0"),
            ("LastReload", "0"),
            ("Status", "Fully Booted"),
        ]
        (info,) = server.sessions
        assert info.logged_in and info.event_classes is ALL


async def test_md5_challenge_and_key_on_the_wire() -> None:
    async with serving() as server:
        raw = await Raw.connect(server)
        assert await raw.banner() == BANNER
        raw.send(("Action", "Challenge"), ("ActionID", "1"))
        assert await raw.read() == wire(
            ("Response", "Error"), ("ActionID", "1"), ("Message", "Must specify AuthType")
        )
        raw.send(("Action", "Challenge"), ("ActionID", "2"), ("AuthType", "MD5"))
        reply = pairs(await raw.read())
        assert [k for k, _ in reply] == ["Response", "ActionID", "Challenge"] and reply[0][1] == "Success"
        challenge = reply[2][1]
        assert challenge.isdigit()
        key = hashlib.md5((challenge + "callcenter").encode()).hexdigest()
        raw.send(("Action", "Login"), ("Username", "callcenter"), ("AuthType", "MD5"), ("Key", key))
        assert await raw.read() == wire(("Response", "Success"), ("Message", "Authentication accepted"))
        assert (await raw.read()).startswith(b"Event: FullyBooted\r\n")
        await raw.close()


async def test_wrong_secret_fails_after_a_second_and_the_server_closes() -> None:
    async with serving() as server:
        collector = Collector()
        ami = AmiClient(address(server, secret="wrong"), collector)
        started = time.monotonic()
        running = asyncio.create_task(ami.run())
        with pytest.raises(AuthenticationFailed, match="Authentication failed"):
            await ami.wait_up(5)  # raises once the first attempt was refused
        assert time.monotonic() - started >= 0.9  # manager.c: sleep(1) before answering
        await until(lambda: not server.sessions)
        await ami.stop()
        await running


async def test_wrong_username_bytes_then_eof() -> None:
    async with serving() as server:
        raw = await Raw.connect(server)
        assert await raw.banner() == BANNER
        raw.send(("Action", "Login"), ("ActionID", "1"), ("Username", "nobody"), ("Secret", "callcenter"))
        assert await raw.read() == wire(
            ("Response", "Error"), ("ActionID", "1"), ("Message", "Authentication failed")
        )
        assert await raw.at_eof()
        await raw.close()


async def test_permission_denied_before_login_and_the_connection_stays() -> None:
    pbx = ScriptedPbx()
    async with serving(pbx) as server:
        raw = await Raw.connect(server)
        assert await raw.banner() == BANNER
        for action in ("QueueStatus", "Ping", "Events", "NoSuchThing"):
            raw.send(("Action", action), ("ActionID", action))
            assert await raw.read() == wire(
                ("Response", "Error"), ("ActionID", action), ("Message", "Permission denied")
            )
        raw.send(("Action", "Login"), ("Username", "CallCenter"), ("Secret", "callcenter"))  # strcasecmp
        assert await raw.read() == wire(("Response", "Success"), ("Message", "Authentication accepted"))
        assert pbx.actions == []
        await raw.close()


async def test_logoff_says_goodbye_and_closes() -> None:
    async with serving() as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")
        raw.send(("Action", "Logoff"), ("ActionID", "bye"))
        assert await raw.read() == wire(
            ("Response", "Goodbye"), ("ActionID", "bye"), ("Message", "Thanks for all the fish.")
        )
        assert await raw.at_eof()
        await raw.close()
        await until(lambda: not server.sessions)


# -- actions --------------------------------------------------------------------------------------


async def test_unknown_and_missing_action_texts() -> None:
    pbx = ScriptedPbx()
    async with serving(pbx) as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")
        raw.send(("Action", "Fly"), ("ActionID", "7"))
        assert await raw.read() == wire(
            ("Response", "Error"),
            ("ActionID", "7"),
            ("Message", "Invalid/unknown command: Fly. Use Action: ListCommands to show available commands."),
        )
        raw.writer.write(b"\r\n")  # an empty line ends a message, even an empty one (get_input)
        assert await raw.read() == wire(("Response", "Error"), ("Message", "Missing action in request"))
        raw.send(("ActionID", "8"), ("Queue", "support"))
        assert await raw.read() == wire(
            ("Response", "Error"), ("ActionID", "8"), ("Message", "Missing action in request")
        )
        raw.writer.write(b"action: setvar\nactionid: 9\nvariable: X\n\n")  # \n line ends, any case
        assert await raw.read() == wire(
            ("Response", "Success"), ("ActionID", "9"), ("Message", "Variable Set")
        )
        assert [(a.name, a.fields, a.action_id) for a in pbx.actions] == [("Setvar", {"variable": "X"}, "9")]
        await raw.close()


async def test_ping_pongs_with_the_virtual_time() -> None:
    clock = FakeClock()
    async with serving(clock=clock, speed=10) as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")
        clock.t += 0.5  # 5 virtual seconds
        raw.send(("Action", "Ping"), ("ActionID", "p"))
        assert await raw.read() == wire(
            ("Response", "Success"), ("ActionID", "p"), ("Ping", "Pong"), ("Timestamp", f"{T0 + 5:.6f}")
        )
        raw.send(("Action", "ping"))
        assert re.fullmatch(
            rb"Response: Success\r\nPing: Pong\r\nTimestamp: \d+\.\d{6}\r\n\r\n", await raw.read()
        )
        await raw.close()


async def test_malformed_action_is_an_error_response_not_a_crash() -> None:
    async with serving() as server, client(server) as (ami, _):
        with pytest.raises(ActionFailed, match="Originate: expected a Channel header, got none"):
            await ami.send_action("Originate", {"Exten": "600"})
        assert (await ami.send_action("Ping")).get("Ping") == "Pong"


def trace_exchange(action_id: str) -> bytes:
    """The bytes Asterisk answered to one action of actions_snapshot (response to Complete)."""
    data = gzip.decompress((TRACES / "actions_snapshot.ami.gz").read_bytes())
    messages = [m + b"\r\n\r\n" for m in data.split(b"\r\n\r\n")]
    start = next(
        i
        for i, m in enumerate(messages)
        if m.startswith(f"Response: Success\r\nActionID: {action_id}\r\n".encode())
    )
    end = next(i for i in range(start, len(messages)) if b"\r\nEventList: Complete\r\n" in messages[i])
    return b"".join(messages[start : end + 1])


def reply_from_trace(exchange: bytes) -> tuple[ActionReply, str]:
    """An ActionReply a PBX would give for that exchange; items carry a privilege the server must
    not write (only Status items have a Privilege line, and it is always ``Call``)."""
    messages = [pairs(m) for m in exchange.split(b"\r\n\r\n") if m]
    skip = {"Response", "ActionID", "EventList", "Event", "Privilege", "ListItems", "Items"}
    response = (("Response", "Success"), *((k, v) for k, v in messages[0] if k not in skip))
    items = tuple(
        AmiEvent(T0, m[0][1], "call,all", tuple((k, v) for k, v in m if k not in skip))
        for m in messages[1:-1]
    )
    return ActionReply(response, items, messages[-1][0][1]), messages[-1][0][1]


@pytest.mark.parametrize(
    ("action", "action_id"),
    [
        ("QueueStatus", "snap-48528-172"),
        ("QueueSummary", "snap-48528-173"),
        ("CoreShowChannels", "snap-48528-174"),  # ActionID right after Event
        ("Status", "snap-48528-175"),  # Privilege: Call; Items after ListItems
        ("QueueStatus", "snap-48528-178"),  # a filtered QueueStatus
    ],
)
async def test_list_responses_are_byte_for_byte_asterisk(action: str, action_id: str) -> None:
    expected = trace_exchange(action_id)
    pbx = ScriptedPbx()
    pbx.lists[action], complete = reply_from_trace(expected)
    async with serving(pbx) as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")
        raw.send(("Action", action), ("ActionID", action_id))
        got = await raw.read_through(lambda m: m.startswith(f"Event: {complete}\r\n".encode()))
        assert b"".join(got) == expected
        await raw.close()


async def test_list_through_our_client_and_without_action_id() -> None:
    async with serving() as server:
        async with client(server) as (ami, _):
            listed = await ami.send_list_action("QueueStatus")
            assert [m.name for m in listed] == ["QueueParams", "QueueMember", "QueueStatusComplete"]
            assert listed[-1].get("ListItems") == "2"
        raw = await Raw.connect(server)
        await raw.login(events="off")
        raw.send(("Action", "QueueStatus"))
        got = await raw.read_through(lambda m: m.startswith(b"Event: QueueStatusComplete"))
        assert got[0] == wire(
            ("Response", "Success"), ("EventList", "start"), ("Message", "Queue status will follow")
        )
        assert got[-1] == wire(
            ("Event", "QueueStatusComplete"), ("EventList", "Complete"), ("ListItems", "2")
        )
        assert all(b"ActionID" not in m for m in got)
        await raw.close()


async def test_several_clients_each_get_their_own_action_ids() -> None:
    async with (
        serving() as server,
        client(server, "one") as (one, seen_one),
        client(server, "two") as (two, seen_two),
    ):

        async def work(ami: AmiClient) -> list[str]:
            ids = []
            for _ in range(5):
                listed = await ami.send_list_action("QueueStatus")
                ids += [m.action_id or "" for m in listed]
                ids.append((await ami.send_action("Ping")).action_id or "")
            return ids

        ids_one, ids_two = await asyncio.gather(work(one), work(two))
        assert ids_one and all(i.startswith("one-") for i in ids_one)
        assert ids_two and all(i.startswith("two-") for i in ids_two)
        for seen, prefix in ((seen_one, "one-"), (seen_two, "two-")):
            stamped = [f.action_id for f in seen.frames if isinstance(f, Message) and f.action_id]
            assert all(i.startswith(prefix) for i in stamped)


async def test_originate_response_reaches_every_session_with_the_originators_action_id() -> None:
    clock = FakeClock()
    pbx = ScriptedPbx()
    async with (
        serving(pbx, clock=clock) as server,
        client(server, "one") as (one, seen_one),
        client(server, "two") as (two, seen_two),
    ):
        reply = await one.send_action(
            "Originate", [("Channel", "Local/600@support"), ("Variable", "A=1"), ("Variable", "B=2")]
        )
        assert reply.get("Message") == "Originate successfully queued"
        assert pbx.actions[-1].fields == {"Channel": "Local/600@support", "Variable": "A=1,B=2"}
        clock.t += 0.5
        await two.send_action("Setvar", {"Variable": "X"})  # barrier for two; one waits below
        await until(lambda: seen_one.names() == ["OriginateResponse"])
        assert seen_two.names() == ["OriginateResponse"]
        for seen in (seen_one, seen_two):
            (event,) = seen.events("FullyBooted")
            # o_reconnect.client.jsonl: ActionID right after Timestamp, then the body
            assert event.items == [
                ("Event", "OriginateResponse"),
                ("Privilege", "call,all"),
                ("Timestamp", f"{T0 + 0.5:.6f}"),
                ("ActionID", reply.action_id),
                ("Response", "Success"),
                ("Channel", "Local/600@support"),
                ("Reason", "4"),
            ]


# -- events ----------------------------------------------------------------------------------------


async def test_event_masks_deliver_only_the_subscribed_classes() -> None:
    clock = FakeClock()
    pbx = ScriptedPbx()
    pbx.play(
        [
            ev(T0 + 1, "Newchannel", "call,all"),
            ev(T0 + 1, "QueueMemberPause", "agent,all"),
            ev(T0 + 1, "UserEvent", "user,all"),
            ev(T0 + 1, "Reload", "system,all"),
            ev(T0 + 1, "Mixed", "call,agent,all"),  # needs both classes (manager.c)
            ev(T0 + 2, "Hangup", "call,all"),
        ]
    )
    async with serving(pbx, clock=clock) as server:
        async with (
            client(server, "calls", events=("call",)) as (calls, seen_calls),
            client(server, "both", events=("call", "agent")) as (both, seen_both),
            client(server, "all", events=("on",)) as (everything, seen_all),
        ):
            clock.t += 2
            for ami in (calls, both, everything):
                await ami.send_action("Setvar", {"Variable": "X"})
        assert [m.name for m in seen_calls.events()] == ["Newchannel", "Hangup"]  # no FullyBooted either
        assert [m.name for m in seen_both.events()] == ["Newchannel", "QueueMemberPause", "Mixed", "Hangup"]
        assert [m.name for m in seen_all.events()] == [
            "FullyBooted",
            "Newchannel",
            "QueueMemberPause",
            "UserEvent",
            "Reload",
            "Mixed",
            "Hangup",
        ]


async def test_events_action_changes_the_mask() -> None:
    clock = FakeClock()
    pbx = ScriptedPbx()
    pbx.play([ev(T0 + 1, "Newchannel", "call,all"), ev(T0 + 1, "AgentCalled", "agent,all")])
    pbx.play([ev(T0 + 2, "Newchannel", "call,all"), ev(T0 + 2, "AgentCalled", "agent,all")])
    pbx.play([ev(T0 + 3, "Newchannel", "call,all"), ev(T0 + 3, "AgentCalled", "agent,all")])
    async with serving(pbx, clock=clock) as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")  # and no FullyBooted: the mask lacks "system"
        raw.send(("Action", "Events"), ("ActionID", "e1"), ("EventMask", "agent"))
        assert await raw.read() == wire(("Response", "Success"), ("ActionID", "e1"), ("Events", "On"))
        clock.t += 1
        assert [pairs(m)[0][1] for m in await raw.barrier("b1")] == ["AgentCalled"]
        raw.send(("Action", "Events"), ("ActionID", "e2"), ("EventMask", ""))
        assert await raw.read() == wire(
            ("Response", "Error"), ("ActionID", "e2"), ("Message", "Invalid event mask")
        )
        raw.send(("Action", "Events"), ("EventMask", "off"))
        assert await raw.read() == wire(("Response", "Success"), ("Events", "Off"))
        clock.t += 1
        assert await raw.barrier("b2") == []
        raw.send(("Action", "Events"), ("EventMask", "1"))  # a non-zero number: everything
        assert await raw.read() == wire(("Response", "Success"), ("Events", "On"))
        clock.t += 1
        assert [pairs(m)[0][1] for m in await raw.barrier("b3")] == ["Newchannel", "AgentCalled"]
        await raw.close()


@pytest.mark.parametrize("timestamps", [True, False])
async def test_event_framing_and_the_timestamp_option(timestamps: bool) -> None:
    clock = FakeClock()
    pbx = ScriptedPbx()
    pbx.play([ev(T0 + 1.25, "QueueCallerJoin", "agent,all", ("Queue", "support"), ("Position", "1"))])
    async with serving(pbx, clock=clock, timestamps=timestamps) as server:
        raw = await Raw.connect(server)
        await raw.login(events="agent")
        clock.t += 1.25
        (got,) = await raw.barrier("b")
        stamp = (("Timestamp", f"{T0 + 1.25:.6f}"),) if timestamps else ()
        assert got == wire(
            ("Event", "QueueCallerJoin"),
            ("Privilege", "agent,all"),
            *stamp,
            ("Queue", "support"),
            ("Position", "1"),
        )
        await raw.close()


async def test_pacing_follows_the_wall_clock_times_speed() -> None:
    pbx = ScriptedPbx()
    async with serving(pbx, clock=time.time, speed=10) as server, client(server) as (_, seen):
        start, wall = server.now, time.monotonic()
        pbx.play([ev(start + 2, "Second", "call,all"), ev(start + 1, "First", "call,all")])
        await until(lambda: len(seen.names()) == 2)
        assert seen.names() == ["First", "Second"]
        assert [m.get("Timestamp") for m in seen.events("FullyBooted")] == [
            f"{start + 1:.6f}",
            f"{start + 2:.6f}",
        ]
        assert time.monotonic() - wall >= 0.15  # 2 virtual seconds at speed 10: never early
        assert server.now >= start + 2


async def test_queue_log_lines_are_appended_as_the_pbx_wrote_them(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("1799999000|NONE|NONE|NONE|QUEUESTART|\n")
    clock = FakeClock()
    pbx = ScriptedPbx()
    pbx.log_at(T0, f"{int(T0)}|NONE|NONE|NONE|QUEUESTART|\n")
    pbx.log_at(T0 + 1, f"{int(T0) + 1}|1800000001.1|support|NONE|ENTERQUEUE||+5491155555001|1\n")
    async with serving(pbx, clock=clock, queue_log=path) as server, client(server) as (ami, _):
        clock.t += 1
        await ami.send_action("QueuePause", {"Interface": "Local/agent1@agents/n", "Paused": "true"})
        assert path.read_text() == (
            "1799999000|NONE|NONE|NONE|QUEUESTART|\n"
            "1800000000|NONE|NONE|NONE|QUEUESTART|\n"
            "1800000001|1800000001.1|support|NONE|ENTERQUEUE||+5491155555001|1\n"
            "1800000001|MANAGER|support|Local/agent1@agents/n|PAUSE|\n"
        )


# -- reliability levers -------------------------------------------------------------------------------


async def test_drop_closes_connections_without_goodbye() -> None:
    async with (
        serving() as server,
        client(server, "one") as (_, seen_one),
        client(server, "two") as (_, seen_two),
    ):
        first, second = (s.id for s in server.sessions)
        assert server.drop(first) == 1
        await until(lambda: seen_one.ups == 2)  # reconnected and logged in again
        assert len(seen_one.downs) == 1 and seen_two.downs == []
        assert server.drop() == 2
        await until(lambda: seen_one.ups == 3 and seen_two.ups == 2)
        assert not any(
            isinstance(f, Message) and f.name == "Goodbye" for f in seen_one.frames + seen_two.frames
        )
        with pytest.raises(LookupError, match=f"expected a session id in .*, got {second}"):
            server.drop(second)


async def test_stall_keeps_reading_and_writes_the_backlog_afterwards() -> None:
    pbx = ScriptedPbx()
    async with serving(pbx) as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")
        server.stall(60)
        raw.send(("Action", "QueueStatus"), ("ActionID", "q"))
        await until(lambda: [a.name for a in pbx.actions] == ["QueueStatus"])  # read and answered
        with pytest.raises(TimeoutError):
            await raw.read(timeout=0.2)  # ... into the outbox only
        server.resume()
        got = await raw.read_through(lambda m: m.startswith(b"Event: QueueStatusComplete"))
        assert len(got) == 4
        server.stall(0.05)  # ends by itself
        raw.send(("Action", "Ping"), ("ActionID", "p"))
        assert b"Ping: Pong" in await raw.read()
        await raw.close()


async def test_inject_reaches_logged_in_sessions_only() -> None:
    async with serving() as server:
        raw = await Raw.connect(server)
        await raw.login(events="off")
        stranger = await Raw.connect(server)
        assert await stranger.banner() == BANNER
        async with client(server) as (ami, seen):
            garbage = b"this is not a header\r\nnor: is\xff this\r\n\r\n"
            assert server.inject(garbage) == 2
            assert await raw.read() == garbage
            stranger.send(("Action", "Ping"))
            assert await stranger.read() == wire(("Response", "Error"), ("Message", "Permission denied"))
            assert (await ami.send_action("Ping")).get("Ping") == "Pong"  # our client shrugs it off
            assert any(isinstance(f, Anomaly) for f in seen.frames)
        await raw.close()
        await stranger.close()


async def test_restart_refuses_then_accepts_with_a_new_boot() -> None:
    clock = FakeClock()
    pbx = ScriptedPbx()
    async with serving(pbx, clock=clock, pbx_restart=pbx.restart) as server, client(server) as (_, seen):
        clock.t += 5
        raw = await Raw.connect(server)
        await raw.login()
        assert b"Uptime: 5\r\nLastReload: 5\r\n" in await raw.read()
        restarting = asyncio.create_task(server.restart(downtime=0.3), name="test-restart")
        await asyncio.sleep(0)  # restart() runs up to its downtime
        assert pbx.restarts == 1
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", server.port)
        assert await raw.at_eof()
        await raw.close()
        await until(lambda: not server.sessions)
        await restarting
        await until(lambda: seen.ups == 2)
        booted = [m for m in seen.events() if m.name == "FullyBooted"]
        assert [m.get("Uptime") for m in booted] == ["0", "0"]  # the second one counts from the restart
        assert len(seen.downs) == 1


async def test_a_slow_client_is_dropped_and_the_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    pbx = ScriptedPbx()
    loop = asyncio.get_running_loop()
    async with serving(pbx, clock=clock, max_session_backlog=20) as server, client(server) as (fast, seen):
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setblocking(False)
        try:
            await loop.sock_connect(slow, ("127.0.0.1", server.port))
            await loop.sock_sendall(
                slow, wire(("Action", "Login"), ("Username", "callcenter"), ("Secret", "callcenter"))
            )
            await until(lambda: len(server.sessions) == 2 and all(s.logged_in for s in server.sessions))
            slow_id = max(s.id for s in server.sessions)
            step, body = 0, "x" * 4000
            with caplog.at_level(logging.WARNING):
                while any(s.id == slow_id for s in server.sessions):  # it never reads
                    step += 1
                    assert step < 2000, "64 MB sent and the slow client is still there"
                    pbx.play(ev(T0 + step, f"Burst{step}", "call,all", ("Data", body)) for _ in range(8))
                    clock.t += 1
                    await fast.send_action("Setvar", {"Variable": "X"})  # the fast one has all of it
            assert len(seen.names()) == 8 * step
            assert f"session {slow_id}" in caplog.text and "client too slow" in caplog.text
            assert fast.state.value == "up" and len(server.sessions) == 1
        finally:
            slow.close()


# -- pure pieces -------------------------------------------------------------------------------------


def test_event_mask_parsing_follows_strings_to_mask() -> None:
    assert parse_event_mask("") is None
    assert parse_event_mask("on") is ALL and parse_event_mask("YES") is ALL and parse_event_mask("42") is ALL
    assert parse_event_mask("off") == NONE and parse_event_mask("0") == NONE
    assert parse_event_mask("call,agent") == frozenset({"call", "agent"})
    assert parse_event_mask("call,all") is ALL
    assert parse_event_mask("call, agent") == frozenset({"call"})  # Asterisk compares names exactly
    assert parse_event_mask("nonsense") == NONE


def test_action_reader_whole_byte_by_byte_and_with_garbage() -> None:
    stream = (
        b"Action: Login\r\nUsername: a\r\n\r\nAction: Ping\nActionID: 1\n\nno colon here\r\nAction: X\r\n\r\n"
    )
    whole = ActionReader().feed(stream)
    reader = ActionReader()
    bytewise = [m for i in range(len(stream)) for m in reader.feed(stream[i : i + 1])]
    assert (
        whole
        == bytewise
        == [
            [("Action", "Login"), ("Username", "a")],
            [("Action", "Ping"), ("ActionID", "1")],
            [("Action", "X")],
        ]
    )
    fields = ActionFields([("Channel", "a"), ("channel", "b"), ("Variable", "X=1"), ("variable", "Y=2")])
    assert fields["CHANNEL"] == "a" and fields["Variable"] == "X=1,Y=2" and len(fields) == 2


def test_options_say_what_was_expected() -> None:
    with pytest.raises(
        ValueError, match=r"simulator.speed: expected virtual seconds per wall second > 0, got 0"
    ):
        ServerOptions(speed=0)
    with pytest.raises(ValueError, match=r"simulator.port: expected an integer 0-65535, got 70000"):
        ServerOptions(port=70000)
    with pytest.raises(ValueError, match=r"max_session_backlog: expected a message count >= 1, got 0"):
        ServerOptions(max_session_backlog=0)


async def test_serve_until_a_virtual_duration_and_run_until_stop() -> None:
    server = AmiServer(ScriptedPbx(), ServerOptions(port=0, speed=50), clock=time.time)
    await server.serve_until(2)  # two virtual seconds: 40 ms of wall time
    assert server.now >= T0 + 2
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", server.port)

    server = AmiServer(ScriptedPbx(), ServerOptions(port=0), clock=FakeClock())
    running = asyncio.create_task(server.run(), name="test-run")
    await until(lambda: listening(server))
    raw = await Raw.connect(server)
    await raw.login(events="off")
    await server.stop()
    await running
    assert await raw.at_eof()
    await raw.close()


def _recorded_response(key: str) -> list[tuple[str, str]]:
    """The recorded response holding ``key`` (tests/traces/actions_snapshot), without ActionID."""
    raw = stream("actions_snapshot").decode()
    (message,) = [m for m in raw.split("\r\n\r\n") if f"\r\n{key}: " in m and m.startswith("Response:")]
    pairs = [
        tuple(line.split(": ", 1)) if ": " in line else (line.rstrip(":"), "")
        for line in message.split("\r\n")
    ]
    return [(k, v) for k, v in pairs if k != "ActionID"]


def test_core_settings_and_core_status_as_asterisk_22_answers_them() -> None:
    """What clients send to check a server, answered in the shape the lab's 22.10.1 used."""
    pbx = Pbx(boot=1_800_000_000.0)
    settings = pbx.action("CoreSettings", {}, "1", pbx.now)
    assert list(settings.response) == _recorded_response("AsteriskVersion")
    recorded = _recorded_response("CoreStartupDate")
    status = pbx.action("CoreStatus", {}, "2", pbx.now)
    assert [k for k, _ in status.response] == [k for k, _ in recorded]
    got = dict(status.response)
    assert (got["CoreStartupDate"], got["CoreStartupTime"]) == tuple(
        time.strftime(f, time.localtime(1_800_000_000.0)) for f in ("%Y-%m-%d", "%H:%M:%S")
    )
    assert (got["CoreCurrentCalls"], got["CoreProcessedCalls"]) == ("0", "0")
