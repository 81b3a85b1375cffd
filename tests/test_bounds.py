"""The bounds every feed is held to before and after a parser reads it (bot/sources/bounds.py):
entity declarations removed, markup no real feed has refused with the line, fields capped."""

from __future__ import annotations

import pytest

from bot.errors import ParseError
from bot.sources.bounds import (
    MAX_ATTRIBUTES,
    MAX_DEPTH,
    MAX_ELEMENTS,
    Limits,
    cap_guid,
    cap_link,
    cap_text,
    check_structure,
    without_entities,
)
from bot.sources.parse import parse_feed, parse_with_feedparser
from tests.factories import rss
from tests.hostileserver import hostile_feed

ITEM = b"<item><title>Plain</title><link>https://ex.org/1</link></item>"


def feed(*items: bytes, head: bytes = b"") -> bytes:
    return (
        head
        + b'<rss version="2.0"><channel><title>F</title>'
        + b"".join(items)
        + b"</channel></rss>"
    )


# --- entity declarations --------------------------------------------------------------------


def test_a_doctype_that_declares_entities_loses_its_subset_and_nothing_else() -> None:
    head = b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//x//EN" "http://x/rss.dtd" [\n'
    head += b'  <!ENTITY big "expand me">\n  <!ENTITY % p "param">\n]>\n'
    body = feed(b"<item><title>&big;</title></item>", head=head)
    out, warning = without_entities(body)
    assert b"<!ENTITY" not in out and b"expand me" not in out
    assert out.startswith(
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//x//EN" "http://x/rss.dtd" >'
    )
    assert out.endswith(feed(b"<item><title>&big;</title></item>"))
    assert warning is not None
    assert warning.startswith("line 3: the feed declares 2 XML entities")


def test_quoted_brackets_and_comments_inside_the_subset_do_not_end_it_early() -> None:
    head = b"<!DOCTYPE rss [<!-- a ]> in a comment --><!ENTITY a \"]>\"><!ENTITY b ']>'>]>"
    out, warning = without_entities(feed(ITEM, head=head))
    assert out == b"<!DOCTYPE rss >" + feed(ITEM)
    assert warning and "2 XML entities" in warning


def test_an_entity_declared_outside_a_doctype_is_removed_too() -> None:
    out, warning = without_entities(feed(ITEM, head=b'<!ENTITY loose "x" >\n'))
    assert out == b"\n" + feed(ITEM)
    assert warning and "an XML entity" in warning


def test_a_subset_that_never_ends_takes_the_rest_of_the_prolog() -> None:
    out, warning = without_entities(b'<!DOCTYPE rss [<!ENTITY a "x">')
    assert out == b"<!DOCTYPE rss >" and warning


@pytest.mark.parametrize(
    "body",
    [
        feed(ITEM),
        feed(ITEM, head=b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd">\n'),
        feed(b"<item><title>&lt;!ENTITY in text&gt;</title></item>"),
        feed(b"<item><description><![CDATA[<!ENTITY x 'y'>]]></description></item>"),
    ],
    ids=["plain", "doctype-without-subset", "escaped-in-text", "in-cdata-after-the-prolog"],
)
def test_a_feed_without_declarations_is_left_as_it_is(body: bytes) -> None:
    assert without_entities(body) == (body, None)


@pytest.mark.parametrize("parse", [parse_feed, parse_with_feedparser])
def test_the_entity_bomb_is_read_without_expanding_a_single_entity(parse: object) -> None:
    """190 KB that would be 3 GB expanded: read, the references left as written."""
    body = hostile_feed("entity-bomb")
    got = parse(body, url="http://127.0.0.1/bomb")  # type: ignore[operator]
    (entry,) = got.entries
    assert entry.title == "Entity bomb"
    assert "xxxxxxxxxx" not in entry.summary
    assert len(entry.summary) <= Limits().text
    assert got.warning and "does not expand declared entities" in got.warning


def test_a_small_entity_is_not_expanded_either() -> None:
    """Not even one that would be harmless: no parser path expands a declared entity."""
    head = b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY who "the council">]>\n'
    got = parse_feed(feed(b"<item><title>Vote by &who;</title></item>", head=head), url="u")
    assert "the council" not in got.entries[0].title
    assert "who" in got.entries[0].title


# --- structure ------------------------------------------------------------------------------


def test_an_ordinary_feed_of_500_items_passes() -> None:
    items = [{"title": f"Item {n}", "link": f"https://ex.org/{n}"} for n in range(500)]
    check_structure(rss(items))


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (feed(b"<x>" * (MAX_DEPTH + 1)), f"elements nested more than {MAX_DEPTH} deep"),
        (feed(b"<b/>" * (MAX_ELEMENTS + 1)), f"more than {MAX_ELEMENTS:,} elements"),
        (feed(b"</b>" * (2 * MAX_ELEMENTS + 1)), f"more than {2 * MAX_ELEMENTS:,} tags"),
        (
            feed(b"<item " + b" ".join(b'a%d="1"' % n for n in range(MAX_ATTRIBUTES + 1)) + b"/>"),
            f"an element with more than {MAX_ATTRIBUTES} attributes",
        ),
    ],
    ids=["depth", "elements", "tags", "attributes"],
)
def test_markup_past_a_limit_is_refused_with_the_limit(body: bytes, what: str) -> None:
    with pytest.raises(ParseError) as caught:
        check_structure(body)
    assert what in str(caught.value)
    assert "publish fewer or flatter items" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        feed(b"<x>" * (MAX_DEPTH - 2)),  # rss and channel are two levels
        feed(b"<b/>" * (MAX_ELEMENTS - 10)),
        feed(b"<item " + b" ".join(b'a%d="1"' % n for n in range(MAX_ATTRIBUTES - 10)) + b"/>"),
    ],
    ids=["depth", "elements", "attributes"],
)
def test_markup_at_a_limit_passes(body: bytes) -> None:
    check_structure(body)


def test_the_line_of_the_offending_element_is_named() -> None:
    body = feed(b"\n".join([ITEM] * 4 + [b"<x>" * (MAX_DEPTH + 1)]))
    with pytest.raises(ParseError, match=r"^line 5: "):
        check_structure(body)


def test_what_is_not_markup_is_not_counted() -> None:
    """CDATA, comments, quoted ``>`` and ``=`` in attribute values, and HTML a broken feed
    never closed (<p>, <br>) do not add up to a refusal."""
    many = b"<p>" * (MAX_DEPTH + 1)
    check_structure(feed(b"<item><description><![CDATA[" + many + b"]]></description></item>"))
    check_structure(feed(b"<!-- " + many + b" -->", ITEM))
    equals = b"x=1&" * (MAX_ATTRIBUTES + 1)
    check_structure(feed(b'<item><link href="https://ex.org/?' + equals + b'>"/></item>'))
    unclosed = b"<item><description><p>a<br>b<p>c</description></item>"
    check_structure(feed(unclosed * (MAX_DEPTH + 1)))


@pytest.mark.parametrize(("name", "what"), [("attributes", "attributes"), ("deep", "deep")])
@pytest.mark.parametrize("parse", [parse_feed, parse_with_feedparser])
def test_the_hostile_feeds_are_refused_before_a_parser_sees_them(
    parse: object, name: str, what: str
) -> None:
    with pytest.raises(ParseError, match=what):
        parse(hostile_feed(name), url="http://127.0.0.1/h")  # type: ignore[operator]


# --- fields ---------------------------------------------------------------------------------


def test_every_field_is_capped_after_parsing() -> None:
    limits = Limits()
    long = "w" * (limits.text + 50)
    body = rss(
        [
            {
                "title": "t" * (limits.title + 10),
                "link": "https://ex.org/" + "l" * limits.link,
                "guid": "https://ex.org/" + "g" * limits.guid,
                "description": long,
            }
        ],
        title="F" * (limits.title + 1),
    )
    for parse in (parse_feed, parse_with_feedparser):
        got = parse(body, url="http://127.0.0.1/f")
        (entry,) = got.entries
        assert len(entry.title) == limits.title and entry.title.endswith("…")
        assert entry.link is None  # a cut link would lead somewhere else
        assert entry.guid == cap_guid("https://ex.org/" + "g" * limits.guid, limits.guid)
        assert len(entry.summary) == limits.text
        assert got.title is not None and len(got.title) == limits.title


def test_the_five_mb_title_is_stored_cut() -> None:
    got = parse_feed(hostile_feed("long-title"), url="http://127.0.0.1/t")
    assert len(got.entries[0].title) == Limits().title


def test_the_caps() -> None:
    assert cap_text("short", 10) == "short"
    assert cap_text("x" * 11, 10) == "x" * 9 + "…"
    assert cap_link("https://a", 9) == "https://a" and cap_link("https://ab", 9) is None
    assert cap_link(None, 9) is None
    assert cap_guid("id-1", 4) == "id-1"
    hashed = cap_guid("id-12", 4)
    assert hashed is not None and hashed.startswith("sha256:") and hashed == cap_guid("id-12", 4)
    assert cap_guid("id-13", 4) != hashed
