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


if __name__ == "__main__":
    for scenario in SCENARIOS:
        with gzip.open(golden(scenario), "wt", encoding="utf-8", compresslevel=9) as out:
            out.write("".join(line + "\n" for line in changes_of(scenario)))
        print(f"wrote {golden(scenario)}")
