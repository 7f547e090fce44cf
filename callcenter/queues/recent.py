"""A map that keeps only its newest keys: what the tracker remembers about channels it may never
hear of again (a hangup request with no hangup, a call id whose channel never hangs up).

Bounded in entries whatever the input: when it grows past ``limit`` the oldest half goes, so
each insertion costs O(1) amortized (a flood of 30,000 HangupRequests rebuilt a map on every
event before: 63 s of CPU).
"""

from __future__ import annotations

from itertools import islice
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(dict[K, V]):
    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __reduce__(self) -> tuple[object, ...]:
        # pickled for checkpoints: the limit first, then the entries through __setitem__
        return (Recent, (self.limit,), None, None, iter(self.items()))

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        if len(self) > self.limit:
            for old in list(islice(iter(self), len(self) - self.limit // 2)):
                del self[old]
