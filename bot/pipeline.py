"""The composition root of the use cases: builds each service (:mod:`bot.services`) from the
adapters it is given and offers their operations in one place, for the scheduler, the Telegram
handlers and the CLI.

Fetch → normalize → dedup → stories → match → summarize → store → deliver. Only new items go on
to matching and notification. Items, their matches and their pending deliveries are stored in
one transaction, and a delivery counts as done only once the channel accepted it, so a crash at
any point loses nothing: the outbox is read again on the next cycle.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import WatchLimits
from bot.match import Matcher
from bot.models import Chat, FeedConfig, Item, Match, OutgoingMessage, RawEntry, Topic, Watch
from bot.notify.base import Notifier, Notifiers
from bot.pacing import Pacer, Rates
from bot.query import Node
from bot.services.chats import Zones
from bot.services.digests import DigestService
from bot.services.dispatch import DeliveryReport, Dispatcher, send_message
from bot.services.feedback import FeedbackService
from bot.services.feeds import FeedRegistry
from bot.services.ingest import IngestProcessor
from bot.services.refresh import CycleReport, FeedRefresher, FeedReport
from bot.services.reports import REPORT_EVERY, OperatorReports
from bot.services.settings import ChatSettings
from bot.services.topics import TopicRegistry
from bot.sources.base import FeedSource, FolderSource
from bot.storage.base import NewItem, Store
from bot.stories import WINDOW, StoryIndex

__all__ = ["CycleReport", "DeliveryReport", "FeedReport", "Pipeline", "send_message"]


class Pipeline:
    """The services, put together: ``topics`` (:class:`TopicRegistry`), ``ingest``
    (:class:`IngestProcessor`), ``feeds`` (:class:`FeedRegistry`), ``refresher``
    (:class:`FeedRefresher`), ``dispatcher`` (:class:`Dispatcher`), ``digests``
    (:class:`DigestService`), ``reports`` (:class:`OperatorReports`), ``feedback``
    (:class:`FeedbackService`) and ``chats`` (:class:`ChatSettings`). The methods below
    are theirs, offered here so that callers need one object."""

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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        owner: str | None = None,
        model_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.zones = Zones(timezone)
        self.registry = TopicRegistry(
            store, topics, aliases, watch_limits or WatchLimits(), clock, monotonic, model_dir
        )
        self.ingester = IngestProcessor(store, self.registry, clock, story_window)
        self.dispatcher = Dispatcher(
            store,
            notifiers,
            self.registry,
            self.zones,
            rates=rates,
            in_flight=in_flight,
            catch_up_after=catch_up_after,
            catch_up_age=catch_up_age,
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
            owner=owner,
        )
        self.reports = OperatorReports(store, self.dispatcher, admin_chats, clock)
        self.feeds = FeedRegistry(store, feeds, added_feed_interval, clock)
        self.refresher = FeedRefresher(
            store,
            feed_source,
            folder_source,
            self.feeds,
            self.ingester,
            self.dispatcher,
            self.reports,
            self.zones,
            max_poll_interval=max_poll_interval,
            poll_concurrency=poll_concurrency,
            rng=rng,
            clock=clock,
        )
        self.digests = DigestService(store, self.dispatcher, self.registry, self.zones, clock)
        self.feedback = FeedbackService(store, self.registry, clock)
        self.chats = ChatSettings(store, self.zones, clock)

    # ------------------------------------------------------------------ what callers read
    @property
    def timezone(self) -> ZoneInfo:
        return self.zones.default

    @property
    def topics(self) -> dict[str, Topic]:
        """Every topic by id: the config's and the chats' watches."""
        return self.registry.topics

    @property
    def config_topics(self) -> dict[str, Topic]:
        return self.registry.config_topics

    @property
    def aliases(self) -> dict[str, str]:
        return self.registry.aliases

    @property
    def matcher(self) -> Matcher:
        return self.registry.matcher

    @property
    def model_dir(self) -> Path | None:
        """Where the topics' learned layers are cached."""
        return self.registry.model_dir

    @property
    def model_notes(self) -> list[str]:
        """Per topic with examples: its model's figures, or why it runs on its query alone."""
        return self.registry.model_notes

    @property
    def stories(self) -> StoryIndex:
        return self.ingester.stories

    @property
    def pacer(self) -> Pacer:
        return self.dispatcher.pacer

    @property
    def owner(self) -> str:
        return self.dispatcher.owner

    @property
    def notifiers(self) -> Notifiers:
        return self.dispatcher.notifiers

    @property
    def feed_source(self) -> FeedSource | None:
        return self.refresher.feed_source

    @property
    def config_feeds(self) -> tuple[FeedConfig, ...]:
        return self.feeds.config_feeds

    @property
    def added_feed_interval(self) -> int:
        return self.feeds.added_feed_interval

    @property
    def admin_chats(self) -> tuple[int, ...]:
        return self.reports.admin_chats

    @admin_chats.setter
    def admin_chats(self, chats: Sequence[int]) -> None:
        self.reports.admin_chats = tuple(chats)

    @property
    def rng(self) -> random.Random:
        return self.refresher.rng

    @rng.setter
    def rng(self, rng: random.Random) -> None:
        self.refresher.rng = rng

    @property
    def catch_up_after(self) -> int:
        return self.dispatcher.catch_up_after

    @catch_up_after.setter
    def catch_up_after(self, count: int) -> None:
        self.dispatcher.catch_up_after = count

    # ------------------------------------------------------------------ topics and watches
    def set_topics(self, topics: Sequence[Topic], aliases: Mapping[str, str] | None = None) -> None:
        self.registry.set_topics(topics, aliases)

    def check_query(self, query: str) -> Node:
        return self.registry.check_query(query)

    def check_watch(self, chat_id: int, name: str, query: str) -> None:
        self.registry.check_watch(chat_id, name, query)

    def add_watch(self, chat_id: int, name: str, query: str) -> Watch:
        return self.registry.add_watch(chat_id, name, query)

    def remove_watch(self, chat_id: int, name: str) -> bool:
        return self.registry.remove_watch(chat_id, name)

    async def dry_run_query(
        self, query: str, *, days: int = 7, best: int = 5
    ) -> tuple[int, int, list[tuple[Item, Match]]]:
        return await self.registry.dry_run_query(query, days=days, best=best)

    # ------------------------------------------------------------------ ingest
    def process(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> list[NewItem]:
        return self.ingester.process(raws, topics)

    async def process_async(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> list[NewItem]:
        return await self.ingester.process_async(raws, topics)

    def ingest(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> tuple[int, int]:
        return self.ingester.ingest(raws, topics)

    async def ingest_async(
        self, raws: Iterable[RawEntry], topics: Collection[str] | None = None
    ) -> tuple[int, int]:
        return await self.ingester.ingest_async(raws, topics)

    # ------------------------------------------------------------------ feeds and documents
    async def poll_feed(
        self, feed: FeedConfig, *, force: bool = False, tell_admins: bool = True
    ) -> FeedReport:
        return await self.refresher.poll_feed(feed, force=force, tell_admins=tell_admins)

    async def poll_due(self, feeds: Sequence[FeedConfig] | None = None) -> CycleReport:
        return await self.refresher.poll_due(feeds)

    async def poll_all(self, feeds: Sequence[FeedConfig], *, force: bool = True) -> CycleReport:
        return await self.refresher.poll_all(feeds, force=force)

    def scan_documents(self) -> tuple[int, int, list[str]]:
        return self.refresher.scan_documents()

    def all_feeds(self) -> list[FeedConfig]:
        return self.feeds.all_feeds()

    async def add_feed(self, url: str, added_by: int) -> tuple[FeedConfig, FeedReport]:
        return await self.refresher.add_feed(url, added_by)

    def import_feeds(self, feeds: Sequence[FeedConfig], added_by: int = 0) -> tuple[int, int]:
        return self.feeds.import_feeds(feeds, added_by)

    def remove_feed(self, url: str) -> bool:
        return self.feeds.remove_feed(url)

    # ------------------------------------------------------------------ delivery
    async def deliver_pending(self, *, max_rounds: int = 300) -> DeliveryReport:
        return await self.dispatcher.deliver_pending(max_rounds=max_rounds)

    def kick_delivery(self) -> None:
        self.dispatcher.kick()

    async def settle(self, timeout: float) -> None:
        await self.dispatcher.settle(timeout)

    async def report(self, key: str, text: str, every: timedelta = REPORT_EVERY) -> bool:
        return await self.reports.report(key, text, every)

    def queue_reply(self, chat_id: int, message: OutgoingMessage) -> int:
        return self.reports.queue_reply(chat_id, message)

    def broadcast(self, text: str, sender: int) -> int:
        return self.reports.broadcast(text, sender)

    # ------------------------------------------------------------------ digests
    def build_digest(self, chat_id: int) -> tuple[list[OutgoingMessage], datetime]:
        return self.digests.build_digest(chat_id)

    def digest_markdown(self, chat_id: int) -> str:
        return self.digests.digest_markdown(chat_id)

    def queue_digest(self, chat_id: int) -> list[int]:
        return self.digests.queue_digest(chat_id)

    async def send_digest(self, chat_id: int) -> bool:
        return await self.digests.send_digest(chat_id)

    def chat_timezone(self, name: str | None) -> ZoneInfo:
        return self.zones.of(name)

    def digest_due(self, chat: Chat, default_time: dt_time, now: datetime) -> bool:
        return self.digests.digest_due(chat, default_time, now)

    async def send_digests(self, default_time: dt_time | None = None) -> int:
        return await self.digests.send_digests(default_time)
