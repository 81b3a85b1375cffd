"""feedparser's link and guid/id handlers: which link is the entry's (an alternate HTML one, or
a permalink guid), resolved against the element's base URI."""

from __future__ import annotations

from collections.abc import Callable

from bot.sources.fastread.state import ReaderState
from bot.sources.fastread.text import HTML_TYPES, map_type, resolve

__all__ = ["ENDS", "STARTS", "LinkHandlers"]


class LinkHandlers(ReaderState):
    """link (Atom's ``href`` attribute or RSS's text) and guid/id."""

    def _start_link(self, attrs: dict[str, str]) -> None:
        rel = attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" in attrs:
            href = resolve(self.baseuri or "", attrs["href"])
            if rel == "alternate" and map_type(attrs["type"]) in HTML_TYPES:
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


_L = LinkHandlers
STARTS: dict[str, Callable[[LinkHandlers, dict[str, str]], None]] = {
    "link": _L._start_link,
    "guid": _L._start_guid,
    "id": _L._start_guid,
}
ENDS: dict[str, Callable[[LinkHandlers], None]] = {
    "link": _L._end_link,
    "guid": _L._end_guid,
    "id": _L._end_guid,
}
