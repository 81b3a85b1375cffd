"""What a source gives the pipeline, and the interfaces the adapters implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from bot.models import DocumentFingerprint, FeedConfig, FeedState, RawEntry

__all__ = ["DocumentScan", "FeedFetchResult", "FeedSource", "FolderSource"]


@dataclass(slots=True)
class FeedFetchResult:
    """One poll of one feed. ``not_modified`` means nothing to parse (304 or same body)."""

    state: FeedState
    entries: list[RawEntry] = field(default_factory=list)
    not_modified: bool = False
    title: str | None = None
    warning: str | None = None
    hint: float | None = None
    """Seconds the server says the feed will not change (Cache-Control, Expires, <ttl>)."""


class FeedSource(ABC):
    """Fetches and parses one feed, given what was remembered from the last poll."""

    @abstractmethod
    async def fetch(self, feed: FeedConfig, state: FeedState) -> FeedFetchResult:
        """Poll ``feed`` with a conditional GET based on ``state``.

        :returns: the entries and the state to remember for next time.
        :raises FetchError: the feed could not be fetched (network, status, size, timeout).
        :raises ParseError: the body is not a feed.
        """

    async def discover(self, feed: FeedConfig) -> list[str]:
        """The feeds a web page at ``feed.url`` points to (``<link rel="alternate">``), best
        first; none by default.

        :raises FetchError: the page could not be fetched.
        """
        return []


@dataclass(slots=True)
class DocumentScan:
    """A scan of the documents folder.

    ``entries`` are the files that are new or whose content changed; ``touched`` the files whose
    mtime changed but whose content did not (their fingerprint is updated, nothing is re-read).
    """

    entries: list[tuple[DocumentFingerprint, RawEntry]] = field(default_factory=list)
    touched: list[DocumentFingerprint] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


class FolderSource(ABC):
    """Reads the documents in a folder, skipping the ones that did not change."""

    folder: Path

    @abstractmethod
    def scan(self, known: dict[str, DocumentFingerprint]) -> DocumentScan:
        """Read new and changed files; ``known`` maps relative path to the last fingerprint."""
