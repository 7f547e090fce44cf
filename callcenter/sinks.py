"""The daemon's inline sinks (see :mod:`callcenter.fanout`): the running figures the web and the
log line show, and the log lines of stints, resyncs and anomalies."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from callcenter.fanout import Positioned
from callcenter.metrics.figures import QueueFigures, empty_figures
from callcenter.metrics.window import Window
from callcenter.queues import changes as ch
from callcenter.queues.model import StintRecord

log = logging.getLogger("callcenter")

ANOMALY_LINES = 20  # anomalies logged one by one per minute and server; the rest are counted


@dataclass(slots=True)
class Totals:
    """Running per-queue figures of the site's day and of its current interval (what /api/queues,
    the log line and the demo show). A stint counts in the day and interval it arrived in; when
    one of a newer day arrives, the day's figures start again (the store keeps the old ones).
    Counts and sums only: memory does not grow with the calls."""

    servicelevel_for: Callable[[str], int | None]
    window: Window = field(default_factory=Window)
    queues: dict[str, QueueFigures] = field(default_factory=dict)  # the day's
    day: date | None = None
    interval_queues: dict[str, QueueFigures] = field(default_factory=dict)
    interval_start: float | None = None
    # calls Asterisk counted ending that the figures miss, by queue: (site day, since, until, calls)
    unseen: dict[str, tuple[date, float, float, int]] = field(default_factory=dict)
    name: str = "figures"

    def take(self, batch: Sequence[Positioned]) -> None:
        for item in batch:
            if isinstance(item.change, ch.StintEnded):
                self.add(item.change)
            elif isinstance(item.change, ch.CallsUnseen):
                self.flag(item.change)

    def flag(self, change: ch.CallsUnseen) -> None:
        """The day's figures of a queue miss calls: kept (and added up) until the day is over."""
        day = self.window.day(change.at)
        found = self.unseen.get(change.queue)
        if found is not None and found[0] == day:
            self.unseen[change.queue] = (day, found[1], change.at, found[3] + change.count)
        else:
            self.unseen[change.queue] = (
                day,
                max(change.since, self.window.day_starts(day)),
                change.at,
                change.count,
            )

    def unseen_today(self, queue: str, now: float) -> tuple[float, float, int] | None:
        """(since, until, calls) the queue's figures of the day at ``now`` miss, or None."""
        found = self.unseen.get(queue)
        if found is None or found[0] != self.window.day(now):
            return None
        return found[1:]

    def add(self, change: ch.StintEnded) -> None:
        r = change.record
        arrived = r.joined_at if r.joined_at is not None else r.ended_at
        day = self.window.day(arrived)
        if self.day is None or day > self.day:
            self.day, self.queues = day, {}
        if day == self.day:
            self._add(self.queues, r)
        start = self.window.interval(arrived)
        if self.interval_start is None or start > self.interval_start:
            self.interval_start, self.interval_queues = start, {}
        if start == self.interval_start:
            self._add(self.interval_queues, r)

    def _add(self, figures: dict[str, QueueFigures], r: StintRecord) -> None:
        found = figures.get(r.queue)
        if found is None:
            found = figures[r.queue] = empty_figures(r.queue, self.servicelevel_for)
        found.add(r)

    def state(self) -> tuple[Any, ...]:
        """What a checkpoint keeps (the service-level rule is the daemon's, not state)."""
        return (self.day, self.queues, self.interval_start, self.interval_queues, self.unseen)

    def restore(self, state: tuple[Any, ...]) -> None:
        self.day, self.queues, self.interval_start, self.interval_queues, self.unseen = state

    def so_far(self, queue: str, now: float | None = None) -> QueueFigures:
        """The day's figures of `queue` (at `now`, empty ones once a new day has begun)."""
        if now is not None and self.day is not None and self.window.day(now) > self.day:
            return empty_figures(queue, self.servicelevel_for)
        found = self.queues.get(queue)
        return found if found is not None else empty_figures(queue, self.servicelevel_for)

    def this_interval(self, queue: str, now: float) -> tuple[float, QueueFigures]:
        """The current interval's start and the queue's figures in it."""
        start = self.window.interval(now)
        found = self.interval_queues.get(queue) if start == self.interval_start else None
        return start, found if found is not None else empty_figures(queue, self.servicelevel_for)


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
            elif isinstance(c, ch.CallsUnseen) and item.live:
                since = time.strftime("%H:%M:%S", time.localtime(c.since))
                log.warning(
                    "%s: %s: Asterisk counted %d more calls ending since %s than the daemon saw: they "
                    "are missing from the figures (callcenter backfill, or ami.servers[].queue_log)",
                    self.server, c.queue, c.count, since,
                )  # fmt: skip
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
