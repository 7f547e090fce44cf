"""The agents' screens over a real websocket of the real daemon: a real Asterisk ring pops at the
phone that rings, with the caller's past from the store; a wrong token or a garbled hello is
refused in one line and the daemon goes on."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from callcenter.queues.model import Outcome
from callcenter.store import open_store
from tests.asterisk_truth import stream
from tests.fakeami import FakeAmi
from tests.playback import segments
from tests.test_pop import stint
from tests.test_web import TOKEN, fetch, running, settings_for

ANA, BRUNO = "Local/agent1@agents/n", "Local/agent2@agents/n"
CALLER = "+5491155550001"
RANG_AT = 1795346560.0  # h_ring_no_answer: the caller queued at 1795346560.373961


def events(name: str) -> list[bytes]:
    """The recording's events, as Asterisk sent them (answers to actions left out)."""
    messages = segments(stream(name))[0]
    return [m + b"\r\n\r\n" for m in messages if m.startswith(b"Event:") and b"ActionID:" not in m]


async def _screen(url: str, hello: dict[str, Any]) -> ClientConnection:
    ws = await connect(url.replace("http://", "ws://") + "/ws/agent", open_timeout=5)
    await ws.send(json.dumps(hello))
    return ws


async def _next(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message


async def test_a_real_ring_pops_at_the_phone_that_rings_with_the_callers_past(tmp_path: Path) -> None:
    async with FakeAmi() as ami:
        settings = settings_for(ami.port, tmp_path, api_token=TOKEN)
        store = open_store(settings.store.target)  # the day before, Carla answered this number
        day = 86400.0
        past = stint("p1", "support", Outcome.ANSWERED, RANG_AT - day, RANG_AT - day + 300, agent="Carla",
                     talk_s=240.0, caller_num=CALLER)  # fmt: skip
        store.write("pbx1", [(1, past)])
        store.close()
        async with running(settings) as r:
            await r.daemon.links[0].client.wait_up(5)
            bruno = await _screen(r.url, {"interface": BRUNO, "token": TOKEN})
            ana = await _screen(r.url, {"interface": ANA, "token": TOKEN})
            assert (await _next(bruno))["interface"] == BRUNO and (await _next(ana))["interface"] == ANA
            for event in events("h_ring_no_answer"):
                await ami.push(event)
            # queue_log: RINGNOANSWER Ana 8000 ms; CONNECT Bruno; COMPLETEAGENT after 4 s of talk
            rang, missed = await _next(ana), await _next(ana)
            assert (rang["type"], rang["caller_num"], missed["type"], missed["why"]) == (
                "ringing", CALLER, "ring_ended", "unanswered")  # fmt: skip
            pop, answered, ended = await _next(bruno), await _next(bruno), await _next(bruno)
            assert (pop["type"], answered["type"], ended["type"], ended["talk_s"]) == (
                "ringing", "answered", "call_ended", 4.0)  # fmt: skip
            assert (pop["caller_name"], pop["queue"], pop["ivr_choice"]) == ("Cliente 01", "support", "1")
            history = [(h["agent"], h["talk_s"], h["outcome"]) for h in pop["history"]]
            assert history == [("Carla", 240.0, "answered")]
            assert pop["repeat"] is True  # called again within the 7-day window of that answered call
            await bruno.close()
            await ana.close()


@pytest.mark.parametrize(
    ("hello", "code"),
    [({"interface": BRUNO, "token": "wrong"}, 4401), ({"interface": BRUNO}, 4401), ({"token": TOKEN}, 4400),
     ("not json {", 4400), ({"interface": "x" * 201, "token": TOKEN}, 4400), ("[" * 60000, 4400)],
)  # fmt: skip
async def test_a_wrong_token_or_a_garbled_hello_is_refused_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, hello: object, code: int
) -> None:
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path, api_token=TOKEN)) as r:
        await r.daemon.links[0].client.wait_up(5)
        with caplog.at_level(logging.WARNING, logger="callcenter.web"):
            ws = await connect(r.url.replace("http://", "ws://") + "/ws/agent", open_timeout=5)
            await ws.send(hello if isinstance(hello, str) else json.dumps(hello))
            with pytest.raises(ConnectionClosed) as closed:
                await _next(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code
        refused = [r.getMessage() for r in caplog.records if "agent screen" in r.getMessage()]
        assert len(refused) == 1 and TOKEN not in refused[0]
        assert (await fetch(r.url + "/healthz")).status == 200  # and the daemon goes on
        good = await _screen(r.url, {"interface": BRUNO, "token": TOKEN})
        hello = await _next(good)
        assert (hello["type"], hello["interface"], hello["tickets"]) == ("hello", BRUNO, True)
        await good.close()


async def test_the_agent_page_shows_the_pop_in_chromium(tmp_path: Path) -> None:
    """The page a help desk's agent keeps open, in a real headless Chromium: it connects with the
    phone and token of its link, pops the ring of a real Asterisk trace with the caller's past, and
    follows the call to its end; the caller's name is shown as text, never as markup."""
    from urllib.parse import quote

    from tests.browser import Chromium
    from tests.test_web import until

    async with FakeAmi() as ami:
        settings = settings_for(ami.port, tmp_path, api_token=TOKEN)
        store = open_store(settings.store.target)
        past = stint("p1", "support", Outcome.ANSWERED, RANG_AT - 86400, RANG_AT - 86100, agent="Carla",
                     talk_s=240.0, caller_num=CALLER)  # fmt: skip
        store.write("pbx1", [(1, past)])
        store.close()
        async with running(settings) as r, Chromium(tmp_path / "profile") as page:
            await r.daemon.links[0].client.wait_up(5)
            await page.goto(f"{r.url}/agent#interface={quote(BRUNO, safe='')}&token={TOKEN}")
            await page.until("document.getElementById('link').dataset.state === 'connected'")
            await until(lambda: BRUNO in r.daemon.hub.screens)
            trace = events("h_ring_no_answer")
            connect_at = next(i for i, e in enumerate(trace) if e.startswith(b"Event: AgentConnect"))
            for event in trace[:connect_at]:  # up to Bruno's phone ringing
                await ami.push(event)
            await page.until("document.getElementById('call').dataset.state === 'ringing'")
            who = await page.value("document.querySelector('.who').textContent")
            history = await page.value(
                "[...document.querySelectorAll('#history td')].map(td => td.textContent)"
            )
            assert who == "Cliente 01+5491155550001"
            assert history[1:] == ["support", "answered", "Carla", "4 min 0 s"]
            assert await page.value("document.getElementById('repeat').hidden") is False
            await page.screenshot(tmp_path / "agent.png")
            for event in trace[connect_at:]:
                await ami.push(event)
            await page.until("document.getElementById('call').dataset.state === 'ended'")
            assert await page.value("document.getElementById('talk').textContent") == "4 s"
            # the agent documents it: Email, low impact, high urgency (P3), solved on the call
            await page.value("""(() => {
                document.getElementById('category').value = 'Email';
                document.getElementById('impact').value = 'low';
                document.getElementById('urgency').value = 'high';
                document.getElementById('solved').checked = true;
                document.getElementById('summary').value = 'Mailbox full: archived old mail';
                document.getElementById('save').click();
                return true; })()""")
            said = await page.until("document.getElementById('ticket_result').textContent")
            assert said.startswith("Ticket pbx1-1795346558.1 saved: P3, solved, due "), said
            await page.screenshot(tmp_path / "ticket.png")
    store = open_store(settings.store.target)
    ticket = store.ticket("pbx1", "1795346558.1")
    store.close()
    assert ticket is not None
    assert (ticket.agent, ticket.category, ticket.priority, ticket.solved_on_call, ticket.summary) == (
        "Bruno", "Email", "P3", True, "Mailbox full: archived old mail")  # fmt: skip
    assert (tmp_path / "agent.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_agent_page_shows_a_callers_name_as_text(tmp_path: Path) -> None:
    """A caller name is whatever the phone network says: markup in it stays text on the page."""
    from tests.browser import Chromium

    hostile = "<img src=x onerror=\"document.title='owned'\">"
    trace = [e.replace(b"Cliente 01", hostile.encode()) for e in events("h_ring_no_answer")]
    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        await r.daemon.links[0].client.wait_up(5)
        async with Chromium(tmp_path / "profile") as page:
            await page.goto(f"{r.url}/agent#interface={BRUNO}")
            await page.until("document.getElementById('link').dataset.state === 'connected'")
            for event in trace:
                await ami.push(event)
            await page.until("document.getElementById('call').dataset.state === 'ended'")
            assert await page.value("document.getElementById('caller_name').textContent") == hostile
            assert await page.value("document.querySelectorAll('#call img').length") == 0
            assert await page.value("document.title") == "Agent screen — callcenter"


async def test_the_agents_token_opens_their_screens_and_nothing_else(tmp_path: Path) -> None:
    """Two roles: web.agent_token opens /ws/agent only; the API token opens everything."""
    agents = "agents-token-0123456789abcdef"
    async with (
        FakeAmi() as ami,
        running(settings_for(ami.port, tmp_path, api_token=TOKEN, agent_token=agents)) as r,
    ):
        await r.daemon.links[0].client.wait_up(5)
        for token in (agents, TOKEN):
            screen = await _screen(r.url, {"interface": BRUNO, "token": token})
            assert (await _next(screen))["type"] == "hello"
            await screen.close()
        assert (
            await fetch(r.url + "/api/queues", headers={"Authorization": f"Bearer {agents}"})
        ).status == 401
        board = await connect(r.url.replace("http://", "ws://") + "/ws/wallboard", open_timeout=5)
        await board.send(json.dumps({"token": agents}))
        with pytest.raises(ConnectionClosed) as closed:
            await _next(board)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_agent_page_follows_up_an_open_case_in_chromium(tmp_path: Path) -> None:
    """A case passed to level 2 yesterday is on the page's list; the agent marks it solved and it
    leaves the list; the store has it solved."""
    from callcenter.cti.tickets import DEFAULT_CATEGORIES, ticket_from_form
    from tests.browser import Chromium

    async with FakeAmi() as ami:
        settings = settings_for(ami.port, tmp_path, api_token=TOKEN)
        store = open_store(settings.store.target)
        call = {"call_id": "1795260000.4", "caller_num": CALLER, "caller_name": "Cliente 01",
                "queue": "support", "member": "Ana", "interface": ANA}  # fmt: skip
        form = {"category": "Network", "impact": "high", "urgency": "medium", "level": 2}
        store.save_ticket(ticket_from_form(form, server="pbx1", call=call, existing=None,
                                           categories=DEFAULT_CATEGORIES, now=RANG_AT - 86400))  # fmt: skip
        store.close()
        async with running(settings) as r, Chromium(tmp_path / "profile") as page:
            await r.daemon.links[0].client.wait_up(5)
            await page.goto(f"{r.url}/agent#interface={BRUNO}&token={TOKEN}")
            row = "document.querySelector('#cases tr[data-number=\"pbx1-1795260000.4\"]')"
            await page.until(f"!!{row}")  # a node comes back by value as {}: ask for a boolean
            cells = await page.value(f"[...{row}.querySelectorAll('td')].map(td => td.textContent)")
            assert cells[:5] == ["pbx1-1795260000.4", "Cliente 01 +5491155550001", "Network", "P2", "2"]
            await page.value(f"(() => {{ {row}.querySelector('select').value = 'solved';"
                             f" {row}.querySelector('button').click(); return true; }})()")  # fmt: skip
            said = "document.getElementById('cases_result').textContent"
            assert await page.until(said) == "Ticket pbx1-1795260000.4: solved"
            await page.until(f"!{row}")
    store = open_store(settings.store.target)
    ticket = store.ticket("pbx1", "1795260000.4")
    store.close()
    assert ticket is not None and ticket.status == "solved"


async def test_a_ring_while_the_agent_documents_leaves_the_ticket_alone(tmp_path: Path) -> None:
    """Call A ends and its agent types the ticket; call B rings and is answered: the form stays
    A's, unsaved text and all; once A's ticket is saved the form moves to B. The page's own
    handler is fed the messages the hub sends (the wire is covered by the tests above)."""
    from tests.browser import Chromium

    def pop(call_id: str, name: str) -> str:
        return json.dumps({"type": "ringing", "call_id": call_id, "caller_name": name,
                           "caller_num": "+54911", "queue": "support", "waited_s": 3, "journey": [],
                           "ivr_choice": None, "history": [], "open_tickets": [],
                           "repeat": False})  # fmt: skip

    async with FakeAmi() as ami, running(settings_for(ami.port, tmp_path)) as r:
        await r.daemon.links[0].client.wait_up(5)
        async with Chromium(tmp_path / "profile") as page:
            await page.goto(f"{r.url}/agent#interface={BRUNO}")
            await page.until("document.getElementById('link').dataset.state === 'connected'")
            form = "document.getElementById('ticket_for').textContent"
            await page.value(f"handle({pop('A', 'Rosa')}); handle({{type: 'answered', call_id: 'A'}}); true")
            await page.value("document.getElementById('summary').value = 'typed for A'; "
                             "handle({type: 'call_ended', call_id: 'A', talk_s: 60}); true")  # fmt: skip
            await page.value(f"handle({pop('B', 'Luis')}); handle({{type: 'answered', call_id: 'B'}}); true")
            assert await page.value(form) == "Rosa (support)"
            assert await page.value("document.getElementById('summary').value") == "typed for A"
            saved = ("{type: 'ticket_saved', call_id: 'A', number: 'pbx1-A', priority: 'P5', status: 'open',"
                     " due_at: 0}")  # fmt: skip
            await page.value(f"handle({saved}); true")
            assert await page.value(form) == "Luis (support)"
            assert await page.value("document.getElementById('summary').value") == ""
            assert (await page.value("document.getElementById('ticket_result').textContent")).startswith(
                "Ticket pbx1-A saved"
            )
