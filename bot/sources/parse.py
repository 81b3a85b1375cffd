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
"""

from __future__ import annotations

import base64
import binascii
import calendar
import codecs
import contextlib
import html
import io
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from bot.errors import ParseError
from bot.models import RawEntry
from bot.sources.bounds import (
    MAX_ATTRIBUTES,
    Limits,
    cap_guid,
    cap_link,
    cap_text,
    check_structure,
    quick_check,
    without_entities,
)

try:  # feedparser's own rules, reused so that the fast path cannot drift from the reference
    from feedparser.datetimes import _parse_date
    from feedparser.datetimes.rfc822 import _parse_date_rfc822
    from feedparser.encodings import RE_XML_PI_ENCODING, parse_content_type
    from feedparser.html import _cp1252
    from feedparser.mixin import _FeedParserMixin
    from feedparser.sanitizer import _sanitize_html
    from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris

    _NAMESPACES: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
    _CANONICAL_PREFIXES = frozenset(v.lower() for v in _NAMESPACES.values() if v)
    _looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
    _FAST_READY = True
except (ImportError, AttributeError):  # a feedparser release that moved them: reference only
    _FAST_READY = False

__all__ = ["FAST", "FEEDPARSER", "JSONFEED", "ParsedFeed", "parse_feed", "parse_with_feedparser"]

FEEDPARSER = "feedparser"
FAST = "lxml"
JSONFEED = "jsonfeed"

_DEFAULT_TYPE = "application/xml"
_JSON_TYPES = ("application/feed+json", "application/json")
_XHTML = "application/xhtml+xml"
_HTML_TYPES = frozenset({_XHTML, "text/html"})
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii"}
_ENCODINGS.update(dict.fromkeys(("iso-8859-1", "iso8859-1", "latin-1", "latin1"), "latin-1"))
_VERSION_NAMESPACES = {
    "http://purl.org/rss/1.0/": "rss10",
    "http://www.w3.org/2005/atom": "atom10",
}
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
_ASCII_SUPERSETS = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252"})
_KEPT = frozenset(
    {"title", "link", "id", "author", "summary", "description", "content"}
    | {"published", "updated", "created"}
)
_AMP_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)
_PLAIN_URL = re.compile(r"https?://(?!/)[!-:<-Z^-~]*")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_XMLNS = re.compile(rb"""xmlns(?::([^\s=/>"']+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_RFC822 = re.compile(r"[A-Z][a-z]{2}, \d\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d (?:[+-]\d{4}|GMT)")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


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


class _Declined(Exception):
    """The fast reader does not model this document; feedparser will read it."""


class _HandlerFailed(Exception):
    """Where feedparser's handler raises AttributeError half-way: its ``unknown_endtag`` then
    pops a frame of the element's own name instead, and the rest of the handler never runs."""


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
        return _parse_json_feed(body, url, source_name, limit)
    # The fast reader needs only the quick check: lxml limits the depth itself, and the
    # reader counts an element's attributes before it reads them (it declines past the
    # limit, and the full check before feedparser then refuses the feed with the line).
    body, defused = without_entities(body)
    quick_check(body)
    if not _FAST_READY:
        why = "feedparser internals the fast reader uses are missing"
        return _fallback(body, url, content_type, source_name, limit, why, defused)
    try:
        title, raw, warning = _FastReader(url).read(body, content_type)
    except _Declined as exc:
        return _fallback(body, url, content_type, source_name, limit, str(exc), defused)
    except Exception as exc:  # a document the reader mis-modelled must still be read
        why = f"fast reader failed: {type(exc).__name__}: {exc}"
        return _fallback(body, url, content_type, source_name, limit, why, defused)
    entries = _raw_entries(raw, title, url, source_name, limit)
    return ParsedFeed(_feed_title(title), entries, _warnings(defused, warning), FAST)


def _bounded(body: bytes) -> tuple[bytes, str | None]:
    """The bytes every XML parser here is given: entity declarations removed, structure
    checked (:mod:`bot.sources.bounds`); the warning if declarations were removed."""
    body, warning = without_entities(body)
    check_structure(body)
    return body, warning


def _warnings(*found: str | None) -> str | None:
    return "; ".join(w for w in found if w) or None


def _feed_title(title: str | None) -> str | None:
    return cap_text(title, _LIMITS.title) if title else title


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
    headers = {"content-location": url, "content-type": content_type or _DEFAULT_TYPE}
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
    entries = _raw_entries(found, title, url, source_name, limit)
    return ParsedFeed(_feed_title(title), entries, _warnings(defused, reason), FEEDPARSER)


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


def _when(entry: dict[str, Any]) -> datetime | None:
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


def _raw_entries(
    found: list[Any], title: str | None, url: str, source_name: str | None, limit: int | None
) -> list[RawEntry]:
    """RawEntry from feedparser-shaped entry dicts (feedparser's own, or the fast reader's).

    The keys read are plain ones, so ``dict.get`` gives what ``FeedParserDict.get`` would.
    """
    display = _feed_title(source_name or title) or url
    entries: list[RawEntry] = []
    get = dict.get
    for entry in found[:limit] if limit else found:
        content = "\n".join(
            part.get("value", "") for part in get(entry, "content") or [] if part.get("value")
        )
        entries.append(
            _capped(
                source=url,
                guid=get(entry, "id") or None,
                title=get(entry, "title", "") or "",
                link=get(entry, "link") or None,
                author=get(entry, "author") or None,
                published=_when(entry),
                summary=get(entry, "summary", "") or "",
                content=content,
                source_name=display,
            )
        )
    return entries


_LIMITS = Limits()


def _capped(
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
    """A RawEntry (HTML fields) with every field within :data:`_LIMITS`."""
    limits = _LIMITS
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


# --- JSON Feed ------------------------------------------------------------------------------


def _parse_json_feed(
    body: bytes, url: str, source_name: str | None, limit: int | None
) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1). Text fields become escaped HTML."""
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
    title = _feed_title(_json_text(doc.get("title"))) or None
    feed_author = _json_author(doc)
    display = _feed_title(source_name) or title or url
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
            _capped(
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
        parsed = _parse_date(value) if _FAST_READY else None
        return _when({"published_parsed": parsed})
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:  # the year 1 with a positive offset
        return None


# --- the fast XML reader --------------------------------------------------------------------


def _resolve(base: str, uri: str) -> str:
    """feedparser's ``_urljoin``, without its two URL parses for the usual absolute link.

    ``urljoin`` returns an absolute http(s) URL as it is, or (same scheme as the base) as
    ``urlunparse(urlparse(url))`` gives it back, which is the same string unless the URL has
    whitespace, ``;`` params, brackets, an empty query or fragment, or extra slashes.
    """
    if _PLAIN_URL.fullmatch(uri) and not uri.endswith(("?", "#")) and "?#" not in uri:
        return uri
    return str(_urljoin(base, uri))


@lru_cache(maxsize=512)
def _rebase(current: str, declared: str | None) -> str:
    """feedparser's base-URI step for one element (``xml:base``, else the inherited base)."""
    new = declared or current
    if current:
        return str(make_safe_absolute_uri(current, new) or current)
    return str(_urljoin(current, new))


def _date(value: str | None) -> time.struct_time | None:
    """feedparser's ``_parse_date``; the usual RFC 822 form goes straight to the handler that
    would read it (the W3C-DTF one tried before it cannot: it wants the year first)."""
    if value and _RFC822.fullmatch(value):
        with contextlib.suppress(KeyError, OverflowError, ValueError, AttributeError):
            parsed: time.struct_time | None = _parse_date_rfc822(value)
            if parsed:
                return parsed
    result: time.struct_time | None = _parse_date(value)
    return result


def _fix_text(output: str) -> str:
    """feedparser's last steps on every text: undo UTF-8 read as Latin-1, map cp1252 C1 codes."""
    if not output.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            output = output.encode("iso-8859-1").decode("utf-8")
        if _C1_CONTROLS.search(output):
            output = output.translate(_cp1252)
    return output


@lru_cache(maxsize=64)
def _content_params(kind: str, mode: str) -> tuple[str, int]:
    """feedparser's content type (short names mapped) and whether the text is base64."""
    kind = _map_type(kind)
    if mode == "base64":
        return kind, 1
    return kind, int(not (kind.startswith("text/") or kind.endswith(("+xml", "/xml"))))


def _map_type(value: str) -> str:
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return _XHTML
    return value


_PARSERS = threading.local()


def _xml_parser() -> etree.XMLParser:
    """This thread's lxml parser (one may not be shared between threads): no entities, no
    network, no DTD; comments and processing instructions dropped, as SAX reports no text."""
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            strip_cdata=True,
        )
    return parser


_FULL, _FRAME, _GENERIC, _PASS = 0, 1, 2, 3


def _namespace_maps(body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """feedparser's ``namespaces_in_use`` and ``namespacemap`` once every declaration is read.

    feedparser names an element of a namespace it does not know by the first prefix declared
    for it so far, and maps prefixes through the declarations seen so far; where the order of
    declarations could change a name (a prefix bound twice, a prefix that is also one of
    feedparser's own, two bindings of one key), the fast reader declines. Declarations are
    found in the bytes (lxml does not list them in order); one found in text only makes this
    stricter.
    """
    in_use: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    bound: dict[str, str] = {}
    prefixed: set[str] = set()
    unprefixed: set[str] = set()
    at = body.find(b"xmlns")
    while at != -1:
        match = _XMLNS.match(body, at)
        at = body.find(b"xmlns", at + 5)
        if match is None:
            continue
        value = match.group(2) if match.group(2) is not None else match.group(3)
        if not value:
            continue  # feedparser ignores an empty namespace
        if not value.isascii() or b"&" in value:
            raise _Declined("namespace URI with entities or non-ASCII characters")
        prefix = match.group(1).decode("utf-8", "replace") if match.group(1) else None
        uri = value.decode("ascii")
        if prefix is not None and bound.setdefault(prefix, uri) != uri:
            raise _Declined(f"namespace prefix {prefix!r} bound to two URIs")
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        canonical = _NAMESPACES.get(lowered)
        if canonical is None:
            key = prefix or ""
            # As a default namespace before any prefix names it, its elements go unprefixed.
            (prefixed if prefix else unprefixed).add(uri)
            if uri in prefixed and uri in unprefixed:
                raise _Declined(f"namespace {uri!r} both default and prefixed")
        else:
            key = canonical
            if prefix is not None:
                if prefix != canonical and prefix.lower() in _CANONICAL_PREFIXES:
                    raise _Declined(f"namespace prefix {prefix!r} is feedparser's for another")
                prefixes[prefix] = canonical
        if not key:
            continue  # looked up by non-empty keys only
        old = in_use.setdefault(key, uri)
        if old != uri and (old.lower() not in _NAMESPACES or lowered not in _NAMESPACES):
            raise _Declined(f"namespace key {key!r} rebound")  # an unknown URI's name would move
        in_use[key] = uri
    return in_use, prefixes


@dataclass(frozen=True, slots=True)
class _Tag:
    """What feedparser does with one element name, worked out once per document and tag.

    ``kind`` is how a childless one can be skipped: not at all (:data:`_FULL`), it pushes its
    own frame (:data:`_FRAME`), it does without attributes (:data:`_GENERIC`, feedparser's
    default handler) or it never does (:data:`_PASS`).
    """

    name: str
    method: str
    kind: int
    resets_textinput: bool
    resets_image: bool
    start: Callable[[_FastReader, dict[str, str]], None] | None
    end: Callable[[_FastReader], None] | None
    frame: tuple[str, int] | None
    content: tuple[str, str] | None

    @classmethod
    def of(cls, name: str, prefix: str, suffix: str) -> _Tag:
        """``name`` as feedparser's strict parser gives it, ``prefix`` as its namespace map
        turns the name's prefix, ``suffix`` the local name."""
        method = f"{prefix}_{suffix}" if prefix else suffix
        if method in _STARTS or method in _ENDS or method in _CONTENT_LIKE or method in _NO_POP:
            kind = _FULL
        elif method in _SIMPLE:
            kind = _FRAME
        elif method in _NO_PUSH:
            kind = _PASS
        else:
            kind = _GENERIC
        return cls(
            name,
            method,
            kind,
            not prefix and name not in ("title", "link", "description", "name"),
            not prefix
            and name not in ("title", "link", "description", "url", "href", "width", "height"),
            _STARTS.get(method),
            _ENDS.get(method),
            _SIMPLE.get(method),
            _CONTENT_LIKE.get(method),
        )


class _FastReader:
    """feedparser's element handlers (namespaces/_base.py, dc, media, itunes...) over an lxml tree.

    Only what decides title, link, id, author, dates, summary and content is kept; the rest of
    feedparser's handlers are modelled only as far as they push text frames or switch context,
    because that is what decides where text goes. Method names follow feedparser's (``_start_X``
    and ``_end_X``), so each can be checked against the original.
    """

    def __init__(self, url: str) -> None:
        self.version = ""
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.depths: list[dict[str, int]] = []
        self.source: dict[str, Any] = {}
        self.stack: list[tuple[str, int, list[str]]] = []
        self.params: dict[str, Any] = {}
        self.infeed = self.inentry = self.insource = self.inimage = self.intextinput = 0
        self.inauthor = self.incontributor = self.inpublisher = self.incontent = 0
        self.has_content = self.guidislink = 0
        self.summary_key: str | None = None
        self.title_depth = -1
        self.depth = 0
        self.baseuri = url
        self.basestack: list[str] = []
        self.tags: dict[str, _Tag] = {}
        self.in_use: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        self.fixed_base = False

    # -- the document --------------------------------------------------------------------

    def read(
        self, body: bytes, content_type: str | None
    ) -> tuple[str | None, list[dict[str, Any]], str | None]:
        warning = self._check_encoding(body, content_type or _DEFAULT_TYPE)
        head = body[:4096]
        if _DOCTYPE.search(head):
            raise _Declined("has a DOCTYPE (feedparser reads what it declares)")
        try:
            root = etree.fromstring(body, _xml_parser())
        except etree.XMLSyntaxError as exc:
            raise _Declined(f"not well-formed XML: {exc}") from None
        for prefix, uri in (root.nsmap or {}).items():
            self._track_namespace(prefix, uri)
        self.in_use, self.prefixes = _namespace_maps(body)
        name = self._info(root).name
        if name not in ("rss", "rdf:rdf", "feed"):
            raise _Declined(f"root element {root.tag!r} is not RSS, RDF or Atom")
        if name == "rdf:rdf" and not self.version:
            raise _Declined("RDF without the RSS 1.0 or 0.90 namespace")
        once = _rebase(self.baseuri, None)
        if _rebase(once, None) == once:
            # Until an element declares xml:base, every element gets this base.
            self.baseuri, self.fixed_base = once, True
        self._walk(root)
        if not self.entries:
            raise _Declined("no entries")
        title = self.feed.get("title")
        return title, self.entries, warning

    def _check_encoding(self, body: bytes, content_type: str) -> str | None:
        """Decline unless lxml decodes the bytes as feedparser would; feedparser's warning."""
        if body[:2] in (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE) or body[:4] in (
            b"\x00\x00\x00<",
            b"<\x00\x00\x00",
            b"\x00<\x00?",
            b"<\x00?\x00",
            b"\x4c\x6f\xa7\x94",
        ):
            raise _Declined("UTF-16, UTF-32 or EBCDIC document")
        data = body[3:] if body[:3] == codecs.BOM_UTF8 else body
        match = RE_XML_PI_ENCODING.match(data)
        declared = match.group(1).decode("ascii", "replace").lower() if match else ""
        ours = _ENCODINGS.get(declared or "utf-8")
        if ours is None:
            raise _Declined(f"declared encoding {declared!r}")
        mime, charset = parse_content_type(content_type)  # as feedparser: case kept
        xml_type = (
            mime in ("application/xml", "application/xml-dtd")
            or mime == "application/xml-external-parsed-entity"
            or (mime.startswith("application/") and mime.endswith("+xml"))
            or mime in ("text/xml", "text/xml-external-parsed-entity")
            or (mime.startswith("text/") and mime.endswith("+xml"))
        )
        if charset:
            wanted = charset
        elif mime.startswith("text/"):
            wanted = "us-ascii"
        else:
            wanted = declared or "utf-8"
        warning = (
            None if xml_type else f"NonXMLContentType: {content_type} is not an XML media type"
        )
        try:
            theirs = codecs.lookup(wanted).name
        except LookupError:
            raise _Declined(f"HTTP charset {wanted!r}") from None
        if theirs == codecs.lookup(ours).name:
            return warning
        if data.isascii() and theirs in _ASCII_SUPERSETS:
            return warning  # the same characters either way
        if theirs == "ascii":
            if data.isascii():
                return warning
            # us-ascii fails, feedparser then tries the declared encoding: ours.
            parsed_as = declared or "utf-8"
            return (
                f"CharacterEncodingOverride: document declared as {wanted}, "
                f"but parsed as {parsed_as}"
            )
        raise _Declined(f"HTTP charset {wanted!r} differs from the document's {ours!r}")

    def _track_namespace(self, prefix: str | None, uri: str) -> None:
        if not self.version:
            if prefix is None and uri.lower() == "http://my.netscape.com/rdf/simple/0.9/":
                self.version = "rss090"
            else:
                self.version = _VERSION_NAMESPACES.get(uri.lower(), "")

    def _info(self, el: Any) -> _Tag:
        """What feedparser does with this element (worked out once per tag)."""
        info = self.tags.get(el.tag)
        if info is None:
            info = self.tags[el.tag] = self._tag(el.tag)
        return info

    def _tag(self, tag: str) -> _Tag:
        """feedparser's name: known namespaces get their canonical prefix (RSS and Atom none),
        others the first prefix declared for them; all lower-cased; then its prefix map."""
        if tag[0] != "{":
            return _Tag.of(tag.lower(), "", tag.lower())
        uri, local = tag[1:].split("}", 1)
        local = local.lower()
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            lowered = "http://backend.userland.com/rss"
        prefix = _NAMESPACES.get(lowered)
        if prefix is None:
            prefix = next((k for k, v in self.in_use.items() if k and v == uri), "")
        prefix = prefix.lower()
        if not prefix:
            return _Tag.of(local, "", local)
        return _Tag.of(f"{prefix}:{local}", self.prefixes.get(prefix, prefix), local)

    def _walk(self, el: Any) -> None:
        info = self.tags.get(el.tag) or self._info(el)
        if len(el.attrib) > MAX_ATTRIBUTES:  # before items(), which is quadratic in them
            raise _Declined(f"an element with more than {MAX_ATTRIBUTES} attributes")
        items = el.items()
        if info.kind and not self.incontent and not len(el) and self._skip_leaf(el, info, items):
            return
        attrs: dict[str, str] = {}
        for key, value in items:
            if key[0] == "{":
                uri, local = key[1:].split("}", 1)
                local = local.lower()
                prefix = _NAMESPACES.get(uri.lower(), "")
                if prefix:
                    attrs[f"{prefix}:{local}"] = value
            else:
                local = key.lower()
            attrs[local] = value.lower() if local in ("rel", "type") else value
        self._starttag(info, attrs)
        stack = self.stack
        text = el.text
        if text and stack:
            if self.incontent and self.params.get("type") == _XHTML:
                text = html.escape(text, quote=False)
            stack[-1][2].append(text)
        for child in el:
            if child.tag is etree.Entity:
                raise _Declined("unresolved entity")
            self._walk(child)
            text = child.tail
            if text and stack:
                if self.incontent and self.params.get("type") == _XHTML:
                    text = html.escape(text, quote=False)
                stack[-1][2].append(text)
        self._endtag(info)

    def _skip_leaf(self, el: Any, info: _Tag, items: list[tuple[str, str]]) -> bool:
        """Play a childless element whose handlers cannot touch a kept field, without them.

        Such an element pushes a frame only its own text goes to (and that frame's value lands
        in a key nobody reads), or pushes none, and then its text goes to the enclosing frame.
        Its depth and base are restored on the way out. What it does do is feedparser's reset
        of the image/textinput flags.
        """
        if items and any(k.rsplit("}", 1)[-1].lower() == "base" for k, _ in items):
            return False  # xml:base, or any attribute feedparser would take for one
        frame = info.kind == _FRAME or (info.kind == _GENERIC and not items)
        if not frame and self.stack and self.stack[-1][0] == info.method:
            return False  # its end would pop the enclosing frame of the same name
        if info.resets_textinput:
            self.intextinput = 0
        if info.resets_image:
            self.inimage = 0
        if not frame and el.text:
            self._data(el.text)
        return True

    # -- feedparser's mixin: unknown_starttag / unknown_endtag / handle_data ------------------

    def _starttag(self, info: _Tag, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.fixed_base and attrs and ("xml:base" in attrs or "base" in attrs):
            self.fixed_base = False  # from here on, bases are tracked as feedparser does
            self.basestack = [self.baseuri] * (self.depth - 1)
        if not self.fixed_base:
            base = attrs.get("xml:base", attrs.get("base")) if attrs else None
            self.baseuri = _rebase(self.baseuri, base)
            self.basestack.append(self.baseuri)
        tag = info.name
        if self.incontent:
            if not self.params.get("type", "xml").endswith("xml"):
                if tag in ("xhtml:div", "div"):
                    return
                self.params["type"] = _XHTML
            if self.params.get("type") == _XHTML:
                local = tag.split(":", 1)[1] if ":" in tag else tag
                if local == "svg":
                    raise _Declined("inline SVG")
                if self.stack and self.stack[-1][0] == "title":
                    raise _Declined("markup in a title")
                text = "".join(
                    ' {}="{}"'.format(k, html.escape(v, quote=False).replace('"', "&quot;"))
                    for k, v in attrs.items()
                )
                self._data(f"<{local}{text}>", escape=False)
                return
        if info.resets_textinput:
            self.intextinput = 0
        if info.resets_image:
            self.inimage = 0
        if info.start is not None:
            info.start(self, attrs)
        elif info.frame is not None:
            self.stack.append((info.frame[0], info.frame[1], []))
        elif info.content is not None:
            self._push_content(info.content[0], attrs, info.content[1], 1)
        elif info.kind != _PASS and not attrs:
            self.stack.append((info.method, 1, []))

    def _endtag(self, info: _Tag) -> None:
        if info.end is not None:
            try:
                info.end(self)
            except _HandlerFailed:
                self._pop(info.method)
        elif info.frame is not None:
            self._pop(info.frame[0])
        elif info.content is not None:
            self._pop_content(info.content[0])
        elif info.method not in _NO_POP:
            self._pop(info.method)
        if self.incontent:
            if not self.params.get("type", "xml").endswith("xml"):
                if info.name in ("xhtml:div", "div"):
                    return  # feedparser returns before leaving the element's depth and base
                self.params["type"] = _XHTML
            if self.params.get("type") == _XHTML:
                self._data(f"</{info.name.rsplit(':', 1)[-1]}>", escape=False)
        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]
        self.depth -= 1

    def _data(self, text: str, escape: bool = True) -> None:
        if not self.stack:
            return
        if escape and self.params.get("type") == _XHTML:
            text = html.escape(text, quote=False)
        self.stack[-1][2].append(text)

    def _push(self, element: str, expecting: int) -> None:
        self.stack.append((element, expecting, []))

    def _push_content(self, tag: str, attrs: dict[str, str], default: str, expecting: int) -> None:
        self.incontent += 1
        if attrs:
            kind, encoded = _content_params(attrs.get("type", default), attrs.get("mode", ""))
        else:
            kind, encoded = _content_params(default, "")
        self.params = {"type": kind, "base64": encoded}
        self.stack.append((tag, expecting, []))

    def _pop_content(self, tag: str) -> str | None:
        value = self._pop(tag)
        self.incontent -= 1
        self.params.clear()
        return value

    def _context(self) -> dict[str, Any]:
        if self.insource:
            return self.source
        if self.inimage and "image" in self.feed:
            image: dict[str, Any] = self.feed["image"]
            return image
        if self.intextinput:
            textinput: dict[str, Any] = self.feed["textinput"]
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feed

    def _pop(self, element: str) -> str | None:
        """feedparser's ``pop``: close a text frame, clean its text, store it in the context."""
        if not self.stack or self.stack[-1][0] != element:
            return None
        element, expecting, pieces = self.stack.pop()
        kind = self.params.get("type", "text")
        if self.version == "atom10" and kind == _XHTML:
            pieces = _strip_div(pieces)
        output = "".join(pieces).strip()
        if not expecting or element not in _KEPT:
            return output
        if self.params.get("base64"):
            if element == "title":
                raise _Declined("base64 title")
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                output = base64.decodebytes(output.encode("utf8")).decode("utf8")
        if element in ("link", "id") and output and (element != "id" or self.guidislink):
            output = _resolve(self.baseuri or "", output)
        if (
            not self.version.startswith("atom")
            and self.params.get("type") == "text/plain"
            and ("&" in output or "</" in output)  # what looks_like_html needs at the least
            and _looks_like_html(output)
        ):
            self.params["type"] = "text/html"
        if element == "title" and _map_type(self.params.get("type", "text/html")) in _HTML_TYPES:
            kind = self.params.get("type", "text/html")
            output = resolve_relative_uris(output, self.baseuri, "utf-8", kind)
            output = _sanitize_html(output, "utf-8", kind)
        if not output.isascii():
            output = _fix_text(output)
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault("content", []).append({"value": output})
            elif element == "link":
                if not self.inimage:
                    if "&" in output:
                        output = _AMP_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
            else:
                if element == "description":
                    element = "summary"
                depths = self.depths[-1]
                old = depths.get(element)
                if old is None or self.depth <= old:
                    depths[element] = self.depth
                    entry[element] = output
        elif self.infeed or self.insource:
            context = self._context()
            if element == "description":
                element = "subtitle"
            if element == "link":
                output = _AMP_ENTITY.sub(r"&\g<1>", output)
            context[element] = output
        return output

    def _save(self, key: str, value: Any, overwrite: bool = False) -> None:
        context = self._context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    # -- feedparser's element handlers -----------------------------------------------------

    def _start_rss(self, attrs: dict[str, str]) -> None:
        if not self.version or not self.version.startswith("rss"):
            given = attrs.get("version", "")
            self.version = _RSS_VERSIONS.get(given) or (
                "rss20" if given.startswith("2.") else "rss"
            )

    def _start_channel(self, attrs: dict[str, str]) -> None:
        self.infeed = 1
        self._cdf_common(attrs)

    def _cdf_common(self, attrs: dict[str, str]) -> None:
        if "lastmod" in attrs or "href" in attrs:
            raise _Declined("CDF attributes")

    def _start_feed(self, attrs: dict[str, str]) -> None:
        self.infeed = 1
        if not self.version:
            self.version = _ATOM_VERSIONS.get(attrs.get("version", ""), "atom")

    def _end_channel(self) -> None:
        self.infeed = 0

    def _start_image(self, attrs: dict[str, str]) -> None:
        if not self.inentry:
            self._context().setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self._push("image", 0)

    def _end_image(self) -> None:
        self._pop("image")
        self.inimage = 0

    def _start_textinput(self, attrs: dict[str, str]) -> None:
        self._context().setdefault("textinput", {})
        self.intextinput = 1
        self.title_depth = -1
        self._push("textinput", 0)

    def _end_textinput(self) -> None:
        self._pop("textinput")
        self.intextinput = 0

    def _start_author(self, attrs: dict[str, str]) -> None:
        self.inauthor = 1
        self._push("author", 1)
        self._context().setdefault("authors", []).append({})

    def _end_author(self) -> None:
        self._pop("author")
        self.inauthor = 0
        self._sync_author_detail()

    def _start_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self._push("contributor", 0)

    def _end_contributor(self) -> None:
        self._pop("contributor")
        self.incontributor = 0

    def _start_dc_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self._push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    def _start_itunes_owner(self, attrs: dict[str, str]) -> None:
        self.inpublisher = 1
        self._push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self._pop("publisher")
        self.inpublisher = 0

    def _end_name(self) -> None:
        value = self._pop("name")
        if self.inpublisher:
            return
        if self.inauthor:
            self._save_author("name", value)
        elif self.incontributor:
            return
        elif self.intextinput:
            self._context()["name"] = value

    def _end_email(self) -> None:
        value = self._pop("email")
        if not self.inpublisher and self.inauthor:
            self._save_author("email", value)

    def _end_url(self) -> None:
        value = self._pop("href")
        if self.inauthor:
            self._save_author("href", value)

    def _save_author(self, key: str, value: str | None) -> None:
        context = self._context()
        self._sync_author_detail()
        context.setdefault("authors", [{}])[-1][key] = value

    def _sync_author_detail(self) -> None:
        """feedparser's author string: "name (email)" from the detail, else the text as given."""
        context = self._context()
        detail = context.get("authors", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context["author"] = f"{name} ({email})"
            elif name:
                context["author"] = name
            elif email:
                context["author"] = email
            return
        author, email = context.get("author"), None
        if not author:
            return
        match = _EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def _start_item(self, attrs: dict[str, str]) -> None:
        self.entries.append({})
        self.depths.append({})
        self._push("item", 0)
        self.inentry = 1
        self.guidislink = 0
        self.title_depth = -1
        about = attrs.get("rdf:about")
        if about:
            self._context()["id"] = about
        self._cdf_common(attrs)

    def _end_item(self) -> None:
        self._pop("item")
        self.inentry = 0
        self.has_content = 0

    def _end_published(self) -> None:
        value = self._pop("published")
        self._save("published_parsed", _date(value), overwrite=True)

    def _end_updated(self) -> None:
        value = self._pop("updated")
        self._save("updated_parsed", _date(value), overwrite=True)

    def _end_created(self) -> None:
        value = self._pop("created")
        self._save("created_parsed", _date(value), overwrite=True)

    def _start_link(self, attrs: dict[str, str]) -> None:
        rel = attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" in attrs:
            href = _resolve(self.baseuri or "", attrs["href"])
            if rel == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
                self._context()["link"] = href
        else:
            self._push("link", self.infeed or self.inentry or self.insource)

    def _end_link(self) -> None:
        self._pop("link")

    def _start_guid(self, attrs: dict[str, str]) -> None:
        self.guidislink = int(attrs.get("ispermalink", "true") == "true")
        self._push("id", 1)

    def _end_guid(self) -> None:
        value = self._pop("id")
        context = self._context()
        self._save("guidislink", bool(self.guidislink and "link" not in context))
        if self.guidislink:
            self._save("link", value)

    def _start_title(self, attrs: dict[str, str]) -> None:
        self._push_content(
            "title", attrs, "text/plain", self.infeed or self.inentry or self.insource
        )

    def _end_title(self) -> None:
        value = self._pop_content("title")
        if value:
            self.title_depth = self.depth

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth

    def _start_description(self, attrs: dict[str, str]) -> None:
        if "summary" in self._context() and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs)
        else:
            expecting = self.infeed or self.inentry or self.insource
            self._push_content("description", attrs, "text/html", expecting)

    def _start_abstract(self, attrs: dict[str, str]) -> None:
        expecting = self.infeed or self.inentry or self.insource
        self._push_content("description", attrs, "text/plain", expecting)

    def _end_description(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self._pop_content("description")
        self.summary_key = None

    def _start_summary(self, attrs: dict[str, str]) -> None:
        if "summary" in self._context() and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs)
        else:
            self.summary_key = "summary"
            self._push_content("summary", attrs, "text/plain", 1)

    def _end_summary(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self._pop_content(self.summary_key or "summary")
        self.summary_key = None

    def _start_source(self, attrs: dict[str, str]) -> None:
        self._push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        self._pop("source")
        self.source = {}

    def _start_content(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self._push_content("content", attrs, "text/plain", 1)
        # feedparser pushes a second frame here that its end never pops: the text goes to this
        # one, and the frame of any element around <content> is no longer on top at its end.
        self._push("content", 1)

    def _start_body(self, attrs: dict[str, str]) -> None:
        self._push_content("content", attrs, _XHTML, 1)

    def _start_content_encoded(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self._push_content("content", attrs, "text/html", 1)

    def _end_content(self) -> None:
        kind = self.params.get("type")
        if kind is None:  # an inner element's end cleared the content parameters
            raise _HandlerFailed("map_content_type(None)")
        copy = _map_type(kind) in ({"text/plain"} | _HTML_TYPES)
        value = self._pop_content("content")
        if copy:
            self._save("summary", value)


def _strip_div(pieces: list[str]) -> list[str]:
    """Atom xhtml content: drop one enclosing ``<div>`` when everything is inside it."""
    while pieces and len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while pieces and len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if (
        pieces
        and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
        and pieces[-1] == "</div>"
    ):
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return pieces


_R = _FastReader
_STARTS: dict[str, Callable[[_FastReader, dict[str, str]], None]] = {
    "rss": _R._start_rss,
    "channel": _R._start_channel,
    "feed": _R._start_feed,
    "image": _R._start_image,
    "textinput": _R._start_textinput,
    "author": _R._start_author,
    "managingeditor": _R._start_author,
    "dc_author": _R._start_author,
    "dc_creator": _R._start_author,
    "itunes_author": _R._start_author,
    "contributor": _R._start_contributor,
    "dc_contributor": _R._start_dc_contributor,
    "itunes_owner": _R._start_itunes_owner,
    "item": _R._start_item,
    "entry": _R._start_item,
    "link": _R._start_link,
    "guid": _R._start_guid,
    "id": _R._start_guid,
    "title": _R._start_title,
    "dc_title": _R._start_title,
    "media_title": _R._start_title,
    "description": _R._start_description,
    "dc_description": _R._start_description,
    "media_description": _R._start_description,
    "abstract": _R._start_abstract,
    "summary": _R._start_summary,
    "itunes_summary": _R._start_summary,
    "source": _R._start_source,
    "content": _R._start_content,
    "body": _R._start_body,
    "xhtml_body": _R._start_body,
    "content_encoded": _R._start_content_encoded,
    "fullitem": _R._start_content_encoded,
    # feedparser's itunes:link pushes an itunes_image frame its generic end never pops.
    "itunes_link": lambda reader, attrs: reader._push("itunes_image", 0),
}
_ENDS: dict[str, Callable[[_FastReader], None]] = {
    "channel": _R._end_channel,
    "feed": _R._end_channel,
    "image": _R._end_image,
    "textinput": _R._end_textinput,
    "author": _R._end_author,
    "managingeditor": _R._end_author,
    "dc_author": _R._end_author,
    "dc_creator": _R._end_author,
    "itunes_author": _R._end_author,
    "contributor": _R._end_contributor,
    "dc_contributor": _R._end_dc_contributor,
    "itunes_owner": _R._end_itunes_owner,
    "name": _R._end_name,
    "itunes_name": _R._end_name,
    "email": _R._end_email,
    "itunes_email": _R._end_email,
    "url": _R._end_url,
    "homepage": _R._end_url,
    "uri": _R._end_url,
    "item": _R._end_item,
    "entry": _R._end_item,
    "published": _R._end_published,
    "issued": _R._end_published,
    "pubdate": _R._end_published,
    "dcterms_issued": _R._end_published,
    "updated": _R._end_updated,
    "modified": _R._end_updated,
    "lastbuilddate": _R._end_updated,
    "dc_date": _R._end_updated,
    "dcterms_modified": _R._end_updated,
    "created": _R._end_created,
    "dcterms_created": _R._end_created,
    "link": _R._end_link,
    "guid": _R._end_guid,
    "id": _R._end_guid,
    "title": _R._end_title,
    "dc_title": _R._end_title,
    "media_title": _R._end_media_title,
    "description": _R._end_description,
    "dc_description": _R._end_description,
    "media_description": _R._end_description,
    "abstract": _R._end_description,
    "summary": _R._end_summary,
    "itunes_summary": _R._end_summary,
    "source": _R._end_source,
    "content": _R._end_content,
    "body": _R._end_content,
    "xhtml_body": _R._end_content,
    "content_encoded": _R._end_content,
    "fullitem": _R._end_content,
}
_SIMPLE: dict[str, tuple[str, int]] = {
    # Handlers that only push a text frame at the start and pop it at the end (their values
    # land in keys the bot does not read).
    "name": ("name", 0),
    "itunes_name": ("name", 0),
    "email": ("email", 0),
    "itunes_email": ("email", 0),
    "url": ("href", 1),
    "homepage": ("href", 1),
    "uri": ("href", 1),
    "published": ("published", 1),
    "issued": ("published", 1),
    "pubdate": ("published", 1),
    "dcterms_issued": ("published", 1),
    "updated": ("updated", 1),
    "modified": ("updated", 1),
    "lastbuilddate": ("updated", 1),
    "dc_date": ("updated", 1),
    "dcterms_modified": ("updated", 1),
    "created": ("created", 1),
    "dcterms_created": ("created", 1),
    "language": ("language", 1),
    "dc_language": ("language", 1),
    "generator": ("generator", 1),
    "expirationdate": ("expired", 1),
    "category": ("category", 1),
    "keywords": ("category", 1),
    "dc_subject": ("category", 1),
    "media_category": ("category", 1),
    "itunes_category": ("category", 1),
    "tags": ("tags", 1),
    "width": ("width", 0),
    "height": ("height", 0),
    "webmaster": ("publisher", 1),
    "dc_publisher": ("publisher", 1),
    "itunes_image": ("itunes_image", 0),
    "media_rating": ("rating", 1),
    "media_credit": ("credit", 1),
    "media_restriction": ("restriction", 1),
    "media_license": ("license", 1),
    "media_player": ("media_player", 0),
    "media_thumbnail": ("url", 1),
    "creativecommons_license": ("license", 1),
    "georss_point": ("geometry", 0),
    "georss_line": ("geometry", 0),
    "georss_polygon": ("geometry", 0),
    "georss_box": ("geometry", 0),
    "where": ("where", 0),
    "georss_where": ("where", 0),
    "gml_point": ("geometry", 0),
    "gml_linestring": ("geometry", 0),
    "gml_polygon": ("geometry", 0),
    "gml_exterior": ("geometry", 0),
    "gml_linearring": ("geometry", 0),
    "gml_pos": ("pos", 0),
    "gml_poslist": ("pos", 0),
    "dcterms_valid": ("validity", 1),
    "newlocation": ("newlocation", 1),
}
# Start handlers that push nothing (feedparser's generic start would push a frame without attrs).
_NO_PUSH = frozenset(
    {"enclosure", "cloud", "media_content", "media_group", "psc_chapters", "psc_chapter"}
    | {"cc_license", "admin_generatoragent", "admin_errorreportsto"}
)
# End handlers that pop nothing.
_NO_POP = frozenset({"psc_chapters"})
_CONTENT_LIKE: dict[str, tuple[str, str]] = {
    "subtitle": ("subtitle", "text/plain"),
    "tagline": ("subtitle", "text/plain"),
    "itunes_subtitle": ("subtitle", "text/plain"),
    "rights": ("rights", "text/plain"),
    "copyright": ("rights", "text/plain"),
    "dc_rights": ("rights", "text/plain"),
    "info": ("info", "text/plain"),
    "feedburner_browserfriendly": ("info", "text/plain"),
}
