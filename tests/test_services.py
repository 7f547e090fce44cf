"""The one rule for the machine's services: skip where one is missing, fail under CI.

The outcome is caught as any BaseException and its type checked: a skip escaping a test would
itself read as "skipped", hiding the very bug these tests look for.
"""

from __future__ import annotations

import pytest

from tests import services


def test_a_missing_service_skips_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(BaseException) as caught:
        services.unreachable("MQTT", "127.0.0.1:1883", "refused")
    assert caught.type is pytest.skip.Exception
    assert str(caught.value) == "MQTT at 127.0.0.1:1883 is unreachable: refused"


def test_a_missing_service_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(BaseException) as caught:
        services.unreachable("MQTT", "127.0.0.1:1883", "refused")
    assert caught.type is pytest.fail.Exception
    assert str(caught.value) == "CI=true and MQTT at 127.0.0.1:1883 is unreachable: refused"


def test_an_unreachable_postgresql_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(services, "POSTGRES_PORT", 1)  # nobody listens there
    with pytest.raises(BaseException) as caught:
        services.postgres_base_url()
    assert caught.type is pytest.fail.Exception
    message = str(caught.value)
    assert message.startswith("CI=true and PostgreSQL at 127.0.0.1:1 is unreachable: as postgres: ")
    assert "Connection refused" in message
