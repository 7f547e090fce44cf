"""Random traffic on the simulator: reproducible, and every number our daemon computes from the
stream equals what the simulator wrote to its own queue_log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from callcenter.config import ConfigError
from callcenter.replay import replay
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.scenario import load_scenario
from callcenter.simulator.traffic import Traffic, TrafficSpec, default_agents
from callcenter.simulator.wire import AmiEvent, render_event
from tests.asterisk_truth import compare_with, truth_from

ROOT = Path(__file__).resolve().parent.parent


def _run(spec: TrafficSpec, seed: int, hours: float = 1.0) -> tuple[list[AmiEvent], list[str]]:
    pbx = Pbx(boot=1_800_000_000.0, seed=seed)
    Traffic(pbx, spec, seed=seed).start()
    events = pbx.advance(pbx.now + hours * 3600)
    return events, [line.rstrip("\n") for line in pbx.take_queue_log()]


def _refused(events: list[AmiEvent]) -> list[tuple[str, str]]:
    out = []
    for e in events:
        h = dict(e.headers)
        if (
            e.name == "UserEvent"
            and h.get("UserEvent") == "QueueResult"
            and h["QueueStatus"] in ("FULL", "JOINEMPTY")
        ):
            out.append((h["Queue"], h["QueueStatus"]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_busy_hour_replays_to_the_simulators_queue_log(seed: int, tmp_path: Path) -> None:
    spec = TrafficSpec(calls_per_hour=(300.0,), talk_s=100.0, queue_timeout_s=60, escalate_share=0.5,
                       agents=default_agents())  # fmt: skip
    events, log = _run(spec, seed)
    path = tmp_path / "run.ami"
    path.write_bytes(b"".join(render_event(e) for e in events))
    report = replay(path)
    assert compare_with(truth_from(log, _refused(events)), report) == []
    support = report["queues"]["support"]
    assert support["offered"] > 250 and support["answered"] > 100 and support["abandoned"] > 0
    assert support["lost"]["timeout"] + report["queues"].get("support-l2", {"offered": 0})["offered"] > 0
    assert report["anomalies"] == 0


def test_callers_call_back_in_the_share_asked_and_the_replay_still_equals_queue_log(tmp_path: Path) -> None:
    """repeat_share 0.3: about 30 % of level-1 arrivals come from a number heard before (binomial
    over ~300 calls: sd 2.6 points); with 0, every number is new."""

    def numbers(log: list[str]) -> list[str]:
        return [f[6] for f in (line.split("|") for line in log) if f[4] == "ENTERQUEUE" and f[2] == "support"]

    base = TrafficSpec(calls_per_hour=(300.0,), talk_s=100.0, agents=default_agents())
    events, log = _run(replace(base, repeat_share=0.3), 5)
    heard = numbers(log)
    assert len(heard) > 250 and 0.2 < 1 - len(set(heard)) / len(heard) < 0.4
    path = tmp_path / "run.ami"
    path.write_bytes(b"".join(render_event(e) for e in events))
    assert compare_with(truth_from(log, _refused(events)), replay(path)) == []
    fresh = numbers(_run(base, 5)[1])
    assert len(set(fresh)) == len(fresh)


def test_same_seed_same_run() -> None:
    spec = TrafficSpec(agents=default_agents())
    assert _run(spec, 7, 0.5) == _run(spec, 7, 0.5)
    assert _run(spec, 7, 0.5)[1] != _run(spec, 8, 0.5)[1]


def test_example_scenario_loads() -> None:
    spec, traffic = load_scenario(ROOT / "config" / "simulator.example.yaml")
    assert [q.name for q in spec.queues] == ["support", "support-l2"]
    assert [a.spec.name for a in traffic.agents] == ["Ana", "Bruno", "Julia"]
    assert traffic.calls_per_hour == (120.0,)


def test_bad_scenario_names_every_key(tmp_path: Path) -> None:
    bad = tmp_path / "sim.yaml"
    bad.write_text(
        "queues:\n  - name: support\n    strategy: fastest\ntraffic:\n  calls_per_hour: [1, 2]\n"
        "  csat_share: 3\nagents:\n  - name: Ana\n    interface: PJSIP/1\n    queues: {sales: 0}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_scenario(bad)
    problems = "\n".join(err.value.problems)
    assert "queues[0].strategy: expected one of" in problems and "got 'fastest'" in problems
    assert "traffic.calls_per_hour: expected a number or 24 numbers" in problems
    assert "traffic.csat_share: expected a share between 0 and 1, got 3" in problems
    assert "agents[0].queues.sales: no such queue" in problems


def test_shifts_log_agents_in_and_out(tmp_path: Path) -> None:
    spec, traffic = load_scenario(ROOT / "config" / "simulator.example.yaml")
    pbx = Pbx(spec, boot=1_800_000_000.0, seed=3)
    Traffic(pbx, traffic, seed=3).start()
    events = pbx.advance(pbx.now + 3600)
    bruno = [
        (e.name, round(e.at - 1_800_000_000.0))
        for e in events
        if e.name in ("QueueMemberAdded", "QueueMemberRemoved") and dict(e.headers)["MemberName"] == "Bruno"
    ]
    assert bruno == [("QueueMemberAdded", 0), ("QueueMemberRemoved", 1800), ("QueueMemberAdded", 2700)]
    log = [line for line in pbx.take_queue_log() if "PJSIP/1002" in line]
    assert [line.split("|")[4] for line in log] == ["ADDMEMBER", "REMOVEMEMBER", "ADDMEMBER"]


def test_bad_shifts_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "sim.yaml"
    bad.write_text(
        "agents:\n  - name: Ana\n    interface: PJSIP/1\n    queues: {support: 0}\n    shifts: [[10, 5]]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_scenario(bad)
    assert err.value.problems == ("agents[0].shifts: expected a list of [log in s, log out s or null] pairs, "
                                  "got [[10, 5]]",)  # fmt: skip


def test_agent_complete_with_no_caller_channel_on_demand_replays_to_the_queue_log(tmp_path: Path) -> None:
    """The simulator reproduces Asterisk 22's race (AgentComplete published after the caller's
    channel is gone, with no channel fields) on demand; the replay still equals its queue_log."""
    pbx = Pbx(boot=1_800_000_000.0, seed=5)
    asked: list[str] = []
    pbx.complete_orphaned = lambda uid: asked.append(uid) or len(asked) % 3 == 0  # every third
    spec = TrafficSpec(calls_per_hour=(300.0,), talk_s=100.0, agents=default_agents())
    Traffic(pbx, spec, seed=5).start()
    events = pbx.advance(pbx.now + 3600)
    log = [line.rstrip("\n") for line in pbx.take_queue_log()]
    completes = [dict(e.headers) for e in events if e.name == "AgentComplete"]
    orphans = [h for h in completes if "Uniqueid" not in h]
    assert len(completes) == len(asked) > 60 and len(orphans) == len(asked) // 3
    assert set(orphans[0]) == {"Queue", "Interface", "MemberName", "HoldTime", "TalkTime", "Reason"}
    path = tmp_path / "run.ami"
    path.write_bytes(b"".join(render_event(e) for e in events))
    report = replay(path)
    assert compare_with(truth_from(log, _refused(events)), report) == []
    assert report["anomalies"] == 0
