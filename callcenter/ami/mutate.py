"""A seeded mutator of AMI streams: real frames bent the way hostile or broken peers bend them.

Used by the fuzz test (a bounded number of cases in CI) and ``bench/fuzz.py`` (10^6 frames).
Each mutation keeps most of a real message so that the codec, the translation and the tracker
see plausible shapes with one thing wrong: a number with 4,000 digits, ``inf``, a header gone or
doubled, the event renamed, the message cut short, stray blank lines, bare ``\\n``, bytes that are
not UTF-8. Pure: bytes in, bytes out; the same seed gives the same stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator

# Values that broke, or could break, a consumer that trusts the wire.
JUNK_VALUES: tuple[bytes, ...] = (
    b"9" * 400,
    b"9" * 4301,
    b"-1",
    b"-99999999999999999999",
    b"inf",
    b"-inf",
    b"nan",
    b"NaN",
    b"1e400",
    b"0x10",
    b"",
    b" ",
    b"\x00",
    b"\xff\xfe",
    "٣٤".encode(),
    b"<unknown>",
    b"none",
    b"x" * 20_000,
    b"1.5",
    b"18446744073709551616",
)
EVENT_NAMES: tuple[bytes, ...] = (
    b"QueueCallerJoin", b"QueueCallerLeave", b"QueueCallerAbandon", b"AgentCalled", b"AgentConnect",
    b"AgentComplete", b"AgentRingNoAnswer", b"AgentDump", b"QueueMemberAdded", b"QueueMemberRemoved",
    b"QueueMemberStatus", b"QueueMemberPause", b"QueueMember", b"QueueEntry", b"QueueParams",
    b"HangupRequest", b"Hangup", b"VarSet", b"Newexten", b"UserEvent", b"BlindTransfer",
    b"AttendedTransfer", b"CoreShowChannel", b"QueueStatusComplete", b"CoreShowChannelsComplete",
)  # fmt: skip

Mutation = Callable[[random.Random, list[bytes]], list[bytes]]


def _junk_value(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = rng.randrange(len(lines))
    key, sep, _ = lines[i].partition(b": ")
    return [*lines[:i], key + b": " + rng.choice(JUNK_VALUES), *lines[i + 1 :]] if sep else lines


def _drop_line(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = rng.randrange(len(lines))
    return lines[:i] + lines[i + 1 :]


def _double_line(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = rng.randrange(len(lines))
    return [*lines[: i + 1], lines[i], *lines[i + 1 :]]


def _rename(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    return [b"Event: " + rng.choice(EVENT_NAMES), *lines[1:]]


def _cut(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    joined = b"\r\n".join(lines)
    return [joined[: rng.randrange(len(joined) + 1)]]


def _garbage(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = rng.randrange(len(lines) + 1)
    return [*lines[:i], rng.randbytes(rng.randrange(1, 64)).replace(b"\r\n\r\n", b""), *lines[i:]]


def _lower_keys(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    return [
        line.partition(b": ")[0].lower() + line[line.find(b": ") :] if b": " in line else line
        for line in lines
    ]


def _no_colon(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    i = rng.randrange(len(lines))
    return [*lines[:i], lines[i].replace(b": ", b" ", 1), *lines[i + 1 :]]


MUTATIONS: tuple[Mutation, ...] = (
    _junk_value, _junk_value, _junk_value, _drop_line, _double_line, _rename, _cut, _garbage,
    _lower_keys, _no_colon,
)  # fmt: skip


def messages(stream: bytes) -> list[bytes]:
    """The messages of a recorded stream (``\\r\\n`` framing, the banner dropped), as raw bytes."""
    body = stream.split(b"\r\n", 1)[1] if stream.startswith(b"Asterisk Call Manager/") else stream
    return [m for m in body.split(b"\r\n\r\n") if m]


def mutated(frames: Iterable[bytes], seed: int, share: float = 0.3) -> Iterator[bytes]:
    """Each frame, ``share`` of them mutated one to three times, framed again; now and then a
    stray blank line, a message in bare ``\\n`` line ends, or two messages swapped."""
    rng = random.Random(seed)
    held: bytes | None = None  # a frame held back one place: events out of order
    for frame in frames:
        if held is None and rng.random() < 0.03:
            held = frame
            continue
        if held is not None:
            frame, held = held, None
            yield from mutated((frame,), rng.randrange(1 << 30), share)
        lines = frame.split(b"\r\n")
        if rng.random() < share:
            for _ in range(rng.randint(1, 3)):
                lines = rng.choice(MUTATIONS)(rng, lines) or [b""]
        roll = rng.random()
        eol = b"\n" if roll < 0.02 else b"\r\n"
        prefix = b"\r\n" * rng.randint(1, 3) if roll > 0.98 else b""
        yield prefix + eol.join(lines) + eol + eol


def chunks(data: bytes, seed: int, largest: int = 65536) -> Iterator[bytes]:
    """Reads as a socket gives them: random sizes up to ``largest``."""
    rng = random.Random(seed)
    i = 0
    while i < len(data):
        n = rng.randint(1, largest)
        yield data[i : i + n]
        i += n
