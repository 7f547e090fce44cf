"""What the web may read of the daemon: a snapshot per Asterisk, taken when a request arrives.

The web never touches the tracker, the links or the journal; the daemon hands it these values
(:class:`CallCenterView`). Everything here is computed by the daemon with the pure functions it
already uses for its log line and the demo's display (``queue_views``, ``QueueFigures``).
Values only: must not import starlette, uvicorn or the daemon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from callcenter.ami.link import LinkState, Retrying
from callcenter.metrics.figures import QueueFigures
from callcenter.queues.views import QueueView

if TYPE_CHECKING:
    from callcenter.cti.hub import AgentHub
    from callcenter.wallboard.live import Wallboard


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    live: QueueView  # waiting callers and agents by state, now
    done: QueueFigures  # finished stints of the site's day (empty figures if none yet)
    day_from: float | None = None  # when the site's day began
    interval_from: float | None = None  # when the current interval began
    interval: QueueFigures | None = None  # finished stints that arrived in it
    unseen: tuple[float, float, int] | None = None  # (since, until, calls) the day's figures miss


@dataclass(frozen=True, slots=True)
class ServerView:
    """One Asterisk at one moment. ``since`` is the wall-clock time of the link's last change
    (when it came up, or when it went down), None before the first connection."""

    name: str
    link: LinkState
    since: float | None
    queues: tuple[QueueSnapshot, ...]  # sorted by queue name

    @property
    def up(self) -> bool:
        return self.link is LinkState.UP


@dataclass(frozen=True, slots=True)
class LinkView:
    """One Asterisk's link alone, O(1) to take: what ``/healthz`` shows. ``retrying`` is set
    between failed attempts (the next attempt, when, and why the last one failed)."""

    name: str
    link: LinkState
    since: float | None
    retrying: Retrying | None = None

    @property
    def up(self) -> bool:
        return self.link is LinkState.UP


class CallCenterView(Protocol):
    """The daemon, read-only. Called on the event loop, so the snapshot is consistent."""

    def servers(self) -> Sequence[ServerView]: ...

    def link_views(self) -> Sequence[LinkView]: ...

    def export_source(self) -> tuple[str, str] | None:
        """(the store's SQLite path or PostgreSQL URL, the site's time zone); None: no store."""
        ...

    def agent_hub(self) -> AgentHub:
        """Where the agents' screens attach (``/ws/agent``)."""
        ...

    def wallboard(self) -> Wallboard:
        """The agents' board and the alerts (``/ws/wallboard``)."""
        ...

    def asterisk_clocks(self) -> Mapping[str, float]:
        """Each Asterisk's time now (its events' clock), by server name."""
        ...
