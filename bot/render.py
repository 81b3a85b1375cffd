"""Render alerts and digests as Telegram HTML and as plain text. A pure stage.

All feed text passes through :func:`esc` here, and only here, so no feed can inject markup.
Telegram counts a message's length after parsing the HTML, in UTF-16 code units, and refuses
more than 4096: :func:`visible_length` measures it the same way.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import actions
from bot.briefing import Briefing, StoryLine, build_briefing
from bot.markdown import md_escape as _md
from bot.models import (
    DeliveryTask,
    DigestEntry,
    FeedConfig,
    FeedState,
    Item,
    Match,
    OutgoingMessage,
    Topic,
)

__all__ = [
    "MAX_MESSAGE",
    "digest_markdown",
    "esc",
    "feed_health",
    "render_alert",
    "render_announcement",
    "render_digest",
    "render_latest",
    "render_why",
    "split_blocks",
    "split_message",
    "visible_length",
    "web_link",
]

MAX_MESSAGE = 4096
_TAG = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    """Escape text for Telegram HTML (``<``, ``>``, ``&`` and ``"``)."""
    return html.escape(text, quote=True)


def visible_length(markup: str) -> int:
    """Length of ``markup`` as Telegram counts it: tags removed, entities decoded, UTF-16 units."""
    text = html.unescape(_TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


def web_link(link: str | None) -> str | None:
    """``link`` if it may become a link in a chat (http or https), else None: a feed's
    ``javascript:``, ``data:`` or ``tg:`` link is never made clickable."""
    if link and link.split(":", 1)[0].lower() in ("http", "https"):
        return link
    return None


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rsplit(" ", 1)[0] + "…"


def _when(value: datetime, tz: ZoneInfo, date_only: bool = False) -> str:
    if date_only:  # a day, as the source gave it: not moved into another timezone's day
        day = value.astimezone(UTC)
        return f"{day.day} {day:%b %Y}"
    local = value.astimezone(tz)
    return f"{local.day} {local:%b %Y %H:%M} {local.tzname() or ''}".strip()


def _topic_name(topics: Mapping[str, Topic], topic_id: str) -> str:
    topic = topics.get(topic_id)
    return topic.name if topic else topic_id


def _why(match: Match) -> str:
    return match.why(limit=4)


# Caps per field, in characters: together they stay under Telegram's 4096 (see render_alert).
TITLE_CHARS = 600
SOURCE_CHARS = 150
NAME_CHARS = 60
WHY_CHARS = 200
SUMMARY_CHARS = 1200
MAX_WHY_LINES = 5


def render_alert(task: DeliveryTask, topics: Mapping[str, Topic], tz: ZoneInfo) -> OutgoingMessage:
    """One alert: topics, title (linked), source and time, summary, link, and why it matched.

    Every part is capped, so the message always fits Telegram's limit; the summary is what
    gives way first. Feed text can be anything, so nothing here trusts its length.
    """
    item = task.item
    names = [_shorten(_topic_name(topics, m.topic_id), NAME_CHARS) for m in task.matches]
    names = names[:MAX_WHY_LINES] + (
        [f"+{len(names) - MAX_WHY_LINES}"] if len(names) > MAX_WHY_LINES else []
    )
    title = _shorten(item.title, TITLE_CHARS)
    when = _when(item.published, tz, item.date_only)
    source = _shorten(item.source_name + (f" · {item.author}" if item.author else ""), SOURCE_CHARS)
    others = _other_sources(task.sources, item.source_name)
    why_lines = [
        (
            _shorten(_topic_name(topics, m.topic_id), NAME_CHARS),
            _shorten(_why(m), WHY_CHARS),
            m.score,
        )
        for m in task.matches[:MAX_WHY_LINES]
    ]

    link = web_link(item.link)

    def build(summary: str) -> OutgoingMessage:
        head = "🔔 " + " · ".join(f"<b>{esc(n)}</b>" for n in names or ["news"])
        linked = f"<b>{esc(title)}</b>"
        if link:
            linked = f'<a href="{esc(link)}">{linked}</a>'
        parts = [head, linked, f"<i>{esc(source)} · {esc(when)}</i>"]
        plain = ["🔔 " + " · ".join(names or ["news"]), title, f"{source} · {when}"]
        if others:
            parts.append(f"📰 {esc(others)}")
            plain.append(f"📰 {others}")
        if summary:
            parts += ["", esc(summary)]
            plain += ["", summary]
        if link:
            parts += ["", f'🔗 <a href="{esc(link)}">{esc(_shorten(link, 80))}</a>']
            plain += ["", link]
        parts.append("")
        plain.append("")
        for name, why, score in why_lines:
            parts.append(f"<i>Why {esc(name)}:</i> {esc(why)} (score {score:g})")
            plain.append(f"Why {name}: {why} (score {score:g})")
        return OutgoingMessage("\n".join(parts), "\n".join(plain))

    summary = _shorten(task.summary, SUMMARY_CHARS)
    message = _with_buttons(build(summary), task)
    # Only wide characters (emoji count twice in UTF-16) can still push it over: the summary
    # gives way first, then the reasons beyond the first.
    while visible_length(message.html) > MAX_MESSAGE:
        if summary:
            summary = _shorten(summary, len(summary) // 2) if len(summary) > 20 else ""
        elif len(why_lines) > 1:
            why_lines.pop()
        else:
            break
        message = _with_buttons(build(summary), task)
    return message


MAX_SOURCE_NAMES = 8


def _other_sources(sources: Sequence[str], own: str) -> str:
    """ "+3 sources: BBC, Al Jazeera, Reuters" for a story others reported too ("" if none)."""
    others = [name for name in sources if name != own]
    if not others:
        return ""
    shown = ", ".join(_shorten(n, NAME_CHARS) for n in others[:MAX_SOURCE_NAMES])
    more = f" and {len(others) - MAX_SOURCE_NAMES} more" if len(others) > MAX_SOURCE_NAMES else ""
    return f"+{len(others)} source{'s' if len(others) > 1 else ''}: {shown}{more}"


def _with_buttons(message: OutgoingMessage, task: DeliveryTask) -> OutgoingMessage:
    """👍 / 👎, mute the story or the first topic for 24 h, more like this: what a reader does
    next (:mod:`bot.actions` writes what each button does)."""
    if not task.item_ref:
        return message
    rows: list[tuple[tuple[str, str], ...]] = [
        (("👍", actions.vote(task.item_ref, 1)), ("👎", actions.vote(task.item_ref, -1)))
    ]
    if task.matches:
        topic = task.matches[0].topic_id
        if actions.fits(actions.mute_topic(topic)) and actions.fits(actions.more_like_this(topic)):
            rows.append(
                (
                    ("🔕 Topic 24h", actions.mute_topic(topic)),
                    ("➕ More like this", actions.more_like_this(topic)),
                )
            )
    if task.item.story:
        rows[0] = (*rows[0], ("🔕 Story 24h", actions.mute_story(task.item_ref)))
    return replace(message, buttons=tuple(rows))


def split_blocks(
    blocks: Sequence[tuple[str, str]], limit: int = MAX_MESSAGE
) -> list[OutgoingMessage]:
    """Join (html, plain) blocks into as few messages as fit ``limit``, never splitting a block."""
    messages: list[OutgoingMessage] = []
    html_parts: list[str] = []
    plain_parts: list[str] = []
    size = 0
    for block_html, block_plain in blocks:
        length = visible_length(block_html) + 2
        if length > limit:  # never happens with our blocks; a guard, not a feature
            block_plain = _shorten(block_plain, limit // 2 - 10)
            block_html, length = esc(block_plain), visible_length(esc(block_plain)) + 2
        if html_parts and size + length > limit:
            messages.append(OutgoingMessage("\n\n".join(html_parts), "\n\n".join(plain_parts)))
            html_parts, plain_parts, size = [], [], 0
        html_parts.append(block_html)
        plain_parts.append(block_plain)
        size += length
    if html_parts:
        messages.append(OutgoingMessage("\n\n".join(html_parts), "\n\n".join(plain_parts)))
    return messages


_BREAKS = (
    re.compile(r"\n\s*\n"),
    re.compile(r"\n"),
    re.compile(r"(?<=[.!?…])\s+"),
    re.compile(r"\s+"),
)
"""Where a long text may be cut, best first: paragraphs, lines, sentences, words. All are
whitespace, so a cut never falls inside an entity such as ``&amp;``."""


def _safe_cuts(markup: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """(start, end) of each ``pattern`` match outside every tag and with no element open, so
    that the text on both sides is valid HTML on its own."""
    depth_at: list[int] = []
    depth = 0
    inside = False
    for n, char in enumerate(markup):
        if char == "<":
            inside = True
            depth += -1 if markup.startswith("</", n) else 1
        depth_at.append(-1 if inside else depth)
        if char == ">":
            inside = False
    return [
        (m.start(), m.end())
        for m in pattern.finditer(markup)
        if m.start() > 0 and depth_at[m.start()] == 0
    ]


def _split_text(markup: str, limit: int) -> list[str] | None:
    """``markup`` cut at the best safe places into parts of at most ``limit``; None if some
    part has no safe place to cut."""
    parts: list[str] = []
    rest = markup
    while visible_length(rest) > limit:
        best: tuple[int, int] | None = None
        for pattern in _BREAKS:
            cuts = _safe_cuts(rest, pattern)
            best = next((c for c in reversed(cuts) if visible_length(rest[: c[0]]) <= limit), None)
            if best is not None:
                break
        if best is None:
            return None
        parts.append(rest[: best[0]])
        rest = rest[best[1] :]
    return [*parts, rest] if rest.strip() else parts


def split_message(message: OutgoingMessage, limit: int = MAX_MESSAGE) -> list[OutgoingMessage]:
    """``message`` as parts that each fit ``limit``: cut between paragraphs, else lines, else
    sentences, else words, never inside a tag, an open element or an entity. If the HTML has
    no such place, the parts are plain text. Buttons stay on the last part."""
    if visible_length(message.html) <= limit:
        return [message]
    html_parts = _split_text(message.html, limit)
    if html_parts is not None:
        plain_parts = [html.unescape(_TAG.sub("", part)) for part in html_parts]
    else:
        escaped = _split_text(esc(message.plain), limit)
        if escaped is not None:
            plain_parts = [html.unescape(part) for part in escaped]
        else:  # one "word" longer than a message: cut it anywhere (UTF-16 pairs stay whole)
            step = limit // 2
            plain_parts = [message.plain[n : n + step] for n in range(0, len(message.plain), step)]
        html_parts = [esc(part) for part in plain_parts]
    last = len(html_parts) - 1
    return [
        replace(message, html=h, plain=p, buttons=message.buttons if n == last else ())
        for n, (h, p) in enumerate(zip(html_parts, plain_parts, strict=True))
    ]


def render_announcement(item: Item) -> OutgoingMessage:
    """An admin's /broadcast: its text as written (escaped), under a heading."""
    body = _shorten(item.text, MAX_MESSAGE - 100)
    return OutgoingMessage(f"<b>{esc(item.title)}</b>\n\n{esc(body)}", f"{item.title}\n\n{body}")


def _entry_block(entry: DigestEntry, tz: ZoneInfo) -> tuple[str, str]:
    item = entry.item
    first = _shorten(entry.summary.split("\n", 1)[0], 220) if entry.summary else ""
    title = esc(_shorten(item.title, 300))
    link = web_link(item.link)
    linked = f'<a href="{esc(link)}">{title}</a>' if link else f"<b>{title}</b>"
    when = _when(item.published, tz, item.date_only)
    meta = f"{_shorten(item.source_name, SOURCE_CHARS)} · {when}"
    block = f"• {linked}\n  <i>{esc(meta)}</i>"
    plain = f"• {_shorten(item.title, 300)}\n  {meta}"
    if first:
        block += f"\n  {esc(first)}"
        plain += f"\n  {first}"
    if link:
        plain += f"\n  {link}"
    return block, plain


def render_digest(
    entries: Iterable[DigestEntry],
    topics: Mapping[str, Topic],
    tz: ZoneInfo,
    *,
    since: datetime | None,
    now: datetime,
    per_topic: int = 5,
    title: str = "📰 Digest",
    alerted: Mapping[str, datetime] | None = None,
) -> list[OutgoingMessage]:
    """A digest as a briefing (:func:`bot.digest.build_briefing`): a headline count, then per
    topic its best stories with a short summary and their sources; "nothing new" when empty."""
    entries = list(entries)
    briefing = build_briefing(entries, since=since, now=now, alerted=alerted, per_topic=per_topic)
    if not briefing:
        text = "📭 " + _nothing_new(entries, since, tz, alerted)
        return [OutgoingMessage(esc(text), text)]
    blocks: list[tuple[str, str]] = [_headline(briefing, title, tz)]
    for topic_id, lines, more in briefing.sections:
        name = _topic_name(topics, topic_id)
        count = f"{len(lines) + more} stor{'ies' if len(lines) + more != 1 else 'y'}"
        blocks.append((f"<b>{esc(name)}</b> · {count}", f"{name} · {count}"))
        for line in lines:
            blocks.append(_story_block(line, topics, tz))
        if more:
            text = f"… and {more} more (/latest {topic_id})"
            blocks.append((esc(text), text))
    return split_blocks(blocks)


def _nothing_new(
    entries: Sequence[DigestEntry],
    since: datetime | None,
    tz: ZoneInfo,
    alerted: Mapping[str, datetime] | None,
) -> str:
    """ "Nothing new", and if stories matched but came as alerts already, that they did."""
    period = f"since {_when(since, tz)}" if since else "so far"
    sent = {e.item.story for e in entries if alerted and e.item.story in alerted}
    if not sent:
        return f"Nothing new for your topics {period}."
    count = f"the {len(sent)} stories" if len(sent) != 1 else "the one story"
    return (
        f"Nothing new for your topics {period} beyond what you had as alerts: "
        f"{count} that matched came to you already."
    )


def _headline(briefing: Briefing, title: str, tz: ZoneInfo) -> tuple[str, str]:
    stories = briefing.stories
    head = f"{title}: {stories} stor{'ies' if stories != 1 else 'y'}"
    if briefing.since is not None:
        head += f", {briefing.new} new since {_when(briefing.since, tz)}"
    return f"<b>{esc(head)}</b>", head


def _line_when(line: StoryLine, tz: ZoneInfo) -> str:
    """When the story's latest report came: a date alone if that report gave no time."""
    item = line.item
    return _when(line.latest, tz, item.date_only and item.published == line.latest)


def _story_block(line: StoryLine, topics: Mapping[str, Topic], tz: ZoneInfo) -> tuple[str, str]:
    item = line.item
    title = _shorten(item.title, 300)
    flag = " 🆕" if line.new else ""
    link = web_link(item.link)
    linked = f'<a href="{esc(link)}">{esc(title)}</a>' if link else f"<b>{esc(title)}</b>"
    meta = f"{_source_list(line.sources)} · {_line_when(line, tz)}"
    html_lines = [f"• {linked}{flag}", f"  <i>{esc(meta)}</i>"]
    plain_lines = [f"• {title}{flag}", f"  {meta}"]
    if line.summary:
        html_lines.append(f"  {esc(line.summary)}")
        plain_lines.append(f"  {line.summary}")
    if line.changes:
        n = len(line.changes)
        change = f"↻ {n} new report{'s' if n > 1 else ''} since your alert: " + _source_list(
            line.changes, limit=5
        )
        html_lines.append(f"  {esc(change)}")
        plain_lines.append(f"  {change}")
    if line.also:
        also = "also " + ", ".join(_topic_name(topics, t) for t in line.also)
        html_lines.append(f"  <i>{esc(also)}</i>")
        plain_lines.append(f"  {also}")
    if link:
        plain_lines.append(f"  {link}")
    return "\n".join(html_lines), "\n".join(plain_lines)


def _source_list(sources: Sequence[str], limit: int = 4) -> str:
    names = [_shorten(n, NAME_CHARS) for n in sources[:limit]]
    extra = len(sources) - limit
    return ", ".join(names) + (f" +{extra} more" if extra > 0 else "")


def digest_markdown(
    entries: Iterable[DigestEntry],
    topics: Mapping[str, Topic],
    tz: ZoneInfo,
    *,
    since: datetime | None,
    now: datetime,
    per_topic: int = 5,
    title: str = "Digest",
    alerted: Mapping[str, datetime] | None = None,
) -> str:
    """The same briefing as Markdown, for channels other than Telegram (one document)."""
    entries = list(entries)
    briefing = build_briefing(entries, since=since, now=now, alerted=alerted, per_topic=per_topic)
    if not briefing:
        return _nothing_new(entries, since, tz, alerted) + "\n"
    out = [f"# {_headline(briefing, title, tz)[1]}", ""]
    for topic_id, lines, more in briefing.sections:
        out += [f"## {_md(_topic_name(topics, topic_id))}", ""]
        for line in lines:
            title_md = _md(line.item.title)
            link = web_link(line.item.link)
            head = f"[{title_md}]({link})" if link else f"**{title_md}**"
            out.append(f"- {head}{' (new)' if line.new else ''}  ")
            out.append(f"  *{_md(_source_list(line.sources))} · {_line_when(line, tz)}*  ")
            if line.summary:
                out.append(f"  {_md(line.summary)}  ")
            if line.changes:
                out.append(f"  Since your alert: {_md(', '.join(line.changes))}  ")
        if more:
            out.append(f"- … and {more} more")
        out.append("")
    return "\n".join(out)


def render_latest(
    entries: Sequence[DigestEntry], topics: Mapping[str, Topic], tz: ZoneInfo, title: str
) -> list[OutgoingMessage]:
    """Recent matches, newest first (the /latest command)."""
    if not entries:
        text = f"No matches yet for {title}."
        return [OutgoingMessage(esc(text), text)]
    blocks = [(f"<b>{esc('Latest: ' + title)}</b>", "Latest: " + title)]
    for entry in entries:
        block, plain = _entry_block(entry, tz)
        tag = _topic_name(topics, entry.topic_id)
        blocks.append((f"{block}\n  <i>{esc(tag)}</i>", f"{plain}\n  {tag}"))
    return split_blocks(blocks)


def render_why(
    task: DeliveryTask, topics: Mapping[str, Topic], tz: ZoneInfo
) -> list[OutgoingMessage]:
    """Why an alert matched: per topic, its score, its query and every term with a snippet."""
    item = task.item
    head = f"Why “{_shorten(item.title, 200)}” matched"
    blocks: list[tuple[str, str]] = [(f"<b>{esc(head)}</b>", head)]
    for match in task.matches:
        topic = topics.get(match.topic_id)
        name = topic.name if topic else match.topic_id
        query = _shorten(" ".join(topic.query.split()), 600) if topic else ""
        html_lines = [f"<b>{esc(name)}</b> — score {match.score:g}"]
        plain_lines = [f"{name} — score {match.score:g}"]
        if query:
            html_lines.append(f"<code>{esc(query)}</code>")
            plain_lines.append(query)
        if match.model is not None:
            said = (
                f"The query did not match; the learned layer did: score {match.model.score:.2f}"
                f" ≥ threshold {match.model.threshold:.2f}. Words and phrases that weighed most:"
            )
            html_lines.append(esc(said))
            plain_lines.append(said)
        for ev in match.evidence[:12]:
            times = f" ×{ev.count}" if ev.count > 1 else ""
            line = f"“{ev.term}”{times} in {ev.field}: {_shorten(ev.snippet, 200)}"
            html_lines.append("• " + esc(line))
            plain_lines.append("• " + line)
        blocks.append(("\n".join(html_lines), "\n".join(plain_lines)))
    if not task.matches:
        blocks.append(("The topics it matched are gone.", "The topics it matched are gone."))
    return split_blocks(blocks)


def feed_health(feed: FeedConfig, state: FeedState, now: datetime, tz: ZoneInfo) -> str:
    """One feed's health and schedule as plain lines (`newsbot feeds`, /feeds)."""

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "never"

    if state.retired:
        status = "retired (gone)"
    elif state.last_checked_at is None:
        status = "not polled yet"
    elif state.error_count:
        status = f"failing ×{state.error_count} ({state.error_kind})"
    else:
        status = "ok"
    origin = " [added]" if feed.added else ""
    lines = [f"{feed.name or feed.url}{origin}: {status}", f"  url: {feed.url}"]
    if feed.language or feed.topics is not None:
        options = [f"language {feed.language}"] if feed.language else []
        if feed.topics is not None:
            options.append("topics " + (", ".join(feed.topics) or "none"))
        lines.append("  " + "; ".join(options))
    if state.moved_to:
        lines.append(f"  moved permanently to {state.moved_to} (update the config)")
    lines.append(f"  last success: {when(state.last_success_at)}")
    if state.last_error:
        lines.append(f"  last error: {state.last_error}")
    if not state.retired:
        every = f", every ~{state.interval // 60} min" if state.interval else ""
        lines.append(f"  next poll: {when(state.next_poll_at or now)}{every}")
    return "\n".join(lines)
