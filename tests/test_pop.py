"""The agent's screen pop, decided without IO: what rings where, the journey, the caller's past."""

from __future__ import annotations

from dataclasses import replace

import pytest

from callcenter.cti.pop import (
    Answered,
    CallEnded,
    PastCall,
    PopBook,
    RingEnded,
    Ringing,
    known_number,
    past_calls,
    with_history,
)
from callcenter.queues import changes as ch
from callcenter.queues.model import Outcome, StintRecord
from tests.asterisk_truth import SCENARIOS

NUM, NAME = "0991234567", "Rosa Paz"
BRUNO, DIEGO, ELENA = "PJSIP/1002", "PJSIP/1004", "PJSIP/1005"


def stint(call: str, queue: str, outcome: Outcome, joined: float, ended: float, **kw: object) -> StintRecord:
    base = StintRecord(call_id=call, linked_id=call, queue=queue, caller_num=NUM, caller_name=NAME,
                       outcome=outcome, joined_at=joined, ended_at=ended, wait_s=None, talk_s=None,
                       agent=None, interface=None, ended_by=None, transfer_target=None, short_abandon=False,
                       ring_no_answer=0, join_seen=True, end_seen=True)  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_call_rings_unanswered_at_level_1_and_is_answered_at_level_2() -> None:
    book = PopBook("pbx")
    out = []
    changes: list[ch.Change] = [
        ch.IvrChoiceMade(0.0, "c1", "c1", "", NUM, "2"),
        ch.CallQueued(10.0, "c1", "support", NUM, NAME, 1),
        ch.CallOffered(25.0, "c1", "support", "Bruno", BRUNO, NUM, NAME),
        ch.RingUnanswered(40.0, "c1", "support", "Bruno", BRUNO, 15.0),
        ch.StintEnded(stint("c1", "support", Outcome.TIMEOUT, 10.0, 70.0, wait_s=60.0)),
        ch.CallQueued(71.0, "c1", "support-l2", NUM, NAME, 1),
        ch.CallOffered(75.0, "c1", "support-l2", "Diego", DIEGO, NUM, NAME),
        ch.CallConnected(80.0, "c1", "support-l2", "Diego", DIEGO, 9.0),
    ]
    for change in changes:
        out += book.take(change)
    first, ended, second, answered = out
    assert isinstance(first, Ringing) and isinstance(second, Ringing)
    # waited 15 s in level 1 when Bruno's phone rang, chose 2 in the IVR, came from nowhere before
    assert (first.pop.interface, first.pop.waited_s, first.pop.journey, first.pop.ivr_choice) == (
        BRUNO, 15.0, (), "2")  # fmt: skip
    assert ended == RingEnded(40.0, "c1", BRUNO, "unanswered")
    # at level 2: 4 s in this queue, 61 s since the call first queued, level 1 behind it
    assert (second.pop.waited_s, second.pop.arrived_at, second.pop.journey) == (4.0, 10.0, ("support",))
    assert answered == Answered(80.0, "c1", DIEGO)
    assert book.screen(DIEGO) == [second, answered] and book.screen(BRUNO) == []
    done = stint("c1", "support-l2", Outcome.ANSWERED, 71.0, 200.0, agent="Diego", interface=DIEGO,
                 talk_s=120.0, ended_by="caller")  # fmt: skip
    assert book.take(ch.StintEnded(done)) == [CallEnded(200.0, "c1", DIEGO, 120.0, "caller")]
    assert book.screen(DIEGO) == []


def test_ringall_stops_the_other_phones_and_a_caller_who_hangs_up_stops_them_all() -> None:
    book = PopBook("pbx")
    book.take(ch.CallQueued(0.0, "c1", "support", NUM, NAME, 1))
    book.take(ch.CallOffered(2.0, "c1", "support", "Bruno", BRUNO, NUM, NAME))
    book.take(ch.CallOffered(2.0, "c1", "support", "Elena", ELENA, NUM, NAME))
    assert sorted(book.take(ch.CallConnected(5.0, "c1", "support", "Elena", ELENA, 5.0)), key=str) == sorted(
        [Answered(5.0, "c1", ELENA), RingEnded(5.0, "c1", BRUNO, "answered_elsewhere")], key=str
    )
    book.take(ch.CallQueued(10.0, "c2", "support", "", "", 1))  # a withheld number
    book.take(ch.CallOffered(12.0, "c2", "support", "Bruno", BRUNO, "", ""))
    gone = stint("c2", "support", Outcome.ABANDONED, 10.0, 14.0, wait_s=4.0)
    assert book.take(ch.StintEnded(gone)) == [RingEnded(14.0, "c2", BRUNO, "abandoned")]
    assert book.screen(BRUNO) == []


def test_a_call_answered_with_no_ring_seen_is_still_the_agents_call() -> None:
    """After a link gap the tracker adopts calls in progress: no offer was seen, the screen
    that connects still shows the call in hand."""
    book = PopBook("pbx")
    assert book.take(ch.CallConnected(5.0, "c9", "support", "Bruno", BRUNO, 12.0)) == [
        Answered(5.0, "c9", BRUNO)
    ]
    (ringing, answered) = book.screen(BRUNO)
    assert (
        isinstance(ringing, Ringing)
        and ringing.pop.waited_s == 12.0
        and answered == Answered(5.0, "c9", BRUNO)
    )


def test_memory_is_bounded_by_calls_remembered() -> None:
    book = PopBook("pbx")
    for i in range(50_000):
        book.take(ch.CallQueued(float(i), f"c{i}", "support", NUM, NAME, 1))
    assert len(book._calls) <= 20_000


def test_past_calls_one_per_journey_newest_first_without_the_call_ringing_now() -> None:
    stints = [
        # Monday: level 1 timed out, level 2 answered by Diego (the journey's last answer)
        stint("a", "support", Outcome.TIMEOUT, 100.0, 160.0),
        stint("a", "support-l2", Outcome.ANSWERED, 161.0, 400.0, agent="Diego", talk_s=200.0),
        stint("b", "support", Outcome.ABANDONED, 1000.0, 1030.0),  # Tuesday: gave up
        stint("now", "support", Outcome.ANSWERED, 5000.0, 5100.0, agent="Ana", talk_s=50.0),
    ]
    assert past_calls(stints, before=5000.0) == (
        PastCall(1000.0, 1030.0, ("support",), "abandoned", False, None, None),
        PastCall(100.0, 400.0, ("support", "support-l2"), "answered", True, "Diego", 200.0),
    )
    assert len(past_calls(stints, before=5000.0, limit=1)) == 1


def test_a_repeat_is_the_fcr_rule_at_its_boundary() -> None:
    """A call that arrives within the window of the end of the number's previous, answered call
    is a repeat (FCR counts that first call unresolved); one second later it is not; an
    abandoned previous call makes no repeat."""
    pop = PopBook("pbx")
    pop.take(ch.CallQueued(1000.0, "c1", "support", NUM, NAME, 1))
    (ringing,) = pop.take(ch.CallOffered(1010.0, "c1", "support", "Bruno", BRUNO, NUM, NAME))
    assert isinstance(ringing, Ringing)
    answered = PastCall(100.0, 400.0, ("support",), "answered", True, "Diego", 200.0)
    assert with_history(ringing.pop, [answered], 600.0).repeat  # arrived 1000 = 400 + 600
    assert not with_history(ringing.pop, [answered], 599.0).repeat
    gave_up = replace(answered, outcome="abandoned", answered=False, agent=None)
    assert not with_history(ringing.pop, [gave_up, answered], 600.0).repeat
    assert with_history(ringing.pop, [answered], 600.0).history == (answered,)


def test_withheld_numbers_are_not_looked_up() -> None:
    assert known_number("0991234567") and known_number("+593 99 123 4567")
    assert not any(known_number(n) for n in ["", "anonymous", "Unknown", "<unknown>", "12", " restricted "])


def _screens_of(name: str) -> list[object]:
    from callcenter.ami.trace import read_chunks
    from callcenter.ingest import Ingest
    from tests.asterisk_truth import TRACES

    ingest, book, out = Ingest(), PopBook("lab"), []
    for chunk in read_chunks(TRACES / f"{name}.ami.gz"):
        for change in ingest.feed(chunk):
            out += book.take(change)
    return out


def test_a_real_ring_no_answer_pops_at_ana_then_at_bruno_as_queue_log_says() -> None:
    """h_ring_no_answer (Asterisk 22): queue_log has RINGNOANSWER Ana 8000 ms, CONNECT Bruno after a
    10 s wait, COMPLETEAGENT after 4 s of talk; the caller chose 1 in the IVR."""
    ana, bruno = "Local/agent1@agents/n", "Local/agent2@agents/n"
    kinds = [(type(m).__name__, m.pop.interface if isinstance(m, Ringing) else m.interface)  # type: ignore[attr-defined]
             for m in _screens_of("h_ring_no_answer")]  # fmt: skip
    assert kinds == [("Ringing", ana), ("RingEnded", ana), ("Ringing", bruno), ("Answered", bruno),
                     ("CallEnded", bruno)]  # fmt: skip
    first, ended, second, _, done = _screens_of("h_ring_no_answer")
    assert isinstance(first, Ringing) and isinstance(second, Ringing)
    assert (first.pop.caller_num, first.pop.caller_name, first.pop.ivr_choice) == (
        "+5491155550001",
        "Cliente 01",
        "1",
    )
    assert isinstance(ended, RingEnded) and ended.why == "unanswered"
    assert isinstance(done, CallEnded) and (done.talk_s, done.ended_by) == (4.0, "agent")  # COMPLETEAGENT


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_ring_of_every_real_trace_ends_once_as_queue_log_counts(name: str) -> None:
    """Each pop ends exactly once (taken, not taken, or the caller gone); the screens' count of
    unanswered rings and of answers equals queue_log's RINGNOANSWER and CONNECT lines."""
    from tests.asterisk_truth import TRACES

    ringing: set[tuple[str, str]] = set()
    unanswered = answered = 0
    for m in _screens_of(name):
        if isinstance(m, Ringing):
            key = (m.pop.call_id, m.pop.interface)
            assert key not in ringing, f"{key} popped twice"
            ringing.add(key)
        elif isinstance(m, (Answered, RingEnded)):
            if (m.call_id, m.interface) in ringing:
                ringing.remove((m.call_id, m.interface))
            else:
                assert isinstance(m, Answered), f"{m} ended a ring never popped"
            unanswered += isinstance(m, RingEnded) and m.why == "unanswered"
            answered += isinstance(m, Answered)
    verbs = [line.split("|")[4] for line in (TRACES / f"{name}.queue_log").read_text().splitlines()]
    assert (unanswered, answered) == (verbs.count("RINGNOANSWER"), verbs.count("CONNECT"))


@pytest.mark.parametrize("cut", ["Event: AgentCalled", "Event: AgentConnect"])
def test_a_book_seeded_from_a_restored_tracker_shows_the_call_as_one_fed_every_change(cut: str) -> None:
    """After a restart from a checkpoint the earlier changes are not replayed: the book is seeded
    from the tracker. Cut h_ring_no_answer after Bruno's phone rings, or after he answers: the
    seeded book's screen for Bruno holds the same call, caller, queue and state as a fed book's,
    and (answered) the call is one his screen may document."""
    from callcenter.ingest import Ingest
    from tests.test_screens import events

    bruno = "Local/agent2@agents/n"
    trace = events("h_ring_no_answer")
    last = max(i for i, e in enumerate(trace) if e.startswith(cut.encode()))
    ingest, fed = Ingest(), PopBook("lab")
    for event in trace[: last + 1]:
        for change in ingest.feed(event):
            fed.take(change)
    seeded = PopBook("lab")
    seeded.seed(ingest.tracker)

    def shown(book: PopBook) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        for m in book.screen(bruno):
            if isinstance(m, Ringing):
                out.append(("ringing", m.pop.call_id, m.pop.caller_num, m.pop.queue, m.pop.member))
            elif isinstance(m, Answered):
                out.append(("answered", m.call_id))
        return out

    assert shown(seeded) == shown(fed) and shown(fed)
    answered = cut == "Event: AgentConnect"
    assert (seeded.answered(bruno, "1795346558.1") is not None) is answered
