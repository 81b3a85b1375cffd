"""Operator reports, command replies that matter, and announcements: messages the bot makes
itself, put in the outbox so they are paced, retried and never lost like alerts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.models import BROADCAST_SOURCE, FeedConfig, FeedState, Item, OutgoingMessage
from bot.render import esc
from bot.services.chats import chat_kind
from bot.services.dispatch import Dispatcher
from bot.storage.base import Stats, Store

__all__ = ["REPORT_EVERY", "OperatorReports"]

REPORT_EVERY = timedelta(hours=6)
"""How often one problem (the same ``key``) is reported at most, by default."""


class OperatorReports:
    """Notices to the admins (their private chats, or ``[telegram] admin_chat``)."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        admin_chats: Sequence[int],
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.admin_chats = tuple(admin_chats)
        self.clock = clock
        self._reported: dict[str, datetime] = {}

    async def report(self, key: str, text: str, every: timedelta = REPORT_EVERY) -> bool:
        """Tell the admins about a problem, at most once per ``every`` for the same ``key``,
        so a feed that keeps failing does not flood them. The notice goes through the outbox
        like an alert.

        :returns: True if the notice was queued.
        """
        now = self.clock()
        last = self._reported.get(key)
        if last is not None and now - last < every:
            return False
        if "telegram" not in self.dispatcher.notifiers or not self.admin_chats:
            return False
        self._reported[key] = now
        message = OutgoingMessage(f"⚠️ {esc(text)}", f"⚠️ {text}")
        for chat_id in self.admin_chats:
            # Through the outbox: paced with the alerts, retried on 429, never lost.
            kind = chat_kind(self.store, chat_id)
            self.store.queue_messages(chat_id, kind, "notice", [message], now)
        self.dispatcher.kick()
        return True

    def queue_reply(self, chat_id: int, message: OutgoingMessage) -> int:
        """A command's reply that matters (a /poll report): through the outbox, so a 429 or
        a restart does not lose it. :returns: its ref."""
        (ref,) = self.store.queue_messages(
            chat_id, chat_kind(self.store, chat_id), "reply", [message], self.clock()
        )
        self.dispatcher.kick()
        return ref

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

    def stats(self) -> tuple[Stats, int, tuple[int, int]]:
        """The counts, the number of watches, and (👍, 👎) over every chat."""
        store = self.store
        return store.stats(self.clock()), len(store.watches()), store.feedback_counts()

    def feed_state(self, feed: FeedConfig) -> FeedState:
        """How the feed fares: its last status, error, success and next poll."""
        return self.store.feed_state(feed.url)
