"""Exceptions raised by newsbot.

The tree::

    NewsbotError                 base of everything newsbot raises on purpose
    ├── ConfigError              a config or topics file is missing or invalid (file, line, fix)
    │   └── QueryError           a topic query does not parse (query, position, what was expected)
    │       └── QueryTooCostly   a query's evaluation went over its work or time budget
    ├── StorageError             the database cannot be read or written (file, reason, fix)
    ├── SourceError              a source could not be read; the other sources go on
    │   ├── FetchError           HTTP-level failure: network, status code, size cap, timeout
    │   └── ParseError           the body is not a feed or a document we can read
    └── DeliveryError            a message could not be delivered now
        ├── RetryLater           the channel asked us to wait (Telegram 429 retry_after, 5xx)
        ├── ChatMoved            a group became a supergroup under a new id (migrate_to_chat_id)
        ├── MessageTooLong       the channel refused the message's length: send it in parts
        └── ChatUnavailable      the chat will never accept messages again (403: blocked, kicked)

Every message is meant to be shown to a person as one line, and never contains a secret:
adapters catch library exceptions and re-raise these with the reason only.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "NETWORK_KINDS",
    "ChatMoved",
    "ChatUnavailable",
    "ConfigError",
    "DeliveryError",
    "FetchError",
    "MessageTooLong",
    "NewsbotError",
    "ParseError",
    "QueryError",
    "QueryTooCostly",
    "RetryLater",
    "SourceError",
    "StorageError",
]


class NewsbotError(Exception):
    """Base class of the errors newsbot raises on purpose."""


class ConfigError(NewsbotError):
    """A configuration or topics file is missing or invalid.

    ``path`` and ``line`` say where; ``fix`` says what to do about it.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, fix: str = ""
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}{self.message}{fix}"


class QueryError(ConfigError):
    """A topic query is invalid. ``position`` is the 0-based character offset in ``query``."""

    def __init__(
        self,
        message: str,
        *,
        query: str,
        position: int,
        expected: str = "",
        path: str | None = None,
        line: int | None = None,
        topic: str | None = None,
    ) -> None:
        self.query = query
        self.position = position
        self.expected = expected
        self.topic = topic
        detail = f"{message} at position {position + 1}"
        if topic:
            detail = f"topic {topic!r}: {detail}"
        fix = f"expected {expected}" if expected else ""
        super().__init__(detail, path=path, line=line, fix=fix)

    def pointer(self) -> str:
        """The query with a caret under the offending position, for multi-line displays."""
        return f"{self.query}\n{' ' * self.position}^"


class StorageError(NewsbotError):
    """The database cannot be used: full disk, no write access, damaged file. The message names
    the file and the fix; what was being written was rolled back, nothing is half-stored."""


class QueryTooCostly(QueryError):
    """Evaluating a query took more work (or time) than it is allowed: a chat's query over the
    recent items (/test, /watch), or one topic on one item while ingesting.

    ``spent`` is the work done when it stopped (in the steps of :class:`bot.query.Budget`).
    """

    MESSAGE = "this query is too costly to run over recent items"
    FIX = "narrow it (fewer OR-ed words, a smaller NEAR)"

    def __init__(self, query: str = "", *, spent: int = 0) -> None:
        self.spent = spent
        super().__init__(self.MESSAGE, query=query, position=0, expected=self.FIX)
        # Not a syntax error: no position to point at.
        self.message = self.MESSAGE
        self.fix = self.FIX

    def __str__(self) -> str:
        return f"{self.MESSAGE}: {self.FIX}"


class SourceError(NewsbotError):
    """A source (feed or document) could not be read.

    ``kind`` classifies the failure for feed health: ``dns``, ``connect``, ``timeout``,
    ``tls``, ``http4xx``, ``http5xx``, ``gone`` (410), ``too-big``, ``redirects``, ``refused``
    (a private address), ``parse``, or ``error``. ``status`` is the HTTP status, if any.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        status: int | None = None,
        retry_at: datetime | None = None,
    ):
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.status = status
        self.retry_at = retry_at
        """When the server asked to be tried again (Retry-After), if it did."""

    @property
    def network(self) -> bool:
        """A failure to reach the server at all: when every feed fails this way at once, the
        network is down, not the feeds."""
        return self.kind in NETWORK_KINDS


NETWORK_KINDS = frozenset({"dns", "connect", "timeout", "tls"})


class FetchError(SourceError):
    """The feed could not be fetched: network error, bad status, timeout or size cap."""


class ParseError(SourceError):
    """The fetched bytes or the file could not be parsed."""

    kind = "parse"


class DeliveryError(NewsbotError):
    """A message could not be delivered now."""


class RetryLater(DeliveryError):
    """The channel asked us to wait ``retry_after`` seconds before trying that chat again."""

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ChatMoved(DeliveryError):
    """The group now lives under ``new_chat_id``: move its subscriptions and send there."""

    def __init__(self, message: str, new_chat_id: int) -> None:
        self.new_chat_id = new_chat_id
        super().__init__(message)


class MessageTooLong(DeliveryError):
    """The channel refused the message as too long; the caller splits it and sends parts."""


class ChatUnavailable(DeliveryError):
    """The chat blocked the bot or no longer exists; stop sending to it."""
