"""The AMI wire format, without IO: bytes in, frames out; actions in, bytes out.

Owns framing (messages end with an empty line; Asterisk writes ``\\r\\n`` but bare ``\\n`` is
accepted), the banner line (``Asterisk Call Manager/11.0.0``, which is *not* followed by an
empty line, so it arrives glued to the next message), ``Response: Follows`` command output,
repeated keys (``ChanVariable``), case-insensitive keys (``ServicelevelPerf`` and
``ServiceLevelPerf`` both occur), UTF-8 with a Latin-1 fallback, and bad input: a malformed or
oversized frame becomes an :class:`Anomaly` and decoding goes on with the next message.

Headers are parsed lazily: a real stream is mostly ``VarSet``/``Newexten`` that the tracker
never reads, so a :class:`Message` only splits its lines when somebody asks for a header.
Must not import asyncio or anything outside the standard library.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 1 << 20
# Asterisk's banner is ~30 bytes; a peer that sends an endless first line is not Asterisk.
MAX_BANNER_BYTES = 1024
# ``Response: Follows`` output may hold empty lines, so it arrives in parts: this many at most.
MAX_FOLLOWS_PARTS = 10_000
BANNER_PREFIX = b"Asterisk Call Manager/"
_END_COMMAND = b"--END COMMAND--"
_END_COMMAND_TEXT = _END_COMMAND.decode()


def decode_text(raw: bytes) -> str:
    """UTF-8 as Asterisk writes it; Latin-1 for the odd channel driver that passes raw bytes."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# "Key: value" lines; a value may be empty ("Application:"). One C-level pass per message.
_HEADER = re.compile(r"^([^:\r\n]+):[ ]?([^\r\n]*)", re.M)


class Message:
    """One AMI message (an event or a response), headers parsed on first use.

    ``name`` is the event name for events and the response word (``Success``, ``Error``,
    ``Follows``, ``Goodbye``) for responses. Keys are matched exactly first (Asterisk's usual
    spelling) and case-insensitively when that fails.
    """

    __slots__ = ("_exact", "_items", "_lower", "_output", "is_event", "name", "raw")

    def __init__(self, raw: bytes, name: str, is_event: bool) -> None:
        self.raw = raw
        self.name = name
        self.is_event = is_event
        self._exact: dict[str, str] | None = None
        self._lower: dict[str, str] | None = None
        self._items: list[tuple[str, str]] = []
        self._output: list[str] = []

    def _parse(self) -> dict[str, str]:
        text = decode_text(self.raw)
        if not self.is_event and self.name == "Follows":
            self._parse_follows(text)
        else:
            self._items = _HEADER.findall(text)
        exact = dict(reversed(self._items))  # reversed: the first of repeated keys wins
        self._exact = exact
        return exact

    def _parse_follows(self, text: str) -> None:
        # Old-style command output: header lines, then raw lines up to --END COMMAND--.
        for line in text.split("\n"):
            line = line.removesuffix("\r")
            match = _HEADER.match(line)
            if match and " " not in match.group(1):
                self._items.append((match.group(1), match.group(2)))
            elif line != _END_COMMAND_TEXT:
                self._output.append(line)

    @property
    def headers(self) -> Mapping[str, str]:
        """First value of each key, keys lower-cased."""
        lower = self._lower
        if lower is None:
            lower = self._lower = {k.lower(): v for k, v in reversed(self._parsed_items())}
        return lower

    def _parsed_items(self) -> list[tuple[str, str]]:
        if self._exact is None:
            self._parse()
        return self._items

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (case-insensitive), or ``default``."""
        exact = self._exact
        if exact is None:
            exact = self._parse()
        value = exact.get(key)
        if value is None:
            return self.headers.get(key.lower(), default)
        return value

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in wire order (``ChanVariable``, ``Output``)."""
        want = key.lower()
        return [v for k, v in self._parsed_items() if k.lower() == want]

    @property
    def items(self) -> list[tuple[str, str]]:
        """All header lines in wire order, duplicates included."""
        return list(self._parsed_items())

    @property
    def malformed_lines(self) -> int:
        """Lines that are not ``Key: value`` (outside command output)."""
        if not self.is_event and self.name == "Follows":
            return 0
        return self.raw.count(b"\n") + 1 - len(self._parsed_items())

    @property
    def output(self) -> list[str]:
        """Command output: ``Output:`` headers (Asterisk >= 14) or the raw lines of ``Follows``."""
        self._parsed_items()
        return self._output or self.get_all("Output")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def __repr__(self) -> str:
        kind = "Event" if self.is_event else "Response"
        return f"<Message {kind}: {self.name} ({len(self.raw)} bytes)>"


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line that opens every AMI connection."""

    text: str

    @property
    def version(self) -> str:
        return self.text.rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """Bytes from the peer that are not a valid AMI message; they are skipped. ``size`` and
    ``digest`` (SHA-256, hex) describe the bytes seen when it was reported (for an oversized
    message, its first ``max_message`` bytes and more)."""

    reason: str
    excerpt: bytes
    size: int = 0
    digest: str = ""


def _anomaly(reason: str, part: bytes) -> Anomaly:
    return Anomaly(reason, part[:200], len(part), hashlib.sha256(part).hexdigest())


_NOT_A_MESSAGE = "message does not start with Event: or Response:"
# The journal keeps what was skipped as this event (see ``journal_bytes``); translated back
# into the same anomaly, so a replay of the journal counts what the live daemon counted.
ANOMALY_MARKER = "CallcenterAnomaly"


def journal_bytes(frames: Iterable[Frame]) -> bytes:
    """Frames as the journal keeps them: each kept message whole (``\r\n`` line ends), the
    banner line, and every anomaly as a small marker (reason, size, digest, first bytes) instead
    of the junk itself. Events the decoder's filter skipped are not frames, so not kept: a
    replay decodes exactly what the live daemon used."""
    out = bytearray()
    for frame in frames:
        if isinstance(frame, Message):
            raw = frame.raw
            if b"\r\n" not in raw and b"\n" in raw:
                raw = raw.replace(b"\n", b"\r\n")  # a bare-LF peer, normalised
            out += raw + b"\r\n\r\n"
        elif isinstance(frame, Banner):
            out += frame.text.encode("utf-8", "replace") + b"\r\n"
        elif frame.size == len(frame.excerpt) and frame.reason == _NOT_A_MESSAGE:
            out += frame.excerpt + b"\r\n\r\n"  # short junk: itself is smaller than a marker
        else:
            head = repr(frame.excerpt[:80])[2:-1]  # one printable line
            out += (
                f"Event: {ANOMALY_MARKER}\r\nReason: {_one_line(frame.reason)}\r\nBytes: {frame.size}\r\n"
                f"SHA256: {frame.digest}\r\nHead: {head}\r\n\r\n"
            ).encode("utf-8", "replace")
    return bytes(out)


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


Frame = Message | Banner | Anomaly

# Decides from an event's name and raw bytes (line ends normalised to \n) whether to keep it.
EventFilter = Callable[[bytes, bytes], bool]


class Decoder:
    """Incremental AMI decoder: ``feed()`` any split of the stream, get complete frames back.

    Feeding the same bytes whole, byte by byte or in random chunks yields identical frames.
    """

    __slots__ = (
        "_buf",
        "_carry_cr",
        "_crlf",
        "_discarding",
        "_pending_bytes",
        "_pending_follows",
        "anomalies",
        "event_filter",
        "max_message",
        "skipped",
    )

    def __init__(self, max_message: int = MAX_MESSAGE_BYTES, event_filter: EventFilter | None = None) -> None:
        self._buf = b""
        self._carry_cr = False
        self._discarding = False
        self._pending_follows: list[bytes] = []
        self._pending_bytes = 0
        self._crlf: bool | None = None  # line ends of this stream, known at its first empty line
        self.max_message = max_message
        self.event_filter = event_filter
        self.anomalies = 0
        self.skipped = 0

    def reset(self) -> None:
        """Forget partial input (a new connection starts)."""
        self._buf = b""
        self._carry_cr = False
        self._discarding = False
        self._pending_follows = []
        self._crlf = None

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        if self._crlf is None:
            data = self._buf + data
            self._buf = b""
            if data.startswith(BANNER_PREFIX) and not self._discarding:
                # The banner is a lone line: hand it over as soon as it is complete.
                line, nl, rest = data.partition(b"\n")
                if not nl:
                    if len(data) > MAX_BANNER_BYTES:
                        self.anomalies += 1
                        out.append(_anomaly(f"banner line longer than {MAX_BANNER_BYTES} bytes", data))
                        self._buf, self._discarding = data[-3:], True
                    else:
                        self._buf = data
                    return out
                out.append(Banner(decode_text(line).strip()))
                data = rest
            lf, crlf = data.find(b"\n\n"), data.find(b"\r\n\r\n")
            if lf < 0 and crlf < 0:  # no message complete yet: line ends still unknown
                if self._discarding:
                    self._buf = data[-3:]
                else:
                    self._buf = data
                    self._check_size(out)
                return out
            # Asterisk writes \r\n; a peer that writes bare \n is normalised (a copy per read).
            self._crlf = crlf >= 0 and (lf < 0 or crlf < lf)
        if self._crlf:
            buf = self._buf + data if self._buf else data
            self._split(buf, b"\r\n\r\n", b"\r\n", out)
            return out
        if self._carry_cr:
            data = b"\r" + data
            self._carry_cr = False
        if data.endswith(b"\r"):
            # The "\r\n" may straddle two reads; keep the "\r" until its "\n" arrives.
            data = data[:-1]
            self._carry_cr = True
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        self._split(self._buf + data if self._buf else data, b"\n\n", b"\n", out)
        return out

    def _split(self, buf: bytes, sep: bytes, eol: bytes, out: list[Frame]) -> None:
        if self._discarding:
            # The rest of an oversized message, already reported: skip to its end.
            end = buf.find(sep)
            if end < 0:
                self._buf = buf[-len(sep) + 1 :]
                return
            self._discarding = False
            buf = buf[end + len(sep) :]
        if buf.startswith(BANNER_PREFIX) and not self._pending_follows:
            line, found, rest = buf.partition(eol)
            if found:
                out.append(Banner(decode_text(line).strip()))
                buf = rest
        parts = buf.split(sep)
        self._buf = parts.pop()
        keep = self.event_filter
        limit = self.max_message
        for part in parts:
            # Fast path, inlined: an ordinary event (most of the stream).
            if part[:7] == b"Event: " and not self._pending_follows and len(part) <= limit:
                nl = part.find(eol, 7)
                name = part[7:] if nl < 0 else part[7:nl]
                if keep is None or keep(name, part):
                    out.append(Message(part, name.decode("latin-1").strip(), True))
                else:
                    self.skipped += 1  # nobody reads it: never build or parse it
            else:
                self._frame(part, sep, out)
        self._check_size(out)

    def _check_size(self, out: list[Frame]) -> None:
        if len(self._buf) > self.max_message:
            self._oversize(self._buf, out)
            # Keep what may be the start of the separator that ends it (it can straddle reads):
            # dropping it would make the *next* message's end look like this one's.
            self._buf = self._buf[-3:]
            self._discarding = True

    def _frame(self, part: bytes, sep: bytes, out: list[Frame]) -> None:
        if self._pending_follows:
            self._follows(part, sep, out)
            return
        if part[:1] in (b"\n", b"\r"):
            part = part.lstrip(b"\r\n")
        if not part:
            return
        if part.startswith(b"Event: "):
            nl = part.find(b"\n")
            # A stray blank line before the message leaves \r\n line ends here (not the split's).
            name = (part[7:] if nl < 0 else part[7:nl]).rstrip(b"\r")
            if len(part) > self.max_message:
                self._oversize(part, out)
            elif self.event_filter is not None and not self.event_filter(name, part):
                self.skipped += 1  # nobody reads it: never build or parse it
            else:
                out.append(Message(part, name.decode("latin-1").strip(), True))
            return
        if part.startswith(BANNER_PREFIX):
            line, _, part = part.partition(b"\n")
            out.append(Banner(decode_text(line).strip()))
            if not part:
                return
        self._slow_frame(part, out)

    def _slow_frame(self, part: bytes, out: list[Frame]) -> None:
        if len(part) > self.max_message:
            self._oversize(part, out)
            return
        line, _, _ = part.partition(b"\n")
        key, sep, value = line.partition(b":")
        key = key.strip().lower()
        if not sep or key not in (b"event", b"response"):
            self.anomalies += 1
            out.append(_anomaly(_NOT_A_MESSAGE, part))
            return
        name = decode_text(value).strip()
        if key == b"event":
            out.append(Message(part, name, True))
        elif name == "Follows" and _END_COMMAND not in part:
            # Old-style command output may hold empty lines: collect up to --END COMMAND--.
            self._pending_follows = [part]
            self._pending_bytes = len(part)
        else:
            out.append(Message(part, name, False))

    def _follows(self, part: bytes, sep: bytes, out: list[Frame]) -> None:
        pending = self._pending_follows
        pending.append(part)
        self._pending_bytes += len(part) + len(sep)  # a running total: O(1) per part
        if _END_COMMAND in part:
            self._pending_follows = []
            out.append(Message(sep.join(pending), "Follows", False))
        elif self._pending_bytes > self.max_message or len(pending) > MAX_FOLLOWS_PARTS:
            self._pending_follows = []
            self.anomalies += 1
            out.append(
                _anomaly(
                    f"command output longer than {self.max_message} bytes or {MAX_FOLLOWS_PARTS} parts "
                    f"without --END COMMAND-- ({self._pending_bytes} bytes, {len(pending)} parts)",
                    pending[0],
                )
            )

    def _oversize(self, part: bytes, out: list[Frame]) -> None:
        self.anomalies += 1
        out.append(_anomaly(f"message longer than {self.max_message} bytes", part))


def encode_action(action: str, fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> bytes:
    """One action as bytes. Repeated keys (``Variable``) are given as pairs.

    Raises ValueError for a value holding a line break: that would inject headers.
    """
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    lines = [f"Action: {action}"]
    for key, value in pairs:
        text = str(value)
        if "\r" in text or "\n" in text or "\r" in key or "\n" in key or ":" in key:
            raise ValueError(f"AMI header {key!r}: expected a single line, got {text!r}")
        lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
