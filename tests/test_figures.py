"""The per-queue figures' thresholds, counted as app_queue counts them (hand-computed values)."""

from __future__ import annotations

from callcenter.metrics.figures import queue_figures
from callcenter.queues.model import Outcome, StintRecord


def _answered(call: str, wait: float, talk: float = 60.0) -> StintRecord:
    return StintRecord(call, call, "support", "", "", Outcome.ANSWERED, 0.0, wait + talk, wait, talk,
                       "Ana", "PJSIP/1001", "agent", None, False, 0, True, True)  # fmt: skip


def test_a_hold_equal_to_the_service_level_is_within_it() -> None:
    records = [_answered("c1", 19.0), _answered("c2", 20.0), _answered("c3", 21.0)]
    f = queue_figures(records, lambda queue: 20)["support"]
    assert (f.answered, f.answered_within_sl) == (3, 2)
    assert f.service_level_pct == 66.7  # 2 / 3
    d = f.as_dict()
    assert (d["asa_s"], d["max_wait_s"], d["avg_talk_s"]) == (20.0, 21.0, 60.0)


def test_the_queues_own_service_level_decides() -> None:
    records = [_answered("c1", 25.0), _answered("c2", 30.0), _answered("c3", 31.0)]
    assert queue_figures(records, lambda queue: 30)["support"].answered_within_sl == 2
