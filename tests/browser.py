"""A real headless Chromium driven over its DevTools protocol, for pages that live on a websocket
(``--dump-dom`` snapshots at load and cannot wait for a ring). Test-only.

``async with Chromium(profile) as page:`` starts Debian's chromium with a debugging port, attaches
to its tab; ``await page.goto(url)``, ``await page.value(js)``, ``await page.until(js)``. The
browser process has a deadline on every step and is killed on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.services import required_tool

LISTENING = re.compile(rb"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


class Chromium:
    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self._ids = itertools.count(1)
        self._proc: asyncio.subprocess.Process | None = None
        self._ws: ClientConnection | None = None

    async def __aenter__(self) -> Chromium:
        browser = required_tool("chromium", "chromium")
        self._proc = await asyncio.create_subprocess_exec(
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            port = await asyncio.wait_for(self._port(), 30)
            targets = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{port}/json/list")
            page = next(t for t in targets if t["type"] == "page")
            self._ws = await connect(page["webSocketDebuggerUrl"], open_timeout=10, max_size=None)
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _port(self) -> int:
        assert self._proc is not None and self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            if m := LISTENING.search(line):
                # keep draining stderr so the browser never blocks on a full pipe
                asyncio.get_running_loop().create_task(self._drain())
                return int(m.group(1))
        raise AssertionError("chromium exited before listening")

    async def _drain(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        with contextlib.suppress(Exception):
            while await self._proc.stderr.read(65536):
                pass

    async def _stop(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await asyncio.wait_for(self._proc.wait(), 10)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        ident = next(self._ids)
        await self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(20):
            while True:
                reply = json.loads(await self._ws.recv())
                if reply.get("id") == ident:  # events in between are not needed here
                    if "error" in reply:
                        raise AssertionError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply["result"]
                    return result

    async def goto(self, url: str) -> None:
        """Open the page and wait until it has loaded."""
        await self.call("Page.navigate", url=url)
        await self.until(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    async def value(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def until(self, expression: str, timeout: float = 10.0) -> Any:
        """Poll a JavaScript expression until it is truthy; its value. An expression that throws
        (the page not loaded yet) is not there yet."""
        tolerant = f"(() => {{ try {{ return ({expression}); }} catch (e) {{ return false; }} }})()"
        async with asyncio.timeout(timeout):
            while not (found := await self.value(tolerant)):
                await asyncio.sleep(0.05)
        return found

    async def screenshot(self, path: Path) -> None:
        import base64

        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())
