"""Which day and which interval a moment belongs to, for the live figures: the site's day (its
time zone, starting at a configurable hour) and its current 15/30/60-minute interval. Pure."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.metrics.kpi import interval_start

SLOT_S = {"15min": 900, "30min": 1800, "hour": 3600, "day": 86400, "week": 86400, "month": 86400}


@dataclass(frozen=True, slots=True)
class Window:
    timezone: str = "UTC"
    day_start_min: int = 0  # minutes after local midnight the help desk's day starts
    interval_min: int = 30  # 15, 30 or 60

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def day(self, at: float) -> date:
        """The site day holding ``at``: a day starting at 06:00 holds 05:59 in the day before."""
        return (datetime.fromtimestamp(at, self.zone) - timedelta(minutes=self.day_start_min)).date()

    def day_starts(self, day: date) -> float:
        """When a site day begins, as epoch seconds (wall-clock time: DST days are 23 or 25 h)."""
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return (midnight + timedelta(minutes=self.day_start_min)).timestamp()

    def interval(self, at: float) -> float:
        """The start of the interval holding ``at`` (wall-clock slots of the site's zone)."""
        local = datetime.fromtimestamp(at, self.zone)
        minutes = local.hour * 60 + local.minute
        floor = minutes - minutes % self.interval_min
        return local.replace(hour=floor // 60, minute=floor % 60, second=0, microsecond=0).timestamp()


def site_zone(name: str | None) -> str:
    """An IANA zone name: the one given, else the machine's (TZ, /etc/localtime), else UTC."""
    for candidate in (name, os.environ.get("TZ"), _localtime_name()):
        if candidate:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                if candidate == name:
                    raise ValueError(f"--timezone: no such time zone {name!r} (e.g. America/Bogota)") from exc
                continue
            return candidate
    return "UTC"


def _localtime_name() -> str | None:
    target = Path("/etc/localtime")
    try:
        resolved = str(target.resolve())
    except OSError:
        return None
    marker = "/zoneinfo/"
    return resolved.split(marker, 1)[1] if marker in resolved else None


def _offset(tz: ZoneInfo, at: float) -> int:
    off = datetime.fromtimestamp(at, tz).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def offsets(tz: ZoneInfo, start: float, end: float) -> list[tuple[float, int]]:
    """(from, UTC offset in s) for each offset the zone has in [start, end], oldest first; zones
    change offset at most every few weeks, so an hourly scan finds each change, narrowed to the
    second by bisection."""
    t = float(int(start))
    found = [(t, _offset(tz, t))]
    while t < end:
        nxt = min(t + 3600, float(int(end) + 1))
        if _offset(tz, nxt) != found[-1][1]:
            lo, hi = t, nxt  # offset(lo) is the old one, offset(hi) the new one
            while hi - lo > 1:
                mid = float(int((lo + hi) / 2))
                lo, hi = (lo, mid) if _offset(tz, mid) != found[-1][1] else (mid, hi)
            found.append((hi, _offset(tz, hi)))
        t = nxt
    return found


def label_for(by: Sequence[str], interval: str, tz: ZoneInfo) -> list[Callable[[Any], str]]:
    """Turns each group column back into the label ``metrics.kpi.kpis_by`` gives the same group."""

    def slot_label(slot: Any) -> str:
        size = SLOT_S[interval]
        local = datetime.fromtimestamp(int(slot) * size, UTC).replace(tzinfo=tz)  # the slot's wall time
        if size == 86400:  # a local midnight; weeks and months start at one
            return interval_start(local.timestamp(), interval, tz).isoformat()
        return local.isoformat()

    return [slot_label if b == "interval" else str for b in by]
