"""Checkpoints: a link's tracker state and running figures at a journal position, so a restart
replays only the journal since, not its whole life.

The state is pickled (the tracker's plain dataclasses), tagged with a fingerprint of the code
that made it: a checkpoint written by other code (an upgrade, a change) is ignored and the
journal replayed from its start, as before checkpoints. It is taken only when every queued sink
has consumed all it was given, so the store is complete up to the checkpoint's position. The
checkpoint is ours (kept in our store), never input from outside.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from callcenter.ingest import Ingest

# The modules whose classes the state is made of, or whose rules made it.
_SOURCES = ("ingest.py", "sinks.py", "queues", "ami/translate.py", "ami/codec.py", "metrics")


@cache
def fingerprint() -> str:
    """A hash of the code the state depends on."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = root / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class State:
    position: int  # journal rows of the server the state includes
    ingest: Ingest
    totals: Any  # sinks.Totals.state()


def dump(position: int, ingest: Ingest, totals: Any) -> bytes:
    return pickle.dumps(
        {"fingerprint": fingerprint(), "position": position, "ingest": ingest, "totals": totals}
    )


def load(blob: bytes) -> State | None:
    """The state, or None when it was made by other code or cannot be read."""
    try:
        data = pickle.loads(blob)  # our own checkpoint, from our own store: not outside input
        if not isinstance(data, dict) or data.get("fingerprint") != fingerprint():
            return None
        return State(int(data["position"]), data["ingest"], data["totals"])
    except Exception:  # a damaged checkpoint costs a full replay, nothing more
        return None
