"""Small builders shared by tests: items, raw entries, RSS documents, settings files."""

from __future__ import annotations

import asyncio
import html
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import load_settings
from bot.models import Evidence, Item, Match, RawEntry, Topic
from bot.normalize import normalize
from bot.notify.base import Notifier
from bot.pipeline import Pipeline
from bot.storage.base import Store
from bot.storage.sqlite import SQLiteStore

T0 = datetime(2024, 9, 17, 8, 0, tzinfo=UTC)


def raw(
    title: str,
    text: str = "",
    *,
    guid: str | None = None,
    link: str | None = None,
    source: str = "http://127.0.0.1/feed.xml",
    published: datetime | None = T0,
) -> RawEntry:
    return RawEntry(
        source=source,
        guid=guid,
        title=title,
        link=link,
        author=None,
        published=published,
        summary=text,
        content="",
        html=True,
        source_name="Test feed",
    )


def item(title: str, text: str = "", *, guid: str | None = None, **kw: object) -> Item:
    return normalize(raw(title, text, guid=guid or title, **kw))  # type: ignore[arg-type]


def match(topic_id: str, score: float = 3.0, term: str = "isis") -> Match:
    return Match(topic_id, score, (Evidence(term, "title", 1, f"… {term} …"),))


def rss(entries: Iterable[dict[str, str]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; each entry has title, and optionally link, guid, description."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{html.escape(title)}</title><link>http://127.0.0.1/</link>",
        "<description>test</description>",
    ]
    for n, e in enumerate(entries):
        pub = format_datetime(T0 + timedelta(minutes=n))
        parts.append(
            "<item>"
            f"<title>{html.escape(e['title'])}</title>"
            + (f"<link>{html.escape(e['link'])}</link>" if e.get("link") else "")
            + (f"<guid>{html.escape(e['guid'])}</guid>" if e.get("guid") else "")
            + f"<description>{html.escape(e.get('description', ''))}</description>"
            f"<pubDate>{pub}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def write_config(
    folder: Path,
    *,
    feeds: Sequence[str] = (),
    admins: Sequence[int] = (),
    documents: Path | None = None,
    topics: Path | None = None,
    extra: str = "",
    telegram: str = "",
) -> Path:
    """A config file in ``folder`` using the shipped topics unless ``topics`` is given."""
    root = Path(__file__).resolve().parent.parent
    topics = topics or root / "config" / "topics.toml"
    lines = [
        'timezone = "UTC"',
        f'topics = "{topics.as_posix()}"',
        f'data_dir = "{(folder / "data").as_posix()}"',
        "[telegram]",
        f"admins = [{', '.join(str(a) for a in admins)}]",
        telegram,
    ]
    if documents is not None:
        lines += ["[documents]", f'path = "{documents.as_posix()}"']
    lines += ["[polling]", "retry_interval = 1", "timeout = 5"]
    if extra:
        lines.append(extra)
    for url in feeds:
        lines += ["[[feeds]]", f'url = "{url}"', "interval = 60"]
    path = folder / "newsbot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stream_entry(row: dict[str, str]) -> RawEntry:
    """A row of the real 2023 stream in ../shared/corpus (outlet, published, title,
    description, link) as the raw entry a feed would have given."""
    return RawEntry(
        source=row["outlet"],
        guid=None,
        title=row["title"],
        link=row["link"],
        author=None,
        published=datetime.fromisoformat(row["published"]),
        summary=row.get("description") or "",
        content="",
        source_name=row["outlet"],
    )


def short_words(count: int) -> list[str]:
    """``count`` distinct three-letter lower-case words ("bab", "bac", …): a vocabulary."""
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    words = [a + v + b for a in consonants for v in vowels for b in consonants]
    assert count <= len(words)
    return words[:count]


def costly_query(words: Sequence[str], near: int = 100) -> str:
    """The query that froze the bot: the first 250 words OR-ed, NOT NEAR/``near`` the next 249."""
    return f"({' OR '.join(words[:250])}) NOT NEAR/{near} ({' OR '.join(words[250:499])})"


def long_items(
    vocabulary: Sequence[str],
    weights: Sequence[float],
    count: int,
    words: int,
    *,
    now: datetime,
    seed: int = 1,
) -> list[Item]:
    """``count`` items of ``words`` words drawn from ``vocabulary`` with ``weights`` (seeded)."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        text = " ".join(rng.choices(vocabulary, weights, k=words))
        entry = raw(
            f"Item {n}", text, guid=f"long-{n}", link=f"https://ex.org/long/{n}", published=now
        )
        out.append(normalize(entry, now))
    return out


ISIS_ONLY = Topic("isis", "ISIS", "ISIS")
"""The one topic of the outbox tests: alerts of items titled "ISIS item N"."""


def outbox_pipeline(
    store: Store, notifiers: Mapping[str, Notifier] | None = None, **kw: Any
) -> Pipeline:
    """A pipeline over ``store`` with :data:`ISIS_ONLY` and no sources: for delivery tests."""
    return Pipeline(
        store=store,
        topics=[ISIS_ONLY],
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=None,
        notifiers=notifiers or {},
        **kw,
    )


def isis_items(count: int, now: datetime) -> list[RawEntry]:
    """``count`` items "ISIS item N", a second apart from ``now``."""
    return [
        RawEntry("s", f"g{n}", f"ISIS item {n}", None, None, now + timedelta(seconds=n), "", "")
        for n in range(count)
    ]


def fill_outbox(config: Path, env: Mapping[str, str], *, chats: int, items: int) -> None:
    """``chats`` private chats following :data:`ISIS_ONLY`, and ``items`` alerts pending for
    each, in the database of the config file ``config``."""
    settings = load_settings(config, env)
    store = SQLiteStore(settings.database_path)
    now = datetime.now(UTC)
    for chat in range(1, chats + 1):
        store.upsert_chat(chat, "private", "", now)
        store.subscribe(chat, "isis", now)
    outbox_pipeline(store).ingest(isis_items(items, now))
    store.close()


class VirtualTime:
    """A monotonic clock that moves only when the code under test sleeps on it: give
    ``monotonic`` and ``sleep`` to the pipeline (and ``monotonic`` to the fake Bot API), and a
    burst paced at Telegram's real limits takes as long as its sends, not 35 seconds."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)
