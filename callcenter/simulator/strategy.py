"""Which members a waiting caller's try rings: app_queue's strategies and round-robin memory.

Pure and per PBX: a :class:`Strategies` keeps each queue's round-robin position and
``wrapped`` flag, which every caller's try reads when it starts (calc_metric) and writes when it
ends (store_next_rr). Members are given as ``(position, member)`` pairs, position being the
member's place in the queue's member list (Asterisk's container order).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from callcenter.simulator.calls import Member
from callcenter.simulator.model import QueueSpec

ROUND_ROBIN = ("rrmemory", "rrordered")
Ranked = list[tuple[int, Member]]


class Strategies:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rr_next: dict[str, int] = {}
        self.rr_wrapped: dict[str, bool] = {}

    def reset(self) -> None:
        self.rr_next.clear()
        self.rr_wrapped.clear()

    def pick(self, queue: QueueSpec, free: Ranked, count: int) -> Ranked:
        """The members to ring, by strategy, among the free ones of the lowest penalty;
        ``count`` is the number of members in the queue."""
        low = min(m.penalty for _, m in free)
        best = [(i, m) for i, m in free if m.penalty == low]
        strategy = queue.strategy
        if strategy == "ringall":
            # try_calling() prepends each call attempt to its list: they ring last-added first.
            return best[::-1]
        if strategy in ROUND_ROBIN:
            start = self.rr_next.get(queue.name, 0)
            return [min(best, key=lambda im: (im[0] - start) % count)]
        if strategy == "leastrecent":
            return [min(best, key=lambda im: im[1].last_call)]
        if strategy == "fewestcalls":
            return [min(best, key=lambda im: im[1].calls)]
        if strategy == "random":
            return [self.rng.choice(best)]
        return best[:1]  # linear: in the order they were added

    def start_try(self, queue: QueueSpec, members: Iterable[Member]) -> dict[str, int]:
        """calc_metric() for round-robin when a try starts: members from the remembered position
        on rank by position, those before it after them (1000 + position); the penalty ranks
        above both. Seeing a member past that position raises the queue's ``wrapped`` flag.
        Returns each member interface's rank (empty for other strategies)."""
        if queue.strategy not in ROUND_ROBIN:
            return {}
        start = self.rr_next.get(queue.name, 0)
        ranks: dict[str, int] = {}
        for pos, m in enumerate(members):
            if pos > start:
                self.rr_wrapped[queue.name] = True
            ranks[m.interface] = (pos if pos >= start else 1000 + pos) + m.penalty * 1_000_000
        return ranks

    def end_try(self, queue: QueueSpec, ranks: dict[str, int], rung: str | None) -> None:
        """store_next_rr(), when the try is over (answered, unanswered, the caller gone): the
        queue remembers the best-ranked member of this try not yet tried, the one ranked next
        after the member rung. With none left (the last one was rung, or nobody could be)
        round-robin starts over if the ``wrapped`` flag is up, else moves one on. The flag and
        the position are the queue's, shared by every caller's try."""
        if queue.strategy not in ROUND_ROBIN:
            return
        after = ranks.get(rung) if rung is not None else None
        rest = [r for r in ranks.values() if after is not None and r > after]
        if rest:
            self.rr_next[queue.name] = min(rest) % 1000
        elif self.rr_wrapped.get(queue.name):
            self.rr_next[queue.name] = 0
        else:
            self.rr_next[queue.name] = self.rr_next.get(queue.name, 0) + 1
        self.rr_wrapped[queue.name] = False
