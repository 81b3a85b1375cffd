"""The pipeline with real SQLite, feeds over MockTransport or 127.0.0.1, a recording notifier."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.config import load_topic_file
from bot.errors import ChatUnavailable, DeliveryError, RetryLater
from bot.models import FeedConfig, OutgoingMessage
from bot.notify.base import Notifier
from bot.pacing import Rates
from bot.pipeline import Pipeline
from bot.sources.documents import DocumentFolder
from bot.sources.feeds import HttpFeedSource, make_client
from bot.storage.base import CONSOLE_CHAT_ID
from bot.storage.sqlite import SQLiteStore
from tests.conftest import ROOT, SEED
from tests.factories import rss

SHIPPED = load_topic_file(ROOT / "config" / "topics.toml")
TOPICS = SHIPPED.topics
ISIS_FEED = rss(
    [
        {
            "title": "ISIS claims attack on checkpoint in Syria",
            "link": "https://ex.org/isis",
            "guid": "a",
        },
        {
            "title": "Local football club wins the cup",
            "link": "https://ex.org/football",
            "guid": "b",
        },
    ]
)


class Recorder(Notifier):
    """Records what was sent; ``fail`` decides per chat whether to raise instead."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, OutgoingMessage]] = []
        self.edits: list[tuple[int, int | None, OutgoingMessage]] = []
        self.fail: Callable[[int], Exception | None] = lambda chat: None

    async def send(self, chat_id: int, message: OutgoingMessage) -> int | None:
        error = self.fail(chat_id)
        if error is not None:
            raise error
        self.sent.append((chat_id, message))
        return len(self.sent)

    async def edit(self, chat_id: int, message_id: int | None, message: OutgoingMessage) -> bool:
        self.edits.append((chat_id, message_id, message))
        return True

    def texts(self, chat_id: int) -> list[str]:
        return [m.plain for c, m in self.sent if c == chat_id]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 9, 17, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def make_pipeline(
    db: Path,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    *,
    documents: Path | None = None,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
) -> tuple[Pipeline, Recorder]:
    recorder = notifier or Recorder()
    client = make_client(
        5.0, "test", transport=httpx.MockTransport(handler or (lambda r: httpx.Response(404)))
    )
    pipeline = Pipeline(
        store=SQLiteStore(db),
        topics=TOPICS,
        aliases=SHIPPED.aliases,
        timezone=ZoneInfo("UTC"),
        feed_source=HttpFeedSource(client),
        folder_source=DocumentFolder(documents) if documents else None,
        notifiers={"telegram": recorder, "console": recorder},
        clock=clock or Clock(),
    )
    return pipeline, recorder  # type: ignore[return-value]


def subscribe(pipeline: Pipeline, chat_id: int, *topics: str) -> None:
    pipeline.store.upsert_chat(chat_id, "private", "", pipeline.clock())
    for t in topics:
        pipeline.store.subscribe(chat_id, t, pipeline.clock())


async def test_new_matching_item_is_alerted_once_and_unrelated_items_not(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(pipeline, 7, "isis")
    feed = FeedConfig("http://127.0.0.1/f")
    report = await pipeline.poll_feed(feed)
    assert (report.ok, report.new_items, report.alerts) == (True, 2, 1)
    await pipeline.deliver_pending()
    [text] = rec.texts(7)
    assert "ISIS claims attack on checkpoint in Syria" in text and "football" not in text
    assert "Why ISIS" in text
    # The same items again (feed did not change its body hash: not even parsed) and forced.
    await pipeline.poll_feed(feed, force=True)
    await pipeline.deliver_pending()
    assert len(rec.texts(7)) == 1


async def test_restart_does_not_resend(tmp_path: Path) -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=ISIS_FEED)

    first, rec1 = make_pipeline(tmp_path / "db", handler)
    subscribe(first, 7, "isis")
    await first.poll_feed(FeedConfig("http://127.0.0.1/f"))
    await first.deliver_pending()
    first.store.close()
    # A new process: same database, fresh state in memory; the feed state is even forgotten.
    second, rec2 = make_pipeline(tmp_path / "db", handler)
    second.store.db.execute("DELETE FROM feeds")
    await second.poll_feed(FeedConfig("http://127.0.0.1/f"))
    await second.deliver_pending()
    assert len(rec1.texts(7)) == 1 and rec2.texts(7) == []


async def test_alert_pending_at_crash_goes_out_after_restart(tmp_path: Path) -> None:
    first, _ = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(first, 7, "isis")
    await first.poll_feed(FeedConfig("http://127.0.0.1/f"))
    first.store.close()  # the process dies before delivering
    second, rec = make_pipeline(tmp_path / "db")
    report = await second.deliver_pending()
    assert report.sent == 1 and "ISIS claims attack" in rec.texts(7)[0]


async def test_a_broken_feed_never_stops_the_others(tmp_path: Path) -> None:
    def handler(r: httpx.Request) -> httpx.Response:
        if r.url.path == "/broken":
            return httpx.Response(500)
        if r.url.path == "/garbage":
            return httpx.Response(200, content=b"\x00\x01 not xml at all")
        if r.url.path == "/down":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=r)
        return httpx.Response(200, content=ISIS_FEED)

    pipeline, rec = make_pipeline(tmp_path / "db", handler)
    subscribe(pipeline, 7, "isis")
    feeds = [FeedConfig(f"http://127.0.0.1/{p}") for p in ("broken", "garbage", "down", "ok")]
    report = await pipeline.poll_all(feeds)
    assert [f.ok for f in report.feeds] == [False, False, False, True]
    assert "HTTP 500" in (report.feeds[0].error or "")
    assert "cannot connect" in (report.feeds[2].error or "")
    await pipeline.deliver_pending()
    assert len(rec.texts(7)) == 1
    state = pipeline.store.feed_state("http://127.0.0.1/broken")
    assert state.error_count == 1 and state.last_error == "HTTP 500" and state.next_poll_at


async def test_failing_feed_backs_off_and_recovers(tmp_path: Path) -> None:
    status = {"code": 500}
    clock = Clock()
    pipeline, _ = make_pipeline(
        tmp_path / "db", lambda r: httpx.Response(status["code"], content=ISIS_FEED), clock=clock
    )
    feed = FeedConfig("http://127.0.0.1/f", interval=60)
    await pipeline.poll_feed(feed)
    await pipeline.poll_feed(feed, force=True)
    state = pipeline.store.feed_state(feed.url)
    assert state.error_count == 2
    assert state.next_poll_at == clock.now + timedelta(seconds=120)  # 60 s doubled once
    skipped = await pipeline.poll_feed(feed)
    assert skipped.skipped
    status["code"] = 200
    clock.now = state.next_poll_at
    ok = await pipeline.poll_feed(feed)
    assert ok.ok and ok.new_items == 2
    assert pipeline.store.feed_state(feed.url).error_count == 0


async def test_retry_after_holds_one_chat_and_the_others_go_on(tmp_path: Path) -> None:
    clock = Clock()
    pipeline, rec = make_pipeline(
        tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED), clock=clock
    )
    subscribe(pipeline, 1, "isis")
    subscribe(pipeline, 2, "isis")
    rec.fail = lambda chat: RetryLater("429", 30) if chat == 1 else None
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    report = await pipeline.deliver_pending()
    assert report.sent == 1 and report.deferred_chats == 1
    assert rec.texts(2) and not rec.texts(1)
    rec.fail = lambda chat: None
    await pipeline.deliver_pending()  # too early: retry_after not over
    assert not rec.texts(1)
    clock.now += timedelta(seconds=30)
    await pipeline.deliver_pending()
    assert len(rec.texts(1)) == 1


async def test_blocked_chat_is_deactivated(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(pipeline, 1, "isis")
    rec.fail = lambda chat: ChatUnavailable("blocked")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    report = await pipeline.deliver_pending()
    assert report.chats_gone == 1
    chat = pipeline.store.chat(1)
    assert chat is not None and not chat.active


async def test_other_delivery_errors_retry_with_backoff(tmp_path: Path) -> None:
    clock = Clock()
    pipeline, rec = make_pipeline(
        tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED), clock=clock
    )
    subscribe(pipeline, 1, "isis")
    rec.fail = lambda chat: DeliveryError("bad gateway")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    report = await pipeline.deliver_pending()
    assert report.failed == 1 and report.sent == 0
    rec.fail = lambda chat: None
    clock.now += timedelta(seconds=29)
    assert (await pipeline.deliver_pending()).sent == 0
    clock.now += timedelta(seconds=1)
    assert (await pipeline.deliver_pending()).sent == 1


async def test_documents_are_read_once_and_changed_ones_again(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    pipeline, rec = make_pipeline(tmp_path / "db", documents=docs)
    subscribe(pipeline, CONSOLE_CHAT_ID, "isis", "troop-withdrawal")
    assert pipeline.scan_documents()[:2] == (1, 1)
    assert pipeline.scan_documents()[:2] == (0, 0)
    await pipeline.deliver_pending()
    [text] = rec.texts(CONSOLE_CHAT_ID)
    assert "ISIS" in text and "Troop withdrawal" in text
    (docs / "new.md").write_text("# Daesh fighters regroup\n\nFighters of Daesh were seen.\n")
    assert pipeline.scan_documents()[:2] == (1, 1)


async def test_digest_groups_by_topic_and_then_says_nothing_new(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(pipeline, 1, "isis")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    assert await pipeline.send_digest(1)
    digest = rec.texts(1)[-1]
    assert "ISIS · 1 story" in digest and "ISIS claims attack" in digest
    assert "football" not in digest
    assert await pipeline.send_digest(1)
    assert rec.texts(1)[-1].startswith("📭 Nothing new")


async def test_a_digest_that_fails_stays_in_the_outbox_until_it_is_accepted(
    tmp_path: Path,
) -> None:
    clock = Clock()
    pipeline, rec = make_pipeline(
        tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED), clock=clock
    )
    subscribe(pipeline, 1, "isis")
    pipeline.store.set_mode(1, "isis", "digest")  # no alert: only the digest is sent
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    rec.fail = lambda chat: DeliveryError("down")
    assert not await pipeline.send_digest(1)
    assert rec.texts(1) == []
    rec.fail = lambda chat: None
    await pipeline.deliver_pending()
    assert rec.texts(1) == []  # held for its retry, not sent at once
    clock.now += timedelta(minutes=2)
    await pipeline.deliver_pending()
    [digest] = rec.texts(1)
    assert "ISIS claims attack" in digest
    await pipeline.deliver_pending()  # delivered once: nothing is repeated
    assert len(rec.texts(1)) == 1
    # The next digest starts after the one that was queued: it does not repeat it.
    assert await pipeline.send_digest(1)
    assert rec.texts(1)[-1].startswith("📭 Nothing new")


async def test_scheduled_digests_go_to_every_subscribed_chat(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(pipeline, 1, "isis")
    subscribe(pipeline, 2, "troop-withdrawal")
    pipeline.store.upsert_chat(3, "private", "", pipeline.clock())  # no topics: no digest
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    assert await pipeline.send_digests() == 2
    assert "ISIS claims attack" in rec.texts(1)[0]
    assert rec.texts(2)[0].startswith("📭 Nothing new")
    assert rec.texts(3) == []


@pytest.mark.parametrize("count", [1, 30])
async def test_many_chats_each_get_their_alert(tmp_path: Path, count: int) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    for chat in range(1, count + 1):
        subscribe(pipeline, chat, "isis")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    await pipeline.deliver_pending()
    assert sorted(c for c, _ in rec.sent) == list(range(1, count + 1))


async def test_a_group_that_became_a_supergroup_keeps_its_subscriptions(tmp_path: Path) -> None:
    from bot.errors import ChatMoved

    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    pipeline.store.upsert_chat(-5, "group", "team", pipeline.clock())
    pipeline.store.subscribe(-5, "isis", pipeline.clock())
    rec.fail = lambda chat: ChatMoved("moved", -1005) if chat == -5 else None
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    await pipeline.deliver_pending()
    assert pipeline.store.subscriptions(-1005) == {"isis"}
    old = pipeline.store.chat(-5)
    assert old is not None and not old.active
    await pipeline.deliver_pending()  # the pending alert now goes to the new id
    assert len(rec.texts(-1005)) == 1 and rec.texts(-5) == []


def _many(n: int) -> bytes:
    return rss(
        [
            {"title": f"ISIS attack number {k}", "link": f"https://ex.org/{k}", "guid": f"m{k}"}
            for k in range(n)
        ]
    )


async def test_after_an_outage_piled_up_alerts_arrive_as_one_digest(tmp_path: Path) -> None:
    clock = Clock()
    pipeline, rec = make_pipeline(
        tmp_path / "db", lambda r: httpx.Response(200, content=_many(12)), clock=clock
    )
    subscribe(pipeline, 1, "isis")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))  # queued, then the outage
    clock.now += timedelta(minutes=31)
    report = await pipeline.deliver_pending()
    [digest] = rec.texts(1)
    assert digest.startswith("⏳ While you were away: 12 stories")
    shown = [k for k in range(12) if f"ISIS attack number {k}\n" in digest]
    assert len(shown) == 10 and "… and 2 more" in digest  # 10 per topic, then a count
    assert report.sent == 12
    assert (await pipeline.deliver_pending()).sent == 0


async def test_a_fresh_burst_is_sent_as_alerts(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=_many(12)))
    pipeline.pacer.rates = Rates(overall=1000, private=1000, group=1000)
    subscribe(pipeline, 1, "isis")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    await pipeline.deliver_pending()
    assert len(rec.texts(1)) == 12 and all(t.startswith("🔔") for t in rec.texts(1))


@pytest.mark.parametrize(
    ("chat_tz", "chat_time", "now_utc", "last_utc", "due"),
    [
        (None, None, "2024-09-18T08:01", "2024-09-17T08:05", True),  # the default 08:00 UTC passed
        (None, None, "2024-09-18T07:59", "2024-09-17T08:05", False),
        ("Asia/Tokyo", None, "2024-09-17T23:01", "2024-09-17T08:05", True),  # 08:00 in Tokyo
        ("Asia/Tokyo", "18:30", "2024-09-17T09:29", "2024-09-16T09:31", False),
        ("Asia/Tokyo", "18:30", "2024-09-17T09:31", "2024-09-16T09:31", True),
    ],
)
def test_digest_is_due_at_the_chat_time_in_its_timezone(
    tmp_path: Path,
    chat_tz: str | None,
    chat_time: str | None,
    now_utc: str,
    last_utc: str,
    due: bool,
) -> None:
    from datetime import time

    from bot.models import Chat

    pipeline, _ = make_pipeline(tmp_path / "db")
    chat = Chat(
        1,
        "private",
        last_digest_at=datetime.fromisoformat(last_utc + "+00:00"),
        timezone=chat_tz,
        digest_time=chat_time,
    )
    now = datetime.fromisoformat(now_utc + "+00:00")
    assert pipeline.digest_due(chat, time(8, 0), now) is due


async def test_digest_only_topics_give_no_alert_but_appear_in_the_digest(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(pipeline, 1, "isis")
    assert pipeline.store.set_mode(1, "isis", "digest")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    await pipeline.deliver_pending()
    assert rec.texts(1) == []
    assert await pipeline.send_digest(1)
    assert "ISIS claims attack" in rec.texts(1)[0]


async def test_digest_only_topics_reach_the_chat_as_a_briefing_in_html_and_markdown(
    tmp_path: Path,
) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(200, content=ISIS_FEED))
    subscribe(pipeline, 1, "isis")
    pipeline.store.set_mode(1, "isis", "digest")
    await pipeline.poll_feed(FeedConfig("http://127.0.0.1/f"))
    assert (await pipeline.deliver_pending()).sent == 0  # digest only: no alert
    markdown = pipeline.digest_markdown(1)
    assert markdown.startswith("# Digest: 1 story") and "## ISIS" in markdown
    assert "[ISIS claims attack" in markdown
    assert await pipeline.send_digest(1)
    assert "ISIS claims attack" in rec.texts(1)[-1]
    assert pipeline.digest_markdown(1).startswith("Nothing new")  # recorded as sent
