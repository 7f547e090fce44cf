"""The site's time zone and the periods analysts ask for (--from/--to dates, --month)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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


def moment(text: str, tz: ZoneInfo, what: str) -> float:
    """A date (its midnight) or a date and time, in the site's zone, as epoch seconds."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{what}: expected a date (2026-10-01) or a date and time, got {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.timestamp()
