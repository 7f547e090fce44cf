"""The fuzz test that stays: real frames mutated (callcenter.ami.mutate), seeded, through
codec → translation → tracker. No exception, no frame quarantined (a quarantine is a bug of
ours that the quarantine hid), every per-call memory bounded, the junk counted. At length:
``python bench/fuzz.py`` (10^6 frames, live daemon, event-loop lag)."""

from __future__ import annotations

import pytest

from callcenter.ami.mutate import chunks, messages, mutated
from callcenter.ingest import Ingest
from callcenter.queues.recent import Recent
from callcenter.queues.tracker import CHANNELS_LIMIT, ENDED_LIMIT, GOING_LIMIT
from tests.asterisk_truth import stream

FRAMES = messages(stream("o_reconnect.client")) + messages(stream("actions_snapshot"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mutated_real_frames_never_raise_and_are_all_counted(seed: int) -> None:
    data = b"Asterisk Call Manager/11.0.0\r\n" + b"".join(mutated(FRAMES, seed, share=0.5))
    ingest = Ingest()
    for chunk in chunks(data, seed):
        ingest.feed(chunk, 1.0)
    ingest.finish()
    tracker = ingest.tracker
    assert ingest.quarantined == 0
    assert ingest.anomaly_count > 1000  # half the frames were bent: the junk is counted
    assert tracker.stints == {}
    assert len(tracker.going) <= GOING_LIMIT and len(tracker.ended) <= ENDED_LIMIT
    assert max(len(tracker.last_queue), len(tracker.queue_app), len(tracker.refusal_echo)) <= CHANNELS_LIMIT


def test_the_mutator_is_reproducible_and_mutates() -> None:
    one = b"".join(mutated(FRAMES[:2000], 7))
    assert one == b"".join(mutated(FRAMES[:2000], 7))
    assert one != b"".join(mutated(FRAMES[:2000], 8))
    assert one != b"".join(mutated(FRAMES[:2000], 7, share=0.0))


def test_recent_keeps_the_newest_and_is_bounded() -> None:
    recent: Recent[int, int] = Recent(10)
    for i in range(1000):
        recent[i] = i
    assert len(recent) <= 10 and 999 in recent and 0 not in recent
