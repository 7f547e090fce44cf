"""AMI messages → domain events: the one place that knows Asterisk's event and header names.

A table maps an event name to a small function; anything not in the table translates to
nothing without its headers ever being parsed. Two very frequent events are only wanted in a
few forms (``Newexten`` of the ``Queue`` application, ``VarSet`` of a handful of variables), so
their raw bytes are checked before parsing: a real stream is ~60 % VarSet/Newexten.

Pure: no IO, no clock. The caller passes ``received_at``, used when a message has no
``Timestamp`` header (responses to actions never have one; events only with
``timestampevents=yes``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.ami.codec import ANOMALY_MARKER, Anomaly, Banner, Frame, Message
from callcenter.queues import events as ev
from callcenter.queues.model import Outcome

# Queue()'s QUEUESTATUS values and what they mean for the stint (app_queue.c); CONTINUE (answered,
# then the caller went on in the dialplan) means nothing more.
QUEUESTATUS = {
    "JOINEMPTY": Outcome.JOINEMPTY,
    "FULL": Outcome.FULL,
    "JOINUNAVAIL": Outcome.JOINUNAVAIL,
    "TIMEOUT": Outcome.TIMEOUT,
    "LEAVEEMPTY": Outcome.LEAVEEMPTY,
    "LEAVEUNAVAIL": Outcome.LEAVEEMPTY,
    "WITHDRAW": Outcome.WITHDRAW,
}


class BadMessage(ValueError):
    """An AMI message the translation cannot use (a header missing or not a number)."""


def _req(msg: Message, key: str) -> str:
    value = msg.get(key)
    if value is None:
        raise BadMessage(f"{msg.name}: expected a {key} header, got none")
    return value


# The border's ranges: anything outside is a problem named by its header, the field unknown.
MAX_COUNT = 10**9  # positions, member counts, status codes, causes
MAX_SECONDS = 10**7  # ~115 days: no hold, talk, ring or wrap-up lasts longer
MAX_MILLISECONDS = MAX_SECONDS * 1000
MAX_EPOCH = 10**11  # Asterisk's Timestamp: epoch seconds (year 5138 at most); never inf or nan
_DIGITS = 12  # longer numbers are refused before Python parses them (4,300 digits cost CPU)


def _number(msg: Message, key: str, limit: int, bad: list[str]) -> int | None:
    """A whole number in [0, limit] from a header, or None (absent, empty, or bad: noted)."""
    value = msg.get(key)
    if value is None or value == "":
        return None
    text = value.strip()
    if len(text) > _DIGITS or not text.isdigit() or not text.isascii():
        bad.append(f"{msg.name}.{key}: expected a whole number 0..{limit}, got {value[:40]!r}")
        return None
    number = int(text)
    if number > limit:
        bad.append(f"{msg.name}.{key}: expected a whole number 0..{limit}, got {number}")
        return None
    return number


def _int(msg: Message, key: str, default: int, bad: list[str]) -> int:
    """A count or code; ``default`` when absent or bad (a bad one is noted)."""
    number = _number(msg, key, MAX_COUNT, bad)
    return default if number is None else number


def _seconds(msg: Message, key: str, bad: list[str]) -> float | None:
    """Whole seconds as Asterisk counts them (HoldTime, TalkTime, Wait, ...), or None: unknown."""
    number = _number(msg, key, MAX_SECONDS, bad)
    return None if number is None else float(number)


def _caller_num(msg: Message) -> str:
    num = msg.get("CallerIDNum") or ""
    return "" if num == "<unknown>" else num


def _caller_name(msg: Message) -> str:
    name = msg.get("CallerIDName") or ""
    return "" if name == "<unknown>" else name


Translate = Callable[[Message, float, list[str]], "ev.Event | None"]


def _join(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.CallerJoinedQueue(
        at,
        _req(m, "Uniqueid"),
        m.get("Linkedid") or _req(m, "Uniqueid"),
        m.get("Channel") or "",
        _req(m, "Queue"),
        _caller_num(m),
        _caller_name(m),
        _int(m, "Position", 0, bad),
    )


def _leave(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.CallerLeftQueue(at, _req(m, "Uniqueid"), _req(m, "Queue"))


def _abandon(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.CallerExitedUnanswered(
        at, _req(m, "Uniqueid"), _req(m, "Queue"), _seconds(m, "HoldTime", bad), _int(m, "Position", 0, bad)
    )


def _called(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.AgentRang(
        at, _req(m, "Uniqueid"), _req(m, "Queue"), _req(m, "MemberName"), _req(m, "Interface")
    )


def _ring_no_answer(m: Message, at: float, bad: list[str]) -> ev.Event:
    # AgentRingNoAnswer.RingTime is in milliseconds (AgentConnect's is in seconds).
    return ev.AgentRingUnanswered(
        at,
        _req(m, "Uniqueid"),
        _req(m, "Queue"),
        _req(m, "MemberName"),
        _req(m, "Interface"),
        None if (ms := _number(m, "RingTime", MAX_MILLISECONDS, bad)) is None else ms / 1000.0,
    )


def _connect(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.CallAnswered(
        at,
        _req(m, "Uniqueid"),
        m.get("Linkedid") or _req(m, "Uniqueid"),
        _req(m, "Queue"),
        _req(m, "MemberName"),
        _req(m, "Interface"),
        _seconds(m, "HoldTime", bad),
        _seconds(m, "RingTime", bad),
    )


def _complete(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.CallCompleted(
        at,
        m.get("Uniqueid") or None,  # none when the caller's channel was already gone
        _req(m, "Queue"),
        _req(m, "MemberName"),
        _req(m, "Interface"),
        _seconds(m, "HoldTime", bad),
        _seconds(m, "TalkTime", bad),
        (m.get("Reason") or "").lower(),
    )


def _dump(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.CallDumpedByAgent(at, _req(m, "Uniqueid"), _req(m, "Queue"), _req(m, "MemberName"))


_MEMBER_CHANGE = {
    "QueueMemberAdded": "added",
    "QueueMemberRemoved": "removed",
    "QueueMemberStatus": "status",
    "QueueMemberPause": "pause",
    "QueueMemberPenalty": "penalty",
    "QueueMemberRinginuse": "ringinuse",
    "QueueMember": "snapshot",
}


def _member(m: Message, at: float, bad: list[str]) -> ev.Event:
    # The status snapshot's QueueMember spells MemberName "Name" and Interface "Location".
    snapshot = m.name == "QueueMember"
    return ev.MemberReported(
        at,
        _MEMBER_CHANGE[m.name],
        _req(m, "Queue"),
        _req(m, "Name" if snapshot else "MemberName"),
        _req(m, "Location" if snapshot else "Interface"),
        _int(m, "Status", 0, bad),
        m.get("Paused") == "1",
        m.get("PausedReason") or "",
        m.get("InCall") == "1",
        _int(m, "Penalty", 0, bad),
        _int(m, "CallsTaken", 0, bad),
        _int(m, "Wrapuptime", 0, bad),
    )


def _hangup_request(m: Message, at: float, bad: list[str]) -> ev.Event:
    uid = _req(m, "Uniqueid")
    return ev.ChannelHangupRequested(at, uid, m.get("Linkedid") or uid)


def _hangup(m: Message, at: float, bad: list[str]) -> ev.Event:
    uid = _req(m, "Uniqueid")
    return ev.ChannelHungUp(at, uid, m.get("Linkedid") or uid, _int(m, "Cause", 0, bad))


def _var_set(m: Message, at: float, bad: list[str]) -> ev.Event | None:
    uid = m.get("Uniqueid")
    if not uid or uid == "none":
        return None  # a global variable (AMI Setvar without a channel)
    var = m.get("Variable")
    if var == "QUEUESTATUS":
        value = _req(m, "Value")
        return ev.QueueStatusSet(
            at,
            uid,
            m.get("Linkedid") or uid,
            m.get("Channel") or "",
            value,
            None,
            _caller_num(m),
            _caller_name(m),
            QUEUESTATUS.get(value),
        )
    if var == "QUEUESRVLEVEL":
        level = _number(m, "Value", MAX_SECONDS, bad)
        return None if level is None else ev.QueueServiceLevelSeen(at, None, uid, level)
    return None


def _new_exten(m: Message, at: float, bad: list[str]) -> ev.Event | None:
    if m.get("Application") != "Queue":
        return None
    queue = (m.get("AppData") or "").split(",", 1)[0].strip()
    return ev.QueueAppStarted(at, _req(m, "Uniqueid"), queue) if queue else None


def _user_event(m: Message, at: float, bad: list[str]) -> ev.Event | None:
    # The contract with our dialplans/ (see dialplans/README.md): UserEvent(QueueResult|CSAT|IVRChoice,...)
    kind = m.get("UserEvent")
    uid = m.get("Uniqueid")
    if not uid:
        return None
    if kind == "QueueResult":
        value = _req(m, "QueueStatus")
        return ev.QueueStatusSet(
            at,
            uid,
            m.get("Linkedid") or uid,
            m.get("Channel") or "",
            value,
            m.get("Queue") or None,
            _caller_num(m),
            _caller_name(m),
            QUEUESTATUS.get(value),
        )
    if kind == "CSAT":
        score = _number(m, "Score", MAX_COUNT, bad)
        queue, member = m.get("Queue") or "", m.get("MemberName") or ""
        linked, caller = m.get("Linkedid") or uid, _caller_num(m)
        return None if score is None else ev.SurveyAnswered(at, uid, queue, member, score, linked, caller)
    if kind == "IVRChoice":
        choice = m.get("Choice") or ""
        return ev.IvrChoiceMade(
            at, uid, m.get("Queue") or "", choice, m.get("Linkedid") or uid, _caller_num(m)
        )
    return None


def _blind_transfer(m: Message, at: float, bad: list[str]) -> ev.Event | None:
    uid = m.get("TransfereeUniqueid")
    if not uid:
        return None
    return ev.CallTransferred(at, uid, "blind", m.get("Extension") or "")


def _attended_transfer(m: Message, at: float, bad: list[str]) -> ev.Event | None:
    uid = m.get("TransfereeUniqueid")
    if not uid:
        return None
    return ev.CallTransferred(at, uid, "attended", m.get("TransferTargetExten") or m.get("DestApp") or "")


def _queue_entry(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.WaitingCallerListed(
        at,
        _req(m, "Uniqueid"),
        m.get("Channel") or "",
        _req(m, "Queue"),
        _caller_num(m),
        _caller_name(m),
        _int(m, "Position", 0, bad),
        _seconds(m, "Wait", bad),
    )


def channel_device(channel: str) -> str:
    """The device part of an Asterisk channel name, as a queue member's interface begins:
    ``PJSIP/1001-0000002a`` → ``PJSIP/1001``, ``Local/agent3@agents-0000000b;1`` →
    ``Local/agent3@agents`` (whose member interface is ``Local/agent3@agents/n``)."""
    return channel.rsplit("-", 1)[0]


def _channel(m: Message, at: float, bad: list[str]) -> ev.Event:
    uid = _req(m, "Uniqueid")
    name = m.get("Channel") or ""
    return ev.ChannelListed(
        at,
        uid,
        m.get("Linkedid") or uid,
        name,
        m.get("Application") or "",
        m.get("ApplicationData") or "",
        m.get("BridgeId") or "",
        _caller_num(m),
        _caller_name(m),
        channel_device(name),
    )


def _queue_params(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.QueueListed(
        at,
        _req(m, "Queue"),
        _int(m, "ServiceLevel", 0, bad),
        m.get("Strategy") or "",
        _int(m, "Max", 0, bad),
        _number(m, "Completed", MAX_COUNT, bad),  # None when absent: no comparison is made
        _number(m, "Abandoned", MAX_COUNT, bad),
    )


def _queues_done(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.SnapshotCompleted(at, "queues")


def _channels_done(m: Message, at: float, bad: list[str]) -> ev.Event:
    return ev.SnapshotCompleted(at, "channels")


TABLE: dict[str, Translate] = {
    "QueueCallerJoin": _join,
    "QueueCallerLeave": _leave,
    "QueueCallerAbandon": _abandon,
    "AgentCalled": _called,
    "AgentRingNoAnswer": _ring_no_answer,
    "AgentConnect": _connect,
    "AgentComplete": _complete,
    "AgentDump": _dump,
    **dict.fromkeys(_MEMBER_CHANGE, _member),
    "HangupRequest": _hangup_request,
    "SoftHangupRequest": _hangup_request,
    "Hangup": _hangup,
    "VarSet": _var_set,
    "Newexten": _new_exten,
    "UserEvent": _user_event,
    "BlindTransfer": _blind_transfer,
    "AttendedTransfer": _attended_transfer,
    "QueueEntry": _queue_entry,
    "CoreShowChannel": _channel,
    "QueueParams": _queue_params,
    "QueueStatusComplete": _queues_done,
    "CoreShowChannelsComplete": _channels_done,
}

# What an event must contain to be worth parsing, as a regex on its raw bytes (\r\n or \n).
_PREFILTER: dict[str, re.Pattern[bytes]] = {
    "VarSet": re.compile(rb"\nVariable: (?:QUEUESTATUS|QUEUESRVLEVEL)\r?\n"),
    "Newexten": re.compile(rb"\nApplication: Queue\r?\n"),
}

_WANTED: dict[bytes, Callable[[bytes], object] | None] = {
    name.encode(): (p.search if (p := _PREFILTER.get(name)) is not None else None) for name in TABLE
}


_WANTED[ANOMALY_MARKER.encode()] = None  # what the journal kept of skipped junk


def wanted(name: bytes, raw: bytes) -> bool:
    """The decoder's event filter: only events the table translates, prefiltered by bytes."""
    try:
        match = _WANTED[name]
    except KeyError:
        return False
    return match is None or match(raw) is not None


# Event classes the tracker needs when subscribing with a mask: Queue*/Agent* are "agent",
# channels and bridges "call", the dialplan's UserEvents "user"; "dialplan" (VarSet/Newexten)
# is optional and only refines refused joins and service levels.
NEEDED_EVENT_CLASSES = ("call", "agent", "user", "dialplan")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A frame that could not be used: malformed bytes or a message missing what it needs."""

    reason: str


class Translator:
    """Turns decoded frames into domain events, keeping the last event time for messages without one.

    Values that fail the border's checks are listed in ``problems`` (one line each, naming the
    header) while the event goes on with that field unknown; the caller drains the list."""

    __slots__ = ("last_at", "problems", "rejected", "skew")

    def __init__(self) -> None:
        self.last_at = 0.0
        self.rejected = 0
        self.problems: list[str] = []
        # Asterisk's clock minus ours, from the last event with a Timestamp: a message without
        # one is placed on Asterisk's clock, so waits never mix the two clocks.
        self.skew = 0.0

    def translate(self, frame: Frame, received_at: float | None = None) -> ev.Event | Rejected | None:
        if isinstance(frame, Message):
            return self._message(frame, received_at)
        if isinstance(frame, Banner):
            at = received_at + self.skew if received_at is not None else self.last_at
            return ev.LinkStarted(at, frame.version)
        if isinstance(frame, Anomaly):
            self.rejected += 1
            return Rejected(frame.reason)
        return None

    def _message(self, msg: Message, received_at: float | None) -> ev.Event | Rejected | None:
        if not msg.is_event:
            # The start of a QueueStatus answer opens a status snapshot (a periodic check, or
            # the resync after a link: then one is open already). Responses are few: ours.
            if msg.get("Message") == "Queue status will follow" and msg.get("EventList") == "start":
                return ev.SnapshotStarted(
                    received_at + self.skew if received_at is not None else self.last_at
                )
            return None
        fn = TABLE.get(msg.name)
        if fn is None:
            if msg.name == ANOMALY_MARKER:  # replaying a journal: the anomaly the daemon counted
                self.rejected += 1
                return Rejected(msg.get("Reason") or "anomaly")
            return None
        pattern = _PREFILTER.get(msg.name)
        if pattern is not None and pattern.search(msg.raw) is None:
            return None  # already filtered when the decoder was given ``wanted``
        at = self._time(msg, received_at)
        try:
            return fn(msg, at, self.problems)
        except BadMessage as exc:
            self.rejected += 1
            return Rejected(str(exc))

    def _time(self, msg: Message, received_at: float | None) -> float:
        ts = msg.get("Timestamp")
        if ts:
            try:
                at = float(ts) if len(ts) <= 32 else math.nan
            except ValueError:
                at = math.nan
            if 0.0 <= at <= MAX_EPOCH:  # false for nan and inf too
                self.last_at = at
                if received_at is not None:
                    self.skew = at - received_at
                return at
            self.problems.append(f"{msg.name}.Timestamp: expected epoch seconds, got {ts[:40]!r}")
        return received_at + self.skew if received_at is not None else self.last_at
