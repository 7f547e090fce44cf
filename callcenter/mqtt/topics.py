"""Which change goes to which MQTT topic, with what payload: pure.

Under ``<prefix>/<server>/`` (each name one topic level, escaped):

- ``agents/<interface>/state`` — retained: the agent's state now (``name``, ``state``,
  ``reason``, ``at``); a subscriber that connects late gets every agent's at once. A logout
  clears it (an empty retained message, which the broker deletes);
- ``queues/<queue>/events`` — ``queued``, ``offered``, ``connected``, ``ring_unanswered``;
- ``queues/<queue>/stints`` — each finished stint, every field of the store's record;
- ``queues/<queue>/surveys`` — each post-call survey answer;
- ``alerts`` — ``calls_unseen``: calls Asterisk counted that the daemon never saw.

A level may not hold ``/``, ``+`` nor ``#`` (an interface is ``PJSIP/1001``): those and ``%``
are percent-escaped, so ``PJSIP/1001`` is ``PJSIP%2F1001`` and the mapping can be undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from callcenter.queues import changes as ch
from callcenter.queues.change_json import change_dict
from callcenter.queues.model import AgentState


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False


def level(name: str) -> str:
    """One topic level: ``%``, ``/``, ``+`` and ``#`` percent-escaped (an empty name is ``_``)."""
    out = name.replace("%", "%25").replace("/", "%2F").replace("+", "%2B").replace("#", "%23")
    return out or "_"


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def messages(prefix: str, server: str, change: ch.Change) -> list[Message]:
    base = f"{prefix}/{level(server)}"
    if isinstance(change, ch.AgentChanged):
        topic = f"{base}/agents/{level(change.interface)}/state"
        if change.state is AgentState.LOGGED_OUT:
            return [Message(topic, b"", retain=True)]
        state = {"name": change.name, "state": change.state.value, "reason": change.reason, "at": change.at}
        return [Message(topic, _json(state), retain=True)]
    if isinstance(change, ch.StintEnded):
        record = change_dict(change)["record"]
        return [Message(f"{base}/queues/{level(change.record.queue)}/stints", _json(record))]
    kind = _EVENTS.get(type(change))
    if kind is not None:
        body = change_dict(change)
        del body["change"]
        queue = body["queue"]
        return [Message(f"{base}/queues/{level(queue)}/events", _json({"event": kind, **body}))]
    if isinstance(change, ch.SurveyAnswered):
        body = change_dict(change)
        del body["change"]
        return [Message(f"{base}/queues/{level(change.queue)}/surveys", _json(body))]
    if isinstance(change, ch.CallsUnseen):
        body = change_dict(change)
        del body["change"]
        return [Message(f"{base}/alerts", _json({"alert": "calls_unseen", **body}))]
    return []


_EVENTS: dict[type, str] = {
    ch.CallQueued: "queued",
    ch.CallOffered: "offered",
    ch.CallConnected: "connected",
    ch.RingUnanswered: "ring_unanswered",
}
