"""The boundary between the simulated PBX (pure) and the AMI server (IO): plain frozen data.

The PBX emits :class:`AmiEvent` values and answers actions with :class:`ActionReply`; the server
turns them into bytes, adds ``Privilege``, ``Timestamp`` and ``ActionID`` headers, filters events
by each session's class mask and writes them to every client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """One event as Asterisk would send it. ``privilege`` is its class list, e.g. ``"agent,all"``.

    ``headers`` excludes Event, Privilege and Timestamp (the server writes those). ``action_id``
    is set on the rare unsolicited event that carries one (OriginateResponse carries the
    originating session's ActionID, and every session receives it)."""

    at: float
    name: str
    privilege: str
    headers: Headers
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class ActionReply:
    """The answer to one action. For a list action (QueueStatus, CoreShowChannels, ...)
    ``items`` are its list events and ``complete`` names the closing event
    (``QueueStatusComplete``); the server adds ActionID to each, ``EventList: start`` to the
    response, and ``EventList: Complete`` + ``ListItems`` to the closing event."""

    response: Headers  # ("Response", "Success"|"Error"), ("Message", ...), ... — no ActionID
    items: tuple[AmiEvent, ...] = ()
    complete: str | None = None


class Pbx(Protocol):
    """What the server needs from a simulated PBX. Time is virtual (epoch seconds)."""

    @property
    def now(self) -> float: ...

    def next_due(self) -> float | None:
        """When the next scheduled happening is due (None: nothing scheduled)."""

    def advance(self, until: float) -> list[AmiEvent]:
        """Run everything due up to ``until``; the events it caused, in order."""

    def action(self, name: str, fields: Mapping[str, str], action_id: str, at: float) -> ActionReply:
        """An AMI action from a logged-in client (not Login/Logoff/Ping/Events/Challenge)."""

    def take_queue_log(self) -> list[str]:
        """queue_log lines written since the last call, each ending with a newline."""


def render_event(event: AmiEvent, *, timestamps: bool = True) -> bytes:
    """An event as Asterisk writes it: Event, Privilege, Timestamp, the headers, ActionID last."""
    lines = [f"Event: {event.name}", f"Privilege: {event.privilege}"]
    if timestamps:
        lines.append(f"Timestamp: {event.at:.6f}")
    lines.extend(f"{k}: {v}" for k, v in event.headers)
    if event.action_id is not None:
        lines.append(f"ActionID: {event.action_id}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
