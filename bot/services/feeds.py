"""The feed registry: which feeds are polled. The config file's, then those added in chats
(/addfeed, an OPML upload), each URL once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.models import FeedConfig
from bot.storage.base import Store

__all__ = ["FeedRegistry"]


class FeedRegistry:
    """The feeds to poll: ``config_feeds`` and the store's added ones; feeds added in chats
    are polled every ``added_feed_interval`` seconds unless they say otherwise."""

    def __init__(
        self,
        store: Store,
        config_feeds: Sequence[FeedConfig],
        added_feed_interval: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.config_feeds = tuple(config_feeds)
        self.added_feed_interval = added_feed_interval
        self.clock = clock

    def all_feeds(self) -> list[FeedConfig]:
        """The config file's feeds, then those added in chats (a URL only once)."""
        feeds = {f.url: f for f in self.config_feeds}
        for feed in self.store.added_feeds():
            feeds.setdefault(feed.url, feed)
        return list(feeds.values())

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
