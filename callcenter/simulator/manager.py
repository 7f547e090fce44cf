"""The AMI manager's wire, sans-IO: what Asterisk 22's main/manager.c reads and writes, as values.

Owns the event-class mask (``Events``/``EventMask`` values, an event's ``Privilege`` classes), the
list of actions the lab's Asterisk knows and which of them the manager answers itself, the bytes
of responses, events and action lists, and the splitting of what a client sends into actions.
Must not import asyncio or anything else that does IO (the sockets and pacing are
:mod:`callcenter.simulator.server`'s, the client sessions :mod:`callcenter.simulator.sessions`'),
nor the daemon or ``callcenter.ami``: the tests use our AMI
client as the peer, so sharing its codec would make them circular.

Rules (main/manager.c of Asterisk 22 and the traces in tests/traces; each is tested in
tests/test_sim_server.py):

1. Actions are read as manager.c's get_input does: ``\\r\\n`` or ``\\n`` line ends, an empty line
   ends a message (even one without headers: "Missing action in request"), header names
   case-insensitive, the first of a repeated header wins (repeated ``Variable`` headers are joined
   with ``,`` as Originate reads them).
2. An event's classes are those of its Privilege, ``all`` aside (the server delivers it when every
   one is in the session's mask: manager.c's ``(send_events & category) == category``); as a mask,
   ``Events: on``, a non-zero number or ``all`` means every event.
3. Broadcast events: ``Event``, ``Privilege``, ``Timestamp`` (option), ``ActionID`` (only
   OriginateResponse has one; o_reconnect.client.jsonl shows it right after Timestamp), headers.
   List items (actions_snapshot.jsonl): ``Event``, headers, ``ActionID`` last, except
   ``CoreShowChannel`` where it follows Event; never a Timestamp, and no Privilege whatever the
   item's ``privilege`` says, except ``Status`` items (``Privilege: Call``, as action_status
   writes). The closing event: ``Event``, ``ActionID``, ``EventList: Complete``, ``ListItems``
   (+ ``Items`` for StatusComplete).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from callcenter.simulator.wire import ActionReply, AmiEvent

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_LINE = 1024  # manager.c's inbuf: a longer line is dumped

# Event classes of manager.c's perms table (``all`` is every one of them).
_CLASS_NAMES = (
    "system call log verbose command agent user config dtmf reporting cdr dialplan originate agi cc aoc "
    "test security message"
)
EVENT_CLASSES = frozenset(_CLASS_NAMES.split())
ALL: frozenset[str] = frozenset(EVENT_CLASSES)  # compared by identity: every event, whatever its class
NONE: frozenset[str] = frozenset()
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})  # ast_true / ast_false
_FALSE = frozenset({"no", "false", "n", "f", "0", "off"})

# Actions of the lab's Asterisk 22 (ListCommands in actions_snapshot.jsonl); the server answers the
# manager's own five, the PBX every other one; anything else is an unknown command.
_ACTION_NAMES = (
    "AbsoluteTimeout AOCMessage Atxfer BlindTransfer Bridge BridgeDestroy BridgeInfo BridgeKick BridgeList "
    "BridgeTechnologyList BridgeTechnologySuspend BridgeTechnologyUnsuspend CancelAtxfer Challenge Command "
    "CoreSettings CoreShowChannelMap CoreShowChannels CoreStatus CreateConfig DBDel DBDelTree DBGet "
    "DBGetTree DBPut DeviceStateList DialplanExtensionAdd DialplanExtensionRemove Events ExtensionState "
    "ExtensionStateList Filter GetConfig GetConfigJSON Getvar Hangup ListCategories ListCommands "
    "LocalOptimizeAway LoggerRotate Login Logoff MailboxCount MailboxStatus MessageSend ModuleCheck "
    "ModuleLoad Originate Ping PresenceState PresenceStateList QueueAdd QueueChangePriorityCaller QueueLog "
    "QueueMemberRingInUse QueuePause QueuePenalty QueueReload QueueRemove QueueReset QueueRule QueueStatus "
    "QueueSummary QueueWithdrawCaller Redirect Reload SendText Setvar ShowDialPlan Status UpdateConfig "
    "UserEvent WaitEvent"
)
ASTERISK_ACTIONS = frozenset(_ACTION_NAMES.split())
MANAGER_ACTIONS = frozenset({"login", "logoff", "challenge", "ping", "events"})  # lower case
# lower-cased name (actions are matched case-insensitively) -> the spelling the PBX is asked with
PBX_ACTIONS = {name.lower(): name for name in ASTERISK_ACTIONS if name.lower() not in MANAGER_ACTIONS}

_ACTION_ID_AFTER_EVENT = frozenset({"CoreShowChannel"})  # list items with ActionID second
_ITEM_PRIVILEGE = {"Status": "Call"}  # the only list item with a Privilege line (action_status)
_COMPLETE_WITH_ITEMS = frozenset({"StatusComplete"})  # also "Items: <n>" after ListItems


# -- event masks -----------------------------------------------------------------------------------


def parse_event_mask(text: str) -> frozenset[str] | None:
    """manager.c's strings_to_mask: None for an empty value (Login keeps its mask, the Events
    action answers "Invalid event mask"); digits: 0 is no event, any other number every event."""
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return ALL if int(text) else NONE
    if text.lower() in _FALSE:
        return NONE
    if text.lower() in _TRUE:
        return ALL
    classes = set(text.split(","))  # exact names, as ast_instring compares them
    return ALL if "all" in classes else frozenset(classes & EVENT_CLASSES)


def event_classes(privilege: str) -> frozenset[str]:
    return frozenset(c for c in privilege.split(",") if c and c != "all")


# -- writing ---------------------------------------------------------------------------------------


def message(*pairs: tuple[str, str]) -> bytes:
    """One AMI message: ``Key: value`` lines, then an empty line."""
    return "".join(f"{key}: {value}\r\n" for key, value in pairs).encode() + b"\r\n"


def response(kind: str, action_id: str, *pairs: tuple[str, str]) -> bytes:
    """A response as astman_send_response writes it: ActionID only if the action had one."""
    head = (("Response", kind), ("ActionID", action_id)) if action_id else (("Response", kind),)
    return message(*head, *pairs)


def format_event(event: AmiEvent, timestamps: bool) -> bytes:
    parts = [f"Event: {event.name}\r\nPrivilege: {event.privilege}\r\n"]
    if timestamps:
        parts.append(f"Timestamp: {event.at:.6f}\r\n")
    if event.action_id:
        parts.append(f"ActionID: {event.action_id}\r\n")
    parts.extend(f"{key}: {value}\r\n" for key, value in event.headers)
    parts.append("\r\n")
    return "".join(parts).encode()


def format_reply(reply: ActionReply, action_id: str) -> list[bytes]:
    """The messages answering one action: its response, then list items and the closing event."""
    kinds = [value for key, value in reply.response if key == "Response"]
    if not kinds:
        raise ValueError(f"ActionReply.response: expected a ('Response', ...) header, got {reply.response!r}")
    rest = [pair for pair in reply.response if pair[0] != "Response"]
    listing = reply.complete is not None
    if listing and not any(key == "EventList" for key, _ in rest):
        rest.insert(0, ("EventList", "start"))
    out = [response(kinds[0], action_id, *rest)]
    if not listing:
        return out
    aid = (("ActionID", action_id),) if action_id else ()
    for item in reply.items:
        head = [("Event", item.name)]
        if item.name in _ITEM_PRIVILEGE:  # the item's own privilege is not written (traces)
            head.append(("Privilege", _ITEM_PRIVILEGE[item.name]))
        first = item.name in _ACTION_ID_AFTER_EVENT
        out.append(message(*head, *(aid if first else ()), *item.headers, *(() if first else aid)))
    count = str(len(reply.items))
    extra = (("Items", count),) if reply.complete in _COMPLETE_WITH_ITEMS else ()
    out.append(
        message(("Event", str(reply.complete)), *aid, ("EventList", "Complete"), ("ListItems", count), *extra)
    )
    return out


# -- reading ---------------------------------------------------------------------------------------


class ActionFields(Mapping[str, str]):
    """An action's headers as astman_get_header reads them: names case-insensitive, the first of a
    repeated name wins; repeated ``Variable`` headers are joined with ``,`` (Originate splits
    each on commas, so the meaning is kept)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in pairs:
            low = key.lower()
            if low not in self._items:
                self._items[low] = (key, value)
            elif low == "variable":
                self._items[low] = (key, f"{self._items[low][1]},{value}")

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def without(self, *names: str) -> ActionFields:
        drop = {n.lower() for n in names}
        return ActionFields(pair for low, pair in self._items.items() if low not in drop)


class ActionReader:
    """Splits what a client sends into actions (lists of ``(key, value)``), as get_input does."""

    def __init__(self) -> None:
        self._buf = b""
        self._lines: list[tuple[str, str]] = []
        self.dumped = 0  # lines longer than MAX_LINE, dropped

    def feed(self, data: bytes) -> list[list[tuple[str, str]]]:
        *lines, self._buf = (self._buf + data).split(b"\n")
        if len(self._buf) > MAX_LINE:
            self._buf = b""
            self.dumped += 1
        out = []
        for raw in lines:
            line = raw.removesuffix(b"\r").decode("utf-8", "replace")
            if not line:
                out.append(self._lines)
                self._lines = []
                continue
            key, sep, value = line.partition(":")
            if sep:  # a line without a colon matches no header name
                self._lines.append((key, value.lstrip(" \t")))
        return out
