"""The machine's real services (PostgreSQL now, MQTT next) for the tests that need them.

A service that is not there skips its tests with the reason, on a developer's machine; under
CI (``CI=true``) it fails them instead, because there a skipped test would hide a broken set-up
(the services are part of the CI machine). Every test that needs a service asks here, so that
rule lives in one place: :func:`unreachable`.
"""

from __future__ import annotations

import getpass
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB = "127.0.0.1", 5432, "test"
_schemas = itertools.count()


def unreachable(service: str, address: str, reason: str) -> NoReturn:
    """Skip the test, or fail it when CI=true: the one place that decides."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {service} at {address} is unreachable: {reason}", pytrace=False)
    pytest.skip(f"{service} at {address} is unreachable: {reason}")


def required_tool(command: str, package: str) -> str:
    """The path of a command the test needs; missing: skip, or fail under CI=true."""
    import shutil

    path = shutil.which(command)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the {command} command is missing (Debian package {package})")
        pytest.skip(f"the {command} command is not installed (Debian package {package})")
    return path


def postgres_base_url() -> str:
    """A URL PostgreSQL accepts (trust auth, as user postgres or the current user), or skip/fail."""
    address = f"{POSTGRES_HOST}:{POSTGRES_PORT}"
    try:
        import psycopg
    except ImportError:
        unreachable("PostgreSQL", address, "psycopg is not installed (pip install -e '.[dev]')")
    reasons = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        url = f"postgresql://{user}@{address}/{POSTGRES_DB}"
        try:
            psycopg.connect(url, connect_timeout=3).close()
        except psycopg.Error as exc:
            reasons.append(f"as {user}: {' '.join(str(exc).split())}")
        else:
            return url
    unreachable("PostgreSQL", address, "; ".join(reasons))


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL whose tables land in a schema of their own, dropped afterwards (tests never meet)."""
    import psycopg

    name = f"cc_test_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(base_url, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        db.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{base_url}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883


def mqtt_broker() -> tuple[str, int]:
    """The machine's MQTT broker (Mosquitto), or skip/fail: checked with a real TCP connection."""
    import socket

    address = f"{MQTT_HOST}:{MQTT_PORT}"
    try:
        import aiomqtt  # noqa: F401
    except ImportError:
        unreachable("MQTT", address, "aiomqtt is not installed (pip install -e '.[dev]')")
    try:
        socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=3).close()
    except OSError as exc:
        unreachable("MQTT", address, str(exc))
    return MQTT_HOST, MQTT_PORT
