"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser 6 does not read,
parsed with :mod:`json`. Text fields become escaped HTML, as the XML readers' are HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from bot.errors import ParseError
from bot.models import RawEntry
from bot.sources.fastread import rules
from bot.sources.fastread.entries import (
    JSONFEED,
    ParsedFeed,
    capped,
    entry_published,
    feed_title,
)

__all__ = ["parse_json_feed"]


def parse_json_feed(
    body: bytes, url: str, source_name: str | None, limit: int | None
) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1). Text fields become escaped HTML.

    :raises ParseError: not JSON, or JSON without a JSON Feed ``items`` list.
    """
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON: {type(exc).__name__}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError("not a feed: JSON without a JSON Feed items list")
    version = doc.get("version")
    problems = []
    if not (isinstance(version, str) and "jsonfeed.org/version/" in version):
        problems.append("no JSON Feed version, read as 1.1")
    title = feed_title(_json_text(doc.get("title"))) or None
    feed_author = _json_author(doc)
    display = feed_title(source_name) or title or url
    entries: list[RawEntry] = []
    skipped = 0
    for item in doc["items"]:
        if not isinstance(item, dict):
            skipped += 1
            continue
        link = _json_text(item.get("url")) or _json_text(item.get("external_url"))
        summary = _json_text(item.get("summary"))
        content = _json_text(item.get("content_html"))
        if not content and _json_text(item.get("content_text")):
            content = html.escape(_json_text(item.get("content_text")))
        guid = item.get("id")
        entries.append(
            capped(
                source=url,
                guid=str(guid) if isinstance(guid, str | int) and str(guid) else None,
                title=_json_text(item.get("title")),
                link=_absolute(url, link) if link else None,
                author=_json_author(item) or feed_author,
                published=_json_date(item.get("date_published"))
                or _json_date(item.get("date_modified")),
                summary=html.escape(summary) if summary else "",
                content=content,
                source_name=display,
            )
        )
        if limit and len(entries) >= limit:
            break
    if skipped:
        problems.append(f"{skipped} JSON Feed items are not objects")
    return ParsedFeed(title, entries, "; ".join(problems) or None, JSONFEED)


def _absolute(base: str, link: str) -> str:
    try:
        return urljoin(base, link)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return link


def _json_text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _json_author(obj: Mapping[str, Any]) -> str | None:
    """``authors`` (1.1) or ``author`` (1.0): the first name, else the first URL."""
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")]
    for author in authors:
        if isinstance(author, dict):
            name = _json_text(author.get("name")) or _json_text(author.get("url"))
            if name:
                return name
    return None


def _json_date(value: object) -> datetime | None:
    """RFC 3339, as JSON Feed requires; other forms through feedparser's date parser."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        parsed = rules.parse_date(value) if rules.FAST_READY else None
        return entry_published({"published_parsed": parsed})
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:  # the year 1 with a positive offset
        return None
