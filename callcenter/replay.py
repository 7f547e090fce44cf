"""``callcenter replay``: a recorded AMI stream through the live path, and what it adds up to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callcenter.ami.trace import TraceError, read_chunks
from callcenter.ingest import Ingest
from callcenter.journal import LINK, JournalRow, journal_settings, open_journal
from callcenter.metrics.figures import agent_figures, call_row, queue_figures
from callcenter.pgurl import looks_like_url
from callcenter.queues import changes as ch
from callcenter.queues.model import StintRecord
from callcenter.queues.tracker import TrackerConfig


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
    servicelevels: dict[str, int] | None = None,
    server: str | None = None,
) -> dict[str, Any]:
    """Replay a trace; return the report object of ``callcenter replay --json``.

    ``servicelevels`` (configured per queue) is used where the stream never showed Asterisk's own.
    """
    ingest = Ingest(config=config)
    records: list[StintRecord] = []

    def collect(changes: list[ch.Change]) -> None:
        records.extend(c.record for c in changes if isinstance(c, ch.StintEnded))

    if is_journal(path):
        for row in journal_rows(path, server):
            if row.kind == LINK:
                collect(ingest.link(row.data.decode("utf-8", "replace"), row.received_at))
            else:
                collect(ingest.feed(row.data, row.received_at))
    else:
        for chunk in read_chunks(path):
            collect(ingest.feed(chunk))
    collect(ingest.finish())
    tracker = ingest.tracker
    configured = servicelevels or {}

    def servicelevel_for(queue: str) -> int | None:
        info = tracker.queues.get(queue)
        seen = info.servicelevel_s if info is not None else None
        return seen or configured.get(queue)

    records.sort(key=lambda r: (r.joined_at if r.joined_at is not None else r.ended_at, r.call_id))
    figures = queue_figures(records, servicelevel_for)
    journeys: dict[str, list[str]] = {}
    for r in records:
        journeys.setdefault(r.linked_id, []).append(f"{r.queue}:{r.outcome.value}")
    return {
        "queues": {name: f.as_dict() for name, f in sorted(figures.items())},
        "agents": dict(sorted(agent_figures(tracker.agents.values()).items())),
        "calls": [call_row(r) for r in records],
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
    lines.append(
        f"{len(report['calls'])} stints, {len(report['journeys'])} journeys, {report['anomalies']} anomalies"
    )
    return "\n".join(lines)
