"""PostgreSQL connection URLs: which ones the journal accepts, and how one is shown.

libpq reads ``postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]`` (and
``postgres://``); the rest of the URL is libpq's to judge when it connects. A URL may carry a
password (after the user, or as ``?password=``): everything that prints one shows it redacted.
Pure: standard library only, no IO.
"""

from __future__ import annotations

import re

SCHEMES = ("postgresql://", "postgres://")  # libpq matches these prefixes case-sensitively
_PASSWORD_PARAM = re.compile(r"(^|&)password=[^&]*")


def is_postgres_url(text: str) -> bool:
    return text.startswith(SCHEMES)


def looks_like_url(text: str) -> bool:
    """A ``scheme://`` string (a journal named this way is a database, never a file)."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


def _split(url: str) -> tuple[str, str, str, str] | None:
    """scheme, netloc, path, query of a URL, as written (urllib would lowercase the scheme and
    drop the empty host of ``postgresql:///db``); None if it is not ``scheme://...``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    path, _, query = rest[end:].partition("?")
    return scheme, rest[:end], path, query


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``: safe for logs and messages."""
    parts = _split(url)
    if parts is None:
        return url
    scheme, netloc, path, query = parts
    user, at, hosts = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.split(':', 1)[0]}:***@{hosts}"
    query = _PASSWORD_PARAM.sub(r"\1password=***", query)
    return f"{scheme}://{netloc}{path}{'?' if query else ''}{query}"


def passwords_of(url: str) -> list[str]:
    """The passwords written in the URL, if any (to scrub them from a driver's error text)."""
    parts = _split(url)
    if parts is None:
        return []
    user, at, _ = parts[1].rpartition("@")
    found = [user.split(":", 1)[1]] if at and ":" in user else []
    found += re.findall(r"(?:^|&)password=([^&]*)", parts[3])
    return [secret for secret in found if secret]
