"""Staffing with Erlang C: how many agents a queue needs for its service level.

The classic model of an inbound queue (Poisson arrivals, exponential handling, callers who
wait): traffic intensity A = calls per second × average handling time (AHT) in Erlangs; with N
agents the chance a caller waits is Erlang C, the service level (answered within T seconds) is
1 − C·e^(−(N−A)·T/AHT), the average speed of answer is C·AHT/(N−A). It ignores abandons, so it
errs on the side of more agents. Pure functions; a report feeds them measured volumes and AHT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGENTS = 10_000  # a search bound, far above any help desk


def erlang_c(traffic: float, agents: int) -> float:
    """The probability that a call waits: 1.0 when the agents cannot carry the traffic."""
    if traffic < 0 or agents < 0:
        raise ValueError(f"expected traffic and agents >= 0, got {traffic} and {agents}")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = 1.0  # Erlang B by its stable recursion: B(0) = 1, B(n) = A·B / (n + A·B)
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(traffic: float, agents: int, aht_s: float, threshold_s: float) -> float:
    """The share of calls answered within ``threshold_s`` seconds (0..1)."""
    if agents <= traffic:
        return 0.0 if traffic > 0 else 1.0
    return 1.0 - erlang_c(traffic, agents) * math.exp(-(agents - traffic) * threshold_s / aht_s)


def average_speed_of_answer(traffic: float, agents: int, aht_s: float) -> float:
    """The mean wait of all calls, in seconds (infinite when the agents cannot keep up)."""
    if agents <= traffic:
        return math.inf if traffic > 0 else 0.0
    return erlang_c(traffic, agents) * aht_s / (agents - traffic)


@dataclass(frozen=True, slots=True)
class Staffing:
    agents: int
    traffic_erlangs: float
    service_level: float  # reached with that many agents (0..1)
    asa_s: float
    occupancy: float  # traffic / agents


def agents_needed(
    calls_per_hour: float, aht_s: float, target_service_level: float, threshold_s: float
) -> Staffing:
    """The fewest agents that answer ``target_service_level`` of the calls within
    ``threshold_s`` (e.g. 0.8 within 20 s), for the offered volume and handling time."""
    if calls_per_hour < 0 or aht_s <= 0 or not 0 < target_service_level < 1 or threshold_s < 0:
        raise ValueError(
            "expected calls_per_hour >= 0, aht_s > 0, 0 < target_service_level < 1, threshold_s >= 0"
        )
    traffic = calls_per_hour * aht_s / 3600.0
    agents = max(1, math.floor(traffic) + 1)
    while service_level(traffic, agents, aht_s, threshold_s) < target_service_level:
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(f"more than {MAX_AGENTS} agents needed: check the volume and AHT")
    return Staffing(
        agents,
        traffic,
        service_level(traffic, agents, aht_s, threshold_s),
        average_speed_of_answer(traffic, agents, aht_s),
        traffic / agents,
    )


@dataclass(frozen=True, slots=True)
class ErlangA:
    """M/M/N+M: callers who give up after an exponential patience (mean 1/θ)."""

    wait_probability: float  # an arriving caller finds every agent busy
    abandon_probability: float  # of all callers, those who give up waiting
    mean_queue: float  # callers waiting, on average


ERLANG_A_TAIL = 1e-12  # the chain is summed until its terms fall below this share


def erlang_a(calls_per_hour: float, aht_s: float, patience_s: float, agents: int) -> ErlangA:
    """The birth–death chain of DOMAIN.md: π_n ∝ Aⁿ/n! up to N agents, then each further caller
    waits with π_{N+j} = π_N · Π λ/(Nμ + iθ); P(abandon) = θ·E[queue]/λ. With patience → ∞ it is
    Erlang C (while N > A). Stable for any load: abandons always empty the queue."""
    if calls_per_hour <= 0 or aht_s <= 0 or patience_s <= 0 or agents < 1:
        raise ValueError("expected calls_per_hour > 0, aht_s > 0, patience_s > 0, agents >= 1")
    lam, mu, theta = calls_per_hour / 3600.0, 1.0 / aht_s, 1.0 / patience_s
    traffic = lam / mu
    # unnormalised terms, scaled by π_0 = 1; work with ratios to stay in range
    term, below = 1.0, 1.0
    for n in range(1, agents):
        term *= traffic / n
        below += term
    at_n = term * traffic / agents  # π_N
    queue_mass, queue_length, j, t = 0.0, 0.0, 1, at_n
    while True:
        t *= lam / (agents * mu + j * theta)
        queue_mass += t
        queue_length += j * t
        if t < ERLANG_A_TAIL * (below + at_n + queue_mass) and j > 10:
            break
        j += 1
    total = below + at_n + queue_mass
    mean_queue = queue_length / total
    return ErlangA((at_n + queue_mass) / total, theta * mean_queue / lam, mean_queue)
