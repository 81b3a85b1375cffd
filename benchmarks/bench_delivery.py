"""Delivery throughput against the fake Bot API with Telegram's limits on (30/s, 1/s per chat).

usage: python benchmarks/bench_delivery.py [--chats 300] [--per-chat 2]

Prints, for newsbot's paced outbox and, in the same run, for a naive sender (one message after
the other, as fast as the API answers, honouring 429 retry_after): messages per second
sustained, 429s provoked, and for newsbot the time one new alert for another chat waits while
the burst is being sent, for a topic the chat marked urgent and for a normal one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.error import RetryAfter  # noqa: E402

from bot.models import RawEntry, Topic  # noqa: E402
from bot.notify.telegram import TelegramNotifier  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.storage.sqlite import SQLiteStore  # noqa: E402
from tests.fakebotapi import FakeBotAPI  # noqa: E402


def _entry(n: int, now: datetime, tag: str = "") -> RawEntry:
    return RawEntry(
        "s", f"g{tag}{n}", f"ISIS item {tag}{n}", None, None, now + timedelta(seconds=n), "", ""
    )


async def newsbot_run(fake: FakeBotAPI, chats: int, per_chat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            store = SQLiteStore(Path(tmp) / "db.sqlite3")
            pipeline = Pipeline(
                store=store,
                topics=[Topic("isis", "ISIS", "ISIS"), Topic("quake", "Quake", "earthquake")],
                timezone=ZoneInfo("UTC"),
                feed_source=None,
                folder_source=None,
                notifiers={"telegram": TelegramNotifier(bot)},
            )
            now = datetime.now(UTC)
            for chat in range(1, chats + 1):
                store.upsert_chat(chat, "private", "", now)
                store.subscribe(chat, "isis", now)
            for n in range(per_chat):
                pipeline.ingest([_entry(n, now)])
            total = chats * per_chat
            started = time.perf_counter()
            sender = asyncio.create_task(pipeline.deliver_pending())
            await asyncio.sleep(3.0)
            # Mid-burst, two chats that had nothing queued get an alert each: one for a topic
            # it follows normally, one for a topic it marked urgent.
            normal_chat, urgent_chat = chats + 1, chats + 2
            for chat in (normal_chat, urgent_chat):
                store.upsert_chat(chat, "private", "", datetime.now(UTC))
                store.subscribe(chat, "quake", datetime.now(UTC))
            store.set_urgent(urgent_chat, "quake", True)
            before = len(fake.sent)
            pipeline.ingest(
                [RawEntry("s", "quake", "Earthquake hits the coast", None, None, now, "", "")]
            )
            queued_at = time.perf_counter()
            if sender.done():  # the burst is over already: the scheduler's next tick
                sender = asyncio.create_task(pipeline.deliver_pending())
            waited: dict[int, float] = {}
            ahead: dict[int, int] = {}
            while len(waited) < 2:
                for chat in (normal_chat, urgent_chat):
                    if chat not in waited and fake.messages_to(chat):
                        waited[chat] = time.perf_counter() - queued_at
                        ahead[chat] = next(
                            n for n, m in enumerate(fake.sent[before:]) if m["chat_id"] == chat
                        )
                await asyncio.sleep(0.01)
            await sender
            while len(fake.sent) < total + 2:  # retries, as the scheduler's retry job would
                await asyncio.sleep(0.2)
                await pipeline.deliver_pending()
            elapsed = time.perf_counter() - started
            store.close()
    rate = (total + 2) / elapsed
    print(
        f"newsbot outbox : {total + 2} messages to {chats + 2} chats in {elapsed:.1f} s = "
        f"{rate:.1f} msg/s; 429s provoked: {fake.rate_limited}"
    )
    for label, chat in (("an urgent", urgent_chat), ("a normal", normal_chat)):
        print(
            f"                 {label} alert queued mid-burst arrived after "
            f"{waited[chat]:.2f} s ({ahead[chat]} messages went before it; {total} were queued)"
        )


async def naive_run(fake: FakeBotAPI, chats: int, per_chat: int) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        started = time.perf_counter()
        sent = 0
        for n in range(per_chat):
            for chat in range(1, chats + 1):
                while True:
                    try:
                        await bot.send_message(chat, f"naive {n}")
                        sent += 1
                        break
                    except RetryAfter as exc:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            wait = exc.retry_after
                        seconds = wait.total_seconds() if isinstance(wait, timedelta) else wait
                        await asyncio.sleep(float(seconds))
        elapsed = time.perf_counter() - started
    print(
        f"naive sender   : {sent} messages in {elapsed:.1f} s = {sent / elapsed:.1f} msg/s; "
        f"429s provoked: {fake.rate_limited}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--per-chat", type=int, default=2)
    args = parser.parse_args()
    for run in (newsbot_run, naive_run):
        with FakeBotAPI() as fake:
            fake.set_rate_limits(per_chat_per_second=1.0, global_per_second=30.0)
            asyncio.run(run(fake, args.chats, args.per_chat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
