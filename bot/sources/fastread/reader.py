"""The fast XML reader: lxml parses the document, and :class:`FastReader` walks the tree as
feedparser's SAX parser would see it, replaying its ``unknown_starttag``/``unknown_endtag``/
``handle_data`` and dispatching to the element handlers (``_start_X``/``_end_X``, named as
feedparser's) of the mixins it is composed of.

Only what decides title, link, id, author, dates, summary and content is kept; the rest of
feedparser's handlers are modelled only as far as they push text frames or switch context,
because that is what decides where text goes. Whatever the reader does not model raises
:class:`~bot.sources.fastread.declined.Declined`, and feedparser reads the document instead.
"""

from __future__ import annotations

import html
from typing import Any

from lxml import etree

from bot.sources.bounds import MAX_ATTRIBUTES
from bot.sources.fastread.core import CoreHandlers
from bot.sources.fastread.declined import Declined, HandlerFailed
from bot.sources.fastread.document import check_doctype, check_encoding, namespace_maps, xml_parser
from bot.sources.fastread.extensions import NamespaceHandlers
from bot.sources.fastread.links import LinkHandlers
from bot.sources.fastread.rules import DEFAULT_TYPE, NAMESPACES
from bot.sources.fastread.tags import FRAME, GENERIC, NO_POP, PASS, Tag
from bot.sources.fastread.text import XHTML, rebase

__all__ = ["FastReader"]

_VERSION_NAMESPACES = {
    "http://purl.org/rss/1.0/": "rss10",
    "http://www.w3.org/2005/atom": "atom10",
}


class FastReader(CoreHandlers, LinkHandlers, NamespaceHandlers):
    """feedparser's element handlers (namespaces/_base.py, dc, media, itunes...) over an lxml tree.

    The handlers come from the mixins (:mod:`~bot.sources.fastread.core`, ``links``,
    ``authors``, ``dates``, ``content``, ``extensions``); the context stack from
    :class:`~bot.sources.fastread.state.ReaderState`; this class walks the elements.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.tags: dict[str, Tag] = {}
        self.in_use: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        self.fixed_base = False

    # -- the document --------------------------------------------------------------------

    def read(
        self, body: bytes, content_type: str | None
    ) -> tuple[str | None, list[dict[str, Any]], str | None]:
        """(feed title, feedparser-shaped entry dicts, feedparser's warning) of the document.

        :raises Declined: the document is one the reader does not model.
        """
        warning = check_encoding(body, content_type or DEFAULT_TYPE)
        check_doctype(body)
        try:
            root = etree.fromstring(body, xml_parser())
        except etree.XMLSyntaxError as exc:
            raise Declined(f"not well-formed XML: {exc}") from None
        for prefix, uri in (root.nsmap or {}).items():
            self._track_namespace(prefix, uri)
        self.in_use, self.prefixes = namespace_maps(body)
        name = self._info(root).name
        if name not in ("rss", "rdf:rdf", "feed"):
            raise Declined(f"root element {root.tag!r} is not RSS, RDF or Atom")
        if name == "rdf:rdf" and not self.version:
            raise Declined("RDF without the RSS 1.0 or 0.90 namespace")
        once = rebase(self.baseuri, None)
        if rebase(once, None) == once:
            # Until an element declares xml:base, every element gets this base.
            self.baseuri, self.fixed_base = once, True
        self._walk(root)
        if not self.entries:
            raise Declined("no entries")
        title = self.feed.get("title")
        return title, self.entries, warning

    def _track_namespace(self, prefix: str | None, uri: str) -> None:
        if not self.version:
            if prefix is None and uri.lower() == "http://my.netscape.com/rdf/simple/0.9/":
                self.version = "rss090"
            else:
                self.version = _VERSION_NAMESPACES.get(uri.lower(), "")

    def _info(self, el: Any) -> Tag:
        """What feedparser does with this element (worked out once per tag)."""
        info = self.tags.get(el.tag)
        if info is None:
            info = self.tags[el.tag] = self._tag(el.tag)
        return info

    def _tag(self, tag: str) -> Tag:
        """feedparser's name: known namespaces get their canonical prefix (RSS and Atom none),
        others the first prefix declared for them; all lower-cased; then its prefix map."""
        if tag[0] != "{":
            return Tag.of(tag.lower(), "", tag.lower())
        uri, local = tag[1:].split("}", 1)
        local = local.lower()
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            lowered = "http://backend.userland.com/rss"
        prefix = NAMESPACES.get(lowered)
        if prefix is None:
            prefix = next((k for k, v in self.in_use.items() if k and v == uri), "")
        prefix = prefix.lower()
        if not prefix:
            return Tag.of(local, "", local)
        return Tag.of(f"{prefix}:{local}", self.prefixes.get(prefix, prefix), local)

    # -- the walk ------------------------------------------------------------------------

    def _walk(self, el: Any) -> None:
        info = self.tags.get(el.tag) or self._info(el)
        if len(el.attrib) > MAX_ATTRIBUTES:  # before items(), which is quadratic in them
            raise Declined(f"an element with more than {MAX_ATTRIBUTES} attributes")
        items = el.items()
        if info.kind and not self.incontent and not len(el) and self._skip_leaf(el, info, items):
            return
        attrs: dict[str, str] = {}
        for key, value in items:
            if key[0] == "{":
                uri, local = key[1:].split("}", 1)
                local = local.lower()
                prefix = NAMESPACES.get(uri.lower(), "")
                if prefix:
                    attrs[f"{prefix}:{local}"] = value
            else:
                local = key.lower()
            attrs[local] = value.lower() if local in ("rel", "type") else value
        self._starttag(info, attrs)
        stack = self.stack
        text = el.text
        if text and stack:
            if self.incontent and self.params.get("type") == XHTML:
                text = html.escape(text, quote=False)
            stack[-1][2].append(text)
        for child in el:
            if child.tag is etree.Entity:
                raise Declined("unresolved entity")
            self._walk(child)
            text = child.tail
            if text and stack:
                if self.incontent and self.params.get("type") == XHTML:
                    text = html.escape(text, quote=False)
                stack[-1][2].append(text)
        self._endtag(info)

    def _skip_leaf(self, el: Any, info: Tag, items: list[tuple[str, str]]) -> bool:
        """Play a childless element whose handlers cannot touch a kept field, without them.

        Such an element pushes a frame only its own text goes to (and that frame's value lands
        in a key nobody reads), or pushes none, and then its text goes to the enclosing frame.
        Its depth and base are restored on the way out. What it does do is feedparser's reset
        of the image/textinput flags.
        """
        if items and any(k.rsplit("}", 1)[-1].lower() == "base" for k, _ in items):
            return False  # xml:base, or any attribute feedparser would take for one
        frame = info.kind == FRAME or (info.kind == GENERIC and not items)
        if not frame and self.stack and self.stack[-1][0] == info.method:
            return False  # its end would pop the enclosing frame of the same name
        if info.resets_textinput:
            self.intextinput = 0
        if info.resets_image:
            self.inimage = 0
        if not frame and el.text:
            self._data(el.text)
        return True

    # -- feedparser's mixin: unknown_starttag / unknown_endtag ---------------------------------

    def _starttag(self, info: Tag, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.fixed_base and attrs and ("xml:base" in attrs or "base" in attrs):
            self.fixed_base = False  # from here on, bases are tracked as feedparser does
            self.basestack = [self.baseuri] * (self.depth - 1)
        if not self.fixed_base:
            base = attrs.get("xml:base", attrs.get("base")) if attrs else None
            self.baseuri = rebase(self.baseuri, base)
            self.basestack.append(self.baseuri)
        tag = info.name
        if self.incontent:
            if not self.params.get("type", "xml").endswith("xml"):
                if tag in ("xhtml:div", "div"):
                    return
                self.params["type"] = XHTML
            if self.params.get("type") == XHTML:
                local = tag.split(":", 1)[1] if ":" in tag else tag
                if local == "svg":
                    raise Declined("inline SVG")
                if self.stack and self.stack[-1][0] == "title":
                    raise Declined("markup in a title")
                text = "".join(
                    ' {}="{}"'.format(k, html.escape(v, quote=False).replace('"', "&quot;"))
                    for k, v in attrs.items()
                )
                self._data(f"<{local}{text}>", escape=False)
                return
        if info.resets_textinput:
            self.intextinput = 0
        if info.resets_image:
            self.inimage = 0
        if info.start is not None:
            info.start(self, attrs)
        elif info.frame is not None:
            self.stack.append((info.frame[0], info.frame[1], []))
        elif info.content is not None:
            self._push_content(info.content[0], attrs, info.content[1], 1)
        elif info.kind != PASS and not attrs:
            self.stack.append((info.method, 1, []))

    def _endtag(self, info: Tag) -> None:
        if info.end is not None:
            try:
                info.end(self)
            except HandlerFailed:
                self._pop(info.method)
        elif info.frame is not None:
            self._pop(info.frame[0])
        elif info.content is not None:
            self._pop_content(info.content[0])
        elif info.method not in NO_POP:
            self._pop(info.method)
        if self.incontent:
            if not self.params.get("type", "xml").endswith("xml"):
                if info.name in ("xhtml:div", "div"):
                    return  # feedparser returns before leaving the element's depth and base
                self.params["type"] = XHTML
            if self.params.get("type") == XHTML:
                self._data(f"</{info.name.rsplit(':', 1)[-1]}>", escape=False)
        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]
        self.depth -= 1
