"""The JSON bodies of the web's endpoints, from the daemon's snapshots. Pure: values in, dicts out.

The field names are part of the API (docs/operations.md §6 lists them): add fields, never rename.
Times are ISO 8601 in UTC (``2026-11-05T09:30:00Z``); durations are seconds, named ``*_s``.
Must not import starlette or uvicorn: the HTTP side is ``app``'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from callcenter.metrics.figures import QueueFigures
from callcenter.queues.model import AgentState
from callcenter.web.view import LinkView, QueueSnapshot, ServerView


def utc(at: float | None) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def health(links: Sequence[LinkView]) -> tuple[int, dict[str, Any]]:
    """200 while at least one AMI link is up ("ok" when all are, "degraded" otherwise), else 503
    "down". O(1) per server: no queue is looked at. A link between attempts shows CONNECTING
    with the attempt, the next try and why the last one failed."""
    up = sum(s.up for s in links)
    status = "ok" if links and up == len(links) else "degraded" if up else "down"
    body = {"status": status, "servers": {s.name: _health_link(s) for s in links}}
    return (200 if up else 503), body


def _health_link(link: LinkView) -> dict[str, Any]:
    retrying = link.retrying
    if link.up or retrying is None:
        return {"link": link.link.name, "since": utc(link.since)}
    return {
        "link": "CONNECTING",
        "since": utc(link.since),
        "attempt": retrying.attempt,
        "next_try": utc(retrying.next_try_at),
        "last_error": retrying.last_error,
    }


def queues(servers: Sequence[ServerView], at: float) -> dict[str, Any]:
    """Every queue of every Asterisk: live waiting callers and agents, and the figures so far."""
    return {
        "generated_at": utc(at),
        "servers": {
            s.name: {**_link(s), "queues": {q.live.queue: _queue(q) for q in s.queues}} for s in servers
        },
    }


def _link(server: ServerView) -> dict[str, Any]:
    """The link, and whether the queues below are live: while it is down they are the last known
    state, as of ``stale_since`` (when it went down), never passed off as now."""
    stale = not server.up
    return {
        "link": server.link.name,
        "since": utc(server.since),
        "stale": stale,
        "stale_since": utc(server.since) if stale else None,
    }


def _queue(q: QueueSnapshot) -> dict[str, Any]:
    live, done = q.live, q.done
    return {
        "waiting": len(live.waiting),
        "longest_wait_s": round(live.longest_wait_s, 1),
        "agents": {state.value: live.agents.get(state, 0) for state in AgentState},
        **done.as_dict(),  # the site's day: offered, answered, ..., as `replay --json` counts them
        "lost_total": done.lost_total,
        "service_level_pct": done.service_level_pct,
        "day_from": utc(q.day_from),
        "interval": None if q.interval is None else _interval(q.interval_from, q.interval),
        # Asterisk counted this many more calls ending today than the figures above hold (the
        # daemon was not looking): null when none is known to be missing
        "calls_unseen": None
        if q.unseen is None
        else {
            "calls": q.unseen[2],
            "from": utc(q.unseen[0]),
            "until": utc(q.unseen[1]),
        },
    }


def _interval(start: float | None, f: QueueFigures) -> dict[str, Any]:
    """The current interval's figures (15/30/60 min): what the wallboard's "now" shows."""
    d = f.as_dict()
    return {
        "from": utc(start),
        **{k: d[k] for k in ("offered", "answered", "abandoned", "short_abandoned", "asa_s", "max_wait_s")},
        "lost_total": f.lost_total,
        "service_level_pct": f.service_level_pct,
    }
