"""The storage interface: small role interfaces and :class:`Store`, their union.

Adapters implement :class:`Store` (SQLite in :mod:`bot.storage.sqlite`, the in-memory reference
in :mod:`bot.storage.memory`); the pipeline depends only on this module. A part of newsbot that
needs one role (the outbox, the chats) can ask for that role alone. Every backend passes the one
contract suite, ``tests/contract/test_store.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import (
    Chat,
    DeliveryTask,
    DigestEntry,
    DocumentFingerprint,
    FeedbackEntry,
    FeedConfig,
    FeedState,
    Item,
    Match,
    OutgoingMessage,
    QueuedMessage,
    Watch,
)
from bot.routing import CONSOLE_CHAT_ID as ROUTING_CONSOLE_CHAT_ID
from bot.routing import Tuning

__all__ = [
    "CLAIM_TTL",
    "CONSOLE_CHAT_ID",
    "Chats",
    "Deliveries",
    "FeedStates",
    "Items",
    "NewItem",
    "Outbox",
    "Reports",
    "Stats",
    "Store",
]

CONSOLE_CHAT_ID = ROUTING_CONSOLE_CHAT_ID
"""The pseudo-chat that prints alerts on the console when no Telegram token is set."""

CLAIM_TTL = timedelta(minutes=2)
"""How long a claim on a delivery holds: a send takes seconds, so a claim older than this was
left by a process that died, and another may take the delivery."""


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to store with its summary and the topics it matched."""

    item: Item
    summary: str
    matches: tuple[Match, ...]
    material: bool = True
    """False: the item joins a story already alerted without news; chats that got an alert
    for the story get that alert edited (more sources) instead of a new one."""


@dataclass(frozen=True, slots=True)
class Stats:
    items: int
    items_today: int
    matches: int
    chats_active: int
    sent: int
    pending: int
    oldest_pending: datetime | None
    feeds_ok: int
    feeds_failing: int
    feeds_retired: int = 0
    feeds_down: int = 0
    """Failing long enough that the admins were told."""


class FeedStates(ABC):
    """What is remembered of the sources: feed states, feeds added at run time, documents."""

    @abstractmethod
    def feed_state(self, url: str) -> FeedState:
        """What we remember of ``url`` (a blank state for a feed never polled)."""

    @abstractmethod
    def save_feed_state(self, state: FeedState) -> None:
        """Remember ``state`` for its URL."""

    @abstractmethod
    def forget_feed(self, url: str) -> None:
        """Forget what was remembered of ``url`` (its health, validators, schedule)."""

    @abstractmethod
    def feed_states(self) -> list[FeedState]:
        """Every feed polled so far."""

    @abstractmethod
    def add_feed(self, feed: FeedConfig, added_by: int, now: datetime) -> bool:
        """Remember a feed added at run time, by a Telegram user (``added_by``) or by the
        operator on the command line (0, trusted); False if it was already added."""

    @abstractmethod
    def remove_feed(self, url: str) -> bool:
        """Forget an added feed; False if there was none with this URL."""

    @abstractmethod
    def added_feeds(self) -> list[FeedConfig]:
        """The feeds added in chats (not those of the config file), oldest first."""

    @abstractmethod
    def document_fingerprints(self) -> dict[str, DocumentFingerprint]:
        """The last fingerprint of each document, by relative path."""

    @abstractmethod
    def save_fingerprints(self, fingerprints: Iterable[DocumentFingerprint]) -> None:
        """Remember these fingerprints (after their items were stored)."""


class Items(ABC):
    """Stored items, their matches and stories; storing new ones routes their alerts."""

    @abstractmethod
    def known_keys(self, keys: Iterable[str]) -> set[str]:
        """The subset of dedup ``keys`` already stored."""

    @abstractmethod
    def add_items(self, new: Sequence[NewItem], now: datetime) -> tuple[int, int]:
        """Store items, their matches and one pending delivery per subscribed active chat.

        All in one transaction: an item is never seen without its deliveries. Items whose key
        is already stored are skipped. :returns: (items stored, deliveries created).
        """

    @abstractmethod
    def add_broadcast(self, item: Item, now: datetime) -> int:
        """Store an announcement as an item with a pending delivery to every active chat.

        :returns: the number of chats it will go to.
        """

    @abstractmethod
    def story_items(self, story: str, limit: int = 50) -> list[Item]:
        """The reports of a story, first published first."""

    @abstractmethod
    def story_sources(self, stories: Collection[str]) -> dict[str, tuple[str, ...]]:
        """Per story, the distinct names of the sources that reported it, first first."""

    @abstractmethod
    def item_story(self, item_ref: int) -> tuple[str, str] | None:
        """The story id and title of a stored item, if it has a story."""

    @abstractmethod
    def items_since(
        self, since: datetime, limit: int = 20000, *, published: bool = False
    ) -> list[Item]:
        """Items stored since ``since``, newest first (for dry runs of a query); with
        ``published``, those published since then in the order they were stored (to restore
        the story index)."""

    @abstractmethod
    def recent_matches(self, topic_ids: Iterable[str], limit: int = 5) -> list[DigestEntry]:
        """The newest matches of these topics, newest first."""

    @abstractmethod
    def digest_entries(self, chat_id: int, until: datetime) -> list[DigestEntry]:
        """Matches for the chat's topics since its last digest (or its subscription)."""

    @abstractmethod
    def alerted_stories(self, chat_id: int, stories: Collection[str]) -> dict[str, datetime]:
        """For these stories, when the chat last received an alert (or alert update) of each;
        stories it never got an alert of are absent."""

    @abstractmethod
    def set_feedback(self, chat_id: int, item_ref: int, value: int, now: datetime) -> bool:
        """Record 👍 (1) or 👎 (-1) of a chat on an item; :returns: False if the item is gone."""

    @abstractmethod
    def feedback(
        self, *, chat_id: int | None = None, topic_id: str | None = None
    ) -> list[FeedbackEntry]:
        """The votes, oldest first: of one chat and/or on the alerts that listed one topic.
        A vote's matches are those of the topics its chat's alert listed (all the item's
        matches if the alert is gone)."""


class Deliveries(ABC):
    """The alerts waiting for their chats: due, claimed, sent, edited, failed, held."""

    @abstractmethod
    def pending(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[DeliveryTask]:
        """Deliveries due at ``now`` to active chats (of these ``kinds``), oldest first."""

    @abstractmethod
    def mark_sent(self, item_key: str, chat_id: int, message_id: int | None, now: datetime) -> None:
        """Telegram accepted the alert: it counts as delivered."""

    @abstractmethod
    def mark_edited(
        self, chat_id: int, head_ref: int, message_id: int | None, now: datetime
    ) -> int:
        """The chat's alert ``head_ref`` was edited (or will show the story when sent): every
        pending story update for it counts as delivered. :returns: how many."""

    @abstractmethod
    def mark_failed(self, item_key: str, chat_id: int, error: str, retry_at: datetime) -> None:
        """Sending failed; try again at ``retry_at``."""

    @abstractmethod
    def defer_chat(self, chat_id: int, until: datetime, *, urgent: bool = True) -> None:
        """Hold the pending deliveries of ``chat_id`` until ``until`` (a 429 retry_after);
        with ``urgent=False`` only those not marked urgent (quiet hours)."""

    @abstractmethod
    def release_chat(self, chat_id: int, now: datetime) -> int:
        """Make the chat's held deliveries (never attempted) due now, e.g. when its quiet
        hours are turned off. :returns: how many."""

    @abstractmethod
    def claim(self, item_ref: int, chat_id: int, owner: str, now: datetime) -> bool:
        """Take the pending delivery of ``item_ref`` to ``chat_id`` for sending. False if it is
        no longer pending or another claim on it is younger than :data:`CLAIM_TTL`: then it
        must not be sent. Sent, failed or deferred, the claim ends."""

    @abstractmethod
    def release_claims(self, keep: str) -> int:
        """End every claim not held by ``keep``: called at start by the data directory's sole
        owner, since the processes that held them are gone. :returns: how many."""

    @abstractmethod
    def recent_sends(self, since: datetime) -> list[tuple[int, str, datetime]]:
        """(chat id, chat kind, when) of every message sent, or claimed for sending, since
        ``since``, oldest first: what the pacer must remember after a restart."""

    @abstractmethod
    def alert_for_message(self, chat_id: int, message_id: int) -> DeliveryTask | None:
        """The alert that went out as this Telegram message (for /why)."""


class Outbox(ABC):
    """Ready-made messages (digests, notices, replies) waiting to be sent."""

    @abstractmethod
    def queue_messages(
        self,
        chat_id: int,
        chat_kind: str,
        kind: str,
        messages: Sequence[OutgoingMessage],
        now: datetime,
        *,
        digest_until: datetime | None = None,
    ) -> list[int]:
        """Put messages for ``chat_id`` in the outbox, in order, in one transaction; with
        ``digest_until`` the chat's last digest time is set in the same transaction (the
        digest is then as good as sent: the outbox will deliver it). :returns: their refs."""

    @abstractmethod
    def pending_messages(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[QueuedMessage]:
        """Messages due at ``now`` (to chats of these ``kinds``) and not claimed, oldest first."""

    @abstractmethod
    def claim_message(self, message_ref: int, owner: str, now: datetime) -> bool:
        """As :meth:`claim`, for a queued message."""

    @abstractmethod
    def message_sent(self, message_ref: int, message_id: int | None, now: datetime) -> None:
        """The channel accepted the message."""

    @abstractmethod
    def message_failed(self, message_ref: int, error: str, retry_at: datetime | None) -> None:
        """Sending failed: try again at ``retry_at``, or never (None: the chat is gone)."""

    @abstractmethod
    def message_status(self, refs: Collection[int]) -> dict[int, str]:
        """``pending``, ``sent`` or ``dropped`` for each of these messages."""


class Chats(ABC):
    """Chats and what they chose: settings, subscriptions and their modes, watches, mutes."""

    @abstractmethod
    def upsert_chat(self, chat_id: int, kind: str, title: str, now: datetime) -> Chat:
        """Create or re-activate a chat."""

    @abstractmethod
    def chat(self, chat_id: int) -> Chat | None:
        """The chat, or None."""

    @abstractmethod
    def update_chat(self, chat_id: int, changes: Mapping[str, str | bool | None]) -> None:
        """Change a chat's settings: ``timezone``, ``digest_time`` (None: the bot's), ``previews``,
        ``quiet_start`` and ``quiet_end`` ("HH:MM" local, None: no quiet hours).

        :raises KeyError: an unknown setting.
        """

    @abstractmethod
    def set_last_digest(self, chat_id: int, at: datetime) -> None:
        """Record that the chat received its digest up to ``at``."""

    @abstractmethod
    def deactivate_chat(self, chat_id: int, reason: str) -> None:
        """The chat is gone (blocked the bot): stop sending, drop what was pending for it."""

    @abstractmethod
    def move_chat(self, old_id: int, new_id: int, now: datetime) -> None:
        """A group became a supergroup: its subscriptions, watches and pending alerts move."""

    @abstractmethod
    def active_chats(self) -> list[Chat]:
        """Chats that receive alerts."""

    @abstractmethod
    def subscribe(self, chat_id: int, topic_id: str, now: datetime) -> bool:
        """Subscribe; :returns: False if it already was."""

    @abstractmethod
    def unsubscribe(self, chat_id: int, topic_id: str) -> bool:
        """Unsubscribe; :returns: False if it was not subscribed."""

    @abstractmethod
    def subscriptions(self, chat_id: int) -> set[str]:
        """The topic ids ``chat_id`` is subscribed to."""

    @abstractmethod
    def set_mode(self, chat_id: int, topic_id: str, mode: str) -> bool:
        """How the chat follows a topic (see :data:`bot.models.MODES`); False if not subscribed."""

    @abstractmethod
    def set_urgent(self, chat_id: int, topic_id: str, urgent: bool) -> bool:
        """Mark a subscribed topic urgent (skips the queue and quiet hours); False if not
        subscribed."""

    @abstractmethod
    def urgent_topics(self, chat_id: int) -> set[str]:
        """The chat's topics marked urgent."""

    @abstractmethod
    def modes(self, chat_id: int) -> dict[str, str]:
        """Topic id -> mode for every subscription of the chat."""

    @abstractmethod
    def add_watch(self, watch: Watch, now: datetime) -> None:
        """Create or replace a chat's watch of that name."""

    @abstractmethod
    def remove_watch(self, chat_id: int, name: str) -> bool:
        """Delete a watch; :returns: False if there was none."""

    @abstractmethod
    def watches(self, chat_id: int | None = None) -> list[Watch]:
        """The watches of one chat, or of every active chat."""

    @abstractmethod
    def mute(self, chat_id: int, topic_id: str, until: datetime) -> None:
        """No alerts of ``topic_id`` for ``chat_id`` until ``until``."""

    @abstractmethod
    def unmute(self, chat_id: int, topic_id: str) -> bool:
        """End a mute (a topic id or ``story:ID``); False if there was none."""

    @abstractmethod
    def mutes(self, chat_id: int, now: datetime) -> dict[str, datetime]:
        """The chat's mutes still running: topic id (or ``story:ID``) -> until when."""

    @abstractmethod
    def set_tuning(self, chat_id: int, topic_id: str, tuning: Tuning) -> None:
        """Store what a chat's votes made of a topic (an empty tuning removes it); routing
        reads it when new items are stored."""

    @abstractmethod
    def tunings(self, chat_id: int) -> dict[str, Tuning]:
        """The chat's tunings: topic id -> :class:`~bot.feedback.Tuning`."""


class Reports(ABC):
    """Counts for the operator."""

    @abstractmethod
    def stats(self, now: datetime) -> Stats:
        """Counts for the operator."""

    @abstractmethod
    def feedback_counts(self) -> tuple[int, int]:
        """(👍, 👎) over all chats and items."""


class Store(FeedStates, Items, Deliveries, Outbox, Chats, Reports):
    """Persistent state: every role in one backend. Every method is a complete transaction."""

    @abstractmethod
    def close(self) -> None:
        """Release the database."""
