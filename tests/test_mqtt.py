"""The live feed on MQTT: topics and payloads by hand on a real trace (pure), and the real daemon
publishing a real trace's call to the machine's Mosquitto; a broker that is away is one line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from pathlib import Path

import pytest

from callcenter.ami.trace import read_chunks
from callcenter.config import MqttSettings
from callcenter.ingest import Ingest
from callcenter.mqtt.topics import level, messages
from tests.asterisk_truth import TRACES
from tests.fakeami import FakeAmi
from tests.services import mqtt_broker
from tests.test_screens import events
from tests.test_web import running, settings_for

ANA, BRUNO = "Local%2Fagent1@agents%2Fn", "Local%2Fagent2@agents%2Fn"


def test_a_level_escapes_what_mqtt_reserves_and_can_be_undone() -> None:
    assert level("PJSIP/1001") == "PJSIP%2F1001" and level("a+b#c%d") == "a%2Bb%23c%25d" and level("") == "_"
    from urllib.parse import unquote

    assert unquote(level("Local/x+y#z%2F@q")) == "Local/x+y#z%2F@q"


def test_the_topics_of_a_real_ring_no_answer() -> None:
    """h_ring_no_answer: Ana rings without answer (queue_log RINGNOANSWER), Bruno answers after a
    10 s wait and talks 4 s (CONNECT, COMPLETEAGENT)."""
    ingest, out = Ingest(), []
    for chunk in read_chunks(TRACES / "h_ring_no_answer.ami.gz"):
        for change in ingest.feed(chunk):
            out += messages("cc", "lab", change)
    events_ = [(m.topic, json.loads(m.payload)["event"]) for m in out if m.topic.endswith("/events")]
    assert events_ == [("cc/lab/queues/support/events", e)
                       for e in ("queued", "offered", "ring_unanswered", "offered", "connected")]  # fmt: skip
    (stint,) = [json.loads(m.payload) for m in out if m.topic == "cc/lab/queues/support/stints"]
    assert (stint["outcome"], stint["agent"], stint["wait_s"], stint["talk_s"]) == (
        "answered",
        "Bruno",
        10.0,
        4.0,
    )
    states = {m.topic: json.loads(m.payload)["state"] for m in out if m.topic.endswith("/state")}
    assert states == {f"cc/lab/agents/{ANA}/state": "available", f"cc/lab/agents/{BRUNO}/state": "available"}
    assert all(m.retain for m in out if m.topic.endswith("/state"))
    assert not any(m.retain for m in out if not m.topic.endswith("/state"))


async def test_the_daemon_publishes_a_real_call_to_the_broker(tmp_path: Path) -> None:
    import aiomqtt

    host, port = mqtt_broker()
    prefix = f"cc-test-{uuid.uuid4().hex[:8]}"  # tests never meet on the shared broker
    got: list[tuple[str, bytes]] = []
    async with aiomqtt.Client(host, port) as sub:
        await sub.subscribe(f"{prefix}/#")
        async with FakeAmi() as ami:
            feed = MqttSettings(enabled=True, host=host, port=port, prefix=prefix)
            settings = dataclasses.replace(settings_for(ami.port, tmp_path), mqtt=feed)
            async with running(settings) as r:
                await r.daemon.links[0].client.wait_up(5)
                for event in events("h_ring_no_answer"):
                    await ami.push(event)
                async with asyncio.timeout(10):
                    async for message in sub.messages:
                        got.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
                        if str(message.topic).endswith("/stints"):
                            break
    topics = [t for t, _ in got]
    assert f"{prefix}/pbx1/queues/support/events" in topics
    stint = json.loads(got[-1][1])
    assert (stint["outcome"], stint["agent"], stint["talk_s"]) == ("answered", "Bruno", 4.0)
    assert f"{prefix}/pbx1/agents/{BRUNO}/state" in topics
    # the retained states stay on the broker: clear them (an empty retained message each)
    async with aiomqtt.Client(host, port) as pub:
        for topic in {t for t in topics if t.endswith("/state")}:
            await pub.publish(topic, b"", retain=True)


async def test_a_broker_that_is_away_is_one_line_and_the_daemon_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from callcenter.mqtt.sink import MqttSink
    from callcenter.queues import changes as ch
    from tests.test_hub import positioned
    from tests.test_pop import BRUNO as PHONE
    from tests.test_pop import NAME, NUM

    sink = MqttSink("127.0.0.1", 9, "cc")  # the discard port: nothing listens
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            ring = [ch.CallQueued(1.0, "c1", "support", NUM, NAME, 1),
                    ch.CallOffered(2.0, "c1", "support", "Bruno", PHONE, NUM, NAME)]  # fmt: skip
            await sink.consume(positioned(ring))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mqtt:")]
    assert len(lines) == 1 and "unreachable" in lines[0] and sink.published == 0
    await sink.close()
