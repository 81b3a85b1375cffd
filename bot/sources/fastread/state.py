"""The fast reader's state and feedparser's context stack: ``push``/``pop`` of text frames,
``_save`` and ``_context``, which every element handler uses.

A frame is ``(element, expecting, pieces)``: the text of the element is collected in
``pieces`` and, when the frame is popped, cleaned and stored in the current context (the feed,
the entry, an image, a text input or a source) as feedparser's ``pop`` would.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import re
from typing import Any

from bot.sources.fastread.declined import Declined
from bot.sources.fastread.rules import looks_like_html, resolve_relative_uris, sanitize_html
from bot.sources.fastread.text import (
    HTML_TYPES,
    XHTML,
    content_params,
    fix_text,
    map_type,
    resolve,
    strip_div,
)

__all__ = ["ReaderState"]

_KEPT = frozenset(
    {"title", "link", "id", "author", "summary", "description", "content"}
    | {"published", "updated", "created"}
)
_AMP_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")


class ReaderState:
    """What feedparser's parser keeps while it reads (the flags of where it is, the feed and
    entry dicts, the frame stack, the base URI) and its stack operations. The element handler
    mixins (:mod:`bot.sources.fastread.core` ...) build on it."""

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

    def _data(self, text: str, escape: bool = True) -> None:
        if not self.stack:
            return
        if escape and self.params.get("type") == XHTML:
            text = html.escape(text, quote=False)
        self.stack[-1][2].append(text)

    def _push(self, element: str, expecting: int) -> None:
        self.stack.append((element, expecting, []))

    def _push_content(self, tag: str, attrs: dict[str, str], default: str, expecting: int) -> None:
        self.incontent += 1
        if attrs:
            kind, encoded = content_params(attrs.get("type", default), attrs.get("mode", ""))
        else:
            kind, encoded = content_params(default, "")
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
        if self.version == "atom10" and kind == XHTML:
            pieces = strip_div(pieces)
        output = "".join(pieces).strip()
        if not expecting or element not in _KEPT:
            return output
        if self.params.get("base64"):
            if element == "title":
                raise Declined("base64 title")
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                output = base64.decodebytes(output.encode("utf8")).decode("utf8")
        if element in ("link", "id") and output and (element != "id" or self.guidislink):
            output = resolve(self.baseuri or "", output)
        if (
            not self.version.startswith("atom")
            and self.params.get("type") == "text/plain"
            and ("&" in output or "</" in output)  # what looks_like_html needs at the least
            and looks_like_html(output)
        ):
            self.params["type"] = "text/html"
        if element == "title" and map_type(self.params.get("type", "text/html")) in HTML_TYPES:
            kind = self.params.get("type", "text/html")
            output = resolve_relative_uris(output, self.baseuri, "utf-8", kind)
            output = sanitize_html(output, "utf-8", kind)
        if not output.isascii():
            output = fix_text(output)
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
