"""The in-memory store: the reference implementation of :class:`~bot.storage.base.Store`.

Plain dictionaries and the same rules as the database stores, checked by the one contract suite
(``tests/contract/test_store.py``) that every backend passes. Nothing is kept when the process
ends: for tests, throwaway runs, and as the model of what a new backend must do.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.models import (
    BROADCAST_SOURCE,
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
from bot.routing import (
    Audience,
    Routable,
    Subscription,
    Tuning,
    broadcast_recipients,
    route,
)
from bot.storage.base import (
    CLAIM_TTL,
    CONSOLE_CHAT_ID,
    Chats,
    Deliveries,
    FeedStates,
    Items,
    NewItem,
    Outbox,
    Reports,
    Stats,
    Store,
)

__all__ = ["MemoryStore"]

_CHAT_SETTINGS = frozenset({"timezone", "digest_time", "previews", "quiet_start", "quiet_end"})


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _quiet(chat: _ChatRow) -> tuple[str, str] | None:
    """The chat's quiet hours as a delivery carries them (as SQLite's store does)."""
    if not chat.quiet_start:
        return None
    return chat.quiet_start, chat.quiet_end  # type: ignore[return-value]


@dataclass(slots=True)
class _StoredItem:
    ref: int
    item: Item
    summary: str
    created_at: datetime
    matches: dict[str, tuple[Match, datetime]] = field(default_factory=dict)


@dataclass(slots=True)
class _ChatRow:
    kind: str
    title: str
    created_at: datetime
    active: bool = True
    inactive_reason: str | None = None
    last_digest_at: datetime | None = None
    timezone: str | None = None
    digest_time: str | None = None
    previews: object = False
    quiet_start: str | None = None
    quiet_end: str | None = None


@dataclass(slots=True)
class _Sub:
    created_at: datetime
    mode: str = "both"
    urgent: bool = False


@dataclass(slots=True)
class _Sendable:
    """What a delivery and a queued message share: status, attempts, claim."""

    next_attempt_at: datetime
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    message_id: int | None = None
    sent_at: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None

    def claimable(self, now: datetime) -> bool:
        return self.status == "pending" and (
            self.claimed_by is None
            or (self.claimed_at is not None and self.claimed_at < now - CLAIM_TTL)
        )

    def sent(self, message_id: int | None, now: datetime) -> None:
        self.status, self.sent_at, self.message_id = "sent", now, message_id
        self.attempts += 1
        self.last_error = self.claimed_by = None


@dataclass(slots=True)
class _Delivery(_Sendable):
    topics: tuple[str, ...] = ()
    urgent: bool = False
    edit_of: int | None = None


@dataclass(slots=True)
class _Message(_Sendable):
    chat_id: int = 0
    chat_kind: str = "private"
    kind: str = "reply"
    message: OutgoingMessage = field(default_factory=lambda: OutgoingMessage("", ""))


class _Tables:
    """The tables every role works on, and what more than one role reads of them."""

    def __init__(self) -> None:
        self._feeds: dict[str, FeedState] = {}
        self._added: dict[str, tuple[FeedConfig, int, datetime]] = {}
        self._documents: dict[str, DocumentFingerprint] = {}
        self._items: dict[int, _StoredItem] = {}
        self._keys: dict[str, int] = {}
        self._chats: dict[int, _ChatRow] = {}
        self._subs: dict[tuple[int, str], _Sub] = {}
        self._deliveries: dict[tuple[int, int], _Delivery] = {}
        self._messages: dict[int, _Message] = {}
        self._watches: dict[tuple[int, str], str] = {}
        self._feedback: dict[tuple[int, int], tuple[int, datetime]] = {}
        self._tunings: dict[tuple[int, str], Tuning] = {}
        self._mutes: dict[tuple[int, str], datetime] = {}
        self._next_ref = 1
        self._next_message = 1

    def _active(self, chat_id: int) -> bool:
        chat = self._chats.get(chat_id)
        return chat is not None and chat.active

    def _by_story(self, story: str) -> list[_StoredItem]:
        found = [s for s in self._items.values() if s.item.story == story]
        return sorted(found, key=lambda s: (s.item.published, s.ref))

    def _story_sources(self, stories: Collection[str]) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for story in {s for s in stories if s}:
            names = list(dict.fromkeys(s.item.source_name for s in self._by_story(story)))
            if names:
                out[story] = tuple(names)
        return out

    def _set_last_digest(self, chat_id: int, at: datetime) -> None:
        row = self._chats.get(chat_id)
        if row is not None:
            row.last_digest_at = _utc(at)


class _MemoryFeedStates(_Tables, FeedStates):
    """Feed states, added feeds and document fingerprints in memory."""

    def feed_state(self, url: str) -> FeedState:
        state = self._feeds.get(url)
        return FeedState(url=url) if state is None else replace(state)

    def save_feed_state(self, state: FeedState) -> None:
        self._feeds[state.url] = replace(state)

    def forget_feed(self, url: str) -> None:
        self._feeds.pop(url, None)

    def feed_states(self) -> list[FeedState]:
        return [replace(self._feeds[url]) for url in sorted(self._feeds)]

    def add_feed(self, feed: FeedConfig, added_by: int, now: datetime) -> bool:
        if feed.url in self._added:
            return False
        self._added[feed.url] = (FeedConfig(feed.url, feed.name, feed.interval), added_by, now)
        return True

    def remove_feed(self, url: str) -> bool:
        if self._added.pop(url, None) is None:
            return False
        self._feeds.pop(url, None)  # added again, it starts afresh
        return True

    def added_feeds(self) -> list[FeedConfig]:
        rows = sorted(self._added.values(), key=lambda r: (r[2], r[0].url))
        return [replace(feed, added=True, public_only=by != 0) for feed, by, _ in rows]

    def document_fingerprints(self) -> dict[str, DocumentFingerprint]:
        return dict(self._documents)

    def save_fingerprints(self, fingerprints: Iterable[DocumentFingerprint]) -> None:
        self._documents.update((f.path, f) for f in fingerprints)


class _MemoryItems(_Tables, Items):
    """Items, their matches and stories in memory; storing new items routes their alerts."""

    def _store_item(self, item: Item, summary: str, now: datetime) -> _StoredItem:
        stored = _StoredItem(
            self._next_ref, replace(item, published=_utc(item.published)), summary, _utc(now)
        )
        self._next_ref += 1
        self._items[stored.ref] = stored
        self._keys[item.key] = stored.ref
        return stored

    def known_keys(self, keys: Iterable[str]) -> set[str]:
        return {k for k in keys if k in self._keys}

    def add_items(self, new: Sequence[NewItem], now: datetime) -> tuple[int, int]:
        seen: set[str] = set()
        for entry in new:  # all or nothing: refuse the batch before storing any of it
            topics = [m.topic_id for m in entry.matches]
            if (
                len(set(topics)) != len(topics)
                and entry.item.key not in seen
                and entry.item.key not in self._keys
            ):
                raise ValueError(f"{entry.item.key}: a topic matched twice")
            seen.add(entry.item.key)
        routable: list[Routable] = []
        for entry in new:
            if entry.item.key in self._keys:
                continue
            stored = self._store_item(entry.item, entry.summary, now)
            stored.matches = {m.topic_id: (m, _utc(now)) for m in entry.matches}
            routable.append(
                Routable(
                    stored.ref,
                    tuple(stored.matches),
                    entry.item.story,
                    entry.material,
                    tuple(m for m, _ in stored.matches.values()),
                )
            )
        deliveries = route(routable, self._audience(routable), now)
        for d in deliveries:
            self._deliveries[(d.item_ref, d.chat_id)] = _Delivery(
                _utc(now), _utc(now), topics=d.topics, urgent=d.urgent, edit_of=d.edit_of
            )
        return len(routable), len(deliveries)

    def _audience(self, items: Sequence[Routable]) -> Audience:
        topics = {t for r in items for t in r.topics}
        subscriptions = [
            Subscription(chat, topic, sub.mode, sub.urgent, self._active(chat))
            for (chat, topic), sub in self._subs.items()
            if topic in topics
        ]
        stories = {r.story for r in items if r.story and not r.material}
        heads: dict[tuple[str, int], int] = {}
        for (ref, chat), d in self._deliveries.items():
            story = self._items[ref].item.story
            if story in stories and d.edit_of is None and d.status != "dropped":
                heads[(story, chat)] = max(heads.get((story, chat), ref), ref)
        tunings = {
            (s.chat_id, s.topic_id): self._tunings[(s.chat_id, s.topic_id)]
            for s in subscriptions
            if (s.chat_id, s.topic_id) in self._tunings
        }
        return Audience(subscriptions, dict(self._mutes), heads, tunings)

    def add_broadcast(self, item: Item, now: datetime) -> int:
        if item.key in self._keys:
            raise ValueError(f"{item.key}: already stored")
        plain = replace(item, link=None, description="", story="", date_only=False)
        stored = self._store_item(plain, "", now)
        chats = broadcast_recipients(
            Chat(i, row.kind, active=row.active) for i, row in sorted(self._chats.items())
        )
        for chat_id in chats:
            self._deliveries[(stored.ref, chat_id)] = _Delivery(_utc(now), _utc(now))
        return len(chats)

    def story_items(self, story: str, limit: int = 50) -> list[Item]:
        return [s.item for s in self._by_story(story)[:limit]] if story else []

    def item_story(self, item_ref: int) -> tuple[str, str] | None:
        stored = self._items.get(item_ref)
        if stored is None or not stored.item.story:
            return None
        return stored.item.story, stored.item.title

    def items_since(
        self, since: datetime, limit: int = 20000, *, published: bool = False
    ) -> list[Item]:
        told = [s for s in self._items.values() if s.item.source != BROADCAST_SOURCE]
        if published:
            newest = sorted((s for s in told if s.item.published >= since), key=lambda s: -s.ref)
            return [s.item for s in sorted(newest[:limit], key=lambda s: s.ref)]
        recent = [s for s in told if s.created_at >= since]
        recent.sort(key=lambda s: (s.created_at, s.ref), reverse=True)
        return [s.item for s in recent[:limit]]

    def recent_matches(self, topic_ids: Iterable[str], limit: int = 5) -> list[DigestEntry]:
        wanted = set(topic_ids)
        entries = [
            (s, match, at)
            for s in self._items.values()
            for topic, (match, at) in s.matches.items()
            if topic in wanted
        ]
        entries.sort(key=lambda e: (e[0].item.published, e[2]), reverse=True)
        return [self._entry(s, m, at) for s, m, at in entries[:limit]]

    @staticmethod
    def _entry(stored: _StoredItem, match: Match, at: datetime) -> DigestEntry:
        return DigestEntry(match.topic_id, stored.item, stored.summary, match.score, at)

    def digest_entries(self, chat_id: int, until: datetime) -> list[DigestEntry]:
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        found = []
        for (sub_chat, topic), sub in self._subs.items():
            if sub_chat != chat_id or sub.mode not in ("digest", "both"):
                continue
            for s in self._items.values():
                if topic not in s.matches:
                    continue
                match, at = s.matches[topic]
                last = chat.last_digest_at
                if at >= sub.created_at and (last is None or at > last) and at <= until:
                    found.append((s, match, at))
        found.sort(key=lambda e: (e[1].topic_id, -e[1].score, -e[0].item.published.timestamp()))
        sources = self._story_sources({s.item.story for s, _, _ in found})
        return [
            replace(self._entry(s, m, at), sources=sources.get(s.item.story, ()))
            for s, m, at in found
        ]

    def alerted_stories(self, chat_id: int, stories: Collection[str]) -> dict[str, datetime]:
        wanted = {s for s in stories if s}
        out: dict[str, datetime] = {}
        for (ref, chat), d in self._deliveries.items():
            story = self._items[ref].item.story
            if chat != chat_id or story not in wanted or d.status != "sent" or d.edit_of:
                continue
            if d.sent_at is not None and (story not in out or d.sent_at > out[story]):
                out[story] = d.sent_at
        return out

    def set_feedback(self, chat_id: int, item_ref: int, value: int, now: datetime) -> bool:
        if item_ref not in self._items:
            return False
        first = self._feedback.get((chat_id, item_ref), (value, _utc(now)))[1]
        self._feedback[(chat_id, item_ref)] = (value, first)
        return True

    def feedback(
        self, *, chat_id: int | None = None, topic_id: str | None = None
    ) -> list[FeedbackEntry]:
        out = []
        votes = sorted(self._feedback.items(), key=lambda v: (v[1][1], v[0][1], v[0][0]))
        for (chat, ref), (value, at) in votes:
            stored = self._items.get(ref)
            if stored is None or (chat_id is not None and chat != chat_id):
                continue
            found = [m for m, _ in stored.matches.values()]
            delivery = self._deliveries.get((ref, chat))
            if delivery is not None:
                order = {t: n for n, t in enumerate(delivery.topics)}
                found = sorted(
                    (m for m in found if m.topic_id in order), key=lambda m: order[m.topic_id]
                )
            if topic_id is not None and all(m.topic_id != topic_id for m in found):
                continue
            out.append(FeedbackEntry(chat, ref, value, at, stored.item, tuple(found)))
        return out

    def story_sources(self, stories: Collection[str]) -> dict[str, tuple[str, ...]]:
        return self._story_sources(stories)


class _MemoryDeliveries(_Tables, Deliveries):
    """The alerts waiting for their chats, in memory."""

    def _task(self, ref: int, chat_id: int, d: _Delivery) -> DeliveryTask:
        stored = self._items[ref]
        chat = self._chats[chat_id]
        head = self._deliveries.get((d.edit_of, chat_id)) if d.edit_of is not None else None
        return DeliveryTask(
            item=stored.item,
            chat_id=chat_id,
            matches=tuple(stored.matches[t][0] for t in d.topics if t in stored.matches),
            summary=stored.summary,
            attempts=d.attempts,
            chat_kind=chat.kind,
            created_at=d.created_at,
            item_ref=ref,
            chat_timezone=chat.timezone,
            previews=bool(chat.previews),
            urgent=d.urgent,
            quiet=_quiet(chat),
            edit_of=d.edit_of,
            edit_message_id=head.message_id if head else None,
            head_sent=head is not None and head.status == "sent",
        )

    def pending(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[DeliveryTask]:
        due = [
            (key, d)
            for key, d in self._deliveries.items()
            if d.claimable(now)
            and d.next_attempt_at <= now
            and self._active(key[1])
            and (kinds is None or self._chats[key[1]].kind in kinds)
        ]
        due.sort(key=lambda e: (not e[1].urgent, e[1].created_at, e[0][0]))
        tasks = [self._task(ref, chat, d) for (ref, chat), d in due[:limit]]
        sources = self._story_sources({t.item.story for t in tasks})
        return [replace(t, sources=sources.get(t.item.story, ())) for t in tasks]

    def _delivery(self, item_key: str, chat_id: int) -> _Delivery | None:
        ref = self._keys.get(item_key)
        return None if ref is None else self._deliveries.get((ref, chat_id))

    def mark_sent(self, item_key: str, chat_id: int, message_id: int | None, now: datetime) -> None:
        d = self._delivery(item_key, chat_id)
        if d is not None:
            d.sent(message_id, _utc(now))

    def mark_edited(
        self, chat_id: int, head_ref: int, message_id: int | None, now: datetime
    ) -> int:
        updates = [
            d
            for (_, chat), d in self._deliveries.items()
            if chat == chat_id and d.edit_of == head_ref and d.status == "pending"
        ]
        for d in updates:
            d.sent(message_id, _utc(now))
        return len(updates)

    def mark_failed(self, item_key: str, chat_id: int, error: str, retry_at: datetime) -> None:
        d = self._delivery(item_key, chat_id)
        if d is not None and d.status == "pending":
            d.attempts += 1
            d.last_error, d.next_attempt_at, d.claimed_by = error[:500], _utc(retry_at), None

    def defer_chat(self, chat_id: int, until: datetime, *, urgent: bool = True) -> None:
        held: list[_Sendable] = [
            d
            for (_, chat), d in self._deliveries.items()
            if chat == chat_id and d.status == "pending" and (urgent or not d.urgent)
        ]
        if urgent:  # ready-made messages are never held by quiet hours, only by the channel
            held += [m for m in self._messages.values() if m.chat_id == chat_id]
        for s in held:
            if s.status == "pending":
                s.next_attempt_at = max(s.next_attempt_at, _utc(until))
                s.claimed_by = None

    def release_chat(self, chat_id: int, now: datetime) -> int:
        released = 0
        for (_, chat), d in self._deliveries.items():
            due_later = d.status == "pending" and d.next_attempt_at > now
            if chat == chat_id and due_later and d.attempts == 0:
                d.next_attempt_at = _utc(now)
                released += 1
        return released

    def claim(self, item_ref: int, chat_id: int, owner: str, now: datetime) -> bool:
        d = self._deliveries.get((item_ref, chat_id))
        if d is None or not d.claimable(now):
            return False
        d.claimed_by, d.claimed_at = owner, _utc(now)
        return True

    def release_claims(self, keep: str) -> int:
        released = 0
        for s in [*self._deliveries.values(), *self._messages.values()]:
            if s.claimed_by is not None and s.claimed_by != keep:
                s.claimed_by = None
                released += 1
        return released

    def recent_sends(self, since: datetime) -> list[tuple[int, str, datetime]]:
        sends: list[tuple[int, str, datetime]] = []
        for (_, chat_id), d in self._deliveries.items():
            chat = self._chats.get(chat_id)
            if chat is None:
                continue
            if d.sent_at is not None and d.sent_at >= since:
                sends.append((chat_id, chat.kind, d.sent_at))
            if d.status == "pending" and d.claimed_at is not None and d.claimed_at >= since:
                sends.append((chat_id, chat.kind, d.claimed_at))
        for m in self._messages.values():
            if m.sent_at is not None and m.sent_at >= since:
                sends.append((m.chat_id, m.chat_kind, m.sent_at))
            if m.status == "pending" and m.claimed_at is not None and m.claimed_at >= since:
                sends.append((m.chat_id, m.chat_kind, m.claimed_at))
        return sorted(sends, key=lambda s: s[2])

    def alert_for_message(self, chat_id: int, message_id: int) -> DeliveryTask | None:
        for (ref, chat), d in self._deliveries.items():
            if chat == chat_id and d.message_id == message_id and d.edit_of is None:
                stored = self._items[ref]
                return DeliveryTask(
                    item=stored.item,
                    chat_id=chat_id,
                    matches=tuple(stored.matches[t][0] for t in d.topics if t in stored.matches),
                    summary=stored.summary,
                    attempts=d.attempts,
                )
        return None


class _MemoryOutbox(_Tables, Outbox):
    """The outbox of ready-made messages, in memory."""

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
        refs: list[int] = []
        for n, message in enumerate(messages):  # microseconds apart: a digest keeps its order
            stamp = _utc(now + timedelta(microseconds=n))
            self._messages[self._next_message] = _Message(
                stamp, stamp, chat_id=chat_id, chat_kind=chat_kind, kind=kind, message=message
            )
            refs.append(self._next_message)
            self._next_message += 1
        if digest_until is not None:
            self._set_last_digest(chat_id, digest_until)
        return refs

    def pending_messages(
        self, now: datetime, limit: int = 100, kinds: Collection[str] | None = None
    ) -> list[QueuedMessage]:
        due = [
            (ref, m)
            for ref, m in self._messages.items()
            if m.claimable(now)
            and m.next_attempt_at <= now
            and (m.chat_id not in self._chats or self._active(m.chat_id))
            and (kinds is None or m.chat_kind in kinds)
        ]
        due.sort(key=lambda e: (e[1].created_at, e[0]))
        return [
            QueuedMessage(
                id=ref,
                chat_id=m.chat_id,
                kind=m.kind,
                message=m.message,
                chat_kind=m.chat_kind,
                attempts=m.attempts,
                created_at=m.created_at,
            )
            for ref, m in due[:limit]
        ]

    def claim_message(self, message_ref: int, owner: str, now: datetime) -> bool:
        m = self._messages.get(message_ref)
        if m is None or not m.claimable(now):
            return False
        m.claimed_by, m.claimed_at = owner, _utc(now)
        return True

    def message_sent(self, message_ref: int, message_id: int | None, now: datetime) -> None:
        m = self._messages.get(message_ref)
        if m is not None:
            m.sent(message_id, _utc(now))

    def message_failed(self, message_ref: int, error: str, retry_at: datetime | None) -> None:
        m = self._messages.get(message_ref)
        if m is None or (retry_at is not None and m.status != "pending"):
            return
        m.attempts += 1
        m.last_error, m.claimed_by = error[:500], None
        if retry_at is None:
            m.status = "dropped"
        else:
            m.next_attempt_at = _utc(retry_at)

    def message_status(self, refs: Collection[int]) -> dict[int, str]:
        return {ref: self._messages[ref].status for ref in refs if ref in self._messages}


class _MemoryChats(_Tables, Chats):
    """Chats, settings, subscriptions, watches and mutes in memory."""

    def upsert_chat(self, chat_id: int, kind: str, title: str, now: datetime) -> Chat:
        row = self._chats.get(chat_id)
        if row is None:
            self._chats[chat_id] = _ChatRow(kind, title, _utc(now))
        else:
            row.kind, row.title, row.active, row.inactive_reason = kind, title, True, None
        chat = self.chat(chat_id)
        assert chat is not None
        return chat

    def chat(self, chat_id: int) -> Chat | None:
        row = self._chats.get(chat_id)
        if row is None:
            return None
        return Chat(
            id=chat_id,
            kind=row.kind,
            title=row.title,
            active=row.active,
            last_digest_at=row.last_digest_at,
            created_at=row.created_at,
            timezone=row.timezone,
            digest_time=row.digest_time,
            previews=bool(row.previews),
            quiet_start=row.quiet_start,
            quiet_end=row.quiet_end,
        )

    def update_chat(self, chat_id: int, changes: Mapping[str, str | bool | None]) -> None:
        unknown = set(changes) - _CHAT_SETTINGS
        if unknown:
            raise KeyError(f"unknown chat settings: {sorted(unknown)}")
        row = self._chats.get(chat_id)
        if row is not None:
            for name, value in changes.items():
                setattr(row, name, value)

    def deactivate_chat(self, chat_id: int, reason: str) -> None:
        row = self._chats.get(chat_id)
        if row is not None:
            row.active, row.inactive_reason = False, reason
        dropped: list[_Sendable] = [d for (_, c), d in self._deliveries.items() if c == chat_id]
        dropped += [m for m in self._messages.values() if m.chat_id == chat_id]
        for s in dropped:
            if s.status == "pending":
                s.status, s.last_error = "dropped", reason

    def move_chat(self, old_id: int, new_id: int, now: datetime) -> None:
        old = self._chats.get(old_id)
        if old is None:
            return
        if new_id in self._chats:
            self._chats[new_id].active = True
        else:
            self._chats[new_id] = _ChatRow(
                "supergroup", old.title, _utc(now), last_digest_at=old.last_digest_at
            )
        # Where the new chat has one already (same topic, same watch name, same item), the
        # old chat's stays behind.
        for chat, topic in [k for k in self._subs if k[0] == old_id]:
            if (new_id, topic) not in self._subs:
                self._subs[(new_id, topic)] = self._subs.pop((chat, topic))
        for chat, name in [k for k in self._watches if k[0] == old_id]:
            if (new_id, name) not in self._watches:
                self._watches[(new_id, name)] = self._watches.pop((chat, name))
        for ref, chat in [k for k in self._deliveries if k[1] == old_id]:
            if (ref, new_id) not in self._deliveries:
                self._deliveries[(ref, new_id)] = self._deliveries.pop((ref, chat))
        for m in self._messages.values():
            if m.chat_id == old_id:
                m.chat_id = new_id
        for chat, ref in [k for k in self._feedback if k[0] == old_id]:
            if (new_id, ref) not in self._feedback:
                self._feedback[(new_id, ref)] = self._feedback.pop((chat, ref))
        for chat, topic in [k for k in self._tunings if k[0] == old_id]:
            if (new_id, topic) not in self._tunings:
                self._tunings[(new_id, topic)] = self._tunings.pop((chat, topic))
        old.active, old.inactive_reason = False, f"moved to {new_id}"
        pending: list[_Sendable] = [d for (_, c), d in self._deliveries.items() if c == new_id]
        pending += [m for m in self._messages.values() if m.chat_id == new_id]
        for s in pending:  # to be sent to the new id, by anyone
            if s.status == "pending":
                s.claimed_by = None

    def active_chats(self) -> list[Chat]:
        return [c for c in (self.chat(i) for i in sorted(self._chats)) if c and c.active]

    # ---- subscriptions
    def subscribe(self, chat_id: int, topic_id: str, now: datetime) -> bool:
        if (chat_id, topic_id) in self._subs:
            return False
        self._subs[(chat_id, topic_id)] = _Sub(_utc(now))
        return True

    def unsubscribe(self, chat_id: int, topic_id: str) -> bool:
        return self._subs.pop((chat_id, topic_id), None) is not None

    def subscriptions(self, chat_id: int) -> set[str]:
        return {topic for chat, topic in self._subs if chat == chat_id}

    def set_mode(self, chat_id: int, topic_id: str, mode: str) -> bool:
        sub = self._subs.get((chat_id, topic_id))
        if sub is not None:
            sub.mode = mode
        return sub is not None

    def set_urgent(self, chat_id: int, topic_id: str, urgent: bool) -> bool:
        sub = self._subs.get((chat_id, topic_id))
        if sub is not None:
            sub.urgent = bool(urgent)
        return sub is not None

    def urgent_topics(self, chat_id: int) -> set[str]:
        return {
            topic for (chat, topic), sub in self._subs.items() if chat == chat_id and sub.urgent
        }

    def modes(self, chat_id: int) -> dict[str, str]:
        return {topic: sub.mode for (chat, topic), sub in self._subs.items() if chat == chat_id}

    # ---- watches and mutes
    def add_watch(self, watch: Watch, now: datetime) -> None:
        self._watches[(watch.chat_id, watch.name)] = watch.query

    def remove_watch(self, chat_id: int, name: str) -> bool:
        return self._watches.pop((chat_id, name), None) is not None

    def watches(self, chat_id: int | None = None) -> list[Watch]:
        return [
            Watch(chat, name, query)
            for (chat, name), query in sorted(self._watches.items())
            if (chat == chat_id if chat_id is not None else self._active(chat))
        ]

    def mute(self, chat_id: int, topic_id: str, until: datetime) -> None:
        self._mutes[(chat_id, topic_id)] = _utc(until)

    def unmute(self, chat_id: int, topic_id: str) -> bool:
        return self._mutes.pop((chat_id, topic_id), None) is not None

    def mutes(self, chat_id: int, now: datetime) -> dict[str, datetime]:
        running = [(t, u) for (c, t), u in self._mutes.items() if c == chat_id and u > now]
        return dict(sorted(running, key=lambda m: m[1]))

    def set_tuning(self, chat_id: int, topic_id: str, tuning: Tuning) -> None:
        if tuning.empty:
            self._tunings.pop((chat_id, topic_id), None)
        elif chat_id in self._chats:
            self._tunings[(chat_id, topic_id)] = tuning

    def tunings(self, chat_id: int) -> dict[str, Tuning]:
        return {t: v for (c, t), v in sorted(self._tunings.items()) if c == chat_id}

    def set_last_digest(self, chat_id: int, at: datetime) -> None:
        self._set_last_digest(chat_id, at)


class _MemoryReports(_Tables, Reports):
    """Counts for the operator, from memory."""

    def feedback_counts(self) -> tuple[int, int]:
        values = [value for value, _ in self._feedback.values()]
        return values.count(1), values.count(-1)

    def stats(self, now: datetime) -> Stats:
        day = now - timedelta(days=1)
        pending = [d for d in self._deliveries.values() if d.status == "pending"]
        feeds = list(self._feeds.values())
        return Stats(
            items=len(self._items),
            items_today=sum(s.created_at > day for s in self._items.values()),
            matches=sum(len(s.matches) for s in self._items.values()),
            chats_active=sum(c.active and i != CONSOLE_CHAT_ID for i, c in self._chats.items()),
            sent=sum(d.status == "sent" for d in self._deliveries.values()),
            pending=len(pending),
            oldest_pending=min((d.created_at for d in pending), default=None),
            feeds_ok=sum(f.error_count == 0 and not f.retired for f in feeds),
            feeds_failing=sum(f.error_count > 0 and not f.retired for f in feeds),
            feeds_retired=sum(f.retired for f in feeds),
            feeds_down=sum(f.down_notified and not f.retired for f in feeds),
        )


class MemoryStore(
    _MemoryFeedStates,
    _MemoryItems,
    _MemoryDeliveries,
    _MemoryOutbox,
    _MemoryChats,
    _MemoryReports,
    Store,
):
    """Every role of the store over dictionaries; one process, nothing saved.

    Where SQLite's transaction would roll back (a topic matched twice in one item), the batch
    is refused with ``ValueError`` before anything of it is stored.
    """

    def close(self) -> None:
        """Nothing to release."""
