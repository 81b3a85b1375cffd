"""Which of feedparser's handlers an element name gets: the handler tables of the area and
namespace modules put together, and :class:`Tag`, worked out once per document and tag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.sources.fastread import authors, content, core, dates, extensions, links

if TYPE_CHECKING:
    from bot.sources.fastread.reader import FastReader

__all__ = ["ENDS", "FRAME", "FULL", "GENERIC", "NO_POP", "PASS", "STARTS", "Tag"]

FULL, FRAME, GENERIC, PASS = 0, 1, 2, 3

STARTS: dict[str, Callable[[FastReader, dict[str, str]], None]] = {
    **core.STARTS,
    **authors.STARTS,
    **links.STARTS,
    **content.STARTS,
    **extensions.STARTS,
}
ENDS: dict[str, Callable[[FastReader], None]] = {
    **core.ENDS,
    **authors.ENDS,
    **dates.ENDS,
    **links.ENDS,
    **content.ENDS,
    **extensions.ENDS,
}
SIMPLE: dict[str, tuple[str, int]] = {
    **core.FRAMES,
    **authors.FRAMES,
    **dates.FRAMES,
    **extensions.FRAMES,
}
CONTENT_LIKE: dict[str, tuple[str, str]] = {**content.CONTENT_LIKE, **extensions.CONTENT_LIKE}
NO_PUSH = core.NO_PUSH | extensions.NO_PUSH
NO_POP = extensions.NO_POP


@dataclass(frozen=True, slots=True)
class Tag:
    """What feedparser does with one element name, worked out once per document and tag.

    ``kind`` is how a childless one can be skipped: not at all (:data:`FULL`), it pushes its
    own frame (:data:`FRAME`), it does without attributes (:data:`GENERIC`, feedparser's
    default handler) or it never does (:data:`PASS`).
    """

    name: str
    method: str
    kind: int
    resets_textinput: bool
    resets_image: bool
    start: Callable[[FastReader, dict[str, str]], None] | None
    end: Callable[[FastReader], None] | None
    frame: tuple[str, int] | None
    content: tuple[str, str] | None

    @classmethod
    def of(cls, name: str, prefix: str, suffix: str) -> Tag:
        """``name`` as feedparser's strict parser gives it, ``prefix`` as its namespace map
        turns the name's prefix, ``suffix`` the local name."""
        method = f"{prefix}_{suffix}" if prefix else suffix
        if method in STARTS or method in ENDS or method in CONTENT_LIKE or method in NO_POP:
            kind = FULL
        elif method in SIMPLE:
            kind = FRAME
        elif method in NO_PUSH:
            kind = PASS
        else:
            kind = GENERIC
        return cls(
            name,
            method,
            kind,
            not prefix and name not in ("title", "link", "description", "name"),
            not prefix
            and name not in ("title", "link", "description", "url", "href", "width", "height"),
            STARTS.get(method),
            ENDS.get(method),
            SIMPLE.get(method),
            CONTENT_LIKE.get(method),
        )
