"""The MQTT broker as a queued sink of the fan-out (policy ``drop``: a live feed, best effort).

Connects on the first batch and again after a failure, at most every ``RETRY_S`` seconds; while
the broker is away the changes are dropped, said in one warning line when it goes away and one
when it is back. Changes replayed from the journal at start-up publish only the agents' retained
states (the last one wins): their events and stints were published when they happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any, Literal

from callcenter.fanout import Positioned
from callcenter.mqtt.topics import Message, messages
from callcenter.queues import changes as ch

log = logging.getLogger("callcenter")

RETRY_S = 5.0


class MqttSink:
    name = "mqtt"
    policy: Literal["drop", "catch_up"] = "drop"

    def __init__(
        self, host: str, port: int, prefix: str, *, username: str | None = None, password: str | None = None
    ) -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self.username, self.password = username, password
        self._client: Any = None
        self._lock = asyncio.Lock()
        self._next_try = 0.0
        self._down = False
        self.published = 0

    async def consume(self, batch: Sequence[Positioned]) -> None:
        out: list[Message] = []
        for item in batch:
            if item.live or isinstance(item.change, ch.AgentChanged):
                out += messages(self.prefix, item.server, item.change)
        if out:
            await self._publish(out)

    async def resync(self, lost_from: Positioned | None) -> None:
        log.warning("mqtt: changes were dropped (the broker or the network was slow); the feed goes on")

    async def _publish(self, out: list[Message]) -> None:
        import aiomqtt

        async with self._lock:
            if self._client is None:
                if time.monotonic() < self._next_try:
                    return  # the broker was away a moment ago: these are dropped
                client = aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                        timeout=5)  # fmt: skip
                try:
                    await client.__aenter__()
                except aiomqtt.MqttError as exc:
                    self._away(exc)
                    return
                self._client = client
                if self._down:
                    log.info("mqtt: connected to %s:%d again", self.host, self.port)
                    self._down = False
            try:
                for m in out:
                    await self._client.publish(m.topic, m.payload, qos=0, retain=m.retain)
                    self.published += 1
            except aiomqtt.MqttError as exc:
                await self.close()
                self._away(exc)

    def _away(self, exc: Exception) -> None:
        self._next_try = time.monotonic() + RETRY_S
        if not self._down:
            log.warning("mqtt: %s:%d unreachable (%s); changes are dropped until it is back",
                        self.host, self.port, exc)  # fmt: skip
            self._down = True

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # already broken: nothing to flush
                await client.__aexit__(None, None, None)
