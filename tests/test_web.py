"""The daemon's web over real TCP, with stdlib clients: the real daemon runs in-process against the
fake Asterisk (or the simulator), its web on a free port; `callcenter run` and `callcenter demo`
run as real processes for SIGTERM, start-up errors and the demo's port fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.client
import json
import logging
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callcenter.ami.link import LinkState, Retrying
from callcenter.config import Settings, parse_settings
from callcenter.daemon import Daemon
from callcenter.demo import SimulatorRun, build
from callcenter.metrics.figures import QueueFigures
from callcenter.queues.model import AgentState, Outcome
from callcenter.queues.views import QueueView, WaitingCaller
from callcenter.replay import journal_rows
from callcenter.simulator.model import CallCenterSpec
from callcenter.simulator.server import ServerOptions
from callcenter.simulator.traffic import TrafficSpec, default_agents
from callcenter.web import payloads
from callcenter.web.auth import guarded, offered_token
from callcenter.web.server import PortTaken, WebError, tls_context
from callcenter.web.view import LinkView, QueueSnapshot, ServerView
from tests.asterisk_truth import compare_queues, refused_in_stream, truth_from
from tests.fakeami import FakeAmi, event
from tests.services import required_tool
from tests.test_kpi import stint

TOKEN = "s3cret-token-0123456789abcdef"
AGENT_STATES = ["logged_out", "available", "ringing", "on_call", "wrap_up", "paused", "unavailable"]
QUEUE_FIELDS = [
    "waiting", "longest_wait_s", "agents", "offered", "answered", "abandoned", "short_abandoned", "lost",
    "unknown", "servicelevel_s", "answered_within_sl", "asa_s", "max_wait_s", "avg_talk_s", "lost_total",
    "service_level_pct", "day_from", "interval", "calls_unseen",
]  # fmt: skip


def join(queue: str, uniqueid: str = "2000.1") -> bytes:
    return event(
        "QueueCallerJoin", ("Timestamp", f"{time.time():.6f}"), ("Channel", "PJSIP/trunk-00000001"),
        ("Uniqueid", uniqueid), ("Linkedid", uniqueid), ("CallerIDNum", "+5491155550001"),
        ("CallerIDName", "José Peña"), ("Queue", queue), ("Position", "1"), ("Count", "1"),
    )  # fmt: skip


def settings_for(ami_port: int, tmp_path: Path, **web: object) -> Settings:
    return parse_settings({
        "ami": {"servers": [{"name": "pbx1", "port": ami_port, "username": "lab", "secret": "labsecret",
                             "auth": "plain", "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}]},
        "journal": {"path": str(tmp_path / "journal.sqlite3")},
        "web": {"port": 0, **web},
    })  # fmt: skip


@dataclass
class Running:
    daemon: Daemon
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        if self.daemon.web is None:
            raise AssertionError("the web is off")
        return self.daemon.web.url


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Running]:
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run(), name="daemon")
    try:
        yield Running(daemon, task)
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 10)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _fetch(url: str, method: str, headers: dict[str, str], context: ssl.SSLContext | None) -> Reply:
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, context=context, timeout=5)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        response = conn.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


async def fetch(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Reply:
    return await asyncio.to_thread(_fetch, url, method, headers or {}, context)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes on a fresh connection; whatever comes back until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            return b""
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def port_of(url: str) -> int:
    return urllib.parse.urlsplit(url).port or 0


# --- the endpoints ----------------------------------------------------------------------------------


async def test_healthz_follows_the_ami_link(tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        ami.refuse = True  # Asterisk not there yet
        async with running(settings_for(ami.port, tmp_path)) as r:
            client = r.daemon.links[0].client
            reply = await fetch(r.url + "/healthz")
            assert reply.status == 503
            body = reply.json()
            assert body["status"] == "down" and body["servers"]["pbx1"]["since"] is None
            assert body["servers"]["pbx1"]["link"] in ("CONNECTING", "DISCONNECTED")
            await until(lambda: client.retrying is not None and client.retrying.attempt >= 2)
            pbx1 = (await fetch(r.url + "/healthz")).json()["servers"]["pbx1"]
            assert pbx1["link"] == "CONNECTING" and pbx1["attempt"] >= 2
            assert pbx1["last_error"].startswith(f"cannot connect to 127.0.0.1:{ami.port}: ")
            assert dt.datetime.fromisoformat(pbx1["next_try"]).timestamp() - time.time() < 1  # max 0.2 s

            ami.refuse = False
            await client.wait_up(5)
            reply = await fetch(r.url + "/healthz")
            assert reply.status == 200 and reply.headers["content-type"] == "application/json"
            body = reply.json()
            since = body["servers"]["pbx1"].pop("since")
            assert body == {"status": "ok", "servers": {"pbx1": {"link": "UP"}}}
            came_up = dt.datetime.fromisoformat(since)
            assert since.endswith("Z") and abs(came_up.timestamp() - time.time()) < 5

            ami.refuse = True
            ami.drop_all()  # the link dies and cannot come back
            await until(lambda: client.state is not LinkState.UP)
            reply = await fetch(r.url + "/healthz")
            assert reply.status == 503
            body = reply.json()
            assert body["status"] == "down" and body["servers"]["pbx1"]["link"] != "UP"
            assert dt.datetime.fromisoformat(body["servers"]["pbx1"]["since"]) >= came_up


async def test_api_queues_shows_a_caller_waiting_after_queue_caller_join(tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        async with running(settings_for(ami.port, tmp_path)) as r:
            tracker = r.daemon.links[0].ingest.tracker
            # The fake Asterisk's QueueStatus: queue support, Ana available, Bruno paused (lunch).
            await until(lambda: len(tracker.members.get("support", {})) == 2)
            reply = await fetch(r.url + "/api/queues")
            assert reply.status == 200 and reply.headers["cache-control"] == "no-store"
            server = reply.json()["servers"]["pbx1"]
            assert server["link"] == "UP" and list(server["queues"]) == ["support"]
            support = server["queues"]["support"]
            assert list(support) == QUEUE_FIELDS
            assert (support["waiting"], support["longest_wait_s"]) == (0, 0.0)
            assert support["agents"] == {**dict.fromkeys(AGENT_STATES, 0), "available": 1, "paused": 1}
            assert support["offered"] == 0 and support["service_level_pct"] is None
            # the site's day (the test machine's zone) and its current 30-minute interval, both begun
            day_from = dt.datetime.fromisoformat(support["day_from"])
            interval_from = dt.datetime.fromisoformat(support["interval"]["from"])
            now = dt.datetime.now(dt.UTC)
            assert now - dt.timedelta(days=1) < day_from <= interval_from <= now
            assert interval_from.minute % 15 == 0 and interval_from.second == 0  # zones are whole quarters
            assert support["interval"]["offered"] == 0

            await ami.push(join("support"))
            await ami.push(join("sales", "2000.2"))
            await until(lambda: "2000.2" in tracker.stints)
            await asyncio.sleep(0.5)
            body = (await fetch(r.url + "/api/queues")).json()
            assert dt.datetime.fromisoformat(body["generated_at"]).tzinfo == dt.UTC
            queues = body["servers"]["pbx1"]["queues"]
            assert list(queues) == ["sales", "support"]
            assert queues["support"]["waiting"] == 1 and 0.4 <= queues["support"]["longest_wait_s"] < 5
            assert queues["sales"]["waiting"] == 1
            assert queues["sales"]["agents"] == dict.fromkeys(AGENT_STATES, 0)
        with pytest.raises(ConnectionRefusedError):  # daemon.stop() closed the web too
            await asyncio.open_connection("127.0.0.1", port_of(r.url))


async def test_api_queues_figures_equal_the_simulators_queue_log(tmp_path: Path) -> None:
    """What /api/queues shows equals what the simulator (tied to Asterisk's queue_log on every lab
    scenario) wrote to its own queue_log; refused joins from the dialplan's QueueResult events."""
    traffic = TrafficSpec(calls_per_hour=(900.0,), talk_s=40.0, patience_s=45.0, queue_timeout_s=50.0,
                          escalate_share=0.5, agents=default_agents())  # fmt: skip
    options = ServerOptions(port=0, username="lab", secret="labsecret", speed=100.0)
    queue_log = tmp_path / "queue_log"
    pbx, generated, server = build(
        SimulatorRun(CallCenterSpec(), traffic, options, seed=5, queue_log=queue_log)
    )
    async with server, running(settings_for(server.port, tmp_path)) as r:
        await r.daemon.links[0].client.wait_up(5)
        target = server.now + 400
        async with asyncio.timeout(30):
            while server.now < target:
                await asyncio.sleep(0.05)
        generated.stop_arrivals()
        await until(lambda: not pbx.callers, timeout=20)
        await asyncio.sleep(0.3)
        queues = (await fetch(r.url + "/api/queues")).json()["servers"]["pbx1"]["queues"]
    stream = b"".join(row.data for row in journal_rows(tmp_path / "journal.sqlite3", None))
    truths = truth_from(queue_log.read_text(encoding="utf-8").splitlines(), refused_in_stream(stream))
    assert compare_queues(truths, queues) == []
    want = truths[0]
    assert sum(q["answered"] for q in want.values()) > 20
    for name, t in want.items():
        # By hand: the share of answered calls that waited at most the service level.
        pct = round(100 * t["answered_within_sl"] / t["answered"], 1) if t["answered"] else None
        assert queues[name]["service_level_pct"] == pct
        assert queues[name]["lost_total"] == sum(t["lost"].values())
        assert queues[name]["waiting"] == 0


async def test_unknown_paths_and_wrong_methods_get_json_errors(tmp_path: Path) -> None:
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        reply = await fetch(r.url + "/dashboard")
        assert (reply.status, reply.headers["content-type"]) == (404, "application/json")
        hint = "(try /healthz, /api/queues, /agent or /wallboard)"
        assert reply.json() == {"error": f"not found: /dashboard {hint}"}
        reply = await fetch(r.url + "/api/queues", method="POST")
        assert reply.status == 405 and reply.headers["allow"] == "GET, HEAD"
        assert reply.json() == {"error": "method not allowed: POST (allowed: GET, HEAD)"}
        assert (await fetch(r.url + "/healthz", method="DELETE")).status == 405


async def test_garbage_on_the_socket_gets_a_400_and_the_daemon_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        await r.daemon.links[0].client.wait_up(5)
        port = port_of(r.url)
        answer = await raw_exchange(port, b"\x16\x03\x01\x00\xff garbage\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        answer = await raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/queues HTTP/1.1\r\nHost: x\r\n")  # and the client goes away mid-request
        writer.close()
        await writer.wait_closed()
        assert (await fetch(r.url + "/healthz")).status == 200
        assert not r.task.done()
    assert any("Invalid HTTP request" in record.getMessage() for record in caplog.records)


# --- the bearer token --------------------------------------------------------------------------------


async def test_api_needs_the_bearer_token_and_healthz_does_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wrong = "wrong-token-0123456789abcdef"
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path, api_token=TOKEN)) as r:
        await r.daemon.links[0].client.wait_up(5)
        refused = [
            await fetch(r.url + "/api/queues"),
            await fetch(r.url + "/api/queues", headers={"Authorization": f"Bearer {wrong}"}),
            await fetch(r.url + "/api/queues", headers={"Authorization": f"Basic {TOKEN}"}),
            await fetch(r.url + "/api/queues", headers={"Authorization": f"Bearer {TOKEN}x"}),
            await fetch(r.url + "/api/wallboard"),  # the whole of /api, not only the routes that exist
        ]
        for reply in refused:
            assert reply.status == 401 and reply.headers["www-authenticate"] == "Bearer"
            assert reply.json() == {"error": "missing or wrong bearer token"}
        ok = await fetch(r.url + "/api/queues", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status == 200 and "pbx1" in ok.json()["servers"]
        assert (
            await fetch(r.url + "/api/queues", headers={"authorization": f"bearer {TOKEN}"})
        ).status == 200
        assert (await fetch(r.url + "/healthz")).status == 200
        assert not r.task.done()
    warnings = [rec for rec in caplog.records if rec.name == "callcenter.web"]
    assert [rec.levelno for rec in warnings] == [logging.WARNING] * len(refused)
    assert warnings[0].getMessage() == "web: refused GET '/api/queues' from 127.0.0.1: no bearer token"
    assert warnings[1].getMessage() == "web: refused GET '/api/queues' from 127.0.0.1: a wrong bearer token"
    assert TOKEN not in caplog.text and wrong not in caplog.text


# --- TLS ------------------------------------------------------------------------------------------------


def _openssl() -> str:
    return required_tool("openssl", "openssl")


def self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [_openssl(), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_https_with_the_built_in_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with FakeAmi() as ami:
        settings = settings_for(ami.port, tmp_path, tls_cert=str(cert), tls_key=str(key))
        async with running(settings) as r:
            await r.daemon.links[0].client.wait_up(5)
            assert r.url.startswith("https://127.0.0.1:")
            trusting = ssl.create_default_context(cafile=str(cert))
            reply = await fetch(r.url + "/healthz", context=trusting)
            assert reply.status == 200 and reply.json()["status"] == "ok"
            assert "pbx1" in (await fetch(r.url + "/api/queues", context=trusting)).json()["servers"]
            with pytest.raises(ssl.SSLCertVerificationError):  # it is that certificate, not another
                await fetch(r.url + "/healthz", context=ssl.create_default_context())
            answer = await raw_exchange(port_of(r.url), b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert b"status" not in answer and not answer.startswith(b"HTTP/1.1 2")
            assert (await fetch(r.url + "/healthz", context=trusting)).status == 200  # still serving
            assert not r.task.done()


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pems")
    a_cert, a_key = self_signed(folder, "a")
    _, b_key = self_signed(folder, "b")
    encrypted = folder / "encrypted.key"
    subprocess.run(
        [_openssl(), "pkey", "-in", str(a_key), "-aes256", "-passout", "pass:secret", "-out", str(encrypted)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return {"cert": a_cert, "key": a_key, "other_key": b_key, "encrypted": encrypted, "gone": folder / "gone"}


@pytest.mark.parametrize(
    ("cert", "key", "message"),
    [
        ("cert", "other_key", "web.tls_key: expected the private key of '{cert}', got another one: '{key}'"),
        ("key", "key", "web.tls_cert: expected a PEM certificate, got '{cert}' with none in it"),
        ("cert", "cert", "web.tls_key: expected a PEM private key, got '{key}' with none in it"),
        ("gone", "key", "web.tls_cert: cannot read '{cert}': No such file or directory"),
        (
            "cert",
            "encrypted",
            "web.tls_key: expected an unencrypted private key (a service cannot type a passphrase), got an "
            "encrypted one in '{key}'; decrypt it with `openssl pkey -in KEY -out KEY.plain`",
        ),
    ],
)
def test_unusable_tls_files_are_a_clear_error(
    pems: dict[str, Path], cert: str, key: str, message: str
) -> None:
    paths = {"cert": str(pems[cert]), "key": str(pems[key])}
    with pytest.raises(WebError) as caught:
        tls_context(paths["cert"], paths["key"])
    assert str(caught.value) == message.format(**paths)


def test_run_with_a_key_that_does_not_match_stops_with_one_line(
    pems: dict[str, Path], tmp_path: Path
) -> None:
    config = tmp_path / "callcenter.yaml"
    config.write_text(
        f"ami:\n  servers:\n    - {{name: pbx1, username: u, secret: s}}\njournal:\n  path: j.sqlite3\n"
        f"web:\n  tls_cert: {pems['cert']}\n  tls_key: {pems['other_key']}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr  # a configuration problem: checked before start
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1].startswith("  web.tls_key: expected the private key of")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "j.sqlite3").exists()  # stopped before opening anything else


# --- start-up, stop, the demo --------------------------------------------------------------------------


def test_a_port_already_taken_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortTaken) as caught:
            Daemon(settings_for(5038, tmp_path, port=port))
    assert str(caught.value) == (
        f"web.port: cannot listen on 127.0.0.1:{port}: another program already does; "
        "stop it or choose another web.port"
    )
    assert not (tmp_path / "journal.sqlite3").exists()


async def _line(stream: asyncio.StreamReader, pattern: str, seen: list[str]) -> re.Match[str]:
    while True:
        line = (await asyncio.wait_for(stream.readline(), 30)).decode()
        assert line, "the process ended early:\n" + "".join(seen)
        seen.append(line)
        if found := re.search(pattern, line):
            return found


async def test_sigterm_stops_the_daemon_and_its_web_cleanly(tmp_path: Path) -> None:
    config = tmp_path / "callcenter.yaml"
    async with FakeAmi() as ami:
        config.write_text(
            f"ami:\n  servers:\n    - {{name: pbx1, port: {ami.port}, username: lab, secret: labsecret, "
            f"auth: plain}}\njournal:\n  path: j.sqlite3\nweb:\n  port: 0\n  api_token: {TOKEN}\n",
            encoding="utf-8",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter", "run", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        try:
            url = (await _line(proc.stderr, r"web: (http://127\.0\.0\.1:\d+)/api/queues \(bearer", log))[1]
            await _line(proc.stderr, r"AMI pbx1: logged in", log)  # then its state is UP
            assert (await fetch(url + "/healthz")).status == 200
            assert (await fetch(url + "/api/queues")).status == 401
        finally:
            proc.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(proc.communicate(), 20)
    text = "".join(log) + rest.decode()
    assert proc.returncode == 0, text
    assert "stopping" in text and "Traceback" not in text and TOKEN not in text
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port_of(url))


async def test_the_demo_falls_back_to_a_free_port_when_8080_is_taken(tmp_path: Path) -> None:
    holder = socket.socket()
    with contextlib.suppress(OSError):  # if another program has it, it is taken all the same
        holder.bind(("127.0.0.1", 8080))
        holder.listen()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter", "demo", "--duration", "5", "--data", str(tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        seen: list[str] = []
        found = await _line(proc.stdout, r"^  web +(http://127\.0\.0\.1:(\d+))/api/queues.*", seen)
        assert found[2] != "8080" and found[0].endswith("(port 8080 is taken: a free port instead)")
        await _line(proc.stdout, r"AMI link up", seen)
        reply = await fetch(found[1] + "/api/queues")
        assert reply.status == 200 and "support" in reply.json()["servers"]["demo"]["queues"]
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        holder.close()
    assert proc.returncode == 0, err.decode()
    assert "demo stopped" in out.decode()


# --- the pure parts -------------------------------------------------------------------------------------


def _link(name: str, link: LinkState, since: float | None = None) -> LinkView:
    return LinkView(name, link, since)


@pytest.mark.parametrize(
    ("links", "status", "code"),
    [
        ((LinkState.UP, LinkState.UP), "ok", 200),
        ((LinkState.UP, LinkState.CONNECTING), "degraded", 200),
        ((LinkState.DISCONNECTED, LinkState.LOGGING_IN), "down", 503),
        ((), "down", 503),
    ],
)
def test_health_is_ok_degraded_or_down(links: tuple[LinkState, ...], status: str, code: int) -> None:
    servers = [_link(f"pbx{i}", link, 1_800_000_000.0) for i, link in enumerate(links)]
    assert payloads.health(servers) == (
        code,
        {"status": status, "servers": {s.name: {"link": s.link.name, "since": "2027-01-15T08:00:00Z"}
                                       for s in servers}},
    )  # fmt: skip


def test_health_shows_a_link_between_attempts_as_connecting_with_the_next_try() -> None:
    retrying = Retrying(4, 1_800_000_002.0, "cannot connect to 10.0.0.5:5038: [Errno 111] refused")
    links = [LinkView("pbx1", LinkState.DISCONNECTED, 1_800_000_000.0, retrying)]
    assert payloads.health(links) == (
        503,
        {"status": "down", "servers": {"pbx1": {
            "link": "CONNECTING", "since": "2027-01-15T08:00:00Z", "attempt": 4,
            "next_try": "2027-01-15T08:00:02Z",
            "last_error": "cannot connect to 10.0.0.5:5038: [Errno 111] refused"}}},
    )  # fmt: skip


async def test_health_reads_no_queue_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """O(1): /healthz is built from the links alone, whatever the number of calls in progress
    (it built every queue view before: 0.9 s at 10^5 open calls)."""
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        await r.daemon.links[0].client.wait_up(5)

        def no_queue_views() -> list[ServerView]:
            raise AssertionError("/healthz must not build the queue views")

        monkeypatch.setattr(r.daemon, "servers", no_queue_views)
        reply = await fetch(r.url + "/healthz")
        assert reply.status == 200 and reply.json()["status"] == "ok"


def test_queue_payload_serialises_the_live_view_and_the_figures() -> None:
    live = QueueView(
        "support",
        (WaitingCaller("1.1", "100", "Ana", 30.26, 1), WaitingCaller("1.2", "101", "Bea", 12.0, 2)),
        {AgentState.AVAILABLE: 2, AgentState.PAUSED: 1},
        20,
    )
    done = QueueFigures(servicelevel_s=20)
    for r in (stint(1, wait=10.0), stint(2, wait=20.0, talk_s=None), stint(3, wait=20.0, talk_s=90.0),
              stint(4, wait=30.0, talk_s=None, end_seen=False), stint(5, Outcome.ABANDONED, 3.0),
              stint(6, Outcome.TIMEOUT, 90.0)):  # fmt: skip
        done.add(r)  # talks seen: 60 and 90
    server = ServerView("pbx1", LinkState.UP, None, (QueueSnapshot(live, done),))
    body = payloads.queues([server], 1_800_000_000.5)
    assert body["generated_at"] == "2027-01-15T08:00:00Z"
    assert body["servers"]["pbx1"]["link"] == "UP" and body["servers"]["pbx1"]["since"] is None
    queue = body["servers"]["pbx1"]["queues"]["support"]
    assert list(queue) == QUEUE_FIELDS
    assert queue == {
        "waiting": 2, "longest_wait_s": 30.3,
        "agents": {"logged_out": 0, "available": 2, "ringing": 0, "on_call": 0, "wrap_up": 0, "paused": 1,
                   "unavailable": 0},
        "offered": 6, "answered": 4, "abandoned": 1, "short_abandoned": 1,
        "lost": {"timeout": 1, "leaveempty": 0, "exitwithkey": 0, "joinempty": 0, "full": 0, "joinunavail": 0,
                 "withdraw": 0},
        "unknown": 0, "servicelevel_s": 20, "answered_within_sl": 3, "asa_s": 20.0, "max_wait_s": 90.0,
        "avg_talk_s": 75.0, "lost_total": 1, "service_level_pct": 75.0, "day_from": None, "interval": None,
        "calls_unseen": None,
    }  # fmt: skip
    flagged = QueueSnapshot(live, done, unseen=(1_800_000_000.0, 1_800_000_300.0, 7))
    body = payloads.queues([ServerView("pbx1", LinkState.UP, None, (flagged,))], 1_800_000_300.5)
    assert body["servers"]["pbx1"]["queues"]["support"]["calls_unseen"] == {
        "calls": 7, "from": "2027-01-15T08:00:00Z", "until": "2027-01-15T08:05:00Z",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("Bearer abc", "abc"),
        ("bearer   abc  ", "abc"),
        ("BEARER abc", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic abc", None),
        ("abc", None),
    ],
)
def test_the_offered_token_is_read_from_the_authorization_header(
    header: str | None, token: str | None
) -> None:
    assert offered_token(header) == token


@pytest.mark.parametrize(
    ("path", "needs_token"),
    [
        ("/api", True),
        ("/api/queues", True),
        ("/api/", True),
        ("/apis", False),
        ("/healthz", False),
        ("/", False),
    ],
)
def test_the_token_guards_the_api_only(path: str, needs_token: bool) -> None:
    assert guarded(path) is needs_token


async def test_while_the_link_is_down_the_queues_are_the_last_known_state(tmp_path: Path) -> None:
    """Agents shown available while nobody knows: the payload says the link is down, that the
    state below is stale and since when, and waits stop counting at that moment."""
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        link = r.daemon.links[0]
        await link.client.wait_up(5)
        await until(lambda: len(link.ingest.tracker.members.get("support", {})) == 2)
        up = (await fetch(r.url + "/api/queues")).json()["servers"]["pbx1"]
        assert (up["stale"], up["stale_since"]) == (False, None)
        await ami.push(join("support"))
        await until(lambda: bool(link.ingest.tracker.stints))
        ami.refuse = True
        ami.drop_all()
        await until(lambda: link.client.state is not LinkState.UP)
        first = (await fetch(r.url + "/api/queues")).json()["servers"]["pbx1"]
        await asyncio.sleep(1.2)
        later = (await fetch(r.url + "/api/queues")).json()["servers"]["pbx1"]
    assert first["link"] != "UP" and first["stale"] is True
    assert first["stale_since"] == first["since"] and first["since"] is not None
    support = first["queues"]["support"]
    assert support["agents"]["available"] == 1 and support["waiting"] == 1  # the last known state
    assert later["queues"]["support"]["longest_wait_s"] == support["longest_wait_s"]  # frozen


@pytest.mark.timeout(60)
async def test_clients_that_trickle_partial_headers_are_closed_and_health_answers_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200 connections holding partial request headers were all still open after 6 s. Now each
    must send its whole request head within HEADER_TIMEOUT_S (here 1 s); /healthz is served
    throughout."""
    from callcenter.web import server as web_server

    monkeypatch.setattr(web_server, "HEADER_TIMEOUT_S", 1.0)
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        await r.daemon.links[0].client.wait_up(5)
        port = port_of(r.url)
        slow = [await asyncio.open_connection("127.0.0.1", port) for _ in range(200)]
        for _, writer in slow:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the empty line
        started = time.monotonic()
        assert (await fetch(r.url + "/healthz")).status == 200
        async with asyncio.timeout(10):
            closed = await asyncio.gather(*(reader.read() for reader, _ in slow))
        assert closed == [b""] * 200 and time.monotonic() - started < 5
        assert (await fetch(r.url + "/healthz")).status == 200
        for _, writer in slow:
            writer.close()


async def test_exports_are_streamed_over_http_behind_the_token(tmp_path: Path) -> None:
    """GET /api/export/{table}.{csv|json}: the CLI's tables, the API token, one line for a bad
    parameter; the store is the daemon's (beside its journal)."""
    from callcenter.store import open_store
    from tests.test_reports import BEFORE, MONTH

    store = open_store(tmp_path / "store.sqlite3")
    store.write("pbx1", [(i + 1, r) for i, r in enumerate([BEFORE, *MONTH])])
    store.close()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path, api_token=TOKEN)) as r:
        url = r.url + "/api/export/stints.csv?from=2026-10-01T00:00:00-05:00&to=2026-11-01T00:00:00-05:00"
        assert (await fetch(url)).status == 401
        reply = await fetch(url, headers=auth)
        assert reply.status == 200 and reply.headers["content-type"].startswith("text/csv")
        assert 'filename="stints.csv"' in reply.headers["content-disposition"]
        lines = reply.body.decode().splitlines()
        assert lines[0].startswith("call_id,journey_id,queue")
        assert [row.split(",")[0] for row in lines[1:]] == [
            "c1",
            "c2",
            "c3",
            "c4",
            "c5",
            "c6",
        ]  # October's, in Bogotá
        reply = await fetch(r.url + "/api/export/kpis.json?by=queue&servicelevel=20", headers=auth)
        (support,) = json.loads(reply.body)
        assert (support["queue"], support["offered"], support["answered"]) == ("support", 7, 5)
        for query, words in (("stints.xml", "expected csv or json"), ("calls.csv", "expected /api/export/"),
                             ("stints.csv?from=yesterday", "from: expected a date"),
                             ("stints.csv?colour=red", "unknown parameter(s): colour")):  # fmt: skip
            reply = await fetch(r.url + "/api/export/" + query, headers=auth)
            assert reply.status == 400 and words in reply.json()["error"], (query, reply.body)
