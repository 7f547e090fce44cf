"""Fixtures for the machine's real services; the skip-or-fail rule is in tests/services.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import postgres_base_url, postgres_schema


@pytest.fixture(scope="session")
def postgres_server() -> str:
    return postgres_base_url()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL URL of a fresh, empty schema for this test alone."""
    with postgres_schema(postgres_server) as url:
        yield url
