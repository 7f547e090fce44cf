"""The state machine on hand-built event sequences, each number computed by hand."""

from __future__ import annotations

from callcenter.ami.translate import QUEUESTATUS
from callcenter.queues import changes as ch
from callcenter.queues import events as ev
from callcenter.queues.model import AgentState, Outcome, StintRecord
from callcenter.queues.tracker import Tracker, TrackerConfig

ANA = "PJSIP/1001"
BRUNO = "PJSIP/1002"


def member(
    at: float,
    change: str,
    iface: str = ANA,
    name: str = "Ana",
    queue: str = "support",
    *,
    paused: bool = False,
    reason: str = "",
    device: int = 1,
    wrapup: int = 0,
) -> ev.MemberReported:
    return ev.MemberReported(at, change, queue, name, iface, device, paused, reason, False, 0, 0, wrapup)


def join(
    at: float, call: str = "c1", queue: str = "support", linked: str | None = None
) -> ev.CallerJoinedQueue:
    return ev.CallerJoinedQueue(at, call, linked or call, "PJSIP/trunk-1", queue, "+5491100", "José", 1)


def status(at: float, value: str, call: str = "c1", queue: str | None = None) -> ev.QueueStatusSet:
    return ev.QueueStatusSet(
        at, call, call, "PJSIP/trunk-1", value, queue, "+5491100", "José", QUEUESTATUS.get(value)
    )


def run(tracker: Tracker, *events: ev.Event) -> list[ch.Change]:
    out: list[ch.Change] = []
    for e in events:
        out += tracker.apply(e)
    return out


def ended(changes: list[ch.Change]) -> list[StintRecord]:
    return [c.record for c in changes if isinstance(c, ch.StintEnded)]


def test_answered_call_with_talk_and_wrap_up() -> None:
    t = Tracker(TrackerConfig(wrapup_s={"support": 10}))
    out = run(
        t,
        member(0, "added"),
        join(100),
        ev.AgentRang(100.5, "c1", "support", "Ana", ANA),
    )
    assert any(isinstance(c, ch.CallOffered) and c.caller_num == "+5491100" for c in out)
    assert t.agent_state(ANA) == (AgentState.RINGING, "")
    out = run(
        t,
        ev.CallerLeftQueue(103, "c1", "support"),
        ev.CallAnswered(103, "c1", "c1", "support", "Ana", ANA, 3.0, 2.0),
    )
    assert t.agent_state(ANA) == (AgentState.ON_CALL, "")
    out = run(t, ev.CallCompleted(160, "c1", "support", "Ana", ANA, 3.0, 57.0, "caller"))
    (r,) = ended(out)
    assert (r.outcome, r.wait_s, r.talk_s, r.agent, r.ended_by) == (
        Outcome.ANSWERED,
        3.0,
        57.0,
        "Ana",
        "caller",
    )
    assert t.agent_state(ANA, 165) == (AgentState.WRAP_UP, "")
    assert t.agent_state(ANA, 170.5) == (AgentState.AVAILABLE, "")
    assert (t.agents[ANA].answered, t.agents[ANA].talk_s) == (1, 57.0)
    assert r.wrapup_s == 10.0  # the queue's wrapuptime from the settings: AHT counts it


def test_a_stints_wrap_up_is_the_members_else_the_queues_else_unknown() -> None:
    """Asterisk reports a member's own wrapuptime (QueueMember* Wrapuptime) but never a queue's."""
    answered = [ev.CallAnswered(3, "c1", "c1", "support", "Ana", ANA, 3.0, 1.0),
                ev.CallCompleted(60, "c1", "support", "Ana", ANA, 3.0, 57.0, "agent")]  # fmt: skip
    for config, wrapup, want in (({"support": 10}, 25, 25.0), ({"support": 10}, 0, 10.0), ({}, 0, None)):
        t = Tracker(TrackerConfig(wrapup_s=config))
        (r,) = ended(run(t, member(0, "added", wrapup=wrapup), join(0), *answered))
        assert r.wrapup_s == want


def test_abandon_is_told_from_the_hangup_request_before_it() -> None:
    t = Tracker()
    out = run(
        t,
        member(0, "added"),
        join(10),
        ev.ChannelHangupRequested(13, "c1", "c1"),
        ev.CallerExitedUnanswered(13, "c1", "support", 3.0, 1),
    )
    (r,) = ended(out)
    assert (r.outcome, r.wait_s, r.short_abandon) == (Outcome.ABANDONED, 3.0, True)


def test_local_channel_abandon_seen_through_the_originating_leg() -> None:
    t = Tracker()
    out = run(
        t,
        join(10, "c1;2", linked="c1;1"),
        ev.ChannelHungUp(20, "c1;1", "c1;1", 16),
        ev.CallerExitedUnanswered(20, "c1;2", "support", 10.0, 1),
    )
    (r,) = ended(out)
    assert (r.outcome, r.short_abandon) == (Outcome.ABANDONED, False)


def test_short_abandon_threshold_is_strict_and_configurable() -> None:
    for threshold, wait, short in ((5.0, 5.0, False), (5.0, 4.0, True), (10.0, 9.0, True)):
        t = Tracker(TrackerConfig(short_abandon_s=threshold))
        out = run(
            t,
            join(0),
            ev.ChannelHangupRequested(wait, "c1", "c1"),
            ev.CallerExitedUnanswered(wait, "c1", "support", wait, 1),
        )
        assert ended(out)[0].short_abandon is short


def test_timeout_waits_for_queuestatus_and_counts_once() -> None:
    t = Tracker()
    out = run(
        t,
        member(0, "added"),
        join(0),
        ev.CallerExitedUnanswered(30, "c1", "support", 30.0, 1),
        ev.CallerLeftQueue(30, "c1", "support"),
    )
    assert ended(out) == []
    out = run(
        t, status(30, "TIMEOUT"), status(30, "TIMEOUT", queue="support"), ev.ChannelHungUp(31, "c1", "c1", 16)
    )
    assert [r.outcome for r in ended(out)] == [Outcome.TIMEOUT]


def test_without_any_status_the_members_decide() -> None:
    t = Tracker()
    out = run(
        t,
        member(0, "added", paused=True, reason="lunch"),
        join(0),
        ev.CallerExitedUnanswered(5, "c1", "support", 5.0, 1),
        ev.ChannelHungUp(6, "c1", "c1", 16),
    )
    assert [r.outcome for r in ended(out)] == [Outcome.LEAVEEMPTY]
    t = Tracker()
    out = run(
        t,
        member(0, "added"),
        join(0),
        ev.CallerExitedUnanswered(5, "c1", "support", 5.0, 1),
        ev.ChannelHungUp(6, "c1", "c1", 16),
    )
    assert [r.outcome for r in ended(out)] == [Outcome.TIMEOUT]


def test_withdraw_and_leave_empty_statuses() -> None:
    for value, outcome in (("WITHDRAW", Outcome.WITHDRAW), ("LEAVEEMPTY", Outcome.LEAVEEMPTY)):
        t = Tracker()
        out = run(t, join(0), ev.CallerExitedUnanswered(5, "c1", "support", 5.0, 1), status(5, value))
        assert [r.outcome for r in ended(out)] == [outcome]


def test_exit_with_key_is_a_leave_with_neither_abandon_nor_answer() -> None:
    t = Tracker()
    out = run(t, join(0), ev.CallerLeftQueue(7, "c1", "support"), ev.ChannelHungUp(20, "c1", "c1", 16))
    (r,) = ended(out)
    assert (r.outcome, r.wait_s) == (Outcome.EXITWITHKEY, 7.0)


def test_refused_join_counted_once_from_variable_and_user_event() -> None:
    t = Tracker()
    out = run(
        t,
        ev.QueueAppStarted(1, "c1", "support"),
        status(1, "FULL"),
        status(1, "FULL", queue="support"),
        ev.QueueAppStarted(2, "c1", "support"),
        status(2, "JOINEMPTY"),
        status(2, "JOINEMPTY", queue="support"),
    )
    assert [(r.queue, r.outcome) for r in ended(out)] == [
        ("support", Outcome.FULL),
        ("support", Outcome.JOINEMPTY),
    ]


def test_refused_join_from_user_event_alone() -> None:
    t = Tracker()
    out = run(t, status(1, "JOINEMPTY", queue="support-l2"), status(1, "JOINEMPTY", queue="support-l2"))
    assert [(r.queue, r.outcome) for r in ended(out)] == [("support-l2", Outcome.JOINEMPTY)] * 2


def test_refused_join_with_unknown_queue_is_an_anomaly() -> None:
    t = Tracker()
    out = run(t, status(1, "FULL"))
    assert ended(out) == [] and t.anomalies == 1


def test_agent_states_pause_reason_logout_and_unavailable() -> None:
    t = Tracker()
    run(t, member(0, "added"), member(0, "added", BRUNO, "Bruno"))
    run(t, member(5, "pause", paused=True, reason="lunch"))
    assert t.agent_state(ANA) == (AgentState.PAUSED, "lunch")
    run(t, member(9, "pause"))
    assert t.agent_state(ANA) == (AgentState.AVAILABLE, "")
    run(t, member(10, "status", BRUNO, "Bruno", device=5))
    assert t.agent_state(BRUNO) == (AgentState.UNAVAILABLE, "")
    out = run(t, member(11, "removed", BRUNO, "Bruno"))
    assert t.agent_state(BRUNO) == (AgentState.LOGGED_OUT, "")
    assert [c.state for c in out if isinstance(c, ch.AgentChanged)] == [AgentState.LOGGED_OUT]


def test_ring_no_answer_counts_per_agent_and_per_stint() -> None:
    t = Tracker()
    out = run(
        t,
        member(0, "added"),
        member(0, "added", BRUNO, "Bruno"),
        join(0),
        ev.AgentRang(0, "c1", "support", "Ana", ANA),
        ev.AgentRingUnanswered(8, "c1", "support", "Ana", ANA, 8.0),
        ev.AgentRang(9, "c1", "support", "Bruno", BRUNO),
        ev.CallerLeftQueue(10, "c1", "support"),
        ev.CallAnswered(10, "c1", "c1", "support", "Bruno", BRUNO, 10.0, 1.0),
        ev.CallCompleted(20, "c1", "support", "Bruno", BRUNO, 10.0, 10.0, "transfer"),
    )
    (r,) = ended(out)
    assert (r.ring_no_answer, r.transferred, t.agents[ANA].ring_no_answer) == (1, True, 1)
    assert t.agent_state(ANA) == (AgentState.AVAILABLE, "")


def test_caller_ringing_agent_then_abandons_clears_the_ring() -> None:
    t = Tracker()
    run(
        t,
        member(0, "added"),
        join(0),
        ev.AgentRang(1, "c1", "support", "Ana", ANA),
        ev.ChannelHangupRequested(4, "c1", "c1"),
        ev.CallerExitedUnanswered(4, "c1", "support", 4.0, 1),
    )
    assert t.agent_state(ANA) == (AgentState.AVAILABLE, "")


def test_service_level_from_queue_variable_maps_to_the_callers_queue() -> None:
    t = Tracker()
    run(t, join(0, queue="support-l2"), ev.QueueServiceLevelSeen(3, None, "c1", 30))
    assert t.queues["support-l2"].servicelevel_s == 30
    run(t, ev.QueueListed(4, "support", 0, "rrmemory", 6))
    assert t.queues["support"].servicelevel_s is None  # 0 means not configured in app_queue


def test_events_of_a_call_never_seen_joining_adopt_a_stint() -> None:
    t = Tracker()
    out = run(t, ev.CallCompleted(50, "c9", "support", "Ana", ANA, 4.0, 30.0, "agent"))
    (r,) = ended(out)
    assert (r.outcome, r.join_seen, r.wait_s, r.talk_s) == (Outcome.ANSWERED, False, 4.0, 30.0)


def test_resync_closes_gap_endings_and_adopts_gap_joins() -> None:
    t = Tracker()
    run(
        t,
        ev.LinkStarted(0, "11.0.0"),
        member(0, "added"),
        member(0, "added", BRUNO, "Bruno"),
        join(10, "waiting-still"),
        join(11, "gone"),
        join(12, "answered-in-gap"),
        join(13, "talking"),
        ev.CallAnswered(14, "talking", "talking", "support", "Ana", ANA, 1.0, 1.0),
        join(15, "talk-ended"),
        ev.CallAnswered(16, "talk-ended", "talk-ended", "support", "Ana", ANA, 1.0, 1.0),
    )
    snapshot = [
        ev.LinkStarted(60, "11.0.0"),
        ev.QueueListed(60, "support", 20, "rrmemory", 0),
        member(60, "snapshot"),
        member(60, "snapshot", BRUNO, "Bruno"),
        ev.WaitingCallerListed(60, "waiting-still", "ch-w", "support", "+1", "", 1, 50.0),
        ev.WaitingCallerListed(60, "new", "ch-n", "support", "+2", "", 2, 7.0),
        ev.SnapshotCompleted(60, "queues"),
        ev.ChannelListed(
            60, "answered-in-gap", "answered-in-gap", "PJSIP/t-3", "Queue", "support,t", "b1", "+3", ""
        ),
        ev.ChannelListed(
            60,
            "agent-leg",
            "answered-in-gap",
            "PJSIP/1002-0000001",
            "AppQueue",
            "(Outgoing Line)",
            "b1",
            "",
            "",
            "PJSIP/1002",
        ),
        ev.ChannelListed(60, "talking", "talking", "PJSIP/t-4", "Queue", "support,t", "b2", "+4", ""),
        ev.ChannelListed(
            60,
            "agent-leg2",
            "talking",
            "PJSIP/1001-0000002",
            "AppQueue",
            "(Outgoing Line)",
            "b2",
            "",
            "",
            "PJSIP/1001",
        ),
        ev.SnapshotCompleted(60, "channels"),
    ]
    out = run(t, *snapshot)
    closed = {r.call_id: r for r in ended(out)}
    assert closed["gone"].outcome is Outcome.UNKNOWN and not closed["gone"].end_seen
    assert closed["talk-ended"].outcome is Outcome.ANSWERED and not closed["talk-ended"].end_seen
    assert set(closed) == {"gone", "talk-ended"}
    assert t.stints["answered-in-gap"].agent == "Bruno"
    assert t.stints["new"].joined_at == 53.0 and not t.stints["new"].join_seen
    assert set(t.stints) == {"waiting-still", "answered-in-gap", "talking", "new"}
    resynced = [c for c in out if isinstance(c, ch.LinkResynced)]
    assert [(c.closed, c.adopted) for c in resynced] == [(2, 1)]
    # A later snapshot on the same link changes nothing: reconciliation happens once per link.
    out = run(t, ev.SnapshotCompleted(70, "queues"), ev.SnapshotCompleted(70, "channels"))
    assert ended(out) == [] and len(t.stints) == 4


def test_finish_settles_whatever_is_open() -> None:
    t = Tracker()
    run(
        t,
        join(0, "a"),
        join(0, "b"),
        ev.CallAnswered(3, "b", "b", "support", "Ana", ANA, 3.0, 1.0),
        join(0, "c"),
        ev.CallerExitedUnanswered(9, "c", "support", 9.0, 1),
    )
    outcomes = {r.call_id: (r.outcome, r.end_seen) for r in ended(t.finish())}
    assert outcomes == {
        "a": (Outcome.UNKNOWN, False),
        "b": (Outcome.ANSWERED, False),
        "c": (Outcome.LEAVEEMPTY, True),
    }  # no member known


def test_queue_views_waiting_longest_and_agents_by_state() -> None:
    from callcenter.queues.views import queue_views

    t = Tracker()
    run(
        t,
        member(0, "added"),
        member(0, "added", BRUNO, "Bruno", paused=True, reason="break"),
        join(10, "a"),
        join(25, "b"),
        ev.AgentRang(26, "b", "support", "Ana", ANA),
    )
    (view,) = queue_views(t, now=40.0)
    assert [(c.call_id, c.wait_s) for c in view.waiting] == [("a", 30.0), ("b", 15.0)]
    assert view.longest_wait_s == 30.0
    assert view.agents == {AgentState.RINGING: 1, AgentState.PAUSED: 1}


def test_agent_dump_keeps_the_caller_queued() -> None:
    t = Tracker()
    run(
        t,
        member(0, "added"),
        join(0),
        ev.AgentRang(1, "c1", "support", "Ana", ANA),
        ev.CallDumpedByAgent(2, "c1", "support", "Ana"),
    )
    assert t.agent_state(ANA) == (AgentState.AVAILABLE, "")
    assert "c1" in t.stints and t.anomalies == 0


def test_abandon_of_a_caller_first_seen_at_its_abandon() -> None:
    # After a gap the hangup request can come before anything else of the call (test_daemon_sim).
    t = Tracker()
    out = run(
        t,
        member(0, "added"),
        ev.ChannelHangupRequested(10, "c7", "c7"),
        ev.CallerExitedUnanswered(10, "c7", "support", 9.0, 1),
    )
    assert [(r.outcome, r.join_seen) for r in ended(out)] == [(Outcome.ABANDONED, False)]


def test_wrap_up_ending_at_t_makes_the_agent_available_at_exactly_t() -> None:
    t = Tracker(TrackerConfig(wrapup_s={"support": 10}))
    run(
        t,
        member(0, "added"),
        join(100),
        ev.CallAnswered(103, "c1", "c1", "support", "Ana", ANA, 3.0, 2.0),
        ev.CallCompleted(160, "c1", "support", "Ana", ANA, 3.0, 57.0, "agent"),
    )
    assert t.agent_state(ANA, 169.999) == (AgentState.WRAP_UP, "")
    assert t.agent_state(ANA, 170.0) == (AgentState.AVAILABLE, "")


def test_agent_complete_with_no_caller_channel_ends_the_members_call() -> None:
    """Asterisk 22 under load: the caller's channel is gone when AgentComplete is published, so
    the event has no Uniqueid; the member (queue + interface) says which stint it ends."""
    t = Tracker(TrackerConfig(wrapup_s={"support": 10}))
    run(
        t,
        member(0, "added"),
        member(0, "added", BRUNO, "Bruno"),
        join(100, "c1"),
        join(101, "c2"),
        ev.CallAnswered(102, "c1", "c1", "support", "Ana", ANA, 2.0, 1.0),
        ev.CallAnswered(104, "c2", "c2", "support", "Bruno", BRUNO, 3.0, 1.0),
    )
    out = run(t, ev.CallCompleted(111, None, "support", "Bruno", BRUNO, 3.0, 7.0, "agent"))
    (r,) = ended(out)
    assert (r.call_id, r.outcome, r.wait_s, r.talk_s, r.agent, r.end_seen) == (
        "c2", Outcome.ANSWERED, 3.0, 7.0, "Bruno", True
    )  # fmt: skip
    assert (t.agents[BRUNO].talk_s, t.agents[ANA].talk_s, t.anomalies) == (7.0, 0.0, 0)
    assert t.agent_state(BRUNO, 111) == (AgentState.WRAP_UP, "")
    assert t.agent_state(ANA, 111) == (AgentState.ON_CALL, "")
    assert set(t.stints) == {"c1"}


def test_agent_complete_with_no_caller_and_no_call_of_that_member_is_an_anomaly() -> None:
    t = Tracker()
    run(
        t,
        member(0, "added"),
        join(100, "c1"),
        ev.CallAnswered(102, "c1", "c1", "support", "Ana", ANA, 2.0, 1.0),
    )
    # Bruno talks to nobody, and Ana's call is in another queue than the event's.
    out = run(
        t,
        ev.CallCompleted(110, None, "support", "Bruno", BRUNO, 3.0, 7.0, "agent"),
        ev.CallCompleted(110, None, "support-l2", "Ana", ANA, 2.0, 8.0, "agent"),
    )
    assert ended(out) == [] and t.anomalies == 2 and set(t.stints) == {"c1"}
    assert t.agents[ANA].talk_s == 0.0


def test_a_caller_who_abandons_while_the_snapshot_is_read_is_not_brought_back() -> None:
    """The status snapshot lists a caller waiting; before the channel list completes it, the
    caller abandons (a live event). Reconciling the snapshot must not adopt it again: seen in
    the daemon-against-simulator run as one stint reported twice (unknown, then abandoned)."""
    t = Tracker()
    out = run(
        t,
        ev.LinkStarted(60, "11.0.0"),
        ev.QueueListed(60, "support", 20, "rrmemory", 0),
        member(60, "snapshot"),
        ev.WaitingCallerListed(60, "c1", "ch-1", "support", "+1", "", 1, 3.0),
        ev.SnapshotCompleted(60, "queues"),
        ev.ChannelHangupRequested(61, "c1", "c1"),
        ev.CallerExitedUnanswered(61, "c1", "support", 4.0, 1),
        ev.SnapshotCompleted(61, "channels"),
    )
    assert [(r.call_id, r.outcome, r.wait_s, r.join_seen) for r in ended(out)] == [
        ("c1", Outcome.ABANDONED, 4.0, False)
    ]
    assert t.stints == {}
    out = run(t, ev.CallerLeftQueue(61, "c1", "support"), ev.ChannelHungUp(62, "c1", "c1", 16))
    assert ended(out) == [] and t.stints == {}


def test_a_late_event_of_an_ended_stint_does_not_open_it_again() -> None:
    t = Tracker()
    out = run(
        t,
        member(0, "added"),
        join(0),
        ev.CallAnswered(2, "c1", "c1", "support", "Ana", ANA, 2.0, 1.0),
        ev.CallCompleted(9, "c1", "support", "Ana", ANA, 2.0, 7.0, "agent"),
        ev.CallAnswered(9.5, "c1", "c1", "support", "Ana", ANA, 2.0, 1.0),  # out of order
    )
    out += t.finish()
    assert [(r.outcome, r.talk_s) for r in ended(out)] == [(Outcome.ANSWERED, 7.0)]
    assert t.anomalies == 1 and t.agents[ANA].answered == 1


def test_a_periodic_status_check_closes_calls_whose_end_never_came() -> None:
    """On a link that stays up, the answer to a QueueStatus opens a snapshot like a reconnect
    does: a stint Asterisk no longer lists is closed (end unseen) and forgotten; one it lists
    stays; one touched by an event since the check began is current."""
    t = Tracker()
    run(
        t,
        ev.LinkStarted(0, "11.0.0"),
        ev.SnapshotCompleted(0, "queues"),
        ev.SnapshotCompleted(0, "channels"),
        member(0, "added"),
        join(10, "ghost"),
        join(11, "waiting"),
        ev.QueueAppStarted(12, "ghost", "support"),
    )
    assert "ghost" in t.last_queue
    out = run(
        t,
        ev.SnapshotStarted(300),
        join(300.5, "new"),
        ev.QueueListed(300, "support", 20, "rrmemory", 0),
        member(300, "snapshot"),
        ev.WaitingCallerListed(300, "waiting", "ch-w", "support", "+1", "", 1, 289.0),
        ev.SnapshotCompleted(300, "queues"),
        ev.SnapshotCompleted(301, "channels"),
    )
    (r,) = ended(out)
    assert (r.call_id, r.outcome, r.end_seen, r.join_seen) == ("ghost", Outcome.UNKNOWN, False, True)
    assert set(t.stints) == {"waiting", "new"}
    assert "ghost" not in t.last_queue and "ghost" not in t.queue_app
    assert [(c.closed, c.adopted) for c in out if isinstance(c, ch.LinkResynced)] == [(1, 0)]


def _counters(at: float, completed: int, abandoned: int) -> list[ev.Event]:
    """A status check whose QueueParams carries app_queue's counters."""
    return [
        ev.SnapshotStarted(at),
        ev.QueueListed(at, "support", 20, "rrmemory", 0, completed, abandoned),
        ev.SnapshotCompleted(at, "queues"),
        ev.SnapshotCompleted(at, "channels"),
    ]


def test_calls_asterisk_counted_and_the_daemon_never_saw_are_flagged() -> None:
    t = Tracker()
    assert [c for c in run(t, *_counters(100, 10, 2)) if isinstance(c, ch.CallsUnseen)] == []  # a baseline
    # seen since: one abandon (caller hung up while waiting)
    seen = run(t, join(110, "a"), ev.ChannelHangupRequested(115, "a", "a"),
               ev.CallerExitedUnanswered(115, "a", "support", 5.0, 1))  # fmt: skip
    assert [r.outcome for r in ended(seen)] == [Outcome.ABANDONED]
    # Asterisk now says 3 more completed and 2 more abandoned: 5 ends, 1 seen, 4 unseen
    (flag,) = [c for c in run(t, *_counters(400, 13, 4)) if isinstance(c, ch.CallsUnseen)]
    assert (flag.queue, flag.since, flag.at, flag.count) == ("support", 100, 400, 4)
    # nothing new on either side: no flag; counters that went back (Asterisk restarted): no flag
    assert [c for c in run(t, *_counters(700, 13, 4)) if isinstance(c, ch.CallsUnseen)] == []
    assert [c for c in run(t, *_counters(800, 0, 0)) if isinstance(c, ch.CallsUnseen)] == []


def test_sessions_and_pauses_per_queue_end_as_intervals() -> None:
    """Login to logout and pause to unpause per queue; a new reason ends a pause and begins
    another; a logout ends the pause first; what a snapshot showed has no known beginning."""
    t = Tracker()
    out = run(
        t,
        member(10, "added"),
        member(20, "pause", paused=True, reason="lunch"),
        member(25, "pause", paused=True, reason="lunch"),  # paused again, same reason: the same pause
        member(50, "pause", paused=True, reason="training"),
        member(70, "pause"),
        member(80, "pause", paused=True, reason="break"),
        member(90, "removed"),
        member(95, "snapshot", BRUNO, "Bruno", paused=True, reason="meeting"),
        member(99, "removed", BRUNO, "Bruno"),
    )
    spans = [c for c in out if isinstance(c, ch.SessionEnded | ch.PauseEnded)]
    assert spans == [
        ch.PauseEnded("support", ANA, "Ana", "lunch", 20, 50),
        ch.PauseEnded("support", ANA, "Ana", "training", 50, 70),
        ch.PauseEnded("support", ANA, "Ana", "break", 80, 90),
        ch.SessionEnded("support", ANA, "Ana", 10, 90),
        ch.PauseEnded("support", BRUNO, "Bruno", "meeting", 95, 99, whole=False),
        ch.SessionEnded("support", BRUNO, "Bruno", 95, 99, whole=False),
    ]


def test_an_unanswered_ring_is_a_change() -> None:
    t = Tracker()
    out = run(t, member(0, "added"), join(1), ev.AgentRang(2, "c1", "support", "Ana", ANA),
              ev.AgentRingUnanswered(17, "c1", "support", "Ana", ANA, 15.0))  # fmt: skip
    assert [c for c in out if isinstance(c, ch.RingUnanswered)] == [
        ch.RingUnanswered(17, "c1", "support", "Ana", ANA, 15.0)
    ]
