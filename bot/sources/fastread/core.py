"""feedparser's handlers for the structure of RSS and Atom (namespaces/_base.py): the root, the
channel or feed, items and entries, images, text inputs and an entry's source; which decide the
context text goes to."""

from __future__ import annotations

from collections.abc import Callable

from bot.sources.fastread.declined import Declined
from bot.sources.fastread.state import ReaderState

__all__ = ["ENDS", "FRAMES", "NO_PUSH", "STARTS", "CoreHandlers"]

_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}


class CoreHandlers(ReaderState):
    """The root, channel/feed, item/entry, image, textinput and source elements."""

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
            raise Declined("CDF attributes")

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

    def _start_source(self, attrs: dict[str, str]) -> None:
        self._push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        self._pop("source")
        self.source = {}


_C = CoreHandlers
STARTS: dict[str, Callable[[CoreHandlers, dict[str, str]], None]] = {
    "rss": _C._start_rss,
    "channel": _C._start_channel,
    "feed": _C._start_feed,
    "image": _C._start_image,
    "textinput": _C._start_textinput,
    "item": _C._start_item,
    "entry": _C._start_item,
    "source": _C._start_source,
}
ENDS: dict[str, Callable[[CoreHandlers], None]] = {
    "channel": _C._end_channel,
    "feed": _C._end_channel,
    "image": _C._end_image,
    "textinput": _C._end_textinput,
    "item": _C._end_item,
    "entry": _C._end_item,
    "source": _C._end_source,
}
# Handlers that only push a text frame at the start and pop it at the end (their values land in
# keys the bot does not read): (frame, expecting).
FRAMES: dict[str, tuple[str, int]] = {
    "language": ("language", 1),
    "generator": ("generator", 1),
    "expirationdate": ("expired", 1),
    "category": ("category", 1),
    "keywords": ("category", 1),
    "tags": ("tags", 1),
    "width": ("width", 0),
    "height": ("height", 0),
    "webmaster": ("publisher", 1),
    "newlocation": ("newlocation", 1),
}
# Start handlers that push nothing (feedparser's generic start would push a frame without attrs).
NO_PUSH = frozenset({"enclosure", "cloud"})
