"""What Asterisk's own records say about a recorded scenario, and a comparison with a replay report.

The rules of the project's acceptance check (queue_log is the truth): a stint per (callid, queue);
offered = ENTERQUEUE + refused joins (the dialplan's QueueResult with JOINEMPTY/FULL/JOINUNAVAIL);
everything exact (means within the report's millisecond rounding), as app_queue counts.
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
    "s_load_3cps_60s",
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
        "lost": defaultdict(int),
        "answered_within_sl": 0,
        "holds": [],
        "talks": [],
        "waits": [],
        "in_progress": 0,
    }


def expected(name: str) -> dict[str, Any]:
    with gzip.open(TRACES / f"{name}.expected.json.gz", "rt", encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def stints(name: str) -> dict[tuple[str, str], str]:
    """(callid, queue) -> outcome word, from queue_log (answered/abandoned/timeout/...)."""
    return {key: s["outcome"] for key, s in stint_truth(_lines(name)).items()}


def _lines(name: str) -> list[str]:
    return (TRACES / f"{name}.queue_log").read_text(encoding="utf-8").splitlines()


def stint_truth(lines: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(callid, queue) -> what its own queue_log lines say: outcome, wait, talk, short abandon.

    wait: CONNECT's hold or the exit line's wait; talk: COMPLETE*'s or the transfer's talk;
    outcome "unknown": entered and never left before the log ends (a run cut short)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        f = line.split("|")
        if len(f) < 5 or f[2] == "NONE":
            continue
        _, callid, queue, _agent, verb, *data = f
        data += [""] * 5
        s = out.setdefault((callid, queue), {"outcome": None, "wait_s": None, "talk_s": None})
        if verb == "ENTERQUEUE":
            s["outcome"] = "unknown"  # still in the queue when the log ends, until a line ends it
        elif verb == "CONNECT":
            s["outcome"], s["wait_s"] = "answered", int(data[0])
        elif verb in ("COMPLETEAGENT", "COMPLETECALLER"):
            s["talk_s"] = int(data[1])
        elif verb in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            s["talk_s"] = int(data[3])
        elif verb in EXITS:
            kind, wi = EXITS[verb]
            s["outcome"], s["wait_s"] = kind, int(data[wi])
            if kind == "abandoned":
                s["short_abandon"] = int(data[wi]) < SHORT_ABANDON_S
    return {k: v for k, v in out.items() if v["outcome"] is not None}


def refused_in_stream(data: bytes) -> list[tuple[str, str]]:
    """(queue, QUEUESTATUS) of every refused join in an AMI stream, from the dialplan's
    ``UserEvent: QueueResult`` (what the simulator's dialplan sends, as the lab's does)."""
    out = []
    for block in data.replace(b"\r\n", b"\n").split(b"\n\n"):
        if b"UserEvent: QueueResult" not in block:
            continue
        h = dict(line.split(": ", 1) for line in block.decode("utf-8", "replace").split("\n") if ": " in line)
        if h.get("QueueStatus") in REFUSED:
            out.append((h["Queue"], h["QueueStatus"]))
    return out


def refused_joins(name: str) -> list[tuple[str, str]]:
    """(queue, QUEUESTATUS) of every refused join, from the dialplan's QueueResult user events."""
    return [
        (ue["Queue"], ue["QueueStatus"])
        for call in expected(name).get("calls", [])
        for ue in call.get("observed", {}).get("user_events", [])
        if ue.get("UserEvent") == "QueueResult" and ue.get("QueueStatus") in REFUSED
    ]


Truth = tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]


def truth(name: str) -> Truth:
    return truth_from(_lines(name), refused_joins(name))


def truth_from(
    lines: list[str], refused: list[tuple[str, str]], servicelevels: dict[str, int] | None = None
) -> Truth:
    """Figures from queue_log lines plus the refused joins, which queue_log never shows.

    Counted as app_queue counts: a hold equal to the service level is within it (``<=``), an
    abandon at exactly the short-abandon threshold is not short (``<``)."""
    levels = servicelevels or SERVICELEVEL
    per_stint = stint_truth(lines)
    # A stint with no ending line was still in progress when the log ended (a run cut short):
    # not in the queue's figures, as for the daemon and its replay.
    ended = {k for k, st in per_stint.items() if st["outcome"] != "unknown" and not _talking(st)}
    queues: dict[str, dict[str, Any]] = defaultdict(_queue)
    agents: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"answered": 0, "ring_no_answer": 0, "talk_s": 0.0}
    )
    for line in lines:
        f = line.split("|")
        if len(f) < 5 or f[2] == "NONE":
            continue
        _, callid, queue, agent, verb, *data = f
        data += [""] * 5
        q = queues[queue]
        if (callid, queue) not in ended:
            if verb == "CONNECT":
                agents[agent]["answered"] += 1  # an agent's answers count when they happen
            elif verb == "RINGNOANSWER":
                agents[agent]["ring_no_answer"] += 1
            elif verb == "ENTERQUEUE":
                q["in_progress"] += 1
            continue
        if verb == "ENTERQUEUE":
            q["offered"] += 1
        elif verb == "CONNECT":
            hold = int(data[0])
            q["answered"] += 1
            q["holds"].append(hold)
            q["waits"].append(hold)
            q["answered_within_sl"] += hold <= levels.get(queue, 20)
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
            else:
                q["lost"][kind] += 1
    for queue, status in refused:
        q = queues[queue]
        q["offered"] += 1
        q["lost"][REFUSED[status]] += 1
    return queues, agents, per_stint


def _talking(stint: dict[str, Any]) -> bool:
    """Answered, and the conversation not over when the log ends."""
    return bool(stint["outcome"] == "answered" and stint["talk_s"] is None)


def compare(name: str, got: dict[str, Any]) -> list[str]:
    """Differences between a replay report and Asterisk's records (empty: equal)."""
    return compare_with(truth(name), got)


MEAN_TOLERANCE_S = 0.0005  # the report rounds means to the millisecond


def compare_with(truths: Truth, got: dict[str, Any]) -> list[str]:
    """Exact: counts, longest wait and per-agent talk equal, means within rounding (0.0005 s);
    no queue or agent with traffic Asterisk lacks; every stint's wait, talk and short-abandon
    flag equal to its own queue_log lines."""
    _, agents, stints_ = truths
    diffs = compare_queues(truths, got["queues"])
    for aname, t in agents.items():
        g = got["agents"].get(aname)
        if g is None:
            diffs.append(f"agent {aname}: missing")
            continue
        for key in ("answered", "ring_no_answer", "talk_s"):
            if g[key] != t[key]:
                diffs.append(f"agent {aname}.{key}: got {g[key]}, Asterisk {t[key]}")
    for aname, g in got["agents"].items():
        if aname not in agents and (g["answered"] or g["ring_no_answer"] or g["talk_s"]):
            diffs.append(f"agent {aname}: traffic {g}, Asterisk logged none")
    diffs += _compare_stints(stints_, got.get("calls", []))
    return diffs


def compare_queues(truths: Truth, got: dict[str, Any]) -> list[str]:
    """The per-queue figures alone (what ``/api/queues`` shows), exactly."""
    queues, _, _ = truths
    diffs: list[str] = []
    for qname, t in queues.items():
        g = got.get(qname)
        if g is None:
            if t["offered"]:
                diffs.append(f"queue {qname}: missing")
            continue
        for key in ("offered", "answered", "abandoned", "short_abandoned", "answered_within_sl"):
            if g[key] != t[key]:
                diffs.append(f"{qname}.{key}: got {g[key]}, Asterisk {t[key]}")
        for kind in set(t["lost"]) | set(g["lost"]):
            if g["lost"].get(kind) != t["lost"].get(kind, 0):
                diffs.append(
                    f"{qname}.lost.{kind}: got {g['lost'].get(kind)}, Asterisk {t['lost'].get(kind, 0)}"
                )
        if g["unknown"]:
            diffs.append(f"{qname}.unknown: got {g['unknown']}, Asterisk logged an end for every stint")
        if g.get("in_progress", t["in_progress"]) != t["in_progress"]:
            diffs.append(f"{qname}.in_progress: got {g['in_progress']}, queue_log {t['in_progress']}")
        for key, vals in (("asa_s", t["holds"]), ("avg_talk_s", t["talks"])):
            want = statistics.mean(vals) if vals else 0.0
            if abs(g[key] - want) > MEAN_TOLERANCE_S:
                diffs.append(f"{qname}.{key}: got {g[key]}, Asterisk {want:.4f}")
        want_max = max(t["waits"]) if t["waits"] else 0
        if g["max_wait_s"] != want_max:
            diffs.append(f"{qname}.max_wait_s: got {g['max_wait_s']}, Asterisk {want_max}")
    for qname, g in got.items():
        if qname not in queues and g["offered"]:
            diffs.append(f"queue {qname}: {g['offered']} offered, Asterisk logged none")
    return diffs


def _compare_stints(want: dict[tuple[str, str], dict[str, Any]], calls: list[dict[str, Any]]) -> list[str]:
    diffs: list[str] = []
    seen: set[tuple[str, str]] = set()
    for c in calls:
        key = (c["id"], c["queue"])
        if c["outcome"] in ("joinempty", "full", "joinunavail"):
            continue  # no queue_log line: counted above from the QueueResult events
        if c.get("in_progress"):
            seen.add(key)
            if key not in want or (want[key]["outcome"] != "unknown" and not _talking(want[key])):
                diffs.append(f"stint {key}: in progress at the end, queue_log ended it")
            continue
        if key in seen:
            diffs.append(f"stint {key}: reported twice")
        seen.add(key)
        w = want.get(key)
        if w is None:
            diffs.append(f"stint {key}: {c['outcome']}, not in queue_log")
            continue
        for field in ("outcome", "wait_s", "talk_s"):
            if c[field] != w[field]:
                diffs.append(f"stint {key}.{field}: got {c[field]}, Asterisk {w[field]}")
        if c["short_abandon"] != w.get("short_abandon", False):
            diffs.append(
                f"stint {key}.short_abandon: got {c['short_abandon']}, Asterisk {w.get('short_abandon')}"
            )
    for key in set(want) - seen:
        diffs.append(f"stint {key}: {want[key]['outcome']} in queue_log, not reported")
    return diffs


def stream(name: str) -> bytes:
    """The recorded AMI bytes of a trace."""
    with gzip.open(TRACES / f"{name}.ami.gz") as f:
        return f.read()
