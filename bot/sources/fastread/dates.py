"""feedparser's date handlers: published, updated and created, each parsed by feedparser's date
parser into its ``*_parsed`` key (the last one of a kind wins, as in feedparser)."""

from __future__ import annotations

from collections.abc import Callable

from bot.sources.fastread.state import ReaderState
from bot.sources.fastread.text import parse_feed_date

__all__ = ["ENDS", "FRAMES", "DateHandlers"]


class DateHandlers(ReaderState):
    """The ends of the date elements (their starts only push a frame)."""

    def _end_published(self) -> None:
        value = self._pop("published")
        self._save("published_parsed", parse_feed_date(value), overwrite=True)

    def _end_updated(self) -> None:
        value = self._pop("updated")
        self._save("updated_parsed", parse_feed_date(value), overwrite=True)

    def _end_created(self) -> None:
        value = self._pop("created")
        self._save("created_parsed", parse_feed_date(value), overwrite=True)


_D = DateHandlers
ENDS: dict[str, Callable[[DateHandlers], None]] = {
    "published": _D._end_published,
    "issued": _D._end_published,
    "pubdate": _D._end_published,
    "updated": _D._end_updated,
    "modified": _D._end_updated,
    "lastbuilddate": _D._end_updated,
    "created": _D._end_created,
}
# The frames the ends above pop: (frame, expecting).
FRAMES: dict[str, tuple[str, int]] = {
    "published": ("published", 1),
    "issued": ("published", 1),
    "pubdate": ("published", 1),
    "updated": ("updated", 1),
    "modified": ("updated", 1),
    "lastbuilddate": ("updated", 1),
    "created": ("created", 1),
}
