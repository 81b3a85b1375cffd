"""OPML, the format feed readers exchange subscription lists in: read with listparser, written
with the standard library.

Reading never fetches anything: listparser is given bytes, and OPML "inclusions" (outlines
that point at other lists) are listed, not followed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import listparser

from bot.errors import ParseError
from bot.models import FeedConfig

__all__ = ["OpmlImport", "read_opml", "write_opml"]

_HTTP = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OpmlImport:
    """The feeds of an OPML file, and the entries that were not usable with the reason."""

    feeds: tuple[FeedConfig, ...]
    skipped: tuple[str, ...] = field(default=())


def read_opml(data: bytes, *, interval: int) -> OpmlImport:
    """The feeds listed in an OPML document (each URL once), polled every ``interval`` s.

    :raises ParseError: not an OPML document.
    """
    try:
        parsed = listparser.parse(data)
    except Exception as exc:  # listparser is lenient; a bug in it must not crash an import
        raise ParseError(f"cannot read OPML: {type(exc).__name__}: {exc}") from None
    if not parsed.get("feeds") and (parsed.get("bozo") or not parsed.get("version")):
        problem = parsed.get("bozo_exception")
        raise ParseError(f"not an OPML subscription list: {problem or 'no <opml> document'}")
    feeds: dict[str, FeedConfig] = {}
    skipped: list[str] = []
    for entry in parsed.get("feeds", []):
        url = (entry.get("url") or "").strip()
        title = (entry.get("title") or "").strip() or None
        if not _HTTP.match(url):
            skipped.append(f"{title or url or '(no address)'}: not an http(s) feed address")
            continue
        feeds.setdefault(url, FeedConfig(url, title, interval, added=True))
    for entry in parsed.get("lists", []):
        skipped.append(f"{entry.get('url')}: a link to another list, not followed")
    return OpmlImport(tuple(feeds.values()), tuple(skipped))


def write_opml(feeds: Sequence[FeedConfig], title: str = "newsbot feeds") -> str:
    """An OPML 2.0 document listing ``feeds``."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.name or feed.url
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
