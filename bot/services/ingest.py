"""The ingest processor: entries to stored items. Normalize, drop what is stored already, group
into stories, match, summarize what matched, and store the items with their matches and the
deliveries they make, in one transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.models import Item, RawEntry, is_watch_topic
from bot.normalize import normalize
from bot.services.topics import TopicRegistry
from bot.storage.base import NewItem, Store
from bot.stories import WINDOW, StoryIndex
from bot.summarize import summarize

__all__ = ["YIELD_EVERY", "IngestProcessor"]

log = logging.getLogger(__name__)

YIELD_EVERY = 0.02
"""Seconds of item processing after which the event loop gets a turn."""


class IngestProcessor:
    """``ingest(entries)`` stores what is new, matched against ``registry``'s topics."""

    def __init__(
        self,
        store: Store,
        registry: TopicRegistry,
        clock: Callable[[], datetime],
        story_window: timedelta = WINDOW,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.story_window = story_window
        self._stories: StoryIndex | None = None
        self._processing = asyncio.Lock()

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
            for m in self.registry.matcher.match(item)
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
