"""AmiClient against a fake Asterisk over real TCP (tests/fakeami.py).

Each rule in the client's module docstring has a test here; DEPENDENCIES.md §1 lists the
panoramisk failures these reproduce (re-sent actions, lists hanging on a drop, undetected
half-open links, retrying a bad secret forever, UTF-8 split across reads).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from callcenter.ami.client import AmiClient
from callcenter.ami.codec import Banner, Decoder, Frame, Message
from callcenter.ami.link import (
    ActionFailed,
    ActionTimeout,
    AuthenticationFailed,
    ConnectionLost,
    LinkState,
    ServerAddress,
    reconnect_delay,
)
from tests.fakeami import BANNER, FakeAmi, event, wire


class Recorder:
    """A Listener that keeps everything, and can fail or stall on a named event."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail_on: str | None = None
        self.stall_on: tuple[str, float] | None = None

    async def link_up(self, server: str, banner: Banner, at: float) -> None:
        self.calls.append(("up", server, banner, at))

    async def received(self, server: str, chunk: bytes, frames: list[Frame], at: float) -> None:
        names = {f.name for f in frames if isinstance(f, Message)}
        if self.fail_on in names:
            raise RuntimeError(f"listener broke on {self.fail_on}")
        if self.stall_on is not None and self.stall_on[0] in names:
            await asyncio.sleep(self.stall_on[1])
        self.calls.append(("chunk", server, chunk, frames, at))

    async def link_down(self, server: str, reason: str, at: float) -> None:
        self.calls.append(("down", server, reason, at))

    def kinds(self) -> list[str]:
        return [c[0] for c in self.calls]

    def downs(self) -> list[str]:
        return [c[2] for c in self.calls if c[0] == "down"]

    def chunks(self) -> list[bytes]:
        return [c[2] for c in self.calls if c[0] == "chunk"]

    def messages(self) -> list[Message]:
        return [f for c in self.calls if c[0] == "chunk" for f in c[3] if isinstance(f, Message)]


def address(ami: FakeAmi, **overrides: Any) -> ServerAddress:
    settings: dict[str, Any] = {
        "name": "pbx1",
        "host": "127.0.0.1",
        "port": ami.port,
        "username": "lab",
        "secret": "labsecret",
        "auth": "plain",
        "connect_timeout_s": 1.0,
        "action_timeout_s": 1.0,
        "ping_interval_s": 30.0,  # keep-alive tests lower it
        "ping_timeout_s": 0.2,
        "reconnect_min_s": 0.01,
        "reconnect_max_s": 0.05,
    }
    settings.update(overrides)
    return ServerAddress(**settings)


async def eventually(condition: Callable[[], object], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


@asynccontextmanager
async def running(client: AmiClient, *, up: bool = True) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run(), name=f"test-run-{client.server}")
    try:
        if up:
            await client.wait_up(timeout=3)
        yield task
    finally:
        await asyncio.wait_for(client.stop(), 3)
        if not task.done():
            task.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved here; tests that expect one check it themselves


@pytest.fixture(autouse=True)
def no_asyncio_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on "Task exception was never retrieved" and friends, which -W error does not catch."""
    yield
    gc.collect()
    records = caplog.get_records("call") + caplog.get_records("teardown")
    errors = [r.getMessage() for r in records if r.name == "asyncio"]
    assert errors == []


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as server:
        yield server


# -- login ---------------------------------------------------------------------------------------


async def test_plain_login_then_link_up_before_any_chunk(ami: FakeAmi) -> None:
    rec = Recorder()
    client = AmiClient(address(ami, events=("call", "agent")), rec)
    async with running(client):
        await eventually(lambda: any(m.name == "FullyBooted" for m in rec.messages()))
        assert client.state.name == "UP"
        (login,) = ami.logins
        assert (login["username"], login["secret"], login["events"]) == ("lab", "labsecret", "call,agent")
        assert ami.actions == {"Login": 1}
        assert rec.kinds()[0] == "up"
        assert rec.calls[0][2] == Banner("Asterisk Call Manager/11.0.0")
        first = rec.messages()[0]  # the Login response reaches the listener too
        assert (first.name, first.get("Message")) == ("Success", "Authentication accepted")
    assert client.state is LinkState.STOPPED


async def test_md5_login_never_sends_the_secret(ami: FakeAmi) -> None:
    client = AmiClient(address(ami, auth="md5"), Recorder())
    async with running(client):
        assert ami.actions == {"Challenge": 1, "Login": 1}
        (login,) = ami.logins
        assert login["authtype"] == "MD5" and "secret" not in login
        assert login["key"] == hashlib.md5(b"123456789labsecret").hexdigest()
        assert login["events"] == "on"


@pytest.mark.parametrize("auth", ["plain", "md5"])
async def test_a_refused_login_is_retried_slowly_and_said_once(
    ami: FakeAmi, auth: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator may fix the secret (or manager.conf) while the daemon runs: it tries again
    every login_retry_s, says so once, and comes up when the login is accepted."""
    caplog.set_level(logging.DEBUG, logger="callcenter")
    rec = Recorder()
    client = AmiClient(address(ami, auth=auth, secret="wrong", login_retry_s=0.1), rec)
    async with running(client, up=False):
        await eventually(lambda: len(ami.logins) >= 3)
        with pytest.raises(AuthenticationFailed, match="Authentication failed"):
            await client.wait_up(timeout=1)
        assert client.retrying is not None and client.retrying.last_error.startswith("login refused: ")
        assert rec.calls == []
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert (
            len(warnings) == 1
            and "login refused" in warnings[0]
            and "trying again every 0.1 s" in warnings[0]
        )
        ami.secret = "wrong"  # the operator fixes it on the Asterisk side
        await eventually(lambda: client.state is LinkState.UP)
        assert client.retrying is None
        await client.wait_up(timeout=1)


# -- actions -------------------------------------------------------------------------------------


async def test_send_action_while_not_up_raises_at_once(ami: FakeAmi) -> None:
    client = AmiClient(address(ami), Recorder())
    with pytest.raises(ConnectionLost, match="not up; Originate not sent"):
        await client.send_action("Originate", {"Channel": "Local/600@support"})
    assert ami.actions == {}


async def test_concurrent_actions_get_their_own_responses(ami: FakeAmi) -> None:
    ami.delays["Originate"] = 0.1  # answered after the Ping and the Bogus sent later
    client = AmiClient(address(ami), Recorder())
    async with running(client):
        originate, ping, bogus = await asyncio.gather(
            client.send_action("Originate", [("Channel", "Local/600@support/n"), ("Variable", "A=1")]),
            client.send_action("Ping"),
            client.send_action("Bogus"),
            return_exceptions=True,
        )
        assert isinstance(originate, Message) and originate.get("Message") == "Originate successfully queued"
        assert isinstance(ping, Message) and ping.get("Ping") == "Pong"
        assert isinstance(bogus, ActionFailed)
        assert bogus.text == "Invalid/unknown command" and bogus.response.name == "Error"
        ids = {originate.action_id, ping.action_id, bogus.response.action_id}
        assert len(ids) == 3 and all(i and i.startswith("pbx1-") for i in ids)


async def test_action_timeout_forgets_the_action_and_ignores_the_late_response(ami: FakeAmi) -> None:
    ami.delays["Originate"] = 0.2
    rec = Recorder()
    client = AmiClient(address(ami), rec)
    async with running(client):
        with pytest.raises(ActionTimeout, match="Originate"):
            await client.send_action("Originate", {"Channel": "Local/600@support/n"}, timeout=0.05)
        await eventually(
            lambda: any(m.get("Message") == "Originate successfully queued" for m in rec.messages())
        )
        assert (await client.send_action("Ping")).get("Ping") == "Pong"
        assert client.state is LinkState.UP and ami.accepted == 1


async def test_unknown_action_id_is_ignored_but_reaches_the_listener(ami: FakeAmi) -> None:
    rec = Recorder()
    client = AmiClient(address(ami), rec)
    async with running(client):
        await ami.push(wire(("Response", "Success"), ("ActionID", "somebody-else-7"), ("Message", "hi")))
        await eventually(lambda: any(m.action_id == "somebody-else-7" for m in rec.messages()))
        assert (await client.send_action("Ping")).get("Ping") == "Pong"


async def test_drop_fails_pending_actions_and_nothing_is_resent(ami: FakeAmi) -> None:
    ami.delays["Originate"] = 5.0  # never answered before the drop
    rec = Recorder()
    client = AmiClient(address(ami), rec)
    async with running(client):
        originate = asyncio.create_task(client.send_action("Originate", {"Channel": "Local/600@support/n"}))
        await eventually(lambda: ami.actions["Originate"] == 1)
        ami.drop_all()
        with pytest.raises(ConnectionLost, match="not re-sent"):
            await originate
        await eventually(lambda: ami.accepted == 2)
        await client.wait_up(timeout=3)
        assert (await client.send_action("Ping")).get("Ping") == "Pong"
        assert ami.actions["Originate"] == 1
        assert rec.kinds().count("up") == 2 and rec.downs() == ["connection closed by Asterisk"]


async def test_queue_status_list_is_collected(ami: FakeAmi) -> None:
    client = AmiClient(address(ami), Recorder())
    async with running(client):
        events = await client.send_list_action("QueueStatus", {"Queue": "support"})
        names = [e.name for e in events]
        assert names == ["QueueParams", "QueueMember", "QueueMember", "QueueEntry", "QueueStatusComplete"]
        assert len({e.action_id for e in events}) == 1
        assert events[-1].get("ListItems") == "4"
        with pytest.raises(ActionFailed, match="expected 'EventList: start'"):
            await client.send_list_action("Ping")


async def test_list_cut_by_a_drop_raises_connection_lost(ami: FakeAmi) -> None:
    ami.cut_list_after = 2
    rec = Recorder()
    client = AmiClient(address(ami), rec)
    async with running(client):
        with pytest.raises(ConnectionLost, match="QueueStatus"):
            await client.send_list_action("QueueStatus")
        assert [m.name for m in rec.messages()].count("QueueMember") == 1


# -- keep-alive and reconnect -------------------------------------------------------------------


@pytest.mark.parametrize("chatty", [False, True])
async def test_silent_server_is_detected_by_the_ping(ami: FakeAmi, chatty: bool) -> None:
    """Half-open link; with ``chatty`` events keep flowing but Pings go unanswered."""
    rec = Recorder()
    client = AmiClient(address(ami, ping_interval_s=0.5, ping_timeout_s=1.0), rec)
    async with running(client):
        await client.send_action("Ping")
        ami.silence()
        async with asyncio.timeout(10):
            while chatty and not rec.downs():
                await ami.push(event("VarSet", ("Variable", "X"), ("Value", "1")))
                await asyncio.sleep(0.01)
        await eventually(lambda: rec.downs(), timeout=10)
        assert rec.downs() == ["keep-alive timeout"]
        await eventually(lambda: ami.accepted == 2)
        await client.wait_up(timeout=3)


async def test_time_in_a_slow_listener_is_not_a_ping_timeout(ami: FakeAmi) -> None:
    rec = Recorder()
    rec.stall_on = ("Slow", 3.0)  # three times the ping timeout
    client = AmiClient(address(ami, ping_interval_s=0.5, ping_timeout_s=1.0), rec)
    async with running(client):
        await ami.push(event("Slow"))
        await eventually(lambda: any(m.name == "Slow" for m in rec.messages()), timeout=10)
        assert (await client.send_action("Ping")).get("Ping") == "Pong"
        assert rec.downs() == [] and ami.accepted == 1 and ami.actions["Ping"] >= 2


def test_reconnect_delay_doubles_and_is_capped() -> None:
    nominal = [reconnect_delay(n, 1.0, 30.0, 0.0) for n in range(1, 9)]
    assert nominal == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert reconnect_delay(1000, 1.0, 30.0, 0.0) == 30.0
    assert 0.8 * 30.0 <= reconnect_delay(9, 1.0, 30.0, 0.999) <= 30.0


async def test_backoff_is_capped_and_reset_by_a_login(ami: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="callcenter.ami.client")  # each try is a debug line

    def delays() -> list[float]:
        return [float(x) for x in re.findall(r"reconnecting in ([\d.]+) s", caplog.text)]

    ami.refuse = True
    rec = Recorder()
    client = AmiClient(address(ami, reconnect_min_s=0.01, reconnect_max_s=0.04), rec)
    async with running(client, up=False):
        await eventually(lambda: len(delays()) >= 6)
        assert delays()[0] <= 0.01
        assert all(d <= 0.04 for d in delays()) and delays()[5] >= 0.8 * 0.04
        ami.refuse = False
        await client.wait_up(timeout=3)
        seen = len(delays())
        ami.drop_all()
        await eventually(lambda: ami.accepted == 2)
        assert delays()[seen] <= 0.01  # the successful login reset the backoff


async def test_stop_during_backoff_is_prompt(ami: FakeAmi) -> None:
    ami.refuse = True
    client = AmiClient(address(ami, reconnect_min_s=30.0, reconnect_max_s=60.0), Recorder())
    task = asyncio.create_task(client.run(), name="test-run-backoff")
    await eventually(lambda: ami.connections == 1 and client.state is LinkState.DISCONNECTED)
    await asyncio.wait_for(client.stop(), 2)
    assert task.done() and task.exception() is None
    assert client.state is LinkState.STOPPED


async def test_stop_logs_off_and_reports_link_down(ami: FakeAmi) -> None:
    rec = Recorder()
    client = AmiClient(address(ami), rec)
    async with running(client) as task:
        await asyncio.wait_for(client.stop(), 2)
        assert task.done() and task.exception() is None
    assert ami.actions["Logoff"] == 1 and ami.accepted == 1
    assert rec.downs() == ["stopped"]
    assert any(m.name == "Goodbye" for m in rec.messages())
    with pytest.raises(ConnectionLost):
        await client.send_action("Ping")


# -- what the listener sees ------------------------------------------------------------------------


async def test_utf8_character_split_across_two_writes_arrives_intact(ami: FakeAmi) -> None:
    rec = Recorder()
    client = AmiClient(address(ami), rec)
    async with running(client):
        data = event("Newchannel", ("CallerIDName", "José Peña"), ("Uniqueid", "1795345954.457"))
        cut = data.index("é".encode()) + 1
        await ami.push(data[:cut])
        await eventually(lambda: rec.chunks()[-1].endswith(b"Jos\xc3"))  # read on its own
        await ami.push(data[cut:])
        await eventually(lambda: any(m.name == "Newchannel" for m in rec.messages()))
        (newchannel,) = [m for m in rec.messages() if m.name == "Newchannel"]
        assert newchannel.get("CallerIDName") == "José Peña"
        assert b"".join(rec.chunks()).endswith(data)


async def test_listener_gets_every_chunk_in_order_with_its_frames(ami: FakeAmi) -> None:
    rec = Recorder()
    clock = iter(range(1000))
    client = AmiClient(address(ami), rec, clock=lambda: float(next(clock)))
    async with running(client):
        for i in range(20):
            await ami.push(event("UserEvent", ("UserEvent", "Tick"), ("N", str(i))))
        await client.send_list_action("QueueStatus")
        await client.send_action("Ping")
        sent = bytes(ami.sessions[0].sent)
    assert sent.startswith(BANNER)
    chunks = rec.chunks()
    assert b"".join(chunks)[: len(sent) - len(BANNER)] == sent[len(BANNER) :]
    decoder = Decoder()
    decoder.feed(BANNER)
    for call in (c for c in rec.calls if c[0] == "chunk"):
        assert [getattr(f, "raw", f) for f in call[3]] == [
            getattr(f, "raw", f) for f in decoder.feed(call[2])
        ]
    times = [c[-1] for c in rec.calls]
    assert times == sorted(times) and rec.kinds()[0] == "up" and rec.kinds()[-1] == "down"
    ticks = [m.get("N") for m in rec.messages() if m.name == "UserEvent"]
    assert ticks == [str(i) for i in range(20)]


async def test_listener_exception_propagates_out_of_run(
    ami: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    rec.fail_on = "Boom"
    ami.delays["Originate"] = 5.0
    client = AmiClient(address(ami), rec)
    task = asyncio.create_task(client.run(), name="test-run-listener-bug")
    await client.wait_up(timeout=3)
    originate = asyncio.create_task(client.send_action("Originate", {"Channel": "Local/600@support/n"}))
    await eventually(lambda: ami.actions["Originate"] == 1)
    await ami.push(event("Boom"))
    with pytest.raises(RuntimeError, match="listener broke on Boom"):
        await asyncio.wait_for(task, 3)
    with pytest.raises(ConnectionLost):
        await originate
    assert client.state is LinkState.STOPPED and "listener.received raised" in caplog.text
    assert "Traceback" in caplog.text and rec.downs() == []
    await eventually(lambda: not ami.sessions)
    await client.stop()


async def test_two_servers_run_independently() -> None:
    async with FakeAmi() as ami1, FakeAmi(secret="other") as ami2:
        rec1, rec2 = Recorder(), Recorder()
        one = AmiClient(address(ami1, name="pbx1"), rec1)
        two = AmiClient(address(ami2, name="pbx2", secret="other", auth="md5"), rec2)
        async with running(one), running(two):
            ami1.delays["Originate"] = 5.0
            pending = asyncio.create_task(one.send_action("Originate", {"Channel": "Local/600@support/n"}))
            await eventually(lambda: ami1.actions["Originate"] == 1)
            ami1.drop_all()
            with pytest.raises(ConnectionLost):
                await pending
            assert len(await two.send_list_action("QueueStatus")) == 5
            await eventually(lambda: ami1.accepted == 2)
            assert (
                ami2.accepted == 1
                and rec2.downs() == []
                and rec1.downs() == ["connection closed by Asterisk"]
            )
            assert {c[1] for c in rec1.calls} == {"pbx1"} and {c[1] for c in rec2.calls} == {"pbx2"}
