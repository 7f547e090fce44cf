"""Simulated channels: names, Uniqueids, variables and the snapshot headers Asterisk puts on every event.

Uniqueid is ``<epoch>.<sequence>`` as in Asterisk: the creation second, and a counter that starts
at 0 when the PBX boots (so a restart starts a new epoch and reuses small sequence numbers).
Local channels come in pairs (``;1`` and ``;2``) sharing a hex suffix, one counter per PBX.

Variables are kept as Asterisk keeps them (main/pbx_variables.c): under the name they were set
with, ``__LABCALL`` included, the newest first when a channel passes them on; a lookup ignores
the one or two leading underscores that only say how far the variable is inherited. The
snapshot ends with one ``ChanVariable`` per name of manager.conf's ``channelvars`` (the lab has
``LABCALL,TALK``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.simulator.wire import Headers

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}


def bare(name: str) -> str:
    """A variable's name without the inheritance underscores (ast_var_name)."""
    return name[2:] if name.startswith("__") else name[1:] if name.startswith("_") else name


@dataclass(slots=True, eq=False)
class Channel:
    name: str
    uid: str
    linked_id: str
    context: str
    exten: str
    state: int = 0
    priority: int = 1
    cid_num: str = ""
    cid_name: str = ""
    conn_num: str = ""
    conn_name: str = ""
    # By the name each was set with, the oldest first (Asterisk's list is the other way round).
    variables: dict[str, str] = field(default_factory=dict)
    application: str = ""
    app_data: str = ""
    bridge: str = ""
    hung_up: bool = False
    created: float = 0.0
    channelvars: tuple[str, ...] = ()
    peer: Channel | None = None  # the other half of a Local channel
    running: bool = False  # a Local ;2 half whose dialplan thread core_local has flagged
    # A caller id taken from the other half's connected line, not yet in a snapshot
    pending_cid: tuple[str, str] | None = None

    @property
    def device(self) -> str:
        """The device this channel belongs to: its name without the ``-<suffix>``."""
        return self.name.rpartition("-")[0] or self.name

    def get(self, name: str) -> str:
        """A variable's value by its bare name ("" when unset)."""
        variables = self.variables
        for key in (name, f"__{name}", f"_{name}"):
            value = variables.get(key)
            if value is not None:
                return value
        return ""

    def put(self, name: str, value: str) -> None:
        """pbx_builtin_setvar_helper: replaces the variable under any spelling, newest last."""
        variables = self.variables
        stem = bare(name)
        for key in (stem, f"_{stem}", f"__{stem}"):
            variables.pop(key, None)
        variables[name] = value

    def newest_first(self) -> list[tuple[str, str]]:
        """The variables in Asterisk's list order, as a channel hands them on."""
        return list(reversed(self.variables.items()))

    def snapshot(self, prefix: str = "") -> Headers:
        names = _NAMES.get(prefix) or _names(prefix)
        values = (
            self.name, str(self.state), STATE_DESC.get(self.state, "Unknown"),
            self.cid_num or "<unknown>", self.cid_name or "<unknown>",
            self.conn_num or "<unknown>", self.conn_name or "<unknown>",
            "en", "", self.context, self.exten, str(self.priority), self.uid, self.linked_id,
        )  # fmt: skip
        headers = tuple(zip(names, values, strict=False))  # the names end with ChanVariable
        if self.channelvars:
            key = names[-1]
            headers += tuple((key, f"{v}={self.get(v)}") for v in self.channelvars)
        return headers


SNAPSHOT = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
            "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid",
            "Linkedid")  # fmt: skip
_NAMES: dict[str, tuple[str, ...]] = {}


def _names(prefix: str) -> tuple[str, ...]:
    """The snapshot's header names with a prefix (Dest, LocalOne, ...); ChanVariable last."""
    names = _NAMES[prefix] = tuple(f"{prefix}{n}" for n in (*SNAPSHOT, "ChanVariable"))
    return names


class ChannelFactory:
    """Allocates Uniqueids and channel names the way one Asterisk process does."""

    def __init__(self, channelvars: tuple[str, ...] = ()) -> None:
        self.sequence = 0
        self.local_pairs = 0
        self.technology: dict[str, int] = {}
        self.channelvars = channelvars

    def uid(self, now: float) -> str:
        uid = f"{int(now)}.{self.sequence}"
        self.sequence += 1
        return uid

    def local_pair(
        self, exten: str, context: str, now: float, linked_id: str | None = None
    ) -> tuple[Channel, Channel]:
        """``Local/exten@context-XXXXXXXX;1`` and ``;2``; the ;1 leg's Uniqueid links both by default."""
        suffix = f"{self.local_pairs:08x}"
        self.local_pairs += 1
        uid1 = self.uid(now)
        linked = linked_id or uid1
        name = f"Local/{exten}@{context}-{suffix}"
        one = Channel(f"{name};1", uid1, linked, context, exten, state=0, created=now,
                      channelvars=self.channelvars)  # fmt: skip
        two = Channel(f"{name};2", self.uid(now), linked, context, exten, state=4, created=now,
                      channelvars=self.channelvars)  # fmt: skip
        one.peer, two.peer = two, one
        return one, two

    def device(self, interface: str, now: float, linked_id: str) -> Channel:
        """A phone's channel, e.g. ``PJSIP/1001-0000002a`` for interface ``PJSIP/1001``."""
        count = self.technology.get(interface, 0)
        self.technology[interface] = count + 1
        name = f"{interface}-{self.local_pairs + count:08x}"
        return Channel(name, self.uid(now), linked_id, "from-internal", interface.rpartition("/")[2], state=0,
                       created=now, channelvars=self.channelvars)  # fmt: skip
