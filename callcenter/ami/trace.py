"""Recorded AMI streams: what a replay reads.

Two formats, each optionally gzipped: ``.ami``, the verbatim bytes a client received
(several connections simply concatenated, each opening with its banner), and ``.jsonl``, one
received message per line as ``{"t": .., "dir": "in", "msg": [[key, value], ...]}`` or
``{"dir": "in", "banner": ".."}`` (the format of tests/traces). Both come out as byte
chunks for the same decoder the live client uses.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

CHUNK = 1 << 16


class TraceError(ValueError):
    """The file is not a trace we can read."""


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _format(path: Path) -> str:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    if name.endswith(".ami"):
        return "ami"
    if name.endswith(".jsonl"):
        return "jsonl"
    raise TraceError(f"{path}: expected a .ami or .jsonl file (optionally .gz), got {path.name!r}")


# What an AMI recording starts with: Asterisk's banner (a client's recording) or a message.
_AMI_STARTS = (b"Asterisk Call Manager/", b"Event: ", b"Response: ")
EXPECTED_AMI = "an AMI recording (starting with 'Asterisk Call Manager/...', 'Event:' or 'Response:')"


def read_chunks(path: str | Path) -> Iterator[bytes]:
    """The trace as AMI bytes, in chunks. Raises TraceError, naming what the file is and what
    was expected, for anything that is not a trace (empty, other bytes, JSON of another shape,
    a truncated or corrupt .gz, a directory)."""
    path = Path(path)
    kind = _format(path)
    if not path.exists():
        raise TraceError(f"{path}: no such file")
    if not path.is_file():
        raise TraceError(f"{path}: not a file; expected {EXPECTED_AMI}")
    try:
        with _open(path) as f:
            if kind == "ami":
                yield from _ami_chunks(path, f)
            else:
                yield from _jsonl_chunks(path, f)
    except (EOFError, gzip.BadGzipFile, OSError, zlib.error) as exc:
        raise TraceError(f"{path}: a truncated or corrupt .gz file ({exc})") from None


def _ami_chunks(path: Path, f: IO[bytes]) -> Iterator[bytes]:
    first = f.read(CHUNK)
    if not first:
        raise TraceError(f"{path}: an empty file; expected {EXPECTED_AMI}")
    if not first.lstrip(b"\r\n").startswith(_AMI_STARTS):
        raise TraceError(
            f"{path}: not an AMI recording: it starts with {first[:40]!r}; expected {EXPECTED_AMI}"
        )
    yield first
    while chunk := f.read(CHUNK):
        yield chunk


def _jsonl_chunks(path: Path, f: IO[bytes]) -> Iterator[bytes]:
    messages = 0
    for number, line in enumerate(f, 1):
        if line.strip():
            data = _jsonl_message(path, number, line)
            if data:
                messages += 1
                yield data
    if not messages:
        raise TraceError(
            f"{path}: no received AMI message in it; expected lines like "
            '{"t": .., "dir": "in", "msg": [["Event", "QueueCallerJoin"], ...]}'
        )


def _jsonl_message(path: Path, number: int, line: bytes) -> bytes:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise TraceError(f"{path}:{number}: expected a JSON object, got {line[:60]!r} ({exc})") from None
    if not isinstance(item, dict) or not ({"dir", "msg", "banner", "note"} & set(item)):
        raise TraceError(
            f"{path}:{number}: expected an object with 'dir' and 'msg' (or 'banner'), got {line[:60]!r}"
        )
    if item.get("dir") != "in":
        return b""
    if "banner" in item:
        return f"{item['banner']}\r\n".encode()
    msg = item.get("msg")
    if not isinstance(msg, list):
        raise TraceError(f"{path}:{number}: expected a 'msg' list of [key, value] pairs")
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in msg):
        raise TraceError(f"{path}:{number}: expected a 'msg' list of [key, value] pairs")
    lines = [k if v is None else f"{k}: {v}" for k, v in msg]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
