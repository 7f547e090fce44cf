"""Fuzz benchmark: 10^6 mutated real frames through codec → translation → tracker.

    python bench/fuzz.py [--frames N] [--live-frames N] [--seed S]

Offline: the recorded traces' messages, 30 % mutated (callcenter.ami.mutate: 4,000-digit and
non-finite numbers, headers dropped or doubled, events renamed, messages cut, garbage, stray
blank lines, bare LF, two messages swapped), fed in random reads of up to 64 KiB to the
daemon's ingest path. Reports frames/s (making the stream included, for both), anomalies, peak
RSS and the longest single read's processing (what would block the event loop), next to a
baseline measured in the same run: the same frames unmutated.
Live: a real daemon (journal and web on) reads a fuzzed stream over TCP from a minimal AMI
server while a probe measures event-loop lag every 10 ms and /healthz and /api/queues are
requested throughout. Any exception, quarantined frame, failed request or loop stall over
100 ms is a failure (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import logging
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.ami.mutate import messages, mutated  # noqa: E402
from callcenter.config import parse_settings  # noqa: E402
from callcenter.daemon import Daemon  # noqa: E402
from callcenter.ingest import Ingest  # noqa: E402

TRACES = ROOT / "tests" / "traces"
SOURCES = ("n_mixed_load", "o_reconnect.client", "s_load_3cps_60s", "actions_snapshot", "m_transfer")
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
STALL_LIMIT_S = 0.100


def real_frames() -> list[bytes]:
    out: list[bytes] = []
    for name in SOURCES:
        with gzip.open(TRACES / f"{name}.ami.gz") as f:
            out += messages(f.read())
    return out


def fuzzed(frames: list[bytes], count: int, seed: int, share: float) -> Iterator[bytes]:
    """The fuzzed stream in reads of random size (up to 64 KiB), made as it is consumed, so
    that the peak RSS measured is the pipeline's, not the test data's."""
    yield BANNER
    rng = random.Random(seed)
    n = round_ = 0
    pending = bytearray()
    while n < count:
        take = frames[: count - n]
        for frame in mutated(take, seed * 1000 + round_, share):
            pending += frame
            if len(pending) >= 65536:
                size = rng.randint(1, len(pending))
                yield bytes(pending[:size])
                del pending[:size]
        n += len(take)
        round_ += 1
    if pending:
        yield bytes(pending)


def offline(data: Iterable[bytes]) -> dict[str, float]:
    ingest = Ingest()
    worst = 0.0
    size = 0
    started = time.perf_counter()
    for chunk in data:
        size += len(chunk)
        t = time.perf_counter()
        ingest.feed(chunk, time.time())
        worst = max(worst, time.perf_counter() - t)
    ingest.finish()
    elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "megabytes": size / 1e6,
        "worst_read_ms": worst * 1000,
        "anomalies": ingest.anomaly_count,
        "quarantined": ingest.quarantined,
        "open_stints": len(ingest.tracker.stints),
    }


async def serve_stream(data: Iterator[bytes], done: asyncio.Event) -> tuple[asyncio.Server, int]:
    """A minimal AMI server: the banner, any Login accepted, then the fuzzed stream (``done``
    once it is all written)."""

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        streaming: asyncio.Task[None] | None = None
        try:
            while raw := await reader.readuntil(b"\r\n\r\n"):
                fields = dict(line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line)
                aid = fields.get("ActionID", "")
                if fields.get("Action") == "Login":
                    accepted = "Message: Authentication accepted"
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\n{accepted}\r\n\r\n".encode())
                elif fields.get("Action") == "Ping":
                    writer.write(f"Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n".encode())
                else:
                    writer.write(f"Response: Error\r\nActionID: {aid}\r\nMessage: Not here\r\n\r\n".encode())
                await writer.drain()
                if streaming is None and fields.get("Action") == "Login":
                    streaming = asyncio.create_task(_stream(writer, data, done))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _stream(writer: asyncio.StreamWriter, data: Iterator[bytes], done: asyncio.Event) -> None:
    next(data)  # the banner went first
    for chunk in data:
        writer.write(chunk)
        await writer.drain()
    done.set()


async def _get(port: int, path: str) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    status = int((await reader.readline()).split()[1])
    await reader.read()
    writer.close()
    return status


async def live(data: Iterator[bytes], frames: int) -> dict[str, float]:
    done = asyncio.Event()
    server, port = await serve_stream(data, done)
    with tempfile.TemporaryDirectory() as tmp:
        settings = parse_settings({
            "ami": {"servers": [{"name": "fuzz", "port": port, "username": "u", "secret": "s",
                                 "auth": "plain"}]},
            "journal": {"path": f"{tmp}/journal.sqlite3"},
            "web": {"port": 0},
        })  # fmt: skip
        daemon = Daemon(settings)
        assert daemon.web is not None
        web_port = int(daemon.web.url.rsplit(":", 1)[1])
        task = asyncio.create_task(daemon.run())
        link = daemon.links[0]
        await link.client.wait_up(10)
        lags: list[float] = []
        requests = failures = 0
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        settle = 0  # probes after the whole stream was written (what the socket held is read)
        while settle < 50 and time.perf_counter() - started < 600:
            settle += done.is_set()
            t = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - t - 0.01)
            if len(lags) % 20 == 0:
                for path in ("/healthz", "/api/queues"):
                    requests += 1
                    failures += (await _get(web_port, path)) != 200
        elapsed = time.perf_counter() - started
        stats = {
            "seconds": elapsed,
            "frames_per_s": frames / elapsed,
            "max_loop_lag_ms": max(lags) * 1000 if lags else 0.0,
            "requests": requests,
            "failed_requests": failures,
            "anomalies": link.ingest.anomaly_count,
            "quarantined": link.ingest.quarantined,
            "link_up": link.client.state.name == "UP",
        }
        daemon.stop()
        await task
    server.close()
    return stats


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--live-frames", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    frames = real_frames()
    logging.getLogger("callcenter").setLevel(logging.ERROR)  # tens of thousands of anomaly lines
    base = offline(fuzzed(frames, a.frames, a.seed, 0.0))
    fuzz = offline(fuzzed(frames, a.frames, a.seed, 0.3))
    rate, base_rate = a.frames / fuzz["seconds"], a.frames / base["seconds"]
    print(f"offline: {a.frames} frames ({fuzz['megabytes']:.0f} MB), 30 % mutated")
    print(f"  baseline (unmutated) {base_rate:,.0f} frames/s, longest read {base['worst_read_ms']:.1f} ms")
    print(
        f"  fuzzed               {rate:,.0f} frames/s (x{rate / base_rate:.2f}), longest read "
        f"{fuzz['worst_read_ms']:.1f} ms, {fuzz['anomalies']:.0f} anomalies, "
        f"{fuzz['quarantined']:.0f} quarantined, {fuzz['open_stints']:.0f} stints open at the end"
    )
    print(f"  peak RSS {rss_mb():.0f} MB")
    stats = asyncio.run(live(fuzzed(frames, a.live_frames, a.seed + 1, 0.3), a.live_frames))
    print(
        f"live: {a.live_frames} frames through a daemon over TCP (journal and web on) "
        f"in {stats['seconds']:.1f} s "
        f"({stats['frames_per_s']:,.0f} frames/s)"
    )
    print(
        f"  max event-loop lag {stats['max_loop_lag_ms']:.1f} ms (limit {STALL_LIMIT_S * 1000:.0f}); "
        f"{stats['requests']:.0f} web requests, {stats['failed_requests']:.0f} failed; "
        f"{stats['anomalies']:.0f} anomalies, {stats['quarantined']:.0f} quarantined; "
        f"link up: {stats['link_up']}"
    )
    print(f"  peak RSS {rss_mb():.0f} MB")
    bad = (
        fuzz["quarantined"] or stats["quarantined"] or stats["failed_requests"] or not stats["link_up"]
        or stats["max_loop_lag_ms"] > STALL_LIMIT_S * 1000 or fuzz["worst_read_ms"] > STALL_LIMIT_S * 1000
    )  # fmt: skip
    print("FAIL" if bad else "ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
