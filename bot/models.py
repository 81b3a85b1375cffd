"""The data that flows between stages. Plain frozen dataclasses; no I/O, no imports from newsbot."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "BROADCAST_SOURCE",
    "MODES",
    "Chat",
    "DeliveryTask",
    "DigestEntry",
    "DocumentFingerprint",
    "Evidence",
    "Example",
    "FeedConfig",
    "FeedState",
    "Item",
    "Match",
    "ModelScore",
    "OutgoingMessage",
    "QueuedMessage",
    "RawEntry",
    "Topic",
    "Watch",
    "is_watch_topic",
    "watch_topic_id",
]


BROADCAST_SOURCE = "newsbot:broadcast"
"""The source of the items that carry an admin's /broadcast to every chat."""

MODES = ("instant", "digest", "both")
"""How a chat follows a topic: an alert per item, only in the digest, or both."""


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as a source read it, before normalization.

    ``html`` says whether ``content``/``summary`` are HTML (feeds) or plain text (documents).
    """

    source: str
    guid: str | None
    title: str
    link: str | None
    author: str | None
    published: datetime | None
    summary: str
    content: str
    html: bool = True
    source_name: str | None = None
    date_only: bool = False
    """``published`` is a day, not a moment: the source gave a date without a time."""


@dataclass(frozen=True, slots=True)
class Item:
    """A normalized news item: the one shape every source yields.

    ``key`` is the dedup key (GUID, else canonical link, else a hash of title and text),
    ``id`` the stable id within its source, ``published`` is timezone-aware UTC.
    """

    key: str
    id: str
    source: str
    source_name: str
    title: str
    link: str | None
    author: str | None
    published: datetime
    text: str
    description: str = ""
    story: str = ""
    """The story the item belongs to (see :mod:`bot.stories`); empty until it is assigned."""
    date_only: bool = False
    """``published`` is a day (midnight UTC), not a moment: the source gave no time."""


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled example of a topic: a headline and lead, and whether the topic wants it.

    ``origin`` says where it was written (``topics.toml:12``, ``isis.jsonl:3``), for messages.
    """

    title: str
    description: str
    positive: bool
    origin: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        """Headline and lead as one text, the way the learned layer reads an item."""
        return f"{self.title}\n{self.description}" if self.description else self.title


@dataclass(frozen=True, slots=True)
class Topic:
    """A named query. ``query`` is the source text; it is compiled by :mod:`bot.query`.

    ``examples`` (positive and counter-examples, from the topics file and its examples file)
    train the topic's learned layer (:mod:`bot.learn`); a topic without them is its query.
    """

    id: str
    name: str
    query: str
    description: str = ""
    examples: tuple[Example, ...] = field(default=(), repr=False)
    examples_file: str = field(default="", compare=False, repr=False)
    """The examples file it reads (an absolute path), where ``newsbot topics learn`` writes."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One query term that matched: where (``title`` or ``text``), how often, and a snippet.

    For a match of the learned layer (``field == "model"``), ``term`` is a word or phrase that
    weighed most for it and ``count`` its rank; the match's :class:`ModelScore` has the rest.
    """

    term: str
    field: str
    count: int
    snippet: str


@dataclass(frozen=True, slots=True)
class ModelScore:
    """Why the learned layer matched: its score, the threshold it passed, the words that weighed."""

    score: float
    threshold: float
    terms: tuple[tuple[str, float], ...] = ()
    """The item's words and phrases that weighed most for the topic, with their weight."""

    def why(self, limit: int = 4) -> str:
        words = ", ".join(f"“{t}”" for t, _ in self.terms[:limit])
        return f"model {self.score:.2f} ≥ {self.threshold:.2f}" + (f": {words}" if words else "")


@dataclass(frozen=True, slots=True)
class Match:
    """An item matched a topic with this score, for these reasons."""

    topic_id: str
    score: float
    evidence: tuple[Evidence, ...]
    model: ModelScore | None = None
    """Set when the learned layer, not the query, matched the item."""

    def why(self, limit: int = 4) -> str:
        """A short human explanation, e.g. ``"ISIS" in title; "Daesh" ×2 in text``, or for a
        model match ``model 0.81 ≥ 0.55: “withdraw”, “troops”``."""
        if self.model is not None:
            return self.model.why(limit)
        parts = []
        for ev in self.evidence[:limit]:
            times = f" ×{ev.count}" if ev.count > 1 else ""
            parts.append(f"“{ev.term}”{times} in {ev.field}")
        more = len(self.evidence) - limit
        if more > 0:
            parts.append(f"+{more} more")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """A feed as configured: URL, display name and poll interval in seconds.

    ``interval`` is the feed's floor: it is polled at most that often, less often when it
    publishes rarely (:mod:`bot.intervals`). ``added``: added at run time (``/addfeed`` or
    ``newsbot feeds import``) rather than in the config file. Feeds added in a chat are
    ``public_only``: they may not point at loopback or private addresses unless the config
    allows it.
    """

    url: str
    name: str | None = None
    interval: int = 300
    added: bool = False
    public_only: bool = False
    """Only public addresses (a feed added in a chat, not by the operator)."""
    topics: tuple[str, ...] | None = None
    """Only these topics apply to the feed's items (None: all); watches always do."""
    language: str | None = None
    """The feed's language as configured (shown to operators in `newsbot feeds` and /feeds)."""


@dataclass(slots=True)
class FeedState:
    """What we remember about a feed between polls (conditional GET and health)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    error_count: int = 0
    last_success_at: datetime | None = None
    last_checked_at: datetime | None = None
    next_poll_at: datetime | None = None
    error_kind: str | None = None
    """How the last poll failed (see :class:`bot.errors.SourceError`); None after a success."""
    down_notified: bool = False
    """The admins were told the feed is down (and will be told when it recovers)."""
    retired: bool = False
    """The server said the feed is gone for good (410): no longer polled."""
    moved_to: str | None = None
    """Where a permanent redirect said the feed now lives."""
    interval: int | None = None
    """Seconds between polls as last chosen (adaptive), for display."""


@dataclass(frozen=True, slots=True)
class Chat:
    """A Telegram chat (or the console pseudo-chat, id 0) that can receive alerts."""

    id: int
    kind: str
    title: str = ""
    active: bool = True
    last_digest_at: datetime | None = None
    created_at: datetime | None = None
    timezone: str | None = None  # None: the bot's timezone
    digest_time: str | None = None  # "HH:MM"; None: the bot's digest time
    previews: bool = False
    quiet_start: str | None = None  # "HH:MM" local; None: no quiet hours
    quiet_end: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryTask:
    """A pending alert: this item, to this chat, for these topic matches."""

    item: Item
    chat_id: int
    matches: tuple[Match, ...]
    summary: str
    attempts: int = 0
    chat_kind: str = "private"
    item_ref: int = 0
    chat_timezone: str | None = None
    previews: bool = False
    created_at: datetime = field(default=datetime.min.replace(tzinfo=UTC), compare=False)
    urgent: bool = False
    """One of the matched topics is marked urgent by the chat: it skips the queue and quiet
    hours."""
    quiet: tuple[str, str] | None = None
    """The chat's quiet hours ("HH:MM", "HH:MM") in its timezone, if it set any."""
    sources: tuple[str, ...] = ()
    """Every source that reported the item's story so far, first reporter first."""
    edit_of: int | None = None
    """Set for a story update: the item ref of the chat's alert to edit instead of sending."""
    edit_message_id: int | None = None
    """The message id of that alert, once it went out."""
    head_sent: bool = False
    """Whether that alert went out already (if not, it will show the story when it does)."""


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One line of a digest: an item matched for a topic."""

    topic_id: str
    item: Item
    summary: str
    score: float
    matched_at: datetime = field(compare=False)
    sources: tuple[str, ...] = ()
    """Every source that reported the item's story, first reporter first."""


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """A chat's 👍 (1) or 👎 (-1) on an alert: the item, and the matches of the topics the
    alert listed (those the vote is about)."""

    chat_id: int
    item_ref: int
    value: int
    at: datetime
    item: Item
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class DocumentFingerprint:
    """How we know a file did not change: size and mtime first, then the content hash."""

    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message ready to send, as a view of one content in each channel's format: Telegram
    HTML, plain text, and Markdown (filled in for the channels that show it, from the HTML:
    see :func:`bot.services.dispatch.fit`), with buttons where the channel has them."""

    html: str
    plain: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    """Rows of (label, button data) buttons (:mod:`bot.actions`), where the channel has them."""
    previews: bool = False
    markdown: str = ""

    def text(self, format: str) -> str:
        """The message in ``format`` (``html``, ``markdown`` or ``plain``)."""
        if format == "html":
            return self.html
        if format == "markdown":
            return self.markdown or self.plain
        return self.plain


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A ready-made message waiting in the outbox: a digest part, an operator notice or a
    command reply that matters. Sent, paced and retried like an alert."""

    id: int
    chat_id: int
    kind: str
    """``digest``, ``notice`` or ``reply``."""
    message: OutgoingMessage
    chat_kind: str = "private"
    attempts: int = 0
    created_at: datetime = field(default=datetime.min.replace(tzinfo=UTC), compare=False)
    urgent: bool = False
    quiet: tuple[str, str] | None = None
    """Never held by quiet hours: a digest comes at the time its chat chose."""


@dataclass(frozen=True, slots=True)
class Watch:
    """A private topic of one chat (``/watch NAME QUERY``)."""

    chat_id: int
    name: str
    query: str

    @property
    def topic_id(self) -> str:
        return watch_topic_id(self.chat_id, self.name)

    def topic(self) -> Topic:
        return Topic(self.topic_id, f"👁 {self.name}", self.query, "your watch")


def watch_topic_id(chat_id: int, name: str) -> str:
    """The topic id a watch matches and subscribes under: ``watch:CHAT:NAME``."""
    return f"watch:{chat_id}:{name}"


def is_watch_topic(topic_id: str) -> bool:
    """Whether ``topic_id`` is a chat's watch rather than a configured topic."""
    return topic_id.startswith("watch:")
