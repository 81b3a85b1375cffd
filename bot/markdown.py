"""Messages as Markdown: the Telegram HTML newsbot writes (``<b>``, ``<i>``, ``<u>``, ``<s>``,
``<code>``, ``<pre>``, ``<a href>``, ``<blockquote>``), rewritten for the chat channels that
show Markdown. A pure stage: what it reads is our own markup, escaped when written
(:func:`bot.render.esc`), so every tag is known and balanced; text is escaped for Markdown.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["md_escape", "to_markdown"]

_MARKS = {"b": "**", "strong": "**", "i": "_", "em": "_", "s": "~~", "del": "~~", "u": "__"}


def md_escape(text: str) -> str:
    """Escape what Markdown would read as markup."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


class _Writer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str] = []
        self.code = 0
        self.quote = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _MARKS:
            self.out.append(_MARKS[tag])
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self.out.append("[")
        elif tag == "code" and not self.code:
            self.code += 1
            self.out.append("`")
        elif tag == "pre":
            self.code += 1
            self.out.append("\n```\n")
        elif tag == "blockquote":
            self.quote = True
            self.out.append("\n> ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _MARKS:
            self.out.append(_MARKS[tag])
        elif tag == "a":
            href = self.links.pop() if self.links else ""
            self.out.append(f"]({href.replace(')', '%29')})" if href else "]")
        elif tag == "code" and self.code == 1:
            self.code -= 1
            self.out.append("`")
        elif tag == "pre":
            self.code = max(0, self.code - 1)
            self.out.append("\n```\n")
        elif tag == "blockquote":
            self.quote = False
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        text = data if self.code else md_escape(data)
        if self.quote:
            text = text.replace("\n", "\n> ")
        self.out.append(text)


def to_markdown(markup: str) -> str:
    """The Markdown of a message's Telegram HTML."""
    writer = _Writer()
    writer.feed(markup)
    writer.close()
    return re.sub(r"\n{3,}", "\n\n", "".join(writer.out)).strip("\n")
