"""Recorded AMI streams: what a replay reads.

Two formats, each optionally gzipped: ``.ami``, the verbatim bytes a client received
(several connections simply concatenated, each opening with its banner), and ``.jsonl``, one
received message per line as ``{"t": .., "dir": "in", "msg": [[key, value], ...]}`` or
``{"dir": "in", "banner": ".."}`` (the format of ../shared/ami-traces). Both come out as byte
chunks for the same decoder the live client uses.
"""

from __future__ import annotations

import gzip
import json
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


def read_chunks(path: str | Path) -> Iterator[bytes]:
    """The trace as AMI bytes, in chunks."""
    path = Path(path)
    kind = _format(path)
    if not path.exists():
        raise TraceError(f"{path}: no such file")
    with _open(path) as f:
        if kind == "ami":
            while chunk := f.read(CHUNK):
                yield chunk
            return
        for number, line in enumerate(f, 1):
            if line.strip():
                data = _jsonl_message(path, number, line)
                if data:
                    yield data


def _jsonl_message(path: Path, number: int, line: bytes) -> bytes:
    try:
        item = json.loads(line)
    except ValueError as exc:
        raise TraceError(f"{path}:{number}: expected a JSON object, got {line[:60]!r} ({exc})") from None
    if not isinstance(item, dict) or item.get("dir") != "in":
        return b""
    if "banner" in item:
        return f"{item['banner']}\r\n".encode()
    msg = item.get("msg")
    if not isinstance(msg, list):
        raise TraceError(f"{path}:{number}: expected a 'msg' list of [key, value] pairs")
    lines = [k if v is None else f"{k}: {v}" for k, v in msg]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
