"""feedparser's author, contributor and publisher handlers: the ``author`` string it builds from
a name and an e-mail address, or from the text as given."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.sources.fastread.state import ReaderState

__all__ = ["ENDS", "FRAMES", "STARTS", "AuthorHandlers"]

_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)


class AuthorHandlers(ReaderState):
    """author, contributor, their name/email/url; Dublin Core's contributor and iTunes' owner
    (a publisher), which feedparser's dc and itunes mixins handle with the same frames."""

    def _start_author(self, attrs: dict[str, str]) -> None:
        self.inauthor = 1
        self._push("author", 1)
        self._context().setdefault("authors", []).append({})

    def _end_author(self) -> None:
        self._pop("author")
        self.inauthor = 0
        self._sync_author_detail()

    def _start_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self._push("contributor", 0)

    def _end_contributor(self) -> None:
        self._pop("contributor")
        self.incontributor = 0

    def _start_dc_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self._push("name", 0)

    def _end_dc_contributor(self) -> None:
        self._end_name()
        self.incontributor = 0

    def _start_itunes_owner(self, attrs: dict[str, str]) -> None:
        self.inpublisher = 1
        self._push("publisher", 0)

    def _end_itunes_owner(self) -> None:
        self._pop("publisher")
        self.inpublisher = 0

    def _end_name(self) -> None:
        value = self._pop("name")
        if self.inpublisher:
            return
        if self.inauthor:
            self._save_author("name", value)
        elif self.incontributor:
            return
        elif self.intextinput:
            self._context()["name"] = value

    def _end_email(self) -> None:
        value = self._pop("email")
        if not self.inpublisher and self.inauthor:
            self._save_author("email", value)

    def _end_url(self) -> None:
        value = self._pop("href")
        if self.inauthor:
            self._save_author("href", value)

    def _save_author(self, key: str, value: str | None) -> None:
        context = self._context()
        self._sync_author_detail()
        context.setdefault("authors", [{}])[-1][key] = value

    def _sync_author_detail(self) -> None:
        """feedparser's author string: "name (email)" from the detail, else the text as given."""
        context = self._context()
        detail = context.get("authors", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context["author"] = f"{name} ({email})"
            elif name:
                context["author"] = name
            elif email:
                context["author"] = email
            return
        author, email = context.get("author"), None
        if not author:
            return
        match = _EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email


_A = AuthorHandlers
STARTS: dict[str, Callable[[AuthorHandlers, dict[str, str]], None]] = {
    "author": _A._start_author,
    "managingeditor": _A._start_author,
    "contributor": _A._start_contributor,
}
ENDS: dict[str, Callable[[AuthorHandlers], None]] = {
    "author": _A._end_author,
    "managingeditor": _A._end_author,
    "contributor": _A._end_contributor,
    "name": _A._end_name,
    "email": _A._end_email,
    "url": _A._end_url,
    "homepage": _A._end_url,
    "uri": _A._end_url,
}
# The frames the ends above pop: (frame, expecting).
FRAMES: dict[str, tuple[str, int]] = {
    "name": ("name", 0),
    "email": ("email", 0),
    "url": ("href", 1),
    "homepage": ("href", 1),
    "uri": ("href", 1),
}
