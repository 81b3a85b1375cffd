"""Delivery at Telegram's pace: the real python-telegram-bot Bot against the fake Bot API with
its rate limits on. Rates are scaled up tenfold on both sides so the test takes seconds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot.models import RawEntry, Topic
from bot.notify.telegram import TelegramNotifier
from bot.pacing import Pacer, Rates
from bot.pipeline import Pipeline
from bot.storage.sqlite import SQLiteStore
from tests.fakebotapi import FakeBotAPI

SCALE = 10.0
RATES = Rates().scaled(SCALE)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as server:
        server.set_rate_limits(per_chat_per_second=1.0 * SCALE, global_per_second=30.0 * SCALE)
        yield server


def _pipeline(tmp_path: Path, bot: Bot) -> Pipeline:
    return Pipeline(
        store=SQLiteStore(tmp_path / "db.sqlite3"),
        topics=[Topic("isis", "ISIS", "ISIS")],
        timezone=ZoneInfo("UTC"),
        feed_source=None,
        folder_source=None,
        notifiers={"telegram": TelegramNotifier(bot)},
        rates=RATES,
    )


def _burst(pipeline: Pipeline, chats: int, per_chat: int) -> None:
    now = datetime.now(UTC)
    for chat in range(1, chats + 1):
        pipeline.store.upsert_chat(chat, "private" if chat % 10 else "group", "", now)
        pipeline.store.subscribe(chat, "isis", now)
    raws = [
        RawEntry(
            source="s",
            guid=f"g{n}",
            title=f"ISIS item {n:03d}",
            link=None,
            author=None,
            published=now + timedelta(seconds=n),
            summary="",
            content="",
        )
        for n in range(per_chat)
    ]
    for raw in raws:  # one at a time: their delivery order is their creation order
        pipeline.ingest([raw])


async def test_a_burst_to_many_chats_arrives_complete_in_order_without_a_429(
    tmp_path: Path, fake: FakeBotAPI
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot)
        _burst(pipeline, chats=200, per_chat=5)
        report = await pipeline.deliver_pending()
    assert report.sent == 1000 and report.failed == 0
    assert fake.rate_limited == 0
    for chat in range(1, 201):
        titles = [m["plain_text"].split("\n")[1] for m in fake.messages_to(chat)]
        assert titles == [f"ISIS item {n:03d}" for n in range(5)], chat


async def test_one_busy_chat_does_not_starve_the_others(tmp_path: Path, fake: FakeBotAPI) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot)
        now = datetime.now(UTC)
        pipeline.store.upsert_chat(1, "private", "", now)
        pipeline.store.subscribe(1, "isis", now)
        for n in range(20):  # chat 1 has 20 alerts queued first
            pipeline.ingest([RawEntry("s", f"a{n}", f"ISIS a{n}", None, None, now, "", "")])
        pipeline.store.upsert_chat(2, "private", "", now)
        pipeline.store.subscribe(2, "isis", now)
        pipeline.ingest([RawEntry("s", "b", "ISIS b", None, None, now, "", "")])
        await pipeline.deliver_pending()
    order = [m["chat_id"] for m in fake.sent]
    assert order.index(2) <= 2  # chat 2's only alert goes out among the first, not after 20


def test_pacer_spacing_follows_the_rates() -> None:
    pacer = Pacer(Rates(overall=1000, private=1.0, group=20 / 60))
    assert pacer.wait(1, "private", 0.0) == 0.0
    pacer.record(1, "private", 0.0)
    assert pacer.wait(1, "private", 0.0) == pytest.approx(1.0)
    assert pacer.wait(1, "private", 0.6) == pytest.approx(0.4)
    assert pacer.wait(2, "private", 0.6) == 0.0  # another chat is not held
    pacer.record(3, "group", 0.6)
    assert pacer.wait(3, "group", 0.6) == pytest.approx(3.0)
    slow = Pacer(Rates(overall=2.0, private=100, group=100))
    slow.record(1, "private", 0.0)
    assert slow.wait(2, "private", 0.0) == pytest.approx(0.5)  # the overall rate holds it


async def test_a_server_error_is_retried_and_the_alert_arrives(
    tmp_path: Path, fake: FakeBotAPI
) -> None:
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        pipeline = _pipeline(tmp_path, bot)
        _burst(pipeline, chats=1, per_chat=1)
        fake.fail_next_with_server_error(1)
        first = await pipeline.deliver_pending()
        assert first.sent == 0 and first.deferred_chats == 1  # held, not lost
        # Skip the wait: make the held alert due now.
        pipeline.store.db.execute("UPDATE deliveries SET next_attempt_at = '0'")
        second = await pipeline.deliver_pending()
    assert second.sent == 1
    assert [m["plain_text"].split("\n")[1] for m in fake.messages_to(1)] == ["ISIS item 000"]
