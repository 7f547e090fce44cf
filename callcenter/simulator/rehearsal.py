"""A staffing plan rehearsed on the simulator: what the formulas promise, played out.

Erlang C assumes callers never give up and talk times are exponential; Erlang A adds patience.
Real help desks have log-normal talk times, ring time before an answer and wrap-up. The
rehearsal runs the plan's arrivals (Poisson), talk (log-normal around the measured mean),
patience (exponential around the measured mean), ring time and wrap-up through the simulated
Asterisk, and measures the result with the daemon's own path (AMI bytes → tracker → KPIs), so the
plan is checked against the same counting the help desk will see. Pure: no socket, virtual time.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.ingest import Ingest
from callcenter.metrics.kpi import KpiRules, Kpis, kpis
from callcenter.queues import changes as ch
from callcenter.simulator.manager import BANNER
from callcenter.simulator.model import AgentSpec, CallCenterSpec, QueueSpec
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.traffic import AgentPlan, Traffic, TrafficSpec
from callcenter.simulator.wire import render_event

WARMUP_S = 900.0  # calls arriving in the first 15 min (an empty center filling up) are not counted


@dataclass(frozen=True, slots=True)
class Plan:
    calls_per_hour: float
    aht_s: float  # mean talk time
    patience_s: float  # mean time a caller waits before giving up
    agents: int
    threshold_s: float = 20.0
    ring_s: float = 2.0  # an agent's phone rings this long before the answer
    wrapup_s: float = 0.0


def rehearse(plan: Plan, hours: float = 4.0, seed: int = 1) -> Kpis:
    """The KPIs of ``hours`` of the plan on the simulator (after a 15-minute warm-up)."""
    queue = QueueSpec("support", "rrmemory", timeout_s=60.0, wrapup_s=plan.wrapup_s,
                      servicelevel_s=int(plan.threshold_s), joinempty=frozenset(),
                      leavewhenempty=frozenset())  # fmt: skip
    spec = CallCenterSpec(queues=(queue, QueueSpec("support-l2", "ringall")))
    agents = tuple(
        AgentPlan(
            AgentSpec(f"Agent {i}", f"PJSIP/{10000 + i}", answer_delay_s=plan.ring_s),
            (("support", 0),),
            pause_every_s=0.0,
        )
        for i in range(plan.agents)
    )
    traffic = TrafficSpec(calls_per_hour=(plan.calls_per_hour,), patience_s=plan.patience_s,
                          talk_s=plan.aht_s, csat_share=0.0, caller_hangup_share=0.0,
                          agents=agents)  # fmt: skip
    pbx = Pbx(spec, seed=seed)
    start = pbx.now
    generator = Traffic(pbx, traffic, seed=seed)
    generator.start()
    events = pbx.advance(start + WARMUP_S + hours * 3600)
    ingest = Ingest()
    changes = ingest.feed(BANNER) + ingest.feed(b"".join(map(render_event, events)))
    records = [c.record for c in changes if isinstance(c, ch.StintEnded)]
    counted = [r for r in records if r.joined_at is not None and r.joined_at >= start + WARMUP_S]
    return kpis(counted, KpiRules(servicelevel_s=plan.threshold_s))
