"""The feed refresher: polling feeds (fetch, parse, ingest) and the documents folder, and each
feed's health: failures classified and backed off, the admins told once when a feed goes down
and once when it is back, and an outage of our own network never blamed on the feeds."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.errors import SourceError, StorageError
from bot.intervals import backoff, jitter, next_interval
from bot.models import FeedConfig, FeedState
from bot.services.chats import Zones
from bot.services.dispatch import Dispatcher
from bot.services.feeds import FeedRegistry
from bot.services.ingest import IngestProcessor
from bot.services.reports import OperatorReports
from bot.sources.base import FeedSource, FolderSource
from bot.storage.base import Store

__all__ = ["DOWN_AFTER", "PER_HOST", "CycleReport", "FeedRefresher", "FeedReport"]

log = logging.getLogger(__name__)

DOWN_AFTER = 3
"""Failures in a row after which the admins are told a feed is down."""
PER_HOST = 2
"""Requests to one host at a time."""


@dataclass(frozen=True, slots=True)
class _Unreachable:
    """A feed whose server could not be reached, held until its batch is judged."""

    feed: FeedConfig
    state: FeedState
    error: SourceError
    at: datetime


@dataclass(slots=True)
class FeedReport:
    url: str
    ok: bool
    new_items: int = 0
    alerts: int = 0
    not_modified: bool = False
    skipped: bool = False
    error: str | None = None
    retry_at: datetime | None = None
    title: str | None = None


@dataclass(slots=True)
class CycleReport:
    feeds: list[FeedReport] = field(default_factory=list)
    documents_new: int = 0
    documents_errors: list[str] = field(default_factory=list)
    alerts: int = 0
    network_down: bool = False
    """No feed could be reached and none answered lately: our network, not the feeds."""

    @property
    def new_items(self) -> int:
        return self.documents_new + sum(f.new_items for f in self.feeds)

    def line(self) -> str:
        ok = sum(1 for f in self.feeds if f.ok)
        failed = len(self.feeds) - ok
        line = (
            f"{_count(len(self.feeds), 'feed')} polled ({ok} ok, {failed} failed), "
            f"{_count(self.new_items, 'new item')}, {_count(self.alerts, 'alert')} queued"
        )
        if self.network_down:
            line += " (the network looks down: no feed could be reached, none was blamed)"
        return line


class FeedRefresher:
    """Polls feeds through ``feed_source`` and the documents folder through
    ``folder_source``; what is new goes to ``ingest``."""

    def __init__(
        self,
        store: Store,
        feed_source: FeedSource | None,
        folder_source: FolderSource | None,
        feeds: FeedRegistry,
        ingest: IngestProcessor,
        dispatcher: Dispatcher,
        reports: OperatorReports,
        zones: Zones,
        *,
        max_poll_interval: float = 2 * 3600,
        poll_concurrency: int = 20,
        rng: random.Random | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.feed_source = feed_source
        self.folder_source = folder_source
        self.feeds = feeds
        self.ingest = ingest
        self.dispatcher = dispatcher
        self.reports = reports
        self.zones = zones
        self.max_poll_interval = max_poll_interval
        self._poll_slots = asyncio.Semaphore(max(1, poll_concurrency))
        self.rng = rng or random.Random()
        self.clock = clock

    async def poll_feed(
        self,
        feed: FeedConfig,
        *,
        force: bool = False,
        tell_admins: bool = True,
        unreachable: list[_Unreachable] | None = None,
    ) -> FeedReport:
        """Poll one feed. Never raises: a failure is recorded on the feed and reported.

        Feed health: a failure is classified (DNS, connect, timeout, TLS, HTTP 4xx/5xx, parse…)
        and the next try backs off, doubling up to 24 h (or as Retry-After says), never giving
        up; the admins hear once when a feed goes down (:data:`DOWN_AFTER` failures in a row)
        and once when it is back. A 410 Gone retires the feed.

        ``unreachable``: in a batch, failures to reach a server at all are collected there
        instead, and judged once the batch is done (:meth:`_judge_unreachable`): when no feed
        could be reached, our network is down and the feeds are not blamed.
        """
        if self.feed_source is None:
            return FeedReport(feed.url, ok=False, error="no feed source configured")
        now = self.clock()
        state = self.store.feed_state(feed.url)
        if state.retired:
            return FeedReport(feed.url, ok=False, skipped=True, error=state.last_error)
        if not force and state.next_poll_at and state.next_poll_at > now:
            return FeedReport(feed.url, ok=True, skipped=True, retry_at=state.next_poll_at)
        try:
            result = await self.feed_source.fetch(feed, state)
            stored = alerts = 0
            if not result.not_modified:
                if result.warning:
                    log.info("feed %s is malformed but readable: %s", feed.url, result.warning)
                stored, alerts = await self.ingest.ingest_async(result.entries, topics=feed.topics)
        except StorageError:
            raise  # our disk, not the feed: nothing is charged to it, the cycle stops
        except SourceError as exc:
            if unreachable is not None and exc.network:
                unreachable.append(_Unreachable(feed, state, exc, now))
                return FeedReport(feed.url, ok=False, error=str(exc))
            return await self._feed_failed(feed, state, exc, now, tell_admins)
        except Exception as exc:  # a bug in one feed's handling must not stop the others
            log.exception("feed %s: unexpected error", feed.url)
            error = SourceError(f"internal error: {type(exc).__name__}", kind="internal")
            return await self._feed_failed(feed, state, error, now, tell_admins=False)
        new_state = result.state
        was_down = state.down_notified
        new_state.error_count = 0
        new_state.last_error = None
        new_state.error_kind = None
        new_state.down_notified = False
        new_state.last_success_at = now
        interval = next_interval(
            feed.interval,
            (e.published for e in result.entries),
            now,
            max_interval=self.max_poll_interval,
            hint=result.hint,
        )
        if result.not_modified and state.interval:
            interval = max(interval, min(state.interval, self.max_poll_interval))
        new_state.interval = round(interval)
        new_state.next_poll_at = now + timedelta(seconds=jitter(interval, self.rng))
        # Saved after the items: a crash in between re-fetches the feed and dedup skips them.
        self.store.save_feed_state(new_state)
        if was_down and tell_admins:
            await self.reports.report(
                f"up:{feed.url}",
                f"✅ feed {feed.name or feed.url} is back after {state.error_count} failures",
                every=timedelta(0),
            )
        return FeedReport(
            feed.url,
            ok=True,
            new_items=stored,
            alerts=alerts,
            not_modified=result.not_modified,
            title=result.title,
        )

    async def _feed_failed(
        self,
        feed: FeedConfig,
        state: FeedState,
        exc: SourceError,
        now: datetime,
        tell_admins: bool,
        *,
        charge: bool = True,
    ) -> FeedReport:
        """Record a failed poll. ``charge=False``: our network was down, not the feed: no
        failure is counted and the next try comes at the feed's usual pace."""
        state.last_error = str(exc)
        state.error_kind = exc.kind
        state.last_checked_at = now
        name = feed.name or feed.url
        if exc.kind == "gone":
            state.retired = True
            state.next_poll_at = None
            self.store.save_feed_state(state)
            log.warning("feed %s is gone (410): retired", feed.url)
            if tell_admins:
                await self.reports.report(
                    f"gone:{feed.url}",
                    f"🪦 feed {name} is gone (HTTP 410): no longer polled. Remove it from the "
                    "config (or /removefeed it).",
                    every=timedelta(0),
                )
            return FeedReport(feed.url, ok=False, error=str(exc))
        wait = timedelta(seconds=feed.interval)
        if charge:
            state.error_count += 1
            wait = backoff(wait, state.error_count)
        retry_at = max(now + wait, exc.retry_at or now)  # Retry-After, even beyond a day
        state.next_poll_at = retry_at
        notify = (
            tell_admins and charge and not state.down_notified and state.error_count >= DOWN_AFTER
        )
        if notify:
            state.down_notified = True
        self.store.save_feed_state(state)
        log.warning(
            "feed %s failed (%s): %s (failure %d%s, next try %s)",
            feed.url,
            exc.kind,
            exc,
            state.error_count,
            "" if charge else "; not counted: the network is down",
            retry_at.astimezone(self.zones.default).strftime("%H:%M"),
        )
        if notify:
            await self.reports.report(
                f"down:{feed.url}",
                f"feed {name} is down: {exc} ({exc.kind}, {state.error_count} failures in a "
                f"row); retrying, next at {retry_at.astimezone(self.zones.default):%H:%M}",
                every=timedelta(0),
            )
        return FeedReport(feed.url, ok=False, error=str(exc), retry_at=retry_at)

    async def _judge_unreachable(self, unreachable: Sequence[_Unreachable], any_ok: bool) -> bool:
        """Failures to reach servers, collected over a batch: the feeds' fault, or ours?

        If some feed of the batch answered, the network is up: each failure counts. If none
        did, one feed that answered lately is asked again (a conditional GET, cheap); if it
        does not answer either, our network is down and no feed is blamed.
        """
        if not unreachable:
            return True
        online = any_ok or await self._network_up(unreachable)
        if not online:
            log.warning(
                "%d feeds unreachable and none answered: the network looks down",
                len(unreachable),
            )
        for u in unreachable:
            await self._feed_failed(u.feed, u.state, u.error, u.at, True, charge=online)
        return online

    async def _network_up(self, unreachable: Sequence[_Unreachable]) -> bool:
        """Ask the feed that answered most recently (outside this batch) again. With no such
        feed: healthy feeds do not all fail at once, so if two or more of the unreachable
        ones were healthy until now, it is our network."""
        if self.feed_source is None:
            return True
        failing = {u.feed.url for u in unreachable}
        healthy = sum(1 for u in unreachable if u.state.last_success_at and not u.state.error_count)
        states = [
            s
            for s in self.store.feed_states()
            if s.url not in failing and s.last_success_at and not s.retired
        ]
        feeds = {f.url: f for f in self.feeds.all_feeds()}
        for state in sorted(states, key=lambda s: s.last_success_at or s.url, reverse=True):
            if state.url in feeds:
                try:
                    await self.feed_source.fetch(feeds[state.url], state)
                except SourceError as exc:
                    return not exc.network
                return True
        never = not any(u.state.last_success_at for u in unreachable)
        if not states and never and len(unreachable) >= 2:
            # No feed ever answered (a first poll) and none does now: it is far likelier that
            # this machine is offline than that every feed is wrong at once.
            return False
        return healthy < 2

    async def poll_due(self, feeds: Sequence[FeedConfig] | None = None) -> CycleReport:
        """Poll the feeds that are due (the scheduler's tick); delivery starts in the
        background if anything matched, so the next tick is not held up by sending."""
        now = self.clock()
        states = {s.url: s for s in self.store.feed_states()}
        due = []
        for feed in self.feeds.all_feeds() if feeds is None else feeds:
            state = states.get(feed.url)
            if state is None or (
                not state.retired and (state.next_poll_at is None or state.next_poll_at <= now)
            ):
                due.append(feed)
        report = CycleReport()
        reports, online = await self._poll_many(due, force=False)
        report.feeds.extend(reports)
        report.network_down = not online
        report.alerts = sum(f.alerts for f in report.feeds)
        if report.alerts:
            self.dispatcher.kick()
        return report

    async def _poll_many(
        self, feeds: Sequence[FeedConfig], *, force: bool
    ) -> tuple[list[FeedReport], bool]:
        """Poll ``feeds`` concurrently, at most ``poll_concurrency`` at once and
        :data:`PER_HOST` per host, so no server sees a burst from us. :returns: the reports,
        and False if the network looked down (no feed could be reached, none was blamed)."""
        hosts: dict[str, asyncio.Semaphore] = {}
        unreachable: list[_Unreachable] = []

        async def one(feed: FeedConfig) -> FeedReport:
            host = urlsplit(feed.url).hostname or ""
            per_host = hosts.setdefault(host, asyncio.Semaphore(PER_HOST))
            async with per_host, self._poll_slots:
                return await self.poll_feed(feed, force=force, unreachable=unreachable)

        reports = list(await asyncio.gather(*(one(f) for f in feeds)))
        online = await self._judge_unreachable(unreachable, any(r.ok for r in reports))
        return reports, online

    async def add_feed(self, url: str, added_by: int) -> tuple[FeedConfig, FeedReport]:
        """Poll ``url`` once and, if it is a readable feed, keep polling it.

        The first poll stores its items and alerts on matches, as for any new feed.

        :raises ValueError: not an http(s) URL, already polled, or not readable (the reason).
        """
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("send the feed's full address, e.g. https://example.org/rss.xml")
        if any(f.url == url for f in self.feeds.all_feeds()):
            raise ValueError("that feed is already polled")
        feed = FeedConfig(url, None, self.feeds.added_feed_interval, added=True, public_only=True)
        report = await self.poll_feed(feed, force=True, tell_admins=False)
        if not report.ok and self.store.feed_state(url).error_kind == "parse":
            # A web page rather than a feed: follow the feed it announces, if any.
            try:
                found = await self.feed_source.discover(feed) if self.feed_source else []
            except SourceError:
                found = []
            self.store.forget_feed(url)  # the page is not polled: nothing to remember of it
            for candidate in found[:3]:
                if any(f.url == candidate for f in self.feeds.all_feeds()):
                    raise ValueError(f"that page's feed {candidate} is already polled")
                feed = replace(feed, url=candidate)
                report = await self.poll_feed(feed, force=True, tell_admins=False)
                if report.ok:
                    break
                self.store.forget_feed(candidate)
        if not report.ok:
            self.store.forget_feed(feed.url)
            raise ValueError(f"cannot read it as a feed: {report.error}")
        feed = replace(feed, name=report.title)
        self.store.add_feed(feed, added_by, self.clock())
        return feed, report

    def scan_documents(self) -> tuple[int, int, list[str]]:
        """Read new and changed documents. :returns: (new items, alerts, errors)."""
        if self.folder_source is None:
            return 0, 0, []
        scan = self.folder_source.scan(self.store.document_fingerprints())
        for error in scan.errors:
            log.warning("documents: %s", error)
        stored, alerts = self.ingest.ingest(raw for _, raw in scan.entries)
        self.store.save_fingerprints([fp for fp, _ in scan.entries] + scan.touched)
        return stored, alerts, scan.errors

    async def poll_all(self, feeds: Sequence[FeedConfig], *, force: bool = True) -> CycleReport:
        """One cycle: every feed concurrently, then the documents folder."""
        report = CycleReport()
        results, online = await self._poll_many(feeds, force=force)
        report.feeds.extend(results)
        report.network_down = not online
        docs, doc_alerts, errors = self.scan_documents()
        report.documents_new = docs
        report.documents_errors = errors
        report.alerts = doc_alerts + sum(f.alerts for f in results)
        return report


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
