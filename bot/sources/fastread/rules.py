"""feedparser's own rules that the fast reader reuses, imported once, and whether they are there.

The date parsers, the encoding and HTML helpers, the URI resolution and the namespace table are
feedparser's, so that the fast path cannot drift from the reference. A feedparser release that
moved one of them leaves :data:`FAST_READY` false, and :mod:`bot.sources.parse` then reads every
XML feed with feedparser itself.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "CANONICAL_PREFIXES",
    "DEFAULT_TYPE",
    "FAST_READY",
    "NAMESPACES",
    "RE_XML_PI_ENCODING",
    "cp1252",
    "looks_like_html",
    "make_safe_absolute_uri",
    "parse_content_type",
    "parse_date",
    "parse_date_rfc822",
    "resolve_relative_uris",
    "sanitize_html",
    "urljoin",
]

# The Content-Type feedparser is told when HTTP gave none: the document's own encoding
# declaration decides.
DEFAULT_TYPE = "application/xml"

try:  # feedparser's own rules, reused so that the fast path cannot drift from the reference
    from feedparser.datetimes import _parse_date as parse_date
    from feedparser.datetimes.rfc822 import _parse_date_rfc822 as parse_date_rfc822
    from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
    from feedparser.html import _cp1252 as cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.sanitizer import _sanitize_html as sanitize_html
    from feedparser.urls import _urljoin as urljoin
    from feedparser.urls import make_safe_absolute_uri, resolve_relative_uris

    NAMESPACES: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
    CANONICAL_PREFIXES = frozenset(v.lower() for v in NAMESPACES.values() if v)
    looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
    FAST_READY = True
except (ImportError, AttributeError):  # a feedparser release that moved them: reference only
    FAST_READY = False
