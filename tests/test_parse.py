"""The fast feed reader against feedparser (the reference) on the shared corpus, and JSON Feed.

The corpus replay needs ../shared/corpus: feedparser's own 2,106 test feeds, the real odd feeds
fastfeedparser keeps, and feed-rs's fixtures. Each feedparser test file may carry
``Header: Content-type: ...`` and ``Header: Content-Location: ...`` comment lines that stand for
HTTP headers; they are passed on as the content type and the feed URL.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ParseError
from bot.models import RawEntry
from bot.normalize import html_to_text
from bot.sources.parse import (
    FAST,
    FEEDPARSER,
    JSONFEED,
    ParsedFeed,
    parse_feed,
    parse_with_feedparser,
)
from tests.conftest import shared_path

FEEDPARSER_TESTS = ("kurtmckee-feedparser", "tests")
REAL = (
    ("kagisearch-fastfeedparser", "benchmark_data"),
    ("kagisearch-fastfeedparser", "tests", "integration"),
    ("feed-rs", "feed-rs", "fixture"),
)
FEEDPARSER_GROUPS = ("wellformed", "illformed", "encoding", "entities")
DC = "http://purl.org/dc/elements/1.1/"
DATES = (
    "Tue, 17 Feb 2026 17:49:09 +0000",
    "Tue, 17 Feb 2026 17:49:09 GMT",
    "17 Feb 2026 17:49 EST",
    "2026-02-17T17:49:09Z",
    "2026-02-17T17:49:09.123+05:30",
    "2026-02-17",
    "Feb 30 2026",
    "",
)
_HEADER = re.compile(rb"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)


def corpus(*parts: str) -> Path:
    return shared_path("corpus", *parts)


def headers(body: bytes) -> dict[str, str]:
    """The ``Header: Name: value`` lines of a feedparser test file's leading comment."""
    if not body.lstrip().startswith(b"<!--"):
        return {}
    head = body[: body.find(b"-->")]
    return {k.decode().lower(): v.decode("latin-1") for k, v in _HEADER.findall(head)}


def replay(path: Path, parse: Callable[..., ParsedFeed] = parse_feed) -> ParsedFeed:
    """Parse a corpus file as if it had been fetched, with its simulated headers."""
    body = path.read_bytes()
    sent = headers(body)
    url = sent.get("content-location") or f"http://127.0.0.1:8097/{path.name}"
    return parse(body, url=url, content_type=sent.get("content-type"))


@cache
def reference(path: Path) -> ParsedFeed | None:
    """feedparser's reading of a file, or None when it refuses it."""
    try:
        return replay(path, parse_with_feedparser)
    except ParseError:
        return None


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def key(entry: RawEntry) -> tuple[object, ...]:
    return (entry.title, entry.link, entry.published, entry.guid, entry.author)


def key_list(parsed: ParsedFeed) -> list[tuple[object, ...]]:
    return [key(e) for e in parsed.entries]


def text(value: str) -> str:
    return " ".join(html_to_text(value).split())


def disagreements(path: Path, got: ParsedFeed, ref: ParsedFeed) -> list[str]:
    """Where the fast reader and feedparser differ on title, link, date, GUID or author."""
    name = path.name
    found = []
    if got.title != ref.title:
        found.append(f"{name}: feed title {got.title!r} != {ref.title!r}")
    if len(got.entries) != len(ref.entries):
        found.append(f"{name}: {len(got.entries)} entries != {len(ref.entries)}")
    for ours, theirs in zip(got.entries, ref.entries, strict=False):
        if key(ours) != key(theirs):
            found.append(f"{name}: {key(ours)!r} != {key(theirs)!r}")
    return found


# --- the corpus replay ----------------------------------------------------------------------


@pytest.mark.parametrize("group", FEEDPARSER_GROUPS)
def test_fast_reader_agrees_with_feedparser_on_its_own_tests(group: str) -> None:
    """Wherever feedparser reads a test file without complaint (not bozo), the fast reader gives
    the same title, link, date, GUID and author for every entry, or says why it left the file
    to feedparser."""
    mismatches: list[str] = []
    tally: Counter[str] = Counter()
    for path in files(corpus(*FEEDPARSER_TESTS, group)):
        ref = reference(path)
        if ref is None or ref.warning:
            tally["feedparser bozo"] += 1
            continue
        got = replay(path)
        if got.parser == FEEDPARSER:
            assert got.fallback, f"{path.name}: fell back without a reason"
            tally["no entries" if got.fallback == "no entries" else "fell back"] += 1
            assert key_list(got) == key_list(ref)
            continue
        assert got.parser == FAST
        tally["fast"] += 1
        mismatches += disagreements(path, got, ref)
    assert not mismatches, "\n".join(mismatches[:20])
    if group == "wellformed":
        # Most well-formed test feeds with entries are the fast reader's, not feedparser's.
        assert tally["fast"] > 5 * tally["fell back"], tally


@pytest.mark.parametrize("parts", REAL, ids=lambda p: "/".join(p))
def test_fast_reader_agrees_with_feedparser_on_real_feeds(parts: tuple[str, ...]) -> None:
    """The real feeds: same fields, and the same text from summary and content once the HTML
    is turned into text (the fast reader does not sanitize HTML the pipeline never shows)."""
    mismatches: list[str] = []
    fast = 0
    for path in files(corpus(*parts)):
        ref = reference(path)
        if ref is None or ref.warning or not ref.entries:
            continue
        got = replay(path)
        if got.parser != FAST:
            assert got.fallback, path.name
            continue
        fast += 1
        mismatches += disagreements(path, got, ref)
        for ours, theirs in zip(got.entries, ref.entries, strict=False):
            for field in ("summary", "content"):
                if text(getattr(ours, field)) != text(getattr(theirs, field)):
                    mismatches.append(f"{path.name}: {field} of {ours.title!r}")
    assert not mismatches, "\n".join(mismatches[:20])
    assert fast


@pytest.mark.parametrize(
    "parts",
    [(*FEEDPARSER_TESTS, group) for group in (*FEEDPARSER_GROUPS, "json")] + list(REAL),
    ids=lambda p: "/".join(p),
)
def test_every_corpus_file_is_read_or_refused_with_a_reason(parts: tuple[str, ...]) -> None:
    """No crash on anything: each file gives entries, or a reason (a warning, why the fast
    reader fell back, or a ParseError's message)."""
    for path in files(corpus(*parts)):
        try:
            got = replay(path)
        except ParseError as exc:
            assert str(exc).strip(), path.name
            continue
        assert got.entries or got.warning or got.fallback or got.parser == JSONFEED, path.name
        # The fast reader declines what it does not model; it does not trip over it.
        assert not (got.fallback or "").startswith("fast reader failed"), (path.name, got.fallback)
        for entry in got.entries:
            assert entry.published is None or entry.published.tzinfo is UTC, path.name
            assert entry.source_name


def test_the_news_feeds_are_all_read_by_the_fast_reader() -> None:
    folder = corpus("kagisearch-fastfeedparser", "benchmark_data")
    index = (folder.parent / "INDEX.tsv").read_text(encoding="utf-8").splitlines()
    clean = [row.split("\t")[0] for row in index[1:] if row.split("\t")[3] == "0"]
    for name in clean:
        if name.startswith("benchmark_data/"):
            got = replay(folder.parent / name)
            assert got.parser == FAST, (name, got.fallback)
            assert got.entries and got.warning is None


def test_json_feeds_in_the_corpus() -> None:
    paths = [
        *sorted(corpus("feed-rs", "feed-rs", "fixture", "jsonfeed").glob("*.json")),
        corpus("kagisearch-fastfeedparser", "tests", "integration", "json_feed_sample.json"),
        corpus("kagisearch-fastfeedparser", "benchmark_data", "d4b7ab74da763119"),
        corpus(*FEEDPARSER_TESTS, "json", "example.json"),
    ]
    for path in paths:
        if path.name.endswith(".serde.json"):
            continue
        doc = json.loads(path.read_bytes())
        got = replay(path)
        assert got.parser == JSONFEED and got.title == doc.get("title"), path.name
        assert [e.title for e in got.entries] == [i.get("title", "") for i in doc["items"]]
        assert [e.guid for e in got.entries] == [
            str(i["id"]) if "id" in i else None for i in doc["items"]
        ]


# --- JSON Feed ------------------------------------------------------------------------------

JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Gulf Monitor",
    "home_page_url": "https://gulf.example/",
    "authors": [{"name": "Desk"}],
    "items": [
        {
            "id": "https://gulf.example/a",
            "url": "/a",
            "title": "Drone strike near Erbil",
            "content_html": "<p>Three drones <b>hit</b> a base.</p>",
            "summary": "Strike & response",
            "date_published": "2024-01-28T10:15:00+03:00",
            "authors": [{"name": "R. Reporter", "url": "https://gulf.example/r"}],
        },
        {
            "id": 42,
            "external_url": "https://other.example/story",
            "content_text": "Plain <text> & more",
            "date_modified": "2024-01-29T08:00:00Z",
        },
        "not an item",
    ],
}


def test_a_handwritten_json_feed_1_1() -> None:
    body = json.dumps(JSON_FEED_11).encode()
    url = "https://gulf.example/feed.json"
    got = parse_feed(body, url=url, content_type="application/feed+json")
    assert got.parser == JSONFEED and got.title == "Gulf Monitor"
    assert got.warning == "1 JSON Feed items are not objects"
    first, second = got.entries
    assert first == RawEntry(
        source="https://gulf.example/feed.json",
        guid="https://gulf.example/a",
        title="Drone strike near Erbil",
        link="https://gulf.example/a",
        author="R. Reporter",
        published=datetime(2024, 1, 28, 7, 15, tzinfo=UTC),
        summary="Strike &amp; response",
        content="<p>Three drones <b>hit</b> a base.</p>",
        html=True,
        source_name="Gulf Monitor",
    )
    assert second.guid == "42" and second.title == ""
    assert second.link == "https://other.example/story"
    assert second.author == "Desk"  # the feed's authors stand for an item's that has none
    assert second.published == datetime(2024, 1, 29, 8, 0, tzinfo=UTC)
    assert second.content == "Plain &lt;text&gt; &amp; more"
    assert html_to_text(second.content) == "Plain <text> & more"


def test_json_feed_1_0_author_detection_and_limit() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "title": "Old",
        "items": [
            {"id": str(n), "title": f"t{n}", "author": {"name": "A"}, "date_published": "bad"}
            for n in range(3)
        ],
    }
    body = b"\xef\xbb\xbf  \n" + json.dumps(doc).encode()  # BOM and blanks, no content type
    got = parse_feed(body, url="https://x.example/f", source_name="Mine", limit=2)
    assert got.parser == JSONFEED
    assert [(e.title, e.author, e.published, e.source_name) for e in got.entries] == [
        ("t0", "A", None, "Mine"),
        ("t1", "A", None, "Mine"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"version": "https://jsonfeed.org/version/1.1"}',
        b"[1, 2]",
        b"{" * 100_000,
    ],
)
def test_json_that_is_not_a_json_feed_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, url="https://x.example/f", content_type="application/json")


# --- fallback and edge cases ----------------------------------------------------------------

RSS = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Wire</title>'
    "<item><title>Strike in Gaza</title><link>https://wire.example/1</link>"
    "<pubDate>Tue, 17 Oct 2023 19:00:00 +0300</pubDate><guid>g1</guid>"
    "<description>&lt;p&gt;Blast at a hospital&lt;/p&gt;</description></item>"
    "</channel></rss>"
)


def test_a_plain_rss_feed_is_read_fast_like_feedparser() -> None:
    got = parse_feed(RSS.encode(), url="https://wire.example/rss")
    ref = parse_with_feedparser(RSS.encode(), url="https://wire.example/rss")
    assert got.parser == FAST and got.fallback is None and got.warning is None
    assert got.title == "Wire"
    assert key_list(got) == key_list(ref)
    (entry,) = got.entries
    assert entry.published == datetime(2023, 10, 17, 16, 0, tzinfo=UTC)
    assert entry.guid == "https://wire.example/g1"  # feedparser's guid-is-a-permalink rule
    assert entry.summary == "<p>Blast at a hospital</p>" and entry.source_name == "Wire"


def test_broken_xml_falls_back_to_feedparser_with_its_warning() -> None:
    body = RSS.replace("</channel>", "<item><title>A & B</title></item></channel>").encode()
    got = parse_feed(body, url="https://wire.example/rss")
    assert got.parser == FEEDPARSER
    assert got.fallback and got.fallback.startswith("not well-formed XML")
    assert got.warning and "SAXParseException" in got.warning
    assert [e.title for e in got.entries] == ["Strike in Gaza", "A & B"]


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (RSS.replace("<?xml", '<!DOCTYPE rss [<!ENTITY x "y">]>\n<?xml'), None, "DOCTYPE"),
        (RSS.replace("utf-8", "windows-1251"), None, "declared encoding"),
        (RSS, "application/rss+xml; charset=iso-8859-2", "HTTP charset"),
        (RSS.replace("<item>", "<entry><title>x</title></entry><item>"), None, None),
        (RSS.split("<item>")[0] + "</channel></rss>", None, "no entries"),
    ],
)
def test_what_the_fast_reader_leaves_to_feedparser(
    body: str, content_type: str | None, why: str | None
) -> None:
    got = parse_feed(body.encode(), url="https://wire.example/rss", content_type=content_type)
    if why is None:  # an Atom <entry> inside RSS is still read the way feedparser reads it
        assert got.parser == FAST
        assert key_list(got) == key_list(
            parse_with_feedparser(body.encode(), url="https://wire.example/rss")
        )
    else:
        assert got.parser == FEEDPARSER and got.fallback and why in got.fallback


def test_text_xml_without_charset_is_us_ascii_as_feedparser_says() -> None:
    body = RSS.replace("Strike", "Frappe à").encode()
    got = parse_feed(body, url="https://wire.example/rss", content_type="text/xml")
    ref = parse_with_feedparser(body, url="https://wire.example/rss", content_type="text/xml")
    assert got.parser == FAST and got.warning and "CharacterEncodingOverride" in got.warning
    assert ref.warning and "CharacterEncodingOverride" in ref.warning
    assert key_list(got) == key_list(ref)
    assert got.entries[0].title == "Frappe à in Gaza"


def test_html_is_not_a_feed() -> None:
    for body in (b"<html><body>Moved</body></html>", b"", b"plain text"):
        with pytest.raises(ParseError, match="not a feed"):
            parse_feed(body, url="https://wire.example/rss", content_type="text/html")


def test_relative_links_resolve_against_the_url_and_xml_base() -> None:
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example/world/">'
        b"<title>W</title><entry><title>One</title><link href='one.html'/><id>tag:x,1</id>"
        b"<updated>2024-02-01T12:00:00+01:00</updated></entry>"
        b"<entry xml:base='/other/'><title>Two</title><link href='two.html'/></entry></feed>"
    )
    got = parse_feed(atom, url="https://news.example/feed")
    ref = parse_with_feedparser(atom, url="https://news.example/feed")
    assert got.parser == FAST and key_list(got) == key_list(ref)
    assert [e.link for e in got.entries] == [
        "https://news.example/world/one.html",
        "https://news.example/other/two.html",
    ]
    assert got.entries[0].published == datetime(2024, 2, 1, 11, 0, tzinfo=UTC)
    assert got.entries[0].published.astimezone(timezone(timedelta(hours=1))).hour == 12


# --- generated feeds --------------------------------------------------------------------------

XML_TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs", "Cc"),
        include_characters="\t\n\x85\x93\x80&<>\"'é",
        exclude_characters="\ufffe\uffff",
    ),
    max_size=40,
)


@settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    items=st.lists(
        st.tuples(XML_TEXT, XML_TEXT, XML_TEXT, st.sampled_from(DATES), st.booleans()),
        min_size=1,
        max_size=3,
    ),
    channel=XML_TEXT,
)
def test_generated_rss_reads_as_feedparser_reads_it(
    items: list[tuple[str, str, str, str, bool]], channel: str
) -> None:
    """Any text in titles, links, GUIDs and authors (markup, entities, C1 codes, blanks) and
    the usual date forms come out of the fast reader as out of feedparser."""
    parts = [f'<rss version="2.0" xmlns:dc="{DC}"><channel><title>{escape(channel)}</title>']
    for title, link, author, date, permalink in items:
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="{str(permalink).lower()}">{escape(link or title)}</guid>'
            f"<dc:creator>{escape(author)}</dc:creator><pubDate>{date}</pubDate></item>"
        )
    body = ("".join(parts) + "</channel></rss>").encode()
    got = parse_feed(body, url="https://gen.example/feed")
    ref = parse_with_feedparser(body, url="https://gen.example/feed")
    assert got.parser in (FAST, FEEDPARSER)
    assert (got.title, key_list(got)) == (ref.title, key_list(ref))


def test_namespaces_are_named_as_feedparser_names_them() -> None:
    """A prefix feedparser does not know names the elements of its namespace (The Week binds
    ``dc`` to an https URI, and feedparser still reads dc:creator as the author), unless the
    order of declarations could change that name: then feedparser reads the feed."""
    wrong_dc = RSS.replace(
        '<rss version="2.0">', '<rss version="2.0" xmlns:dc="https://purl.org/dc/elements/1.1/">'
    ).replace("<guid>", "<dc:creator>Desk</dc:creator><guid>")
    also_right_dc = wrong_dc.replace(
        "<dc:creator>", f'<x:date xmlns:x="{DC}">2020-01-01</x:date><dc:creator>'
    )
    for body, reader in ((wrong_dc, FAST), (also_right_dc, FEEDPARSER)):
        got = parse_feed(body.encode(), url="https://wire.example/rss")
        ref = parse_with_feedparser(body.encode(), url="https://wire.example/rss")
        assert got.parser == reader, got.fallback
        assert key_list(got) == key_list(ref)
    assert parse_feed(wrong_dc.encode(), url="https://wire.example/rss").entries[0].author == "Desk"
