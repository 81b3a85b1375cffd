"""Normalization: canonical URLs, dedup keys, HTML to text, raw entry -> Item (bot/normalize.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.models import RawEntry
from bot.normalize import canonical_url, clean_text, dedup_key, html_to_text, normalize

SRC = "https://example.com/feed.xml"
LINK = "https://example.com/news/iraq-troops"


def raw(**kw) -> RawEntry:
    base = dict(
        source=SRC,
        guid=None,
        title="Title",
        link=None,
        author=None,
        published=datetime(2024, 9, 17, 8, 0, tzinfo=UTC),
        summary="",
        content="",
        html=True,
        source_name="Example",
    )
    base.update(kw)
    return RawEntry(**base)


# --------------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/News/Iraq", "https://example.com/News/Iraq"),  # path keeps case
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?id=7&utm_campaign=x", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=abc&gclid=def&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?UTM_Source=x&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),
        ("urn:uuid:1234", "urn:uuid:1234"),  # not http(s): left alone
        ("mailto:x@example.com", "mailto:x@example.com"),
    ],
)
def test_canonical_url(url, canonical) -> None:
    assert canonical_url(url) == canonical


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://Example.com:80/a?utm_source=x&q=a+b#top")
    assert canonical_url(once) == once


# --------------------------------------------------------------------------- dedup_key


def test_tracking_parameters_do_not_change_the_key() -> None:
    plain = dedup_key(SRC, None, LINK, "t", "x")
    tracked = dedup_key(SRC, None, LINK + "?utm_source=twitter&utm_medium=social#top", "t", "x")
    assert plain == tracked


def test_a_different_path_changes_the_key() -> None:
    assert dedup_key(SRC, None, LINK, "t", "x") != dedup_key(SRC, None, LINK + "-2", "t", "x")


def test_a_meaningful_query_parameter_changes_the_key() -> None:
    assert dedup_key(SRC, None, LINK + "?id=1", "t", "x") != dedup_key(
        SRC, None, LINK + "?id=2", "t", "x"
    )


def test_guid_wins_over_link() -> None:
    a = dedup_key(SRC, "guid-1", "https://example.com/a", "t", "x")
    b = dedup_key(SRC, "guid-1", "https://example.com/b", "other", "y")
    c = dedup_key(SRC, "guid-2", "https://example.com/a", "t", "x")
    assert a == b  # same GUID, different links: same item
    assert a != c  # same link, different GUIDs: different items


def test_link_wins_over_title_and_text() -> None:
    a = dedup_key(SRC, None, LINK, "Title one", "text one")
    b = dedup_key(SRC, None, LINK, "Title two", "text two")
    c = dedup_key(SRC, None, LINK + "-other", "Title one", "text one")
    assert a == b
    assert a != c


def test_without_guid_or_link_title_and_text_decide() -> None:
    a = dedup_key(SRC, None, None, "ISIS attack", "Fighters struck.")
    assert a == dedup_key(SRC, None, None, "  isis   ATTACK ", "fighters\n struck.")
    assert a != dedup_key(SRC, None, None, "ISIS attack", "Fighters retreated.")
    assert a != dedup_key(SRC, None, None, "ISIS raid", "Fighters struck.")


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_blank_guid_and_link_are_ignored(empty) -> None:
    assert dedup_key(SRC, empty, LINK, "t", "x") == dedup_key(SRC, None, LINK, "t", "x")
    assert dedup_key(SRC, None, empty, "t", "x") == dedup_key(SRC, None, None, "t", "x")


def test_opaque_guid_is_scoped_by_source() -> None:
    a = dedup_key("https://one.example/feed", "12345", None, "t", "x")
    b = dedup_key("https://two.example/feed", "12345", None, "t", "x")
    assert a != b
    assert a == dedup_key("https://one.example/feed", " 12345 ", None, "other", "y")


def test_url_guid_is_not_scoped_by_source_and_is_canonicalized() -> None:
    a = dedup_key("https://one.example/feed", LINK, None, "t", "x")
    b = dedup_key("https://two.example/feed", LINK + "?utm_source=rss", None, "t", "x")
    assert a == b
    # a permalink GUID is the same item as an entry with only that link
    assert a == dedup_key("https://three.example/feed", None, LINK + "#x", "t", "x")


def test_key_kinds_are_distinguishable() -> None:
    keys = {
        dedup_key(SRC, "12345", None, "t", "x"),
        dedup_key(SRC, None, LINK, "t", "x"),
        dedup_key(SRC, None, None, "t", "x"),
    }
    assert len(keys) == 3


# --------------------------------------------------------------------------- html_to_text


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("plain   text", "plain text"),
        ("<p>Hello &amp; <b>world</b></p>", "Hello & world"),
        ("Tom &lt;b&gt; &quot;Jerry&quot; &#8212; &eacute;", 'Tom <b> "Jerry" — é'),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),  # paragraphs stay paragraphs
        ("One<br>Two", "One\nTwo"),
        ("<p>One</p>\n\n\n<p>Two</p>", "One\n\nTwo"),
        ("a<script>alert('x')</script>b", "ab"),
        ("<style>p {color: red}</style>Body", "Body"),
        ("<head><title>T</title></head>Body", "Body"),
        ("  <div>  spaced    out  </div>  ", "spaced out"),
        ("x < y and y > z", "x < y and y > z"),
    ],
)
def test_html_to_text(fragment, text) -> None:
    assert html_to_text(fragment) == text


def test_self_closing_br_is_the_same_as_br() -> None:
    assert html_to_text("one<br/>two") == html_to_text("one<br>two") == "one\ntwo"


def test_block_elements_start_new_lines() -> None:
    text = html_to_text("<ul><li>one</li><li>two</li></ul><h2>Head</h2>tail")
    assert [line for line in text.splitlines() if line] == ["one", "two", "Head", "tail"]


def test_clean_text_collapses_blank_runs_into_one_paragraph_break() -> None:
    assert clean_text("  a  b \r\n\r\n\r\n c\n\n\n\nd  ") == "a b\n\nc\n\nd"


# --------------------------------------------------------------------------- normalize


def test_normalize_cleans_html_title_and_text() -> None:
    item = normalize(
        raw(
            title="<b>ISIS</b>  &amp;   Iraq",
            summary="<p>Short teaser</p>",
            content="<p>The full <i>story</i>.</p><p>Second paragraph.</p>",
            link="HTTPS://Example.com/a?utm_source=rss#top",
            author="  Joumanna   Bercetche ",
        )
    )
    assert item.title == "ISIS & Iraq"
    # the longer of content and summary, paragraphs kept
    assert item.text == "The full story.\n\nSecond paragraph."
    assert item.description == "Short teaser"
    # People see the feed's own link; the canonical form is only the dedup key's.
    assert item.link == "HTTPS://Example.com/a?utm_source=rss#top"
    assert item.author == "Joumanna Bercetche"
    assert item.source_name == "Example"
    assert item.key == dedup_key(SRC, None, "https://example.com/a", "", "")


def test_normalize_prefers_a_longer_summary_over_short_content() -> None:
    item = normalize(raw(summary="A long summary with the whole story in it.", content="Teaser"))
    assert item.text == "A long summary with the whole story in it."


def test_plain_text_entries_are_not_parsed_as_html() -> None:
    item = normalize(raw(title="a <b> c", content="x &amp; <y>", html=False))
    assert item.title == "a <b> c"
    assert item.text == "x &amp; <y>"


def test_untitled_entries_take_the_first_line_of_the_text() -> None:
    item = normalize(raw(title="", content="<p>First line here</p><p>Second</p>"))
    assert item.title == "First line here"
    long = "word " * 60
    item = normalize(raw(title="", content=long))
    assert item.title.endswith("…")
    assert len(item.title) == 121
    assert normalize(raw(title="", content="")).title == "(untitled)"


def test_dates_become_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    item = normalize(raw(published=datetime(2024, 9, 17, 10, 0, tzinfo=plus2)))
    assert item.published == datetime(2024, 9, 17, 8, 0, tzinfo=UTC)
    assert item.published.utcoffset() == timedelta(0)
    naive = normalize(raw(published=datetime(2024, 9, 17, 10, 0)))
    assert naive.published == datetime(2024, 9, 17, 10, 0, tzinfo=UTC)


def test_missing_date_uses_now() -> None:
    now = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    assert normalize(raw(published=None), now=now).published == now


@pytest.mark.parametrize(
    ("guid", "link", "expected_id"),
    [("g-1", LINK, "g-1"), (None, LINK, LINK), (None, None, None)],
)
def test_item_id_is_guid_else_link_else_key(guid, link, expected_id) -> None:
    item = normalize(raw(guid=guid, link=link, content="body"))
    assert item.id == (expected_id if expected_id is not None else item.key)
    assert item.key.startswith("hash:") is (guid is None and link is None)


def test_source_name_falls_back_to_the_source() -> None:
    assert normalize(raw(source_name=None)).source_name == SRC


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        " JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "tg://resolve?domain=phish",
        "vbscript:msgbox",
        "https://",  # no host
    ],
)
def test_only_web_links_stay_links(link: str) -> None:
    assert normalize(raw(title="t", link=link)).link is None


def test_a_link_keeps_its_own_form_without_controls() -> None:
    item = normalize(raw(title="t", link="https://ex.org/here.pl?r123\u202e\x1b"))
    assert item.link == "https://ex.org/here.pl?r123"


def test_controls_and_bidi_overrides_never_reach_the_text() -> None:
    evil = "ISIS\u202egnp.exe\x1b[2J\x07 claims\x00 \u200battack\u2066"
    item = normalize(raw(title=evil, summary=evil, content="", author="Rep\x1b]0;pwn\x07orter"))
    for text in (item.title, item.text, item.description, item.author or ""):
        assert not any(ord(c) < 32 and c not in "\n\t" for c in text), repr(text)
        assert not any(c in text for c in "\u202e\u2066\u200b\x7f"), repr(text)
    assert item.title == "ISISgnp.exe[2J claims attack"
