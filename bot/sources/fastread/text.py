"""The text, URL, content-type and date rules the fast reader's handlers share, as feedparser
applies them (its own functions where they are fast enough, shortcuts that give the same result
where they are not)."""

from __future__ import annotations

import contextlib
import re
import time
from functools import lru_cache

from bot.sources.fastread.rules import (
    cp1252,
    make_safe_absolute_uri,
    parse_date,
    parse_date_rfc822,
    urljoin,
)

__all__ = [
    "HTML_TYPES",
    "XHTML",
    "content_params",
    "fix_text",
    "map_type",
    "parse_feed_date",
    "rebase",
    "resolve",
    "strip_div",
]

XHTML = "application/xhtml+xml"
HTML_TYPES = frozenset({XHTML, "text/html"})
_PLAIN_URL = re.compile(r"https?://(?!/)[!-:<-Z^-~]*")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_RFC822 = re.compile(r"[A-Z][a-z]{2}, \d\d? [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d (?:[+-]\d{4}|GMT)")


def resolve(base: str, uri: str) -> str:
    """feedparser's ``_urljoin``, without its two URL parses for the usual absolute link.

    ``urljoin`` returns an absolute http(s) URL as it is, or (same scheme as the base) as
    ``urlunparse(urlparse(url))`` gives it back, which is the same string unless the URL has
    whitespace, ``;`` params, brackets, an empty query or fragment, or extra slashes.
    """
    if _PLAIN_URL.fullmatch(uri) and not uri.endswith(("?", "#")) and "?#" not in uri:
        return uri
    return str(urljoin(base, uri))


@lru_cache(maxsize=512)
def rebase(current: str, declared: str | None) -> str:
    """feedparser's base-URI step for one element (``xml:base``, else the inherited base)."""
    new = declared or current
    if current:
        return str(make_safe_absolute_uri(current, new) or current)
    return str(urljoin(current, new))


def parse_feed_date(value: str | None) -> time.struct_time | None:
    """feedparser's ``_parse_date``; the usual RFC 822 form goes straight to the handler that
    would read it (the W3C-DTF one tried before it cannot: it wants the year first)."""
    if value and _RFC822.fullmatch(value):
        with contextlib.suppress(KeyError, OverflowError, ValueError, AttributeError):
            parsed: time.struct_time | None = parse_date_rfc822(value)
            if parsed:
                return parsed
    result: time.struct_time | None = parse_date(value)
    return result


def fix_text(output: str) -> str:
    """feedparser's last steps on every text: undo UTF-8 read as Latin-1, map cp1252 C1 codes."""
    if not output.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            output = output.encode("iso-8859-1").decode("utf-8")
        if _C1_CONTROLS.search(output):
            output = output.translate(cp1252)
    return output


@lru_cache(maxsize=64)
def content_params(kind: str, mode: str) -> tuple[str, int]:
    """feedparser's content type (short names mapped) and whether the text is base64."""
    kind = map_type(kind)
    if mode == "base64":
        return kind, 1
    return kind, int(not (kind.startswith("text/") or kind.endswith(("+xml", "/xml"))))


def map_type(value: str) -> str:
    """feedparser's content type for a ``type`` attribute: ``text``, ``html``, ``xhtml`` mapped."""
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return XHTML
    return value


def strip_div(pieces: list[str]) -> list[str]:
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
