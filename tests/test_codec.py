"""The AMI codec: framing, headers, bad input, any split of the input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ami.codec import Anomaly, Banner, Decoder, Frame, Message, encode_action
from tests.asterisk_truth import stream


def _key(frames: list[Frame]) -> list[object]:
    return [f.raw if isinstance(f, Message) else f for f in frames]


def _feed_in(raw: bytes, sizes: list[int], max_message: int = 1 << 20) -> list[Frame]:
    d = Decoder(max_message)
    out: list[Frame] = []
    i = 0
    for n in sizes:
        out += d.feed(raw[i : i + n])
        i += n
    out += d.feed(raw[i:])
    return out


@pytest.fixture(scope="module")
def transfer_stream() -> bytes:
    return stream("m_transfer")


def test_real_stream_whole_bytewise_and_random_chunks_agree(transfer_stream: bytes) -> None:
    whole = Decoder().feed(transfer_stream)
    assert isinstance(whole[0], Banner) and whole[0].version == "11.0.0"
    assert sum(isinstance(f, Message) for f in whole) == 545
    assert not any(isinstance(f, Anomaly) for f in whole)
    rnd = random.Random(7)
    chunks = [rnd.randint(1, 700) for _ in range(len(transfer_stream) // 300)]
    assert _key(_feed_in(transfer_stream, chunks)) == _key(whole)
    bytewise = _feed_in(transfer_stream[:20000], [1] * 20000)
    assert _key(bytewise) == _key(Decoder().feed(transfer_stream[:20000]))


def test_banner_is_handed_over_before_any_message() -> None:
    d = Decoder()
    assert d.feed(b"Asterisk Call Manager/11.0.0\r\n") == [Banner("Asterisk Call Manager/11.0.0")]
    frames = d.feed(b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n")
    assert len(frames) == 1 and isinstance(frames[0], Message) and frames[0].name == "Success"


def test_banner_glued_to_the_next_connection() -> None:
    frames = Decoder().feed(b"Event: A\r\n\r\nAsterisk Call Manager/2.10.4\r\nResponse: Success\r\n\r\n")
    assert [type(f).__name__ for f in frames] == ["Message", "Banner", "Message"]


def test_bare_newlines_and_headers() -> None:
    raw = (
        b"Event: QueueParams\nQueue: support\nServicelevelPerf: 50.0\nChanVariable: A=1\n"
        b"ChanVariable: B=2\nPausedReason: \nApplication:\n\n"
    )
    (m,) = Decoder().feed(raw)
    assert isinstance(m, Message) and m.is_event and m.name == "QueueParams"
    assert m.get("ServiceLevelPerf") == "50.0" and m.get("servicelevelperf") == "50.0"
    assert m.get_all("ChanVariable") == ["A=1", "B=2"]
    assert m.get("PausedReason") == "" and m.get("Application") == ""
    assert m.get("Missing") is None


def test_command_output_both_styles() -> None:
    new = b"Response: Success\r\nMessage: Command output follows\r\nOutput: line 1\r\nOutput: line 2\r\n\r\n"
    old = b"Response: Follows\r\nPrivilege: Command\r\nline 1\r\n\r\nline 3\r\n--END COMMAND--\r\n\r\n"
    (a,) = Decoder().feed(new)
    (b,) = _feed_in(old, [1] * len(old))
    assert isinstance(a, Message) and a.output == ["line 1", "line 2"]
    assert isinstance(b, Message) and b.name == "Follows" and b.output == ["line 1", "", "line 3"]


def test_utf8_split_anywhere_and_latin1_fallback() -> None:
    raw = "Event: Newchannel\r\nCallerIDName: José Peña\r\n\r\n".encode()
    for cut in range(1, len(raw)):
        (m,) = _feed_in(raw, [cut])
        assert isinstance(m, Message) and m.get("CallerIDName") == "José Peña"
    (m,) = Decoder().feed("Event: X\r\nCallerIDName: José Peña\r\n\r\n".encode("latin-1"))
    assert isinstance(m, Message) and m.get("CallerIDName") == "José Peña"


def test_malformed_frame_is_an_anomaly_and_the_next_message_is_read() -> None:
    d = Decoder()
    frames = d.feed(b"garbage without colon\r\nmore\r\n\r\nEvent: Hangup\r\nUniqueid: 1.1\r\n\r\n")
    assert isinstance(frames[0], Anomaly) and "Event: or Response:" in frames[0].reason
    assert isinstance(frames[1], Message) and frames[1].get("Uniqueid") == "1.1"
    assert d.anomalies == 1


def test_oversized_message_is_skipped_with_one_anomaly() -> None:
    d = Decoder(max_message=1000)
    big = b"Event: Big\r\n" + b"X: " + b"y" * 5000 + b"\r\n\r\n"
    frames = _feed_in(big + b"Event: Next\r\n\r\n", [300] * 20, max_message=1000)
    assert [type(f).__name__ for f in frames] == ["Anomaly", "Message"]
    assert isinstance(frames[1], Message) and frames[1].name == "Next"
    frames = d.feed(big + b"Event: Next\r\n\r\n")
    assert d.anomalies == 1 and isinstance(frames[-1], Message)


def test_encode_action_and_header_injection() -> None:
    assert encode_action("Ping", {"ActionID": "a-1"}) == b"Action: Ping\r\nActionID: a-1\r\n\r\n"
    pairs = [("Variable", "A=1"), ("Variable", "B=2")]
    assert encode_action("Originate", pairs).count(b"Variable:") == 2
    with pytest.raises(ValueError, match="single line"):
        encode_action("Originate", {"Channel": "PJSIP/1\r\nAction: Hangup"})


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=40))
def test_random_bytes_never_raise_and_splits_agree(data: bytes, sizes: list[int]) -> None:
    whole = Decoder(max_message=512).feed(data)
    parts = _feed_in(data, sizes, max_message=512)
    for f in parts:
        if isinstance(f, Message):
            f.get("Event")
            f.items  # noqa: B018
    if len(data) < 512:
        assert _key(parts) == _key(whole)


def test_crlf_and_bare_lf_streams_give_the_same_messages(transfer_stream: bytes) -> None:
    def view(frames: list[Frame]) -> list[object]:
        return [(f.name, f.items) if isinstance(f, Message) else f for f in frames]

    crlf = view(Decoder().feed(transfer_stream))
    lf_stream = transfer_stream.replace(b"\r\n", b"\n")
    assert view(Decoder().feed(lf_stream)) == crlf
    assert view(_feed_in(lf_stream, [3] * (len(lf_stream) // 3))) == crlf


def test_event_filter_skips_unwanted_events_unparsed() -> None:
    d = Decoder(event_filter=lambda name, raw: name == b"Hangup")
    frames = d.feed(
        b"Event: VarSet\r\nVariable: X\r\n\r\nEvent: Hangup\r\nUniqueid: 1\r\n\r\nResponse: Success\r\n\r\n"
    )
    assert [f.name for f in frames if isinstance(f, Message)] == ["Hangup", "Success"]
    assert d.skipped == 1
