"""Hostile bytes on the AMI wire: stray blank lines, oversized and endless frames, endless
banners and command output. Every reproduction of the fault campaign is here with a deadline;
nothing is lost silently (a dropped byte range is an Anomaly), no cost grows per part."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.ami.codec import MAX_BANNER_BYTES, Anomaly, Banner, Decoder, Frame, Message, journal_bytes
from callcenter.ami.link import ConnectionLost, ServerAddress
from callcenter.ami.mutate import chunks, messages, mutated
from callcenter.ami.opening import open_connection
from callcenter.ami.translate import wanted
from callcenter.ingest import Ingest
from callcenter.queues import changes as ch
from tests.asterisk_truth import TRACES, stint_truth, stream

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def join(uid: str, eol: bytes = b"\r\n") -> bytes:
    lines = [b"Event: QueueCallerJoin", b"Uniqueid: " + uid.encode(), b"Queue: support"]
    return eol.join(lines) + eol + eol


def decode(data: bytes, cuts: list[int]) -> tuple[list[Frame], Decoder]:
    d = Decoder(event_filter=wanted)
    out: list[Frame] = []
    prev = 0
    for cut in [*cuts, len(data)]:
        out += d.feed(data[prev:cut])
        prev = cut
    return out, d


def names(frames: list[Frame]) -> list[str]:
    return [f.name if isinstance(f, Message) else type(f).__name__ for f in frames]


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
@pytest.mark.parametrize("blanks", [1, 2, 3])
def test_stray_blank_lines_before_a_message_lose_nothing(eol: bytes, blanks: int) -> None:
    data = BANNER + join("1.1", eol) + eol * blanks + join("1.2", eol) + eol * blanks + join("1.3", eol)
    for cuts in ([], list(range(1, len(data)))):
        frames, d = decode(data, cuts)
        assert names(frames) == ["Banner", "QueueCallerJoin", "QueueCallerJoin", "QueueCallerJoin"]
        assert [f.get("Uniqueid") for f in frames if isinstance(f, Message)] == ["1.1", "1.2", "1.3"]
        assert (d.skipped, d.anomalies) == (0, 0)


def test_a_real_trace_with_an_extra_crlf_before_each_message_gives_the_same_stints() -> None:
    """The campaign's case: 0 stints and 0 anomalies instead of 8 (c_abandon_after_5s: 2 calls)."""
    raw = stream("c_abandon_after_5s")
    doubled = raw.replace(b"\r\n\r\n", b"\r\n\r\n\r\n")
    results = []
    for data in (raw, doubled):
        ingest = Ingest()
        changes = ingest.feed(data) + ingest.finish()
        results.append(
            [(c.record.call_id, c.record.outcome.value) for c in changes if isinstance(c, ch.StintEnded)]
        )
        assert ingest.anomaly_count == 0
    truth = stint_truth((TRACES / "c_abandon_after_5s.queue_log").read_text(encoding="utf-8").splitlines())
    assert results[0] == results[1] and sorted(results[1]) == sorted(
        (k[0], v["outcome"]) for k, v in truth.items()
    )


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
@pytest.mark.parametrize("before", [b"", b"ok"])
def test_the_message_after_an_oversized_one_is_never_lost(eol: bytes, before: bytes) -> None:
    """Wherever the reads split the oversized message's end, the next message comes through."""
    big = b"Event: Huge" + eol + b"X: " + b"y" * (1 << 20) + eol + eol
    head = BANNER + (join("1.0", eol) if before else b"")
    data = head + big + join("1.1", eol)
    end = len(head) + len(big)
    for offset in range(-6, 4):
        for second in (0, 1, 2, 3):
            cuts = sorted({100, (1 << 20) - 10, end + offset, end + offset + second} - {0})
            frames, d = decode(data, [c for c in cuts if c < len(data)])
            want = ["Banner", *(["QueueCallerJoin"] if before else []), "Anomaly", "QueueCallerJoin"]
            assert names(frames) == want, (offset, second)
            assert d.anomalies == 1


@pytest.mark.timeout(10)
def test_unterminated_command_output_in_tiny_parts_is_cut_quickly() -> None:
    """200 KB of tiny parts after ``Response: Follows`` took 55 s of CPU (the pending list was
    summed on every part); empty parts never reached the byte cap."""
    d = Decoder()
    frames = d.feed(BANNER + b"Response: Follows\r\nPrivilege: Command\r\n\r\n")
    for _ in range(100):
        frames += d.feed(b"x\r\n\r\n" * 500 + b"\r\n\r\n" * 500)
    frames += d.feed(join("1.1"))
    anomalies = [f for f in frames if isinstance(f, Anomaly)]
    assert len(anomalies) >= 1 and "without --END COMMAND--" in anomalies[0].reason
    assert names(frames)[-1] == "QueueCallerJoin"


def test_command_output_with_blank_lines_still_arrives_whole() -> None:
    data = BANNER + b"Response: Follows\r\nActionID: 7\r\nline 1\r\n\r\nline 3\r\n--END COMMAND--\r\n\r\n"
    frames, _ = decode(data, [])
    (message,) = [f for f in frames if isinstance(f, Message)]
    assert message.name == "Follows" and message.output == ["line 1", "", "line 3"]


@pytest.mark.timeout(10)
def test_an_endless_banner_line_is_cut_and_memory_stays_small() -> None:
    d = Decoder()
    frames = d.feed(b"Asterisk Call Manager/")
    for _ in range(200):  # 200 MB grew the buffer before
        frames += d.feed(b"9" * 1_000_000)
    assert [type(f) for f in frames] == [Anomaly]
    assert f"banner line longer than {MAX_BANNER_BYTES} bytes" in frames[0].reason
    assert len(d._buf) <= 3  # what it keeps while skipping


async def test_a_peer_that_never_sends_a_banner_gets_a_clear_message() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2")  # some other service, no end of line
        await writer.drain()
        await reader.read()  # hold the connection open until the client goes
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    addr = ServerAddress(name="pbx1", host="127.0.0.1", port=port, username="u", secret="s",
                         connect_timeout_s=0.5)  # fmt: skip
    try:
        async with asyncio.timeout(10):
            with pytest.raises(ConnectionLost) as caught:
                await open_connection(addr, wanted, lambda: 0.0, lambda: "1", lambda: None)
    finally:
        server.close()
        await server.wait_closed()
    assert str(caught.value) == (
        f"no AMI banner from 127.0.0.1:{port} within 0.5 s (got 19 bytes: b'SSH-2.0-OpenSSH_9.2')"
    )


def test_the_banner_is_still_found_glued_to_what_follows() -> None:
    frames, _ = decode(BANNER + join("1.1"), [5])
    assert isinstance(frames[0], Banner) and names(frames) == ["Banner", "QueueCallerJoin"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [1, 2])
def test_what_the_journal_keeps_replays_to_exactly_what_the_daemon_saw(seed: int) -> None:
    """The journal keeps the frames the tracker used (and markers for junk), not the raw reads:
    on a fuzzed real stream, replaying those bytes gives the very same changes, read by read."""
    data = BANNER + b"".join(mutated(messages(stream("o_reconnect.client")), seed, share=0.3))
    live, journal = Ingest(), Ingest()
    decoder = Decoder(event_filter=wanted)
    live_changes, replayed = [], []
    for at, chunk in enumerate(chunks(data, seed)):
        frames = decoder.feed(chunk)
        live_changes += live.frames(frames, float(at))
        replayed += journal.feed(journal_bytes(frames), float(at))
    assert replayed == live_changes and live.anomaly_count == journal.anomaly_count > 100
    assert sum(len(journal_bytes(f)) for f in [decoder.feed(b"")]) == 0
