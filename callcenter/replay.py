"""``callcenter replay``: a recorded AMI stream through the live path, and what it adds up to."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from callcenter.ami.trace import TraceError, read_chunks
from callcenter.ingest import Ingest
from callcenter.journal import LINK, JournalRow, journal_settings, open_journal
from callcenter.metrics.figures import agent_figures, call_row, empty_figures, queue_figures
from callcenter.pgurl import looks_like_url
from callcenter.queues import changes as ch
from callcenter.queues.model import StintRecord
from callcenter.queues.tracker import TrackerConfig
from callcenter.store import SqlStore
from callcenter.store.sink import KEPT, archive_closed_days, write_all


def is_journal(path: str | Path) -> bool:
    """A daemon's journal (an SQLite file, or any ``scheme://`` URL: PostgreSQL) rather than a trace."""
    return looks_like_url(str(path)) or Path(path).suffix in (".sqlite3", ".sqlite", ".db")


def journal_rows(path: str | Path, server: str | None) -> Iterator[JournalRow]:
    """One server's rows of a daemon's journal (the only server when there is one).

    Raises JournalError when the journal cannot be read, TraceError when it has no such server.
    """
    journal = open_journal(journal_settings(str(path)), create=False)
    path = journal.target  # a URL's password never reaches a message
    try:
        servers = journal.servers()
        if server is None:
            if len(servers) > 1:
                raise TraceError(
                    f"{path}: a journal of several servers ({', '.join(servers)}): choose one with --server"
                )
            server = servers[0] if servers else ""
        elif server not in servers:
            raise TraceError(
                f"{path}: no server {server!r} in this journal (it has {', '.join(servers) or 'none'})"
            )
        yield from journal.rows(server)
    finally:
        journal.close()


def replay(
    path: str | Path,
    config: TrackerConfig | None = None,
    servicelevel_rule: Callable[[Callable[[str], int | None]], Callable[[str], int | None]] | None = None,
    server: str | None = None,
    store: SqlStore | None = None,
) -> dict[str, Any]:
    """Replay a trace; return the report object of ``callcenter replay --json``.

    ``servicelevel_rule`` makes a queue's service level from what the stream showed of Asterisk's
    own (``daemon.servicelevel_rule`` with the config's tracking section; default: Asterisk's).
    ``store``: also write the finished stints and agent changes there, under the journal's server
    name (a trace's: its file name), each once however often the same input is replayed.
    """
    ingest = Ingest(config=config)
    records: list[StintRecord] = []
    kept: list[tuple[int, ch.Change]] = []

    def collect(changes: list[ch.Change], position: int) -> None:
        records.extend(c.record for c in changes if isinstance(c, ch.StintEnded))
        if store is not None:
            kept.extend((position, c) for c in changes if isinstance(c, KEPT))

    if is_journal(path):
        rows = journal_rows(path, server)
        for position, row in enumerate(rows, start=1):
            if server is None:
                server = row.server
            if row.kind == LINK:
                collect(ingest.link(row.data.decode("utf-8", "replace"), row.received_at), position)
            else:
                collect(ingest.feed(row.data, row.received_at), position)
    else:
        server = Path(path).name
        for position, chunk in enumerate(read_chunks(path), start=1):
            collect(ingest.feed(chunk), position)
    if store is not None:
        write_all(store, server or "", kept)
        if not store.postgres and importlib.util.find_spec("pyarrow") is not None:
            archive_closed_days(store)
    # Stints still open where the input ends are in progress, as they are for the live daemon
    # when it stops: listed, but not in the figures (a daemon resumes them from its journal).
    open_at_end = [c.record for c in ingest.finish() if isinstance(c, ch.StintEnded)]
    tracker = ingest.tracker

    def seen(queue: str) -> int | None:
        info = tracker.queues.get(queue)
        return info.servicelevel_s if info is not None else None

    servicelevel_for = seen if servicelevel_rule is None else servicelevel_rule(seen)

    figures = queue_figures(records, servicelevel_for)
    in_progress: dict[str, int] = {}
    for r in open_at_end:
        in_progress[r.queue] = in_progress.get(r.queue, 0) + 1
    every = sorted(
        [(r, False) for r in records] + [(r, True) for r in open_at_end],
        key=lambda item: (
            item[0].joined_at if item[0].joined_at is not None else item[0].ended_at,
            item[0].call_id,
        ),
    )
    journeys: dict[str, list[str]] = {}
    for r, still in every:
        journeys.setdefault(r.linked_id, []).append(
            f"{r.queue}:{'in_progress' if still else r.outcome.value}"
        )
    queues = {name: f.as_dict() for name, f in figures.items()}
    for name in in_progress:
        queues.setdefault(name, empty_figures(name, servicelevel_for).as_dict())
    for name, q in queues.items():
        q["in_progress"] = in_progress.get(name, 0)
    return {
        "queues": dict(sorted(queues.items())),
        "agents": dict(sorted(agent_figures(tracker.agents.values()).items())),
        "calls": [{**call_row(r), "in_progress": still} for r, still in every],
        "journeys": journeys,
        "anomalies": ingest.anomaly_count,
    }


def format_table(report: dict[str, Any]) -> str:
    head = (
        f"{'queue':<14}{'offered':>8}{'answered':>9}{'in SL':>6}{'aband':>6}{'short':>6}{'lost':>5}"
        f"{'unkn':>5}{'ASA s':>7}{'max wait':>9}{'talk s':>7}"
    )
    lines = [head, "-" * len(head)]
    for name, q in report["queues"].items():
        lost = sum(q["lost"].values())
        lines.append(
            f"{name:<14}{q['offered']:>8}{q['answered']:>9}{q['answered_within_sl']:>6}{q['abandoned']:>6}"
            f"{q['short_abandoned']:>6}{lost:>5}{q['unknown']:>5}{q['asa_s']:>7.1f}{q['max_wait_s']:>9.1f}"
            f"{q['avg_talk_s']:>7.1f}"
        )
        detail = ", ".join(f"{k} {v}" for k, v in q["lost"].items() if v)
        if detail:
            lines.append(f"{'':<14}lost: {detail}")
    lines.append("")
    lines.append(f"{'agent':<14}{'answered':>9}{'talk s':>9}{'no answer':>10}")
    for name, a in report["agents"].items():
        lines.append(f"{name:<14}{a['answered']:>9}{a['talk_s']:>9.0f}{a['ring_no_answer']:>10}")
    lines.append("")
    still = sum(c["in_progress"] for c in report["calls"])
    lines.append(
        f"{len(report['calls'])} stints ({still} still in progress, not in the figures), "
        f"{len(report['journeys'])} journeys, {report['anomalies']} anomalies"
    )
    return "\n".join(lines)
