"""One Asterisk's stream into the tracker: decoded frames → domain events → changes.

The same path serves the live daemon (frames from the AMI client), the journal's recovery and
``callcenter replay`` (frames decoded from stored bytes), so all three build the same state.
Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.ami.codec import Banner, Decoder, Frame, Message
from callcenter.ami.translate import Rejected, Translator, wanted
from callcenter.queues import changes as ch
from callcenter.queues.tracker import Tracker, TrackerConfig


class Ingest:
    __slots__ = ("anomalies", "decoder", "quarantined", "tracker", "translator")

    def __init__(self, tracker: Tracker | None = None, config: TrackerConfig | None = None) -> None:
        self.tracker = tracker or Tracker(config)
        self.translator = Translator()
        # For byte input (replay, recovery); the live client decodes with the same filter.
        self.decoder = Decoder(event_filter=wanted)
        self.anomalies = 0
        self.quarantined = 0  # frames that raised in translation or tracking (a bug: see the log)

    def frames(self, frames: Iterable[Frame], received_at: float | None = None) -> list[ch.Change]:
        out: list[ch.Change] = []
        translator = self.translator
        translate = translator.translate
        apply = self.tracker.apply
        problems = translator.problems
        for frame in frames:
            try:
                event = translate(frame, received_at)
                if problems:
                    self._problems(out)
                if event is None:
                    continue
                if isinstance(event, Rejected):
                    self.anomalies += 1
                    out.append(ch.AnomalySeen(translator.last_at, event.reason))
                    continue
                out.extend(apply(event))
            except Exception as exc:
                # A bug on our side for this input: quarantine the frame, keep the link (and
                # recovery, which replays the same frame) going. The frame stays in the journal.
                problems.clear()
                self.anomalies += 1
                self.quarantined += 1
                excerpt = frame.raw[:120] if isinstance(frame, Message) else b""
                out.append(
                    ch.AnomalySeen(
                        translator.last_at,
                        f"frame quarantined: {type(exc).__name__}: {str(exc)[:200]} in {excerpt!r}",
                    )
                )
        return out

    def _problems(self, out: list[ch.Change]) -> None:
        at = self.translator.last_at
        for reason in self.translator.problems:
            self.anomalies += 1
            out.append(ch.AnomalySeen(at, reason))
        self.translator.problems.clear()

    def feed(self, data: bytes, received_at: float | None = None) -> list[ch.Change]:
        return self.frames(self.decoder.feed(data), received_at)

    def link(self, banner: str, received_at: float | None = None) -> list[ch.Change]:
        """A new connection began with this banner (bytes input: the decoder starts afresh)."""
        self.decoder.reset()
        return self.frames([Banner(banner)], received_at)

    def finish(self) -> list[ch.Change]:
        return self.tracker.finish()

    @property
    def anomaly_count(self) -> int:
        """Bad input of every kind: undecodable frames, unusable messages, impossible sequences."""
        return self.anomalies + self.tracker.anomalies
