"""Feed health and the polling schedule: backoff, notices, network outages, 410, redirects,
adaptive intervals and concurrency limits. Feeds come from ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.intervals import MAX_BACKOFF, next_interval
from bot.models import FeedConfig
from bot.sources.feeds import server_hint
from tests.factories import rss
from tests.test_pipeline import ISIS_FEED, Clock, make_pipeline

T = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_feed_is_polled_about_twice_per_item_it_publishes() -> None:
    hourly = [T - timedelta(hours=n) for n in range(10)]
    assert next_interval(300, hourly, T, max_interval=7200) == 1800
    busy = [T - timedelta(minutes=2 * n) for n in range(10)]
    assert next_interval(300, busy, T, max_interval=7200) == 300  # never below the floor
    daily = [T - timedelta(days=n) for n in range(6)]
    assert next_interval(300, daily, T, max_interval=7200) == 7200  # at most the ceiling
    stale = [T - timedelta(days=30 + n) for n in range(6)]
    assert next_interval(300, stale, T, max_interval=7200) == 7200
    assert next_interval(300, [T, None, T], T, max_interval=7200) == 300  # too few dates
    # The server's word lengthens the wait, within the ceiling.
    assert next_interval(300, [], T, max_interval=7200, hint=900) == 900
    assert next_interval(300, [], T, max_interval=7200, hint=86400) == 7200
    assert next_interval(300, hourly, T, max_interval=7200, hint=60) == 1800


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"cache-control": "public, max-age=600"}, 600.0),
        ({"cache-control": "no-cache, max-age=600"}, None),
        ({"expires": "Fri, 27 Nov 2026 12:30:00 GMT"}, 1800.0),
        ({"expires": "0"}, None),
        ({"expires": "Fri, 27 Nov 2026 11:00:00 GMT"}, None),  # in the past
        ({}, None),
    ],
)
def test_server_hints_from_cache_headers(headers: dict[str, str], seconds: float | None) -> None:
    assert server_hint(headers, T) == seconds


async def test_the_servers_max_age_sets_the_next_poll_with_jitter(tmp_path: Path) -> None:
    clock = Clock()
    entries = [{"title": f"Item {n}", "guid": f"g{n}"} for n in range(6)]
    pipeline, _ = make_pipeline(
        tmp_path / "db",
        lambda r: httpx.Response(
            200, content=rss(entries), headers={"Cache-Control": "max-age=3000"}
        ),
        clock=clock,
    )
    pipeline.rng = random.Random(1)
    feed = FeedConfig("http://127.0.0.1/f", interval=300)
    await pipeline.poll_feed(feed)
    state = pipeline.store.feed_state(feed.url)
    assert state.interval == 3000  # the server's max-age, above the feed's own pace
    assert state.next_poll_at is not None
    wait = (state.next_poll_at - clock.now).total_seconds()
    assert 2700 <= wait <= 3300  # ± 10 % jitter


async def test_down_once_back_once_and_the_backoff_doubles_up_to_a_day(tmp_path: Path) -> None:
    clock = Clock()
    status = [500]
    pipeline, rec = make_pipeline(
        tmp_path / "db",
        lambda r: httpx.Response(status[0], content=ISIS_FEED if status[0] == 200 else b""),
        clock=clock,
    )
    pipeline.admin_chats = (99,)
    feed = FeedConfig("http://127.0.0.1/f", name="Local", interval=300)
    waits = []
    for _ in range(12):
        await pipeline.poll_feed(feed, force=True)
        state = pipeline.store.feed_state(feed.url)
        assert state.next_poll_at is not None
        waits.append(state.next_poll_at - clock.now)
    assert waits[:4] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert waits[-1] == MAX_BACKOFF  # never more than a day, never given up
    assert state.error_kind == "http5xx" and state.error_count == 12
    await pipeline.deliver_pending()  # notices go through the outbox
    [down] = rec.texts(99)
    assert "feed Local is down: HTTP 500 (http5xx, 3 failures in a row)" in down
    status[0] = 200
    await pipeline.poll_feed(feed, force=True)
    await pipeline.poll_feed(feed, force=True)
    await pipeline.deliver_pending()  # notices go through the outbox
    assert len(rec.texts(99)) == 2 and "feed Local is back after 12 failures" in rec.texts(99)[1]
    assert pipeline.store.feed_state(feed.url).error_count == 0


async def test_when_our_network_is_down_the_feeds_are_not_blamed(tmp_path: Path) -> None:
    online = [True]

    def handler(request: httpx.Request) -> httpx.Response:
        if not online[0] or request.url.path == "/dead":
            raise httpx.ConnectError("[Errno 101] Network is unreachable", request=request)
        return httpx.Response(200, content=ISIS_FEED)

    pipeline, rec = make_pipeline(tmp_path / "db", handler)
    pipeline.admin_chats = (99,)
    feeds = [FeedConfig(f"http://127.0.0.1/{n}", interval=300) for n in range(4)]
    dead = FeedConfig("http://127.0.0.1/dead", interval=300)

    def count(feed: FeedConfig) -> int:
        return pipeline.store.feed_state(feed.url).error_count

    await pipeline.poll_all([*feeds, dead])
    assert count(dead) == 1  # the others answered: the dead feed is to blame
    online[0] = False
    for _ in range(4):  # nothing answers, not even a feed that answered before
        await pipeline.poll_all([*feeds, dead])
    assert [count(f) for f in feeds] == [0, 0, 0, 0] and count(dead) == 1
    assert pipeline.store.feed_state(feeds[0].url).error_kind == "connect"
    await pipeline.deliver_pending()  # notices go through the outbox
    assert rec.texts(99) == []
    online[0] = True
    # Polled alone, the dead feed fails again; a feed that answered before still answers,
    # so this one counts.
    await pipeline.poll_all([dead])
    assert count(dead) == 2
    report = await pipeline.poll_all(feeds)
    assert all(f.ok for f in report.feeds)


async def test_a_feed_that_is_gone_is_retired_with_a_notice(tmp_path: Path) -> None:
    pipeline, rec = make_pipeline(tmp_path / "db", lambda r: httpx.Response(410))
    pipeline.admin_chats = (99,)
    feed = FeedConfig("http://127.0.0.1/gone", name="Old feed")
    report = await pipeline.poll_feed(feed)
    assert not report.ok and pipeline.store.feed_state(feed.url).retired
    await pipeline.deliver_pending()  # notices go through the outbox
    [notice] = rec.texts(99)
    assert "feed Old feed is gone (HTTP 410): no longer polled" in notice
    assert (await pipeline.poll_due([feed])).feeds == []  # not polled any more


async def test_a_permanent_redirect_is_followed_directly_from_then_on(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "http://127.0.0.1/new"})
        return httpx.Response(200, content=ISIS_FEED)

    pipeline, _ = make_pipeline(tmp_path / "db", handler)
    feed = FeedConfig("http://127.0.0.1/old")
    first = await pipeline.poll_feed(feed)
    assert first.new_items == 2
    assert pipeline.store.feed_state(feed.url).moved_to == "http://127.0.0.1/new"
    second = await pipeline.poll_feed(feed, force=True)
    assert seen == ["/old", "/new", "/new"] and second.new_items == 0  # same items, no repeats


async def test_only_due_feeds_are_polled_and_at_most_two_at_once_per_host(
    tmp_path: Path,
) -> None:
    running: dict[str, int] = {}
    most: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        running[host] = running.get(host, 0) + 1
        most[host] = max(most.get(host, 0), running[host])
        await asyncio.sleep(0.02)
        running[host] -= 1
        return httpx.Response(200, content=ISIS_FEED)

    clock = Clock()
    pipeline, _ = make_pipeline(tmp_path / "db", handler, clock=clock)  # type: ignore[arg-type]
    feeds = [FeedConfig(f"http://{h}.example/{n}") for h in ("a", "b") for n in range(6)]
    first = await pipeline.poll_due(feeds)
    assert len(first.feeds) == 12 and all(f.ok for f in first.feeds)
    assert most == {"a.example": 2, "b.example": 2}
    again = await pipeline.poll_due(feeds)  # nothing is due a moment later
    assert again.feeds == []
    clock.now += timedelta(hours=3)
    assert len((await pipeline.poll_due(feeds)).feeds) == 12


async def test_addfeed_with_a_web_page_follows_the_feed_it_announces(tmp_path: Path) -> None:
    page = b"""<html><head><title>News</title>
      <link rel="stylesheet" href="/style.css">
      <link rel="alternate" type="application/atom+xml" href="/atom.xml" title="Atom">
      <link rel="alternate" type="application/rss+xml" href="/rss.xml" title="RSS">
    </head><body>Hello</body></html>"""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/rss.xml":
            return httpx.Response(200, content=ISIS_FEED)
        return httpx.Response(200, content=page, headers={"Content-Type": "text/html"})

    pipeline, _ = make_pipeline(tmp_path / "db", handler)
    feed, report = await pipeline.add_feed("http://93.184.216.34/news", added_by=7)
    # The first announced feed (Atom) is tried first; here it is broken, so the RSS one it is.
    assert feed.url == "http://93.184.216.34/rss.xml" and report.new_items == 2
    assert [f.url for f in pipeline.store.added_feeds()] == [feed.url]
    with pytest.raises(ValueError, match="already polled"):
        await pipeline.add_feed("http://93.184.216.34/news", added_by=7)


async def test_retry_after_on_a_503_is_honoured_even_beyond_the_backoff(tmp_path: Path) -> None:
    clock = Clock()
    pipeline, _ = make_pipeline(
        tmp_path / "db",
        lambda r: httpx.Response(503, headers={"Retry-After": "7200"}),
        clock=clock,
    )
    feed = FeedConfig("http://127.0.0.1/busy", interval=300)
    await pipeline.poll_feed(feed)
    state = pipeline.store.feed_state(feed.url)
    assert state.next_poll_at is not None
    # The server asked for two hours, not the 5 minutes a first failure would wait; the wall
    # clock reads the header, the pipeline's clock is 2024: compare with the real now.
    wait = (state.next_poll_at - datetime.now(UTC)).total_seconds()
    assert 7000 < wait <= 7200
    assert (await pipeline.poll_due([feed])).feeds == []


async def test_after_a_restart_the_stories_continue(tmp_path: Path) -> None:
    from tests.test_delivery import SAME_EVENT, T_EVENT, _report

    clock = Clock()
    clock.now = T_EVENT
    first, _ = make_pipeline(tmp_path / "db", clock=clock)
    first.ingest([_report(0, *SAME_EVENT[0])])
    first.store.close()
    clock.now = T_EVENT + timedelta(hours=1)
    second, _ = make_pipeline(tmp_path / "db", clock=clock)  # a restart: a new index
    second.ingest([_report(1, *SAME_EVENT[1])])
    stories = {i.key: i.story for i in second.store.items_since(T_EVENT - timedelta(days=1))}
    assert len(stories) == 2 and len(set(stories.values())) == 1
