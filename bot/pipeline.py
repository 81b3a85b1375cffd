"""The pipeline: wires the stages. Fetch → normalize → dedup → match → summarize → store → deliver.

Only new items go on to matching and notification. Items, their matches and their pending
deliveries are stored in one transaction, and a delivery counts as done only once the channel
accepted it, so a crash at any point loses nothing: the outbox is read again on the next cycle.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import TypeGuard
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import WatchLimits
from bot.errors import (
    ChatMoved,
    ChatUnavailable,
    DeliveryError,
    MessageTooLong,
    QueryError,
    QueryTooCostly,
    RetryLater,
    SourceError,
    StorageError,
)
from bot.match import RUN_BUDGET, CompiledTopic, Matcher, train_models
from bot.models import (
    BROADCAST_SOURCE,
    Chat,
    DeliveryTask,
    DigestEntry,
    FeedConfig,
    FeedState,
    Item,
    Match,
    OutgoingMessage,
    QueuedMessage,
    RawEntry,
    Topic,
    Watch,
    is_watch_topic,
    watch_topic_id,
)
from bot.normalize import normalize
from bot.notify.base import Notifier
from bot.pacing import Pacer, Rates, parse_clock, quiet_until
from bot.query import Budget, Node, Regex, leaves, parse_query
from bot.render import (
    MAX_MESSAGE,
    digest_markdown,
    esc,
    render_alert,
    render_announcement,
    render_digest,
    split_message,
)
from bot.schedule import backoff, jitter, next_interval
from bot.sources.base import FeedSource, FolderSource
from bot.storage.base import CONSOLE_CHAT_ID, NewItem, Store
from bot.stories import WINDOW, StoryIndex
from bot.summarize import best_summary, summarize

__all__ = ["CycleReport", "DeliveryReport", "FeedReport", "Pipeline", "send_message"]

log = logging.getLogger(__name__)

DOWN_AFTER = 3
"""Failures in a row after which the admins are told a feed is down."""
PER_HOST = 2
_WATCH_NAME = re.compile(r"^[\w-]{1,30}$")
MAX_DELIVERY_BACKOFF = timedelta(hours=1)
REFRESH_SECONDS = 1.0
YIELD_EVERY = 0.02
"""Seconds of item processing after which the event loop gets a turn."""
REPORT_EVERY = timedelta(hours=6)
PACE_MEMORY = timedelta(seconds=90)
"""How far back the pacer is restored from the database's record of sends at start-up."""

Outgoing = DeliveryTask | QueuedMessage
"""What the dispatcher sends: an alert of an item, or a ready-made message (digest, notice)."""


def process_owner() -> str:
    """This process's name in delivery claims: host, pid and a random part (pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def send_message(notifier: Notifier, chat_id: int, message: OutgoingMessage) -> int | None:
    """Send ``message``; if the channel refuses its length, send it in parts (cut between
    paragraphs or sentences, see :func:`bot.render.split_message`). :returns: the id of the
    first part."""
    try:
        return await notifier.send(chat_id, message)
    except MessageTooLong:
        log.error("chat %s: a message was refused as too long; sending it in parts", chat_id)
    first: int | None = None
    limit = MAX_MESSAGE
    for part in split_message(message, limit):
        try:
            message_id = await notifier.send(chat_id, part)
        except MessageTooLong:  # the channel counts differently: cut smaller
            message_id = None
            for piece in split_message(part, limit // 2):
                piece_id = await notifier.send(chat_id, piece)
                message_id = message_id if message_id is not None else piece_id
        first = first if first is not None else message_id
    return first


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


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred_chats: int = 0
    chats_gone: int = 0
    held_chats: int = 0
    edited: int = 0
    merged: int = 0


class Pipeline:
    """One object that knows every stage; the scheduler, bot and CLI only call its methods."""

    def __init__(
        self,
        *,
        store: Store,
        topics: Sequence[Topic],
        timezone: ZoneInfo,
        feed_source: FeedSource | None,
        folder_source: FolderSource | None,
        notifiers: Mapping[str, Notifier],
        aliases: Mapping[str, str] | None = None,
        watch_limits: WatchLimits | None = None,
        rates: Rates | None = None,
        in_flight: int = 1,
        catch_up_after: int = 10,
        catch_up_age: timedelta = timedelta(minutes=30),
        admin_chats: Sequence[int] = (),
        feeds: Sequence[FeedConfig] = (),
        added_feed_interval: int = 300,
        story_window: timedelta = WINDOW,
        max_poll_interval: float = 2 * 3600,
        poll_concurrency: int = 20,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        owner: str | None = None,
        model_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.model_dir = model_dir
        """Where the topics' learned layers are cached; None: trained in memory only."""
        self.model_notes: list[str] = []
        """Per topic with examples: its model's figures, or why it runs on its query alone."""
        self.owner = owner or process_owner()
        """This process's name on the deliveries it claims before sending them."""
        self._pacer_restored = False
        self.timezone = timezone
        self.feed_source = feed_source
        self.folder_source = folder_source
        self.notifiers = dict(notifiers)
        self.watch_limits = watch_limits or WatchLimits()
        self.pacer = Pacer(rates or Rates())
        self._last_served: dict[int, float] = {}
        self.in_flight = max(1, in_flight)
        self.catch_up_after = catch_up_after
        self.catch_up_age = catch_up_age
        self.admin_chats = tuple(admin_chats)
        self.config_feeds = tuple(feeds)
        self.added_feed_interval = added_feed_interval
        self.max_poll_interval = max_poll_interval
        self._poll_slots = asyncio.Semaphore(max(1, poll_concurrency))
        self._kicked: asyncio.Future[DeliveryReport] | None = None
        self._processing = asyncio.Lock()
        self._edited: dict[tuple[int, int], datetime] = {}
        self.rng = rng or random.Random()
        self._reported: dict[str, datetime] = {}
        self.clock = clock
        self.monotonic = monotonic
        self.set_topics(topics, aliases)
        self._deliver_lock = asyncio.Lock()
        self.story_window = story_window
        self._stories: StoryIndex | None = None

    @property
    def stories(self) -> StoryIndex:
        """The story index, rebuilt from the items stored in the last window when first needed
        (not at start-up: commands that never ingest do not pay for it)."""
        if self._stories is None:
            self._stories = StoryIndex(self.story_window)
            for item in self.store.items_since(self.clock() - self.story_window, published=True):
                if item.story:
                    self._stories.add_known(item, item.story)
        return self._stories

    def set_topics(self, topics: Sequence[Topic], aliases: Mapping[str, str] | None = None) -> None:
        """(Re)load the configured topics; the chats' watches are kept."""
        self.aliases = dict(aliases or {})
        self.config_topics = {t.id: t for t in topics}
        self.matcher = Matcher(topics, self.aliases)
        self.model_notes = train_models(self.matcher, topics, self.model_dir)
        self.topics: dict[str, Topic] = dict(self.config_topics)
        for watch in self.store.watches():
            try:
                self._add_watch_topic(watch)
            except QueryError as exc:  # e.g. an alias it used is gone: keep the others
                log.warning(
                    "watch %r of chat %s no longer compiles: %s", watch.name, watch.chat_id, exc
                )

    def _add_watch_topic(self, watch: Watch) -> None:
        topic = watch.topic()
        self.matcher.add(topic)
        self.topics[topic.id] = topic

    # ------------------------------------------------------------------ operator reports
    async def report(self, key: str, text: str, every: timedelta = REPORT_EVERY) -> bool:
        """Tell the admins (their private chats, or the admin chat) about a problem, at most
        once per ``every`` for the same ``key``, so a feed that keeps failing does not flood
        them. The notice goes through the outbox like an alert.

        :returns: True if the notice was queued.
        """
        now = self.clock()
        last = self._reported.get(key)
        if last is not None and now - last < every:
            return False
        if "telegram" not in self.notifiers or not self.admin_chats:
            return False
        self._reported[key] = now
        message = OutgoingMessage(f"⚠️ {esc(text)}", f"⚠️ {text}")
        for chat_id in self.admin_chats:
            # Through the outbox: paced with the alerts, retried on 429, never lost.
            self.store.queue_messages(chat_id, self._chat_kind(chat_id), "notice", [message], now)
        self.kick_delivery()
        return True

    def queue_reply(self, chat_id: int, message: OutgoingMessage) -> int:
        """A command's reply that matters (a /poll report): through the outbox, so a 429 or
        a restart does not lose it. :returns: its ref."""
        (ref,) = self.store.queue_messages(
            chat_id, self._chat_kind(chat_id), "reply", [message], self.clock()
        )
        self.kick_delivery()
        return ref

    def _chat_kind(self, chat_id: int) -> str:
        """A chat's kind as stored, else what its id says (groups and channels are negative)."""
        if chat_id == CONSOLE_CHAT_ID:
            return "console"
        chat = self.store.chat(chat_id)
        if chat is not None:
            return chat.kind
        return "private" if chat_id > 0 else "group"

    # ------------------------------------------------------------------ watches
    def check_query(self, query: str) -> Node:
        """Parse a chat's query (/watch and /test share this) within the ``[watches]`` limits:
        at most ``query_chars`` characters, and regular expressions only if ``regex`` is on.

        :raises QueryError: the query is invalid, too long, or uses what chats may not.
        """
        limits = self.watch_limits
        if len(query) > limits.query_chars:
            raise QueryError(
                f"query is {len(query)} characters long",
                query=query[:80],
                position=limits.query_chars,
                expected=f"at most {limits.query_chars} characters",
            )
        tree = parse_query(query, self.aliases)
        if not limits.regex and any(isinstance(leaf, Regex) for leaf in leaves(tree)):
            raise QueryError(
                "regular expressions are not allowed in chats' queries here",
                query=query,
                position=query.find("/"),
                expected="words and phrases (the admin can allow them)",
            )
        return tree

    def check_watch(self, chat_id: int, name: str, query: str) -> None:
        """What :meth:`add_watch` checks before it stores anything.

        :raises QueryError: see :meth:`check_query`.
        :raises ValueError: the name is invalid or the chat has too many watches.
        """
        limits = self.watch_limits
        if not _WATCH_NAME.match(name):
            raise ValueError("a watch name is 1–30 letters, digits, - or _")
        existing = {w.name for w in self.store.watches(chat_id)}
        if name not in existing and len(existing) >= limits.per_chat:
            raise ValueError(f"you have {len(existing)} watches, the most allowed; /unwatch one")
        self.check_query(query)

    def add_watch(self, chat_id: int, name: str, query: str) -> Watch:
        """Create (or replace) a private topic for ``chat_id`` and subscribe it.

        :raises QueryError: the query is invalid, too long, or uses what watches may not.
        :raises ValueError: the name is invalid or the chat has too many watches.
        """
        self.check_watch(chat_id, name, query)
        watch = Watch(chat_id, name, query)
        compiled = self.matcher.compile(watch.topic())
        self.store.add_watch(watch, self.clock())
        self.store.subscribe(chat_id, watch.topic_id, self.clock())
        self.matcher.add(compiled)
        self.topics[watch.topic_id] = compiled.topic
        return watch

    def remove_watch(self, chat_id: int, name: str) -> bool:
        topic_id = watch_topic_id(chat_id, name)
        if not self.store.remove_watch(chat_id, name):
            return False
        self.store.unsubscribe(chat_id, topic_id)
        self.matcher.remove(topic_id)
        self.topics.pop(topic_id, None)
        return True

    async def test_query(
        self, query: str, *, days: int = 7, best: int = 5
    ) -> tuple[int, int, list[tuple[Item, Match]]]:
        """Dry-run a chat's query on the items stored in the last ``days``.

        The query is checked as :meth:`check_query` says. The items are read here (the store's
        connection belongs to the event loop's thread); matching runs in a worker thread, so
        the bot goes on answering, and stops after ``[watches] test_seconds`` or
        :data:`~bot.match.RUN_BUDGET` steps of evaluation, whichever comes first.

        :returns: (items searched, items matched, the best few with their match).
        :raises QueryTooCostly: it went over the time or the work allowed.
        :raises QueryError: the query is invalid.
        """
        tree = self.check_query(query)
        items = self.store.items_since(self.clock() - timedelta(days=days))
        return await asyncio.to_thread(
            self._dry_run,
            CompiledTopic(Topic("test", "test", query), tree),
            items,
            best,
            self.watch_limits.test_seconds,
            self.monotonic,
        )

    @staticmethod
    def _dry_run(
        topic: CompiledTopic,
        items: Sequence[Item],
        best: int,
        seconds: float,
        monotonic: Callable[[], float],
    ) -> tuple[int, int, list[tuple[Item, Match]]]:
        """:meth:`test_query`'s matching, on plain data (it runs in a worker thread)."""
        deadline = monotonic() + seconds
        matcher = Matcher(())
        matcher.add(topic)
        budget = Budget(RUN_BUDGET)
        hits: list[tuple[Item, Match]] = []
        for item in items:
            if monotonic() > deadline:
                raise QueryTooCostly(topic.topic.query, spent=budget.spent)
            try:
                found = matcher.match(item, budget)
            except QueryTooCostly:
                raise QueryTooCostly(topic.topic.query, spent=budget.spent) from None
            hits.extend((item, match) for match in found)
        hits.sort(key=lambda h: (-h[1].score, -h[0].published.timestamp()))
        return len(items), len(hits), hits[:best]

    # ------------------------------------------------------------------ ingest
    def process(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> list[NewItem]:
        """Normalize, drop what is already stored, match and summarize. Pure apart from one read.

        ``topics``: only these configured topics apply (a feed's own list); watches always do.
        """
        return [self._enrich(item, topics) for item in self._fresh(raws)]

    async def process_async(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> list[NewItem]:
        """:meth:`process`, giving the event loop a turn every few milliseconds: a feed of a
        hundred long items is a second of work, and the bot must keep answering meanwhile.

        One feed at a time: the work is CPU-bound (and holds the GIL), so running feeds side
        by side gains nothing, and each turn the loop gives would be shared by all of them.
        """
        async with self._processing:
            return await self._process_in_turns(raws, topics)

    async def _process_in_turns(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None
    ) -> list[NewItem]:
        turn = time.perf_counter()

        async def breathe() -> None:
            nonlocal turn
            if time.perf_counter() - turn > YIELD_EVERY:
                await asyncio.sleep(0)
                turn = time.perf_counter()

        normalized: list[Item] = []
        for raw in raws:
            normalized.append(normalize(raw, self.clock()))
            await breathe()
        out: list[NewItem] = []
        for item in self._fresh(normalized):
            out.append(self._enrich(item, topics))
            await breathe()
        return out

    def _fresh(self, raws: Iterable[RawEntry | Item]) -> list[Item]:
        """The entries normalized, without repeats and without what is stored, oldest first
        (so that a story's first report is the one that starts it)."""
        now = self.clock()
        items: dict[str, Item] = {}
        for raw in raws:
            item = raw if isinstance(raw, Item) else normalize(raw, now)
            items.setdefault(item.key, item)  # the same item twice in one feed counts once
        known = self.store.known_keys(items)
        # The story index holds the window before now, not more (a first poll of many feeds
        # brings old items too).
        self.stories.forget_before(now - self.story_window)
        return sorted((i for k, i in items.items() if k not in known), key=lambda i: i.published)

    def _enrich(self, item: Item, topics: Collection[str] | None) -> NewItem:
        story = self.stories.assign(item)
        item = replace(item, story=story.story_id)
        matches = tuple(
            m
            for m in self.matcher.match(item)
            if topics is None or m.topic_id in topics or is_watch_topic(m.topic_id)
        )
        # Only matched items are ever shown, so only they are summarized.
        summary = summarize(item.title, item.text) if matches else ""
        return NewItem(item, summary, matches, material=story.material)

    def ingest(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> tuple[int, int]:
        """Store new items with their matches and pending deliveries. :returns: (items, alerts)."""
        return self._store(self.process(raws, topics))

    async def ingest_async(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> tuple[int, int]:
        """:meth:`ingest` for the event loop (see :meth:`process_async`)."""
        return self._store(await self.process_async(raws, topics))

    def _store(self, new: Sequence[NewItem]) -> tuple[int, int]:
        if not new:
            return 0, 0
        stored, alerts = self.store.add_items(new, self.clock())
        for entry in new:
            if entry.matches:
                log.info(
                    "match: %s [%s]",
                    entry.item.title[:100],
                    ", ".join(m.topic_id for m in entry.matches),
                )
        return stored, alerts

    # ------------------------------------------------------------------ sources
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
                stored, alerts = await self.ingest_async(result.entries, topics=feed.topics)
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
            await self.report(
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
                await self.report(
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
            retry_at.astimezone(self.timezone).strftime("%H:%M"),
        )
        if notify:
            await self.report(
                f"down:{feed.url}",
                f"feed {name} is down: {exc} ({exc.kind}, {state.error_count} failures in a "
                f"row); retrying, next at {retry_at.astimezone(self.timezone):%H:%M}",
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
        feeds = {f.url: f for f in self.all_feeds()}
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
        for feed in self.all_feeds() if feeds is None else feeds:
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
            self.kick_delivery()
        return report

    def kick_delivery(self) -> None:
        """Start sending what is due, in the background (one run at a time)."""
        if self._kicked is None or self._kicked.done():
            self._kicked = asyncio.ensure_future(self.deliver_pending())

    async def settle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a delivery started in the background."""
        if self._kicked is not None and not self._kicked.done():
            await asyncio.wait({self._kicked}, timeout=timeout)

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

    def all_feeds(self) -> list[FeedConfig]:
        """The config file's feeds, then those added in chats (a URL only once)."""
        feeds = {f.url: f for f in self.config_feeds}
        for feed in self.store.added_feeds():
            feeds.setdefault(feed.url, feed)
        return list(feeds.values())

    async def add_feed(self, url: str, added_by: int) -> tuple[FeedConfig, FeedReport]:
        """Poll ``url`` once and, if it is a readable feed, keep polling it.

        The first poll stores its items and alerts on matches, as for any new feed.

        :raises ValueError: not an http(s) URL, already polled, or not readable (the reason).
        """
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("send the feed's full address, e.g. https://example.org/rss.xml")
        if any(f.url == url for f in self.all_feeds()):
            raise ValueError("that feed is already polled")
        feed = FeedConfig(url, None, self.added_feed_interval, added=True, public_only=True)
        report = await self.poll_feed(feed, force=True, tell_admins=False)
        if not report.ok and self.store.feed_state(url).error_kind == "parse":
            # A web page rather than a feed: follow the feed it announces, if any.
            try:
                found = await self.feed_source.discover(feed) if self.feed_source else []
            except SourceError:
                found = []
            self.store.forget_feed(url)  # the page is not polled: nothing to remember of it
            for candidate in found[:3]:
                if any(f.url == candidate for f in self.all_feeds()):
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

    def import_feeds(self, feeds: Sequence[FeedConfig], added_by: int = 0) -> tuple[int, int]:
        """Add feeds (an OPML import) without polling them now: the scheduler polls them as
        they come due. :returns: (added, already polled)."""
        known = {f.url for f in self.all_feeds()}
        added = 0
        now = self.clock()
        for feed in feeds:
            if feed.url in known:
                continue
            if self.store.add_feed(
                replace(feed, interval=feed.interval or self.added_feed_interval), added_by, now
            ):
                known.add(feed.url)
                added += 1
        return added, len(feeds) - added

    def remove_feed(self, url: str) -> bool:
        """Stop polling a feed added in a chat; False if no such feed was added."""
        return self.store.remove_feed(url.strip())

    def broadcast(self, text: str, sender: int) -> int:
        """Queue an announcement to every active chat, paced like alerts and kept in the
        outbox until delivered. :returns: how many chats it goes to."""
        now = self.clock()
        stamp = now.strftime("%Y%m%dT%H%M%S.%f")
        item = Item(
            key=f"{BROADCAST_SOURCE}:{stamp}:{sender}",
            id=stamp,
            source=BROADCAST_SOURCE,
            source_name="newsbot",
            title="📣 Announcement",
            link=None,
            author=None,
            published=now,
            text=text,
        )
        return self.store.add_broadcast(item, now)

    def scan_documents(self) -> tuple[int, int, list[str]]:
        """Read new and changed documents. :returns: (new items, alerts, errors)."""
        if self.folder_source is None:
            return 0, 0, []
        scan = self.folder_source.scan(self.store.document_fingerprints())
        for error in scan.errors:
            log.warning("documents: %s", error)
        stored, alerts = self.ingest(raw for _, raw in scan.entries)
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

    # ------------------------------------------------------------------ delivery
    def _notifier_for(self, chat_id: int) -> Notifier | None:
        return self.notifiers.get("console" if chat_id == CONSOLE_CHAT_ID else "telegram")

    def _kinds(self) -> set[str] | None:
        if "telegram" in self.notifiers and "console" in self.notifiers:
            return None
        if "console" in self.notifiers:
            return {"console"}
        return {"private", "group", "supergroup", "channel"}

    async def deliver_pending(self, *, max_rounds: int = 300) -> DeliveryReport:
        """Send what is due from the outbox. Only one delivery run at a time.

        Chats are served round-robin, each at the pace Telegram allows it (see
        :mod:`bot.pacing`); within a chat, alerts keep their order: a failed one holds the
        ones after it.
        """
        report = DeliveryReport()
        async with self._deliver_lock:
            self._edited = {}
            if not self._pacer_restored:
                self._restore_pacer()
            now = self.monotonic()
            self.pacer.forget(idle=120.0, now=now)
            for chat in [c for c, t in self._last_served.items() if now - t > 3600]:
                del self._last_served[chat]
            for _ in range(max_rounds):
                kinds = self._kinds()
                tasks: list[Outgoing] = [
                    *self.store.pending(self.clock(), limit=1000, kinds=kinds),
                    *self.store.pending_messages(self.clock(), limit=1000, kinds=kinds),
                ]
                if not tasks:
                    break
                # Urgent first, then oldest first (a stable sort keeps the outbox's order).
                tasks.sort(key=lambda t: (not t.urgent, t.created_at))
                by_chat: dict[int, deque[Outgoing]] = {}
                for task in self._hold_quiet(tasks, report):
                    # Urgent first, then oldest first: each chat's queue keeps its order.
                    by_chat.setdefault(task.chat_id, deque()).append(task)
                if not by_chat:
                    continue
                await self._catch_up(by_chat, report)
                # Chats with an urgent alert first; then least recently served, so that a chat
                # with one new alert is not queued behind the chats of a burst, and every chat
                # gets its turn.
                served = self._last_served
                order = sorted(
                    by_chat,
                    key=lambda chat: (
                        not by_chat[chat][0].urgent,
                        served.get(chat, float("-inf")),
                    ),
                )
                queues = {chat: by_chat[chat] for chat in order}
                if not await self._drain(queues, report):
                    break
        return report

    def _restore_pacer(self) -> None:
        """Start the pacer from the sends the database remembers (the last minute or so),
        so that a restart does not send to a chat that just got a message and provoke a 429.
        A delivery claimed but never marked counts as sent: it may have reached Telegram."""
        self._pacer_restored = True
        now, mono = self.clock(), self.monotonic()
        seen: set[tuple[int, datetime]] = set()
        for chat_id, kind, at in self.store.recent_sends(now - PACE_MEMORY):
            if kind == "console" or (chat_id, at) in seen:
                continue  # (one catch-up digest marks many alerts at one instant)
            seen.add((chat_id, at))
            self.pacer.record(chat_id, kind, mono - max(0.0, (now - at).total_seconds()))

    def _hold_quiet(self, tasks: Sequence[Outgoing], report: DeliveryReport) -> list[Outgoing]:
        """Hold the alerts of chats in their quiet hours until the hours end, except urgent
        ones. Held alerts stay in the outbox; if many piled up, they arrive as one "while you
        were away" digest."""
        now = self.clock()
        ends: dict[int, datetime | None] = {}
        due: list[Outgoing] = []
        for task in tasks:
            if isinstance(task, QueuedMessage) or task.quiet is None or task.urgent:
                due.append(task)
                continue
            if task.chat_id not in ends:
                start, end = (parse_clock(x) for x in task.quiet)
                until = None
                if start is not None and end is not None:
                    until = quiet_until(now, self.chat_timezone(task.chat_timezone), start, end)
                ends[task.chat_id] = until
                if until is not None:
                    self.store.defer_chat(task.chat_id, until, urgent=False)
                    report.held_chats += 1
            if ends[task.chat_id] is None:
                due.append(task)
        return due

    async def _drain(self, queues: dict[int, deque[Outgoing]], report: DeliveryReport) -> bool:
        """Send from every chat's queue in turn, waiting only when no chat may be sent to.

        Up to ``in_flight`` chats are sent to at once (one message per chat at a time, so each
        chat keeps its order). More than one helps when a round trip to Telegram takes longer
        than the 1/30 s between messages the overall limit allows; but a crash can repeat each
        message that was in flight (Telegram accepted it, the outbox did not record it yet), so
        the default is one: at most one duplicate per crash. Returns after about a second of
        sending, so the caller reads the outbox again and alerts that arrived meanwhile get
        their turn.
        """
        progress = False
        started = self.monotonic()
        in_flight: dict[asyncio.Task[bool], int] = {}
        busy: set[int] = set()
        while queues or in_flight:
            refresh = progress and self.monotonic() - started >= REFRESH_SECONDS
            soonest: float | None = None
            for chat_id in list(queues) if not refresh else []:
                if len(in_flight) >= self.in_flight:
                    break
                if chat_id in busy:
                    continue
                task = queues[chat_id][0]
                if task.chat_kind != "console":
                    wait = self.pacer.wait(chat_id, task.chat_kind, self.monotonic())
                    if wait > 0:
                        soonest = wait if soonest is None else min(soonest, wait)
                        continue
                    self.pacer.record(chat_id, task.chat_kind, self.monotonic())
                busy.add(chat_id)
                in_flight[asyncio.ensure_future(self._send_one(task, report))] = chat_id
            if not in_flight:
                if refresh or soonest is None:
                    break
                await asyncio.sleep(soonest)
                continue
            done, _ = await asyncio.wait(
                in_flight, timeout=soonest, return_when=asyncio.FIRST_COMPLETED
            )
            for future in done:
                chat_id = in_flight.pop(future)
                busy.discard(chat_id)
                queue = queues.get(chat_id)
                if future.result() and queue is not None:
                    self._last_served[chat_id] = self.monotonic()
                    queue.popleft()
                    progress = True
                    if queue:
                        continue
                # Sent its last one, or held (retry later, chat gone): done for now.
                queues.pop(chat_id, None)
            if refresh and not in_flight:
                break
        return progress

    async def _catch_up(self, by_chat: dict[int, deque[Outgoing]], report: DeliveryReport) -> None:
        """A chat with many alerts waiting since long ago (an outage) gets one "while you were
        away" digest of them instead of a flood. The alerts count as delivered once every part
        of the digest was accepted; until then they stay pending."""
        if self.catch_up_after <= 0:
            return
        now = self.clock()
        for chat_id in list(by_chat):
            # Announcements and ready-made messages are not alerts: they go out as themselves.
            tasks = [t for t in by_chat[chat_id] if _is_alert(t)]
            if not tasks:
                continue
            oldest = min(t.created_at for t in tasks)
            if len(tasks) < self.catch_up_after or now - oldest < self.catch_up_age:
                continue
            notifier = self._notifier_for(chat_id)
            if notifier is None:
                continue
            # Claimed first: an alert another process is sending is not in this digest.
            tasks = [t for t in tasks if self.store.claim(t.item_ref, chat_id, self.owner, now)]
            if not tasks:
                continue
            entries = [
                DigestEntry(m.topic_id, t.item, t.summary, m.score, t.created_at, t.sources)
                for t in tasks
                for m in t.matches
            ]
            messages = render_digest(
                entries,
                self.topics,
                self.chat_timezone(tasks[0].chat_timezone),
                since=None,
                now=now,
                per_topic=10,
                title="⏳ While you were away",
            )
            rest = deque(t for t in by_chat[chat_id] if not _is_alert(t))
            if rest:
                by_chat[chat_id] = rest
            else:
                del by_chat[chat_id]
            try:
                first: int | None = None
                for n, message in enumerate(messages):
                    if n:  # one chat, several parts: keep to the chat's pace
                        await asyncio.sleep(1 / self.pacer.rates.private)
                    message_id = await send_message(notifier, chat_id, message)
                    first = first if first is not None else message_id
            except DeliveryError as exc:
                log.warning("chat %s: catch-up digest not sent (%s); retrying later", chat_id, exc)
                self.store.defer_chat(chat_id, now + timedelta(seconds=30))
                report.failed += 1
                continue
            self.pacer.record(chat_id, tasks[0].chat_kind, self.monotonic())
            for task in tasks:
                # No message id: the digest is not the alert of any one story, so a story
                # update must not edit it.
                self.store.mark_sent(task.item.key, chat_id, None, self.clock())
            report.sent += len(tasks)
            log.info("chat %s: %d waiting alerts sent as one digest", chat_id, len(tasks))

    async def _update_story(
        self, notifier: Notifier, task: DeliveryTask, report: DeliveryReport
    ) -> bool:
        """A story update: edit the chat's alert of the story to list every source, instead
        of sending another alert. One edit covers every update waiting for that alert."""
        assert task.edit_of is not None
        key = (task.chat_id, task.edit_of)
        done = self._edited.get(key)
        if done is not None and task.created_at <= done:
            return True  # an edit of this run already showed it
        # What the edit shows is read now; it covers the updates stored until now, and only
        # those: one stored while the edit is on its way gets its own.
        now = self.clock()
        head = None
        if task.head_sent and task.edit_message_id is not None:
            head = self.store.alert_for_message(task.chat_id, task.edit_message_id)
        if head is None:
            # The alert has not gone out yet (it will list the sources when it does), or there
            # is no message to edit: nothing to send.
            report.merged += self.store.mark_edited(task.chat_id, task.edit_of, None, now)
            return True
        sources = self.store.story_sources({head.item.story}).get(head.item.story, task.sources)
        head = replace(
            head, sources=sources, item_ref=task.edit_of, summary=self._story_summary(head)
        )
        message = render_alert(head, self.topics, self.chat_timezone(task.chat_timezone))
        if task.previews:
            message = replace(message, previews=True)
        if not await notifier.edit(task.chat_id, task.edit_message_id, message):
            log.info("chat %s: alert %s can no longer be edited", task.chat_id, task.edit_of)
        report.edited += 1
        self._edited[key] = now
        self.store.mark_edited(task.chat_id, task.edit_of, task.edit_message_id, now)
        return True

    def _story_summary(self, head: DeliveryTask) -> str:
        """The summary of the story's most informative report (a full article rather than a
        teaser), which need not be the report the alert first showed."""
        reports = self.store.story_items(head.item.story)
        if len(reports) < 2:
            return head.summary
        best = reports[best_summary([(r.title, r.text) for r in reports])]
        if best.key == head.item.key:
            return head.summary
        summary = summarize(best.title, best.text)
        return f"{summary} ({best.source_name})" if summary else head.summary

    async def _send_one(self, task: Outgoing, report: DeliveryReport) -> bool:
        """Send one alert (or queued message) and record the outcome. :returns: True if it
        was delivered, or is no longer this process's to send."""
        notifier = self._notifier_for(task.chat_id)
        if notifier is None:
            return False
        if isinstance(task, QueuedMessage):
            return await self._send_queued(notifier, task, report)
        # Claimed in the database before it goes out: no other process can send it too.
        if not self.store.claim(task.item_ref, task.chat_id, self.owner, self.clock()):
            log.info("chat %s: an alert was sent or taken by another process", task.chat_id)
            return True
        if task.edit_of is not None:
            try:
                return await self._update_story(notifier, task, report)
            except RetryLater as exc:
                self.store.defer_chat(
                    task.chat_id, self.clock() + timedelta(seconds=exc.retry_after)
                )
                report.deferred_chats += 1
                return False
            except DeliveryError as exc:
                # An edit is a nicety: after a failure the alert stays as it was.
                log.warning("chat %s: story update not applied (%s)", task.chat_id, exc)
                self.store.mark_edited(task.chat_id, task.edit_of, None, self.clock())
                return True
        if task.item.source == BROADCAST_SOURCE:
            message = render_announcement(task.item)
        else:
            message = render_alert(task, self.topics, self.chat_timezone(task.chat_timezone))
        if task.previews:
            message = replace(message, previews=True)
        now = self.clock()
        try:
            message_id = await send_message(notifier, task.chat_id, message)
        except RetryLater as exc:
            until = now + timedelta(seconds=max(1.0, exc.retry_after))
            log.warning("chat %s: %s; holding it %.0f s", task.chat_id, exc, exc.retry_after)
            self.store.defer_chat(task.chat_id, until)  # the outbox holds it, no one waits
            report.deferred_chats += 1
            return False
        except ChatMoved as exc:
            log.info("chat %s became %s; its subscriptions follow", task.chat_id, exc.new_chat_id)
            self.store.move_chat(task.chat_id, exc.new_chat_id, now)
            return False
        except ChatUnavailable as exc:
            log.warning("chat %s is unavailable (%s); deactivated", task.chat_id, exc)
            self.store.deactivate_chat(task.chat_id, str(exc))
            report.chats_gone += 1
            return False
        except DeliveryError as exc:
            wait = backoff(timedelta(seconds=30), task.attempts + 1, MAX_DELIVERY_BACKOFF)
            log.warning("chat %s: alert not sent (%s); retry in %s", task.chat_id, exc, wait)
            self.store.mark_failed(task.item.key, task.chat_id, str(exc), now + wait)
            # The alerts after it wait too, so the chat gets them in order.
            self.store.defer_chat(task.chat_id, now + wait)
            report.failed += 1
            return False
        self.store.mark_sent(task.item.key, task.chat_id, message_id, self.clock())
        report.sent += 1
        return True

    async def _send_queued(
        self, notifier: Notifier, task: QueuedMessage, report: DeliveryReport
    ) -> bool:
        """Send a ready-made message (digest part, notice, reply) as the outbox sends alerts."""
        now = self.clock()
        if not self.store.claim_message(task.id, self.owner, now):
            return True
        try:
            message_id = await send_message(notifier, task.chat_id, task.message)
        except RetryLater as exc:
            log.warning("chat %s: %s; holding it %.0f s", task.chat_id, exc, exc.retry_after)
            self.store.defer_chat(task.chat_id, now + timedelta(seconds=max(1.0, exc.retry_after)))
            report.deferred_chats += 1
            return False
        except ChatMoved as exc:
            self.store.move_chat(task.chat_id, exc.new_chat_id, now)
            return False
        except ChatUnavailable as exc:
            log.warning("chat %s is unavailable (%s): %s dropped", task.chat_id, exc, task.kind)
            if self.store.chat(task.chat_id) is not None:
                self.store.deactivate_chat(task.chat_id, str(exc))
            self.store.message_failed(task.id, str(exc), None)
            report.chats_gone += 1
            return False
        except DeliveryError as exc:
            wait = backoff(timedelta(seconds=30), task.attempts + 1, MAX_DELIVERY_BACKOFF)
            log.warning(
                "chat %s: %s not sent (%s); retry in %s", task.chat_id, task.kind, exc, wait
            )
            self.store.message_failed(task.id, str(exc), now + wait)
            self.store.defer_chat(task.chat_id, now + wait)
            report.failed += 1
            return False
        self.store.message_sent(task.id, message_id, self.clock())
        report.sent += 1
        return True

    # ------------------------------------------------------------------ digests
    def build_digest(self, chat_id: int) -> tuple[list[OutgoingMessage], datetime]:
        """The chat's digest now, and the time it covers up to (for ``set_last_digest``)."""
        now = self.clock()
        chat = self.store.chat(chat_id)
        entries = self.store.digest_entries(chat_id, now)
        since = chat.last_digest_at if chat else None
        tz = self.chat_timezone(chat.timezone if chat else None)
        alerted = self.store.alerted_stories(chat_id, {e.item.story for e in entries})
        messages = render_digest(entries, self.topics, tz, since=since, now=now, alerted=alerted)
        return messages, now

    def digest_markdown(self, chat_id: int) -> str:
        """The chat's digest now as Markdown (for other channels, or to read); records nothing."""
        now = self.clock()
        chat = self.store.chat(chat_id)
        entries = self.store.digest_entries(chat_id, now)
        alerted = self.store.alerted_stories(chat_id, {e.item.story for e in entries})
        return digest_markdown(
            entries,
            self.topics,
            self.chat_timezone(chat.timezone if chat else None),
            since=chat.last_digest_at if chat else None,
            now=now,
            alerted=alerted,
        )

    def queue_digest(self, chat_id: int) -> list[int]:
        """Build the chat's digest and put it in the outbox; the digest then counts as given
        (the chat's next digest starts from here) and the outbox delivers it, paced and
        retried like alerts. :returns: the refs of its parts."""
        messages, until = self.build_digest(chat_id)
        return self.store.queue_messages(
            chat_id, self._chat_kind(chat_id), "digest", messages, self.clock(), digest_until=until
        )

    async def send_digest(self, chat_id: int) -> bool:
        """Queue the chat's digest and deliver what is due. :returns: True once every part
        was accepted (if not, the outbox keeps trying)."""
        if self._notifier_for(chat_id) is None:
            return False
        refs = self.queue_digest(chat_id)
        await self.deliver_pending()
        status = self.store.message_status(refs)
        return all(status.get(ref) == "sent" for ref in refs)

    def chat_timezone(self, name: str | None) -> ZoneInfo:
        """A chat's own timezone, or the bot's."""
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown timezone %r stored for a chat; using %s", name, self.timezone)
        return self.timezone

    def digest_due(self, chat: Chat, default_time: dt_time, now: datetime) -> bool:
        """Has the chat's digest time (in its timezone) passed since its last digest?"""
        tz = self.chat_timezone(chat.timezone)
        hour, minute = default_time.hour, default_time.minute
        if chat.digest_time:
            hour, minute = (int(x) for x in chat.digest_time.split(":"))
        local = now.astimezone(tz)
        scheduled = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if scheduled > local:
            scheduled -= timedelta(days=1)
        since = chat.last_digest_at or chat.created_at
        return since is None or since < scheduled

    async def send_digests(self, default_time: dt_time | None = None) -> int:
        """Every active chat with subscriptions whose digest is due (all, without a time).

        The scheduler calls this every minute with the bot's digest time; each chat's own time
        and timezone decide when its digest goes. Digests go through the outbox.
        :returns: digests delivered whole now (the others stay queued and are retried).
        """
        now = self.clock()
        queued: list[list[int]] = []
        for chat in self.store.active_chats():
            # The due check needs no query: do it first, since this runs every minute.
            if default_time is not None and not self.digest_due(chat, default_time, now):
                continue
            if chat.kind == "console" and "console" not in self.notifiers:
                continue
            if self._notifier_for(chat.id) is None or not self.store.subscriptions(chat.id):
                continue
            queued.append(self.queue_digest(chat.id))
        if not queued:
            return 0
        await self.deliver_pending()
        status = self.store.message_status([ref for refs in queued for ref in refs])
        return sum(1 for refs in queued if all(status.get(ref) == "sent" for ref in refs))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _is_alert(task: Outgoing) -> TypeGuard[DeliveryTask]:
    """An alert of a news item (not an announcement, digest, notice or reply)."""
    return isinstance(task, DeliveryTask) and task.item.source != BROADCAST_SOURCE
