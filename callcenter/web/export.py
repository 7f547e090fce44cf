"""``GET /api/export/{table}.{csv|json}``: the exports of ``callcenter export``, streamed over HTTP.

The same tables (stints, journeys, agents, kpis) and filters as the command line, as query
parameters: ``from``, ``to`` (site dates or moments), ``queue``, ``agent``, ``by``, ``interval``,
``servicelevel``, ``variant``. The store is read in a worker thread, from a connection of its
own (read-only), so a long export never holds the event loop nor the store's writer; rows are
sent as they are written. A bad parameter gets 400 and one line; no store, 404.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.metrics.kpi import KpiRules, SlVariant
from callcenter.reports import TABLES
from callcenter.reports.period import moment
from callcenter.reports.tables import store_table
from callcenter.store import open_store

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
CHUNK_ROWS = 2_000


class BadExport(ValueError):
    """A parameter the export cannot use: the 400's one line."""


def parse(name: str, params: Mapping[str, str], zone: str) -> tuple[str, str, dict[str, Any]]:
    """(table, format, options) of ``{table}.{format}`` and the query, or BadExport."""
    base, _, fmt = name.rpartition(".")
    if base not in TABLES:
        raise BadExport(f"expected /api/export/{{{'|'.join(TABLES)}}}.{{csv|json}}, got {name!r}")
    if fmt not in FORMATS:
        raise BadExport(f"format: expected csv or json, got {fmt!r} (xlsx and parquet: callcenter export)")
    unknown = sorted(
        set(params) - {"from", "to", "queue", "agent", "by", "interval", "servicelevel", "variant"}
    )
    if unknown:
        raise BadExport(f"unknown parameter(s): {', '.join(unknown)}")
    tz = ZoneInfo(zone)
    try:
        start = moment(params["from"], tz, "from") if "from" in params else None
        end = moment(params["to"], tz, "to") if "to" in params else None
        threshold = float(params.get("servicelevel", "20"))
        variant = SlVariant(params.get("variant", "short_abandons_ignored"))
    except ValueError as exc:
        raise BadExport(str(exc).splitlines()[0]) from exc
    by, interval = params.get("by", "queue"), params.get("interval", "day")
    if by not in ("queue", "agent", "interval"):
        raise BadExport(f"by: expected queue, agent or interval, got {by!r}")
    if interval not in ("15min", "30min", "hour", "day", "week", "month"):
        raise BadExport(f"interval: expected 15min, 30min, hour, day, week or month, got {interval!r}")
    rules = KpiRules(servicelevel_s=threshold, variant=variant, timezone=zone)
    options = {"start": start, "end": end, "queue": params.get("queue"), "agent": params.get("agent"),
               "by": by, "interval": interval, "rules": rules}  # fmt: skip
    return base, fmt, options


def build(target: str, name: str, options: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The table, read from a read-only store (blocking: run it in a thread)."""
    store = open_store(target, create=False)
    try:
        return store_table(store, name, options["start"], options["end"], queue=options["queue"],
                           agent=options["agent"], by=options["by"], interval=options["interval"],
                           rules=options["rules"])  # fmt: skip
    finally:
        store.close()


def _csv_chunks(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    out = csv.writer(buffer)
    out.writerow(columns)
    for i, row in enumerate(rows, 1):
        out.writerow(["" if v is None else v for v in row])
        if i % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Iterator[str]:
    yield "["
    for i, row in enumerate(rows):
        yield ("\n" if i == 0 else ",\n") + json.dumps(dict(zip(columns, row, strict=True)))
    yield "\n]\n"


async def stream(fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> AsyncIterator[bytes]:
    chunks = _csv_chunks(columns, rows) if fmt == "csv" else _json_chunks(columns, rows)
    for i, chunk in enumerate(chunks):
        yield chunk.encode()
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the loop serve others between chunks
