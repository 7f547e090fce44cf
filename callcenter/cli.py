"""The ``callcenter`` command: argument parsing and dispatch, nothing else."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from callcenter import __version__

if TYPE_CHECKING:
    from callcenter.config import Settings


def _load(path: str | None, *, need_servers: bool = False) -> Settings | None:
    """The settings of a config file (defaults without one); every problem printed otherwise."""
    from callcenter.config import ConfigError, default_settings, load_settings

    try:
        settings = load_settings(path) if path else default_settings()
    except ConfigError as exc:
        print(f"callcenter: {path}: {len(exc.problems)} problem(s) in the config:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    if need_servers and not settings.ami.servers:
        print(
            f"callcenter: {path}: ami.servers: expected at least one Asterisk server, got none",
            file=sys.stderr,
        )
        return None
    return settings


def _replay(args: argparse.Namespace) -> int:
    from callcenter.ami.trace import TraceError
    from callcenter.queues.tracker import TrackerConfig
    from callcenter.replay import format_table, replay

    settings = _load(args.config)
    if settings is None:
        return 2
    tracking = settings.tracking
    servicelevels = {q: s for q in tracking.queues if (s := tracking.servicelevel_for(q)) is not None}
    try:
        report = replay(args.trace, TrackerConfig.from_settings(tracking), servicelevels, args.server)
    except TraceError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(report, sys.stdout, indent=1 if args.pretty else None)
        sys.stdout.write("\n")
    else:
        print(format_table(report))
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from callcenter.daemon import run_daemon
    from callcenter.journal import JournalError

    settings = _load(args.config, need_servers=True)
    if settings is None:
        return 2
    logging.basicConfig(
        level=settings.log.level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        asyncio.run(run_daemon(settings))
    except JournalError as exc:
        logging.getLogger("callcenter").error("%s", exc)
        return 1
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    from dataclasses import replace
    from pathlib import Path

    from callcenter.config import ConfigError
    from callcenter.demo import SimulatorRun, simulate
    from callcenter.simulator.scenario import load_scenario
    from callcenter.simulator.server import ServerOptions

    try:
        spec, traffic = load_scenario(args.config)
    except ConfigError as exc:
        print(
            f"callcenter: {args.config}: {len(exc.problems)} problem(s) in the simulator config:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.calls_per_hour is not None:
        traffic = replace(traffic, calls_per_hour=(args.calls_per_hour,))
    try:
        options = ServerOptions(host=args.host, port=args.port, username=args.username, secret=args.secret,
                                timestamps=not args.no_timestamps, speed=args.speed)  # fmt: skip
    except ValueError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    queue_log = Path(args.queue_log) if args.queue_log else None
    asyncio.run(simulate(SimulatorRun(spec, traffic, options, args.seed, args.duration, queue_log)))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callcenter.demo import main_demo

    return main_demo(args.duration, Path(args.data), args.seed)


def _check_config(args: argparse.Namespace) -> int:
    settings = _load(args.config)
    if settings is None:
        return 1
    servers = ", ".join(f"{s.name} ({s.host}:{s.port})" for s in settings.ami.servers) or "none"
    journal = settings.journal.path if settings.journal.enabled else "off"
    print(f"{args.config}: OK — AMI servers: {servers}; journal: {journal}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description="Call-center platform for Asterisk.")
    parser.add_argument("--version", action="version", version=f"callcenter {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("replay", help="replay a recorded AMI stream (.ami or .jsonl, optionally .gz)")
    p.add_argument("trace")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.add_argument("--config", help="YAML config (service levels, short-abandon threshold)")
    p.add_argument("--server", help="which server of a journal with several")
    p.set_defaults(func=_replay)
    p = sub.add_parser("demo", help="a simulated call center and the daemon tracking it, on localhost")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: Ctrl-C)")
    p.add_argument("--data", default="data", help="folder for the journal and queue_log (default ./data)")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_demo)
    p = sub.add_parser("simulate", help="an Asterisk-compatible AMI simulator of a call center")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--username", default="callcenter")
    p.add_argument("--secret", default="callcenter")
    p.add_argument("--config", help="YAML call-center description (see config/simulator.example.yaml)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    p.add_argument("--queue-log", help="append queue_log lines here, exactly as Asterisk writes them")
    p.add_argument("--speed", type=float, default=1.0, help="virtual seconds per wall second")
    p.add_argument("--calls-per-hour", type=float, help="override the traffic's arrival rate")
    p.add_argument("--no-timestamps", action="store_true", help="as Asterisk with timestampevents=no")
    p.set_defaults(func=_simulate)
    p = sub.add_parser("run", help="the daemon: connect to the configured Asterisks, track and journal")
    p.add_argument("--config", required=True, help="YAML config file (see config/callcenter.example.yaml)")
    p.set_defaults(func=_run)
    p = sub.add_parser("check-config", help="report every problem of a config file, with its key path")
    p.add_argument("config")
    p.set_defaults(func=_check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
