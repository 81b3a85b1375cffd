"""feedparser's handlers for text constructs: title, description/summary and content, which
push content frames (a type, base64 or not) and decide which becomes the summary."""

from __future__ import annotations

from collections.abc import Callable

from bot.sources.fastread.declined import HandlerFailed
from bot.sources.fastread.state import ReaderState
from bot.sources.fastread.text import HTML_TYPES, XHTML, map_type

__all__ = ["CONTENT_LIKE", "ENDS", "STARTS", "ContentHandlers"]


class ContentHandlers(ReaderState):
    """title, description, abstract, summary, content, body and fullitem."""

    def _start_title(self, attrs: dict[str, str]) -> None:
        self._push_content(
            "title", attrs, "text/plain", self.infeed or self.inentry or self.insource
        )

    def _end_title(self) -> None:
        value = self._pop_content("title")
        if value:
            self.title_depth = self.depth

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

    def _start_content(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self._push_content("content", attrs, "text/plain", 1)
        # feedparser pushes a second frame here that its end never pops: the text goes to this
        # one, and the frame of any element around <content> is no longer on top at its end.
        self._push("content", 1)

    def _start_body(self, attrs: dict[str, str]) -> None:
        self._push_content("content", attrs, XHTML, 1)

    def _start_content_encoded(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self._push_content("content", attrs, "text/html", 1)

    def _end_content(self) -> None:
        kind = self.params.get("type")
        if kind is None:  # an inner element's end cleared the content parameters
            raise HandlerFailed("map_content_type(None)")
        copy = map_type(kind) in ({"text/plain"} | HTML_TYPES)
        value = self._pop_content("content")
        if copy:
            self._save("summary", value)


_T = ContentHandlers
STARTS: dict[str, Callable[[ContentHandlers, dict[str, str]], None]] = {
    "title": _T._start_title,
    "description": _T._start_description,
    "abstract": _T._start_abstract,
    "summary": _T._start_summary,
    "content": _T._start_content,
    "body": _T._start_body,
    "fullitem": _T._start_content_encoded,
}
ENDS: dict[str, Callable[[ContentHandlers], None]] = {
    "title": _T._end_title,
    "description": _T._end_description,
    "abstract": _T._end_description,
    "summary": _T._end_summary,
    "content": _T._end_content,
    "body": _T._end_content,
    "fullitem": _T._end_content,
}
# Text constructs whose value the bot does not read: a content frame (frame, default type).
CONTENT_LIKE: dict[str, tuple[str, str]] = {
    "subtitle": ("subtitle", "text/plain"),
    "tagline": ("subtitle", "text/plain"),
    "rights": ("rights", "text/plain"),
    "copyright": ("rights", "text/plain"),
    "info": ("info", "text/plain"),
}
