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

import re
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.ami.codec import Anomaly, Banner, Frame, Message
from callcenter.queues import events as ev


class BadMessage(ValueError):
    """An AMI message the translation cannot use (a header missing or not a number)."""


def _req(msg: Message, key: str) -> str:
    value = msg.get(key)
    if value is None:
        raise BadMessage(f"{msg.name}: expected a {key} header, got none")
    return value


def _int(msg: Message, key: str, default: int | None = None) -> int:
    value = msg.get(key)
    if value is None or value == "":
        if default is None:
            raise BadMessage(f"{msg.name}: expected an integer {key} header, got none")
        return default
    try:
        return int(value)
    except ValueError:
        raise BadMessage(f"{msg.name}.{key}: expected an integer, got {value!r}") from None


def _caller_num(msg: Message) -> str:
    num = msg.get("CallerIDNum") or ""
    return "" if num == "<unknown>" else num


def _caller_name(msg: Message) -> str:
    name = msg.get("CallerIDName") or ""
    return "" if name == "<unknown>" else name


Translate = Callable[[Message, float], "ev.Event | None"]


def _join(m: Message, at: float) -> ev.Event:
    return ev.CallerJoinedQueue(
        at,
        _req(m, "Uniqueid"),
        m.get("Linkedid") or _req(m, "Uniqueid"),
        m.get("Channel") or "",
        _req(m, "Queue"),
        _caller_num(m),
        _caller_name(m),
        _int(m, "Position", 0),
    )


def _leave(m: Message, at: float) -> ev.Event:
    return ev.CallerLeftQueue(at, _req(m, "Uniqueid"), _req(m, "Queue"))


def _abandon(m: Message, at: float) -> ev.Event:
    return ev.CallerExitedUnanswered(
        at, _req(m, "Uniqueid"), _req(m, "Queue"), float(_int(m, "HoldTime")), _int(m, "Position", 0)
    )


def _called(m: Message, at: float) -> ev.Event:
    return ev.AgentRang(
        at, _req(m, "Uniqueid"), _req(m, "Queue"), _req(m, "MemberName"), _req(m, "Interface")
    )


def _ring_no_answer(m: Message, at: float) -> ev.Event:
    # AgentRingNoAnswer.RingTime is in milliseconds (AgentConnect's is in seconds).
    return ev.AgentRingUnanswered(
        at,
        _req(m, "Uniqueid"),
        _req(m, "Queue"),
        _req(m, "MemberName"),
        _req(m, "Interface"),
        _int(m, "RingTime", 0) / 1000.0,
    )


def _connect(m: Message, at: float) -> ev.Event:
    return ev.CallAnswered(
        at,
        _req(m, "Uniqueid"),
        m.get("Linkedid") or _req(m, "Uniqueid"),
        _req(m, "Queue"),
        _req(m, "MemberName"),
        _req(m, "Interface"),
        float(_int(m, "HoldTime")),
        float(_int(m, "RingTime", 0)),
    )


def _complete(m: Message, at: float) -> ev.Event:
    return ev.CallCompleted(
        at,
        m.get("Uniqueid") or None,  # none when the caller's channel was already gone
        _req(m, "Queue"),
        _req(m, "MemberName"),
        _req(m, "Interface"),
        float(_int(m, "HoldTime")),
        float(_int(m, "TalkTime")),
        (m.get("Reason") or "").lower(),
    )


def _dump(m: Message, at: float) -> ev.Event:
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


def _member(m: Message, at: float) -> ev.Event:
    # The status snapshot's QueueMember spells MemberName "Name" and Interface "Location".
    snapshot = m.name == "QueueMember"
    return ev.MemberReported(
        at,
        _MEMBER_CHANGE[m.name],
        _req(m, "Queue"),
        _req(m, "Name" if snapshot else "MemberName"),
        _req(m, "Location" if snapshot else "Interface"),
        _int(m, "Status", 0),
        m.get("Paused") == "1",
        m.get("PausedReason") or "",
        m.get("InCall") == "1",
        _int(m, "Penalty", 0),
        _int(m, "CallsTaken", 0),
        _int(m, "Wrapuptime", 0),
    )


def _hangup_request(m: Message, at: float) -> ev.Event:
    uid = _req(m, "Uniqueid")
    return ev.ChannelHangupRequested(at, uid, m.get("Linkedid") or uid)


def _hangup(m: Message, at: float) -> ev.Event:
    uid = _req(m, "Uniqueid")
    return ev.ChannelHungUp(at, uid, m.get("Linkedid") or uid, _int(m, "Cause", 0))


def _var_set(m: Message, at: float) -> ev.Event | None:
    uid = m.get("Uniqueid")
    if not uid or uid == "none":
        return None  # a global variable (AMI Setvar without a channel)
    var = m.get("Variable")
    if var == "QUEUESTATUS":
        return ev.QueueStatusSet(
            at,
            uid,
            m.get("Linkedid") or uid,
            m.get("Channel") or "",
            _req(m, "Value"),
            None,
            _caller_num(m),
            _caller_name(m),
        )
    if var == "QUEUESRVLEVEL":
        return ev.QueueServiceLevelSeen(at, None, uid, _int(m, "Value"))
    return None


def _new_exten(m: Message, at: float) -> ev.Event | None:
    if m.get("Application") != "Queue":
        return None
    queue = (m.get("AppData") or "").split(",", 1)[0].strip()
    return ev.QueueAppStarted(at, _req(m, "Uniqueid"), queue) if queue else None


def _user_event(m: Message, at: float) -> ev.Event | None:
    # The contract with our dialplans/ (see dialplans/README.md): UserEvent(QueueResult|CSAT|IVRChoice,...)
    kind = m.get("UserEvent")
    uid = m.get("Uniqueid")
    if not uid:
        return None
    if kind == "QueueResult":
        return ev.QueueStatusSet(
            at,
            uid,
            m.get("Linkedid") or uid,
            m.get("Channel") or "",
            _req(m, "QueueStatus"),
            m.get("Queue") or None,
            _caller_num(m),
            _caller_name(m),
        )
    if kind == "CSAT":
        return ev.SurveyAnswered(at, uid, m.get("Queue") or "", m.get("MemberName") or "", _int(m, "Score"))
    if kind == "IVRChoice":
        return ev.IvrChoiceMade(at, uid, m.get("Queue") or "", m.get("Choice") or "")
    return None


def _blind_transfer(m: Message, at: float) -> ev.Event | None:
    uid = m.get("TransfereeUniqueid")
    if not uid:
        return None
    return ev.CallTransferred(at, uid, "blind", m.get("Extension") or "")


def _attended_transfer(m: Message, at: float) -> ev.Event | None:
    uid = m.get("TransfereeUniqueid")
    if not uid:
        return None
    return ev.CallTransferred(at, uid, "attended", m.get("TransferTargetExten") or m.get("DestApp") or "")


def _queue_entry(m: Message, at: float) -> ev.Event:
    return ev.WaitingCallerListed(
        at,
        _req(m, "Uniqueid"),
        m.get("Channel") or "",
        _req(m, "Queue"),
        _caller_num(m),
        _caller_name(m),
        _int(m, "Position", 0),
        float(_int(m, "Wait", 0)),
    )


def _channel(m: Message, at: float) -> ev.Event:
    uid = _req(m, "Uniqueid")
    return ev.ChannelListed(
        at,
        uid,
        m.get("Linkedid") or uid,
        m.get("Channel") or "",
        m.get("Application") or "",
        m.get("ApplicationData") or "",
        m.get("BridgeId") or "",
        _caller_num(m),
        _caller_name(m),
    )


def _queue_params(m: Message, at: float) -> ev.Event:
    return ev.QueueListed(
        at, _req(m, "Queue"), _int(m, "ServiceLevel", 0), m.get("Strategy") or "", _int(m, "Max", 0)
    )


def _queues_done(m: Message, at: float) -> ev.Event:
    return ev.SnapshotCompleted(at, "queues")


def _channels_done(m: Message, at: float) -> ev.Event:
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
    """Turns decoded frames into domain events, keeping the last event time for messages without one."""

    __slots__ = ("last_at", "rejected", "skew")

    def __init__(self) -> None:
        self.last_at = 0.0
        self.rejected = 0
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
            return None
        fn = TABLE.get(msg.name)
        if fn is None:
            return None
        pattern = _PREFILTER.get(msg.name)
        if pattern is not None and pattern.search(msg.raw) is None:
            return None  # already filtered when the decoder was given ``wanted``
        ts = msg.get("Timestamp")
        if ts:
            try:
                at = float(ts)
            except ValueError:
                at = self.last_at
            else:
                self.last_at = at
                if received_at is not None:
                    self.skew = at - received_at
        else:
            at = received_at + self.skew if received_at is not None else self.last_at
        try:
            return fn(msg, at)
        except BadMessage as exc:
            self.rejected += 1
            return Rejected(str(exc))
