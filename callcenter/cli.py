"""The ``callcenter`` command: argument parsing and dispatch, nothing else."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from callcenter import __version__
from callcenter.reports import TABLES

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from callcenter.config import JournalSettings, Settings
    from callcenter.metrics.kpi import KpiRules
    from callcenter.reports.monthly import MonthData


def _load(path: str | None) -> Settings | None:
    """The settings of a config file (defaults without one); every problem printed otherwise."""
    from callcenter.config import ConfigError, default_settings, load_settings

    try:
        return load_settings(path) if path else default_settings()
    except ConfigError as exc:
        print(f"callcenter: {path}: {len(exc.problems)} problem(s) in the config:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callcenter.init import InitError, init

    target = Path(args.dir)
    try:
        written = init(target, force=args.force)
    except (InitError, OSError) as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(
        f"next: edit {target / 'callcenter.yaml'} (ami.servers), check it with "
        f"`callcenter check-config {target / 'callcenter.yaml'}`; the Asterisk side is in "
        f"{target / 'asterisk'} (its README says where each file goes)"
    )
    return 0


def _preflight_failed(config: str, settings: Settings) -> bool:
    """What `run` needs beyond a valid file (see callcenter.preflight), printed if anything."""
    from callcenter import preflight

    found = preflight.problems(settings)
    if found:
        print(f"callcenter: {config}: {len(found)} problem(s) for callcenter run:", file=sys.stderr)
        for problem in found:
            print(f"  {problem}", file=sys.stderr)
    return bool(found)


def _replay(args: argparse.Namespace) -> int:
    from functools import partial

    from callcenter.ami.trace import TraceError
    from callcenter.daemon import servicelevel_rule, tracker_config
    from callcenter.journal import JournalError
    from callcenter.replay import format_table, replay
    from callcenter.store import StoreError, open_store

    settings = _load(args.config)
    if settings is None:
        return 2
    tracking = settings.tracking
    rule = partial(servicelevel_rule, tracking) if args.config else None  # default: Asterisk's own only
    store = None
    try:
        if args.store:
            store = open_store(args.store)
        report = replay(args.trace, tracker_config(tracking), rule, args.server, store)
    except (TraceError, JournalError, StoreError) as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()
    if args.json:
        json.dump(report, sys.stdout, indent=1 if args.pretty else None)
        sys.stdout.write("\n")
    else:
        print(format_table(report))
    return 0


def _kpi_rules(args: argparse.Namespace) -> tuple[KpiRules, ZoneInfo]:
    """The rules and the site's zone from the options export, report and staffing share;
    ValueError if one is bad."""
    from zoneinfo import ZoneInfo

    from callcenter.metrics.hours import parse_text
    from callcenter.metrics.kpi import KpiRules, SlVariant
    from callcenter.metrics.window import site_zone

    zone = site_zone(args.timezone)
    hours = None if args.business_hours is None else parse_text(args.business_hours)
    rules = KpiRules(servicelevel_s=args.servicelevel, variant=SlVariant(args.variant),
                     repeat_window_s=args.repeat_days * 86400.0, timezone=zone,
                     business_hours=hours)  # fmt: skip
    return rules, ZoneInfo(zone)


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callcenter.reports.period import moment
    from callcenter.reports.tables import store_table
    from callcenter.reports.writers import ExportError, write
    from callcenter.store import StoreError, open_store

    try:
        rules, tz = _kpi_rules(args)
        start = None if args.start is None else moment(args.start, tz, "--from")
        end = None if args.end is None else moment(args.end, tz, "--to")
    except ValueError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    fmt = args.format or out.suffix.lstrip(".")
    try:
        store = open_store(args.store, create=False)
        try:
            columns, rows = store_table(store, args.table, start, end, queue=args.queue, agent=args.agent,
                                        by=args.by, interval=args.interval, rules=rules)  # fmt: skip
            unseen = store.unseen_calls(
                -math.inf if start is None else start, math.inf if end is None else end
            )
        finally:
            store.close()
        write(out, fmt, columns, rows)
    except (StoreError, ExportError) as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(rows)} {args.table} rows to {out}", file=sys.stderr)
    missing = sum(n for q, _, _, n in unseen if args.queue is None or q == args.queue)
    if missing:  # the same warning the report prints on its first page
        print(f"callcenter: warning: Asterisk counted {missing} calls ending in this period that the daemon "
              "never saw (it was not running): they are missing from these rows; `callcenter backfill` "
              "fills them in from queue_log", file=sys.stderr)  # fmt: skip
    return 0


def _month_of_store(args: argparse.Namespace) -> tuple[KpiRules, MonthData] | int:
    """The rules and the sums of ``--month`` in ``--store`` (report, staffing); an exit status
    once the problem is said: 2 for a bad option, 1 for a store that cannot be read."""
    from callcenter.reports.monthly import month_data_from_store, month_range
    from callcenter.store import StoreError, open_store

    try:
        rules, tz = _kpi_rules(args)
        month_range(args.month, tz)  # checks --month
    except ValueError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    try:
        store = open_store(args.store, create=False)
        try:
            return rules, month_data_from_store(store, args.month, rules)
        finally:
            store.close()
    except StoreError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callcenter.reports.monthly import figures, render
    from callcenter.reports.pdf import PdfError, print_pdf

    out = Path(args.out)
    if out.suffix not in (".html", ".pdf"):
        print(f"callcenter: --out: the report is an .html or .pdf file, got {out.name!r}", file=sys.stderr)
        return 2
    found = _month_of_store(args)
    if isinstance(found, int):
        return found
    rules, data = found
    try:
        page = render(figures(data, args.month, rules))
        if out.suffix == ".pdf":
            print_pdf(page, out)
        else:
            out.write_text(page, encoding="utf-8")
    except PdfError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"callcenter: {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote the {args.month} report ({data.total.offered} stints) to {out}", file=sys.stderr)
    return 0


def _staffing(args: argparse.Namespace) -> int:
    from functools import partial

    from callcenter.reports.staffing import advise, demand, table
    from callcenter.simulator.rehearsal import rehearse

    found = _month_of_store(args)
    if isinstance(found, int):
        return found
    rules, data = found
    needs = sorted(demand(data.by_hour), key=lambda n: -n.calls_per_hour)[: args.hours]
    if not needs:
        print(
            f"callcenter: {args.store}: no answered call in {args.month}: nothing to staff for",
            file=sys.stderr,
        )
        return 1
    run = None if args.no_rehearsal else partial(rehearse, hours=4.0, seed=args.seed)
    advice = [advise(n, args.target, rules.servicelevel_s, run) for n in sorted(needs, key=lambda n: n.hour)]
    print(table(advice, args.target, rules.servicelevel_s))
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callcenter.queues.queue_log import stints_of
    from callcenter.store import StoreError, open_store

    path = Path(args.queue_log)
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            records = list(stints_of(lines, short_abandon_s=args.short_abandon))
    except OSError as exc:
        print(f"callcenter: {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    if not records:
        print(
            f"callcenter: {path}: no finished queue stint in it; expected Asterisk's queue_log",
            file=sys.stderr,
        )
        return 1
    try:
        store = open_store(args.store)
        try:
            added, replaced = store.backfill(args.server, records)
        finally:
            store.close()
    except StoreError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    kept = len(records) - added - replaced
    print(
        f"{path}: {len(records)} stints; {added} added, {replaced} replaced (their end unseen by the "
        f"daemon), {kept} already in the store"
    )
    return 0


def _analysis_options(p: argparse.ArgumentParser) -> None:
    from callcenter.metrics.kpi import DEFAULT_VARIANT, SlVariant

    p.add_argument("--store", required=True, help="the store: an SQLite file or a postgresql:// URL")
    p.add_argument("--timezone", help="the site's IANA time zone (default: the machine's)")
    p.add_argument("--servicelevel", type=float, default=20.0, help="T, seconds (default 20)")
    p.add_argument("--variant", choices=[v.value for v in SlVariant], default=DEFAULT_VARIANT.value,
                   help="service-level formula (default %(default)s; see docs/kpis.md)")  # fmt: skip
    p.add_argument("--repeat-days", type=float, default=7.0, help="FCR: a repeat call within this many days")
    p.add_argument("--business-hours", metavar="HOURS",
                   help='count only calls that arrived in these hours, site time: "mon-fri 08:00-18:00; '
                        'sat 09:00-13:00" (default: all day, every day)')  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from callcenter import preflight
    from callcenter.daemon import run_daemon
    from callcenter.journal import JournalError
    from callcenter.web.server import WebError

    settings = _load(args.config)
    if settings is None:
        return 2
    if _preflight_failed(args.config, settings):
        return 2
    logging.basicConfig(
        level=settings.log.level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    for warning in preflight.warnings(settings):
        logging.getLogger("callcenter").warning("%s", warning)
    failed: list[str] = []
    try:
        asyncio.run(run_daemon(settings))
    except* JournalError as group:  # raised at start-up, or out of the TaskGroup by an append
        failed += [line for line in _messages(group) if line]
    except* WebError as group:  # raised at start-up: the port is taken, the TLS files are unusable
        failed += [line for line in _messages(group) if line]
    for message in failed:
        logging.getLogger("callcenter").error("%s", message)
    return 1 if failed else 0


def _messages(error: BaseException) -> list[str]:
    if isinstance(error, BaseExceptionGroup):
        return [line for inner in error.exceptions for line in _messages(inner)]
    return [str(error)]


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

    return main_demo(args.duration, Path(args.data), args.seed, keep=args.keep)


def _check_config(args: argparse.Namespace) -> int:
    from callcenter import preflight

    settings = _load(args.config)
    if settings is None:
        return 1
    if _preflight_failed(args.config, settings):
        return 1
    from importlib.util import find_spec

    from callcenter.journal import PSYCOPG_MISSING

    journal = settings.journal
    if journal.enabled and journal.url is not None and find_spec("psycopg") is None:
        print(f"callcenter: {args.config}: {PSYCOPG_MISSING}", file=sys.stderr)
        return 1
    for warning in preflight.warnings(settings):
        print(f"callcenter: {args.config}: warning: {warning}", file=sys.stderr)
    servers = ", ".join(f"{s.name} ({s.host}:{s.port})" for s in settings.ami.servers) or "none"
    print(
        f"{args.config}: OK — AMI servers: {servers}; journal: {journal.where}; "
        f"store: {settings.store.where}; web: {settings.web.where}"
    )
    return 0


def _journal_copy(args: argparse.Namespace) -> int:
    import time

    from callcenter.journal import JournalError, copy_journal, journal_settings, open_journal

    try:
        source_settings, target_settings = journal_settings(args.source), journal_settings(args.target)
    except JournalError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    if _same_journal(source_settings, target_settings):
        print(f"callcenter: {args.source}: source and target are the same journal", file=sys.stderr)
        return 2
    try:
        source = open_journal(source_settings, create=False)
    except JournalError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    try:
        target = open_journal(target_settings, writer=True)
        try:
            held = target.servers()
            if held and not args.append:
                print(
                    f"callcenter: {target.target}: already holds a journal (servers {', '.join(held)}); "
                    "copy into an empty one, or add --append to add these rows after its own",
                    file=sys.stderr,
                )
                return 2
            started = time.monotonic()
            counts = copy_journal(source, target, batch=args.batch)
            seconds = time.monotonic() - started
        finally:
            target.close()
    except JournalError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
    for server, count in counts.items():
        print(f"{server}: {count} rows")
    total = sum(counts.values())
    print(f"copied {total} rows from {source.target} to {target.target} in {seconds:.1f} s")
    return 0


def _same_journal(a: JournalSettings, b: JournalSettings) -> bool:
    from pathlib import Path

    if a.url is not None or b.url is not None:
        return a.url == b.url
    return Path(a.path).resolve() == Path(b.path).resolve()


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter",
        description="Call-center platform for Asterisk.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"callcenter {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "replay", help="replay a recorded AMI stream (.ami or .jsonl, optionally .gz) or a journal"
    )
    p.add_argument("trace", help="a trace file, a journal .sqlite3, or a journal's postgresql:// URL")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--pretty", action="store_true", help="indent the JSON")
    p.add_argument("--config", help="YAML config (service levels, short-abandon threshold)")
    p.add_argument("--server", help="which server of a journal with several")
    p.add_argument(
        "--store",
        help="also write the finished stints into this store (an SQLite file, created if missing, "
        "or a postgresql:// URL); each is stored once however often the input is replayed",
    )
    p.set_defaults(func=_replay)
    p = sub.add_parser(
        "export",
        help="stints, journeys, agents, KPIs, agents' sessions, pauses or unanswered rings from a store, "
        "as CSV, JSON, xlsx or Parquet",
    )
    p.add_argument("table", choices=TABLES)  # stints, journeys, agents, kpis, sessions, pauses, rings
    _analysis_options(p)
    p.add_argument("--from", dest="start", help="first day (or moment) included, site time")
    p.add_argument("--to", dest="end", help="first day (or moment) excluded, site time")
    p.add_argument("--queue")
    p.add_argument("--agent")
    p.add_argument("--by", choices=["queue", "agent", "interval"], default="queue", help="kpis: grouped by")
    p.add_argument("--interval", choices=["15min", "30min", "hour", "day", "week", "month"], default="day")
    p.add_argument("--format", choices=["csv", "json", "xlsx", "parquet"], help="default: --out's extension")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_export)
    p = sub.add_parser("report", help="the monthly service report of a store, as a self-contained HTML file")
    _analysis_options(p)
    p.add_argument("--month", required=True, help="YYYY-MM, in the site's time zone")
    p.add_argument("--out", required=True, help="FILE.html, or FILE.pdf (printed by Chromium)")
    p.set_defaults(func=_report)
    p = sub.add_parser(
        "staffing",
        help="agents needed in a month's busiest hours: Erlang C and A, rehearsed on the simulator",
    )
    _analysis_options(p)
    p.add_argument("--month", required=True, help="YYYY-MM: the month whose calls are measured")
    p.add_argument("--target", type=float, default=80.0, help="percent answered within --servicelevel (80)")
    p.add_argument("--hours", type=_positive_int, default=3, help="how many of the busiest hours (3)")
    p.add_argument("--seed", type=int, default=1, help="the rehearsal's random seed")
    p.add_argument("--no-rehearsal", action="store_true", help="the formulas only")
    p.set_defaults(func=_staffing)
    p = sub.add_parser(
        "backfill",
        help="add the calls the daemon missed (it was down) from Asterisk's queue_log into the store",
        description="Read Asterisk's queue_log and merge its stints into the store: those the store lacks "
        "are added, those whose end the daemon did not see are replaced, the others are kept as they are. "
        "Safe to run again.",
    )
    p.add_argument("queue_log", help="Asterisk's queue_log (/var/log/asterisk/queue_log), read only")
    p.add_argument("--store", required=True, help="the store: an SQLite file or a postgresql:// URL")
    p.add_argument("--server", required=True, help="the Asterisk's name, as in ami.servers[].name")
    p.add_argument("--short-abandon", type=float, default=5.0, help="seconds (tracking.short_abandon_s)")
    p.set_defaults(func=_backfill)
    p = sub.add_parser("demo", help="a simulated call center and the daemon tracking it, on localhost")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: Ctrl-C)")
    p.add_argument("--data", default="data", help="folder for the journal and queue_log (default ./data)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--keep", action="store_true", help="go on from the last demo's journal (default: start clean)"
    )
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
    p = sub.add_parser(
        "init", help="write the example configs, the Asterisk files and the systemd unit into a folder"
    )
    p.add_argument("dir", help="the folder (created if missing); existing files are not overwritten")
    p.add_argument("--force", action="store_true", help="replace files that are already there")
    p.set_defaults(func=_init)
    p = sub.add_parser("check-config", help="report every problem of a config file, with its key path")
    p.add_argument("config")
    p.set_defaults(func=_check_config)
    p = sub.add_parser(
        "journal-copy",
        help="copy a journal, in order, e.g. from SQLite to PostgreSQL (stop the daemon first)",
        description="Copy every row of a journal into another, in arrival order. SOURCE and TARGET are "
        "each an SQLite file or a postgresql:// URL (the password from PGPASSWORD or ~/.pgpass).",
    )
    p.add_argument("source", help="the journal to read (left unchanged)")
    p.add_argument("target", help="the journal to write; created if missing, must be empty unless --append")
    p.add_argument("--append", action="store_true", help="add the rows after those the target holds")
    p.add_argument("--batch", type=_positive_int, default=5000, help="rows per transaction (default 5000)")
    p.set_defaults(func=_journal_copy)
    return parser


EXIT_STATUSES = """exit status (every command):
  0  done
  1  bad input or a failed check (a file that is not a trace or a journal, a journal in use,
     a config with problems for check-config, a daemon that stopped on an error)
  2  usage or configuration (bad arguments, a config file run cannot use)"""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # `callcenter replay ... | head`: the reader has gone; end quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code
