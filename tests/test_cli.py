"""The `callcenter` command line: exit codes and messages an operator reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter", *args], capture_output=True, text=True, timeout=60
    )


def test_check_config_accepts_the_example() -> None:
    result = cli("check-config", str(ROOT / "config" / "callcenter.example.yaml"))
    assert result.returncode == 0 and "OK" in result.stdout and "pbx1 (127.0.0.1:5038)" in result.stdout


def test_check_config_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "ami:\n  servers:\n    - name: pbx1\n      port: 70000\n      secert: x\ntracking:\n"
        "  short_abandon_s: -3\n"
    )
    result = cli("check-config", str(bad))
    assert result.returncode == 1
    for text in (
        "ami.servers[0].port: expected an integer 1-65535, got 70000",
        "ami.servers[0].secert: unknown key",
        "ami.servers[0].secret: required",
        "tracking.short_abandon_s:",
    ):
        assert text in result.stderr, result.stderr


def test_check_config_bad_yaml_points_at_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("ami:\n  servers: [\n")
    result = cli("check-config", str(bad))
    assert result.returncode == 1 and "invalid YAML" in result.stderr and ":3:" in result.stderr


def test_replay_of_a_missing_file() -> None:
    result = cli("replay", "/nonexistent/trace.ami")
    assert result.returncode == 2 and "no such file" in result.stderr


def test_version() -> None:
    assert cli("--version").stdout.startswith("callcenter ")
