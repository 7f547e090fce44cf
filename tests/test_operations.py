"""The operator's guide and the systemd unit: they must name things that exist.

The unit is checked by systemd's own parser (``systemd-analyze verify``); every ``callcenter``
command and every config key the guide tells an operator to use must exist, so a rename in the
code breaks this test instead of the operator's upgrade.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import typing
from dataclasses import replace
from pathlib import Path

import pytest

from callcenter import preflight
from callcenter.cli import build_parser
from callcenter.config import Settings, default_settings
from tests.services import required_tool

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "operations.md"
UNIT = ROOT / "dist" / "callcenter.service"
INSTALLED = "/opt/callcenter/venv/bin/callcenter"


def _systemd_analyze() -> str:
    return required_tool("systemd-analyze", "systemd")


def _verify(unit_text: str, tmp_path: Path) -> str:
    """systemd-analyze's complaints about a unit; the installed path points at this venv."""
    here = str(Path(sys.executable).with_name("callcenter"))
    path = tmp_path / "callcenter.service"
    path.write_text(unit_text.replace(INSTALLED, here), encoding="utf-8")
    done = subprocess.run(
        [_systemd_analyze(), "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        return f"exit {done.returncode}: {done.stderr}"
    return (done.stdout + done.stderr).strip()


def test_the_systemd_unit_passes_systemds_own_checks(tmp_path: Path) -> None:
    assert _verify(UNIT.read_text(encoding="utf-8"), tmp_path) == ""


def test_a_typo_in_the_unit_is_caught(tmp_path: Path) -> None:
    broken = UNIT.read_text(encoding="utf-8").replace("Restart=on-failure", "Restrat=on-failure")
    assert "Unknown key" in _verify(broken, tmp_path)


def test_the_unit_runs_the_daemon_on_the_guides_paths() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    assert f"ExecStart={INSTALLED} run --config /etc/callcenter/callcenter.yaml" in unit
    assert f"ExecStartPre={INSTALLED} check-config /etc/callcenter/callcenter.yaml" in unit
    assert "StateDirectory=callcenter" in unit and "User=callcenter" in unit
    guide = GUIDE.read_text(encoding="utf-8")
    for path in ("/opt/callcenter/venv", "/etc/callcenter/callcenter.yaml", "/var/lib/callcenter"):
        assert path in guide


def _subcommands() -> set[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return {name for a in actions for name in a.choices}  # type: ignore[attr-defined]


def test_every_command_in_the_guide_exists() -> None:
    # as typed: `.../bin/callcenter X`, a code line starting `callcenter X`, or `callcenter X` in backticks
    pattern = re.compile(r"(?:bin/|^ {4,}|`)callcenter ([a-z][a-z-]+)", re.MULTILINE)
    used = set(pattern.findall(GUIDE.read_text(encoding="utf-8")))
    assert {"run", "check-config", "replay"} <= used
    assert used <= _subcommands(), sorted(used - _subcommands())


def _schema(cls: type, prefix: str = "") -> set[str]:
    """Every key path the config accepts: `ami.servers[].port`, `tracking.queues.<name>.wrapup_s`."""
    out: set[str] = set()
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path, hint = prefix + f.name, hints[f.name]
        out.add(path)
        args = typing.get_args(hint)
        if dataclasses.is_dataclass(hint):
            out |= _schema(hint, path + ".")  # type: ignore[arg-type]
        elif args and dataclasses.is_dataclass(args[0]):
            out |= _schema(args[0], path + "[].")  # type: ignore[arg-type]
        elif len(args) == 2 and dataclasses.is_dataclass(args[1]):
            out |= _schema(args[1], path + ".<name>.")  # type: ignore[arg-type]
    return out


def test_every_config_key_in_the_guide_exists() -> None:
    schema = _schema(Settings)
    assert {"ami.servers[].events", "tracking.queues.<name>.wrapup_s", "journal.path", "web.port"} <= schema
    key = re.compile(r"`((?:ami|tracking|journal|log|web)\.[a-z_\[\].<>]+)`")
    named = set(key.findall(GUIDE.read_text(encoding="utf-8")))
    assert len(named) >= 5
    assert {"web.host", "web.port", "web.tls_cert", "web.tls_key", "web.api_token"} <= named
    assert named <= schema, sorted(named - schema)


def test_the_unit_keeps_the_journal_private() -> None:
    # The journal holds AMI traffic (callers' numbers): files the service creates are 0600.
    assert "\nUMask=0077\n" in (ROOT / "dist" / "callcenter.service").read_text()


@pytest.mark.parametrize(
    ("web", "warned"),
    [
        ({"host": "127.0.0.1"}, None),
        ({"host": "::1"}, None),
        ({"host": "localhost"}, None),
        ({"host": "0.0.0.0"}, "without TLS and without a bearer token"),
        ({"host": "0.0.0.0", "api_token": "t" * 20}, "without TLS: anyone"),
        ({"host": "10.1.2.3", "tls_cert": "c.pem", "tls_key": "k.pem"}, "without a bearer token: anyone"),
        ({"host": "0.0.0.0", "enabled": False}, None),
    ],
)
def test_a_web_reachable_from_other_machines_without_token_or_tls_is_warned(
    web: dict[str, object], warned: str | None
) -> None:
    settings = replace(default_settings(), web=replace(default_settings().web, **web))
    found = preflight.warnings(settings)
    if warned is None:
        assert found == []
    else:
        (line,) = found
        assert warned in line


def test_check_config_says_the_warning_run_logs(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ami:\n  servers:\n    - {name: pbx1, username: u, secret: s}\nweb:\n  host: 0.0.0.0\n")
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "check-config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert "warning: web.host: 0.0.0.0 is reachable from other machines" in result.stderr


@pytest.mark.timeout(240)
def test_installed_as_a_package_it_is_whole(tmp_path: Path) -> None:
    """`pip install` (not editable) then `callcenter init DIR`: the example configs, the Asterisk
    files and the unit come from the installed package, not from a checkout."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=200,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("callcenter-*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", "import callcenter, sys; from callcenter.cli import main; "
         "print(callcenter.__file__); sys.exit(main(['init', 'out']))"],
        capture_output=True, text=True, timeout=60, cwd=elsewhere, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith(str(site))  # the installed copy, not the checkout
    out = elsewhere / "out"
    assert (out / "callcenter.yaml").read_bytes() == (
        ROOT / "config" / "callcenter.example.yaml"
    ).read_bytes()
    assert (out / "asterisk" / "extensions_callcenter.conf").read_bytes() == (
        ROOT / "dialplans" / "extensions_callcenter.conf"
    ).read_bytes()
    assert (out / "callcenter.service").exists() and (out / "simulator.yaml").exists()
    again = subprocess.run(
        [sys.executable, "-m", "callcenter", "init", "out"], capture_output=True, text=True, timeout=60,
        cwd=elsewhere, env=env,
    )  # fmt: skip
    assert again.returncode == 1 and "already there; nothing was written" in again.stderr
    check = subprocess.run(
        [sys.executable, "-m", "callcenter", "check-config", str(out / "callcenter.yaml")],
        capture_output=True, text=True, timeout=60, cwd=elsewhere, env=env,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_the_units_documentation_is_where_the_guide_puts_the_code() -> None:
    unit = (ROOT / "dist" / "callcenter.service").read_text()
    (doc,) = re.findall(r"^Documentation=file://(\S+)$", unit, re.M)
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert doc.startswith("/opt/callcenter/src/") and "/opt/callcenter/src" in guide
    assert (ROOT / doc.removeprefix("/opt/callcenter/src/")).is_file()
    assert "example.org/callcenter.git" not in guide  # no placeholder for where the code comes from
