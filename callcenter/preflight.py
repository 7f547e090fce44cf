"""What ``callcenter run`` needs beyond a valid config file, checked before it starts — and by
``check-config``, through the same function, so a systemd ``ExecStartPre=callcenter
check-config`` catches what would make the service crash-loop: no Asterisk to track, TLS files
that do not load or do not match, a journal folder the service cannot write.

Reads files and the filesystem's permissions; opens no socket and no database.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from pathlib import Path

from callcenter.config import Settings


def problems(settings: Settings) -> list[str]:
    """Every problem that would stop the daemon at start, one line each with its key path."""
    found: list[str] = []
    if not settings.ami.servers:
        found.append("ami.servers: expected at least one Asterisk server, got none")
    web = settings.web
    if web.enabled and web.tls_cert is not None and web.tls_key is not None:
        from callcenter.web.server import WebError, tls_context

        try:
            tls_context(web.tls_cert, web.tls_key)
        except WebError as exc:
            found.append(str(exc))
    journal = settings.journal
    if journal.enabled and journal.url is None:
        found += _sqlite_problems(Path(journal.path), "journal")
    store = settings.store
    if store.enabled and store.url is None:
        found += _sqlite_problems(Path(store.path), "store")
    if settings.mqtt.enabled and importlib.util.find_spec("aiomqtt") is None:
        found.append(
            "mqtt.enabled: needs the MQTT client, not installed here: pip install 'callcenter[mqtt]'"
        )
    return found


def _sqlite_problems(path: Path, what: str) -> list[str]:
    if path.exists():
        if path.is_dir():
            return [f"{what}.path: expected a file, got the folder {str(path)!r}"]
        if not os.access(path, os.R_OK | os.W_OK):
            return [f"{what}.path: {str(path)!r} is not readable and writable by this user"]
        folder = path.parent
    else:
        folder = path.parent
        while not folder.exists():  # the daemon creates missing folders: the first existing one counts
            folder = folder.parent
        if not folder.is_dir():
            return [f"{what}.path: {str(folder)!r} is not a folder, so {str(path)!r} cannot be created"]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            f"{what}.path: the folder {str(folder)!r} is not writable by this user "
            f"(the {what} and its -wal/-shm{'/.lock' if what == 'journal' else ''} files go there)"
        ]
    return []


def warnings(settings: Settings) -> list[str]:
    """What would start but is risky, one line each: said at start-up and by check-config."""
    found = []
    for i, server in enumerate(settings.ami.servers):
        if server.queue_log is not None and not os.access(server.queue_log, os.R_OK):
            found.append(
                f"ami.servers[{i}].queue_log: {server.queue_log!r} is not readable by this user (yet): "
                "a gap will not be filled from it until it is (Asterisk creates it at the first queue call)"
            )
    return found + _web_warnings(settings)


def _web_warnings(settings: Settings) -> list[str]:
    web = settings.web
    if not web.enabled or _loopback(web.host):
        return []
    missing = [
        what for what, given in (("TLS", web.tls_cert), ("a bearer token", web.api_token)) if not given
    ]
    if not missing:
        return []
    return [
        f"web.host: {web.host} is reachable from other machines, without {' and without '.join(missing)}: "
        "anyone who can reach it reads the live figures"
        + (" in clear text" if "TLS" in missing else "")
        + "; set web.api_token and web.tls_cert/tls_key, or bind 127.0.0.1 behind a reverse proxy "
        "(docs/operations.md)"
    ]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything
