"""Readers' 👍 and 👎: each vote retunes the topics of its alert for that chat alone
(:mod:`bot.feedback`), and operators fold the votes on a shared topic into its examples file
when they choose to (``newsbot topics feedback`` and ``newsbot topics learn``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bot.errors import ConfigError
from bot.feedback import Tuning, Vote, alert_kind, kind_key, tune
from bot.models import FeedbackEntry, Item, Topic, is_watch_topic
from bot.services.topics import TopicRegistry
from bot.storage.base import Store

__all__ = [
    "FeedbackService",
    "ItemVotes",
    "LearnResult",
    "Stopped",
    "TopicReview",
    "VoteResult",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stopped:
    """A kind of alert of a topic that no longer reaches a chat; ``key`` names it in buttons."""

    topic_id: str
    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class VoteResult:
    """What a vote changed for its chat: kinds it stopped, and the chat's new thresholds
    (topic id -> threshold, None: back to the topic's own)."""

    stopped: tuple[Stopped, ...] = ()
    thresholds: dict[str, float | None] = field(default_factory=dict)
    watches: tuple[str, ...] = ()
    """The watches voted on: their filters learn from the votes (see ``relearn``)."""


@dataclass(frozen=True, slots=True)
class ItemVotes:
    """The votes of every chat on one item's alerts of a topic, and what an operator may do
    with them: ``accepted`` (the chats agree), ``disputed``, or ``in examples`` already."""

    item_ref: int
    item: Item
    ups: int
    downs: int
    kind: str
    status: str

    @property
    def positive(self) -> bool:
        return self.ups > self.downs


@dataclass(frozen=True, slots=True)
class TopicReview:
    """A shared topic's votes, item by item, and the chats whose tuning of it moved."""

    topic: Topic
    items: tuple[ItemVotes, ...]
    tunings: dict[int, Tuning]


@dataclass(frozen=True, slots=True)
class LearnResult:
    """What ``newsbot topics learn`` wrote: ``added`` examples to ``path``."""

    path: Path
    added: tuple[ItemVotes, ...]
    skipped: tuple[ItemVotes, ...]


def _votes(entries: Iterable[FeedbackEntry], topic_id: str) -> list[Vote]:
    return [
        Vote(e.value, alert_kind(m), m.model.score if m.model is not None else None)
        for e in entries
        for m in e.matches
        if m.topic_id == topic_id
    ]


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


class FeedbackService:
    """Votes in, tunings out; the operators' review of the votes on shared topics."""

    def __init__(
        self, store: Store, registry: TopicRegistry, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock

    def _base(self, topic_id: str) -> float | None:
        """The topic's learned threshold, if its learned layer runs."""
        model = self.registry.matcher.models.get(topic_id)
        return model.threshold if model is not None and model.active else None

    def _retune(
        self, chat_id: int, topic_id: str, entries: Iterable[FeedbackEntry], before: Tuning
    ) -> Tuning:
        """The chat's tuning of the topic from its votes (``entries``), kept with what it
        let in again (``before.allowed``), and stored."""
        tuning = tune(_votes(entries, topic_id), self._base(topic_id), before.allowed)
        self.store.set_tuning(chat_id, topic_id, tuning)
        return tuning

    def vote(self, chat_id: int, item_ref: int, value: int) -> VoteResult | None:
        """Record a chat's 👍 (1) or 👎 (-1) on an alert and retune the alert's topics for
        that chat. :returns: what changed; None if the item is no longer stored."""
        if not self.store.set_feedback(chat_id, item_ref, value, self.clock()):
            return None
        entries = self.store.feedback(chat_id=chat_id)
        mine = next((e for e in entries if e.item_ref == item_ref), None)
        if mine is None:
            return VoteResult()
        before = self.store.tunings(chat_id)
        stopped: list[Stopped] = []
        thresholds: dict[str, float | None] = {}
        for match in mine.matches:
            topic_id = match.topic_id
            old = before.get(topic_id, Tuning())
            new = self._retune(chat_id, topic_id, entries, old)
            stopped += [
                Stopped(topic_id, kind, kind_key(topic_id, kind))
                for kind in sorted(new.stopped - old.stopped)
            ]
            if new.threshold != old.threshold:
                thresholds[topic_id] = new.threshold
        if stopped or thresholds:
            log.info("chat %s retuned %s", chat_id, ", ".join(m.topic_id for m in mine.matches))
        watches = tuple(m.topic_id for m in mine.matches if is_watch_topic(m.topic_id))
        return VoteResult(tuple(stopped), thresholds, watches)

    async def relearn(self, topic_ids: Iterable[str]) -> list[str]:
        """Retrain the filters of these watches from their chats' votes. :returns: the
        watches whose filter now runs that did not before."""
        started = []
        for topic_id in topic_ids:
            before = topic_id in self.registry.matcher.filters
            if await self.registry.learn_watch(topic_id) is not None and not before:
                started.append(topic_id)
        return started

    def stopped(self, chat_id: int) -> list[Stopped]:
        """The kinds of alert the chat's votes stopped, by topic."""
        return [
            Stopped(topic_id, kind, kind_key(topic_id, kind))
            for topic_id, tuning in self.store.tunings(chat_id).items()
            for kind in sorted(tuning.stopped)
        ]

    def tunings(self, chat_id: int) -> dict[str, Tuning]:
        """What the chat's votes made of its topics: topic id -> tuning."""
        return self.store.tunings(chat_id)

    def allow(self, chat_id: int, key: str) -> Stopped | None:
        """Let a stopped kind reach the chat again (until :data:`~bot.feedback.STOP_AFTER`
        more 👎). :returns: the kind; None if no such kind is stopped."""
        found = next((s for s in self.stopped(chat_id) if s.key == key), None)
        if found is None:
            return None
        entries = self.store.feedback(chat_id=chat_id, topic_id=found.topic_id)
        downs = sum(
            1 for v in _votes(entries, found.topic_id) if v.kind == found.kind and v.value < 0
        )
        tuning = self.store.tunings(chat_id)[found.topic_id]
        allowed = {**tuning.allowed, found.kind: downs}
        self.store.set_tuning(
            chat_id,
            found.topic_id,
            replace(tuning, stopped=tuning.stopped - {found.kind}, allowed=allowed),
        )
        return found

    # ------------------------------------------------------------------ operators
    def review(self, topic_id: str | None = None) -> list[TopicReview]:
        """The votes on each shared topic (or on ``topic_id``), item by item.

        :raises ConfigError: ``topic_id`` is no topic of the config.
        """
        topics = self.registry.config_topics
        if topic_id is not None and topic_id not in topics:
            raise ConfigError(
                f"unknown topic {topic_id!r}", fix=f"one of: {', '.join(sorted(topics))}"
            )
        wanted = [topics[topic_id]] if topic_id else list(topics.values())
        entries = self.store.feedback(topic_id=topic_id)
        out = []
        for topic in wanted:
            by_item: dict[int, list[FeedbackEntry]] = {}
            for entry in entries:
                if any(m.topic_id == topic.id for m in entry.matches):
                    by_item.setdefault(entry.item_ref, []).append(entry)
            items = []
            for ref, votes in by_item.items():
                item = votes[0].item
                match = next(m for m in votes[0].matches if m.topic_id == topic.id)
                ups = sum(1 for v in votes if v.value > 0)
                downs = len(votes) - ups
                known = any(
                    _same(e.title, item.title) and _same(e.description, item.description)
                    for e in topic.examples
                )
                status = (
                    "in examples" if known else "accepted" if not (ups and downs) else "disputed"
                )
                items.append(ItemVotes(ref, item, ups, downs, alert_kind(match), status))
            chats = sorted({e.chat_id for votes in by_item.values() for e in votes})
            tunings = {
                c: t for c in chats if (t := self.store.tunings(c).get(topic.id)) is not None
            }
            out.append(TopicReview(topic, tuple(items), tunings))
        return out

    def learn(self, topic_id: str, skip: Collection[int] = ()) -> LearnResult:
        """Append the accepted votes on ``topic_id`` (but the item refs in ``skip``) to its
        examples file, as labelled lines: a 👍 a positive example, a 👎 a negative one. The
        topic trains on them when the topics load next (a restart, ``newsbot check-config``).

        :raises ConfigError: no such topic, or it has no examples file.
        """
        if is_watch_topic(topic_id):
            raise ConfigError(
                "a watch learns from its own chat's votes", fix="name a topic of the config"
            )
        [review] = self.review(topic_id)
        topic = review.topic
        if not topic.examples_file:
            raise ConfigError(
                f"topic {topic_id!r} has no examples file to learn into",
                fix=f'add examples_file = "{topic_id}.jsonl" to the topic (the file may be '
                "empty), then run it again",
            )
        path = Path(topic.examples_file)
        added = [i for i in review.items if i.status == "accepted" and i.item_ref not in skip]
        skipped = [i for i in review.items if i not in added]
        column = topic_id.replace("-", "_")
        lines = [
            json.dumps(
                {
                    "id": f"feedback-{i.item_ref}",
                    "outlet": i.item.source_name,
                    "published": i.item.published.isoformat(),
                    "title": i.item.title,
                    "description": i.item.description,
                    "link": i.item.link,
                    column: int(i.positive),
                },
                ensure_ascii=False,
            )
            for i in added
        ]
        if lines:
            try:
                existing = path.read_bytes() if path.exists() else b""
                with path.open("a", encoding="utf-8") as out:
                    if existing and not existing.endswith(b"\n"):
                        out.write("\n")
                    out.write("\n".join(lines) + "\n")
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the examples: {exc.strerror}",
                    path=str(path),
                    fix="newsbot needs write access to the topic's examples file",
                ) from None
        return LearnResult(path, tuple(added), tuple(skipped))
