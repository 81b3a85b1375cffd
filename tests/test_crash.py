"""Crash safety: SIGKILL the running service during a burst, restart it, and count.

300 alerts wait in the outbox for 30 chats; ``newsbot run`` (a real process, talking to the fake
Bot API, which enforces Telegram's own limits: 30 messages a second, 1 a second per chat) is
killed with SIGKILL five times while it sends, and restarted each time. In the end every alert
has arrived, an alert arrived twice at most once per kill (the one that Telegram accepted just
before the kill, before it could be recorded), and no send was answered 429: the restarted
process paces itself from the sends the database remembers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.factories import fill_outbox, write_config
from tests.fakebotapi import FakeBotAPI

CHATS = 30
ITEMS = 10  # 300 alerts
KILLS = 5


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
    # Telegram's rates on both sides (newsbot's defaults keep a margin under them).
    config = write_config(tmp_path, topics=topics)
    with FakeBotAPI() as fake:
        fake.set_rate_limits(per_chat_per_second=1, global_per_second=30)
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(TELEGRAM_BOT_TOKEN=fake.token, NEWSBOT_TELEGRAM_API_URL=fake.base_url)
        fill_outbox(config, env, chats=CHATS, items=ITEMS)
        total = CHATS * ITEMS
        kills = 0
        proc = _start(config, env)
        try:
            # Kill at spread points of the burst: after about 40, 90, 140, 190, 240 sends.
            for target in range(40, 40 + 50 * KILLS, 50):
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
    assert fake.rate_limited == 0, f"{fake.rate_limited} sends were answered 429"
