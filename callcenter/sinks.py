"""The daemon's inline sinks (see :mod:`callcenter.fanout`): the running figures the web and the
log line show, and the log lines of stints, resyncs and anomalies."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from callcenter.fanout import Positioned
from callcenter.metrics.figures import QueueFigures, empty_figures
from callcenter.queues import changes as ch

log = logging.getLogger("callcenter")

ANOMALY_LINES = 20  # anomalies logged one by one per minute and server; the rest are counted


@dataclass(slots=True)
class Totals:
    """Running per-queue figures of finished stints (what /api/queues and the log line show)."""

    servicelevel_for: Callable[[str], int | None]
    queues: dict[str, QueueFigures] = field(default_factory=dict)
    name: str = "figures"

    def take(self, batch: Sequence[Positioned]) -> None:
        for item in batch:
            if isinstance(item.change, ch.StintEnded):
                self.add(item.change)

    def add(self, change: ch.StintEnded) -> None:
        r = change.record
        figures = self.queues.get(r.queue)
        if figures is None:
            figures = self.queues[r.queue] = empty_figures(r.queue, self.servicelevel_for)
        figures.add(r)

    def so_far(self, queue: str) -> QueueFigures:
        """The figures of `queue` so far; empty ones (not kept) before its first finished stint."""
        found = self.queues.get(queue)
        return found if found is not None else empty_figures(queue, self.servicelevel_for)


class LogLines:
    """A line per finished stint and resync seen live, and per anomaly — at most ANOMALY_LINES
    a minute: a flood of junk must not become a flood of log lines; the rest are counted."""

    name = "log"

    def __init__(self, server: str) -> None:
        self.server = server
        self._window = time.monotonic()
        self._logged = self._unlogged = 0

    def take(self, batch: Sequence[Positioned]) -> None:
        for item in batch:
            c = item.change
            if isinstance(c, ch.StintEnded) and item.live:
                r = c.record
                log.info(
                    "%s: stint %s %s %s wait=%s talk=%s agent=%s%s",
                    self.server,
                    r.call_id,
                    r.queue,
                    r.outcome.value,
                    r.wait_s,
                    r.talk_s,
                    r.agent,
                    "" if r.end_seen else " (end unseen)",
                )
            elif isinstance(c, ch.LinkResynced):
                log.info("%s: resynchronised: %d stints closed, %d adopted", self.server, c.closed, c.adopted)
            elif isinstance(c, ch.AnomalySeen) and item.live:
                self._anomaly(c.reason)

    def _anomaly(self, reason: str) -> None:
        now = time.monotonic()
        if now - self._window >= 60.0:
            if self._unlogged:
                log.warning(
                    "%s: %d more anomalies in the last minute not logged one by one",
                    self.server,
                    self._unlogged,
                )
            self._window, self._logged, self._unlogged = now, 0, 0
        if self._logged < ANOMALY_LINES:
            self._logged += 1
            log.warning("%s: anomaly: %s", self.server, reason)
        else:
            self._unlogged += 1
