"""The tracker's changes as JSON lines: what the sinks consume, in a form files and tests can pin.

One object per change: ``{"change": "StintEnded", ...its fields}``, a StintEnded's record flattened
into ``record``, enums as their values. Pure.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

from callcenter.queues import changes as ch


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def change_dict(change: ch.Change) -> dict[str, Any]:
    return {"change": type(change).__name__, **_plain(change)}


def change_line(change: ch.Change) -> str:
    return json.dumps(change_dict(change), ensure_ascii=False, sort_keys=False)
