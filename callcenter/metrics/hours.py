"""Business hours: the minutes of the week the help desk answers, in the site's time zone. Pure.

Written as the operator thinks of them (``site.business_hours`` in the config, ``--business-hours``
on the command line)::

    mon-fri: "08:00-18:00"
    sat: "09:00-13:00, 15:00-17:00"

A call counts as in business hours when it *arrived* (as every KPI places a call) in one of those
spans: from the first minute included to the last one excluded. "00:00-24:00" is a whole day.
The dialplans' GotoIfTime names the same hours for Asterisk (``dialplans/``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MIN, WEEK_MIN = 1440, 7 * 1440
EPOCH_WEEKDAY = 3  # 1970-01-01, day 0 of the epoch, was a Thursday (Monday is 0)
_SPAN = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    spans: tuple[tuple[int, int], ...]  # [from, to) in minutes of the week, Monday 00:00 is 0
    text: str  # as given, for reports: "mon-fri 08:00-18:00; sat 09:00-13:00"

    def open_at(self, at: float, tz: ZoneInfo) -> bool:
        """Whether the instant ``at`` (epoch seconds) falls in business hours, on the site's clock."""
        local = datetime.fromtimestamp(at, tz)
        minute = local.weekday() * DAY_MIN + local.hour * 60 + local.minute
        return any(lo <= minute < hi for lo, hi in self.spans)

    def open_minutes(self) -> list[bool]:
        """For each minute of the week, whether it is open: a table the columnar path looks up."""
        table = [False] * WEEK_MIN
        for lo, hi in self.spans:
            table[lo:hi] = [True] * (hi - lo)
        return table


def parse(spec: Mapping[str, object]) -> BusinessHours:
    """``{"mon-fri": "08:00-18:00", ...}`` as BusinessHours; ValueError says what is wrong, in the
    words of the setting."""
    if not spec:
        raise ValueError('expected days and hours, e.g. {"mon-fri": "08:00-18:00"}')
    spans: list[tuple[int, int]] = []
    text = []
    for days, hours in spec.items():
        weekdays = _days(str(days))
        if not isinstance(hours, str):
            raise ValueError(f'{days}: expected hours as text, e.g. "08:00-18:00", got {hours!r}')
        for part in hours.split(","):
            found = _SPAN.fullmatch(part.strip())
            if found is None:
                raise ValueError(f'{days}: expected "HH:MM-HH:MM[, HH:MM-HH:MM]", got {hours!r}')
            h1, m1, h2, m2 = (int(g) for g in found.groups())
            lo, hi = h1 * 60 + m1, h2 * 60 + m2
            if m1 > 59 or m2 > 59 or hi > DAY_MIN or lo >= hi:
                raise ValueError(f"{days}: {part.strip()!r} is not a span of one day (00:00-24:00 at most)")
            spans += [(d * DAY_MIN + lo, d * DAY_MIN + hi) for d in weekdays]
        text.append(f"{days} {hours}")
    return BusinessHours(tuple(sorted(spans)), "; ".join(text))


def parse_text(text: str) -> BusinessHours:
    """The command line's form, "mon-fri 08:00-18:00; sat 09:00-13:00", as BusinessHours."""
    spec: dict[str, object] = {}
    for part in text.split(";"):
        days, _, hours = part.strip().partition(" ")
        if not days or not hours.strip():
            raise ValueError(
                f'--business-hours: expected "mon-fri 08:00-18:00; sat 09:00-13:00", got {text!r}'
            )
        spec[days] = hours.strip()
    return parse(spec)


def _days(text: str) -> list[int]:
    out: list[int] = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{text!r}: expected days such as mon, sat-sun or mon-fri ({', '.join(DAYS)})")
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise ValueError(f"{text!r}: a range of days runs forwards (mon-fri, not fri-mon)")
        out += range(a, b + 1)
    return out
