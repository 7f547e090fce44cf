"""Simulator load benchmark: how many calls per second the simulated PBX sustains.

    python bench/simulator.py [--rate 50] [--agents 1000] [--seconds 60]

Runs the sans-IO PBX with seeded traffic at ``--rate`` calls/s and ``--agents`` agents for
``--seconds`` of virtual time, as fast as it can, and prints the wall time, the events per
second it produced, and its ceiling in calls/s (virtual seconds simulated per wall second times
the rate). Then serves the same load over TCP (speed 1, real time) to one AMI client that
decodes everything, for a short while, and reports whether it kept up. The baseline, measured
in the same run, is rendering the produced events to AMI bytes: the least any simulator pays.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.ami.client import AmiClient
from callcenter.ami.codec import Banner, Frame
from callcenter.ami.link import ServerAddress
from callcenter.demo import SimulatorRun, build
from callcenter.simulator.model import AgentSpec, CallCenterSpec, QueueSpec
from callcenter.simulator.pbx import Pbx
from callcenter.simulator.server import ServerOptions
from callcenter.simulator.traffic import AgentPlan, Traffic, TrafficSpec
from callcenter.simulator.wire import render_event


def load(rate: float, agents: int) -> tuple[CallCenterSpec, TrafficSpec]:
    spec = CallCenterSpec(queues=(QueueSpec("support", "rrmemory", timeout_s=15, wrapup_s=2),
                                  QueueSpec("support-l2", "ringall")))  # fmt: skip
    plans = tuple(
        AgentPlan(AgentSpec(f"Agent {i}", f"PJSIP/{10000 + i}", answer_delay_s=2.0), (("support", 0),), 0.0)
        for i in range(agents)
    )
    # Talk long enough to keep about 80 % of the agents busy: a loaded but stable center.
    talk = max(5.0, 0.8 * agents / rate)
    return spec, TrafficSpec(calls_per_hour=(rate * 3600,), patience_s=120, talk_s=talk, agents=plans)


def in_memory(rate: float, agents: int, seconds: float) -> None:
    spec, traffic = load(rate, agents)
    pbx = Pbx(spec, boot=1_800_000_000.0, seed=1)
    generator = Traffic(pbx, traffic, seed=1)
    started = time.perf_counter()
    generator.start()
    events = pbx.advance(pbx.now + seconds)
    wall = time.perf_counter() - started
    started = time.perf_counter()
    size = sum(len(render_event(e)) for e in events)
    render = time.perf_counter() - started
    print(
        f"in memory: {generator.calls} calls ({rate:g}/s target) with {agents} agents, {seconds:g} virtual s"
    )
    print(
        f"  simulate        {wall:6.2f} s  {len(events) / wall:>10,.0f} events/s  "
        f"ceiling {generator.calls / wall:,.0f} calls/s (x{generator.calls / wall / rate:.1f} the target)"
    )
    print(
        f"  baseline render {render:6.2f} s  {len(events) / render:>10,.0f} events/s  "
        f"({size / 1e6:.1f} MB); simulate/render cost x{wall / render:.2f}"
    )


class _Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.lag = 0.0

    async def link_up(self, server: str, banner: Banner, at: float) -> None:
        pass

    async def received(self, server: str, chunk: bytes, frames: list[Frame], at: float) -> None:
        self.messages += len(frames)

    async def link_down(self, server: str, reason: str, at: float) -> None:
        pass


async def over_tcp(rate: float, agents: int, seconds: float) -> None:
    spec, traffic = load(rate, agents)
    options = ServerOptions(port=0, username="bench", secret="bench")
    _, generator, server = build(SimulatorRun(spec, traffic, options, seed=2))
    counter = _Counter()
    async with server:
        address = ServerAddress(name="bench", host="127.0.0.1", port=server.port, username="bench",
                                secret="bench", auth="plain")  # fmt: skip
        client = AmiClient(address, counter)
        task = asyncio.create_task(client.run(), name="bench-client")
        await client.wait_up(5)
        started, v0 = time.perf_counter(), server.now
        await asyncio.sleep(seconds)
        wall, virtual = time.perf_counter() - started, server.now - v0
        await client.stop()
        await task
    rate_seen = generator.calls / wall
    print(
        f"over TCP, real time: {generator.calls} calls in {wall:.1f} s ({rate_seen:.1f} calls/s), "
        f"{counter.messages / wall:,.0f} messages/s decoded by one client; virtual/wall {virtual / wall:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=50.0, help="calls per second (default 50)")
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60.0, help="virtual seconds in memory (default 60)")
    ap.add_argument("--tcp-seconds", type=float, default=10.0, help="wall seconds over TCP (default 10)")
    args = ap.parse_args()
    in_memory(args.rate, args.agents, args.seconds)
    asyncio.run(over_tcp(args.rate, args.agents, args.tcp_seconds))


if __name__ == "__main__":
    main()
