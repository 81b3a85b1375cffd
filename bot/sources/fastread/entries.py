"""What every reader gives back: :class:`ParsedFeed`, and RawEntry built from feedparser-shaped
entry dicts (feedparser's own or the fast reader's) with every field capped."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.models import RawEntry
from bot.sources.bounds import Limits, cap_guid, cap_link, cap_text

__all__ = [
    "FAST",
    "FEEDPARSER",
    "JSONFEED",
    "LIMITS",
    "ParsedFeed",
    "capped",
    "entry_published",
    "feed_title",
    "raw_entries",
]

FEEDPARSER = "feedparser"
FAST = "lxml"
JSONFEED = "jsonfeed"

LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """Entries and title of a parsed feed.

    ``warning`` is set when the feed was malformed but readable (feedparser's bozo reason);
    ``parser`` says who read it (:data:`FAST`, :data:`JSONFEED` or :data:`FEEDPARSER`) and
    ``fallback`` why the fast reader left it to feedparser, if it did.
    """

    title: str | None
    entries: list[RawEntry]
    warning: str | None
    parser: str
    fallback: str | None = None


def feed_title(title: str | None) -> str | None:
    """A feed's title within :data:`LIMITS` (``None`` and ``""`` as they are)."""
    return cap_text(title, LIMITS.title) if title else title


def entry_published(entry: dict[str, Any]) -> datetime | None:
    """The first of an entry's published, updated and created ``struct_time`` that is a date,
    as an aware UTC datetime."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get("updated_parsed") would stand in published_parsed,
        # already found empty here, with a DeprecationWarning.
        value = dict.get(entry, key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def raw_entries(
    found: list[Any], title: str | None, url: str, source_name: str | None, limit: int | None
) -> list[RawEntry]:
    """RawEntry from feedparser-shaped entry dicts (feedparser's own, or the fast reader's).

    The keys read are plain ones, so ``dict.get`` gives what ``FeedParserDict.get`` would.
    """
    display = feed_title(source_name or title) or url
    entries: list[RawEntry] = []
    get = dict.get
    for entry in found[:limit] if limit else found:
        content = "\n".join(
            part.get("value", "") for part in get(entry, "content") or [] if part.get("value")
        )
        entries.append(
            capped(
                source=url,
                guid=get(entry, "id") or None,
                title=get(entry, "title", "") or "",
                link=get(entry, "link") or None,
                author=get(entry, "author") or None,
                published=entry_published(entry),
                summary=get(entry, "summary", "") or "",
                content=content,
                source_name=display,
            )
        )
    return entries


def capped(
    *,
    source: str,
    guid: str | None,
    title: str,
    link: str | None,
    author: str | None,
    published: datetime | None,
    summary: str,
    content: str,
    source_name: str,
) -> RawEntry:
    """A RawEntry (HTML fields) with every field within :data:`LIMITS`."""
    limits = LIMITS
    return RawEntry(
        source=source,
        guid=cap_guid(guid, limits.guid),
        title=cap_text(title, limits.title),
        link=cap_link(link, limits.link),
        author=cap_text(author, limits.author) if author else None,
        published=published,
        summary=cap_text(summary, limits.text),
        content=cap_text(content, limits.text),
        html=True,
        source_name=source_name,
    )
