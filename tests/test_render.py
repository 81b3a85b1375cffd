"""Rendering alerts and digests as Telegram HTML (bot/render.py).

Every rendered message is checked with ``tests.fakebotapi.parse_html``, which refuses exactly
what Telegram refuses, and measured as Telegram measures it (UTF-16 units of the parsed text).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.models import DeliveryTask, DigestEntry, Evidence, Item, Match, OutgoingMessage, Topic
from bot.render import (
    MAX_MESSAGE,
    digest_markdown,
    esc,
    render_alert,
    render_digest,
    render_latest,
    split_blocks,
    split_message,
    visible_length,
)
from tests.fakebotapi import HTMLParseError, parse_html, utf16_len

UTC_TZ = ZoneInfo("UTC")
T0 = datetime(2024, 9, 17, 8, 0, tzinfo=UTC)
HOSTILE = (
    '<script>alert("x")</script> & </b> <b>bold?</b> <a href="http://evil">x</a> '
    "&amp; &lt; &#0; 'single' \"double\" <tg-spoiler> 🚀 < > &"
)
TOPICS = {
    "isis": Topic("isis", "ISIS", "isis"),
    "iraq": Topic("iraq", "Iraq & <Syria>", "iraq"),
}


def make_item(n: int = 0, **kw) -> Item:
    base = dict(
        key=f"key-{n}",
        id=f"id-{n}",
        source="https://example.com/feed.xml",
        source_name="Example News",
        title=f"Item {n:03d}: ISIS attack",
        link=f"https://example.com/news/{n}",
        author=None,
        published=T0 + timedelta(minutes=n),
        text="Body",
    )
    base.update(kw)
    return Item(**base)


def make_match(topic_id: str = "isis", score: float = 4.0, term: str = "isis") -> Match:
    return Match(topic_id, score, (Evidence(term, "title", 1, f"… {term} …"),))


def parsed(message: OutgoingMessage) -> str:
    """The text Telegram would show; fails the test if Telegram would refuse the HTML."""
    try:
        text, _ = parse_html(message.html)
    except HTMLParseError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"invalid Telegram HTML: {exc}\n{message.html[:2000]}")
    return text


def assert_sendable(message: OutgoingMessage) -> str:
    text = parsed(message)
    assert utf16_len(text) <= MAX_MESSAGE
    assert visible_length(message.html) == utf16_len(text)
    return text


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Turn an endless loop into a TimeoutError (SIGALRM interrupts pure-Python loops)."""

    def expire(signum, frame):
        raise TimeoutError(f"did not finish within {seconds}s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a < b", "a &lt; b"),
        ("a > b", "a &gt; b"),
        ("R&D", "R&amp;D"),
        ('say "hi"', "say &quot;hi&quot;"),
        ("&amp;", "&amp;amp;"),
        ("</b>", "&lt;/b&gt;"),
    ],
)
def test_esc(text, escaped) -> None:
    assert esc(text) == escaped
    assert parse_html(escaped)[0] == text


@pytest.mark.parametrize(
    ("markup", "length"),
    [
        ("plain", 5),
        ("<b>bold</b>", 4),
        ('<a href="https://x.example/very/long">ab</a>', 2),
        ("&lt;&gt;&amp;&quot;", 4),
        ("🚀", 2),  # outside the BMP: two UTF-16 units
        ("é", 1),
    ],
)
def test_visible_length_counts_like_telegram(markup, length) -> None:
    assert visible_length(markup) == length
    assert utf16_len(parse_html(markup)[0]) == length


# --------------------------------------------------------------------------- alerts


def test_alert_shows_topics_title_source_summary_link_and_why() -> None:
    item = make_item(1, author="Jane Doe")
    task = DeliveryTask(item, 1, (make_match("isis", 4.0), make_match("iraq", 1.0, "iraq")), "Sum.")
    message = render_alert(task, TOPICS, UTC_TZ)
    text = assert_sendable(message)
    for expected in (
        "ISIS",
        "Iraq & <Syria>",
        item.title,
        "Example News",
        "Jane Doe",
        "Sum.",
        item.link,
        "Why ISIS:",
        "“isis” in title",
        "score 4",
    ):
        assert expected in text
    # the title links to the item
    _, entities = parse_html(message.html)
    assert any(e["type"] == "text_link" and e["url"] == item.link for e in entities)
    # html and plain say the same (plain has the bare link, without the 🔗 marker)
    assert text.replace("🔗 ", "") == message.plain


def test_alert_falls_back_to_the_topic_id_and_to_news() -> None:
    task = DeliveryTask(make_item(), 1, (make_match("unknown-topic"),), "")
    assert "unknown-topic" in parsed(render_alert(task, {}, UTC_TZ))
    bare = render_alert(DeliveryTask(make_item(), 1, (), ""), {}, UTC_TZ)
    assert parsed(bare).startswith("🔔 news")


def test_alert_time_is_in_the_configured_timezone() -> None:
    task = DeliveryTask(make_item(0), 1, (make_match(),), "")
    berlin = parsed(render_alert(task, TOPICS, ZoneInfo("Europe/Berlin")))
    assert "10:00" in berlin and "CEST" in berlin  # 08:00 UTC in September
    utc = parsed(render_alert(task, TOPICS, UTC_TZ))
    assert "08:00" in utc and "10:00" not in utc


@pytest.mark.parametrize("where", ["title", "summary", "source_name", "author", "link", "term"])
def test_alert_with_hostile_feed_text_is_valid_html(where) -> None:
    item = make_item(2)
    summary = "A calm summary."
    term = "isis"
    if where == "summary":
        summary = HOSTILE
    elif where == "link":
        item = replace(item, link='https://example.com/a?x="><b>&y=<i>&z=1')
    elif where == "term":
        term = HOSTILE
    else:
        item = replace(item, **{where: HOSTILE})
    task = DeliveryTask(item, 1, (make_match(term=term),), summary)
    message = render_alert(task, TOPICS, UTC_TZ)
    text = assert_sendable(message)
    _, entities = parse_html(message.html)
    # only the bot's own formatting: no feed text turned into markup
    assert {e["type"] for e in entities} <= {"bold", "italic", "text_link"}
    if where == "link":
        assert all(e["url"] == item.link for e in entities if e["type"] == "text_link")
    else:
        assert HOSTILE in text  # shown literally, character for character


def test_alert_with_a_huge_summary_is_shortened_to_fit() -> None:
    summary = " ".join(f"sentence{i} & <more>." for i in range(3000))
    task = DeliveryTask(make_item(3), 1, (make_match(),), summary)
    message = render_alert(task, TOPICS, UTC_TZ)
    text = assert_sendable(message)
    assert utf16_len(text) > 1000  # the summary was shortened, not dropped
    assert summary[:200] in text
    assert "…" in text
    assert make_item(3).title in text and make_item(3).link in text


def test_alert_with_a_huge_summary_of_wide_characters_fits() -> None:
    summary = "🚀 " * 5000
    task = DeliveryTask(make_item(4), 1, (make_match(),), summary)
    assert_sendable(render_alert(task, TOPICS, UTC_TZ))


@pytest.mark.parametrize("title", ["ISIS " * 3000, "X" * 9000, "🚀" * 5000])
def test_alert_with_a_huge_title_and_no_summary_fits(title) -> None:
    task = DeliveryTask(make_item(5, title=title), 1, (make_match(),), "")
    with time_limit(5):
        message = render_alert(task, TOPICS, UTC_TZ)
    text = assert_sendable(message)
    assert title[:100] in text


def test_alert_with_a_huge_title_and_a_summary_fits() -> None:
    task = DeliveryTask(make_item(6, title="ISIS " * 3000), 1, (make_match(),), "A summary.")
    with time_limit(1):
        message = render_alert(task, TOPICS, UTC_TZ)
    assert_sendable(message)


@pytest.mark.parametrize("field", ["author", "source_name"])
def test_alert_with_a_huge_author_or_source_name_fits(field) -> None:
    # no summary: with one, the endless loop above happens first
    task = DeliveryTask(make_item(7, **{field: "Name " * 2000}), 1, (make_match(),), "")
    with time_limit(2):
        message = render_alert(task, TOPICS, UTC_TZ)
    assert_sendable(message)


# --------------------------------------------------------------------------- digests


def entry(n: int, topic: str = "isis", score: float = 1.0, **kw) -> DigestEntry:
    summary = kw.pop("summary", f"Summary {n}.")
    return DigestEntry(topic, make_item(n, **kw), summary, score, T0)


def test_empty_digest_says_nothing_new() -> None:
    [message] = render_digest([], TOPICS, UTC_TZ, since=T0, now=T0 + timedelta(days=1))
    text = assert_sendable(message)
    assert "Nothing new" in text
    assert "17 Sep 2024" in text  # since when


def test_digest_ranks_stories_best_first_and_lists_each_once() -> None:
    entries = [
        entry(1, "isis", 1.0),
        entry(2, "isis", 5.0),
        entry(3, "iraq", 2.0),
        entry(2, "isis", 5.0),  # the same item twice for a topic counts once
    ]
    [message] = render_digest(entries, TOPICS, UTC_TZ, since=None, now=T0)
    text = assert_sendable(message)
    assert text.startswith("📰 Digest: 3 stories")
    assert text.count("Item 002") == 1
    # The topic with the best story first; within a topic, the best story first.
    assert text.index("ISIS · 2 stories") < text.index("Iraq & <Syria> · 1 story")
    assert text.index("Item 002") < text.index("Item 001")
    assert "Summary 2." in text


def test_digest_caps_each_topic_and_says_how_many_more() -> None:
    entries = [entry(n, "isis", float(n)) for n in range(15)]
    [message] = render_digest(entries, TOPICS, UTC_TZ, since=None, now=T0, per_topic=10)
    text = assert_sendable(message)
    shown = [n for n in range(15) if f"Item {n:03d}" in text]
    assert shown == list(range(5, 15))  # the ten best
    assert "5 more" in text and "/latest isis" in text


def _report(n: int, source: str, summary: str, minutes: int = 0, **kw) -> DigestEntry:
    item = make_item(n, source_name=source, story="st-1", **kw)
    item = replace(item, published=T0 + timedelta(minutes=minutes))
    return DigestEntry("isis", item, summary, 2.0, T0 + timedelta(minutes=minutes))


def test_a_story_is_one_line_told_by_its_fullest_report_with_every_source() -> None:
    entries = [
        _report(1, "Reuters", "Short teaser."),
        _report(
            2,
            "BBC",
            "The full report. It says who, what, where and when.",
            minutes=5,
            text="The coalition struck the militant position near the border overnight, the "
            "army said. Officials confirmed the casualties to reporters on Tuesday morning.",
        ),
        _report(3, "NPR", "Another teaser.", minutes=9),
        entry(4, "isis", 1.0),
    ]
    [message] = render_digest(entries, TOPICS, UTC_TZ, since=None, now=T0)
    text = assert_sendable(message)
    assert text.startswith("📰 Digest: 2 stories")
    assert text.count("Item 002") == 1 and "Item 001" not in text and "Item 003" not in text
    assert "The full report. It says who" in text and "teaser" not in text
    assert "Reuters, BBC, NPR · 17 Sep 2024 08:09 UTC" in text  # first reporter first
    assert text.index("Item 002") < text.index("Item 004")  # three sources outrank one


def test_a_story_already_alerted_is_left_out_unless_it_changed() -> None:
    old = [_report(1, "Reuters", "First report.")]
    later = [_report(2, "BBC", "A later report.", minutes=30)]
    alerted = {"st-1": T0 + timedelta(minutes=10)}
    [quiet] = render_digest(old, TOPICS, UTC_TZ, since=None, now=T0, alerted=alerted)
    assert "Nothing new" in assert_sendable(quiet)
    [changed] = render_digest(old + later, TOPICS, UTC_TZ, since=None, now=T0, alerted=alerted)
    text = assert_sendable(changed)
    assert "↻ 1 new report since your alert: BBC" in text


def test_the_headline_counts_stories_new_since_the_last_digest() -> None:
    last = T0 + timedelta(minutes=5)
    entries = [
        DigestEntry("isis", make_item(1), "s", 1.0, T0),  # matched before the last digest
        DigestEntry("isis", make_item(2), "s", 1.0, T0 + timedelta(minutes=6)),
        DigestEntry("iraq", make_item(3), "s", 1.0, T0 + timedelta(minutes=7)),
    ]
    [message] = render_digest(entries, TOPICS, UTC_TZ, since=last, now=T0 + timedelta(hours=1))
    text = assert_sendable(message)
    assert text.startswith("📰 Digest: 3 stories, 2 new since 17 Sep 2024 08:05 UTC")
    assert text.count("🆕") == 2 and "Item 001: ISIS attack\n" in text


def test_digest_as_markdown_escapes_feed_text() -> None:
    entries = [entry(1, "isis", 2.0, title="Fighters *claim* [attack] #1", summary="A_b <c>.")]
    md = digest_markdown(entries, TOPICS, UTC_TZ, since=None, now=T0)
    assert md.startswith("# Digest: 1 story")
    assert "## ISIS" in md
    assert r"[Fighters \*claim\* \[attack\] \#1](https://example.com/news/1)" in md
    assert r"A\_b \<c\>." in md


def test_digest_with_hostile_text_is_valid_html() -> None:
    entries = [
        entry(1, "isis", title=HOSTILE, summary=HOSTILE, source_name=HOSTILE),
        entry(2, "isis", link='https://example.com/?a="<b>&b=1'),
        entry(3, HOSTILE),
    ]
    messages = render_digest(entries, {}, UTC_TZ, since=None, now=T0)
    text = "\n".join(assert_sendable(m) for m in messages)
    assert HOSTILE in text
    for m in messages:
        _, entities = parse_html(m.html)
        assert {e["type"] for e in entities} <= {"bold", "italic", "text_link"}


def test_digest_of_300_entries_is_split_into_valid_messages() -> None:
    long_summary = 'Lead & <officials> said "it". ' + "more words follow " * 20
    entries = [
        entry(
            n,
            f"topic-{n % 30:02d}",
            float(n),
            summary=long_summary,
            title=f"Item {n:03d} " + "<b>title</b> & more " * 30,
        )
        for n in range(300)
    ]
    messages = render_digest(entries, {}, UTC_TZ, since=None, now=T0, per_topic=10)
    assert len(messages) > 1
    texts = [assert_sendable(m) for m in messages]
    joined = "\n".join(texts)
    assert "300 stories" in texts[0]
    for n in range(300):  # every entry once, none lost at a split
        assert joined.count(f"Item {n:03d} ") == 1
    # a message is split between blocks, never inside an entry
    for t in texts:
        assert t.count("Item ") == t.count("Lead & <officials>")


def test_digest_entry_with_a_huge_source_name_fits() -> None:
    messages = render_digest(
        [entry(1, source_name="Feed " * 2000)], TOPICS, UTC_TZ, since=None, now=T0
    )
    for m in messages:
        assert_sendable(m)


def test_latest_lists_entries_with_their_topic() -> None:
    messages = render_latest([entry(1, "isis"), entry(2, "iraq")], TOPICS, UTC_TZ, "all topics")
    text = "\n".join(assert_sendable(m) for m in messages)
    assert "Latest: all topics" in text
    assert text.index("Item 001") < text.index("Item 002")  # the order given
    assert "Iraq & <Syria>" in text and "ISIS" in text


def test_latest_without_entries() -> None:
    [message] = render_latest([], TOPICS, UTC_TZ, "<ISIS>")
    assert assert_sendable(message) == "No matches yet for <ISIS>."


def test_latest_of_many_entries_is_split() -> None:
    entries = [entry(n, "isis", summary="word " * 60) for n in range(200)]
    messages = render_latest(entries, TOPICS, UTC_TZ, "ISIS")
    assert len(messages) > 1
    joined = "\n".join(assert_sendable(m) for m in messages)
    assert all(joined.count(f"Item {n:03d}") == 1 for n in range(200))


# --------------------------------------------------------------------------- split_blocks


def test_split_blocks_packs_blocks_in_order_without_splitting_them() -> None:
    blocks = [(f"<b>{n}</b>" + "x" * 95, f"{n}" + "x" * 95) for n in range(100, 130)]
    messages = split_blocks(blocks, limit=500)
    assert len(messages) > 1
    for m in messages:
        assert visible_length(m.html) <= 500
        parse_html(m.html)
    html_blocks = [b for m in messages for b in m.html.split("\n\n")]
    plain_blocks = [b for m in messages for b in m.plain.split("\n\n")]
    assert html_blocks == [h for h, _ in blocks]
    assert plain_blocks == [p for _, p in blocks]
    # as few as fit: a block is 98 units and blocks are joined by 2, so k blocks take
    # 100k - 2 units: five fit in 500, six do not; 30 blocks make 6 messages
    assert len(messages) == 6


def test_split_blocks_of_nothing_is_no_message() -> None:
    assert split_blocks([]) == []


def _long_html() -> OutgoingMessage:
    paragraphs = [
        f"<b>Part {n}</b> — Troops &amp; tanks. <i>{'Sentence about the front. ' * 12}</i>"
        f'<a href="https://ex.org/{n}?a=1&amp;b=2">link {n}</a>'
        for n in range(40)
    ]
    html_text = "\n\n".join(paragraphs)
    return OutgoingMessage(html_text, parse_html(html_text)[0], buttons=((("👍", "fb:1:1"),),))


def test_a_long_message_is_split_between_paragraphs_into_valid_parts() -> None:
    message = _long_html()
    assert utf16_len(message.plain) > 3 * 4096
    parts = split_message(message)
    assert len(parts) >= 4
    for part in parts:
        text, _ = parse_html(part.html)  # valid HTML: no tag or entity cut
        assert utf16_len(text) <= 4096 and text == part.plain
        assert part.html.startswith("<b>Part ")  # each part starts at a paragraph
    assert "\n\n".join(p.plain for p in parts) == message.plain  # nothing lost
    assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]


def test_a_long_paragraph_is_split_between_sentences_outside_tags() -> None:
    sentences = " ".join(f"Sentence {n} says <b>something</b> &amp; more." for n in range(600))
    parts = split_message(OutgoingMessage(sentences, parse_html(sentences)[0]), limit=1000)
    assert len(parts) > 10
    for part in parts:
        text, _ = parse_html(part.html)
        assert utf16_len(text) <= 1000 and text.endswith("more.")
    assert " ".join(p.plain for p in parts) == parse_html(sentences)[0]


def test_markup_with_no_safe_cut_falls_back_to_plain_text_parts() -> None:
    inner = "word " * 2000  # one element holding everything: no cut outside it
    message = OutgoingMessage(f"<b>{inner}</b>", inner)
    parts = split_message(message, limit=1000)
    assert len(parts) >= 10 and all("<b>" not in p.html for p in parts)
    assert all(utf16_len(parse_html(p.html)[0]) <= 1000 for p in parts)
    assert " ".join(p.plain for p in parts).split() == inner.split()
    short = OutgoingMessage("<b>short</b>", "short")
    assert split_message(short) == [short]


def test_the_headline_counts_the_stories_not_shown_too() -> None:
    last = T0 - timedelta(minutes=1)
    entries = [DigestEntry("isis", make_item(n), "s", float(n), T0) for n in range(7)]
    [message] = render_digest(entries, TOPICS, UTC_TZ, since=last, now=T0, per_topic=5)
    assert assert_sendable(message).startswith("📰 Digest: 7 stories, 7 new since")


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", "tg://msg?text=x"])
def test_a_stored_non_web_link_is_never_made_clickable(link: str) -> None:
    """Items stored before links were checked may still carry one: rendering checks again."""
    item = Item("k", "1", "s", "Src", "ISIS title", link, None, datetime.now(UTC), "text")
    task = DeliveryTask(item, 1, (Match("isis", 1.0, ()),), "summary")
    alert = render_alert(task, {"isis": Topic("isis", "ISIS", "ISIS")}, ZoneInfo("UTC"))
    assert "href" not in alert.html and link not in alert.html
    entry = DigestEntry("isis", item, "summary", 1.0, datetime.now(UTC))
    for message in render_digest([entry], {}, ZoneInfo("UTC"), since=None, now=datetime.now(UTC)):
        assert "href" not in message.html


def test_the_console_never_prints_terminal_escapes() -> None:
    import asyncio
    import io

    from bot.notify.console import ConsoleNotifier

    out = io.StringIO()
    text = "ok\x1b[2J\x1b]0;title\x07 \u202eevil\rover"
    asyncio.run(ConsoleNotifier(out).send(0, OutgoingMessage(text, text)))
    printed = out.getvalue()
    assert "\x1b" not in printed and "\x07" not in printed and "\u202e" not in printed
    assert "\r" not in printed and "ok[2J]0;title evil\nover" in printed


def test_a_date_without_a_time_is_shown_as_the_date_alone() -> None:
    day = datetime(2024, 9, 17, tzinfo=UTC)
    task = DeliveryTask(make_item(published=day, date_only=True), 1, (make_match(),), "")
    timed = DeliveryTask(make_item(published=day), 1, (make_match(),), "")
    # In a timezone behind UTC the day must not become the 16th.
    for tz in (UTC_TZ, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")):
        plain = render_alert(task, TOPICS, tz).plain
        assert "Example News · 17 Sep 2024\n" in plain + "\n", plain
        assert "00:00" not in plain and "20:00" not in plain
    assert "17 Sep 2024 00:00 UTC" in render_alert(timed, TOPICS, UTC_TZ).plain
    entry = DigestEntry("isis", make_item(published=day, date_only=True), "", 4.0, T0)
    [digest] = render_digest([entry], TOPICS, UTC_TZ, since=None, now=T0)
    assert "Example News · 17 Sep 2024" in digest.plain and "00:00" not in digest.plain
    markdown = digest_markdown([entry], TOPICS, UTC_TZ, since=None, now=T0)
    assert "Example News · 17 Sep 2024*" in markdown and "00:00" not in markdown
