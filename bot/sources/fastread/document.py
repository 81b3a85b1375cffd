"""What a document must be for the fast reader to read it as feedparser would: its encoding
(lxml must decode the bytes as feedparser does), no DOCTYPE, namespace declarations whose order
cannot change an element's name; and this thread's lxml parser.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree

from bot.sources.fastread.declined import Declined
from bot.sources.fastread.rules import (
    CANONICAL_PREFIXES,
    NAMESPACES,
    RE_XML_PI_ENCODING,
    parse_content_type,
)

__all__ = ["check_doctype", "check_encoding", "namespace_maps", "xml_parser"]

_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "us-ascii": "ascii", "ascii": "ascii"}
_ENCODINGS.update(dict.fromkeys(("iso-8859-1", "iso8859-1", "latin-1", "latin1"), "latin-1"))
_ASCII_SUPERSETS = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252"})
_XMLNS = re.compile(rb"""xmlns(?::([^\s=/>"']+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def check_doctype(body: bytes) -> None:
    """Decline a document with a DOCTYPE near its start.

    :raises Declined: feedparser reads what the DOCTYPE declares.
    """
    if _DOCTYPE.search(body[:4096]):
        raise Declined("has a DOCTYPE (feedparser reads what it declares)")


def check_encoding(body: bytes, content_type: str) -> str | None:
    """Decline unless lxml decodes the bytes as feedparser would; feedparser's warning.

    :raises Declined: UTF-16/32 or EBCDIC, an encoding other than UTF-8, ASCII or Latin-1, or
        an HTTP charset that feedparser would decode differently.
    """
    if body[:2] in (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE) or body[:4] in (
        b"\x00\x00\x00<",
        b"<\x00\x00\x00",
        b"\x00<\x00?",
        b"<\x00?\x00",
        b"\x4c\x6f\xa7\x94",
    ):
        raise Declined("UTF-16, UTF-32 or EBCDIC document")
    data = body[3:] if body[:3] == codecs.BOM_UTF8 else body
    match = RE_XML_PI_ENCODING.match(data)
    declared = match.group(1).decode("ascii", "replace").lower() if match else ""
    ours = _ENCODINGS.get(declared or "utf-8")
    if ours is None:
        raise Declined(f"declared encoding {declared!r}")
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
    warning = None if xml_type else f"NonXMLContentType: {content_type} is not an XML media type"
    try:
        theirs = codecs.lookup(wanted).name
    except LookupError:
        raise Declined(f"HTTP charset {wanted!r}") from None
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
            f"CharacterEncodingOverride: document declared as {wanted}, but parsed as {parsed_as}"
        )
    raise Declined(f"HTTP charset {wanted!r} differs from the document's {ours!r}")


_PARSERS = threading.local()


def xml_parser() -> etree.XMLParser:
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


def namespace_maps(body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """feedparser's ``namespaces_in_use`` and ``namespacemap`` once every declaration is read.

    feedparser names an element of a namespace it does not know by the first prefix declared
    for it so far, and maps prefixes through the declarations seen so far; where the order of
    declarations could change a name (a prefix bound twice, a prefix that is also one of
    feedparser's own, two bindings of one key), the fast reader declines. Declarations are
    found in the bytes (lxml does not list them in order); one found in text only makes this
    stricter.

    :raises Declined: the order of declarations could change a name.
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
            raise Declined("namespace URI with entities or non-ASCII characters")
        prefix = match.group(1).decode("utf-8", "replace") if match.group(1) else None
        uri = value.decode("ascii")
        if prefix is not None and bound.setdefault(prefix, uri) != uri:
            raise Declined(f"namespace prefix {prefix!r} bound to two URIs")
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        canonical = NAMESPACES.get(lowered)
        if canonical is None:
            key = prefix or ""
            # As a default namespace before any prefix names it, its elements go unprefixed.
            (prefixed if prefix else unprefixed).add(uri)
            if uri in prefixed and uri in unprefixed:
                raise Declined(f"namespace {uri!r} both default and prefixed")
        else:
            key = canonical
            if prefix is not None:
                if prefix != canonical and prefix.lower() in CANONICAL_PREFIXES:
                    raise Declined(f"namespace prefix {prefix!r} is feedparser's for another")
                prefixes[prefix] = canonical
        if not key:
            continue  # looked up by non-empty keys only
        old = in_use.setdefault(key, uri)
        if old != uri and (old.lower() not in NAMESPACES or lowered not in NAMESPACES):
            raise Declined(f"namespace key {key!r} rebound")  # an unknown URI's name would move
        in_use[key] = uri
    return in_use, prefixes
