"""The topic registry: the configured topics and the chats' watches, the matcher over them, and
the checks and dry runs of the queries chats send (/watch, /test)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bot.config import WatchLimits
from bot.errors import QueryError, QueryTooCostly
from bot.learn import MIN_EXAMPLES, NotEnoughExamples, TopicModel, load_or_train
from bot.match import RUN_BUDGET, CompiledTopic, Matcher, train_models
from bot.models import Example, FeedbackEntry, Item, Match, Topic, Watch, watch_topic_id
from bot.query import Budget, Node, Regex, leaves, parse_query
from bot.storage.base import Store

__all__ = ["TopicRegistry"]

log = logging.getLogger(__name__)

_WATCH_NAME = re.compile(r"^[\w-]{1,30}$")

FILTER_PRIOR = 0.5
"""A watch's filter scores the alerts its query found, of which readers want about half (not
a few in a hundred, as of the news a shared topic's model scores)."""


class TopicRegistry:
    """Topics by id (``topics``: the config's and every watch), and the matcher over them
    with each topic's learned layer (trained from its examples, cached in ``model_dir``)."""

    def __init__(
        self,
        store: Store,
        topics: Sequence[Topic],
        aliases: Mapping[str, str] | None,
        limits: WatchLimits,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        model_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.limits = limits
        self.model_dir = model_dir
        """Where the topics' learned layers are cached; None: trained in memory only."""
        self.model_notes: list[str] = []
        """Per topic with examples: its model's figures, or why it runs on its query alone."""
        self.clock = clock
        self.monotonic = monotonic
        self.set_topics(topics, aliases)

    def set_topics(self, topics: Sequence[Topic], aliases: Mapping[str, str] | None = None) -> None:
        """(Re)load the configured topics; the chats' watches are kept."""
        self.aliases = dict(aliases or {})
        self.config_topics = {t.id: t for t in topics}
        self.matcher = Matcher(topics, self.aliases)
        self.model_notes = train_models(self.matcher, topics, self.model_dir)
        self.topics: dict[str, Topic] = dict(self.config_topics)
        watches = self.store.watches()
        votes = _examples_by_topic(self.store.feedback()) if watches else {}  # one read
        for watch in watches:
            try:
                self._add_watch_topic(watch)
            except QueryError as exc:  # e.g. an alias it used is gone: keep the others
                log.warning(
                    "watch %r of chat %s no longer compiles: %s", watch.name, watch.chat_id, exc
                )
                continue
            examples = votes.get((watch.chat_id, watch.topic_id), [])
            self.matcher.set_filter(
                watch.topic_id, _filter(watch.topic_id, examples, self.model_dir)
            )

    def _add_watch_topic(self, watch: Watch) -> None:
        topic = watch.topic()
        self.matcher.add(topic)
        self.topics[topic.id] = topic

    def _votes_of(self, topic_id: str) -> tuple[str, list[Example], Path | None]:
        """A watch's votes as examples (read here: the store belongs to the event loop)."""
        chat_id = int(topic_id.split(":")[1])
        votes = _examples_by_topic(self.store.feedback(chat_id=chat_id, topic_id=topic_id))
        return topic_id, votes.get((chat_id, topic_id), []), self.model_dir

    async def learn_watch(self, topic_id: str) -> TopicModel | None:
        """Train a watch's filter from its chat's votes (in a worker thread), and use it.
        :returns: the filter, or None while the votes are too few or it would not help."""
        if topic_id not in self.topics:
            return None
        model = await asyncio.to_thread(_filter, *self._votes_of(topic_id))
        if topic_id in self.topics:  # not removed meanwhile
            self.matcher.set_filter(topic_id, model)
        return model

    def check_query(self, query: str) -> Node:
        """Parse a chat's query (/watch and /test share this) within the ``[watches]`` limits:
        at most ``query_chars`` characters, and regular expressions only if ``regex`` is on.

        :raises QueryError: the query is invalid, too long, or uses what chats may not.
        """
        limits = self.limits
        if len(query) > limits.query_chars:
            raise QueryError(
                f"query is {len(query)} characters long",
                query=query[:80],
                position=limits.query_chars,
                expected=f"at most {limits.query_chars} characters",
            )
        tree = parse_query(query, self.aliases)
        if not limits.regex and any(isinstance(leaf, Regex) for leaf in leaves(tree)):
            raise QueryError(
                "regular expressions are not allowed in chats' queries here",
                query=query,
                position=query.find("/"),
                expected="words and phrases (the admin can allow them)",
            )
        return tree

    def check_watch(self, chat_id: int, name: str, query: str) -> None:
        """What :meth:`add_watch` checks before it stores anything.

        :raises QueryError: see :meth:`check_query`.
        :raises ValueError: the name is invalid or the chat has too many watches.
        """
        if not _WATCH_NAME.match(name):
            raise ValueError("a watch name is 1–30 letters, digits, - or _")
        existing = {w.name for w in self.store.watches(chat_id)}
        if name not in existing and len(existing) >= self.limits.per_chat:
            raise ValueError(f"you have {len(existing)} watches, the most allowed; /unwatch one")
        self.check_query(query)

    def add_watch(self, chat_id: int, name: str, query: str) -> Watch:
        """Create (or replace) a private topic for ``chat_id`` and subscribe it.

        :raises QueryError: the query is invalid, too long, or uses what watches may not.
        :raises ValueError: the name is invalid or the chat has too many watches.
        """
        self.check_watch(chat_id, name, query)
        watch = Watch(chat_id, name, query)
        compiled = self.matcher.compile(watch.topic())
        self.store.add_watch(watch, self.clock())
        self.store.subscribe(chat_id, watch.topic_id, self.clock())
        self.matcher.add(compiled)
        self.topics[watch.topic_id] = compiled.topic
        return watch

    def remove_watch(self, chat_id: int, name: str) -> bool:
        topic_id = watch_topic_id(chat_id, name)
        if not self.store.remove_watch(chat_id, name):
            return False
        self.store.unsubscribe(chat_id, topic_id)
        self.matcher.remove(topic_id)
        self.topics.pop(topic_id, None)
        return True

    async def dry_run_query(
        self, query: str, *, days: int = 7, best: int = 5
    ) -> tuple[int, int, list[tuple[Item, Match]]]:
        """Dry-run a chat's query on the items stored in the last ``days``.

        The query is checked as :meth:`check_query` says. The items are read here (the store's
        connection belongs to the event loop's thread); matching runs in a worker thread, so
        the bot goes on answering, and stops after ``[watches] test_seconds`` or
        :data:`~bot.match.RUN_BUDGET` steps of evaluation, whichever comes first.

        :returns: (items searched, items matched, the best few with their match).
        :raises QueryTooCostly: it went over the time or the work allowed.
        :raises QueryError: the query is invalid.
        """
        tree = self.check_query(query)
        items = self.store.items_since(self.clock() - timedelta(days=days))
        return await asyncio.to_thread(
            dry_run,
            CompiledTopic(Topic("test", "test", query), tree),
            items,
            best,
            self.limits.test_seconds,
            self.monotonic,
        )


def _examples_by_topic(entries: Iterable[FeedbackEntry]) -> dict[tuple[int, str], list[Example]]:
    """Votes as examples of each (chat, topic) their alert listed."""
    out: dict[tuple[int, str], list[Example]] = {}
    for e in entries:
        example = Example(
            e.item.title, e.item.description, e.value > 0, f"vote of chat {e.chat_id}"
        )
        for m in e.matches:
            out.setdefault((e.chat_id, m.topic_id), []).append(example)
    return out


def _filter(topic_id: str, examples: list[Example], cache_dir: Path | None) -> TopicModel | None:
    """A watch's filter from its chat's votes: a model of what the chat 👍 against what it 👎,
    used only if, cross-validated, it keeps the chat's wanted alerts better than keeping all."""
    ups = sum(e.positive for e in examples)
    if ups < MIN_EXAMPLES or len(examples) - ups < MIN_EXAMPLES:
        return None
    try:
        model = load_or_train(f"{topic_id}#votes", examples, None, cache_dir, prior=FILTER_PRIOR)
    except NotEnoughExamples:
        return None
    share = ups / len(examples)
    keep_all = 2 * share / (1 + share)  # F1 of letting every alert through
    return model if model.cv_f1 > keep_all else None


def dry_run(
    topic: CompiledTopic,
    items: Sequence[Item],
    best: int,
    seconds: float,
    monotonic: Callable[[], float],
) -> tuple[int, int, list[tuple[Item, Match]]]:
    """:meth:`TopicRegistry.dry_run_query`'s matching, on plain data (it runs in a worker
    thread): (items searched, items matched, the ``best`` best matches).

    :raises QueryTooCostly: past ``seconds`` or :data:`~bot.match.RUN_BUDGET` steps.
    """
    deadline = monotonic() + seconds
    matcher = Matcher(())
    matcher.add(topic)
    budget = Budget(RUN_BUDGET)
    hits: list[tuple[Item, Match]] = []
    for item in items:
        if monotonic() > deadline:
            raise QueryTooCostly(topic.topic.query, spent=budget.spent)
        try:
            found = matcher.match(item, budget)
        except QueryTooCostly:
            raise QueryTooCostly(topic.topic.query, spent=budget.spent) from None
        hits.extend((item, match) for match in found)
    hits.sort(key=lambda h: (-h[1].score, -h[0].published.timestamp()))
    return len(items), len(hits), hits[:best]
