"""Replays of real Asterisk 22 recordings must equal Asterisk's own queue_log."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ami.codec import Banner, Decoder, Message
from callcenter.config import parse_settings
from callcenter.daemon import servicelevel_rule
from callcenter.ingest import Ingest
from callcenter.queues import changes as ch
from callcenter.queues.model import StintRecord
from callcenter.replay import replay
from tests.asterisk_truth import SCENARIOS, TRACES, compare, stint_truth, stints, stream

_cache: dict[str, dict[str, Any]] = {}


def _replay(name: str) -> dict[str, Any]:
    if name not in _cache:
        _cache[name] = replay(TRACES / f"{name}.ami.gz")
    return _cache[name]


@pytest.mark.parametrize("name", SCENARIOS)
def test_replay_equals_asterisk_queue_log(name: str) -> None:
    report = _replay(name)
    assert compare(name, report) == []
    assert report["anomalies"] == 0


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_stint_has_asterisks_outcome(name: str) -> None:
    """Call by call, not only in total: each (callid, queue) ends as queue_log says."""
    got = {(c["id"], c["queue"]): c["outcome"] for c in _replay(name)["calls"]}
    want = stints(name)
    assert {k: got.get(k) for k in want} == want
    refused = {k: v for k, v in got.items() if k not in want}
    assert set(refused.values()) <= {"joinempty", "full", "joinunavail"}


def test_agent_complete_without_a_caller_channel_closes_its_call() -> None:
    """s_load_3cps_60s: Ciro's AgentComplete (HoldTime 5, TalkTime 7) came after the caller's
    channel was gone, with no Channel/Uniqueid/Linkedid; queue_log wrote COMPLETEAGENT as usual."""
    raw = stream("s_load_3cps_60s")
    orphans = [m for m in raw.split(b"\r\n\r\n") if b"Event: AgentComplete" in m and b"Uniqueid" not in m]
    assert len(orphans) == 1 and b"MemberName: Ciro" in orphans[0]
    report = _replay("s_load_3cps_60s")
    # queue_log: 1796605141|1796605128.159|support|Ciro|COMPLETEAGENT|5|7|8
    (call,) = [c for c in report["calls"] if c["id"] == "1796605128.159"]
    assert (call["outcome"], call["agent"], call["wait_s"], call["talk_s"], call["end_seen"]) == (
        "answered", "Ciro", 5, 7, True
    )  # fmt: skip
    assert report["agents"]["Ciro"]["talk_s"] == 48  # queue_log: 7+7+7+6+5+6+10, its COMPLETE* lines
    assert report["anomalies"] == 0


def test_service_level_comes_from_the_stream() -> None:
    # QUEUESRVLEVEL (setqueuevar=yes) tells support-l2's 30 s without any config.
    report = _replay("k_escalation")
    assert report["queues"]["support"]["servicelevel_s"] == 20
    assert report["queues"]["support-l2"]["servicelevel_s"] == 30


def test_escalation_is_one_journey_of_two_stints() -> None:
    report = _replay("k_escalation")
    assert ["support:timeout", "support-l2:answered"] in report["journeys"].values()


def _filtered_stream(name: str, classes: set[str]) -> bytes:
    """The same run as a client subscribed to only some event classes would receive it."""
    out = []
    for f in Decoder().feed(stream(f"{name}")):
        if isinstance(f, Banner):
            out.append(f.text.encode() + b"\r\n")
        elif isinstance(f, Message):
            privilege = set((f.get("Privilege") or "").split(","))
            if f.is_event and privilege and not privilege & classes:
                continue
            out.append(f.raw + b"\r\n\r\n")
    return b"".join(out)


def _configured(levels: dict[str, int], default: int = 20) -> Any:
    """The daemon's service-level rule with these queues in the config (the filtered streams lack
    Asterisk's QUEUESRVLEVEL)."""
    queues = {q: {"servicelevel_s": s} for q, s in levels.items()}
    tracking = parse_settings({"tracking": {"queues": queues, "default_servicelevel_s": default}}).tracking
    return partial(servicelevel_rule, tracking)


def test_the_default_service_level_applies_where_asterisk_said_none(tmp_path: Path) -> None:
    # support-l2 configured at 30, support not: the config's default (here 7 s) applies to it
    path = tmp_path / "k.ami"
    path.write_bytes(_filtered_stream("k_escalation", {"call", "agent"}))
    queues = replay(path, servicelevel_rule=_configured({"support-l2": 30}, default=7))["queues"]
    assert (queues["support"]["servicelevel_s"], queues["support-l2"]["servicelevel_s"]) == (7, 30)


@pytest.mark.parametrize(
    "name",
    [
        "e_queue_timeout",
        "f_joinempty",
        "g_queue_full",
        "j_leavewhenempty",
        "k_escalation",
        "m_transfer",
        "n_mixed_load",
    ],
)
def test_same_numbers_with_only_call_agent_and_user_events(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.ami"
    path.write_bytes(_filtered_stream(name, {"call", "agent", "user"}))
    assert b"Event: VarSet" not in path.read_bytes()
    report = replay(path, servicelevel_rule=_configured({"support": 20, "support-l2": 30}))
    assert compare(name, report) == []


def test_without_status_events_timeout_and_leave_empty_are_told_apart(tmp_path: Path) -> None:
    # Neither VarSet QUEUESTATUS nor the dialplan's QueueResult: only the members' state is left.
    for name in ("e_queue_timeout", "j_leavewhenempty", "k_escalation"):
        path = tmp_path / f"{name}.ami"
        path.write_bytes(_filtered_stream(name, {"call", "agent"}))
        assert compare(name, replay(path, servicelevel_rule=_configured({"support-l2": 30}))) == []


def test_jsonl_and_ami_give_the_same_report() -> None:
    assert replay(TRACES / "a_answered_agent_hangup.jsonl.gz") == _replay("a_answered_agent_hangup")


def test_reconnecting_client_reports_no_call_twice_and_none_wrong() -> None:
    """o_reconnect.client lost two stretches of the stream; queue_log of the uninterrupted run is
    the truth. Counts read off the recording's gaps (README of tests/traces)."""
    lines = (TRACES / "o_reconnect.queue_log").read_text(encoding="utf-8").splitlines()
    truth = stint_truth(lines)
    client = replay(TRACES / "o_reconnect.client.ami.gz")
    keys = [(c["id"], c["queue"]) for c in client["calls"]]
    assert len(keys) == len(set(keys))
    refused = [c for c in client["calls"] if c["outcome"] == "full"]
    assert len(refused) == 2 and set(keys) == set(truth) | {(c["id"], c["queue"]) for c in refused}
    seen = Counter((c["join_seen"], c["end_seen"]) for c in client["calls"])
    # 9 stints ended inside a gap (end unseen), 6 began inside one (adopted at the resync).
    assert seen == {(True, True): 87, (True, False): 9, (False, True): 6}
    unknown = [c["id"] for c in client["calls"] if c["outcome"] == "unknown"]
    assert unknown == ["1795346728.75"]  # abandoned inside the first gap: nothing of its end seen
    for call in client["calls"]:
        if call["outcome"] == "full":
            continue
        want = truth[(call["id"], call["queue"])]
        if call["id"] in unknown:
            assert (call["wait_s"], call["talk_s"]) == (None, None)
            continue
        assert call["outcome"] == want["outcome"], call
        assert call["wait_s"] == want["wait_s"], call  # adopted calls too: AgentComplete's HoldTime
        # An answered call whose end fell in a gap has no talk time; every other talk is exact.
        assert call["talk_s"] == (None if not call["end_seen"] else want["talk_s"]), call
    assert client["queues"]["support"]["unknown"] == 1
    assert client["queues"]["support"]["offered"] == 102
    assert client["anomalies"] == 0


def test_jsonl_client_trace_matches_its_ami_twin() -> None:
    assert replay(TRACES / "o_reconnect.client.jsonl.gz") == replay(TRACES / "o_reconnect.client.ami.gz")


_STREAM = stream("n_mixed_load")
_FRAMES = Decoder().feed(_STREAM)


_TRUTH_N = stint_truth((TRACES / "n_mixed_load.queue_log").read_text(encoding="utf-8").splitlines())


def _ended_once(changes: list[ch.Change]) -> list[StintRecord]:
    ended = [c.record for c in changes if isinstance(c, ch.StintEnded)]
    keys = [(r.call_id, r.queue, r.joined_at) for r in ended]
    assert len(set(keys)) == len(keys), "a stint ended twice"
    return ended


@pytest.mark.parametrize("k", [1, 2, 3, 50, 333, 1000, 4567, 12000, 25000, 40000, 55000])
def test_suffix_replay_ends_each_stint_once_and_those_it_saw_join_as_asterisk(k: int) -> None:
    """Attaching mid-stream (the first k messages never seen): every stint ends once, and every
    stint whose join is inside the suffix ends as queue_log says, with its wait and talk."""
    ingest = Ingest()
    changes = ingest.frames(_FRAMES[k:])
    changes += ingest.finish()
    ended = _ended_once(changes)
    joined = [r for r in ended if r.join_seen and r.outcome.value not in ("full", "joinempty")]
    assert k > 50000 or len(joined) > 10
    for r in joined:
        want = _TRUTH_N[(r.call_id, r.queue)]
        assert (r.outcome.value, r.wait_s, r.talk_s) == (want["outcome"], want["wait_s"], want["talk_s"])


def test_suffix_of_bytes_cut_mid_message() -> None:
    ingest = Ingest()
    ingest.feed(_STREAM[123457:])
    ingest.finish()
    assert ingest.anomaly_count == 1  # the headless tail of the cut message, and nothing else


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(0, len(_FRAMES) - 400))
def test_shuffled_event_orders_end_each_stint_once_and_invent_no_call(seed: int, start: int) -> None:
    window = list(_FRAMES[start : start + 400])
    random.Random(seed).shuffle(window)
    ingest = Ingest()
    changes = ingest.frames(window)
    changes += ingest.finish()
    ended = _ended_once(changes)
    uids = {f.get("Uniqueid") for f in window if isinstance(f, Message)}
    assert all(r.call_id in uids for r in ended)


def test_cli_replay_json(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "replay", str(TRACES / "g_queue_full.ami.gz"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    assert compare("g_queue_full", report) == []
    table = subprocess.run(
        [sys.executable, "-m", "callcenter", "replay", str(TRACES / "g_queue_full.ami.gz")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "support" in table and "full 1" in table


def test_cli_replay_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_text("hello")
    result = subprocess.run(
        [sys.executable, "-m", "callcenter", "replay", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 1 and "expected a .ami or .jsonl file" in result.stderr


@pytest.mark.parametrize("name", ["c_abandon_after_5s", "g_queue_full", "k_escalation", "n_mixed_load"])
def test_same_numbers_without_timestampevents(name: str, tmp_path: Path) -> None:
    """manager.conf timestampevents=no: no Timestamp header at all; Asterisk's own whole-second
    HoldTime/TalkTime still carry the figures."""
    import re

    path = tmp_path / f"{name}.ami"
    path.write_bytes(re.sub(rb"Timestamp: [0-9.]+\r\n", b"", stream(name)))
    assert b"Timestamp:" not in path.read_bytes()
    assert compare(name, replay(path)) == []
