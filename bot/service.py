"""Wiring: build the store, sources, notifiers and pipeline from settings; run the service.

This is the top of the stack, with the CLI: it may import anything, nothing imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import httpx
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder

from bot.config import Settings
from bot.errors import ConfigError
from bot.notify.base import Notifier
from bot.notify.console import ConsoleNotifier
from bot.notify.telegram import TelegramNotifier
from bot.pipeline import Pipeline
from bot.scheduler import build_scheduler
from bot.sources.documents import DocumentFolder
from bot.sources.feeds import HttpFeedSource, make_client
from bot.sources.sandbox import ParserPool, SandboxLimits
from bot.storage.base import CONSOLE_CHAT_ID, Store
from bot.storage.lock import DataDirLock
from bot.storage.sqlite import SQLiteStore
from bot.stories import load_dictionary
from bot.telegram.app import bot_commands, build_handlers, register

__all__ = ["Runtime", "build_application", "open_runtime", "prepare_console", "run_service"]

log = logging.getLogger(__name__)

START_RETRY = 5.0
"""Seconds before the first retry when the Bot API cannot be reached at start (then doubling
up to 5 minutes)."""


@dataclass
class Runtime:
    """Everything one process uses, built from settings."""

    settings: Settings
    store: Store
    client: httpx.AsyncClient
    pipeline: Pipeline
    application: Application[Any, Any, Any, Any, Any, Any] | None


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """A python-telegram-bot application for our token and Bot API URL, without PTB's JobQueue."""
    assert settings.telegram_token
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_api_url.replace("/bot", "/file/bot"))
        .job_queue(None)
        .connect_timeout(10.0)
        .read_timeout(20.0)
        # Updates are handled side by side: an admin's /poll (which waits for its delivery
        # run) must not keep the bot from answering everyone else.
        .concurrent_updates(16)
    )
    return builder.build()


def prepare_console(store: Store, settings: Settings) -> None:
    """Console mode: the console pseudo-chat follows every topic; with a token it is retired."""
    now = datetime.now(UTC)
    if settings.console_mode:
        store.upsert_chat(CONSOLE_CHAT_ID, "console", "console", now)
        for topic in settings.topics:
            store.subscribe(CONSOLE_CHAT_ID, topic.id, now)
    elif store.chat(CONSOLE_CHAT_ID) is not None:
        store.deactivate_chat(CONSOLE_CHAT_ID, "a Telegram token is set")


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    store: Store | None = None,
    notifiers: dict[str, Notifier] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    console: TextIO | None = None,
    owner: bool = False,
) -> AsyncIterator[Runtime]:
    """Build the runtime; close the HTTP client and the store on exit.

    ``owner``: this process holds the data directory's lock (:class:`DataDirLock`), so the
    claims left on deliveries by processes that died are its to take over.
    """
    store = store or SQLiteStore(settings.database_path)
    client = make_client(settings.fetch_timeout, settings.user_agent, transport)
    parser = ParserPool(
        SandboxLimits(
            seconds=settings.parse_timeout,
            memory_mb=settings.parse_memory_mb,
            workers=settings.parse_workers,
        )
    )
    application = None
    try:
        if notifiers is None:
            notifiers = {}
            if settings.console_mode:
                notifiers["console"] = ConsoleNotifier(console)
            else:
                application = build_application(settings)
                notifiers["telegram"] = TelegramNotifier(application.bot)
        pipeline = Pipeline(
            store=store,
            topics=settings.topics,
            timezone=settings.timezone,
            feed_source=HttpFeedSource(
                client,
                max_bytes=settings.max_feed_bytes,
                deadline=settings.fetch_timeout * 3,
                max_entries=settings.max_items_per_feed,
                allow_private=settings.allow_private_feeds,
                parser=parser,
            ),
            folder_source=DocumentFolder(settings.documents_dir)
            if settings.documents_dir
            else None,
            notifiers=notifiers,
            aliases=settings.aliases,
            watch_limits=settings.watches,
            rates=settings.rates,
            in_flight=settings.concurrent_sends,
            catch_up_after=settings.catch_up_after,
            catch_up_age=timedelta(minutes=settings.catch_up_minutes),
            admin_chats=[settings.admin_chat] if settings.admin_chat else sorted(settings.admins),
            feeds=settings.feeds,
            added_feed_interval=settings.poll_interval,
            max_poll_interval=settings.max_poll_interval,
            poll_concurrency=settings.poll_concurrency,
            model_dir=settings.model_dir,
        )
        prepare_console(store, settings)
        # Stories and learned layers lemmatize every item: the dictionary is read now, in a
        # thread, not by the first ingest on the event loop (a 100-140 ms stall there).
        await asyncio.to_thread(load_dictionary)
        # What start-up made (the topics' index, the inflection tables, the config) lives as
        # long as the service: moved out of the collector's sight, a full collection walks
        # only what came since (55-94 ms on the loop without this, 13 ms with it, polling
        # 1,000 feeds: benchmarks/bench_polling.py).
        gc.collect()
        gc.freeze()
        if owner:
            released = store.release_claims(pipeline.owner)
            if released:
                log.info("%d deliveries claimed by a process that ended are sent again", released)
        yield Runtime(settings, store, client, pipeline, application)
    finally:
        await client.aclose()
        await asyncio.to_thread(parser.close)
        store.close()


async def _start_telegram(runtime: Runtime, stop: asyncio.Event) -> None:
    """Connect to the Bot API; keep trying while it cannot be reached (the network may be down).

    :raises ConfigError: Telegram rejected the token: retrying would not help.
    """
    app = runtime.application
    assert app is not None
    register(
        app,
        build_handlers(
            runtime.pipeline,
            admins=runtime.settings.admins,
            default_digest=runtime.settings.digest_time.strftime("%H:%M"),
        ),
    )
    delay = START_RETRY
    while not stop.is_set():
        try:
            await app.initialize()
            await app.bot.set_my_commands(bot_commands())
            break
        except InvalidToken:
            # PTB's message for this error contains the token itself: never show it.
            raise ConfigError(
                "Telegram rejected the bot token",
                fix="check TELEGRAM_BOT_TOKEN; @BotFather gives the token with /token",
            ) from None
        except (NetworkError, TimedOut, TelegramError) as exc:
            # Unreachable, or an answer that is not the Bot API's (a proxy's error page, bad
            # JSON): the fault is outside, so keep trying; alerts wait in the outbox.
            log.warning(
                "cannot reach the Telegram Bot API (%s); trying again in %.0f s",
                type(exc).__name__,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 300.0)
    if stop.is_set():
        return
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=10, drop_pending_updates=False)
    log.info("Telegram bot @%s is polling for commands", app.bot.username)


async def _stop_telegram(runtime: Runtime) -> None:
    app = runtime.application
    if app is None:
        return
    with contextlib.suppress(Exception):
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
    with contextlib.suppress(Exception):
        if app.running:
            await app.stop()
    with contextlib.suppress(Exception):
        await app.shutdown()
    with contextlib.suppress(Exception):
        # After a failed start the application is not "initialized", but the bot's HTTP
        # clients are open; this closes them (it does nothing when already closed).
        await app.bot.shutdown()


async def run_service(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set): the scheduler, and the bot if configured."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # One owner per data directory: a second service would send every alert twice.
    with DataDirLock(settings.data_dir, "run"):
        await _serve(settings, stop)


async def _serve(settings: Settings, stop: asyncio.Event) -> None:
    async with open_runtime(settings, owner=True) as runtime:
        # The scheduler starts first: feeds are polled and alerts queued even while Telegram
        # cannot be reached; the outbox delivers them once it can.
        ticker = build_scheduler(runtime.pipeline, settings)
        ticker.start()
        try:
            if runtime.application is not None:
                await _start_telegram(runtime, stop)
            else:
                log.info("no TELEGRAM_BOT_TOKEN: alerts are printed on the console")
        except BaseException:
            await ticker.stop(timeout=2.0)
            await _stop_telegram(runtime)
            raise
        log.info(
            "newsbot running: %d feeds, documents %s, %d topics, digest at %s %s",
            len(runtime.pipeline.all_feeds()),
            settings.documents_dir or "off",
            len(settings.topics),
            settings.digest_time.strftime("%H:%M"),
            settings.timezone.key,
        )
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await _stop_telegram(runtime)  # no new commands first, then let running jobs end
            await ticker.stop()
