"""Crash safety: SIGKILL the running service during a burst, restart it, and count.

500 alerts wait in the outbox for 50 chats; ``newsbot run`` (a real process, talking to the fake
Bot API) is killed with SIGKILL five times while it sends, and restarted each time. In the end
every alert has arrived, and an alert arrived twice at most once per kill (the one that Telegram
accepted just before the kill, before it could be recorded).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_settings
from bot.models import RawEntry, Topic
from bot.pipeline import Pipeline
from bot.storage.sqlite import SQLiteStore
from tests.factories import write_config
from tests.fakebotapi import FakeBotAPI

CHATS = 50
ITEMS = 10  # 500 alerts
KILLS = 5


def _fill_outbox(config: Path, env: dict[str, str]) -> None:
    settings = load_settings(config, env)
    store = SQLiteStore(settings.database_path)
    pipeline = Pipeline(
        store=store,
        topics=[Topic("isis", "ISIS", "ISIS")],
        timezone=settings.timezone,
        feed_source=None,
        folder_source=None,
        notifiers={},
    )
    now = datetime.now(UTC)
    for chat in range(1, CHATS + 1):
        store.upsert_chat(chat, "private", "", now)
        store.subscribe(chat, "isis", now)
    for n in range(ITEMS):
        pipeline.ingest(
            [
                RawEntry(
                    "s", f"g{n}", f"ISIS item {n}", None, None, now + timedelta(seconds=n), "", ""
                )
            ]
        )
    store.close()


def _start(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_during_a_burst_loses_nothing(tmp_path: Path) -> None:
    topics = tmp_path / "topics.toml"
    topics.write_text('[[topics]]\nid = "isis"\nname = "ISIS"\nquery = "ISIS"\n')
    # Fast rates on both sides, so the burst takes seconds; retries every second.
    config = write_config(
        tmp_path,
        topics=topics,
        telegram="messages_per_second = 400\nchat_messages_per_second = 50",
    )
    with FakeBotAPI() as fake:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(TELEGRAM_BOT_TOKEN=fake.token, NEWSBOT_TELEGRAM_API_URL=fake.base_url)
        _fill_outbox(config, env)
        total = CHATS * ITEMS
        kills = 0
        proc = _start(config, env)
        try:
            # Kill at spread points of the burst: after about 60, 140, 220, 300, 380 sends.
            for target in range(60, 60 + 80 * KILLS, 80):
                deadline = time.monotonic() + 30
                while len(fake.calls_to("sendMessage")) < target:
                    assert time.monotonic() < deadline, "the service stopped sending"
                    time.sleep(0.005)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                assert len(fake.calls_to("sendMessage")) < total  # killed mid-burst
                kills += 1
                proc = _start(config, env)
            deadline = time.monotonic() + 60
            while True:
                received = Counter(
                    (m["chat_id"], m["plain_text"].split("\n")[1]) for m in fake.sent
                )
                if len(received) == total or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert kills == KILLS
    assert len(received) == total, f"lost {total - len(received)} alerts"
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= kills, f"{duplicates} duplicates for {kills} kills"
