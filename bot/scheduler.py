"""The scheduler only ticks: APScheduler 3 jobs that call the pipeline. Top layer.

Jobs run in the bot's event loop. Each job is limited to one instance at a time and
coalesces missed runs; an exception is logged and the job runs again at its next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings, load_topic_file
from bot.errors import ConfigError, NewsbotError
from bot.match import Matcher, train_models
from bot.pipeline import Pipeline
from bot.storage.base import CONSOLE_CHAT_ID

__all__ = ["Ticker", "TopicReloader", "build_scheduler"]

log = logging.getLogger(__name__)


class Ticker:
    """The scheduler and the jobs it is running, so that stopping can let them finish."""

    def __init__(self, scheduler: AsyncIOScheduler, pipeline: Pipeline | None = None) -> None:
        self.scheduler = scheduler
        self.pipeline = pipeline
        self.running: set[asyncio.Task[None]] = set()

    def guarded(
        self, name: str, job: Callable[[], Awaitable[object]]
    ) -> Callable[[], Awaitable[None]]:
        """``job`` that logs its exceptions instead of raising, and is tracked while it runs."""

        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self.running.add(task)
            try:
                await job()
            except NewsbotError as exc:  # says what and how to fix it: no traceback needed
                log.error("job %s failed: %s; it will run again at its next tick", name, exc)
            except Exception:
                log.exception("job %s failed; it will run again at its next tick", name)
            finally:
                if task is not None:
                    self.running.discard(task)

        run.__name__ = f"job_{name}"
        return run

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """No new ticks; wait up to ``timeout`` seconds for running jobs, then stop.

        A cancelled job loses nothing: what it fetched is fetched again, what it did not send
        stays pending in the outbox.
        """
        if not self.scheduler.running:
            return
        # Pause first: APScheduler's asyncio executor cancels the jobs still running when the
        # scheduler shuts down, so give them their time before that.
        self.scheduler.pause()
        if self.running:
            await asyncio.wait(set(self.running), timeout=timeout)
        if self.pipeline is not None:  # a delivery a job started in the background
            await self.pipeline.settle(timeout)
        self.scheduler.shutdown(wait=False)


class TopicReloader:
    """Reloads the topics file when it or an examples file it names changes, so topics can be
    edited without a restart (a topic's learned layer is retrained if its examples changed).

    A file that no longer validates is reported once and the topics in use are kept.
    """

    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline = pipeline
        self.path = settings.topics_path
        self.sources = settings.topic_sources
        self.console = settings.console_mode
        self.seen = self._stamp()

    def _stamp(self) -> tuple[tuple[int, int] | None, ...] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        stamps: list[tuple[int, int] | None] = [(st.st_mtime_ns, st.st_size)]
        for source in self.sources:
            try:
                other = source.stat()
                stamps.append((other.st_mtime_ns, other.st_size))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    async def check(self) -> bool:
        """:returns: True if new topics were loaded."""
        stamp = self._stamp()
        if stamp is None or stamp == self.seen:
            return False
        self.seen = stamp
        try:
            loaded = load_topic_file(self.path)
        except ConfigError as exc:
            log.error("topics file changed but is invalid, keeping the current topics: %s", exc)
            return False
        # Train changed examples in a worker thread (seconds of CPU): set_topics then finds the
        # models in the process's memory and the bot keeps answering meanwhile.
        await asyncio.to_thread(
            train_models,
            Matcher(loaded.topics, loaded.aliases),
            loaded.topics,
            self.pipeline.model_dir,
        )
        self.pipeline.set_topics(loaded.topics, loaded.aliases)
        if loaded.sources != self.sources:
            self.sources = loaded.sources
            self.seen = self._stamp()
        if self.console:
            now = datetime.now(UTC)
            for topic in loaded.topics:
                self.pipeline.store.subscribe(CONSOLE_CHAT_ID, topic.id, now)
        log.info("reloaded %d topics from %s", len(loaded.topics), self.path)
        return True


def build_scheduler(pipeline: Pipeline, settings: Settings) -> Ticker:
    """Jobs: the feeds that are due, the documents scan, pending alerts, topics, digests."""
    scheduler = AsyncIOScheduler(
        timezone=settings.timezone,
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 120},
    )
    ticker = Ticker(scheduler, pipeline)
    _guarded = ticker.guarded
    now = datetime.now(UTC)

    # One tick for all feeds: each feed's next poll is decided by the pipeline (its interval,
    # what the server said, its health), and the tick polls those that are due.
    scheduler.add_job(
        _guarded("feeds", pipeline.poll_due),
        IntervalTrigger(seconds=settings.feed_tick),
        id="feeds",
        name="poll the feeds that are due",
        next_run_time=now,
    )

    async def documents() -> None:
        _, alerts, _ = pipeline.scan_documents()
        if alerts:
            await pipeline.deliver_pending()

    scheduler.add_job(
        _guarded("documents", documents),
        IntervalTrigger(seconds=settings.documents_interval),
        id="documents",
        name="scan documents",
        next_run_time=now,
    )
    scheduler.add_job(
        _guarded("deliver", pipeline.deliver_pending),
        IntervalTrigger(seconds=settings.retry_interval),
        id="deliver",
        name="deliver pending alerts",
        next_run_time=now,
    )
    reloader = TopicReloader(pipeline, settings)

    scheduler.add_job(
        _guarded("reload", reloader.check),
        IntervalTrigger(seconds=settings.reload_interval),
        id="reload",
        name="reload the topics file when it changes",
    )

    async def digests() -> None:
        await pipeline.send_digests(settings.digest_time)

    # Every minute: each chat has its own digest time and timezone (default: the config's).
    scheduler.add_job(
        _guarded("digest", digests),
        CronTrigger(second=5, timezone=settings.timezone),
        id="digest",
        name="daily digests, each at its chat's time",
    )
    return ticker
