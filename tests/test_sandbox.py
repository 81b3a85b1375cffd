"""Feed parsing in worker processes (bot/sources/sandbox.py): a parse past its deadline is killed,
one past its memory limit fails, one whose process dies is reported; each ends in a ParseError
that names the limit, the event loop runs on meanwhile, and the next parse is served."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ParseError
from bot.service import open_runtime
from bot.sources.feeds import HttpFeedSource
from bot.sources.parse import ParsedFeed, parse_feed
from bot.sources.sandbox import ParserPool, SandboxLimits, shared_pool
from tests import sandboxed
from tests.factories import rss, write_config

FEED = rss([{"title": "Harbour reopens", "link": "https://ex.org/1", "guid": "g1"}])


@pytest.fixture
def make_pool() -> Iterator[Callable[..., ParserPool]]:
    pools: list[ParserPool] = []

    def make(parse: Callable[..., ParsedFeed] = parse_feed, **limits: float) -> ParserPool:
        pool = ParserPool(SandboxLimits(**limits), parse=parse)  # type: ignore[arg-type]
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


async def test_a_parse_in_a_worker_gives_what_parse_feed_gives(
    make_pool: Callable[..., ParserPool],
) -> None:
    pool = make_pool()
    got = await pool.parse(FEED, url="http://127.0.0.1/f", source_name="Port", limit=5)
    assert got == parse_feed(FEED, url="http://127.0.0.1/f", source_name="Port", limit=5)
    assert [e.title for e in got.entries] == ["Harbour reopens"]


async def test_a_parse_past_its_deadline_is_killed_and_the_loop_runs_meanwhile(
    make_pool: Callable[..., ParserPool],
) -> None:
    """The stand-in never returns; the event loop keeps ticking while it runs, and after the
    kill a new worker serves the next parse."""
    spinning = make_pool(sandboxed.spin, seconds=1.0)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    with pytest.raises(ParseError, match=r"took longer than 1 s and was stopped"):
        await spinning.parse(FEED, url="http://127.0.0.1/f")
    ticker.cancel()
    assert ticks > 10, "the event loop waited for the parse"
    spinning.function = parse_feed  # the same pool, a good feed: served by a new worker
    got = await spinning.parse(FEED, url="http://127.0.0.1/f")
    assert got.entries[0].title == "Harbour reopens"


async def test_a_parse_past_its_memory_limit_fails_with_the_limit(
    make_pool: Callable[..., ParserPool],
) -> None:
    pool = make_pool(sandboxed.hog, memory_mb=256, seconds=20.0)
    with pytest.raises(ParseError, match=r"needed more than 256 MB"):
        await pool.parse(FEED, url="http://127.0.0.1/f")


async def test_a_worker_that_dies_is_reported_and_replaced(
    make_pool: Callable[..., ParserPool],
) -> None:
    pool = make_pool(sandboxed.die)
    with pytest.raises(ParseError, match=r"process ended while reading this feed \(exit code 3\)"):
        await pool.parse(FEED, url="http://127.0.0.1/f")
    pool.function = parse_feed
    assert (await pool.parse(FEED, url="http://127.0.0.1/f")).entries


async def test_the_parsers_own_refusal_comes_back_as_it_was(
    make_pool: Callable[..., ParserPool],
) -> None:
    pool = make_pool(sandboxed.refuse)
    with pytest.raises(ParseError, match=r"^not a feed: <html>$"):
        await pool.parse(b"<html>", url="http://127.0.0.1/f")


async def test_feeds_are_parsed_side_by_side_up_to_the_workers(
    make_pool: Callable[..., ParserPool],
) -> None:
    """Two workers: one feed that spins does not hold up the others."""
    spinning = make_pool(sandboxed.spin, seconds=3.0, workers=2)
    good = make_pool(workers=2)
    stuck = asyncio.create_task(spinning.parse(FEED, url="http://127.0.0.1/stuck"))
    results = await asyncio.gather(
        *(good.parse(FEED, url=f"http://127.0.0.1/{n}") for n in range(8))
    )
    assert not stuck.done()
    assert all(r.entries for r in results)
    with pytest.raises(ParseError):
        await stuck


async def test_closing_stops_the_workers_and_the_next_parse_starts_them_again(
    make_pool: Callable[..., ParserPool],
) -> None:
    pool = make_pool()
    await pool.parse(FEED, url="http://127.0.0.1/f")
    workers = pool._started()  # the running pebble pool
    pool.close()
    assert not workers.active
    assert (await pool.parse(FEED, url="http://127.0.0.1/f")).entries


def test_the_shared_pool_is_one_pool() -> None:
    assert shared_pool() is shared_pool()


async def test_the_service_parses_with_the_configured_limits_and_stops_its_workers(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path, extra="parse_timeout = 7.5\nparse_memory_mb = 300\nparse_workers = 2"
    )
    async with open_runtime(load_settings(config, {})) as runtime:
        source = runtime.pipeline.feed_source
        assert isinstance(source, HttpFeedSource)
        assert source.parser.limits == SandboxLimits(seconds=7.5, memory_mb=300, workers=2)
        assert (await source.parser.parse(FEED, url="http://127.0.0.1/f")).entries
        workers = source.parser._started()
        assert workers.active
    assert not workers.active
