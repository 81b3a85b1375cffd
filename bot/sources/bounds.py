"""Bounds on untrusted feed bytes, applied before any XML parser sees them and after it is done.

Three steps, each cheap (linear, mostly in C) and each run on every path a feed can take (the
fast lxml reader, feedparser, ``newsbot match``):

- :func:`without_entities`: entity declarations in the prolog are removed, so that no parser
  ever expands one. A feed that declares one 100 KB entity and uses it 30,000 times would
  otherwise cost gigabytes in feedparser's loose parser (expat refuses it; the fallback does not).
  The references stay in the text as they were written (``&name;``).
- :func:`check_structure`: more elements, deeper nesting or more attributes on one element than
  any real feed has are refused with the line where the limit was passed, before a parser
  builds anything (lxml's attribute list and feedparser's handlers are quadratic in attributes).
- :func:`cap_text`, :func:`cap_link`, :func:`cap_guid`: every field of a parsed entry has a
  length limit, so a 5 MB title is not stored whole.

Nothing here parses XML: these are byte scans, so they cannot be made to do the costly work
they guard against.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.errors import ParseError

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "Limits",
    "cap_guid",
    "cap_link",
    "cap_text",
    "check_structure",
    "quick_check",
    "without_entities",
]

MAX_ELEMENTS = 100_000
"""Elements in one feed. The largest real news feed seen (1 MB, 300 items) has about 6,000;
a 10 MB feed of short items about 60,000."""
MAX_DEPTH = 256
"""Nesting depth; lxml's own limit without its ``huge_tree`` switch. Feeds nest a dozen deep."""
MAX_ATTRIBUTES = 256
"""Attributes on one element. Real elements have a handful."""

_ELEMENT_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_DECLARATION = re.compile(rb"<!ENTITY(?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+>?", re.IGNORECASE)
_SUBSET_SPECIAL = re.compile(rb"[\]\"'<]")
_TAG_SPECIAL = re.compile(rb"[\"'>]")
_SPACE = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class Limits:
    """Length caps on the fields of a parsed entry (characters)."""

    title: int = 2_000
    text: int = 50_000
    """Summary and content, each, as HTML: a long article is 30,000 characters of it. Matching
    and story-grouping cost grows with the text, on the event loop."""
    author: int = 500
    link: int = 4_096
    guid: int = 1_000


def without_entities(body: bytes) -> tuple[bytes, str | None]:
    """``body`` with the prolog's entity declarations removed, and a warning saying so.

    The prolog is everything before the first element. A DOCTYPE's internal subset that
    declares entities is removed whole (``<!DOCTYPE rss [ ... ]>`` becomes ``<!DOCTYPE rss>``);
    an entity declaration outside a DOCTYPE is removed on its own. Everything else, the
    DOCTYPE's name and external identifier included, is kept as it was.
    """
    first = _ELEMENT_START.search(body)
    end = first.start() if first else len(body)
    head = body[:end]
    found = _ENTITY.search(head)
    if found is None:
        return body, None
    count = len(_ENTITY.findall(head))
    line = head.count(b"\n", 0, found.start()) + 1
    doctype = _DOCTYPE.search(head)
    bracket = head.find(b"[", doctype.end()) if doctype else -1
    if bracket != -1:
        close = _subset_end(head, bracket)
        # A subset that never ends takes the rest of the prolog with it.
        head = head[:bracket] + b">" + (head[close:] if close != -1 else b"")
    head = _DECLARATION.sub(b"", head)
    what = f"{count} XML entities" if count != 1 else "an XML entity"
    warning = (
        f"line {line}: the feed declares {what}; newsbot does not expand declared entities "
        "and read it without them"
    )
    return head + body[end:], warning


def _subset_end(head: bytes, bracket: int) -> int:
    """The offset just past the ``]>`` that closes the internal subset opened at ``bracket``
    (quoted strings, comments and processing instructions skipped whole), or -1."""
    at = bracket + 1
    while (special := _SUBSET_SPECIAL.search(head, at)) is not None:
        pos = special.start()
        char = head[pos : pos + 1]
        if char == b"]":
            after = pos + 1
            while head[after : after + 1] and head[after : after + 1] in _SPACE:
                after += 1
            if head[after : after + 1] == b">":
                return after + 1
            at = pos + 1
        elif char in (b'"', b"'"):
            close = head.find(char, pos + 1)
            if close == -1:
                return -1
            at = close + 1
        elif head.startswith(b"<!--", pos) or head.startswith(b"<?", pos):
            close = head.find(b"-->" if head[pos + 1 : pos + 2] == b"!" else b"?>", pos + 2)
            if close == -1:
                return -1
            at = close + 2
        else:
            at = pos + 1
    return -1


def check_structure(
    body: bytes,
    *,
    max_elements: int = MAX_ELEMENTS,
    max_depth: int = MAX_DEPTH,
    max_attributes: int = MAX_ATTRIBUTES,
) -> None:
    """Refuse markup no real feed has: too many elements, too deep, too many attributes.

    A scan of the tags (CDATA sections, comments and declarations skipped), stopping at the
    first limit passed, so it costs at most ``max_elements`` steps.

    :raises ParseError: which limit, at which line, and what to do.
    """
    open_names: list[bytes] = []
    opened: dict[bytes, int] = {}  # how many of each name are open: a stray end tag costs O(1)
    elements = tags = 0
    for start, kind, name, attributes in _tags(body):
        tags += 1
        if tags > 2 * max_elements:
            raise _refused(body, start, f"more than {2 * max_elements:,} tags")
        if kind == _CLOSE:
            # Close up to the element of that name, as a lenient parser does with HTML whose
            # <p> or <li> were never closed; a stray end tag closes nothing.
            if opened.get(name):
                while (last := open_names.pop()) != name:
                    opened[last] -= 1
                opened[name] -= 1
            continue
        elements += 1
        if elements > max_elements:
            raise _refused(body, start, f"more than {max_elements:,} elements")
        if attributes > max_attributes:
            raise _refused(body, start, f"an element with more than {max_attributes} attributes")
        if kind == _OPEN and name not in _VOID:
            open_names.append(name)
            opened[name] = opened.get(name, 0) + 1
            if len(open_names) > max_depth:
                raise _refused(body, start, f"elements nested more than {max_depth} deep")


def quick_check(body: bytes) -> None:
    """:func:`check_structure` only where a count of ``<`` says it could fail on elements:
    what the fast reader runs before lxml builds a tree (lxml itself limits the depth, and the
    reader counts attributes before it reads them)."""
    if body.count(b"<") > 2 * MAX_ELEMENTS:
        check_structure(body)


_OPEN, _CLOSE, _EMPTY = 0, 1, 2
_VOID = frozenset(b"area base br col embed hr img input link meta param source track wbr".split())
"""HTML elements that have no end tag: raw HTML in a broken feed does not nest through them."""
_NAME = re.compile(rb"[^\s/>]*")


def _tags(body: bytes) -> Iterator[tuple[int, int, bytes, int]]:
    """(offset, open/close/empty, lower-cased name, attributes) of each tag; CDATA sections,
    comments, declarations and processing instructions skipped. ``attributes`` is the number
    of ``=`` in the tag outside quoted values: exact for well-formed markup. Stops where a
    construct never ends (the rest of the document is inside it)."""
    find = body.find
    name_at = _NAME.match
    at = find(b"<")
    while at != -1:
        nxt = body[at + 1 : at + 2]
        if nxt in (b"!", b"?"):
            if body.startswith(b"<![CDATA[", at):
                end, skip = find(b"]]>", at + 9), 3
            elif body.startswith(b"<!--", at):
                end, skip = find(b"-->", at + 4), 3
            else:
                end, skip = find(b">", at + 2), 1
            if end == -1:
                return
            at = find(b"<", end + skip)
            continue
        end, attributes = _tag_end(body, at + 1)
        if end == -1:
            return
        closing = nxt == b"/"
        name = name_at(body, at + 1 + closing, end).group().lower()  # type: ignore[union-attr]
        if closing:
            yield at, _CLOSE, name, 0
        else:
            kind = _EMPTY if body[end - 1 : end] == b"/" else _OPEN
            yield at, kind, name, attributes
        at = find(b"<", end + 1)


def _tag_end(body: bytes, at: int) -> tuple[int, int]:
    """The offset of the ``>`` ending the tag that goes on at ``at`` (quoted values skipped:
    they may hold ``>``), and the ``=`` counted outside them; (-1, n) if it never ends."""
    equals = 0
    while (special := _TAG_SPECIAL.search(body, at)) is not None:
        pos = special.start()
        equals += body.count(b"=", at, pos)
        char = body[pos : pos + 1]
        if char == b">":
            return pos, equals
        close = body.find(char, pos + 1)
        if close == -1:
            return -1, equals
        at = close + 1
    return -1, equals


def _refused(body: bytes, offset: int, what: str) -> ParseError:
    line = body.count(b"\n", 0, offset) + 1
    return ParseError(
        f"line {line}: the feed has {what}, more than any real feed; newsbot does not read it "
        "(if it is yours, publish fewer or flatter items)"
    )


def cap_text(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, with an ellipsis where it was cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def cap_link(value: str | None, limit: int) -> str | None:
    """A link longer than ``limit`` is dropped: a cut link would lead somewhere else."""
    return value if value is None or len(value) <= limit else None


def cap_guid(value: str | None, limit: int) -> str | None:
    """A GUID longer than ``limit`` is replaced by its SHA-256: still unique, still stable."""
    if value is None or len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
