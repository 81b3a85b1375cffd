"""Messages as Markdown (bot/markdown.py), from the Telegram HTML render writes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.markdown import to_markdown
from bot.models import DeliveryTask
from bot.render import render_alert
from tests.factories import item, match


def test_each_tag_becomes_its_markdown() -> None:
    html = (
        '<b>Bold</b> <i>it</i> <a href="https://ex.org/a_(b)">a link</a> <code>x*y</code> '
        "<s>gone</s>\n<pre>pre *kept*</pre>\n<blockquote>said\nthis</blockquote>"
    )
    assert to_markdown(html) == (
        "**Bold** _it_ [a link](https://ex.org/a_(b%29) `x*y` ~~gone~~\n\n"
        "```\npre *kept*\n```\n\n> said\n> this"
    )


def test_text_is_unescaped_from_html_and_escaped_for_markdown() -> None:
    assert to_markdown("5 &lt; 6 &amp; *stars* [x] #1") == r"5 \< 6 & \*stars\* \[x\] \#1"


def test_an_alert_reads_the_same_in_markdown() -> None:
    task = DeliveryTask(
        item=item("ISIS claims attack", "Fighters attacked a checkpoint."),
        chat_id=1,
        matches=(match("isis", term="ISIS"),),
        summary="Fighters attacked a checkpoint.",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        item_ref=3,
    )
    message = render_alert(task, {}, ZoneInfo("UTC"))
    md = to_markdown(message.html)
    assert "**" in md and "ISIS claims attack" in md and "<" not in md.replace(r"\<", "")
    plain_words = [w for w in message.plain.split() if w.isalpha()]
    assert all(w in md for w in plain_words)
