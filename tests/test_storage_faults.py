"""Faults outside newsbot: a full disk, a database that cannot be written, a damaged database
file, a Bot API that answers garbage. Each is one clear line naming the file and the fix, and
loses nothing; where the fault is outside, newsbot keeps trying.

Measured before: a full disk gave a traceback per feed and "internal error: OperationalError";
a damaged database let ``poll`` exit 0 and then ``digest`` crash; a read-only database gave a
traceback; invalid JSON from the Bot API at start-up ended the service.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import bot.service
from bot.cli import main
from bot.config import load_settings
from bot.errors import StorageError
from bot.models import FeedConfig
from bot.service import run_service
from bot.storage.sqlite import SQLiteStore
from tests.conftest import SEED
from tests.factories import rss, write_config
from tests.fakebotapi import FakeBotAPI
from tests.test_pipeline import make_pipeline, subscribe

ITEMS = 60


def _big_feed() -> bytes:
    return rss(
        {"title": f"ISIS report {n}", "guid": f"g{n}", "description": "word " * 400}
        for n in range(ITEMS)
    )


async def test_a_full_disk_stops_the_cycle_with_one_line_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "newsbot.sqlite3"
    pipeline, _ = make_pipeline(db, lambda r: httpx.Response(200, content=_big_feed()))
    subscribe(pipeline, 1, "isis")
    store = pipeline.store
    assert isinstance(store, SQLiteStore)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 3}")  # SQLite's own "disk is full"
    feed = FeedConfig("http://127.0.0.1/f")
    with pytest.raises(StorageError) as caught:
        await pipeline.poll_feed(feed)
    message = str(caught.value)
    assert message.startswith(f"{db}: database or disk is full")
    assert "free space" in message and "\n" not in message
    state = store.feed_state(feed.url)
    assert state.error_count == 0 and state.body_hash is None  # the feed is not blamed
    assert store.db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0  # all or nothing
    store.db.execute("PRAGMA max_page_count = 1073741823")  # space again
    report = await pipeline.poll_feed(feed, force=True)
    assert report.ok and report.new_items == ITEMS and report.alerts == ITEMS


def test_a_database_that_cannot_be_written_is_named_with_the_fix(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "newsbot.sqlite3")
    store.db.execute("PRAGMA query_only = 1")  # SQLite's "attempt to write a readonly database"
    with pytest.raises(StorageError) as caught:
        store.upsert_chat(1, "private", "", datetime.now(UTC))
    assert "readonly database" in str(caught.value)
    assert "must be able to write this file" in str(caught.value)
    store.close()


def _damage(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(4096 + 100)  # inside the second page: a b-tree page, not the header
        f.write(b"\xde\xad\xbe\xef" * ((size - 4196) // 4))


def test_a_damaged_database_is_refused_at_start_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, documents=SEED.parent)
    assert main(["--config", str(config), "poll"]) == 0
    db = tmp_path / "data" / "newsbot.sqlite3"
    _damage(db)
    capsys.readouterr()
    for command in (["poll"], ["digest"], ["poll", "--dry-run"], ["feeds"]):
        assert main(["--config", str(config), *command]) == 1, command
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0, err  # one line, no traceback
        assert str(db) in err and "the database is damaged" in err, err


async def test_garbage_from_the_bot_api_at_start_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(bot.service, "START_RETRY", 0.05)
    caplog.set_level(logging.WARNING)  # (a CLI test before may have raised the root level)
    docs = tmp_path / "docs"
    docs.mkdir()
    with FakeBotAPI() as fake:
        fake.garble_next(3)
        path = write_config(tmp_path, documents=docs)
        env = {"TELEGRAM_BOT_TOKEN": fake.token, "NEWSBOT_TELEGRAM_API_URL": fake.base_url}
        stop = asyncio.Event()
        task = asyncio.create_task(run_service(load_settings(path, env), stop))
        deadline = asyncio.get_running_loop().time() + 20
        while not fake.calls_to("getUpdates") and not task.done():
            assert asyncio.get_running_loop().time() < deadline, "the service never connected"
            await asyncio.sleep(0.05)
        assert not task.done(), task.exception()
        assert "cannot reach the Telegram Bot API" in caplog.text
        stop.set()
        await asyncio.wait_for(task, 15)
