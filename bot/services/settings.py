"""What a chat chose: the chat itself, its subscriptions and their modes and urgency, its
settings (timezone, digest time, previews, quiet hours), its mutes, and what it reads back
(its alerts, the latest matches). The Telegram handlers and the CLI go through this, not the
store."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.models import MODES, Chat, DeliveryTask, DigestEntry, Watch
from bot.routing import story_mute
from bot.services.chats import Zones
from bot.storage.base import Store

__all__ = ["MAX_MUTE_HOURS", "ChatSettings"]

MAX_MUTE_HOURS = 24 * 30


class ChatSettings:
    """A chat's choices, read and changed."""

    def __init__(self, store: Store, zones: Zones, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.zones = zones
        self.clock = clock

    # ------------------------------------------------------------------ the chat
    def register(self, chat_id: int, kind: str, title: str) -> Chat:
        """The chat as the bot saw it now (created, or active again)."""
        return self.store.upsert_chat(chat_id, kind, title, self.clock())

    def chat(self, chat_id: int) -> Chat | None:
        return self.store.chat(chat_id)

    def local(self, chat_id: int, when: datetime) -> str:
        """``when`` as the chat reads it: day, month, hour and minute in its timezone."""
        chat = self.store.chat(chat_id)
        return when.astimezone(self.zones.of(chat.timezone if chat else None)).strftime(
            "%d %b %H:%M"
        )

    def update(self, chat_id: int, **fields: Any) -> None:
        """Change ``timezone``, ``digest_time`` or ``previews``."""
        self.store.update_chat(chat_id, fields)

    def set_quiet(self, chat_id: int, hours: tuple[str, str] | None) -> None:
        """Quiet hours (start, end as HH:MM in the chat's time), or none. What was held for
        the old hours goes out now (or is held again by the new ones)."""
        start, end = hours or (None, None)
        self.store.update_chat(chat_id, {"quiet_start": start, "quiet_end": end})
        self.store.release_chat(chat_id, self.clock())

    # ------------------------------------------------------------------ subscriptions
    def subscriptions(self, chat_id: int) -> set[str]:
        return self.store.subscriptions(chat_id)

    def subscribe(self, chat_id: int, topic_id: str) -> bool:
        """:returns: False if the chat was subscribed already."""
        return self.store.subscribe(chat_id, topic_id, self.clock())

    def unsubscribe(self, chat_id: int, topic_id: str) -> bool:
        """:returns: False if the chat was not subscribed."""
        return self.store.unsubscribe(chat_id, topic_id)

    def unsubscribe_all(self, chat_id: int) -> None:
        for topic_id in self.store.subscriptions(chat_id):
            self.store.unsubscribe(chat_id, topic_id)

    def modes(self, chat_id: int) -> dict[str, str]:
        return self.store.modes(chat_id)

    def set_mode(self, chat_id: int, topic_id: str, mode: str) -> bool:
        """:returns: False if the chat does not follow the topic."""
        return self.store.set_mode(chat_id, topic_id, mode)

    def next_mode(self, chat_id: int, topic_id: str) -> str | None:
        """Move the topic to the next of :data:`~bot.models.MODES`; None if not followed."""
        current = self.store.modes(chat_id).get(topic_id)
        if current is None:
            return None
        following = MODES[(MODES.index(current) + 1) % len(MODES)]
        self.store.set_mode(chat_id, topic_id, following)
        return following

    def urgent_topics(self, chat_id: int) -> set[str]:
        return self.store.urgent_topics(chat_id)

    def set_urgent(self, chat_id: int, topic_id: str, urgent: bool | None = None) -> bool | None:
        """Mark the topic urgent or not (None: the other way round). :returns: whether it is
        urgent now; None if the chat does not follow it."""
        if urgent is None:
            urgent = topic_id not in self.store.urgent_topics(chat_id)
        return urgent if self.store.set_urgent(chat_id, topic_id, urgent) else None

    def watches(self, chat_id: int | None = None) -> list[Watch]:
        return self.store.watches(chat_id)

    # ------------------------------------------------------------------ mutes
    def mute(self, chat_id: int, key: str, hours: int = 24) -> datetime:
        """No alerts of a topic (or a ``story:ID``) for ``hours``. :returns: until when.

        :raises ValueError: ``hours`` is not 1 to :data:`MAX_MUTE_HOURS`.
        """
        if not 1 <= hours <= MAX_MUTE_HOURS:
            raise ValueError(f"mute for 1 to {MAX_MUTE_HOURS} hours")
        until = self.clock() + timedelta(hours=hours)
        self.store.mute(chat_id, key, until)
        return until

    def mute_story_of(self, chat_id: int, item_ref: int, hours: int = 24) -> tuple[str, datetime]:
        """Mute the story of a stored item. :returns: its title and until when.

        :raises LookupError: the item is gone or has no story.
        """
        found = self.store.item_story(item_ref)
        if found is None:
            raise LookupError("that item is gone or has no story")
        return found[1], self.mute(chat_id, story_mute(found[0]), hours)

    def unmute(self, chat_id: int, key: str) -> bool:
        return self.store.unmute(chat_id, key)

    def mutes(self, chat_id: int) -> dict[str, datetime]:
        return self.store.mutes(chat_id, self.clock())

    # ------------------------------------------------------------------ what it reads
    def alert(self, chat_id: int, message_id: int) -> DeliveryTask | None:
        """The alert the bot sent as ``message_id`` in the chat."""
        return self.store.alert_for_message(chat_id, message_id)

    def latest(self, topic_ids: Iterable[str], limit: int = 5) -> list[DigestEntry]:
        """The newest matches of these topics."""
        return self.store.recent_matches(topic_ids, limit=limit)
