"""A digest of one day of the real 2023 stream, as a subscriber of the default topics sees it.

usage: python benchmarks/demo_digest.py [DAY] [--markdown]   (DAY like 2023-11-21)

Every item of ../shared/corpus published that day goes through the pipeline (normalize, dedup,
stories, match, summarize, SQLite in memory) in publication order; a chat that follows every
default topic in digest mode then gets its digest at the end of the day. Prints the digest as
Telegram would show it (or as Markdown), and the counts behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_topic_file  # noqa: E402
from bot.models import OutgoingMessage  # noqa: E402
from bot.notify.base import Notifier  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.storage.sqlite import SQLiteStore  # noqa: E402
from tests.factories import stream_entry  # noqa: E402

STREAM = (
    ROOT.parent / "shared/corpus/rumca-js-RSS-Link-Database-2023/world_outlets_2023-10_to_12.jsonl"
)


class Printer(Notifier):
    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        print(message.plain)
        print("─" * 60)
        return None

    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        return True


def _published(value: str) -> datetime:
    return datetime.fromisoformat(value.replace(" ", "T")).astimezone(UTC)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("day", nargs="?", default="2023-11-21")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if not STREAM.exists():
        print(f"needs {STREAM}", file=sys.stderr)
        return 2
    day = datetime.fromisoformat(args.day).replace(tzinfo=UTC)
    rows = [json.loads(line) for line in STREAM.open(encoding="utf-8")]
    rows = [r for r in rows if day <= _published(r["published"]) < day + timedelta(days=1)]
    rows.sort(key=lambda r: _published(r["published"]))
    topics = load_topic_file(ROOT / "config" / "topics.toml")
    clock = [day]
    pipeline = Pipeline(
        store=SQLiteStore(":memory:"),
        topics=topics.topics,
        aliases=topics.aliases,
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=None,
        notifiers={"telegram": Printer()},
        clock=lambda: clock[0],
    )
    store = pipeline.store
    store.upsert_chat(1, "private", "reader", day)
    for topic in topics.topics:
        store.subscribe(1, topic.id, day)
        store.set_mode(1, topic.id, "digest")
    store.set_last_digest(1, day)  # as if the previous digest went out at midnight
    for row in rows:
        clock[0] = _published(row["published"])
        pipeline.ingest([stream_entry(row)])
    clock[0] = day + timedelta(hours=23, minutes=59)
    stories = len({i.story for i in store.items_since(day - timedelta(days=1))})
    print(f"{len(rows)} items from {len({r['outlet'] for r in rows})} outlets, {stories} stories")
    print("─" * 60)
    if args.markdown:
        print(pipeline.digest_markdown(1))
    else:
        await pipeline.send_digest(1)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
