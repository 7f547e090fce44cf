"""Callers and agents for a simulated day: Poisson arrivals, patience, talk times, pauses.

Drives a :class:`~callcenter.simulator.pbx.Pbx` from inside its own timeline (``pbx.at``), with
one seeded random generator, so a run is reproducible from its seed. Agents log in through the
same AMI actions a supervisor would use (QueueAdd, QueuePause), so the stream shows them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import partial

from callcenter.simulator import dialplan
from callcenter.simulator.model import AgentSpec
from callcenter.simulator.pbx import Pbx

PAUSE_REASONS = ("break", "lunch", "training", "meeting")


RECENT_NUMBERS = 200  # callers who may call back: the last ones heard


@dataclass(frozen=True, slots=True)
class AgentPlan:
    spec: AgentSpec
    queues: tuple[tuple[str, int], ...]  # (queue, penalty)
    pause_every_s: float = 1800.0  # mean time between pauses (exponential); 0: never
    pause_s: float = 300.0  # mean pause length
    shifts: tuple[tuple[float, float | None], ...] = ((0.0, None),)  # (log in, log out) in s from start


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    calls_per_hour: tuple[float, ...] = (60.0,)  # one rate, or 24 rates by hour of the day (UTC)
    patience_s: float = 90.0  # mean patience (exponential)
    talk_s: float = 180.0  # mean talk time (log-normal, sigma 0.5)
    queue_timeout_s: float | None = None  # Queue() timeout for level 1
    escalate_share: float = 0.0  # of the timed-out calls, the share that goes to level 2
    csat_share: float = 0.3  # callers who answer the survey
    caller_hangup_share: float = 0.05  # callers who hang up during the conversation
    agents: tuple[AgentPlan, ...] = field(default_factory=tuple)
    repeat_share: float = 0.0  # callers who call again from a number heard before (repeat calls, FCR)


def default_agents() -> tuple[AgentPlan, ...]:
    names = ("Ana", "Bruno", "Carla", "Diego", "Elena", "Facundo", "Gabriela", "Hugo")
    plans = [
        AgentPlan(
            AgentSpec(name, f"PJSIP/{1001 + i}", answer_delay_s=2.0, noanswer_share=0.03), (("support", 0),)
        )
        for i, name in enumerate(names)
    ]
    plans += [
        AgentPlan(AgentSpec(n, f"PJSIP/{2001 + i}"), (("support-l2", 0),))
        for i, n in enumerate(("Julia", "Kevin"))
    ]
    return tuple(plans)


class Traffic:
    def __init__(self, pbx: Pbx, spec: TrafficSpec, seed: int = 0) -> None:
        self.pbx = pbx
        self.spec = spec
        self.rng = random.Random(seed)
        self.calls = 0
        self.numbers: list[str] = []  # numbers heard recently, for callers who call back
        self.arriving = True
        self.started_at: float | None = None
        self._scheduled = False  # shift changes are scheduled once, not again after a restart
        for plan in spec.agents:
            pbx.agents[plan.spec.interface] = plan.spec

    def start(self) -> None:
        self.log_in()
        for plan in self.spec.agents:
            if plan.pause_every_s > 0:
                self.pbx.at(self.rng.expovariate(1 / plan.pause_every_s), partial(self._pause, plan))
        self._next_arrival()

    def log_in(self) -> None:
        """Agents log in and out by their shifts (those on shift log in again after a restart)."""
        started = self.started_at if self.started_at is not None else self.pbx.now
        self.started_at = started
        for plan in self.spec.agents:
            for begin, end in plan.shifts:
                if begin <= self.pbx.now - started and (end is None or self.pbx.now - started < end):
                    self._queue_add(plan)
                elif begin > self.pbx.now - started and not self._scheduled:
                    self.pbx.at(started + begin - self.pbx.now, partial(self._queue_add, plan))
                if end is not None and end > self.pbx.now - started and not self._scheduled:
                    self.pbx.at(started + end - self.pbx.now, partial(self._queue_remove, plan))
        self._scheduled = True

    def _queue_add(self, plan: AgentPlan) -> None:
        for queue, penalty in plan.queues:
            fields = {"Queue": queue, "Interface": plan.spec.interface, "MemberName": plan.spec.name,
                      "Penalty": str(penalty)}  # fmt: skip
            self.pbx.action("QueueAdd", fields, "", self.pbx.now)

    def _queue_remove(self, plan: AgentPlan) -> None:
        for queue, _ in plan.queues:
            self.pbx.action(
                "QueueRemove", {"Queue": queue, "Interface": plan.spec.interface}, "", self.pbx.now
            )

    def rate_per_s(self, now: float) -> float:
        rates = self.spec.calls_per_hour
        hour = int(now // 3600) % 24 if len(rates) == 24 else 0
        return rates[hour] / 3600.0

    def _next_arrival(self) -> None:
        rate = self.rate_per_s(self.pbx.now)
        # A quiet hour (rate 0): look again at the top of the next hour.
        gap = self.rng.expovariate(rate) if rate > 0 else 3600 - self.pbx.now % 3600
        self.pbx.at(gap, self._arrival if rate > 0 else self._next_arrival)

    def stop_arrivals(self) -> None:
        """No new callers from now on; the ones in the system finish their calls."""
        self.arriving = False

    def _arrival(self) -> None:
        if not self.arriving:
            return
        self.calls += 1
        spec, rng = self.spec, self.rng
        talk = max(1.0, rng.lognormvariate(math.log(spec.talk_s), 0.5))
        variables = {"__TALK": f"{talk:.0f}"}  # inherited by the agent's legs, as in the lab
        if spec.queue_timeout_s:
            variables["QUEUE_TIMEOUT"] = f"{spec.queue_timeout_s:.0f}"
            if rng.random() < spec.escalate_share:
                variables["ESCALATE"] = "1"
        if rng.random() < spec.csat_share:
            variables["CSAT"] = str(rng.choices((1, 2, 3, 4, 5), (5, 5, 15, 35, 40))[0])
        variables["IVR_CHOICE"] = str(rng.choice((1, 1, 1, 2)))
        number = f"+54911{rng.randrange(10**7, 10**8)}"
        if spec.repeat_share > 0:  # no extra draw otherwise: seeded runs stay as they were
            if self.numbers and rng.random() < spec.repeat_share:
                number = rng.choice(self.numbers)  # the same problem, or a new one: they call back
            else:
                self.numbers = [*self.numbers[-(RECENT_NUMBERS - 1) :], number]
        hangup = talk * rng.random() if rng.random() < spec.caller_hangup_share else None
        dialplan.originate(
            self.pbx,
            f'"Caller {self.calls}" <{number}>',
            variables,
            patience_s=rng.expovariate(1 / spec.patience_s),
            hangup_after_connect_s=hangup,
        )
        self._next_arrival()

    def _pause(self, plan: AgentPlan) -> None:
        reason = self.rng.choice(PAUSE_REASONS)
        fields = {"Interface": plan.spec.interface, "Paused": "true", "Reason": reason}
        self.pbx.action("QueuePause", fields, "", self.pbx.now)
        self.pbx.at(self.rng.expovariate(1 / plan.pause_s), lambda: self._unpause(plan))

    def _unpause(self, plan: AgentPlan) -> None:
        self.pbx.action("QueuePause", {"Interface": plan.spec.interface, "Paused": "false"}, "", self.pbx.now)
        self.pbx.at(self.rng.expovariate(1 / plan.pause_every_s), lambda: self._pause(plan))
