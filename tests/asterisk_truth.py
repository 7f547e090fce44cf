"""What Asterisk's own records say about a recorded scenario, and a comparison with a replay report.

The rules of the project's acceptance check (queue_log is the truth): a stint per (callid, queue);
offered = ENTERQUEUE + refused joins (the dialplan's QueueResult with JOINEMPTY/FULL/JOINUNAVAIL);
counts exact except calls that whole-second rounding puts on a threshold; means and maxima
within 1 s.
"""

from __future__ import annotations

import gzip
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

TRACES = Path(__file__).parent / "traces"
SCENARIOS = [
    "a_answered_agent_hangup",
    "b_answered_caller_hangup",
    "c_abandon_after_5s",
    "d_short_abandon_2s",
    "e_queue_timeout",
    "f_joinempty",
    "g_queue_full",
    "h_ring_no_answer",
    "i_agent_login_pause",
    "j_leavewhenempty",
    "k_escalation",
    "l_csat",
    "m_transfer",
    "n_mixed_load",
    "o_reconnect",
]
SERVICELEVEL = {"support": 20, "support-l2": 30}
SHORT_ABANDON_S = 5
REFUSED = {"JOINEMPTY": "joinempty", "FULL": "full", "JOINUNAVAIL": "joinunavail"}
EXITS = {
    "ABANDON": ("abandoned", 2),
    "EXITWITHTIMEOUT": ("timeout", 2),
    "EXITEMPTY": ("leaveempty", 2),
    "EXITWITHKEY": ("exitwithkey", 3),
    "WITHDRAW": ("withdraw", 2),
}


def _queue() -> dict[str, Any]:
    return {
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "short_abandoned": 0,
        "short_slack": 0,
        "lost": defaultdict(int),
        "answered_within_sl": 0,
        "sl_slack": 0,
        "holds": [],
        "talks": [],
        "waits": [],
    }


def expected(name: str) -> dict[str, Any]:
    with gzip.open(TRACES / f"{name}.expected.json.gz", "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def stints(name: str) -> dict[tuple[str, str], str]:
    """(callid, queue) -> outcome word, from queue_log (answered/abandoned/timeout/...)."""
    out: dict[tuple[str, str], str] = {}
    for line in (TRACES / f"{name}.queue_log").read_text(encoding="utf-8").splitlines():
        f = line.split("|")
        if len(f) < 5:
            continue
        callid, queue, verb = f[1], f[2], f[4]
        if verb == "CONNECT":
            out[(callid, queue)] = "answered"
        elif verb in EXITS:
            out[(callid, queue)] = EXITS[verb][0]
    return out


def refused_joins(name: str) -> list[tuple[str, str]]:
    """(queue, QUEUESTATUS) of every refused join, from the dialplan's QueueResult user events."""
    return [
        (ue["Queue"], ue["QueueStatus"])
        for call in expected(name).get("calls", [])
        for ue in call.get("observed", {}).get("user_events", [])
        if ue.get("UserEvent") == "QueueResult" and ue.get("QueueStatus") in REFUSED
    ]


Truth = tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]


def truth(name: str) -> Truth:
    lines = (TRACES / f"{name}.queue_log").read_text(encoding="utf-8").splitlines()
    return truth_from(lines, refused_joins(name))


def truth_from(lines: list[str], refused: list[tuple[str, str]]) -> Truth:
    """Figures from queue_log lines plus the refused joins, which queue_log never shows."""
    queues: dict[str, dict[str, Any]] = defaultdict(_queue)
    agents: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"answered": 0, "ring_no_answer": 0, "talk_s": 0.0}
    )
    for line in lines:
        f = line.split("|")
        if len(f) < 5 or f[2] == "NONE":
            continue
        _, _callid, queue, agent, verb, *data = f
        data += [""] * 5
        q = queues[queue]
        if verb == "ENTERQUEUE":
            q["offered"] += 1
        elif verb == "CONNECT":
            hold = int(data[0])
            sl = SERVICELEVEL.get(queue, 20)
            q["answered"] += 1
            q["holds"].append(hold)
            q["waits"].append(hold)
            q["answered_within_sl"] += hold <= sl
            q["sl_slack"] += abs(hold - sl) <= 1
            agents[agent]["answered"] += 1
        elif verb in ("COMPLETEAGENT", "COMPLETECALLER"):
            q["talks"].append(int(data[1]))
            agents[agent]["talk_s"] += int(data[1])
        elif verb in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            q["talks"].append(int(data[3]))
            agents[agent]["talk_s"] += int(data[3])
        elif verb == "RINGNOANSWER":
            agents[agent]["ring_no_answer"] += 1
        elif verb in EXITS:
            kind, wi = EXITS[verb]
            wait = int(data[wi])
            q["waits"].append(wait)
            if kind == "abandoned":
                q["abandoned"] += 1
                q["short_abandoned"] += wait < SHORT_ABANDON_S
                q["short_slack"] += abs(wait - SHORT_ABANDON_S) <= 1
            else:
                q["lost"][kind] += 1
    for queue, status in refused:
        q = queues[queue]
        q["offered"] += 1
        q["lost"][REFUSED[status]] += 1
    return queues, agents


def compare(name: str, got: dict[str, Any]) -> list[str]:
    """Differences between a replay report and Asterisk's records (empty: equal within tolerance)."""
    return compare_with(truth(name), got)


def compare_with(truths: Truth, got: dict[str, Any]) -> list[str]:
    queues, agents = truths
    diffs: list[str] = []
    for qname, t in queues.items():
        g = got["queues"].get(qname)
        if g is None:
            if t["offered"]:
                diffs.append(f"queue {qname}: missing")
            continue
        for key in ("offered", "answered", "abandoned"):
            if g[key] != t[key]:
                diffs.append(f"{qname}.{key}: got {g[key]}, Asterisk {t[key]}")
        if abs(g["short_abandoned"] - t["short_abandoned"]) > t["short_slack"]:
            diffs.append(
                f"{qname}.short_abandoned: got {g['short_abandoned']}, Asterisk {t['short_abandoned']}"
            )
        for kind in set(t["lost"]) | {k for k, v in g["lost"].items() if v}:
            if g["lost"].get(kind, 0) != t["lost"].get(kind, 0):
                diffs.append(
                    f"{qname}.lost.{kind}: got {g['lost'].get(kind)}, Asterisk {t['lost'].get(kind, 0)}"
                )
        if abs(g["answered_within_sl"] - t["answered_within_sl"]) > t["sl_slack"]:
            diffs.append(
                f"{qname}.answered_within_sl: got {g['answered_within_sl']}, "
                f"Asterisk {t['answered_within_sl']}"
            )
        for key, vals, agg in (
            ("asa_s", t["holds"], statistics.mean),
            ("avg_talk_s", t["talks"], statistics.mean),
            ("max_wait_s", t["waits"], max),
        ):
            if vals and abs(g[key] - agg(vals)) > 1.0:
                diffs.append(f"{qname}.{key}: got {g[key]}, Asterisk {agg(vals):.2f}")
    for aname, t in agents.items():
        g = got["agents"].get(aname, {})
        for key in ("answered", "ring_no_answer"):
            if g.get(key, 0) != t[key]:
                diffs.append(f"agent {aname}.{key}: got {g.get(key)}, Asterisk {t[key]}")
        if t["answered"] and abs(g.get("talk_s", 0) - t["talk_s"]) > max(1.0, t["answered"]):
            diffs.append(f"agent {aname}.talk_s: got {g.get('talk_s')}, Asterisk {t['talk_s']}")
    return diffs


def stream(name: str) -> bytes:
    """The recorded AMI bytes of a trace."""
    with gzip.open(TRACES / f"{name}.ami.gz") as f:
        return f.read()
