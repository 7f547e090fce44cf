"""The agents' screens as a sink: pops go to the screens of the interface that rings, with the
caller's past from the store; a slow screen is cut loose, a replay pops nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from callcenter.cti.hub import SCREEN_CAPACITY, AgentHub
from callcenter.cti.pop import PastCall, past_calls
from callcenter.fanout import Positioned
from callcenter.queues import changes as ch
from callcenter.queues.model import Outcome
from callcenter.store import open_store
from tests.test_pop import BRUNO, NAME, NUM, stint


def positioned(changes: list[ch.Change], live: bool = True) -> list[Positioned]:
    return [Positioned("pbx", i, c, live) for i, c in enumerate(changes, 1)]


RING = [ch.CallQueued(5000.0, "c7", "support", NUM, NAME, 1),
        ch.CallOffered(5012.0, "c7", "support", "Bruno", BRUNO, NUM, NAME)]  # fmt: skip


async def test_a_pop_carries_the_callers_last_calls_from_the_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    # Monday the number was answered by Diego (ended 400); an hour later it gave up; another number
    stints = [
        stint("a", "support", Outcome.ANSWERED, 100.0, 400.0, agent="Diego", talk_s=200.0),
        stint("b", "support", Outcome.ABANDONED, 3700.0, 3730.0),
        replace(stint("x", "support", Outcome.ANSWERED, 200.0, 300.0), caller_num="111222"),
    ]
    store.write("pbx", list(enumerate(stints, 1)))
    hub = AgentHub(lambda num, before: past_calls(store.caller_stints(num, before), before), 600.0)
    screen = hub.attach(BRUNO)
    other = hub.attach("PJSIP/1009")
    await hub.consume(positioned(RING))
    pop = screen.queue.get_nowait()
    assert (pop["type"], pop["caller_num"], pop["waited_s"], pop["repeat"]) == ("ringing", NUM, 12.0, False)
    assert [(p["began"], p["outcome"], p["agent"]) for p in pop["history"]] == [
        (3700.0, "abandoned", None), (100.0, "answered", "Diego")]  # fmt: skip
    assert other.queue.empty()  # another agent's screen sees nothing of it
    store.close()


async def test_a_screen_that_connects_mid_call_gets_the_call_and_a_replay_pops_nothing() -> None:
    hub = AgentHub()
    await hub.consume(positioned(RING, live=False))  # start-up: the journal replayed
    assert hub.screens == {}
    screen = hub.attach(BRUNO)  # the agent opens the screen while the phone rings
    assert screen.queue.get_nowait()["call_id"] == "c7"
    await hub.consume(positioned([ch.CallConnected(5015.0, "c7", "support", "Bruno", BRUNO, 15.0)]))
    assert screen.queue.get_nowait() == {
        "type": "answered",
        "at": 5015.0,
        "call_id": "c7",
        "interface": BRUNO,
    }
    hub.detach(screen)
    assert hub.screens == {}
    late = hub.attach(BRUNO)  # reconnected during the call: the pop and that it was answered
    assert [late.queue.get_nowait()["type"] for _ in range(2)] == ["ringing", "answered"]


async def test_a_screen_that_does_not_keep_up_is_cut_loose_the_others_go_on() -> None:
    hub = AgentHub()
    slow, quick = hub.attach(BRUNO), hub.attach(BRUNO)
    for i in range(SCREEN_CAPACITY + 1):
        ring = [ch.CallQueued(float(i), f"c{i}", "support", NUM, NAME, 1),
                ch.CallOffered(float(i), f"c{i}", "support", "Bruno", BRUNO, NUM, NAME)]  # fmt: skip
        await hub.consume(positioned(ring))
        quick.queue.get_nowait()
    assert slow.too_slow.is_set() and not quick.too_slow.is_set()


async def test_a_store_that_fails_still_pops_without_history() -> None:
    def broken(number: str, before: float) -> list[object]:
        raise OSError("database is locked")

    hub = AgentHub(broken)  # type: ignore[arg-type]
    screen = hub.attach(BRUNO)
    await hub.consume(positioned(RING))
    assert screen.queue.get_nowait()["history"] == []


async def test_a_ticket_is_saved_for_a_call_the_phone_answered_and_pops_with_the_next_call(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    hub = AgentHub(tickets=store, clock=lambda: 5100.0)
    screen = hub.attach(BRUNO)
    await hub.consume(positioned([*RING, ch.CallConnected(5015.0, "c7", "support", "Bruno", BRUNO, 15.0)]))
    form = {"type": "ticket", "call_id": "c7", "category": "Network", "impact": "high", "urgency": "high",
            "level": 2, "summary": "VPN down for the whole floor"}  # fmt: skip
    saved = await hub.save_ticket(BRUNO, form)
    assert (saved["type"], saved["number"], saved["priority"], saved["status"], saved["due_at"]) == (
        "ticket_saved", "pbx-c7", "P1", "assigned", 5100.0 + 4 * 3600)  # fmt: skip
    # another phone cannot document Bruno's call; a bad field is said
    other = await hub.save_ticket("PJSIP/1009", form)
    assert other["type"] == "ticket_error" and "no call this phone answered" in other["error"]
    bad = await hub.save_ticket(BRUNO, {**form, "impact": "huge"})
    assert bad["type"] == "ticket_error" and bad["error"].startswith("impact: one of")
    # the same number calls again: its open ticket comes with the pop
    assert [screen.queue.get_nowait()["type"] for _ in range(2)] == ["ringing", "answered"]
    again = [ch.CallQueued(6000.0, "c8", "support", NUM, NAME, 1),
             ch.CallOffered(6005.0, "c8", "support", "Bruno", BRUNO, NUM, NAME)]  # fmt: skip
    await hub.consume(positioned(again))
    pop = screen.queue.get_nowait()
    assert [(t["call_id"], t["category"], t["status"]) for t in pop["open_tickets"]] == [
        ("c7", "Network", "assigned")
    ]
    store.close()


def test_the_daemons_screens_and_wallboard_take_the_sites_settings(tmp_path: Path) -> None:
    from callcenter.config import parse_settings
    from callcenter.daemon import Daemon
    from callcenter.wallboard.alerts import AlertRules

    settings = parse_settings({
        "ami": {"servers": [{"name": "pbx", "username": "u", "secret": "s"}]},
        "journal": {"path": str(tmp_path / "journal.sqlite3")}, "web": {"port": 0},
        "tickets": {"categories": ["Correo", "Impresoras"], "resolve_hours": [2, 4, 8, 16, 32]},
        "wallboard": {"max_waiting": 2, "max_pause_min": 10},
    })  # fmt: skip
    daemon = Daemon(settings)
    try:
        assert daemon.hub.hello("PJSIP/1001")["categories"] == ["Correo", "Impresoras"]
        assert daemon.hub.resolve_hours == {"P1": 2.0, "P2": 4.0, "P3": 8.0, "P4": 16.0, "P5": 32.0}
        assert daemon.wallboard().rules == AlertRules(max_waiting=2, max_pause_s=600.0)
    finally:
        daemon._close()


async def test_after_dropped_changes_screens_clear_and_the_answered_call_stays_documentable(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    hub = AgentHub(tickets=store)
    screen = hub.attach(BRUNO)
    await hub.consume(positioned([*RING, ch.CallConnected(5015.0, "c7", "support", "Bruno", BRUNO, 15.0)]))
    await hub.resync(positioned(RING)[0])
    assert [screen.queue.get_nowait()["type"] for _ in range(3)] == ["ringing", "answered", "reset"]
    assert hub.attach(BRUNO).queue.empty()  # nothing stale shown to a screen that connects now
    saved = await hub.save_ticket(
        BRUNO, {"call_id": "c7", "category": "Email", "impact": "low", "urgency": "low"}
    )
    assert saved["type"] == "ticket_saved"
    store.close()


async def test_a_ring_to_many_phones_looks_the_caller_up_once() -> None:
    """ringall: ten phones ring for one caller; the store is asked once."""
    asked: list[str] = []

    def history(number: str, before: float) -> list[PastCall]:
        asked.append(number)
        return []

    hub = AgentHub(history)
    phones = [f"PJSIP/10{i:02d}" for i in range(10)]
    screens = [hub.attach(p) for p in phones]
    ring = [ch.CallQueued(0.0, "c1", "support", NUM, NAME, 1)]
    ring += [
        ch.CallOffered(1.0, "c1", "support", f"A{i}", p, NUM, NAME) for i, p in enumerate(phones)
    ]  # ringall
    await hub.consume(positioned(ring))
    assert asked == [NUM] and all(s.queue.get_nowait()["call_id"] == "c1" for s in screens)


async def test_open_cases_are_listed_and_followed_up(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.sqlite3")
    hub = AgentHub(tickets=store, clock=lambda: 9000.0)
    await hub.consume(positioned([*RING, ch.CallConnected(5015.0, "c7", "support", "Bruno", BRUNO, 15.0)]))
    form = {"call_id": "c7", "category": "Network", "impact": "high", "urgency": "high", "level": 2}
    assert (await hub.save_ticket(BRUNO, form))["status"] == "assigned"
    cases = await hub.cases()
    assert [(t["number"], t["status"]) for t in cases["tickets"]] == [("pbx-c7", "assigned")]
    done = await hub.update_case({"server": "pbx", "call_id": "c7", "status": "solved", "note": "VPN back"})
    assert (done["type"], done["status"], done["summary"]) == ("ticket_saved", "solved", "VPN back")
    assert (await hub.cases())["tickets"] == []
    missing = await hub.update_case({"server": "pbx", "call_id": "nope", "status": "solved"})
    assert missing == {"type": "ticket_error", "error": "no ticket pbx-nope"}
    store.close()
