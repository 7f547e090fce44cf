"""The one port through which the tracker's changes leave the core: a fan-out to sinks.

Each change is published with its journal position — the number of the journal row (per
server) whose frames produced it — so a sink fed again by recovery can tell what it has seen.

Two kinds of sink:
- inline sinks run in the ingest path, synchronously, and must be cheap and pure (the running
  figures, the log lines): what the web shows is always up to date with the journal;
- queued sinks (the store, the agents' screens, the wallboard, MQTT) each get a
  bounded queue and a task of their own, so a slow or failing one never stalls the AMI reads
  nor stops the link. When a queue is full the sink's policy decides: ``drop`` empties it and
  has the sink resynchronise from a snapshot (a screen or a wallboard client), ``catch_up``
  drops too but remembers the first position lost, for the sink to re-read from the journal
  (the store: it must never miss a change, and the journal holds them all).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from callcenter.queues import changes as ch

log = logging.getLogger("callcenter")

DEFAULT_CAPACITY = 10_000  # positioned changes per queued sink
_REMEDY = {"drop": "resynchronise from a snapshot", "catch_up": "catch up from the journal"}


@dataclass(frozen=True, slots=True)
class Positioned:
    server: str
    position: int  # the journal row (per server, counted from 1) that produced the change
    change: ch.Change
    live: bool  # False while the journal is replayed at start-up


class InlineSink(Protocol):
    name: str

    def take(self, batch: Sequence[Positioned]) -> None: ...


class QueuedSink(Protocol):
    name: str
    policy: Literal["drop", "catch_up"]

    async def consume(self, batch: Sequence[Positioned]) -> None: ...

    async def resync(self, lost_from: Positioned | None) -> None:
        """Called before the next batch after an overflow; ``lost_from`` is the first change
        dropped (for catch_up: re-read the journal from its position)."""
        ...


@dataclass(slots=True)
class _Lane:
    sink: QueuedSink
    queue: asyncio.Queue[Positioned]
    lost_from: Positioned | None = None
    overflowed: bool = False
    failures: int = 0
    busy: bool = False  # a batch taken from the queue and not yet consumed


class FanOut:
    def __init__(
        self,
        inline: Iterable[InlineSink] = (),
        queued: Iterable[QueuedSink] = (),
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.inline = list(inline)
        self.lanes = [_Lane(sink, asyncio.Queue(capacity)) for sink in queued]

    def publish(self, server: str, position: int, changes: Sequence[ch.Change], live: bool = True) -> None:
        """Hand changes to every sink; never blocks and never raises for a sink's sake."""
        if not changes:
            return
        batch = [Positioned(server, position, c, live) for c in changes]
        for sink in self.inline:
            sink.take(batch)
        for lane in self.lanes:
            for item in batch:
                try:
                    lane.queue.put_nowait(item)
                except asyncio.QueueFull:
                    self._overflow(lane, item)

    def _overflow(self, lane: _Lane, item: Positioned) -> None:
        if not lane.overflowed:
            log.warning(
                "sink %s: its queue is full (%d changes); it will %s",
                lane.sink.name,
                lane.queue.maxsize,
                "resynchronise from a snapshot"
                if lane.sink.policy == "drop"
                else "catch up from the journal",
            )
            lane.lost_from = item
        lane.overflowed = True
        while not lane.queue.empty():
            lane.queue.get_nowait()

    async def run(self) -> None:
        """The queued sinks' tasks; returns when cancelled."""
        async with asyncio.TaskGroup() as group:
            for lane in self.lanes:
                group.create_task(self._drain(lane), name=f"sink-{lane.sink.name}")

    def settled(self) -> bool:
        """Every queued sink has consumed all it was given (nothing queued, in hand or lost)."""
        return not any(lane.busy or not lane.queue.empty() or lane.overflowed for lane in self.lanes)

    async def settle(self, timeout_s: float) -> bool:
        """Wait until every queued sink has consumed what it was given (at a clean stop); False
        if some had not after ``timeout_s`` (what they miss is re-read from the journal at start)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.settled():
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _drain(self, lane: _Lane) -> None:
        while True:
            first = await lane.queue.get()
            lane.busy = True
            batch = [first]
            while not lane.queue.empty() and len(batch) < 1000:
                batch.append(lane.queue.get_nowait())
            try:
                if lane.overflowed:
                    lost, lane.lost_from, lane.overflowed = lane.lost_from, None, False
                    await lane.sink.resync(lost)
                await lane.sink.consume(batch)
            except Exception:
                lane.failures += 1
                log.exception(
                    "sink %s failed on %d changes; it goes on with the next", lane.sink.name, len(batch)
                )
            finally:
                lane.busy = False
