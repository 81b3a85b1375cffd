"""Hostile servers: newsbot's real HTTP feed source against a real server on 127.0.0.1 that
sends decompression bombs, endless bodies, one byte a second, redirect loops, redirects to
loopback, wrong content types and broken encodings (:mod:`tests.hostileserver`).

Each fetch must end with a clear error of the right kind, within the deadline plus a margin and
within a few times the size cap of memory (the peak of Python's allocations, all threads, as
:mod:`tracemalloc` counts them); and in a poll cycle the good feed beside them must not notice.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gzip
import importlib.util
import itertools
import socket
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.errors import FetchError, SourceError
from bot.models import FeedConfig, FeedState
from bot.pipeline import Pipeline
from bot.sources.base import FeedFetchResult
from bot.sources.bounds import Limits
from bot.sources.feeds import FeedTransport, HttpFeedSource, make_client
from bot.storage.sqlite import SQLiteStore
from tests.hostileserver import (
    GIB,
    LATIN1_TITLES,
    MIB,
    OK_TITLES,
    HostileServer,
    brotli_zeros,
    gzip_zeros,
)
from tests.test_pipeline import SHIPPED, TOPICS, Clock, Recorder

CAP = 5_000_000
DEADLINE = 2.0
MARGIN = 2.0
MEMORY = 3 * CAP
PUBLIC = "93.184.216.34"
"""A public (``is_global``) address that no test ever reaches: requests for it are carried to
the hostile server by :class:`ToHostileServer`, as a hosts-file entry would."""
BR_DECODER = any(importlib.util.find_spec(m) for m in ("brotli", "brotlicffi"))
"""httpx decodes ``br`` only when one of these is installed (it is not in newsbot's deps)."""

T = TypeVar("T")


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    before = set(threading.enumerate())
    with HostileServer() as hostile:
        yield hostile
    assert _server_threads(before) == [], "a handler outlived the server"


def _server_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [
        t
        for t in set(threading.enumerate()) - before
        if t.is_alive() and ("process_request" in t.name or "serve_forever" in t.name)
    ]


class ToHostileServer(httpx.AsyncBaseTransport):
    """newsbot's own transport, except that requests for :data:`PUBLIC` go to the hostile
    server: newsbot's request hook sees and checks the public address of the first hop, the
    server's real redirect decides the next one, as if a public site redirected to loopback."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inner = FeedTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC:
            request = httpx.Request(
                request.method,
                request.url.copy_with(host="127.0.0.1", port=self.port),
                headers=request.headers,  # Host: 93.184.216.34, as sent to a public site
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def source(server: HostileServer, **kw: object) -> HttpFeedSource:
    """newsbot's feed source with small caps; the client's own timeout is longer than the
    deadline, so it is the deadline that a slow server meets."""
    client = make_client(10.0, "newsbot-test", transport=ToHostileServer(server.port))
    return HttpFeedSource(client, max_bytes=CAP, deadline=DEADLINE, **kw)  # type: ignore[arg-type]


async def measured(work: Awaitable[T]) -> tuple[T | BaseException, float, int]:
    """(result or exception, seconds, peak bytes allocated meanwhile)."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.monotonic()
    try:
        outcome: T | BaseException = await work
    except BaseException as exc:
        outcome = exc
    elapsed = time.monotonic() - started
    peak = tracemalloc.get_traced_memory()[1]
    if not tracing:
        tracemalloc.stop()
    return outcome, elapsed, peak


async def fetch(
    src: HttpFeedSource, url: str, **feed: object
) -> tuple[FeedFetchResult | BaseException, float, int]:
    """Fetch ``url`` once with ``src`` (and close its client): (result or exception, seconds,
    peak bytes)."""
    return await measured(fetch_once(src, url, **feed))


async def fetch_once(src: HttpFeedSource, url: str, **feed: object) -> FeedFetchResult:
    async with src.client:
        return await src.fetch(FeedConfig(url, **feed), FeedState(url))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the hostile routes


@pytest.mark.parametrize(
    ("path", "kind", "message"),
    [
        ("/endless", "too-big", "over the 5,000,000 byte cap"),
        ("/loop", "redirects", "too many redirects"),
        ("/loop-a", "redirects", "too many redirects"),
    ],
)
async def test_a_hostile_server_ends_in_a_clear_error_in_bounded_time_and_memory(
    server: HostileServer, path: str, kind: str, message: str
) -> None:
    outcome, elapsed, peak = await fetch(source(server), server.url(path))
    assert isinstance(outcome, FetchError), outcome
    assert outcome.kind == kind and message in str(outcome), (outcome.kind, str(outcome))
    assert elapsed < DEADLINE + MARGIN
    assert peak < MEMORY, f"{path}: {peak:,} bytes allocated at the peak, cap {CAP:,}"
    assert server.wait_idle(), "the stream went on after the client left"


async def test_one_byte_a_second_meets_the_deadline(server: HostileServer) -> None:
    """A body, or the headers themselves, at one byte a second: the client's own timeout (10 s
    between two reads) never fires, the deadline does. Both at once, to keep the file fast."""
    paths = ["/drip", "/drip-headers"]
    outcomes, elapsed, peak = await measured(
        asyncio.gather(
            *(fetch_once(source(server), server.url(p)) for p in paths), return_exceptions=True
        )
    )
    for path, outcome in zip(paths, outcomes, strict=True):  # type: ignore[arg-type]
        assert isinstance(outcome, FetchError) and outcome.kind == "timeout", (path, outcome)
        assert str(outcome) == "no complete answer within 2 s"
    assert DEADLINE <= elapsed < DEADLINE + MARGIN
    assert peak < MEMORY
    assert server.wait_idle(), "a drip went on after the client left"


async def test_the_gzip_bomb_is_stopped_at_the_cap_not_at_its_10_gib(
    server: HostileServer,
) -> None:
    """The cap counts decoded bytes: about 5 KB of the ~10.6 MB on the wire reach the cap, and
    the decoded bytes held at any time stay within a few times the cap."""
    outcome, _, peak = await fetch(source(server), server.url("/bomb.gz"))
    assert isinstance(outcome, FetchError) and outcome.kind == "too-big"
    assert peak < MEMORY, (
        f"{peak:,} bytes at the peak for a {CAP:,} byte cap: one network read of the bomb "
        "was inflated whole before the cap was checked"
    )
    # A well-behaved gzip feed is still read.
    outcome, _, _ = await fetch(source(server), server.url("/ok.gz"))
    assert isinstance(outcome, FeedFetchResult), outcome
    assert [e.title for e in outcome.entries] == OK_TITLES


async def test_the_brotli_bomb_is_refused_whether_or_not_br_can_be_decoded(
    server: HostileServer,
) -> None:
    """newsbot does not ask for br (httpx advertises it only with brotli or brotlicffi
    installed, and neither is a dependency), the server sends it anyway. Without a br decoder
    httpx hands over the ~8 KB as they are and they fail to parse; a decoder must either refuse
    br or meet the cap as for gzip. (A 1 GiB bomb rather than 10 then, so that a regression
    fails the test rather than the machine.)"""
    gib = 1 if BR_DECODER else 10
    outcome, elapsed, peak = await fetch(source(server), server.url(f"/brotli-bomb?gib={gib}"))
    assert isinstance(outcome, SourceError), outcome
    assert outcome.kind in ("parse", "too-big") and not outcome.network, outcome.kind
    assert elapsed < DEADLINE + MARGIN
    assert peak < MEMORY, f"{peak:,} bytes at the peak"


async def test_a_broken_gzip_body_is_a_body_error_not_a_network_failure(
    server: HostileServer,
) -> None:
    """Feed health counts network kinds (dns, connect, timeout, tls) as "maybe our network is
    down" and does not blame the feed: a body that is not the gzip it claims is the feed's own
    fault."""
    outcome, _, _ = await fetch(source(server), server.url("/broken.gz"))
    assert isinstance(outcome, SourceError), outcome
    assert outcome.kind == "parse" and not outcome.network, (outcome.kind, str(outcome))
    assert "gzip" in str(outcome) or "decompress" in str(outcome)


@pytest.mark.parametrize("name", ["html", "octet", "plain", "none"])
async def test_a_feed_with_a_wrong_or_missing_content_type_is_read(
    server: HostileServer, name: str
) -> None:
    outcome, _, _ = await fetch(source(server), server.url(f"/wrong-type/{name}"))
    assert isinstance(outcome, FeedFetchResult), outcome
    assert [e.title for e in outcome.entries] == OK_TITLES


@pytest.mark.parametrize("name", ["declared-utf8", "undeclared", "header", "text-xml"])
async def test_a_latin1_feed_is_read_with_its_accents(server: HostileServer, name: str) -> None:
    outcome, _, _ = await fetch(source(server), server.url(f"/latin1/{name}"))
    assert isinstance(outcome, FeedFetchResult), outcome
    assert outcome.title == "Nachrichten für Sie"
    assert [e.title for e in outcome.entries] == LATIN1_TITLES


# ---------------------------------------------------------------------- private addresses


@pytest.mark.parametrize(
    ("path", "address"), [("/to-loopback", "127.0.0.1"), ("/to-localhost", "localhost")]
)
async def test_a_feed_added_in_a_chat_may_not_be_redirected_to_loopback(
    server: HostileServer, path: str, address: str
) -> None:
    """The first hop is public (and is really sent: the server answers with its redirect); the
    hop to 127.0.0.1, or to a name that resolves to it, is refused before it is sent."""
    url = f"http://{PUBLIC}{path}"
    before = server.count("/ok.xml"), server.count(path)
    outcome, elapsed, _ = await fetch(source(server), url, added=True, public_only=True)
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert f"{address} is a loopback, private or link-local address" in str(outcome)
    assert (server.count("/ok.xml"), server.count(path)) == (before[0], before[1] + 1)
    assert elapsed < MARGIN
    # The same redirect is followed for a feed of the config file, or where the config allows.
    for src, feed in [
        (source(server), {}),
        (source(server, allow_private=True), {"added": True, "public_only": True}),
    ]:
        outcome, _, _ = await fetch(src, url, **feed)
        assert isinstance(outcome, FeedFetchResult), outcome
        assert [e.title for e in outcome.entries] == OK_TITLES


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_feed_added_in_a_chat_may_not_start_at_loopback(
    server: HostileServer, host: str
) -> None:
    before = server.count("/ok.xml")
    outcome, _, _ = await fetch(
        source(server), server.url("/ok.xml", host), added=True, public_only=True
    )
    assert isinstance(outcome, FetchError) and outcome.kind == "refused", outcome
    assert server.count("/ok.xml") == before  # refused before anything was sent


# ---------------------------------------------------------------------- one poll cycle


async def test_one_cycle_with_hostile_feeds_still_reads_the_good_one(
    server: HostileServer, tmp_path: Path
) -> None:
    recorder = Recorder()
    client = make_client(10.0, "newsbot-test", transport=ToHostileServer(server.port))
    pipeline = Pipeline(
        store=SQLiteStore(tmp_path / "db"),
        topics=TOPICS,
        aliases=SHIPPED.aliases,
        timezone=ZoneInfo("UTC"),
        feed_source=HttpFeedSource(client, max_bytes=CAP, deadline=DEADLINE),
        folder_source=None,
        notifiers={"telegram": recorder, "console": recorder},
        clock=Clock(),
    )
    expected = {  # url: (kind, message); the drip first, so that it starts at once
        server.url("/drip"): ("timeout", "no complete answer within 2 s"),
        server.url("/bomb.gz"): ("too-big", "cap"),
        server.url("/endless"): ("too-big", "cap"),
        server.url("/loop"): ("redirects", "too many redirects"),
        f"http://{PUBLIC}/to-loopback": ("refused", "127.0.0.1 is a loopback"),
    }
    feeds = [FeedConfig(url) for url in expected if PUBLIC not in url]
    feeds.append(FeedConfig(f"http://{PUBLIC}/to-loopback", added=True, public_only=True))
    feeds.append(FeedConfig(server.url("/ok.xml"), name="Good feed"))
    async with client:
        report, elapsed, peak = await measured(pipeline.poll_all(feeds))
    assert not isinstance(report, BaseException), report
    assert elapsed < DEADLINE + MARGIN
    by_url = {f.url: f for f in report.feeds}
    good = by_url[server.url("/ok.xml")]
    assert (good.ok, good.new_items, good.error) == (True, 2, None)
    stored = pipeline.store.items_since(datetime(2000, 1, 1, tzinfo=UTC))
    assert sorted(i.title for i in stored) == sorted(OK_TITLES)
    assert pipeline.store.feed_state(good.url).error_count == 0
    for url, (kind, message) in expected.items():
        feed_report, state = by_url[url], pipeline.store.feed_state(url)
        assert not feed_report.ok and message in (feed_report.error or ""), feed_report
        assert (state.error_kind, state.error_count) == (kind, 1), url
    assert report.line().startswith("6 feeds polled (1 ok, 5 failed)")
    assert server.wait_idle()
    # Two feeds of a host are read at once (PER_HOST), so two caps' worth, and some parsing.
    assert peak < 2 * MEMORY, f"{peak:,} bytes at the peak"


# ---------------------------------------------------------------------- hostile feed bodies


def big_source(server: HostileServer) -> HttpFeedSource:
    """The source with the shipped 10 MB cap, so that the hostile bodies reach the parser."""
    client = make_client(10.0, "newsbot-test", transport=ToHostileServer(server.port))
    return HttpFeedSource(client, deadline=10.0)


async def test_the_entity_bomb_is_read_without_its_entities(server: HostileServer) -> None:
    """190 KB declaring one 100 KB entity used 30,000 times (3 GB expanded): read, nothing
    expanded, a warning that says so, and this process holds a few MB for it."""
    outcome, _, peak = await fetch(big_source(server), server.url("/entity-bomb"))
    assert isinstance(outcome, FeedFetchResult), outcome
    (entry,) = outcome.entries
    assert entry.title == "Entity bomb" and "xxxxxxxxxx" not in entry.summary
    assert outcome.warning and "does not expand declared entities" in outcome.warning
    assert peak < MEMORY, f"{peak:,} bytes at the peak"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/attributes", "line 2: the feed has an element with more than 256 attributes"),
        ("/deep", "line 2: the feed has elements nested more than 256 deep"),
    ],
)
async def test_markup_no_real_feed_has_is_refused_with_where_and_why(
    server: HostileServer, path: str, message: str
) -> None:
    outcome, _, _ = await fetch(big_source(server), server.url(path))
    assert isinstance(outcome, SourceError) and outcome.kind == "parse", outcome
    assert str(outcome).startswith(message)


async def test_a_five_mb_title_is_stored_cut(server: HostileServer) -> None:
    outcome, _, _ = await fetch(big_source(server), server.url("/long-title"))
    assert isinstance(outcome, FeedFetchResult), outcome
    assert len(outcome.entries[0].title) == Limits().title


async def test_one_cycle_with_hostile_feed_bodies_still_reads_the_good_one(
    server: HostileServer, tmp_path: Path
) -> None:
    """The four hostile bodies and the good feed in one cycle: the good feed's items are
    stored, each hostile one ends as the tests above say, each charged to its own feed."""
    recorder = Recorder()
    client = make_client(10.0, "newsbot-test", transport=ToHostileServer(server.port))
    pipeline = Pipeline(
        store=SQLiteStore(tmp_path / "db"),
        topics=TOPICS,
        aliases=SHIPPED.aliases,
        timezone=ZoneInfo("UTC"),
        feed_source=HttpFeedSource(client, deadline=10.0),
        folder_source=None,
        notifiers={"telegram": recorder, "console": recorder},
        clock=Clock(),
    )
    failing = {"/attributes": "attributes", "/deep": "nested"}
    feeds = [FeedConfig(server.url(p)) for p in ("/entity-bomb", "/long-title", *failing)]
    feeds.append(FeedConfig(server.url("/ok.xml"), name="Good feed"))
    async with client:
        report = await pipeline.poll_all(feeds)
    by_url = {f.url: f for f in report.feeds}
    good = by_url[server.url("/ok.xml")]
    assert (good.ok, good.new_items, good.error) == (True, 2, None)
    stored = pipeline.store.items_since(datetime(2000, 1, 1, tzinfo=UTC))
    titles = sorted(i.title for i in stored)
    assert [t for t in titles if t in OK_TITLES] == sorted(OK_TITLES)
    assert "Entity bomb" in titles
    assert any(len(t) == Limits().title for t in titles)  # the long title, cut
    for path, word in failing.items():
        state = pipeline.store.feed_state(server.url(path))
        assert (state.error_kind, state.error_count) == ("parse", 1), path
        assert word in (state.last_error or ""), state.last_error
    assert report.line().startswith("5 feeds polled (3 ok, 2 failed)")


# ---------------------------------------------------------------------- the server itself


def test_the_bombs_are_real_and_small() -> None:
    """The gzip stream is valid (checked here on 16 MiB) and 10 GiB is ~10.6 MB of it; the
    hand-written brotli stream is 8,161 bytes for 10 GiB, checked against libbrotlidec (or the
    brotli package) where the machine has one."""
    assert gzip.decompress(b"".join(gzip_zeros(16 * MIB))) == bytes(16 * MIB)
    group = next(itertools.islice(gzip_zeros(10 * GIB), 1, 2))  # 64 MiB per write
    assert 10 * GIB // (64 * MIB) * len(group) < 11_000_000
    assert sum(map(len, brotli_zeros(10 * GIB))) == 8161
    decoded = _brotli_decoded_size(b"".join(brotli_zeros(48 * MIB)))
    if decoded is None:
        pytest.skip("no brotli decoder on this machine to check the stream with")
    assert decoded == (48 * MIB, True)


def _brotli_decoded_size(data: bytes) -> tuple[int, bool] | None:
    """(decoded size, all zeros), decoding 1 MiB at a time; None without a decoder."""
    if importlib.util.find_spec("brotli"):
        import brotli

        out = brotli.decompress(data)
        return len(out), out.count(0) == len(out)
    name = ctypes.util.find_library("brotlidec")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.BrotliDecoderCreateInstance.restype = ctypes.c_void_p
    lib.BrotliDecoderCreateInstance.argtypes = [ctypes.c_void_p] * 3
    lib.BrotliDecoderDestroyInstance.argtypes = [ctypes.c_void_p]
    size_p, void_p = ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p)
    lib.BrotliDecoderDecompressStream.argtypes = [
        ctypes.c_void_p,
        size_p,
        void_p,
        size_p,
        void_p,
        size_p,
    ]
    state = lib.BrotliDecoderCreateInstance(None, None, None)
    source_buffer = ctypes.create_string_buffer(data, len(data))
    avail_in = ctypes.c_size_t(len(data))
    next_in = ctypes.c_void_p(ctypes.addressof(source_buffer))
    out = ctypes.create_string_buffer(MIB)
    total, zeros = 0, True
    try:
        while True:
            avail_out = ctypes.c_size_t(MIB)
            next_out = ctypes.c_void_p(ctypes.addressof(out))
            result = lib.BrotliDecoderDecompressStream(
                state,
                ctypes.byref(avail_in),
                ctypes.byref(next_in),
                ctypes.byref(avail_out),
                ctypes.byref(next_out),
                None,
            )
            got = MIB - avail_out.value
            total += got
            zeros = zeros and out.raw[:got].count(0) == got
            if result != 3:  # 3: needs more output; 1: done; 0: error
                assert result == 1, "libbrotlidec rejected the stream"
                return total, zeros
    finally:
        lib.BrotliDecoderDestroyInstance(state)


@pytest.mark.parametrize("path", ["/drip", "/endless", "/bomb.gz"])
def test_a_stream_stops_when_its_client_hangs_up(server: HostileServer, path: str) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
        assert not server.wait_idle(0.2)  # still sending
    assert server.wait_idle(1.0)


def test_stopping_the_server_ends_every_stream_and_thread() -> None:
    before = set(threading.enumerate())
    hostile = HostileServer().start()
    connections = [socket.create_connection(("127.0.0.1", hostile.port)) for _ in range(3)]
    try:
        for conn, path in zip(connections, ["/drip", "/drip-headers", "/endless"], strict=True):
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        idle = socket.create_connection(("127.0.0.1", hostile.port))  # no request ever sent
        connections.append(idle)
        deadline = time.monotonic() + 2
        while hostile.active < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert hostile.active == 3
        started = time.monotonic()
        hostile.stop()  # the clients are still connected and not reading
        assert time.monotonic() - started < 1.0
        assert hostile.active == 0 and _server_threads(before) == []
    finally:
        for conn in connections:
            conn.close()
