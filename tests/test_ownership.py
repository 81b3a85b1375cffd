"""One data directory, one sender: the lock on the data directory, claims on deliveries, and a
pacer that remembers the sends of the process before it.

Measured before these: two ``newsbot poll`` at once sent 326 of 480 alerts twice, and ``newsbot
run`` beside a ``newsbot poll`` 321; neither warned.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.models import OutgoingMessage
from bot.notify.base import Notifier
from bot.storage.lock import DataDirLock
from bot.storage.sqlite import SQLiteStore
from tests.conftest import SEED
from tests.factories import fill_outbox, isis_items, outbox_pipeline, write_config
from tests.fakebotapi import FakeBotAPI


def _topics(folder: Path) -> Path:
    path = folder / "topics.toml"
    path.write_text('[[topics]]\nid = "isis"\nname = "ISIS"\nquery = "ISIS"\n')
    return path


def _env(fake: FakeBotAPI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, NEWSBOT_TELEGRAM_API_URL=fake.base_url)
    return env


def test_a_second_service_refuses_to_start_and_names_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, topics=_topics(tmp_path))
    with DataDirLock(tmp_path / "data", "run"):
        assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert f"newsbot run (pid {os.getpid()}" in err and "is using this data directory" in err
    assert "stop it first" in err


def test_poll_and_digest_refuse_beside_the_service_instead_of_waiting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, documents=SEED.parent)
    with DataDirLock(tmp_path / "data", "run"):
        assert main(["--config", str(config), "poll"]) == 2
        assert main(["--config", str(config), "digest"]) == 2
        # A dry run stores and sends nothing: it needs no lock.
        assert main(["--config", str(config), "poll", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("the service polls and sends by itself") == 2
    assert "waiting" not in captured.err
    assert "Iraq" in captured.out  # the dry run previewed the seed's alert


def test_a_poll_waits_for_another_poll_then_runs(tmp_path: Path) -> None:
    config = write_config(tmp_path, documents=SEED.parent)
    lock = DataDirLock(tmp_path / "data", "poll")
    lock.acquire()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "poll"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # blocks until the poll says what it waits for
        assert f"waiting for newsbot poll (pid {os.getpid()}" in line
        assert proc.poll() is None  # still waiting while the lock is held
    finally:
        lock.release()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "1 new item," in out


def test_two_polls_at_once_send_every_alert_once(tmp_path: Path) -> None:
    # 240 alerts at 80/s: the first poll sends for 3 s, far longer than the second takes to
    # start, so the two always overlap and the second waits.
    config = write_config(
        tmp_path,
        topics=_topics(tmp_path),
        telegram="messages_per_second = 80\nchat_messages_per_second = 50",
    )
    with FakeBotAPI() as fake:
        env = _env(fake)
        fill_outbox(config, env, chats=40, items=6)
        polls = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "--config", str(config), "poll"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        errors = [p.communicate(timeout=120)[1] for p in polls]
        assert [p.returncode for p in polls] == [0, 0], errors
        received = Counter((m["chat_id"], m["plain_text"].split("\n")[1]) for m in fake.sent)
    assert len(received) == 240
    assert sum(received.values()) == 240, "an alert was sent twice"
    assert any("waiting for newsbot poll" in e for e in errors), errors  # one waited


class _Slow(Notifier):
    """Takes a turn of the event loop per message, so two senders interleave."""

    def __init__(self, log: list[tuple[int, str]]) -> None:
        self.log = log

    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        await asyncio.sleep(0)
        self.log.append((chat_id, message.plain.split("\n")[1]))
        await asyncio.sleep(0)
        return len(self.log)

    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        return True


async def test_a_delivery_claimed_by_one_process_is_never_sent_by_another(tmp_path: Path) -> None:
    """Without the lock (two stores on one file, as two processes would have): every alert
    still goes out once, because each is claimed in the database before it is sent."""
    db = tmp_path / "newsbot.sqlite3"
    sent: list[tuple[int, str]] = []
    now = datetime.now(UTC)
    pipelines = [outbox_pipeline(SQLiteStore(db), {"telegram": _Slow(sent)}) for _ in range(2)]
    store = pipelines[0].store
    for chat in range(1, 21):
        store.upsert_chat(chat, "private", "", now)
        store.subscribe(chat, "isis", now)
    pipelines[0].ingest(isis_items(5, now))
    for p in pipelines:
        p.pacer.rates = p.pacer.rates.scaled(1000)  # the claims are under test, not the pace
    await asyncio.gather(*(p.deliver_pending() for p in pipelines))
    counts = Counter(sent)
    assert len(counts) == 100
    assert max(counts.values()) == 1, "an alert was sent by both"
    for p in pipelines:
        p.store.close()


def test_after_a_restart_the_pacer_remembers_the_last_sends(tmp_path: Path) -> None:
    db = tmp_path / "newsbot.sqlite3"
    store = SQLiteStore(db)
    now = datetime(2024, 9, 17, 8, 0, tzinfo=UTC)
    for chat in (1, 2, 3):
        store.upsert_chat(chat, "private" if chat != 3 else "group", "", now)
        store.subscribe(chat, "isis", now)
    first = outbox_pipeline(store, clock=lambda: now)
    first.ingest(isis_items(1, now))
    [task] = [t for t in store.pending(now) if t.chat_id == 1]
    # Chat 1 got its alert 0.5 s before the restart; chat 3's (a group) was claimed, and
    # maybe sent, 0.5 s before; chat 2's never went out.
    before = now - timedelta(seconds=0.5)
    assert store.claim(task.item_ref, 1, "dead process", before)
    store.mark_sent(task.item.key, 1, 10, before)
    assert store.claim(task.item_ref, 3, "dead process", before)
    second = outbox_pipeline(SQLiteStore(db), clock=lambda: now, monotonic=lambda: 1000.0)
    second.dispatcher._restore_pacer()
    rates = second.pacer.rates
    wait_1 = second.pacer.wait(1, "private", 1000.0)
    assert wait_1 == pytest.approx(1 / rates.private - 0.5, abs=0.01)
    assert second.pacer.wait(2, "private", 1000.0) == 0.0
    assert second.pacer.wait(3, "group", 1000.0) == pytest.approx(1 / rates.group - 0.5, abs=0.01)
    store.close()
    second.store.close()
