"""AMI messages → domain events: spellings, units, clocks and bad input."""

from __future__ import annotations

from callcenter.ami.codec import Anomaly, Banner, Decoder, Message
from callcenter.ami.translate import Rejected, Translator
from callcenter.queues import events as ev


def msg(text: str) -> Message:
    (m,) = Decoder().feed(text.replace("\n", "\r\n").encode() + b"\r\n")
    assert isinstance(m, Message)
    return m


def test_ring_times_have_two_units() -> None:
    t = Translator()
    rna = t.translate(
        msg(
            "Event: AgentRingNoAnswer\nUniqueid: 1.1\nQueue: q\nMemberName: Ana\n"
            "Interface: PJSIP/1\nRingTime: 8000\n"
        )
    )
    con = t.translate(
        msg(
            "Event: AgentConnect\nUniqueid: 1.1\nLinkedid: 1.0\nQueue: q\nMemberName: Ana\n"
            "Interface: PJSIP/1\nHoldTime: 12\nRingTime: 3\n"
        )
    )
    assert isinstance(rna, ev.AgentRingUnanswered) and rna.ring_s == 8.0
    assert isinstance(con, ev.CallAnswered) and (con.ring_s, con.wait_s, con.linked_id) == (3.0, 12.0, "1.0")


def test_snapshot_member_spells_name_and_location() -> None:
    e = Translator().translate(
        msg(
            "Event: QueueMember\nQueue: support\nName: Ana\nLocation: Local/agent1@agents/n\n"
            "Status: 1\nPaused: 1\nPausedReason: lunch\nWrapuptime: 0\nActionID: a-1\n"
        )
    )
    assert isinstance(e, ev.MemberReported)
    assert (e.change, e.member, e.interface, e.paused, e.paused_reason) == (
        "snapshot",
        "Ana",
        "Local/agent1@agents/n",
        True,
        "lunch",
    )


def test_time_from_timestamp_else_receive_time_on_asterisks_clock() -> None:
    t = Translator()
    a = t.translate(msg("Event: Hangup\nTimestamp: 1000.5\nUniqueid: 1.1\nLinkedid: 1.1\nCause: 16\n"), 990.0)
    b = t.translate(msg("Event: QueueEntry\nQueue: q\nUniqueid: 2.2\nWait: 3\nPosition: 1\n"), 995.0)
    assert isinstance(a, ev.ChannelHungUp) and a.at == 1000.5
    assert isinstance(b, ev.WaitingCallerListed) and b.at == 1005.5  # Asterisk runs 10.5 s ahead
    replayed = t.translate(msg("Event: QueueEntry\nQueue: q\nUniqueid: 2.2\nWait: 3\n"))
    assert (
        isinstance(replayed, ev.WaitingCallerListed) and replayed.at == 1000.5
    )  # no receive time: last seen


def test_only_wanted_variables_and_channel_variables() -> None:
    t = Translator()
    assert (
        t.translate(msg("Event: VarSet\nChannel: none\nUniqueid: none\nVariable: QUEUESTATUS\nValue: x\n"))
        is None
    )
    assert t.translate(msg("Event: VarSet\nUniqueid: 1.1\nVariable: QUEUEWAIT\nValue: 3\n")) is None
    e = t.translate(msg("Event: VarSet\nUniqueid: 1.1\nLinkedid: 1.0\nVariable: QUEUESTATUS\nValue: FULL\n"))
    assert isinstance(e, ev.QueueStatusSet) and (e.status, e.queue, e.linked_id) == ("FULL", None, "1.0")
    app = t.translate(
        msg("Event: Newexten\nUniqueid: 1.1\nApplication: Queue\nAppData: support-l2,tcr,,,5\n")
    )
    assert isinstance(app, ev.QueueAppStarted) and app.queue == "support-l2"
    assert t.translate(msg("Event: Newexten\nUniqueid: 1.1\nApplication: Wait\nAppData: 1\n")) is None


def test_unknown_events_and_responses_translate_to_nothing() -> None:
    t = Translator()
    assert t.translate(msg("Event: RTCPSent\nFoo: bar\n")) is None
    assert t.translate(msg("Response: Success\nActionID: 1\n")) is None
    assert isinstance(t.translate(Banner("Asterisk Call Manager/11.0.0")), ev.LinkStarted)


def test_bad_input_is_rejected_with_a_reason() -> None:
    t = Translator()
    missing = t.translate(msg("Event: QueueCallerJoin\nQueue: support\n"))
    bad_int = t.translate(
        msg(
            "Event: AgentComplete\nUniqueid: 1\nQueue: q\nMemberName: A\nInterface: I\n"
            "HoldTime: soon\nTalkTime: 3\n"
        )
    )
    garbage = t.translate(Anomaly("message does not start with Event: or Response:", b"xx"))
    assert isinstance(missing, Rejected) and "expected a Uniqueid header" in missing.reason
    assert isinstance(bad_int, Rejected) and "HoldTime: expected an integer, got 'soon'" in bad_int.reason
    assert isinstance(garbage, Rejected)
    assert t.rejected == 3
