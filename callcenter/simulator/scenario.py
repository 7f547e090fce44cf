"""A simulated call center described in YAML (``callcenter simulate --config FILE``).

Read once into the frozen specs of ``model`` and ``traffic``; a bad value stops with its key
path, like the daemon's config (``queues[0].strategy: expected one of ringall, ..., got 'x'``).
``config/simulator.example.yaml`` documents every key.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from callcenter.config import ConfigError
from callcenter.simulator.model import STRATEGIES, AgentSpec, CallCenterSpec, DialplanSpec, QueueSpec
from callcenter.simulator.traffic import AgentPlan, TrafficSpec, default_agents

_QUEUE_CONDITIONS = frozenset({"paused", "penalty", "inuse", "ringing", "unavailable", "invalid", "unknown"})


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def mapping(self, value: object, path: str, allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{path}: expected a mapping, got {value!r}")
            return {}
        for key in value:
            if key not in allowed:
                self.problems.append(
                    f"{path}.{key}: unknown key (expected one of: {', '.join(sorted(allowed))})"
                )
        return value

    def number(self, d: dict[str, Any], key: str, path: str, default: float, low: float = 0.0) -> float:
        value = d.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            self.problems.append(f"{path}.{key}: expected a number >= {low:g}, got {value!r}")
            return default
        return float(value)

    def share(self, d: dict[str, Any], key: str, path: str, default: float) -> float:
        value = self.number(d, key, path, default)
        if value > 1:
            self.problems.append(f"{path}.{key}: expected a share between 0 and 1, got {value!r}")
            return default
        return value

    def text(self, d: dict[str, Any], key: str, path: str, default: str | None = None) -> str:
        value = d.get(key, default)
        if not isinstance(value, str) or not value:
            self.problems.append(f"{path}.{key}: expected a non-empty string, got {value!r}")
            return default or "?"
        return value


def _queues(r: _Reader, raw: object) -> tuple[QueueSpec, ...]:
    if raw is None:
        return CallCenterSpec().queues
    if not isinstance(raw, list) or not raw:
        r.problems.append(f"queues: expected a list of queues, got {raw!r}")
        return CallCenterSpec().queues
    out = []
    allowed = {f.name for f in fields(QueueSpec)}
    for i, item in enumerate(raw):
        path = f"queues[{i}]"
        d = r.mapping(item, path, allowed)
        strategy = d.get("strategy", "rrmemory")
        if strategy not in STRATEGIES:
            r.problems.append(
                f"{path}.strategy: expected one of {', '.join(sorted(STRATEGIES))}, got {strategy!r}"
            )
            strategy = "rrmemory"
        conditions = {}
        for key in ("joinempty", "leavewhenempty"):
            value = d.get(key, ["paused", "invalid", "unavailable"])
            if not isinstance(value, list) or not set(value) <= _QUEUE_CONDITIONS:
                r.problems.append(
                    f"{path}.{key}: expected a list of {', '.join(sorted(_QUEUE_CONDITIONS))}, got {value!r}"
                )
                value = []
            conditions[key] = frozenset(value)
        out.append(QueueSpec(
            r.text(d, "name", path), strategy, r.number(d, "timeout_s", path, 15.0, 1.0),
            r.number(d, "retry_s", path, 5.0), r.number(d, "wrapup_s", path, 0.0),
            int(r.number(d, "maxlen", path, 0)), int(r.number(d, "servicelevel_s", path, 20)),
            conditions["joinempty"], conditions["leavewhenempty"],
        ))  # fmt: skip
    return tuple(out)


def _agents(r: _Reader, raw: object, queues: set[str]) -> tuple[AgentPlan, ...]:
    if raw is None:
        return default_agents()
    if not isinstance(raw, list):
        r.problems.append(f"agents: expected a list of agents, got {raw!r}")
        return ()
    allowed = {"name", "interface", "queues", "answer_delay_s", "noanswer_share", "pause_every_s", "pause_s",
               "shifts"}  # fmt: skip
    plans = []
    for i, item in enumerate(raw):
        path = f"agents[{i}]"
        d = r.mapping(item, path, allowed)
        member_of = d.get("queues", {})
        if not isinstance(member_of, dict) or not member_of:
            r.problems.append(
                f"{path}.queues: expected a mapping of queue name to penalty, got {member_of!r}"
            )
            member_of = {}
        for queue in member_of:
            if queue not in queues:
                r.problems.append(
                    f"{path}.queues.{queue}: no such queue (queues: {', '.join(sorted(queues))})"
                )
        spec = AgentSpec(
            r.text(d, "name", path),
            r.text(d, "interface", path),
            r.number(d, "answer_delay_s", path, 2.0),
            True,
            r.share(d, "noanswer_share", path, 0.0),
        )
        plans.append(
            AgentPlan(
                spec,
                tuple((q, int(p)) for q, p in member_of.items()),
                r.number(d, "pause_every_s", path, 1800.0),
                r.number(d, "pause_s", path, 300.0),
                _shifts(r, d.get("shifts"), f"{path}.shifts"),
            )
        )
    return tuple(plans)


def _shifts(r: _Reader, raw: object, path: str) -> tuple[tuple[float, float | None], ...]:
    """[[log in, log out], ...] in seconds from the start; log out may be null (until the end)."""
    if raw is None:
        return ((0.0, None),)
    shifts: list[tuple[float, float | None]] = []
    ok = isinstance(raw, list) and bool(raw)
    for item in raw if isinstance(raw, list) else []:
        pair = isinstance(item, list) and len(item) == 2 and isinstance(item[0], int | float)
        if not pair or not (item[1] is None or (isinstance(item[1], int | float) and item[1] > item[0])):
            ok = False
            break
        shifts.append((float(item[0]), None if item[1] is None else float(item[1])))
    if not ok:
        r.problems.append(f"{path}: expected a list of [log in s, log out s or null] pairs, got {raw!r}")
        return ((0.0, None),)
    return tuple(shifts)


def load_scenario(path: str | Path | None) -> tuple[CallCenterSpec, TrafficSpec]:
    """The call center of a YAML file, or the built-in one (the lab's queues, ten agents)."""
    data: object = None
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([f"{path}: invalid YAML: {exc}"]) from None
    r = _Reader()
    top = r.mapping(data, "(top level)", {"queues", "agents", "traffic", "dialplan"})
    queues = _queues(r, top.get("queues"))
    names = {q.name for q in queues}
    t = r.mapping(top.get("traffic"), "traffic", {f.name for f in fields(TrafficSpec)} - {"agents"})
    rates = t.get("calls_per_hour", 120)
    rate_list = rates if isinstance(rates, list) else [rates]
    if len(rate_list) not in (1, 24) or any(isinstance(x, bool) or not isinstance(x, int | float) or x < 0
                                            for x in rate_list):  # fmt: skip
        r.problems.append(f"traffic.calls_per_hour: expected a number or 24 numbers >= 0, got {rates!r}")
        rate_list = [120]
    timeout = t.get("queue_timeout_s")
    traffic = TrafficSpec(
        tuple(float(x) for x in rate_list), r.number(t, "patience_s", "traffic", 90.0, 1.0),
        r.number(t, "talk_s", "traffic", 120.0, 1.0),
        None if timeout is None else r.number(t, "queue_timeout_s", "traffic", 0.0, 1.0),
        r.share(t, "escalate_share", "traffic", 0.0), r.share(t, "csat_share", "traffic", 0.3),
        r.share(t, "caller_hangup_share", "traffic", 0.05), _agents(r, top.get("agents"), names),
        repeat_share=r.share(t, "repeat_share", "traffic", 0.0),
    )  # fmt: skip
    dp = r.mapping(top.get("dialplan"), "dialplan", {"first_queue", "escalation_queue"})
    dialplan = DialplanSpec(
        first_queue=dp.get("first_queue", queues[0].name),
        escalation_queue=dp.get("escalation_queue", queues[-1].name),
    )
    for key in ("first_queue", "escalation_queue"):
        if getattr(dialplan, key) not in names:
            r.problems.append(f"dialplan.{key}: no such queue {getattr(dialplan, key)!r}")
    if r.problems:
        raise ConfigError(r.problems)
    return CallCenterSpec(queues, dialplan), traffic
