"""What the sinks consume, pinned: every change of every real trace, in order.

``tests/traces/<trace>.changes.jsonl.gz`` holds the whole sequence the tracker produces from a
recording (regenerate with ``python tests/test_golden_changes.py`` after a deliberate change, and
read the diff). Besides the exact sequence, the files are held to Asterisk's records: each
StintEnded agrees with queue_log's own lines for that stint, and a stint ends once.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.ami.trace import read_chunks
from callcenter.ingest import Ingest
from callcenter.queues.change_json import change_line
from tests.asterisk_truth import SCENARIOS, TRACES, stint_truth


def changes_of(name: str) -> list[str]:
    ingest = Ingest()
    lines = []
    for chunk in read_chunks(TRACES / f"{name}.ami.gz"):
        lines += [change_line(c) for c in ingest.feed(chunk)]
    return lines + [change_line(c) for c in ingest.finish()]


def golden(name: str) -> Path:
    return TRACES / f"{name}.changes.jsonl.gz"


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_whole_sequence_of_changes_is_the_pinned_one(name: str) -> None:
    with gzip.open(golden(name), "rt", encoding="utf-8") as f:
        pinned = f.read().splitlines()
    got = changes_of(name)
    assert len(got) == len(pinned)
    for i, (line, want) in enumerate(zip(got, pinned, strict=True)):
        assert line == want, f"change {i} of {name}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_pinned_ends_agree_with_queue_log(name: str) -> None:
    with gzip.open(golden(name), "rt", encoding="utf-8") as f:
        ended = [json.loads(line)["record"] for line in f if line.startswith('{"change": "StintEnded"')]
    keys = [(r["call_id"], r["queue"], r["joined_at"]) for r in ended]
    assert len(keys) == len(set(keys)), "a stint ended twice"
    truth = stint_truth((TRACES / f"{name}.queue_log").read_text(encoding="utf-8").splitlines())
    for r in ended:
        want = truth.get((r["call_id"], r["queue"]))
        if want is None or want["outcome"] == "unknown" or not r["end_seen"]:
            continue  # a refused join (not in queue_log), or the run was cut before its end
        assert (r["outcome"], r["wait_s"], r["talk_s"]) == (
            want["outcome"],
            want["wait_s"],
            want["talk_s"],
        ), r


# The lab's members (QueueAdd at each scenario's start): interface Local/agentN@agents/n, name by N.
LAB_NAMES = (
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elena",
    "Facundo",
    "Gabriela",
    "Hugo",
    "Ines",
    "Julia",
    "Kevin",
)
NAME_OF = {f"Local/agent{n}@agents/n": name for n, name in enumerate(LAB_NAMES, 1)}


def _queue_log_spans(
    name: str,
) -> tuple[set[tuple[str, str, int, int]], set[tuple[str, str, int, int]], list[tuple[str, str, str, int]]]:
    """From queue_log alone: sessions (queue, interface, login, logout), pauses (queue, agent,
    from, to) and unanswered rings (call, queue, agent, second). queue_log names the interface in
    ADDMEMBER/REMOVEMEMBER and the agent in PAUSE/UNPAUSE; a PAUSE while paused (the same
    reason) goes on with the first one, an UNPAUSE while not paused does nothing."""
    sessions, pauses, rings = set(), set(), []
    logged: dict[tuple[str, str], int] = {}
    paused: dict[tuple[str, str], int] = {}
    for line in (TRACES / f"{name}.queue_log").read_text(encoding="utf-8").splitlines():
        f = line.split("|")
        at, call, queue, agent, verb, data = int(f[0]), f[1], f[2], f[3], f[4], f[5:]
        if verb == "ADDMEMBER":
            logged[(queue, agent)] = at
            if data and data[0] == "PAUSED":
                paused[(queue, NAME_OF[agent])] = at
        elif verb == "REMOVEMEMBER":
            if (queue, agent) in logged:
                sessions.add((queue, agent, logged.pop((queue, agent)), at))
            if (queue, NAME_OF[agent]) in paused:
                pauses.add((queue, NAME_OF[agent], paused.pop((queue, NAME_OF[agent])), at))
        elif verb == "PAUSE":
            paused.setdefault((queue, agent), at)
        elif verb == "UNPAUSE" and (queue, agent) in paused:
            pauses.add((queue, agent, paused.pop((queue, agent)), at))
        elif verb == "RINGNOANSWER":
            rings.append((call, queue, agent, at))
    return sessions, pauses, sorted(rings)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_pinned_sessions_pauses_and_rings_agree_with_queue_log(name: str) -> None:
    """SessionEnded, PauseEnded and RingUnanswered against queue_log's ADDMEMBER/REMOVEMEMBER,
    PAUSE/UNPAUSE and RINGNOANSWER (whole seconds there; AMI's times floored)."""
    with gzip.open(golden(name), "rt", encoding="utf-8") as f:
        changes = [json.loads(line) for line in f]
    sessions, pauses, rings = _queue_log_spans(name)
    got_sessions = {(c["queue"], c["interface"], int(c["since"]), int(c["until"]))
                    for c in changes if c["change"] == "SessionEnded" and c["whole"]}  # fmt: skip
    assert got_sessions == sessions
    got_pauses = {(c["queue"], c["name"], int(c["since"]), int(c["until"]))
                  for c in changes if c["change"] == "PauseEnded" and c["whole"]}  # fmt: skip
    assert got_pauses == pauses
    got_rings = sorted((c["call_id"], c["queue"], c["member"], int(c["at"]))
                       for c in changes if c["change"] == "RingUnanswered")  # fmt: skip
    assert got_rings == rings


if __name__ == "__main__":
    for scenario in SCENARIOS:
        with gzip.open(golden(scenario), "wt", encoding="utf-8", compresslevel=9) as out:
            out.write("".join(line + "\n" for line in changes_of(scenario)))
        print(f"wrote {golden(scenario)}")
