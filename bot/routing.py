"""Routing: which chats get an alert of which new item. A pure stage.

The store reads what routing needs (the subscriptions of the matched topics, the mutes running,
the chats' newest alert of each story), :func:`route` decides, and the store writes the
deliveries it returns, all in one transaction. The rules:

- a chat gets an alert of an item when it is active and follows one of the item's matched
  topics (configured topics and its own watches alike) in mode ``instant`` or ``both``, that
  topic not muted; the alert lists those topics in the order the item matched them;
- a chat that muted the item's story (``story:ID``) gets nothing of it;
- a topic the chat tuned with its 👍/👎 (:mod:`bot.feedback`) counts for the chat only if the
  item's match passes that tuning: its kind not stopped, a learned score at the chat's own
  threshold;
- the alert is urgent when one of those topics is marked urgent by the chat;
- an item that joins a story without news (not ``material``) edits the chat's newest alert of
  the story (an alert that is no edit itself and was not dropped) instead of sending one;
  an alert created earlier in the same batch counts;
- every chat is routed alike, whatever its kind (private, group, channel, the console).

:func:`broadcast_recipients` says who gets an admin's announcement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.feedback import Tuning, passes
from bot.models import Chat, Match

__all__ = [
    "CONSOLE_CHAT_ID",
    "INSTANT_MODES",
    "Audience",
    "Delivery",
    "Routable",
    "Subscription",
    "Tuning",
    "broadcast_recipients",
    "route",
    "story_mute",
]

CONSOLE_CHAT_ID = 0
"""The pseudo-chat that prints alerts on the console (re-exported by :mod:`bot.storage.base`)."""

INSTANT_MODES = frozenset({"instant", "both"})
"""The subscription modes that get an alert per item (``digest`` waits for the digest)."""


def story_mute(story: str) -> str:
    """The mute key of a story: a chat mutes ``story:ID`` as it mutes a topic id."""
    return f"story:{story}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat follows a topic: how (``mode``), whether it is urgent, whether the chat is active."""

    chat_id: int
    topic_id: str
    mode: str = "both"
    urgent: bool = False
    active: bool = True


@dataclass(frozen=True, slots=True)
class Routable:
    """A new item as stored: its ref, the topics it matched in order, its story, and the
    matches themselves (in the order of ``topics``) where a chat's tuning needs them."""

    ref: int
    topics: tuple[str, ...]
    story: str = ""
    material: bool = True
    matches: tuple[Match, ...] = ()


@dataclass(frozen=True, slots=True)
class Audience:
    """What the store knows of the chats, as routing needs it.

    ``mutes``: (chat id, topic id or ``story:ID``) -> until when; those ended count for
    nothing. ``heads``: (story, chat id) -> the ref of the chat's newest alert of the story
    that is no edit and was not dropped (needed only for the stories of non-material items).
    ``tunings``: (chat id, topic id) -> what the chat's votes made of the topic.
    """

    subscriptions: Sequence[Subscription] = ()
    mutes: Mapping[tuple[int, str], datetime] = field(default_factory=dict)
    heads: Mapping[tuple[str, int], int] = field(default_factory=dict)
    tunings: Mapping[tuple[int, str], Tuning] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """An alert to create: item ``item_ref`` to ``chat_id`` for ``topics``; with ``edit_of``,
    a story update that edits the chat's alert of that item ref instead."""

    item_ref: int
    chat_id: int
    topics: tuple[str, ...]
    urgent: bool = False
    edit_of: int | None = None


def route(items: Sequence[Routable], audience: Audience, now: datetime) -> list[Delivery]:
    """The alerts to create for ``items`` (in the order they were stored) at ``now``."""
    by_topic: dict[str, list[Subscription]] = {}
    for sub in audience.subscriptions:
        if sub.active and sub.mode in INSTANT_MODES:
            by_topic.setdefault(sub.topic_id, []).append(sub)

    def muted(chat_id: int, key: str) -> bool:
        until = audience.mutes.get((chat_id, key))
        return until is not None and until > now

    heads = dict(audience.heads)
    out: list[Delivery] = []
    for entry in items:
        per_chat: dict[int, list[str]] = {}
        urgent: set[int] = set()
        matches = dict(zip(entry.topics, entry.matches, strict=False))
        for topic in entry.topics:
            match = matches.get(topic)
            for sub in by_topic.get(topic, ()):
                if muted(sub.chat_id, topic):
                    continue
                tuning = audience.tunings.get((sub.chat_id, topic))
                if tuning is not None and match is not None and not passes(tuning, match):
                    continue
                topics = per_chat.setdefault(sub.chat_id, [])
                if topic not in topics:
                    topics.append(topic)
                if sub.urgent:
                    urgent.add(sub.chat_id)
        for chat_id, topics in per_chat.items():
            if entry.story and muted(chat_id, story_mute(entry.story)):
                continue
            edit_of = None
            if entry.story and not entry.material:
                edit_of = heads.get((entry.story, chat_id))
            out.append(Delivery(entry.ref, chat_id, tuple(topics), chat_id in urgent, edit_of))
            if entry.story and edit_of is None:
                key = (entry.story, chat_id)
                heads[key] = max(heads.get(key, entry.ref), entry.ref)
    return out


def broadcast_recipients(chats: Iterable[Chat]) -> list[int]:
    """The chats an announcement goes to: every active chat but the console."""
    return [c.id for c in chats if c.active and c.id != CONSOLE_CHAT_ID]
