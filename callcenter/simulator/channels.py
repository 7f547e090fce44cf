"""Simulated channels: names, Uniqueids and the snapshot headers Asterisk puts on every event.

Uniqueid is ``<epoch>.<sequence>`` as in Asterisk: the creation second, and a counter that starts
at 0 when the PBX boots (so a restart starts a new epoch and reuses small sequence numbers).
Local channels come in pairs (``;1`` and ``;2``) sharing a hex suffix, one counter per PBX.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.simulator.wire import Headers

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}


@dataclass(slots=True)
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
    variables: dict[str, str] = field(default_factory=dict)
    application: str = ""
    app_data: str = ""
    bridge: str = ""
    hung_up: bool = False
    created: float = 0.0

    def snapshot(self, prefix: str = "") -> Headers:
        def unknown(value: str) -> str:
            return value or "<unknown>"

        return (
            (f"{prefix}Channel", self.name),
            (f"{prefix}ChannelState", str(self.state)),
            (f"{prefix}ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (f"{prefix}CallerIDNum", unknown(self.cid_num)),
            (f"{prefix}CallerIDName", unknown(self.cid_name)),
            (f"{prefix}ConnectedLineNum", unknown(self.conn_num)),
            (f"{prefix}ConnectedLineName", unknown(self.conn_name)),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", self.context),
            (f"{prefix}Exten", self.exten),
            (f"{prefix}Priority", str(self.priority)),
            (f"{prefix}Uniqueid", self.uid),
            (f"{prefix}Linkedid", self.linked_id),
        )


class ChannelFactory:
    """Allocates Uniqueids and channel names the way one Asterisk process does."""

    def __init__(self) -> None:
        self.sequence = 0
        self.local_pairs = 0
        self.technology: dict[str, int] = {}

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
        one = Channel(
            f"Local/{exten}@{context}-{suffix};1", uid1, linked, context, exten, state=0, created=now
        )
        two = Channel(f"Local/{exten}@{context}-{suffix};2", self.uid(now), linked, context, exten, state=4,
                      created=now)  # fmt: skip
        return one, two

    def device(self, interface: str, now: float, linked_id: str) -> Channel:
        """A phone's channel, e.g. ``PJSIP/1001-0000002a`` for interface ``PJSIP/1001``."""
        count = self.technology.get(interface, 0)
        self.technology[interface] = count + 1
        name = f"{interface}-{self.local_pairs + count:08x}"
        return Channel(name, self.uid(now), linked_id, "from-internal", interface.rpartition("/")[2], state=0)
