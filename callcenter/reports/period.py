"""The periods analysts ask for (--from/--to dates), in the site's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def moment(text: str, tz: ZoneInfo, what: str) -> float:
    """A date (its midnight) or a date and time, in the site's zone, as epoch seconds."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{what}: expected a date (2026-10-01) or a date and time, got {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.timestamp()
