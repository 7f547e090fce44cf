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
