"""The digest service: each chat's digest of what matched since its last one, built when its
time comes (in its timezone) and delivered through the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import time as dt_time

from bot.models import Chat, OutgoingMessage
from bot.render import digest_markdown, render_digest
from bot.services.chats import Zones, chat_kind
from bot.services.dispatch import Dispatcher
from bot.services.topics import TopicRegistry
from bot.storage.base import Store

__all__ = ["DigestService"]


class DigestService:
    """Digests: built from the store, rendered with ``registry``'s topic names, sent by
    ``dispatcher``."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        registry: TopicRegistry,
        zones: Zones,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.registry = registry
        self.zones = zones
        self.clock = clock

    def build_digest(self, chat_id: int) -> tuple[list[OutgoingMessage], datetime]:
        """The chat's digest now, and the time it covers up to (for ``set_last_digest``)."""
        now = self.clock()
        chat = self.store.chat(chat_id)
        entries = self.store.digest_entries(chat_id, now)
        since = chat.last_digest_at if chat else None
        tz = self.zones.of(chat.timezone if chat else None)
        alerted = self.store.alerted_stories(chat_id, {e.item.story for e in entries})
        messages = render_digest(
            entries, self.registry.topics, tz, since=since, now=now, alerted=alerted
        )
        return messages, now

    def digest_markdown(self, chat_id: int) -> str:
        """The chat's digest now as Markdown (for other channels, or to read); records nothing."""
        now = self.clock()
        chat = self.store.chat(chat_id)
        entries = self.store.digest_entries(chat_id, now)
        alerted = self.store.alerted_stories(chat_id, {e.item.story for e in entries})
        return digest_markdown(
            entries,
            self.registry.topics,
            self.zones.of(chat.timezone if chat else None),
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
            chat_id,
            chat_kind(self.store, chat_id),
            "digest",
            messages,
            self.clock(),
            digest_until=until,
        )

    async def send_digest(self, chat_id: int) -> bool:
        """Queue the chat's digest and deliver what is due. :returns: True once every part
        was accepted (if not, the outbox keeps trying)."""
        if self.dispatcher.notifier_for(chat_id) is None:
            return False
        refs = self.queue_digest(chat_id)
        await self.dispatcher.deliver_pending()
        status = self.store.message_status(refs)
        return all(status.get(ref) == "sent" for ref in refs)

    def digest_due(self, chat: Chat, default_time: dt_time, now: datetime) -> bool:
        """Has the chat's digest time (in its timezone) passed since its last digest?"""
        tz = self.zones.of(chat.timezone)
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
            if chat.kind == "console" and "console" not in self.dispatcher.notifiers:
                continue
            if self.dispatcher.notifier_for(chat.id) is None or not self.store.subscriptions(
                chat.id
            ):
                continue
            queued.append(self.queue_digest(chat.id))
        if not queued:
            return 0
        await self.dispatcher.deliver_pending()
        status = self.store.message_status([ref for refs in queued for ref in refs])
        return sum(1 for refs in queued if all(status.get(ref) == "sent" for ref in refs))
