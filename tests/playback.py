"""An AMI server that plays a recorded client session back over real TCP, connection by connection.

A recording such as ``o_reconnect.client.ami.gz`` holds what one client received over several
connections, each opening with the banner. Connection *k* to this server gets segment *k*: the
banner, its own answer to Login, then the recorded messages at a chosen pace. The recorded
answers to QueueStatus / CoreShowChannels are sent when the client asks for them, with the
client's ActionID; recorded answers nobody asked for are skipped. When a segment ends the server
drops the connection (as the recording did), except after the last one. Test-only; the
project's simulator will generate streams instead of replaying them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from tests.fakeami import BANNER, wire
from tests.loopback import LoopbackServer

# The first item of a recorded list answer tells which action it answers.
_LIST_KIND = {
    b"QueueParams": "QueueStatus", b"QueueMember": "QueueStatus", b"QueueEntry": "QueueStatus",
    b"QueueStatusComplete": "QueueStatus", b"QueueSummary": "QueueSummary",
    b"QueueSummaryComplete": "QueueSummary", b"CoreShowChannel": "CoreShowChannels",
    b"CoreShowChannelsComplete": "CoreShowChannels",
}  # fmt: skip


def _header(msg: bytes, key: bytes) -> bytes | None:
    for line in msg.split(b"\r\n"):
        if line.startswith(key + b": "):
            return line[len(key) + 2 :]
    return None


def _with_action_id(msg: bytes, action_id: str) -> bytes:
    lines = [
        b"ActionID: " + action_id.encode() if ln.startswith(b"ActionID: ") else ln
        for ln in msg.split(b"\r\n")
    ]
    return b"\r\n".join(lines)


def segments(stream: bytes) -> list[list[bytes]]:
    """The recording split into connections, each a list of messages (without the final CRLF)."""
    out: list[list[bytes]] = []
    for part in stream.split(BANNER):
        if part:
            out.append([m for m in part.split(b"\r\n\r\n") if m.strip()])
    return out


class Playback(LoopbackServer):
    def __init__(self, recording: bytes, *, batch: int = 40, pause_s: float = 0.02) -> None:
        super().__init__()
        self.segments = segments(recording)
        self.batch = batch
        self.pause_s = pause_s
        self.served = 0  # connections that got a segment
        self.finished = asyncio.Event()  # the last segment was sent completely
        self.sent_messages = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            self._tasks.discard(task)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.served >= len(self.segments):
            return
        index = self.served
        self.served += 1
        writer.write(BANNER)
        requests: dict[str, deque[str]] = {}
        logged_in = asyncio.Event()
        actions = asyncio.create_task(
            self._actions(reader, writer, requests, logged_in), name="playback-actions"
        )
        try:
            await logged_in.wait()
            await self._play(self.segments[index], writer, requests)
            if index == len(self.segments) - 1:
                self.finished.set()
                await actions  # stay connected until the client leaves
        finally:
            actions.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await actions

    async def _actions(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        requests: dict[str, deque[str]],
        logged_in: asyncio.Event,
    ) -> None:
        while True:
            raw = await reader.readuntil(b"\r\n\r\n")
            fields = dict(line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line)
            action, aid = fields.get("Action", ""), fields.get("ActionID", "")
            if action == "Login":
                writer.write(
                    wire(("Response", "Success"), ("ActionID", aid), ("Message", "Authentication accepted"))
                )
                logged_in.set()
            elif action == "Ping":
                writer.write(
                    wire(("Response", "Success"), ("ActionID", aid), ("Ping", "Pong"), ("Timestamp", "0.0"))
                )
            elif action == "Logoff":
                writer.write(
                    wire(("Response", "Goodbye"), ("ActionID", aid), ("Message", "Thanks for all the fish."))
                )
                return
            elif action in ("QueueStatus", "CoreShowChannels", "QueueSummary"):
                requests.setdefault(action, deque()).append(aid)
            else:
                writer.write(wire(("Response", "Error"), ("ActionID", aid), ("Message", "Permission denied")))

    async def _play(
        self, messages: list[bytes], writer: asyncio.StreamWriter, requests: dict[str, deque[str]]
    ) -> None:
        i = 0
        since_pause = 0
        while i < len(messages):
            msg = messages[i]
            recorded_id = _header(msg, b"ActionID")
            if msg.startswith(b"Response: ") and recorded_id is not None:
                block, rest, i = self._block(messages, i, recorded_id)
                await self._answer(block, writer, requests)
                out = rest
            else:
                out = [msg]
                i += 1
            for m in out:
                writer.write(m + b"\r\n\r\n")
                self.sent_messages += 1
            since_pause += len(out)
            if since_pause >= self.batch:
                since_pause = 0
                await writer.drain()
                await asyncio.sleep(self.pause_s)
        await writer.drain()

    @staticmethod
    def _block(messages: list[bytes], i: int, recorded_id: bytes) -> tuple[list[bytes], list[bytes], int]:
        """A recorded answer and its list items; live events recorded in between come after it."""
        block, rest = [messages[i]], []
        is_list = _header(messages[i], b"EventList") == b"start"
        i += 1
        while is_list and i < len(messages):
            msg = messages[i]
            i += 1
            if _header(msg, b"ActionID") == recorded_id:
                block.append(msg)
                if (_header(msg, b"EventList") or b"").lower() == b"complete":
                    break
            else:
                rest.append(msg)
        return block, rest, i

    async def _answer(
        self, block: list[bytes], writer: asyncio.StreamWriter, requests: dict[str, deque[str]]
    ) -> None:
        kind = _LIST_KIND.get(_header(block[-1], b"Event") or b"") if len(block) > 1 else None
        if kind is None:
            return  # the recorded Login answer, a Logoff's Goodbye: this server answers those itself
        for _ in range(100):  # wait up to 2 s for the client to ask
            if requests.get(kind):
                break
            await asyncio.sleep(0.02)
        if not requests.get(kind):
            return
        aid = requests[kind].popleft()
        for msg in block:
            writer.write(_with_action_id(msg, aid) + b"\r\n\r\n")
            self.sent_messages += 1
