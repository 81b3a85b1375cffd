"""The scheduler ticks: one job per feed, the documents scan, retries and the daily digest."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import load_settings
from bot.scheduler import build_scheduler
from bot.service import open_runtime
from tests.factories import rss, write_config
from tests.feedserver import FeedServer, Route


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with FeedServer() as s:
        s.routes["/a.xml"] = Route(
            rss([{"title": "ISIS claims attack", "link": "https://ex.org/1"}])
        )
        s.routes["/b.xml"] = Route(b"not a feed", status=500)
        yield s


async def test_jobs_and_their_triggers(tmp_path: Path, server: FeedServer) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    config = write_config(
        tmp_path,
        feeds=[server.url("/a.xml"), server.url("/b.xml")],
        documents=docs,
        extra='[digest]\ntime = "07:30"',
    )
    settings = load_settings(config, {"NEWSBOT_TIMEZONE": "Europe/Berlin"})
    async with open_runtime(settings) as runtime:
        scheduler = build_scheduler(runtime.pipeline, settings).scheduler
        scheduler.start(paused=True)  # jobs get their defaults when the scheduler starts
        jobs = {job.id: job for job in scheduler.get_jobs()}
        scheduler.shutdown(wait=False)
        assert set(jobs) == {"feeds", "documents", "deliver", "digest", "reload"}
        # One tick for every feed; each feed's own next poll is the pipeline's decision.
        feed_trigger = jobs["feeds"].trigger
        assert isinstance(feed_trigger, IntervalTrigger)
        assert (
            feed_trigger.interval == timedelta(seconds=settings.feed_tick) == timedelta(seconds=10)
        )
        digest = jobs["digest"].trigger
        assert isinstance(digest, CronTrigger)  # every minute: each chat has its own time
        fields = {f.name: str(f) for f in digest.fields}
        assert (fields["second"], fields["minute"]) == ("5", "*")
        assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())


async def test_running_scheduler_polls_and_survives_a_failing_feed(
    tmp_path: Path, server: FeedServer
) -> None:
    config = write_config(tmp_path, feeds=[server.url("/a.xml"), server.url("/b.xml")])
    settings = load_settings(config, {})
    async with open_runtime(settings) as runtime:
        ticker = build_scheduler(runtime.pipeline, settings)
        scheduler = ticker.scheduler
        ticker.start()
        try:
            # Until both feeds were polled and the good one's item is stored (it is parsed in
            # a worker process the service starts at the first parse), at most 10 s.
            def polled() -> bool:
                failed = runtime.store.feed_state(server.url("/b.xml")).error_count
                return failed == 1 and runtime.store.stats(runtime.pipeline.clock()).items == 1

            for _ in range(200):
                if polled():
                    break
                await asyncio.sleep(0.05)
            assert scheduler.running
            assert server.count("/a.xml") and server.count("/b.xml")
            assert runtime.store.feed_state(server.url("/b.xml")).error_count == 1
            assert runtime.store.stats(runtime.pipeline.clock()).items == 1
        finally:
            await ticker.stop()


async def test_a_job_that_raises_is_logged_not_propagated(
    tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, feeds=[server.url("/a.xml")])
    settings = load_settings(config, {})
    async with open_runtime(settings) as runtime:

        async def explode() -> None:
            raise RuntimeError("boom")

        runtime.pipeline.deliver_pending = explode  # type: ignore[method-assign]
        scheduler = build_scheduler(runtime.pipeline, settings).scheduler
        job = scheduler.get_job("deliver")
        await job.func()  # does not raise
        assert "job deliver failed" in caplog.text and "boom" in caplog.text


async def test_stop_waits_for_a_running_job(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, feeds=[server.url("/a.xml")])
    settings = load_settings(config, {})
    async with open_runtime(settings) as runtime:
        started = asyncio.Event()
        calls: list[str] = []
        finished: list[bool] = []

        async def slow() -> None:
            started.set()
            calls.append("started")
            await asyncio.sleep(0.3)
            finished.append(True)

        runtime.pipeline.deliver_pending = slow  # type: ignore[method-assign]
        ticker = build_scheduler(runtime.pipeline, settings)
        ticker.start()
        await asyncio.wait_for(started.wait(), 5)
        await ticker.stop(timeout=5)
        assert calls and len(finished) == len(calls) and not ticker.running


async def test_topics_file_is_reloaded_when_it_changes(tmp_path: Path, server: FeedServer) -> None:
    import os

    from bot.scheduler import TopicReloader

    topics = tmp_path / "topics.toml"
    topics.write_text('[[topics]]\nid = "a"\nname = "A"\nquery = "iraq"\n')
    config = write_config(tmp_path, topics=topics)
    settings = load_settings(config, {})
    async with open_runtime(settings) as runtime:
        reloader = TopicReloader(runtime.pipeline, settings)
        assert not await reloader.check()  # unchanged
        topics.write_text(
            '[aliases]\nn = "syria"\n[[topics]]\nid = "b"\nname = "B"\nquery = "@n"\n'
        )
        os.utime(topics, ns=(1, 10**18))
        assert await reloader.check()
        assert set(runtime.pipeline.topics) == {"b"}
        assert runtime.store.subscriptions(0) >= {"b"}  # console mode follows new topics
        topics.write_text('[[topics]]\nid = "c"\nname = "C"\nquery = "(broken"\n')
        os.utime(topics, ns=(1, 2 * 10**18))
        assert not await reloader.check()  # invalid: the current topics stay
        assert set(runtime.pipeline.topics) == {"b"}


async def test_a_changed_examples_file_reloads_the_topics_and_trains(
    tmp_path: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os
    import threading

    from bot import learn
    from bot.scheduler import TopicReloader
    from tests.test_learn import examples

    trained_in: list[threading.Thread] = []
    real_train = learn.train

    def train(*args, **kwargs):
        trained_in.append(threading.current_thread())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(learn, "train", train)
    monkeypatch.setattr(learn, "_MEMORY", {})

    rows = [
        {"title": e.title, "description": e.description, "label": int(e.positive)}
        for e in examples()
    ]
    sample = tmp_path / "leaving.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in rows[:6]), encoding="utf-8")
    topics = tmp_path / "topics.toml"
    topics.write_text(
        '[[topics]]\nid = "leaving"\nname = "L"\nquery = "withdraw"\n'
        'examples_file = "leaving.jsonl"\n'
    )
    settings = load_settings(write_config(tmp_path, topics=topics), {})
    async with open_runtime(settings) as runtime:
        assert runtime.pipeline.matcher.models == {}  # 6 examples: too few
        reloader = TopicReloader(runtime.pipeline, settings)
        assert not await reloader.check()
        sample.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
        os.utime(sample, ns=(1, 10**18))
        assert await reloader.check()
        assert set(runtime.pipeline.matcher.models) == {"leaving"}
        # at start (refused: too few), then once more, in a worker thread: the event loop
        # went on answering while the examples trained
        assert len(trained_in) == 2 and trained_in[1] is not threading.main_thread()
        assert not await reloader.check()
