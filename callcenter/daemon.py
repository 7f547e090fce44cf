"""``callcenter run``: the composition root of the daemon.

One :class:`PbxLink` per configured Asterisk: its AMI client hands over every chunk read, which
is journaled (committed) before its frames go through ingest → tracker; the tracker's changes
go to the sinks. After each (re)connect the link asks Asterisk for its status snapshot
(QueueStatus, CoreShowChannels); the answers arrive through the same path and the tracker
reconciles. On start the journal is replayed first, so a killed daemon resumes where it was.
The web (``callcenter.web``) answers on ``web.host:web.port`` from the daemon's snapshots
(:meth:`Daemon.servers`); its socket is bound before anything else, so a port already in use or a
bad TLS key stops start-up at once. All tasks are named and live in one TaskGroup; SIGTERM/SIGINT
stop it cleanly (the web first, then the AMI links).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, Sequence

from callcenter import checkpoint
from callcenter.ami.client import AmiClient
from callcenter.ami.codec import Banner, Frame, journal_bytes
from callcenter.ami.link import AmiError, LinkState, ListenerBehind, ListenerStopped, ServerAddress
from callcenter.ami.translate import wanted
from callcenter.backfill import backfill_since
from callcenter.config import AmiServer, Settings, TrackingSettings
from callcenter.cti.hub import AgentHub
from callcenter.cti.pop import PastCall, past_calls
from callcenter.fanout import FanOut, QueuedSink
from callcenter.ingest import Ingest
from callcenter.journal import DATA, LINK, JournalError, JournalRow, JournalStore, open_journal
from callcenter.metrics.window import Window, site_zone
from callcenter.mqtt.sink import MqttSink
from callcenter.queues import changes as ch
from callcenter.queues.tracker import TrackerConfig
from callcenter.queues.views import queue_views
from callcenter.sinks import LogLines, Totals
from callcenter.store import SqlStore, StoreError, open_store
from callcenter.store.sink import StoreSink
from callcenter.wallboard.alerts import AlertRules
from callcenter.wallboard.live import Wallboard
from callcenter.web.app import build_app
from callcenter.web.server import WebServer
from callcenter.web.view import LinkView, QueueSnapshot, ServerView

log = logging.getLogger("callcenter")
CHECKPOINT_EVERY_S = 300.0  # a crash replays at most this much of the journal (and a clean stop none)
TICKETS_EVERY_S = 30  # how stale the wallboard's ticket alerts may be
SINK_SETTLE_S = 10.0  # at a clean stop, how long the store may take to write its last changes
GAP_MARGIN_S = 120.0  # queue_log is read from a little before the gap: its times are whole seconds


def server_address(server: AmiServer) -> ServerAddress:
    return ServerAddress(
        name=server.name,
        host=server.host,
        port=server.port,
        username=server.username,
        secret=server.secret,
        auth=server.auth,
        events=server.events,
        connect_timeout_s=server.connect_timeout_s,
        action_timeout_s=server.action_timeout_s,
        ping_interval_s=server.ping_interval_s,
        ping_timeout_s=server.ping_timeout_s,
        reconnect_min_s=server.reconnect_min_s,
        reconnect_max_s=server.reconnect_max_s,
        login_retry_s=server.login_retry_s,
    )


def tracker_config(tracking: TrackingSettings) -> TrackerConfig:
    """The tracker's rules from the YAML's tracking section: the core reads no settings."""
    wrapup = {q: s.wrapup_s for q, s in tracking.queues.items() if s.wrapup_s is not None}
    return TrackerConfig(short_abandon_s=tracking.short_abandon_s, wrapup_s=wrapup)


def servicelevel_rule(
    tracking: TrackingSettings, seen: Callable[[str], int | None]
) -> Callable[[str], int | None]:
    """A queue's service level, everywhere the same: Asterisk's own (QueueParams, QUEUESRVLEVEL),
    else the queue's in the config, else tracking.default_servicelevel_s."""
    return lambda queue: seen(queue) or tracking.servicelevel_for(queue) or tracking.default_servicelevel_s


class PbxLink:
    """One Asterisk: journal first, then state; the AMI client's listener."""

    def __init__(
        self,
        server: AmiServer,
        settings: Settings,
        journal: JournalStore | None,
        queued: Sequence[QueuedSink] = (),
    ) -> None:
        self.server = server
        self.journal = journal
        self.journal_failure = settings.journal.on_failure
        self.ingest = Ingest(config=tracker_config(settings.tracking))

        def seen(queue: str) -> int | None:
            info = self.ingest.tracker.queues.get(queue)
            return info.servicelevel_s if info is not None else None

        servicelevel_for = servicelevel_rule(settings.tracking, seen)

        site = settings.site
        window = Window(site_zone(site.timezone), site.day_start_min, site.interval_min)
        self.totals = Totals(servicelevel_for, window)
        self.fanout = FanOut(inline=[self.totals, LogLines(server.name)], queued=queued)
        self.position = 0  # journal rows of this server so far (each change carries its row)
        self.client = AmiClient(server_address(server), self, event_filter=wanted)
        self.store: SqlStore | None = None  # set by the daemon: where a gap is back-filled
        self.short_abandon_s = settings.tracking.short_abandon_s
        self.last_seen_at: float | None = None  # the last journal row's time: where a gap begins
        self.gap_from: float | None = None
        # A gap already filled once: filled again at the next status read (or a clean stop) for
        # the lines queue_log had not written yet (calls that ended as the link came back).
        self.refill_from: float | None = None
        self.resync_wanted = asyncio.Event()
        self.up_since: float | None = None
        self.down_since: float | None = None

    # -- recovery ------------------------------------------------------------------------------

    def recover(self, row: JournalRow) -> None:
        self.position += 1
        self.last_seen_at = row.received_at
        if row.kind == LINK:
            changes = self.ingest.link(row.data.decode("utf-8", "replace"), row.received_at)
        else:
            changes = self.ingest.feed(row.data, row.received_at)
        self._publish(changes, live=False)

    # -- the AMI client's listener -------------------------------------------------------------

    async def _journal(self, row: JournalRow) -> None:
        """Committed before it changes any state; if it cannot be, the link stops (and the
        daemon with it): tracking on without the journal would lose the crash guarantee."""
        if self.journal is None:
            return
        try:
            await self.journal.append_async([row])
        except JournalError as exc:
            if self.journal_failure == "stop":
                raise ListenerStopped(exc) from exc
            raise ListenerBehind(
                f"journal: {exc}; the AMI link is closed until the journal takes writes again"
            ) from exc

    async def link_up(self, server: str, banner: Banner, at: float) -> None:
        log.info("%s: AMI link up (%s), resynchronising", server, banner.text)
        await self._journal(JournalRow(server, at, LINK, banner.text.encode()))
        self.gap_from = self.last_seen_at  # None on a first start: nothing was missed
        self.last_seen_at = at
        self.position += 1
        self._publish(self.ingest.link(banner.text, at))
        self.up_since = at
        self.resync_wanted.set()

    async def received(self, server: str, chunk: bytes, frames: list[Frame], at: float) -> None:
        # The frames the tracker uses, not the raw chunk: events the filter skips (most of the
        # stream: VarSet, Newexten, Newstate, ...) and junk are not kept (docs/operations.md).
        if frames:
            await self._journal(JournalRow(server, at, DATA, journal_bytes(frames)))
            self.position += 1
            self.last_seen_at = at
        self._publish(self.ingest.frames(frames, at))

    async def link_down(self, server: str, reason: str, at: float) -> None:
        self.up_since, self.down_since = None, at
        log.warning("%s: AMI link down: %s", server, reason)

    # -- the changes, out through the fan-out ---------------------------------------------------

    def _publish(self, changes: list[ch.Change], live: bool = True) -> None:
        self.fanout.publish(self.server.name, self.position, changes, live)

    async def status_checks(self) -> None:
        """Every ``status_check_s`` on a link that is up: the same status requests as a resync,
        so calls whose end never arrived (a lost event, a bug) are closed, and memory with them."""
        while True:
            await asyncio.sleep(self.server.status_check_s)
            if self.client.state is LinkState.UP:
                self.resync_wanted.set()

    async def resync_loop(self) -> None:
        while True:
            await self.resync_wanted.wait()
            self.resync_wanted.clear()
            try:
                await self.client.send_list_action("QueueStatus")
                await self.client.send_list_action("CoreShowChannels")
            except AmiError as exc:
                log.warning(
                    "%s: status request failed: %s (retried at the next link or check)", self.server.name, exc
                )
                continue
            if self.server.queue_log and self.store is not None:
                if self.gap_from is not None:
                    await self.backfill(self.gap_from)
                    self.refill_from = self.gap_from  # once more at the next read: late lines
                elif self.refill_from is not None:
                    await self.backfill(self.refill_from)
                    self.refill_from = None
            self.gap_from = None

    async def backfill(self, since: float) -> None:
        """The calls of a gap, from Asterisk's queue_log into the store, once the store has the
        resync's closures (they are what queue_log's lines replace)."""
        assert self.store is not None and self.server.queue_log is not None
        await self.fanout.settle(SINK_SETTLE_S)
        try:
            added, replaced = await asyncio.to_thread(
                backfill_since, self.store, self.server.name, self.server.queue_log, since - GAP_MARGIN_S,
                self.short_abandon_s,
            )  # fmt: skip
        except (OSError, StoreError) as exc:
            log.warning(
                "%s: the gap was not filled from %s: %s", self.server.name, self.server.queue_log, exc
            )
            return
        began = time.strftime("%H:%M:%S", time.localtime(since))
        log.info("%s: gap since %s filled from queue_log: %d stints added, %d replaced",
                 self.server.name, began, added, replaced)  # fmt: skip

    def asterisk_now(self) -> float:
        return time.time() + self.ingest.translator.skew  # on Asterisk's clock, like the events

    def state_time(self) -> float:
        """The moment the tracked state stands for, on Asterisk's clock: now while the link is
        up; when it went down otherwise (waits are not counted on through a blind spell)."""
        if self.client.state is LinkState.UP or self.down_since is None:
            return self.asterisk_now()
        return self.down_since + self.ingest.translator.skew

    def view(self) -> ServerView:
        """This Asterisk as the web shows it: link, live queues, figures so far."""
        link = self.link_view()
        now = self.state_time()
        window = self.totals.window
        day_from = window.day_starts(window.day(now))
        snapshots = []
        for live in queue_views(self.ingest.tracker, now):
            interval_from, interval = self.totals.this_interval(live.queue, now)
            done = self.totals.so_far(live.queue, now)
            unseen = self.totals.unseen_today(live.queue, now)
            snapshots.append(QueueSnapshot(live, done, day_from, interval_from, interval, unseen))
        return ServerView(link.name, link.link, link.since, tuple(snapshots))

    def link_view(self) -> LinkView:
        state = self.client.state
        since = self.up_since if state is LinkState.UP else self.down_since
        return LinkView(self.server.name, state, since, self.client.retrying)

    def figures_line(self) -> str:
        now = self.state_time()
        parts = []
        for view in queue_views(self.ingest.tracker, now):
            done = self.totals.so_far(view.queue, now)
            tally = f" today: offered={done.offered} answered={done.answered} abandoned={done.abandoned}"
            unseen = self.totals.unseen_today(view.queue, now)
            if unseen is not None:
                tally += f" missing={unseen[2]}"  # ended unseen (CallsUnseen): not in these figures
            agents = " ".join(f"{s.value}={n}" for s, n in sorted(view.agents.items()))
            waiting = f"waiting={len(view.waiting)} longest={view.longest_wait_s:.0f}s"
            parts.append(f"[{view.queue}: {waiting} {agents}{tally}]")
        if self.up_since is not None:
            link = "up"
        elif self.down_since is not None:
            link = (
                f"down since {time.strftime('%H:%M:%S', time.localtime(self.down_since))}: last known state"
            )
        else:
            link = "down"
        return f"{self.server.name} ({link}): " + (" ".join(parts) or "no queue seen yet")


class Daemon:
    """Opens the web's socket, the journal and the store at construction (any may raise:
    `WebError`, `JournalError`, `StoreError`); `run()` closes them when it ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        web = settings.web
        app = build_app(self, api_token=web.api_token, agent_token=web.agent_token)
        self.web = WebServer(web, app) if web.enabled else None
        self.journal: JournalStore | None = None
        self.store: SqlStore | None = None
        try:
            self.journal = open_journal(settings.journal, writer=True) if settings.journal.enabled else None
            self.store = open_store(settings.store.target) if settings.store.enabled else None
        except BaseException:
            self._close()
            raise
        # the agents' screens: one hub for every Asterisk (its books are per server)
        self.hub = AgentHub(self._history if self.store is not None else None, tickets=self.store,
                            categories=settings.tickets.categories,
                            resolve_hours=settings.tickets.hours_by_priority)  # fmt: skip
        w = settings.wallboard
        self._wallboard = Wallboard(rules=AlertRules(w.max_waiting, w.max_wait_s, w.target_pct, w.min_offered,
                                                     w.max_pause_min * 60))  # fmt: skip
        feeds: list[QueuedSink] = [self.hub, self._wallboard.board] if self.web is not None else []
        m = settings.mqtt  # the live feed for other systems: one sink for every Asterisk
        self.mqtt = (
            MqttSink(m.host, m.port, m.prefix, username=m.username, password=m.password)
            if m.enabled
            else None
        )
        if self.mqtt is not None:
            feeds.append(self.mqtt)
        self.links = [
            PbxLink(server, settings, self.journal, [*self._store_sinks(server.name), *feeds])
            for server in settings.ami.servers
        ]
        for link in self.links:
            link.store = self.store
        self._stopping = asyncio.Event()

    def _store_sinks(self, server: str) -> list[QueuedSink]:
        if self.store is None:
            return []
        journal = self.journal
        rows = None if journal is None else (lambda: journal.rows(server))
        config = tracker_config(self.settings.tracking)
        return [StoreSink(self.store, server, rows, config)]

    def _close(self) -> None:
        if self.web is not None:
            self.web.close()
        if self.journal is not None:
            self.journal.close()
        if self.store is not None:
            self.store.close()

    def servers(self) -> list[ServerView]:
        """The daemon as the web reads it (`callcenter.web.view.CallCenterView`)."""
        return [link.view() for link in self.links]

    def agent_hub(self) -> AgentHub:
        return self.hub

    def wallboard(self) -> Wallboard:
        return self._wallboard

    def asterisk_clocks(self) -> dict[str, float]:
        """Each Asterisk's time now, as its events tell it (the agents' changes are on it)."""
        return {link.server.name: link.asterisk_now() for link in self.links}

    def _history(self, caller: str, before: float) -> tuple[PastCall, ...]:
        """A pop's past calls of the number (run in a worker thread by the hub)."""
        assert self.store is not None
        return past_calls(self.store.caller_stints(caller, before), before)

    def export_source(self) -> tuple[str, str] | None:
        if self.store is None:
            return None
        return self.settings.store.target, site_zone(self.settings.site.timezone)

    def link_views(self) -> list[LinkView]:
        """The links alone, for ``/healthz``: O(1) per server."""
        return [link.link_view() for link in self.links]

    def recover(self) -> int:
        """Each link's state from its last checkpoint and the journal since (from the journal's
        start without one); the number of journal rows replayed."""
        if self.journal is None:
            return 0
        count = 0
        for link in self.links:
            start, kept = self._resume(link), self.journal.pruned(link.server.name)
            if start < kept:  # no usable checkpoint, and retention deleted the journal's first rows
                log.warning("%s: the journal's first %d rows were deleted (journal.retention_days): the "
                            "state is rebuilt from the rows kept, calls then in progress are adopted",
                            link.server.name, kept)  # fmt: skip
                start = link.position = kept
            for row in self.journal.rows(link.server.name, skip=start):
                link.recover(row)
                count += 1
            tracker = link.ingest.tracker
            ended = sum(f.offered for f in link.totals.queues.values())
            log.info(
                "%s: recovered from the journal: %d stints ended, %d in progress",
                link.server.name,
                ended,
                len(tracker.stints),
            )
        return count

    def _resume(self, link: PbxLink) -> int:
        blob = None if self.store is None else self.store.checkpoint(link.server.name)
        if blob is None:
            return 0
        state = checkpoint.load(blob)
        if state is None:
            log.info("%s: the checkpoint was made by other code: the journal is replayed from its start",
                     link.server.name)  # fmt: skip
            return 0
        link.ingest = state.ingest
        link.totals.restore(state.totals)
        self._wallboard.board.seed(link.server.name, state.ingest.tracker)  # its changes are not replayed
        self.hub.seed(link.server.name, state.ingest.tracker)
        link.position = state.position
        if self.journal is not None and state.position:  # where a gap since the checkpoint begins
            rows = self.journal.rows(link.server.name, skip=state.position - 1)
            last = next(rows, None)
            getattr(rows, "close", lambda: None)()  # the reader's connection, now: not at GC
            link.last_seen_at = None if last is None else last.received_at
        log.info("%s: resumed from the checkpoint at journal row %d", link.server.name, state.position)
        return state.position

    async def checkpoint(self) -> int:
        """Save each link's state whose sinks are all caught up (the others wait for the next
        time); the number saved. The state is taken on the event loop, between two messages."""
        if self.store is None or self.journal is None:
            return 0
        saved = 0
        for link in self.links:
            if not link.fanout.settled():
                continue
            blob = checkpoint.dump(link.position, link.ingest, link.totals.state())
            try:
                await asyncio.to_thread(
                    self.store.save_checkpoint, link.server.name, link.position, time.time(), blob
                )
            except StoreError as exc:
                log.warning("%s: %s (the next start replays more of the journal)", link.server.name, exc)
                continue
            saved += 1
            await self._prune(link)
        return saved

    async def _prune(self, link: PbxLink) -> None:
        """Journal retention: rows older than ``journal.retention_days`` that the checkpoint just
        saved covers (every sink, the store included, had them) are deleted."""
        days = self.settings.journal.retention_days
        if days is None or self.journal is None:
            return
        try:
            deleted = await asyncio.to_thread(
                self.journal.prune, link.server.name, link.position, time.time() - days * 86400.0
            )
        except JournalError as exc:
            log.warning(
                "%s: journal retention: %s (tried again at the next checkpoint)", link.server.name, exc
            )
            return
        if deleted:
            log.info(
                "%s: journal retention: %d rows older than %g days deleted", link.server.name, deleted, days
            )

    async def _ticket_watch(self) -> None:
        """The unsolved tickets, for the wallboard's escalation alerts, read off the loop."""
        while True:
            await self.refresh_tickets()
            await asyncio.sleep(TICKETS_EVERY_S)

    async def refresh_tickets(self) -> None:
        if self.store is None:
            return
        try:
            self._wallboard.tickets = tuple(await asyncio.to_thread(self.store.unsolved_tickets))
        except StoreError as exc:
            log.warning(
                "wallboard: the tickets were not read: %s (tried again in %d s)", exc, TICKETS_EVERY_S
            )

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY_S)
            await self.checkpoint()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        try:
            started = time.monotonic()
            rows = self.recover()
            log.info(
                "journal: %s (%d rows replayed in %.2f s)",
                self.settings.journal.where,
                rows,
                time.monotonic() - started,
            )
            async with asyncio.TaskGroup() as group:
                web = None if self.web is None else group.create_task(self.web.serve(), name="web")
                log.info("web: %s", self.web_line())
                for link in self.links:
                    group.create_task(self._client(link), name=f"ami-{link.server.name}")
                    group.create_task(link.resync_loop(), name=f"resync-{link.server.name}")
                    group.create_task(link.status_checks(), name=f"status-{link.server.name}")
                    if link.fanout.lanes:  # queued sinks: the store, screens, wallboard, MQTT
                        group.create_task(link.fanout.run(), name=f"sinks-{link.server.name}")
                group.create_task(self._figures(), name="figures")
                group.create_task(self._checkpoints(), name="checkpoints")
                if self.web is not None and self.store is not None:
                    group.create_task(self._ticket_watch(), name="tickets")
                await self._stopping.wait()
                log.info("stopping")
                if self.web is not None and web is not None:
                    self.web.stop()
                    await web  # in-flight requests finish, connections close
                for link in self.links:
                    await link.client.stop()
                for link in self.links:  # the store gets what the links last said
                    if not await link.fanout.settle(SINK_SETTLE_S):
                        log.warning(
                            "%s: sinks still busy at stop; the store catches up at start", link.server.name
                        )
                for link in self.links:
                    if link.refill_from is not None and link.server.queue_log and link.store is not None:
                        await link.backfill(link.refill_from)
                await self.checkpoint()  # the next start replays nothing of the journal
                if self.mqtt is not None:
                    await self.mqtt.close()
                raise _Stop
        except* _Stop:
            pass
        finally:
            self._close()

    def web_line(self) -> str:
        """Where the web answers, for the start-up log and the demo."""
        if self.web is None:
            return "off (web.enabled: false)"
        token = " (bearer token required)" if self.settings.web.api_token else ""
        return f"{self.web.url}/api/queues{token}, health {self.web.url}/healthz"

    async def _client(self, link: PbxLink) -> None:
        await link.client.run()

    async def _figures(self) -> None:
        while True:
            await asyncio.sleep(self.settings.log.figures_interval_s)
            for link in self.links:
                log.info("%s", link.figures_line())


class _Stop(Exception):
    """Leaves the TaskGroup, cancelling every task."""


async def run_daemon(settings: Settings) -> None:
    daemon = Daemon(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.stop)
    await daemon.run()
