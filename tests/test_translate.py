"""AMI messages → domain events: spellings, units, clocks and bad input."""

from __future__ import annotations

import pytest

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
    # A bad number does not lose the event: that field is unknown, and the problem is named.
    assert isinstance(bad_int, ev.CallCompleted) and (bad_int.wait_s, bad_int.talk_s) == (None, 3.0)
    assert t.problems == ["AgentComplete.HoldTime: expected a whole number 0..10000000, got 'soon'"]
    assert isinstance(garbage, Rejected)
    assert t.rejected == 2


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("9" * 400, "got '" + "9" * 39),
        ("-5", "got '-5'"),
        ("inf", "got 'inf'"),
        ("nan", "got 'nan'"),
        ("1e3", "got '1e3'"),
        ("99999999999", "got 99999999999"),  # over the limit in s and in ms
        ("٣", "got '٣'"),  # a digit to str.isdigit, not to Asterisk
    ],
)
def test_every_time_header_is_checked_at_the_border(value: str, problem: str) -> None:
    for name, header in (
        ("QueueCallerAbandon", "HoldTime"),
        ("AgentConnect", "HoldTime"),
        ("AgentConnect", "RingTime"),
        ("AgentComplete", "TalkTime"),
        ("AgentRingNoAnswer", "RingTime"),
        ("QueueEntry", "Wait"),
    ):
        t = Translator()
        event = t.translate(
            msg(f"Event: {name}\nUniqueid: 1\nQueue: q\nMemberName: A\nInterface: I\n{header}: {value}\n")
        )
        assert event is not None and not isinstance(event, Rejected), name
        (line,) = t.problems
        assert line.startswith(f"{name}.{header}: expected a whole number 0..") and problem in line, line


def test_the_members_wrap_up_and_counts_are_checked_too() -> None:
    t = Translator()
    event = t.translate(
        msg(
            "Event: QueueMemberStatus\nQueue: q\nMemberName: A\nInterface: I\n"
            "Wrapuptime: 1e400\nPenalty: -1\n"
        )
    )
    assert isinstance(event, ev.MemberReported) and (event.wrapup_s, event.penalty) == (0, 0)
    assert [p.split(":")[0] for p in t.problems] == [
        "QueueMemberStatus.Penalty",
        "QueueMemberStatus.Wrapuptime",
    ]


@pytest.mark.parametrize("stamp", ["inf", "-inf", "nan", "1e400", "-1", "1" * 40, "NaN"])
def test_a_timestamp_that_is_not_a_time_is_named_and_not_used(stamp: str) -> None:
    t = Translator()
    first = t.translate(msg("Event: QueueCallerJoin\nTimestamp: 1700000000.5\nUniqueid: 1\nQueue: q\n"))
    event = t.translate(msg(f"Event: QueueCallerLeave\nTimestamp: {stamp}\nUniqueid: 1\nQueue: q\n"))
    assert isinstance(first, ev.CallerJoinedQueue) and isinstance(event, ev.CallerLeftQueue)
    assert event.at == 1700000000.5  # the last good time, never inf or nan
    assert t.problems == [f"QueueCallerLeave.Timestamp: expected epoch seconds, got {stamp[:40]!r}"]


def test_a_channels_device_as_member_interfaces_begin() -> None:
    from callcenter.ami.translate import channel_device

    assert channel_device("PJSIP/1001-0000002a") == "PJSIP/1001"
    assert channel_device("Local/agent3@agents-0000000b;1") == "Local/agent3@agents"
    assert channel_device("SIP/trunk-out-00000003") == "SIP/trunk-out"  # a dash in the device name
