"""Feed bytes to :class:`~bot.models.RawEntry`: JSON Feed, then a fast lxml reader, then feedparser.

feedparser is the reference: it reads anything, but at about 500 items a second, most of it spent
in its SAX callbacks and in sanitizing HTML we turn into plain text anyway. The common path here
parses the document with lxml (C) and replays feedparser's own element rules over the tree, so
titles, links, GUIDs, authors and dates come out as feedparser gives them: the same precedence
between ``<title>``, ``<dc:title>`` and ``<media:title>``, the same ``guid``-as-link rule, the same
base-URI resolution and date parser (feedparser's, reused). Summary and content are the feed's own
HTML, not sanitized: the pipeline only ever reads their text.

The fast reader declines (and feedparser parses) whatever it does not model: documents that are
not well-formed, DOCTYPEs, encodings other than UTF-8/ASCII/Latin-1 or that HTTP contradicts,
unknown roots, inline markup in titles, no entries. ``ParsedFeed.fallback`` says why.

JSON Feed (1.0 and 1.1), which feedparser 6 does not read, is parsed with :mod:`json`.

Every XML path is bounded first (:mod:`bot.sources.bounds`): entity declarations are removed
before any parser sees the bytes, markup with more elements, depth or attributes than a real
feed has is refused, and every field of every entry is capped in length. Time and memory are
bounded where this runs: :mod:`bot.sources.sandbox` runs it in a worker process it can stop.

Nothing here fetches anything: feedparser is only ever given bytes.

This module is the entry point and the fallback; the readers are in :mod:`bot.sources.fastread`
(the fast XML reader, laid out as feedparser's handlers are, and the JSON Feed reader).
"""

from __future__ import annotations

import io

import feedparser

from bot.errors import ParseError
from bot.sources.bounds import check_structure, quick_check, without_entities
from bot.sources.fastread import rules
from bot.sources.fastread.declined import Declined
from bot.sources.fastread.entries import (
    FAST,
    FEEDPARSER,
    JSONFEED,
    ParsedFeed,
    feed_title,
    raw_entries,
)
from bot.sources.fastread.jsonfeed import parse_json_feed

if rules.FAST_READY:  # the reader is built on feedparser's internals
    from bot.sources.fastread.reader import FastReader

__all__ = ["FAST", "FEEDPARSER", "JSONFEED", "ParsedFeed", "parse_feed", "parse_with_feedparser"]

_JSON_TYPES = ("application/feed+json", "application/json")


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    source_name: str | None = None,
    limit: int | None = None,
) -> ParsedFeed:
    """Parse a feed: JSON Feed directly, XML with the fast reader, feedparser where it declines.

    ``url`` is the feed's address (the base for relative links and each entry's ``source``),
    ``content_type`` the HTTP Content-Type if known (``None`` is read as ``application/xml``: the
    document's own encoding declaration decides), ``source_name`` the configured display name
    (default: the feed's title), ``limit`` how many entries to keep.

    :raises ParseError: nothing can be read: not a feed, a broken one with no entries, or
        markup past :mod:`bot.sources.bounds`' limits (the message says which, and where).
    """
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    json_type = mime in _JSON_TYPES or mime.endswith("+json")
    if (json_type or _starts_with(body, b"{")) and not _starts_with(body, b"<"):
        return parse_json_feed(body, url, source_name, limit)
    # The fast reader needs only the quick check: lxml limits the depth itself, and the
    # reader counts an element's attributes before it reads them (it declines past the
    # limit, and the full check before feedparser then refuses the feed with the line).
    body, defused = without_entities(body)
    quick_check(body)
    if not rules.FAST_READY:
        why = "feedparser internals the fast reader uses are missing"
        return _fallback(body, url, content_type, source_name, limit, why, defused)
    try:
        title, raw, warning = FastReader(url).read(body, content_type)
    except Declined as exc:
        return _fallback(body, url, content_type, source_name, limit, str(exc), defused)
    except Exception as exc:  # a document the reader mis-modelled must still be read
        why = f"fast reader failed: {type(exc).__name__}: {exc}"
        return _fallback(body, url, content_type, source_name, limit, why, defused)
    entries = raw_entries(raw, title, url, source_name, limit)
    return ParsedFeed(feed_title(title), entries, _warnings(defused, warning), FAST)


def _bounded(body: bytes) -> tuple[bytes, str | None]:
    """The bytes every XML parser here is given: entity declarations removed, structure
    checked (:mod:`bot.sources.bounds`); the warning if declarations were removed."""
    body, warning = without_entities(body)
    check_structure(body)
    return body, warning


def _warnings(*found: str | None) -> str | None:
    return "; ".join(w for w in found if w) or None


def parse_with_feedparser(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    source_name: str | None = None,
    limit: int | None = None,
) -> ParsedFeed:
    """The reference: feedparser, given the bytes, the URL as Content-Location and the type,
    after the same bounds as :func:`parse_feed` (no entity is ever expanded).

    Malformed feeds that still yield entries are kept with the bozo reason as ``warning``.

    :raises ParseError: the bytes are not a feed, or a broken one with no entries.
    """
    body, defused = _bounded(body)
    return _feedparser(body, url, content_type, source_name, limit, defused)


def _feedparser(
    body: bytes,
    url: str,
    content_type: str | None,
    source_name: str | None,
    limit: int | None,
    defused: str | None,
) -> ParsedFeed:
    """feedparser over bytes already bounded; ``defused`` is :func:`_bounded`'s warning."""
    headers = {"content-location": url, "content-type": content_type or rules.DEFAULT_TYPE}
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser should not raise, but a parser bug must not crash a cycle
        raise ParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from None
    reason = None
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        reason = f"{type(problem).__name__}: {problem}" if problem else "malformed feed"
    found = parsed.get("entries") or []
    if not found and (reason or not parsed.get("version")):
        raise ParseError(f"not a feed: {reason or 'no RSS or Atom content found'}")
    title = (parsed.get("feed") or {}).get("title")
    entries = raw_entries(found, title, url, source_name, limit)
    return ParsedFeed(feed_title(title), entries, _warnings(defused, reason), FEEDPARSER)


def _fallback(
    body: bytes,
    url: str,
    content_type: str | None,
    source_name: str | None,
    limit: int | None,
    why: str,
    defused: str | None,
) -> ParsedFeed:
    check_structure(body)
    parsed = _feedparser(body, url, content_type, source_name, limit, defused)
    return ParsedFeed(parsed.title, parsed.entries, parsed.warning, FEEDPARSER, why)


def _starts_with(body: bytes, char: bytes) -> bool:
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(char)
