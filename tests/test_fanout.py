"""The fan-out port: inline sinks see every change at once; a queued sink that is slow, full or
failing never blocks publishing nor stops the others; every change carries its journal row."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Literal

import pytest

from callcenter.fanout import FanOut, Positioned
from callcenter.queues import changes as ch


def anomaly(i: int) -> ch.Change:
    return ch.AnomalySeen(float(i), f"a{i}")


class Inline:
    name = "inline"

    def __init__(self) -> None:
        self.seen: list[Positioned] = []

    def take(self, batch: Sequence[Positioned]) -> None:
        self.seen += batch


class Queued:
    def __init__(self, name: str, policy: Literal["drop", "catch_up"] = "drop", *, fail_on: int = -1) -> None:
        self.name, self.policy = name, policy
        self.seen: list[str] = []
        self.resyncs: list[Positioned | None] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_on = fail_on

    async def consume(self, batch: Sequence[Positioned]) -> None:
        await self.gate.wait()
        for item in batch:
            assert isinstance(item.change, ch.AnomalySeen)
            if item.position == self.fail_on:
                raise RuntimeError("a broken sink")
            self.seen.append(item.change.reason)

    async def resync(self, lost_from: Positioned | None) -> None:
        self.resyncs.append(lost_from)


@contextlib.asynccontextmanager
async def running(fanout: FanOut):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(fanout.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settle(condition) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.01)


async def test_every_change_reaches_every_sink_with_its_journal_row() -> None:
    inline, queued = Inline(), Queued("store")
    fanout = FanOut([inline], [queued])
    async with running(fanout):
        fanout.publish("pbx1", 7, [anomaly(1), anomaly(2)])
        fanout.publish("pbx1", 8, [anomaly(3)], live=False)
        assert [(p.server, p.position, p.live) for p in inline.seen] == [
            ("pbx1", 7, True), ("pbx1", 7, True), ("pbx1", 8, False)
        ]  # fmt: skip
        await settle(lambda: len(queued.seen) == 3)
    assert queued.seen == ["a1", "a2", "a3"]


async def test_a_slow_sink_never_blocks_publishing_and_a_full_queue_is_resynchronised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="callcenter")
    slow, quick = Queued("wallboard", "drop"), Queued("store", "catch_up")
    slow.gate.clear()  # a screen that stopped reading
    fanout = FanOut([], [slow, quick], capacity=10)
    async with running(fanout):
        for i in range(25):
            fanout.publish("pbx1", i + 1, [anomaly(i)])  # returns at once, whatever the sinks do
            await asyncio.sleep(0)
        await settle(lambda: len(quick.seen) == 25)
        assert quick.resyncs == []
        slow.gate.set()
        fanout.publish("pbx1", 26, [anomaly(25)])
        await settle(lambda: "a25" in slow.seen)
    # It was dropped once full and resynchronised (told the first change it lost) before going on.
    assert len(slow.resyncs) == 1 and slow.resyncs[0] is not None and slow.resyncs[0].position > 1
    assert slow.seen[-1] == "a25" and len(slow.seen) < 26
    assert sum("sink wallboard: its queue is full" in r.getMessage() for r in caplog.records) == 1


async def test_a_failing_sink_is_logged_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="callcenter")
    broken, other = Queued("mqtt", fail_on=2), Queued("store")
    fanout = FanOut([], [broken, other])
    async with running(fanout):
        for i in range(1, 4):
            fanout.publish("pbx1", i, [anomaly(i)])
            await settle(lambda i=i: len(other.seen) == i)
        await settle(lambda: "a3" in broken.seen)
    assert other.seen == ["a1", "a2", "a3"] and broken.seen == ["a1", "a3"]
    assert any("sink mqtt failed on 1 changes" in r.getMessage() for r in caplog.records)
