"""The two ways the fast reader stops short: it declines a document, or a handler fails as
feedparser's would."""

from __future__ import annotations

__all__ = ["Declined", "HandlerFailed"]


class Declined(Exception):
    """The fast reader does not model this document; feedparser will read it."""


class HandlerFailed(Exception):
    """Where feedparser's handler raises AttributeError half-way: its ``unknown_endtag`` then
    pops a frame of the element's own name instead, and the rest of the handler never runs."""
