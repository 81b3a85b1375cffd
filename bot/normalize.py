"""Normalize raw entries into :class:`~bot.models.Item`: clean text, UTC dates, the dedup key.

The dedup key is made here, once, so every later stage agrees on what "the same item" means:

1. the GUID: when it is a URL it is canonicalized like a link (feeds often use the permalink);
   an opaque GUID ("12345") is only unique within its feed, so it is scoped by the source;
2. else the canonical link (lower-case host, no fragment, tracking parameters removed);
3. else a SHA-256 of the title and text.
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.models import Item, RawEntry
from bot.redact import strip_controls

__all__ = ["canonical_url", "clean_text", "dedup_key", "html_to_text", "normalize", "shown_link"]

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "_hs")
_TRACKING_KEYS = frozenset(
    """
    fbclid gclid dclid msclkid yclid igshid mkt_tok ref ref_src cmpid cmp ocid smid smtyp
    traffic_source at_medium at_campaign ito wt.mc_id __twitter_impression guccounter
    """.split()  # noqa: SIM905
)
_BLOCK_TAGS = frozenset(
    """
    p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote tr table section article header footer
    figure figcaption hr pre
    """.split()  # noqa: SIM905
)
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <hr/>: one break; a self-closed <script/> opens nothing to skip.
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def clean_text(text: str) -> str:
    """Collapse runs of spaces inside lines and blank-line runs into one paragraph break."""
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line:
            out.append(line)
        elif out and out[-1] != "":
            out.append("")
    return "\n".join(out).strip()


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment, paragraphs kept as line breaks, entities decoded."""
    if "<" not in fragment and "&" not in fragment:
        return clean_text(fragment)
    parser = _TextExtractor()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser is lenient; this is only a last resort for odd input
        return clean_text(html.unescape(re.sub(r"<[^>]*>", " ", fragment)))
    return clean_text("".join(parser.parts))


def canonical_url(url: str) -> str:
    """``url`` without fragment and tracking parameters, with lower-case scheme and host."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    host = parts.netloc.lower()
    if host.endswith(":80") and parts.scheme.lower() == "http":
        host = host[:-3]
    elif host.endswith(":443") and parts.scheme.lower() == "https":
        host = host[:-4]
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_KEYS
    ]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(query), ""))


def shown_link(link: str | None) -> str | None:
    """The feed's own link as people should see and follow it: http(s) (or a local file's
    ``file:`` URL), without controls or spaces; anything else (``javascript:``, ``data:``,
    ``tg:``…) is no link at all. The canonical form is for dedup keys, not for people."""
    if not link:
        return None
    link = "".join(strip_controls(link).split())
    scheme = link.split(":", 1)[0].lower() if ":" in link else ""
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(link)
        except ValueError:
            return None
        return link if parts.hostname else None
    return link if scheme == "file" else None


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def dedup_key(source: str, guid: str | None, link: str | None, title: str, text: str) -> str:
    """The dedup key: GUID, else canonical link, else a hash of title and text."""
    if guid and guid.strip():
        guid = guid.strip()
        if re.match(r"^https?://", guid, re.IGNORECASE):
            return "url:" + canonical_url(guid)
        return "guid:" + _sha(source, guid)
    if link and link.strip():
        return "url:" + canonical_url(link)
    return "hash:" + _sha(" ".join(title.split()).lower(), " ".join(text.split()).lower())


def normalize(raw: RawEntry, now: datetime | None = None) -> Item:
    """Turn a source's raw entry into an :class:`Item` (UTC date, clean text, dedup key)."""

    def convert(value: str) -> str:
        # Control characters and bidi overrides out before anything reads the text: they
        # could ring a console's bell or make a title or link read backwards in a chat.
        value = strip_controls(value)
        return html_to_text(value) if raw.html else clean_text(value)

    title = " ".join(convert(raw.title).split()) if raw.title else ""
    summary = convert(raw.summary) if raw.summary else ""
    content = convert(raw.content) if raw.content else ""
    # The longer of content and summary is the text; feeds often put a teaser in one of them.
    text = content if len(content) >= len(summary) else summary
    if not title:
        first = text.split("\n", 1)[0]
        title = first[:120] + ("…" if len(first) > 120 else "")
    clock = now or datetime.now(UTC)
    published = raw.published or clock
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    # A date in the future is a feed's mistake (or a wrong timezone): it would sort first for
    # ever and move the story window ahead, so it counts as "now".
    published = min(published.astimezone(UTC), clock.astimezone(UTC))
    key = dedup_key(raw.source, raw.guid, raw.link, title, text)
    author = " ".join(strip_controls(raw.author).split()) if raw.author else ""
    return Item(
        key=key,
        id=(raw.guid or raw.link or key),
        source=raw.source,
        source_name=" ".join(strip_controls(raw.source_name or raw.source).split()),
        title=title or "(untitled)",
        link=shown_link(raw.link),
        author=author or None,
        published=published,
        text=text,
        description=summary or text[:400],
        date_only=raw.date_only and raw.published is not None,
    )
